"""The Convolution Lab's outputs: the stages, every kernel side by side, and the arithmetic of one
output pixel (chosen by clicking a picture) and of its pooled pixel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from app_support.common.clickable import clickable_picture, position
from app_support.common.render import output_picture, picture
from app_support.lab.arithmetic import MAX_NUMBERED, STYLE, grid_html, grid_row_html
from app_support.lab.view import (
    CHANNELS,
    PERSIST,
    POOL_LABELS,
    POST_LABELS,
    current_config,
    current_kernel,
    fixed,
    hidden,
    live,
    locked,
    shift,
)
from cnnviz import display, images, kernels, ops
from cnnviz.display import plain_number as plain
from cnnviz.errors import InvalidInput
from cnnviz.lab import (
    LabConfig,
    LabResult,
    compare_shift,
    informative_pixel,
    rescaled_pixel,
    run_lab,
    shift_image,
    suggested_display,
)

PREVIEW_SIDE = 256  # the clickable pictures are shown about 200 px wide: encode them no larger
LAST_GOOD = "_lab_last_good"  # (kernel, config) of the last run that worked
GEOMETRY = "_lab_geometry"  # how the pictures map to output pixels, for the click callbacks
PICK_SHAPE = "_lab_pick_shape"  # the output shape a chosen pixel was chosen in
PICK_IMAGE = "_lab_pick_image"  # which image it was chosen on


@dataclass(frozen=True)
class Geometry:
    """Where output pixels lie on the pictures the lab shows: what a click needs to become a pixel."""

    input_shape: tuple[int, int]
    kernel_shape: tuple[int, int]
    stride: int
    pad_top: int
    pad_left: int
    output_shape: tuple[int, int]
    pooled_shape: tuple[int, int] | None
    pool_stride: int


def show(image: np.ndarray | None, image_name: str) -> None:
    """Everything below the kernel controls."""
    if image is None:
        st.info("Choose an image on the left to start.")
        return
    config = current_config()
    dx, dy = shift()
    unshifted = image
    if dx or dy:
        try:
            image = shift_image(image, dx, dy)
        except InvalidInput as error:
            st.error(f"Shift: {error}")
            dx = dy = 0
    if st.session_state["lab_view"] == "gallery":
        gallery_view(image, config)
        return
    if live():
        from app_support.lab import live as live_lab

        live_lab.show(image, image_name)
        if dx or dy:
            kernel, _ = current_kernel()
            if kernel is not None:
                try:
                    result = run_lab(image, kernel, config)
                except InvalidInput:
                    return
                shift_view(unshifted, kernel, config, activated_mode(result, display_mode(result, image)), dx, dy)
        return
    result, config, kernel = _result(image, config)
    if result is None:
        return
    mode = display_mode(result, image)
    stages_view(image, image_name, result, mode)
    if dx or dy:
        shift_view(unshifted, kernel, config, activated_mode(result, mode), dx, dy)
    pixel_view(image, image_name, result, config, mode)


def _result(image: np.ndarray, config: LabConfig) -> tuple[LabResult | None, LabConfig, np.ndarray | None]:
    """This run's pipeline, its settings and kernel; after a bad kernel or setting, the message and the
    last good outputs with the settings that made them."""
    kernel, problem = current_kernel()
    if kernel is not None:
        try:
            result = run_lab(image, kernel, config)
        except InvalidInput as error:
            problem = str(error)
        else:
            st.session_state[LAST_GOOD] = (kernel, config)
            return result, config, kernel
    st.error(problem)
    if LAST_GOOD in st.session_state:
        kernel, config = st.session_state[LAST_GOOD]
        try:
            result = run_lab(image, kernel, config)
        except InvalidInput:
            return None, config, None
        st.caption("Below: the outputs of your last good kernel and settings, kept until the problem above is fixed.")
        return result, config, kernel
    return None, config, None


def display_mode(result: LabResult, image: np.ndarray) -> str:
    """The chosen display, or the one that suits this kernel when 'Automatic' is chosen."""
    chosen = st.session_state["lab_display"]
    if chosen != "auto":
        return chosen
    summed = image.shape[2] if image.ndim == 3 and result.convolved.values.ndim == 2 else 1
    return suggested_display(result.kernel, summed_channels=summed)


def activated_mode(result: LabResult, mode: str) -> str:
    """The display after the activation: a picture 0..255 after 'Clip to 0..255' (the tutorial clipped to
    show its result as a photo), unless a display was chosen; otherwise `mode`."""
    clipped = result.has_activation and result.activated.name == "clip"
    return "clipped" if clipped and st.session_state["lab_display"] == "auto" else mode


def _display_note(result: LabResult, mode: str) -> str:
    if st.session_state["lab_display"] != "auto":
        return ""
    total = float(np.asarray(result.kernel, dtype=np.float64).sum())
    if mode == "signed":
        return (
            f"Shown in signed colours (automatic): this kernel's weights add up to {plain(total, 3)}, so it "
            "answers edges with positive (red) and negative (blue) values and flat areas with 0 (white)."
        )
    if mode == "clipped":
        return (
            f"Shown as a picture (automatic, clipped 0..255): the weights add up to {plain(total, 3)}, about 1, "
            "so a flat area keeps its brightness."
        )
    return (
        f"Shown as a picture (automatic, stretched min..max): the weights add up to {plain(total, 3)}, so a "
        f"flat area comes out about {plain(total, 3)} times as bright; the picture is stretched so its darkest "
        "value is black and its brightest white."
    )


def gallery_view(image: np.ndarray, config: LabConfig) -> None:
    st.subheader("Every kernel on the same image")
    st.caption("Same stride, padding, activation and pooling for all. Which ones find edges? Which blur?")
    small = images.resize(image, max_side=256)
    names = list(kernels.KERNELS)
    for start in range(0, len(names), 4):
        for column, name in zip(st.columns(4), names[start : start + 4], strict=False):
            with column:
                try:
                    result = run_lab(small, kernels.KERNELS[name], config)
                except InvalidInput as error:
                    st.warning(f"{name}: {error}")
                    continue
                mode = display_mode(result, small)
                picture(display.render_png(result.output.values, activated_mode(result, mode)), caption=name)
                st.caption(kernels.DESCRIPTIONS[name])


def stages_view(image: np.ndarray, image_name: str, result: LabResult, mode: str) -> None:
    # One colour scale for every signed stage, when asked: the convolution's.
    shared = display.signed_limit(result.convolved.values) if st.session_state["lab_scale"] else None
    for index, (column, stage) in enumerate(zip(st.columns(len(result.stages)), result.stages, strict=True)):
        with column:
            caption = f"{stage.name}, {stage.shape_text}"
            if stage.values.shape[:2] == (1, 1):  # global average pooling: say the number(s)
                caption += ": " + ", ".join(plain(value) for value in stage.values.reshape(-1))
            if index == 0:
                picture(display.enlarge(image, min_side=200), caption=f"{image_name}, {caption}")
            else:
                file_name = stage.name.split(" (")[0].replace(" ", "_").replace(",", "") + ".png"
                shown = mode if index == 1 else activated_mode(result, mode)
                output_picture(
                    stage.values, shown, caption=caption, file_name=file_name, key=f"lab_download_{index}", limit=shared
                )
    note = _display_note(result, mode)
    if activated_mode(result, mode) != mode:
        note += " After clipping: a picture again, 0 black to 255 white, as the tutorial showed it."
    if mode == "signed" and image.ndim == 3 and result.convolved.values.ndim == 3:
        note += (
            " The signed view of three channels shows the mean of their responses; choose 'Clipped 0..255' to "
            "see them as colour."
        )
    if note:
        st.caption(note)
    # Below the pictures, so that the pictures reach the browser first.
    st.markdown(f"**Shapes:** {result.shape_chain()}")
    st.caption("  \n".join(f"{stage.name}: {stage.formula}" for stage in result.stages if stage.formula))


def shift_view(unshifted: np.ndarray, kernel: np.ndarray, config: LabConfig, mode: str, dx: int, dy: int) -> None:
    """The last stage before and after the shift side by side, and how much of each stage stayed."""
    comparison = compare_shift(unshifted, kernel, config, dx=dx, dy=dy)
    moved = ", ".join(
        part
        for part in (
            f"{abs(dx)} pixel{'s' * (abs(dx) != 1)} {'right' if dx > 0 else 'left'}" if dx else "",
            f"{abs(dy)} pixel{'s' * (abs(dy) != 1)} {'down' if dy > 0 else 'up'}" if dy else "",
        )
        if part
    )
    st.markdown(f"**The picture moved {moved}: what stayed the same?**")
    before, after = comparison.original.output.values, comparison.shifted.output.values
    pooled = config.pool not in ("none", "gap")

    def shares(stage: str) -> str:
        share = comparison.shares(stage)
        if comparison.step(stage) is None:
            return f"**{share['same']:.0%}** stayed where they were with the same value; the rest changed"
        return (
            f"**{share['same']:.0%}** stayed where they were with the same value, **{share['moved']:.0%}** are the "
            f"same answers moved with the picture, {share['changed']:.0%} changed"
        )

    activation = f" after {POST_LABELS[config.activation]}" if config.activation != "none" else ""
    lines = [f"Convolution{activation}: of the places where it answers, {shares('convolution')}."]
    if config.pool == "none":
        lines.append("Choose a pooling to see what it keeps.")
    elif config.pool == "gap":
        flat_before, flat_after = before.reshape(-1), after.reshape(-1)
        numbers = ", ".join(f"{plain(a)} -> {plain(b)}" for a, b in zip(flat_before, flat_after, strict=True))
        lines.append(
            f"Global average pooling: {numbers}. The mean of the whole map hardly cares where things are; "
            "only what entered or left at the edges changes it."
        )
    else:
        size = config.pool_size
        step = config.stride * (config.pool_stride or size)
        lines.append(
            f"After {POOL_LABELS[config.pool].lower()} {size}x{size}: {shares('output')}. A window keeps its "
            f"{'largest value' if config.pool == 'max' else 'mean'} wherever inside it the feature sits, so a "
            f"shift smaller than the window changes fewer pooled values. Shift by {step} and the whole pooled map "
            "moves with the picture."
        )
    after_name = comparison.shifted.output.name if pooled else "convolution"
    stage = "output" if pooled else "convolution"
    compared = (
        (before, after) if pooled else (comparison.original.activated.values, comparison.shifted.activated.values)
    )
    columns = st.columns(3)
    for column, values, name in zip(columns, compared, ("Before the shift", "After"), strict=False):
        picture(display.render_png(values, mode, min_side=200), caption=f"{name}: {after_name}", container=column)
    picture(
        _agreement_picture(*compared, comparison.step(stage)),
        caption="White: the same value in the same place; blue: the same value, moved with the picture; red: "
        "changed; black: no answer before or after.",
        container=columns[2],
    )
    st.markdown("  \n".join(lines))


# by placement code: no answer, same, changed, moved with the picture
AGREEMENT_COLOURS = np.array([[0, 0, 0], [255, 255, 255], [214, 39, 40], [70, 130, 220]], dtype=np.uint8)
WORST_FIRST = np.array([0, 1, 3, 2])  # CHANGED outranks MOVED, MOVED outranks SAME, SAME NO_ANSWER


def _agreement_picture(before: np.ndarray, after: np.ndarray, step: tuple[int, int] | None) -> np.ndarray:
    """Where two maps agree, as an RGB picture at preview size (a place of three maps: the worst of them)."""
    from cnnviz.lab import ShiftComparison

    codes = ShiftComparison.placement(before, after, step)
    if codes.ndim == 3:
        ranks = WORST_FIRST[codes].max(axis=2)
        codes = np.argsort(WORST_FIRST)[ranks].astype(np.uint8)
    factor = _shrink_factor(codes.shape)
    codes = codes[::factor, ::factor] if factor > 1 else codes
    return display.enlarge(AGREEMENT_COLOURS[codes], min_side=200)


# --- choosing the pixel -------------------------------------------------------------------------


def _choose(row: int, col: int) -> None:
    """Make (row, col) of the current output the chosen pixel (and the number inputs' values)."""
    state = st.session_state
    state["lab_pick_row"], state["lab_pick_col"] = state["lab_row"], state["lab_col"] = int(row), int(col)
    state[PICK_SHAPE] = state[GEOMETRY].output_shape


def _clicked_output() -> None:
    picked = position("lab_click_output", st.session_state[GEOMETRY].output_shape)
    if picked is not None:
        _choose(*picked)


def _clicked_input() -> None:
    """A click on the input chooses the output pixel whose window is centred nearest to it."""
    geometry: Geometry = st.session_state[GEOMETRY]
    picked = position("lab_click_input", geometry.input_shape)
    if picked is None:
        return
    out = []
    for p, pad, k, n in zip(
        picked, (geometry.pad_top, geometry.pad_left), geometry.kernel_shape, geometry.output_shape, strict=True
    ):
        out.append(min(max(round((p + pad - (k - 1) / 2) / geometry.stride), 0), n - 1))
    _choose(*out)


def _clicked_pooled() -> None:
    """A click on the pooled map chooses the top-left pixel of its window; the view then moves to the
    window's winner (max pooling)."""
    geometry: Geometry = st.session_state[GEOMETRY]
    picked = position("lab_click_pooled", geometry.pooled_shape)
    if picked is not None:
        _choose(*(min(p * geometry.pool_stride, n - 1) for p, n in zip(picked, geometry.output_shape, strict=True)))
        st.session_state["_lab_pool_clicked"] = True


def _typed() -> None:
    _choose(st.session_state["lab_row"], st.session_state["lab_col"])


def chosen_pixel(image: np.ndarray, image_name: str, result: LabResult) -> tuple[int, int]:
    """The pixel to explain: the one chosen, carried to the same place when the output's shape
    changes (stride, size, padding), or, until one is chosen or after a new image, an informative one."""
    state = st.session_state
    shape = result.convolved.values.shape[:2]
    picture_id = (state["lab_source"], image_name)  # the same picture at another size or in colour counts as one
    if state.get(PICK_IMAGE, picture_id) != picture_id:
        state["lab_pick_row"] = state["lab_pick_col"] = -1  # another picture: start again where it is interesting
    state[PICK_IMAGE] = picture_id
    row, col = state["lab_pick_row"], state["lab_pick_col"]
    if row < 0 or col < 0:
        return informative_pixel(image, result)
    old = state.get(PICK_SHAPE)
    if old is not None and tuple(old) != shape:
        row, col = rescaled_pixel((row, col), tuple(old), shape)
    row, col = min(row, shape[0] - 1), min(col, shape[1] - 1)
    state["lab_pick_row"], state["lab_pick_col"], state[PICK_SHAPE] = row, col, shape
    return row, col


# --- the arithmetic -----------------------------------------------------------------------------


def _shrink_factor(shape) -> int:
    return max(1, -(-max(shape[:2]) // PREVIEW_SIDE))


def _shrunk(values: np.ndarray, factor: int) -> np.ndarray:
    """`values` made `factor` times smaller by averaging (thin edges stay visible, unlike skipping)."""
    import cv2

    if factor == 1:
        return values
    return cv2.resize(values, (values.shape[1] // factor, values.shape[0] // factor), interpolation=cv2.INTER_AREA)


def _marked(picture: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """`picture` at preview size with a window outlined. A 512x512 picture encoded in full for a
    200 px column cost 50 ms a click; at 256 px a quarter of that."""
    factor = _shrink_factor(picture.shape)
    small = _shrunk(picture, factor)
    span = (max(1, -(-height // factor)), max(1, -(-width // factor)))
    return display.highlight_window(small, top // factor, left // factor, *span)


def _marked_pixel(values: np.ndarray, mode: str, row: int, col: int) -> np.ndarray:
    """An output map drawn in display `mode` at preview size, with pixel (row, col) ringed."""
    factor = _shrink_factor(values.shape)
    return display.highlight_window(display.render(_shrunk(values, factor), mode), row // factor, col // factor, 1, 1)


def pixel_view(image: np.ndarray, image_name: str, result: LabResult, config: LabConfig, mode: str) -> None:
    """The arithmetic of one output pixel (and of its pooled pixel): pick it by clicking a picture."""
    st.subheader("The arithmetic of one output pixel")
    out_h, out_w = result.convolved.values.shape[:2]
    kh, kw = result.kernel.shape[:2]
    pooled = result.output.values.shape[:2] if config.pool != "none" else None
    pool_stride = config.pool_stride or config.pool_size
    (pad_top, _), (pad_left, _) = (
        (ops.same_padding(n, k, config.stride) if config.padding == "same" else (0, 0))
        for n, k in zip(image.shape[:2], (kh, kw), strict=True)
    )
    st.session_state[GEOMETRY] = Geometry(
        image.shape[:2], (kh, kw), config.stride, pad_top, pad_left, (out_h, out_w), pooled, pool_stride
    )
    row, col = chosen_pixel(image, image_name, result)
    if st.session_state.pop("_lab_pool_clicked", False) and config.pool == "max":
        row, col = _pool_winner(result, config, row, col)
        _choose(row, col)
    st.session_state["lab_row"], st.session_state["lab_col"] = row, col  # before their widgets are drawn

    filter_mode = image.ndim == 3 and result.convolved.values.ndim == 2  # one Conv2D filter: one map
    channel = 0
    pick = st.columns([1, 1, 1.2])
    locked(
        pick[0].number_input,
        "lab_pick_row",
        "Output row",
        min_value=0,
        max_value=out_h - 1,
        key="lab_row",
        on_change=_typed,
    )
    locked(
        pick[1].number_input,
        "lab_pick_col",
        "Output column",
        min_value=0,
        max_value=out_w - 1,
        key="lab_col",
        on_change=_typed,
    )
    if image.ndim == 3 and not filter_mode:
        channel = locked(
            pick[2].selectbox,
            "lab_channel",
            "Channel",
            [0, 1, 2],
            format_func=CHANNELS.__getitem__,
            persist_state=PERSIST,
        )
    if filter_mode:
        # run_lab already made the kernel a (kh, kw, 3) filter (lab.as_filter)
        sums = ops.pixel_arithmetic(image, result.kernel, row, col, stride=config.stride, padding=config.padding)
    else:
        plane = image[..., channel] if image.ndim == 3 else image
        kernel = result.kernel[..., channel] if result.kernel.ndim == 3 else result.kernel
        sums = ops.pixel_arithmetic(plane, kernel, row, col, stride=config.stride, padding=config.padding)

    where, output, zoom = st.columns(3)
    _pickable(
        _marked(image, sums.top, sums.left, kh, kw),
        key="lab_click_input",
        on_click=_clicked_input,
        caption=f"Input: the window starts at ({sums.top}, {sums.left}).",
        prompt="Click to move it.",
        container=where,
    )
    _pickable(
        _marked_pixel(result.convolved.values, mode, row, col),
        key="lab_click_output",
        on_click=_clicked_output,
        caption=f"Output pixel ({row}, {col}).",
        prompt="Click another.",
        container=output,
    )
    picture(
        display.zoom_window(image, sums.top, sums.left, kh, kw),
        caption="Zoomed in; the checkerboard is zero padding",
        container=zoom,
    )
    _grids(sums, image)
    _sum_lines(sums, result, config, channel)
    if pooled is not None:
        pool_view(result, config, mode, row, col, channel)


def pixel_locked() -> bool:
    """A teacher's link fixes or hides the chosen pixel: the pictures are then not clickable either."""
    return any(fixed(key) or hidden(key) for key in ("lab_pick_row", "lab_pick_col"))


def _pickable(image: np.ndarray, *, key: str, on_click, caption: str, prompt: str, container) -> None:
    """A picture that chooses the pixel when clicked, or a plain one when a teacher's link locks the pixel."""
    if pixel_locked():
        picture(image, caption=caption, container=container)
    else:
        with container:
            clickable_picture(image, key=key, on_click=on_click, caption=f"{caption} {prompt}")


def _grids(sums: ops.PixelArithmetic, image: np.ndarray) -> None:
    """Window, kernel and products side by side: one row, or one row per channel for a colour filter."""
    rows = (
        [
            (sums.window[..., c], sums.kernel[..., c], sums.products[..., c], f" ({name})")
            for c, name in enumerate(CHANNELS)
        ]
        if sums.kernel.ndim == 3
        else [(sums.window, sums.kernel, sums.products, "")]
    )
    blocks = []
    for window, kernel, products, name in rows:
        total = float(products.sum(dtype=np.float64))
        cells = [
            grid_html(window, f"Input window{name}", kind="pixels"),
            grid_html(kernel, f"Kernel{name}"),  # the weight already applied
            grid_html(products, f"Products{name} = {plain(total)}"),
        ]
        blocks.append(grid_row_html(cells, max(sums.kernel.shape[:2])))
    st.markdown(STYLE + "".join(blocks), unsafe_allow_html=True)
    side = sums.kernel.shape[0]
    if side > MAX_NUMBERED:
        st.caption(f"A {side}x{side} window has {side * side} numbers per grid: hover over a cell to read it.")


def _sum_lines(sums: ops.PixelArithmetic, result: LabResult, config: LabConfig, channel: int) -> None:
    if sums.kernel.ndim == 3:
        st.markdown(f"Sum of the three channels' products: `{sums.equation()}`")
        st.caption("One filter, one output: the red, green and blue products are added into a single number.")
    else:
        st.markdown(f"Sum of the products: `{sums.equation()}`")
    value = sums.total
    if config.bias:
        value += config.bias
        st.markdown(f"Plus the bias {plain(config.bias, 6)}: **{plain(value, 6)}**")
    if config.activation != "none":
        activated = float(ops.activation(np.float32(value), config.activation))
        st.markdown(f"After {POST_LABELS[config.activation]}: **{plain(activated, 6)}**")


def _activated(result: LabResult, channel: int) -> np.ndarray:
    """The map the pooling read (after the activation), one channel."""
    values = result.activated.values
    return values[..., channel] if values.ndim == 3 else values


def _pool_cell(result: LabResult, config: LabConfig, row: int, col: int) -> tuple[int, int]:
    stride = config.pool_stride or config.pool_size
    out_h, out_w = result.output.values.shape[:2]
    return min(row // stride, out_h - 1), min(col // stride, out_w - 1)


def _pool_winner(result: LabResult, config: LabConfig, row: int, col: int) -> tuple[int, int]:
    """The conv pixel that won the max of the pooling window that holds (row, col)."""
    cell = _pool_cell(result, config, row, col)
    channel = st.session_state.get("lab_channel", 0)
    sums = ops.pool_arithmetic(_activated(result, channel), config.pool_size, *cell, stride=config.pool_stride)
    r, c = sums.winner or (0, 0)
    return sums.top + r, sums.left + c


def global_pool_view(result: LabResult, channel: int) -> None:
    """Global average pooling: one number per map, the mean of all its values."""
    values = _activated(result, channel).astype(np.float64)
    height, width = values.shape
    total, mean = float(values.sum()), float(values.mean())
    which = f" ({CHANNELS[channel]})" if result.activated.values.ndim == 3 else ""
    st.markdown("**Global average pooling**")
    st.markdown(
        f"The whole map{which} becomes one number: the sum of its {height}x{width} values / {height * width} = "
        f"{plain(total, 7)} / {height * width} = **{plain(mean)}**"
    )
    st.caption(
        "Where a feature is no longer matters, only how much of it there is: networks use this before their "
        "last layer (Lin et al., 2014, 'Network in network')."
    )


def pool_view(result: LabResult, config: LabConfig, mode: str, row: int, col: int, channel: int) -> None:
    """The pooled pixel whose window holds the chosen pixel: that window, and the max or mean."""
    if config.pool == "gap":
        global_pool_view(result, channel)
        return
    st.markdown("**Pooling that pixel**")
    pr, pc = _pool_cell(result, config, row, col)
    kind = config.pool
    sums = ops.pool_arithmetic(
        _activated(result, channel), config.pool_size, pr, pc, stride=config.pool_stride, kind=kind
    )
    left, right = st.columns([1, 2])
    _pickable(
        _marked_pixel(result.output.values, activated_mode(result, mode), pr, pc),
        key="lab_click_pooled",
        on_click=_clicked_pooled,
        caption=f"Pooled pixel ({pr}, {pc}).",
        prompt="Click another.",
        container=left,
    )
    with right:
        what = "largest" if kind == "max" else "mean of the"
        title = f"Window of {result.activated.name.split(' (')[0]} at ({sums.top}, {sums.left})"
        st.markdown(STYLE + grid_html(sums.window, title, mark=sums.winner), unsafe_allow_html=True)
        st.markdown(f"{'Max' if kind == 'max' else 'Mean'} of the window: **{plain(sums.value, 6)}**")
        st.caption(
            f"Pooled pixel ({pr}, {pc}) keeps the {what} {config.pool_size}x{config.pool_size} values"
            + (" (outlined): where the feature was strongest." if kind == "max" else ": a smoothed summary.")
        )
