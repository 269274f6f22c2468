"""The Trainer's "your own classes": name classes, add examples by drawing, camera or upload, see and
prune each class's grid, keep the dataset as a zip, train with defaults made for a few examples, then
try the model live and take it home (own_live).

The dataset (a `cnnviz.own_classes.OwnClasses`) lives in this browser session's state and is kept in
the store for this learner alone (`kept`): a reload, a new tab or tomorrow's visit finds every example.
Changes happen in widget callbacks, so what a click did is drawn in the same run, and a refused input
leaves everything else as it was.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import streamlit as st

from app_support.common import kept, state
from app_support.common.clickable import box_picture, drawn_box
from app_support.common.render import picture
from app_support.common.runs import owner, run_manager, saved_upload
from cnnviz import box_views, display, estimates, images, own_classes
from cnnviz.blocks import summarize
from cnnviz.dataset_base import held_out_count
from cnnviz.errors import InvalidInput
from cnnviz.own_classes import KINDS, MIN_PER_CLASS, OwnClasses
from cnnviz.training import TrainJob

KEEP = "session"  # what the learner chose or typed outlives a trip to another page

STATE = "own_classes"  # the session's OwnClasses
DATASETS = "own_datasets"  # .npz path -> Dataset of each own-classes run (read by app_support.common.runs.run_dataset)
MESSAGE = "own_message"  # (area, level, text): what the last action said, shown where it happened
CANVAS_SIDE, BRUSH = 280, 18  # as app_support.common.inputs: a mark about a tenth of the canvas wide
GRID_SHOWN = 40  # the newest examples of a class shown with remove buttons
SOURCES = {"draw": "Draw", "camera": "Camera", "upload": "Upload pictures"}
STARTING_CLASSES = ("class 1", "class 2")
BOX_CHOICE = "own_box_choice"  # the example being boxed: "circle #3"
BOX_DRAW = "own_box_draw"  # the picture a box is dragged on (app_support.common.clickable.box_picture)
BOX_FIELDS = ("x_min", "y_min", "x_max", "y_max")  # the number inputs for the same box, in pixels
BOX_SHOWN = "_own_box_shown"  # the example whose box the number inputs show
BOX_TOAST = "_own_box_toast"  # the example the grid just chose: the picture to box may be far above it
UNDO, UNDO_OFFER = "_own_undo", "_own_undo_offer"  # the classes as they were before a switch of kind
ELSEWHERE = "_own_elsewhere"  # the classes were read again: another tab had changed them
SHOWN_TARGET = "_own_shown_target"  # the class "Add examples to" showed when the page was last drawn


def dataset_state() -> OwnClasses:
    """This learner's own classes: as kept from an earlier visit or tab, else two empty classes. A copy
    that another tab changed since is read again first, so this tab's change goes onto theirs."""
    if STATE in st.session_state and kept.own_classes_changed_elsewhere():
        del st.session_state[STATE]
        st.session_state[ELSEWHERE] = True
    if STATE not in st.session_state:
        own = kept.load_own_classes()
        if own is None:
            own = OwnClasses()
            for name in STARTING_CLASSES:
                own.add_class(name)
        st.session_state[STATE] = own
    return st.session_state[STATE]


def _as_drawn() -> OwnClasses | None:
    """The classes, for a click on a numbered class or example: None when another tab had changed them
    since this page was drawn (the number may now point at another one: nothing is done, and the page
    then shows them as they are, with a toast saying why)."""
    had = st.session_state.get(ELSEWHERE, False)
    own = dataset_state()
    if st.session_state.get(ELSEWHERE) and not had:
        st.session_state[ELSEWHERE] = "ignored"
        return None
    return own


def _say(area: str, level: str, text: str) -> None:
    st.session_state[MESSAGE] = (area, level, text)


def _said(area: str) -> None:
    """Show (once) what the last action in `area` said."""
    said = st.session_state.get(MESSAGE)
    if said and said[0] == area:
        getattr(st, said[1])(said[2])
        del st.session_state[MESSAGE]


def _forget_name_widgets() -> None:
    # The name boxes are keyed by position: after a class goes, they must be drawn afresh.
    for key in [k for k in st.session_state if str(k).startswith("own_name_")]:
        del st.session_state[key]


# --- callbacks (they change the dataset before the run that draws it) ------------------------------


def _add_class() -> None:
    own = dataset_state()
    try:
        name = own.add_class(st.session_state.get("own_new_name", ""))
    except InvalidInput as error:
        _say("classes", "error", str(error))  # the typed name stays in its box, to be corrected
        return
    st.session_state["own_new_name"] = ""
    st.session_state["own_target"] = name


def _rename(index: int) -> None:
    own = _as_drawn()
    if own is None or index >= len(own.class_names):
        return
    old = own.class_names[index]
    try:
        new = own.rename_class(old, st.session_state[f"own_name_{index}"])
    except InvalidInput as error:
        _say("classes", "error", str(error))
        st.session_state[f"own_name_{index}"] = old
        return
    if st.session_state.get("own_target") == old:
        st.session_state["own_target"] = new


def _remove_class(index: int) -> None:
    own = _as_drawn()
    if own is None or index >= len(own.class_names):
        return
    name = own.class_names[index]
    own.remove_class(name)
    _forget_name_widgets()
    _say("classes", "info", f"Removed the class {name!r} and its examples.")


def _remove_example(name: str, index: int) -> None:
    own = _as_drawn()
    if own is not None:
        own.remove(name, index)


def _next_class() -> None:
    names = dataset_state().class_names
    current = st.session_state.get("own_target")
    if names:
        st.session_state["own_target"] = names[(names.index(current) + 1) % len(names) if current in names else 0]


def _add_drawing() -> None:
    own, target = dataset_state(), st.session_state.get("own_target")
    drawing = st.session_state.get("own_drawing")
    if drawing is None:
        _say("add", "warning", "Draw on the black square first, then add the drawing.")
        return
    try:
        own.add(target, drawing)
    except InvalidInput as error:
        _say("add", "error", str(error))
        return
    _bring_up_unboxed(own)
    _clear_canvas()


def _bring_up_unboxed(own: OwnClasses) -> None:
    """After examples were added to pictures with boxes: the first one without a box comes up to be boxed
    (unless the learner is on one that still needs its box)."""
    unboxed = own.unboxed() if own.kind == "boxes" else []
    if not unboxed:
        return
    current = _parse_label(st.session_state.get(BOX_CHOICE))
    if current is None or own.boxes_of(current[0])[current[1]] is not None:
        st.session_state[BOX_CHOICE] = _label(*unboxed[0])


def _clear_canvas() -> None:
    st.session_state["own_canvas_generation"] = st.session_state.get("own_canvas_generation", 0) + 1
    st.session_state.pop("own_drawing", None)


def _set_kind() -> None:
    own = dataset_state()
    before = sum(own.counts().values())
    earlier = copy.deepcopy(own)  # what Undo gives back: a switch to drawings crops every picture to its ink
    boxes_gone = own.set_kind(st.session_state["own_kind"])
    lost = before - sum(own.counts().values())
    said = []
    if lost:
        said.append(f"{lost} example(s) had no marks a drawing could keep and were left out.")
    if boxes_gone:
        said.append(
            f"The {boxes_gone} box(es) you drew were left out: drawings are cropped to their ink, so no box would "
            "fit them any more."
        )
    if own.kind == "drawings" and earlier.kind != "drawings" and before:
        said.append("Every picture is now cropped to its marks and centred, as MNIST's digits were.")
    if said:
        st.session_state[UNDO] = earlier
        said.append("Undo puts everything back as it was; it is offered until your next click.")
        _say("kind", "warning", " ".join(said))
    elif own.kind == "boxes" and own.unboxed():
        _say("kind", "info", "Now box each example: drag a rectangle around the object in it (below).")


def _kind_word(kind: str) -> str:
    """'drawings', 'photos', 'pictures with boxes': a kind as a sentence names it."""
    return KINDS[kind].split(" (")[0].lower()


def _undo_kind() -> None:
    earlier = st.session_state.pop(UNDO_OFFER, None)
    if earlier is not None and _as_drawn() is not None:  # not over what another tab did since
        st.session_state[STATE] = earlier
        _say("kind", "success", f"Back as it was: {_kind_word(earlier.kind)}, every example and box.")


def _kind_messages() -> None:
    """What the last switch of kind said, with Undo for one run after a switch that changed the pictures."""
    st.session_state.pop(UNDO_OFFER, None)  # offered once: any other action ends the offer
    earlier = st.session_state.pop(UNDO, None)
    _said("kind")
    if earlier is not None:
        st.session_state[UNDO_OFFER] = earlier
        st.button(
            f"Undo: back to {_kind_word(earlier.kind)}",
            key="own_undo_kind",
            on_click=_undo_kind,
            icon=":material/undo:",
        )


# --- pictures with boxes: the box of each example ----------------------------------------------------


def _label(name: str, index: int) -> str:
    return f"{name} #{index + 1}"


def _parse_label(label: str | None) -> tuple[str, int] | None:
    own = st.session_state[STATE]  # the classes this run shows (never read again halfway through a run)
    if not label or " #" not in label:
        return None
    name, number = label.rsplit(" #", 1)
    if name not in own.class_names or not number.isdigit() or not 1 <= int(number) <= len(own.examples[name]):
        return None
    return name, int(number) - 1


def _choose_for_box(name: str, index: int) -> None:
    st.session_state[BOX_CHOICE] = st.session_state[BOX_TOAST] = _label(name, index)


def _boxed(name: str, index: int, pixels) -> None:
    """Keep the box and move on to the next example without one (a message when it is refused)."""
    own = dataset_state()
    try:
        own.set_box(name, index, pixels)
    except InvalidInput as error:
        _say("box", "error", str(error))
        return
    st.session_state.pop(BOX_SHOWN, None)  # the number inputs show the new box, or the next example's
    later = own.unboxed()  # this one has its box now
    if later:
        st.session_state[BOX_CHOICE] = _label(*later[0])
    else:
        _say("box", "success", "Every example has its box: train below.")


def _box_dragged() -> None:
    if _as_drawn() is None:
        return
    label = st.session_state.get(BOX_CHOICE)
    chosen, box = _parse_label(label), drawn_box(BOX_DRAW, label or "")
    if chosen is None or box is None:
        return
    side = dataset_state().examples[chosen[0]][chosen[1]].shape[0]
    pixels = [round(value * side, 1) for value in box]
    if min(pixels[2] - pixels[0], pixels[3] - pixels[1]) < own_classes.MIN_BOX_SIDE:
        _say(
            "box",
            "warning",
            "That was a click, not a box: press at one corner of the object, drag to the other, then let go.",
        )
        return
    _boxed(*chosen, pixels)


def _box_typed() -> None:
    if _as_drawn() is None:
        return
    chosen = _parse_label(st.session_state.get(BOX_CHOICE))
    if chosen is None:
        return
    typed = [st.session_state.get(f"own_box_{field}") for field in BOX_FIELDS]
    if any(value is None for value in typed):
        _say("box", "error", "Type all four corners first: x_min, y_min, x_max and y_max, in pixels from 0 to 64.")
        return
    _boxed(*chosen, typed)


def _boxes(own: OwnClasses) -> None:
    """Choose an example, drag a box around its object (or type its corners)."""
    choices = [_label(name, index) for name in own.class_names for index in range(len(own.examples[name]))]
    unboxed = own.unboxed()
    st.markdown(f"**Box each example** ({len(choices) - len(unboxed)} of {len(choices)} boxed)")
    if not choices:
        st.caption("Add examples above; then drag a box around the object in each.")
        return
    if st.session_state.get(BOX_CHOICE) not in choices:
        st.session_state[BOX_CHOICE] = _label(*unboxed[0]) if unboxed else choices[0]
    name, index = _parse_label(st.session_state[BOX_CHOICE])
    example, box = own.examples[name][index], own.boxes_of(name)[index]
    side = example.shape[0]
    toast = st.session_state.pop(BOX_TOAST, None)
    if toast:
        st.toast(f"{toast} is up for its box, in **Box each example** above.", icon=":material/crop_free:")
    # Filled afresh for another example or box, and after a trip away (Streamlit forgets the fields of a
    # page that was not drawn: a box on the picture with empty corners below it would contradict it).
    missing = any(f"own_box_{field}" not in st.session_state for field in BOX_FIELDS)
    if missing or st.session_state.get(BOX_SHOWN) != (name, index, box):
        shown = [None] * 4 if box is None else [round(v * side, 1) for v in box]
        for field, value in zip(BOX_FIELDS, shown, strict=True):
            st.session_state[f"own_box_{field}"] = value
        st.session_state[BOX_SHOWN] = (name, index, box)
    left, right = st.columns([2, 3])
    with left, st.container(width=300, key="own_box_picture"):
        box_picture(
            _sharp(own, name, index),
            key=BOX_DRAW,
            target=_label(name, index),
            box=box,
            on_box=_box_dragged,
            alt="example",
        )
    with right:
        st.selectbox("Example", choices, key=BOX_CHOICE)
        later = [pair for pair in unboxed if pair != (name, index)]
        st.caption(
            f"{len(unboxed)} without a box yet"
            + (f", the next after this one: {_label(*later[0])}." if later else ".")
            + (" This one has its box (green): drag again to change it." if box is not None else "")
        )
        st.caption(
            "Press at one corner of the object, drag to the other and let go: the box is kept at once and the "
            "next example without a box comes up. Or type the corners (pixels of the 64x64 picture, 0 at the "
            "top left) and press Set box."
        )
        fields = st.columns(4)
        for column, field in zip(fields, BOX_FIELDS, strict=True):
            column.number_input(field, 0.0, float(side), value=None, step=1.0, format="%.1f", key=f"own_box_{field}")
        st.button("Set box", key="own_box_set", on_click=_box_typed, icon=":material/crop_free:")
        _said("box")


# --- the section ---------------------------------------------------------------------------------


def section() -> None:
    """Make the dataset, then train on it: the Trainer's dataset section for "your own classes"."""
    own = dataset_state()
    kept.save_own_classes(own)  # what the last click changed (callbacks run before this)
    elsewhere = st.session_state.pop(ELSEWHERE, False)
    if elsewhere:
        _forget_name_widgets()
        st.toast(  # short: a toast shows about 80 characters before "view more"
            "Changed in another tab, so that click did nothing: click again."
            if elsewhere == "ignored"
            else "Your classes were changed in another tab: here they are now.",
            icon=":material/sync:",
        )
    st.caption(
        "Make your own dataset: name a class for each kind of thing, give every class a few examples, train. "
        "Your classes are kept on this server for you alone: a reload, a new tab or tomorrow's visit finds "
        "them. Download them as a zip to keep a copy of your own."
    )
    st.session_state["own_kind"] = own.kind  # before the widget: a zip loaded last run may have changed it
    st.radio(
        "Examples are",
        list(KINDS),
        format_func=KINDS.get,
        horizontal=True,
        key="own_kind",
        on_change=_set_kind,
        help="Drawings are made gray and prepared like MNIST digits (cropped to the ink, centred), so where and "
        "how big you draw matters less. Photos keep their colour; the centre square is used. Pictures with "
        "boxes are kept whole, and you draw a box around the object in each: the network learns what it is "
        "and where.",
    )
    _kind_messages()
    # Fixed widths in a wrapping row: the examples below the classes in the page's width, side by side
    # only where there is room for both (proportional columns squeezed the class names and cut the
    # buttons' labels on a projector's 1024 px).
    with st.container(horizontal=True, gap="large"):
        with st.container(width=380):
            _classes(own)
        with st.container(width=560):
            _add_examples(own)
    if own.kind == "boxes":
        _boxes(own)
    _grids(own)
    _keep_and_load(own)
    kept.save_own_classes(own)  # an example added in this run (a snapshot)
    st.markdown("**Train on your classes**")
    _train(own)


def _classes(own: OwnClasses) -> None:
    st.markdown(f"**Classes** ({len(own.class_names)} of {own_classes.MAX_CLASSES} at most)")
    counts = own.counts()
    for index, name in enumerate(own.class_names):
        row = st.columns([4, 3, 1], vertical_alignment="bottom")
        st.session_state.setdefault(f"own_name_{index}", name)
        row[0].text_input(
            f"Class {index + 1}",
            key=f"own_name_{index}",
            on_change=_rename,
            args=(index,),
            max_chars=60,
            persist_state=KEEP,
        )
        count = counts[name]
        row[1].container(key=f"own_count_{index}").markdown(
            f"{count}\u00a0example{'s' if count != 1 else ''}" + ("\u00a0✓" if count >= MIN_PER_CLASS else "")
        )
        row[2].button(
            "",
            key=f"own_drop_{index}",
            icon=":material/delete:",
            help=f"Remove the class {name!r} and its examples",
            on_click=_remove_class,
            args=(index,),
        )
    row = st.columns([5, 3], vertical_alignment="bottom")
    # Kept through a trip to another page, like everything else the learner typed.
    row[0].text_input("New class", key="own_new_name", placeholder="e.g. circle", max_chars=60, persist_state=KEEP)
    row[1].button("Add class", key="own_add_class", on_click=_add_class, icon=":material/add:")
    _said("classes")


def _add_examples(own: OwnClasses) -> None:
    names = own.class_names
    if not names:
        st.info("Add a class first (on the left).")
        return
    # The class and the way of adding last chosen come back after a reload too (the learner's settings).
    state.recall("own_target", names)
    state.recall("own_source", SOURCES)
    if st.session_state.get("own_target") not in names:
        st.session_state["own_target"] = names[0]
    row = st.columns([3, 2], vertical_alignment="bottom")
    target = row[0].selectbox("Add examples to", names, key="own_target", persist_state=KEEP)
    row[1].button("Next class", key="own_next", on_click=_next_class, icon=":material/skip_next:")
    source = st.radio(
        "By", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="own_source", persist_state=KEEP
    )
    state.remember("own_target")
    state.remember("own_source")
    shown = st.session_state.get(SHOWN_TARGET)
    st.session_state[SHOWN_TARGET] = target
    if shown not in (None, target):  # read again from another tab: the class the page showed is gone
        target = _moved_on(shown, target)
    if source == "draw":
        _draw(own, target or st.session_state["own_target"])  # a drawing is added by its button, later
    elif source == "camera":
        _camera(own, target)
    else:
        _upload(own, target)
    _said("add")


def _draw(own: OwnClasses, target: str) -> None:
    from streamlit_drawable_canvas import st_canvas  # a custom component: only where it is drawn

    generation = st.session_state.setdefault("own_canvas_generation", 0)
    left, right = st.columns([3, 2])
    with left, st.container(key="own_draw_box"):
        result = st_canvas(
            stroke_width=BRUSH,
            stroke_color="#FFFFFF",
            background_color="#000000",
            height=CANVAS_SIDE,
            width=CANVAS_SIDE,
            drawing_mode="freedraw",
            return_image_data=True,
            key=f"own_canvas_{generation}",
        )
    data = result.image_data
    drawing = None
    if data is not None and data.ndim == 3 and data.shape[2] == 4:
        gray = images.canvas_to_gray(data)
        drawing = gray if gray.any() else None
    if drawing is None:
        st.session_state.pop("own_drawing", None)
    else:
        st.session_state["own_drawing"] = drawing
    with right:
        buttons = st.container(horizontal=True)
        buttons.button(
            f"Add to {target}", key="own_add_drawing", type="primary", on_click=_add_drawing, icon=":material/add:"
        )
        buttons.button("Clear", key="own_clear", on_click=_clear_canvas, icon=":material/ink_eraser:")
        if drawing is not None:
            try:
                prepared = own_classes.prepare_example(drawing, kind=own.kind)
            except InvalidInput:
                prepared = None
            if prepared is not None:
                picture(_shown(prepared, 112), caption=f"The network gets this ({_size(own)})")
        else:
            st.caption("Draw one example with the mouse (white ink), then add it. Vary size, place and shape a bit.")


def _moved_on(shown: str, target: str) -> str | None:
    """The class the learner was adding to was renamed or removed in another tab: a snapshot or files
    sent for it are not put into another class. Returns None (nothing is added this run) and says why."""
    _say(
        "add",
        "warning",
        f"{shown!r} was renamed or removed in another tab: choose the class to add to (now {target!r}) and add "
        "the pictures again.",
    )
    return None


def _camera(own: OwnClasses, target: str | None) -> None:
    shot = st.camera_input(f"Snap an example of {target or 'a class'}", key="own_camera")
    if target is None and shot is not None:
        st.session_state["own_camera_done"] = shot.file_id  # taken for a class that went: not added
        _said("add")
        return
    if shot is None or st.session_state.get("own_camera_done") == shot.file_id:
        st.caption("Each snapshot is added once: press 'Clear photo' and snap again for the next.")
        return
    st.session_state["own_camera_done"] = shot.file_id
    try:
        own.add_file(target, shot.getvalue())
    except InvalidInput as error:
        st.error(f"Snapshot: {error}")
        return
    _bring_up_unboxed(own)
    # Drawn again at once, so the counts and the grids above and below include it.
    _say("add", "success", f"Added the snapshot to {target}; it is the last one in its grid below ({_size(own)}).")
    kept.save_own_classes(own)  # before the rerun: kept as the learner is told it is
    st.rerun()


def _upload(own: OwnClasses, target: str | None) -> None:
    generation = st.session_state.setdefault("own_upload_generation", 0)
    files = st.file_uploader(
        f"Pictures of {target or 'a class'} (PNG, JPEG, BMP, WebP or GIF; many at once)",
        type=["png", "jpg", "jpeg", "bmp", "webp", "gif"],
        accept_multiple_files=True,
        key=f"own_upload_{generation}",
    )
    if not files:
        return
    if target is None:  # sent for a class another tab renamed or removed: not put into another one
        st.session_state["own_upload_generation"] = generation + 1
        st.rerun()
    added, refused = 0, []
    for file in files:
        try:
            own.add_file(target, file.getvalue())
            added += 1
        except InvalidInput as error:
            refused.append(f"{file.name}: {error}")
    # A fresh, empty uploader for the next class's pictures (these are in the dataset now).
    st.session_state["own_upload_generation"] = generation + 1
    _bring_up_unboxed(own)
    text = f"Added {added} picture(s) to {target}."
    if refused:
        _say("add", "error", text + " Left out: " + " ".join(refused))
    else:
        _say("add", "success", text)
    kept.save_own_classes(own)  # before the rerun: kept as the learner is told it is
    st.rerun()


def _size(own: OwnClasses) -> str:
    h, w, c = own.input_shape
    return f"{h}x{w}, {'gray' if c == 1 else 'colour'}"


def _sharp(own: OwnClasses, name: str, index: int) -> np.ndarray:
    """The example to box, as drawn or uploaded at the box drawer's size (kept for the example shown:
    a rerun while boxing does not decode the file again)."""
    example, original = own.examples[name][index], own.originals_of(name)[index]
    shown = st.session_state.get("_own_box_sharp")
    if shown is None or shown[0] is not example or shown[1] is not original:
        shown = st.session_state["_own_box_sharp"] = (example, original, own.to_box(name, index))
    return shown[2]


def _shown(prepared: np.ndarray, side: int) -> np.ndarray:
    shown = prepared[..., 0] if prepared.shape[-1] == 1 else prepared
    return display.enlarge(shown, min_side=side)


def _grids(own: OwnClasses) -> None:
    """Each class's examples as the network gets them, each with a remove button."""
    counts = own.counts()
    for name in own.class_names:
        count = counts[name]
        with st.container(border=True):
            st.markdown(f"**{name}**: {count} example{'s' if count != 1 else ''}")
            if count < MIN_PER_CLASS:
                st.caption(
                    f"Needs {MIN_PER_CLASS - count} more (at least {MIN_PER_CLASS}: one in five is kept back to test "
                    "the model, and the network needs a few to learn from)."
                )
            pictures = own.examples[name]
            start = max(0, len(pictures) - GRID_SHOWN)
            if start:
                st.caption(f"The newest {GRID_SHOWN} of {len(pictures)}.")
            per_row = 10
            for row_start in range(start, len(pictures), per_row):
                columns = st.columns(per_row, gap="small")
                for column, index in zip(
                    columns, range(row_start, min(row_start + per_row, len(pictures))), strict=False
                ):
                    with column:
                        if own.kind == "boxes":
                            box = own.boxes_of(name)[index]
                            picture(
                                box_views.draw_boxes(pictures[index], true_box=box, min_side=128),
                                caption=f"#{index + 1}" + (" no box" if box is None else ""),
                            )
                            st.button(
                                "",
                                key=f"own_choose_box_{own.class_names.index(name)}_{index}",
                                icon=":material/crop_free:",
                                help=f"Box example {index + 1} of {name}" + (" (no box yet)" if box is None else ""),
                                on_click=_choose_for_box,
                                args=(name, index),
                            )
                        else:
                            picture(_shown(pictures[index], 56))
                        st.button(
                            "",
                            key=f"own_remove_{own.class_names.index(name)}_{index}",
                            icon=":material/close:",
                            help=f"Remove example {index + 1} of {name}",
                            on_click=_remove_example,
                            args=(name, index),
                        )


def _keep_and_load(own: OwnClasses) -> None:
    left, right = st.columns(2)
    total = sum(own.counts().values())
    left.download_button(
        "Download your classes (.zip)",
        own.to_zip() if total else b"",
        file_name="my_classes.zip",
        mime="application/zip",
        key="own_zip_download",
        disabled=not total,
        on_click="ignore",
        help="A folder of pictures per class. Upload it here to continue, or as 'Your images' to train on it.",
    )
    generation = st.session_state.setdefault("own_zip_generation", 0)
    uploaded = right.file_uploader(
        "Continue from a zip of classes (replaces what is here)", type=["zip"], key=f"own_zip_{generation}"
    )
    if uploaded is not None:
        try:
            loaded = OwnClasses.from_zip(uploaded.getvalue())
        except InvalidInput as error:
            right.error(f"{uploaded.name}: {error}")  # what was here stays
            return
        st.session_state[STATE] = loaded
        st.session_state["own_zip_generation"] = generation + 1
        _forget_name_widgets()
        counts = ", ".join(f"{n} ({c})" for n, c in loaded.counts().items())
        _say("classes", "success", f"Loaded {uploaded.name}: {counts}.")
        kept.save_own_classes(loaded)  # before the rerun: kept as the learner is told it is
        st.rerun()


def job_for(own: OwnClasses, *, epochs: int, pretrained_start: bool = True) -> tuple[TrainJob, object]:
    """The run for these classes (`own_classes.training_plan`'s defaults) and the Dataset it trains on."""
    from cnnviz.localization import LossWeights

    plan = own_classes.training_plan(own.kind, epochs=epochs, pretrained_start=pretrained_start)
    data = own.to_dataset()
    job = TrainJob(
        "file",
        plan.blocks,
        plan.config,
        dataset_file=saved_upload(data),
        base_model=plan.base_model,
        title=f"your classes ({', '.join(own.class_names)})" + (" with boxes" if own.kind == "boxes" else ""),
        boxes=LossWeights() if own.kind == "boxes" else None,  # the tutorial's 0.8 / 0.2
    )
    return job, data


@st.cache_resource(max_entries=2, show_spinner="Reading the network it starts from...")
def _base_rows(base_model: str, num_classes: int) -> tuple[list, int]:
    from cnnviz import jobs

    return estimates.base_rows(jobs.load_base(base_model), num_classes)


def time_estimate(own: OwnClasses, plan, epochs: int) -> str:
    """How long Train will take on these examples (`cnnviz.estimates`, as the Trainer estimates), and
    how busy the server is."""
    counts = list(own.counts().values())
    held = [held_out_count(count, own_classes.TEST_FRACTION) for count in counts]
    trained = [count - test for count, test in zip(counts, held, strict=True)]
    if own.kind == "boxes":  # each also in its moved copies (own_classes.BOX_COPIES)
        trained = [count * (1 + own_classes.BOX_COPIES) for count in trained]
    config = replace(plan.config, epochs=epochs)
    if plan.base_model:
        rows, frozen = _base_rows(plan.base_model, len(counts))
    else:
        side = own_classes.SIZES[own.kind]
        shape = (side, side, 1 if own.kind == "drawings" else 3)
        rows, frozen = summarize(list(plan.blocks), shape, len(counts)), 0
    one = estimates.estimate_time(
        rows, train_images=sum(trained), test_images=sum(held), config=config, class_counts=trained, frozen_rows=frozen
    )
    counted = run_manager().counts()
    busy = estimates.busy_now(counted["training"], counted["queued"])
    seconds = one.seconds * busy.factor
    said = f"about {max(1, round(seconds))} s" if seconds < 90 else f"about {seconds / 60:.1f} min"
    text = f"Estimated time: **{said}** for {epochs} epochs on {one.train_images} training pictures."
    if busy.busy:
        text += f" The server is busy ({counted['training']} run(s) training, load {busy.load:.1f}): counted in."
    return text


def _train(own: OwnClasses) -> None:
    problems = own.problems()
    for problem in problems:
        st.warning(problem)
    pretrained_start = own.kind == "boxes" or not st.toggle(  # pictures with boxes always learn from scratch
        "Learn from scratch",
        key="own_scratch",
        persist_state=KEEP,
        help="Start every weight at random instead of from a trained network: compare how well each does.",
    )
    plan = own_classes.training_plan(own.kind, pretrained_start=pretrained_start)
    st.caption(plan.summary)
    row = st.columns([1, 1, 3], vertical_alignment="bottom")
    epochs = row[0].number_input(
        "Epochs",
        1,
        200,
        plan.config.epochs,
        key=f"own_epochs_{own.kind}_{plan.base_model is None}",
        persist_state=KEEP,
        help="How many times it sees every example.",
    )
    pressed = row[1].button(
        "Train", type="primary", key="own_train", disabled=bool(problems), icon=":material/play_arrow:"
    )
    if not problems and not pressed:
        row[2].caption(time_estimate(own, plan, int(epochs)))
    if pressed:
        try:
            job, data = job_for(own, epochs=int(epochs), pretrained_start=pretrained_start)
            run = run_manager().submit(owner(), job)
        except InvalidInput as error:
            st.error(str(error))
            return
        st.session_state.setdefault(DATASETS, {})[job.dataset_file] = data
        st.session_state["trainer_run"] = run.id
        row[2].caption("Training: watch the curves under 4. Runs; the live test appears there when it ends.")
