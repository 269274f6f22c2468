"""The Trainer's sections: dataset, architecture builder, settings, live runs and results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app_support import charts
from app_support.render import picture
from app_support.runs import dataset as cached_dataset
from app_support.runs import run_manager, saved_upload
from cnnviz import datasets, display, kernels, models, training
from cnnviz.blocks import BLOCK_TYPES, BLOCKS, BlockSetting, LayerRow, block_defaults, summarize, total_params
from cnnviz.errors import InvalidInput
from cnnviz.export import save_npz, training_script
from cnnviz.runs import Run
from cnnviz.training import RunState, TrainJob

UPLOAD = "upload"
KEEP = "session"  # widgets keep their values when the learner visits another page and comes back


# --- 1. dataset ---------------------------------------------------------------------------------


def choose_dataset() -> tuple[str, datasets.Dataset | None]:
    """The dataset picker: returns the chosen name and the dataset (None while unavailable)."""
    names = {**datasets.NAMES, UPLOAD: "Your images (a zip of class folders)"}
    name = st.selectbox("Dataset", list(names), format_func=names.get, key="trainer_dataset", persist_state=KEEP)
    if name == UPLOAD:
        return name, _uploaded_dataset()
    size = 28
    if name == "shapes":
        size = st.select_slider("Shape image size", [28, 32, 64], key="trainer_shape_size", persist_state=KEEP)
    try:
        return name, cached_dataset(name, size)
    except InvalidInput as error:
        st.error(str(error))
        return name, None


def _uploaded_dataset() -> datasets.Dataset | None:
    st.caption(
        "Zip a folder per class, e.g. `horses/001.jpg ... humans/042.png`. Images are resized to a square; "
        "up to 20,000 files, 200 MB."
    )
    columns = st.columns(2)
    size = columns[0].select_slider(
        "Image size", [32, 48, 64, 96, 128], value=64, key="trainer_zip_size", persist_state=KEEP
    )
    gray = columns[1].toggle("Grayscale", key="trainer_zip_gray", persist_state=KEEP)
    uploaded = st.file_uploader("Image folders (.zip)", type=["zip"], key="trainer_zip")
    kept = st.session_state.get("trainer_zip_kept")
    if uploaded is not None:
        marker = (uploaded.file_id, size, gray)
        if kept is None or kept[0] != marker:
            try:
                with st.spinner("Reading the zip..."):
                    data = datasets.load_image_folder_zip(uploaded.getvalue(), image_size=size, grayscale=gray)
            except InvalidInput as error:
                st.error(f"{uploaded.name}: {error}")
                return kept[1] if kept else None
            kept = (marker, data)
            st.session_state["trainer_zip_kept"] = kept
    return kept[1] if kept else None


def show_dataset(data: datasets.Dataset) -> None:
    st.caption(data.description + (" " + " ".join(data.notes) if data.notes else ""))
    counts = data.counts()
    table = pd.DataFrame(
        {"class": list(counts), "train": [c[0] for c in counts.values()], "test": [c[1] for c in counts.values()]}
    )
    left, right = st.columns([1, 2])
    left.dataframe(table, hide_index=True, height=min(38 * (len(table) + 1), 400))
    h, w, c = data.input_shape
    left.caption(f"{len(data.x_train):,} train and {len(data.x_test):,} test images of {h}x{w}, {c} channel(s).")
    grid = datasets.sample_grid(data, per_class=10)
    picture(display.enlarge(grid, min_side=300), caption="Training samples, one row per class", container=right)


# --- 2. architecture ----------------------------------------------------------------------------


MAX_BLOCKS = 40  # as many as `summarize` accepts


def _architecture_store(preset: str, input_shape: tuple[int, int, int]) -> dict:
    """The blocks being edited for this preset and input shape, kept in the session. Each block
    carries an "id" that names its widgets, so a block moved up or down keeps its own values."""
    store = st.session_state.setdefault("trainer_architectures", {})
    name = f"{preset}_{'x'.join(map(str, input_shape))}"
    if name not in store:
        store[name] = {"name": name, "preset": preset, "shape": tuple(input_shape), "blocks": [], "next": 0}
        _load_preset(store[name])
    return store[name]


def _new_block(arch: dict, block: dict) -> dict:
    arch["next"] += 1  # ids are never reused, so a new block never inherits an old widget's value
    return {**block, "id": arch["next"]}


def _load_preset(arch: dict) -> None:
    arch["blocks"] = [_new_block(arch, block) for block in models.preset(arch["preset"], arch["shape"])]


def _move(arch: dict, block_id: int, step: int) -> None:
    blocks = arch["blocks"]
    index = next(i for i, block in enumerate(blocks) if block["id"] == block_id)
    other = index + step
    if 0 <= other < len(blocks):
        blocks[index], blocks[other] = blocks[other], blocks[index]


def _remove(arch: dict, block_id: int) -> None:
    arch["blocks"] = [block for block in arch["blocks"] if block["id"] != block_id]


def _add(arch: dict) -> None:
    kind = st.session_state.get("trainer_add_type", "conv")
    position = st.session_state.get("trainer_add_position")
    position = len(arch["blocks"]) if position is None else min(int(position), len(arch["blocks"]))
    arch["blocks"].insert(position, _new_block(arch, block_defaults(kind)))


def _widget_key(arch: dict, block: dict, setting: str) -> str:
    return f"trainer_block_{arch['name']}_{block['id']}_{setting}"


SETTING_WIDTH = {"activation": 120, "padding": 110}  # pixels; numbers get 105


def _setting_widget(container, arch: dict, block: dict, setting: BlockSetting):
    """One setting of one block: a number box with the accepted range, or a choice."""
    key = _widget_key(arch, block, f"{block['type']}_{setting.name}")
    st.session_state.setdefault(key, block.get(setting.name, setting.default))
    width = SETTING_WIDTH.get(setting.name, 105)
    if setting.options:
        return container.selectbox(
            setting.name, setting.options, key=key, persist_state=KEEP, help=setting.help, width=width
        )
    if setting.step is None:  # whole numbers
        return int(
            container.number_input(
                setting.name,
                int(setting.low),
                int(setting.high),
                step=1,
                key=key,
                persist_state=KEEP,
                help=setting.help,
                width=width,
            )
        )
    return float(
        container.number_input(
            setting.name,
            float(setting.low),
            float(setting.high),
            step=setting.step,
            format="%.2f",
            key=key,
            persist_state=KEEP,
            help=setting.help,
            width=width,
        )
    )


def _block_row(arch: dict, index: int, block: dict) -> dict:
    """One block as a row: its type, only the settings that type has, and move / remove buttons.
    The row wraps onto a second line where the page is narrow. Returns the block as left (with its id)."""
    count = len(arch["blocks"])
    type_key = _widget_key(arch, block, "type")
    st.session_state.setdefault(type_key, block["type"])
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    kind = row.selectbox(
        f"Block {index + 1}",
        BLOCK_TYPES,
        key=type_key,
        persist_state=KEEP,
        format_func=lambda k: BLOCKS[k].label,
        help=BLOCKS[st.session_state[type_key]].help,
        width=190,
    )
    if kind != block["type"]:  # a new type: its own settings, keeping those the old one shared (activation...)
        kept = {key: value for key, value in block.items() if key in block_defaults(kind)}
        block = {**block_defaults(kind), **kept, "type": kind, "id": block["id"]}
    edited = {"type": kind, "id": block["id"]}
    for setting in BLOCKS[kind].settings:
        edited[setting.name] = _setting_widget(row, arch, block, setting)
    buttons = row.container(horizontal=True, wrap=False, gap=None, width="content")
    name, block_id = arch["name"], block["id"]
    buttons.button(
        "",
        icon=":material/arrow_upward:",
        key=f"trainer_up_{name}_{block_id}",
        help="Move this block up",
        type="tertiary",
        disabled=index == 0,
        on_click=_move,
        args=(arch, block_id, -1),
    )
    buttons.button(
        "",
        icon=":material/arrow_downward:",
        key=f"trainer_down_{name}_{block_id}",
        help="Move this block down",
        type="tertiary",
        disabled=index == count - 1,
        on_click=_move,
        args=(arch, block_id, 1),
    )
    buttons.button(
        "",
        icon=":material/delete:",
        key=f"trainer_remove_{name}_{block_id}",
        help="Remove this block",
        type="tertiary",
        on_click=_remove,
        args=(arch, block_id),
    )
    return edited


def architecture(data: datasets.Dataset) -> tuple[list[dict] | None, list[LayerRow] | None]:
    """Preset picker and block editor; returns the validated blocks and summary, or (None, None)."""
    names = list(models.PRESETS)
    default_preset, _ = training.default_setup(data.name)
    preset = st.selectbox(
        "Start from a preset",
        names,
        index=names.index(default_preset),
        key=f"trainer_preset_{data.name}",
        persist_state=KEEP,  # one choice per dataset, each starting at its default
        format_func=lambda n: f"{n}: {models.PRESETS[n][0]}",
        help="A network from a tutorial, to train as it is or to change below.",
    )
    st.session_state["trainer_preset"] = preset
    arch = _architecture_store(preset, data.input_shape)
    st.caption(
        "Each row is one layer, applied top to bottom to the image; the (?) next to a block says what it does. "
        "The classifier (Dense, one unit per class, softmax) is added at the end for you."
    )
    arch["blocks"] = [_block_row(arch, index, block) for index, block in enumerate(arch["blocks"])]
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    row.selectbox(
        "Add a block",
        BLOCK_TYPES,
        key="trainer_add_type",
        persist_state=KEEP,
        format_func=lambda k: BLOCKS[k].label,
        width=190,
        help="\n".join(f"- **{kind.label}**: {kind.help}" for kind in BLOCKS.values()),
    )
    count = len(arch["blocks"])
    row.selectbox(
        "Where",
        range(count + 1),
        index=count,
        key="trainer_add_position",
        persist_state=KEEP,
        format_func=lambda i: "at the start" if i == 0 else ("at the end" if i == count else f"after block {i}"),
        width=150,
    )
    row.button(
        "Add", icon=":material/add:", key="trainer_add", on_click=_add, args=(arch,), disabled=count >= MAX_BLOCKS
    )
    row.button(
        "Reset to the preset",
        key="trainer_reset_blocks",
        on_click=_load_preset,
        args=(arch,),
        help="Throw away the changes above and start again from the preset.",
    )
    blocks = [{key: value for key, value in block.items() if key != "id"} for block in arch["blocks"]]
    try:
        rows = summarize(blocks, data.input_shape, data.num_classes)
    except InvalidInput as error:
        st.error(f"Architecture: {error}")
        return None, None
    summary = pd.DataFrame(
        {
            "layer": [r.name for r in rows],
            "output shape": ["x".join(map(str, r.output_shape)) for r in rows],
            "parameters": [r.params for r in rows],
            "how": [r.formula for r in rows],
        }
    )
    st.dataframe(summary, hide_index=True, width="stretch")
    st.caption(f"{total_params(rows):,} parameters in all.")
    return blocks, rows


def lab_kernels_experiment() -> tuple[tuple[str, ...], bool]:
    with st.expander("Experiment: start the first conv layer from Convolution Lab kernels"):
        st.caption(
            "The first conv layer gets exactly these kernels (one filter each). Freeze them to see how far fixed, "
            "hand-made edge detectors go, then compare with a run that learns its own."
        )
        square = [name for name, k in kernels.KERNELS.items() if k.shape == (3, 3) and name != "identity"]
        chosen = st.multiselect(
            "Kernels", square, key="trainer_lab_kernels", persist_state=KEEP, placeholder="None: learn from scratch"
        )
        freeze = st.checkbox(
            "Freeze them (do not train the first layer)", key="trainer_freeze", persist_state=KEEP, disabled=not chosen
        )
    return tuple(chosen), bool(freeze and chosen)


# --- 3. settings --------------------------------------------------------------------------------


HELP = {
    "optimizer": "How the weights are changed after each batch: adam adapts the step for every weight and is the "
    "safe choice; sgd is the classic method (with momentum).",
    "learning_rate": "How big each change to the weights is: too small learns slowly, too large makes the loss "
    "jump or blow up. About 0.001 suits adam.",
    "batch_size": "How many images the network looks at before each change to its weights. Larger batches make "
    "an epoch faster, with fewer, smoother steps.",
    "epochs": "How many times the network sees every training image. More epochs learn more, up to a point, and "
    "take longer: see the time estimate above the Train button.",
    "validation_split": "The share of training images held back and never trained on: after each epoch they show "
    "how the network does on images it has not learned from (the val curves).",
    "target": "End the run once an epoch's training accuracy reaches this (0.99 = 99%). 0 trains every epoch.",
    "patience": "End the run when the validation loss has not improved for this many epochs in a row, keeping the "
    "best weights. 0 trains every epoch.",
    "time_limit": "The run stops after this many seconds whatever else is set, and keeps what it learned.",
    "rotation": "Turn each training image by a random angle, up to this many degrees either way, so that a tilted "
    "digit still counts as the same digit.",
    "shift": "Move each training image by a random amount, up to this share of its width and height.",
    "zoom": "Enlarge or shrink each training image by a random amount, up to this share.",
    "flip": "Mirror half of the training images left to right. Good for photos of objects; wrong for digits and "
    "letters (a mirrored 2 is not a 2).",
}


def settings(dataset_name: str) -> training.TrainConfig | None:
    """Training settings; each dataset keeps its own, starting from the app's defaults for it."""
    _, default = training.default_setup(dataset_name)
    columns = st.columns(4)
    optimizer = columns[0].selectbox(
        "Optimizer",
        training.OPTIMIZERS,
        key=f"trainer_optimizer_{dataset_name}",
        persist_state=KEEP,
        help=HELP["optimizer"],
    )
    rate = columns[1].number_input(
        "Learning rate",
        min_value=0.0,
        value=default.learning_rate,
        format="%g",
        step=0.0005,
        key=f"trainer_lr_{dataset_name}",
        persist_state=KEEP,
        help=HELP["learning_rate"],
    )
    batch = columns[2].select_slider(
        "Batch size",
        [16, 32, 64, 128, 256],
        value=default.batch_size,
        key=f"trainer_batch_{dataset_name}",
        persist_state=KEEP,
        help=HELP["batch_size"],
    )
    epochs = columns[3].number_input(
        "Epochs",
        1,
        200,
        value=default.epochs,
        key=f"trainer_epochs_{dataset_name}",
        persist_state=KEEP,
        help=HELP["epochs"],
    )
    columns = st.columns(4)
    validation = columns[0].slider(
        "Validation split",
        0.0,
        0.5,
        0.1,
        0.05,
        key=f"trainer_val_{dataset_name}",
        persist_state=KEEP,
        help=HELP["validation_split"],
    )
    target = columns[1].number_input(
        "Stop at training accuracy (0 = off)",
        0.0,
        1.0,
        0.0,
        0.01,
        key=f"trainer_target_{dataset_name}",
        persist_state=KEEP,
        format="%.2f",
        help=HELP["target"],
    )
    patience = columns[2].number_input(
        "Early stop patience (0 = off)",
        0,
        50,
        0,
        key=f"trainer_patience_{dataset_name}",
        persist_state=KEEP,
        help=HELP["patience"],
    )
    time_limit = columns[3].number_input(
        "Time limit (s)",
        10,
        600,
        300,
        10,
        key=f"trainer_time_limit_{dataset_name}",
        persist_state=KEEP,
        help=HELP["time_limit"],
    )
    st.markdown(
        "**Augmentation** (random changes to each training image, new every epoch; test images stay as they are)"
    )
    columns = st.columns(4)
    augmentation = models.Augmentation(
        rotation=columns[0].slider(
            "Rotation (degrees)",
            0,
            45,
            int(default.augmentation.rotation),
            key=f"trainer_rot_{dataset_name}",
            persist_state=KEEP,
            help=HELP["rotation"],
        ),
        shift=columns[1].slider(
            "Shift",
            0.0,
            0.3,
            float(default.augmentation.shift),
            0.05,
            key=f"trainer_shift_{dataset_name}",
            persist_state=KEEP,
            help=HELP["shift"],
        ),
        zoom=columns[2].slider(
            "Zoom",
            0.0,
            0.3,
            float(default.augmentation.zoom),
            0.05,
            key=f"trainer_zoom_{dataset_name}",
            persist_state=KEEP,
            help=HELP["zoom"],
        ),
        flip=columns[3].checkbox(
            "Flip left-right",
            value=default.augmentation.flip,
            key=f"trainer_flip_{dataset_name}",
            persist_state=KEEP,
            help=HELP["flip"],
        ),
    )
    try:
        return training.TrainConfig(
            optimizer=optimizer,
            learning_rate=float(rate),
            batch_size=int(batch),
            epochs=int(epochs),
            validation_split=float(validation),
            augmentation=augmentation,
            target_accuracy=float(target) or None,
            early_stopping_patience=int(patience) or None,
            time_limit_s=float(time_limit),
        ).validate()
    except InvalidInput as error:
        st.error(f"Settings: {error}")
        return None


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{seconds / 60:.1f} min" if seconds < 600 else f"{round(seconds / 60)} min"


def _session_speed() -> tuple[float, str]:
    """This server's speed relative to the cost model, from this session's latest run that trained a
    whole epoch on a dataset at hand: (1.0, "") when there is none."""
    from app_support.runs import owner, run_dataset

    for run in reversed(run_manager().runs_for(owner())):
        if not run.epochs:
            continue
        ran_on = run_dataset(run)
        if ran_on is None:
            continue
        try:
            rows = summarize(list(run.job.blocks), ran_on.input_shape, ran_on.num_classes)
        except InvalidInput:
            continue
        expected = training.estimate_time(
            rows, train_images=len(ran_on.x_train), test_images=len(ran_on.x_test), config=run.job.config
        )
        speed = training.measured_speed(expected, epochs_run=len(run.epochs), fit_seconds=run.epochs[-1]["t"])
        return speed, f"Run {run.number}"
    return 1.0, ""


def time_estimate(data: datasets.Dataset, rows: list[LayerRow], config: training.TrainConfig) -> None:
    """How long Train will take, and what the figure is based on."""
    speed, source = _session_speed()
    estimate = training.estimate_time(
        rows, train_images=len(data.x_train), test_images=len(data.x_test), config=config, speed=speed
    )
    text = (
        f"**Estimated time: about {_duration(estimate.seconds)}** for {config.epochs} epoch(s), about "
        f"{_duration(estimate.epoch_s)} each"
    )
    if source:
        text += (
            f", from the speed {source} trained at on this server ({speed:.2g}x the time the network's size predicts). "
        )
    else:
        text += (
            f", from the network's size ({estimate.values_per_image:,} values computed per image) and the number "
            "of batches, timed on a 2-core server; after your first run here it uses this server's own speed. "
        )
    manager = run_manager()
    busy = manager.counts()["training"]
    if busy >= manager.max_active:
        text += f"Add the wait: {busy} runs are training now. "
    else:
        text += "Other runs training at the same time slow it down. "
    limit = config.time_limit_s or float("inf")
    if estimate.seconds > limit:
        text += f"The time limit ({limit:g} s) will stop it early."
    st.caption(text)


def augmentation_preview(data: datasets.Dataset, augmentation: models.Augmentation) -> None:
    """Eight training images, each with the augmentation applied four times (TensorFlow runs in
    the server only when asked for this)."""
    if not augmentation.active:
        st.caption("No augmentation chosen.")
        return
    layers = models.augmentation_layers(augmentation, seed=np.random.randint(1 << 30))
    originals = data.x_train[:8].astype("float32")
    rows = []
    for original in originals:
        rows.append(original)
        for _ in range(4):
            x = original[None]
            for layer in layers:
                x = layer(x, training=True)
            rows.append(np.asarray(x)[0])
    tiles = [np.clip(r, 0, 255).astype(np.uint8) for r in rows]
    tiles = [t[..., 0] if t.shape[-1] == 1 else t for t in tiles]
    picture(display.enlarge(display.tile(tiles, columns=5, gap=2), min_side=360), caption="original, then 4 augmented")


def job_for(
    dataset_name: str, data: datasets.Dataset, blocks, config, lab_kernels: tuple[str, ...], freeze: bool
) -> TrainJob:
    title = st.session_state.get("trainer_preset", "")
    if lab_kernels:
        title += f" + {', '.join(lab_kernels)}" + (" (frozen)" if freeze else "")
    if dataset_name == UPLOAD:
        return TrainJob(
            "file",
            tuple(blocks),
            config,
            dataset_file=saved_upload(data),
            first_conv_kernels=lab_kernels,
            freeze_first_conv=freeze,
            title=title,
        )
    options = (("size", st.session_state.get("trainer_shape_size", 28)),) if dataset_name == "shapes" else ()
    return TrainJob(
        dataset_name,
        tuple(blocks),
        config,
        dataset_options=options,
        first_conv_kernels=lab_kernels,
        freeze_first_conv=freeze,
        title=title,
    )


# --- 4. runs ------------------------------------------------------------------------------------


def run_status(run: Run) -> None:
    manager = run_manager()
    label = run.state.label
    if run.state == RunState.QUEUED:
        counts = manager.counts()
        st.info(f"{run.label}: waiting, number {manager.position(run)} in the queue ({counts['training']} training).")
    elif not run.done:
        total = run.job.config.epochs
        progress = run.batches[-1]["progress"] if run.batches else 0.0
        st.progress(
            min(progress / total, 1.0), text=f"{run.label}: {label}, epoch {min(int(progress) + 1, total)} of {total}"
        )
    elif run.state.good:
        st.success(f"{run.label}: {label}. {run.message}")
    else:
        st.error(f"{run.label}: {label}. {run.message}")


CURVES_NOTE = (
    "Grey: the running figure as batches go by. **Why can validation accuracy be above training accuracy, "
    "mostly early on?** While training, dropout switches off part of the network and augmentation distorts "
    "the images; the validation images are seen as they are, by the whole network. And the training figure "
    "is a running mean over the epoch, its first, worse batches included, while validation is measured once, "
    "at the end of the epoch."
)


def live_curves(run: Run) -> None:
    left, right = st.columns(2)
    left.plotly_chart(charts.curves(run, "loss"), key=f"loss_{run.id}")
    right.plotly_chart(charts.curves(run, "accuracy"), key=f"acc_{run.id}")
    st.caption(CURVES_NOTE)


def results(run: Run, data: datasets.Dataset | None, *, panel: str = "") -> None:
    """Test metrics, per-class accuracy, the confusion matrix and the images of a chosen cell, the
    learned filters. `panel` names the fragment that draws them (see the chart key below)."""
    evaluation = run.evaluation
    if evaluation is None:
        return
    columns = st.columns(4)
    columns[0].metric("Test accuracy", f"{evaluation.test_accuracy:.2%}")
    columns[1].metric("Test loss", f"{evaluation.test_loss:.4f}")
    columns[2].metric("Epochs", len(run.epochs))
    columns[3].metric("Training time", f"{run.train_seconds or 0:.1f} s")
    if data is None or len(data.class_names) != len(evaluation.per_class_accuracy):
        return
    # The click is read before the chart is drawn, so that its outline and the lists agree at once. The
    # key names the fragment drawing the chart: an identical chart drawn again by another fragment (the
    # training panel, then the idle one once the run ends) kept the first fragment's id in the browser,
    # and its clicks asked for a rerun of a fragment that no longer existed, so nothing happened.
    lists = st.session_state.get(f"cm_lists_{run.id}", 0)
    chart_key = f"cm_{run.id}_{panel}_{lists}"
    clicked = _clicked_cell(st.session_state.get(chart_key), data.class_names)
    if clicked is not None and clicked != st.session_state.get(f"cm_clicked_{run.id}"):
        # A new click moves the two lists below, which stay the way to choose without a mouse.
        st.session_state[f"cm_clicked_{run.id}"] = clicked
        st.session_state[f"true_{run.id}"], st.session_state[f"pred_{run.id}"] = clicked
    true, predicted = _chosen_cell(run, data, evaluation.confusion)
    left, right = st.columns([3, 2])  # the matrix gets the room: at 1024 px half a page squeezed its cells
    right.plotly_chart(charts.per_class(evaluation.per_class_accuracy, data.class_names), key=f"pc_{run.id}")
    left.plotly_chart(
        charts.confusion(evaluation.confusion, data.class_names, chosen=(true, predicted)),
        key=chart_key,
        on_select="rerun",
        selection_mode="points",
    )
    st.markdown("**Which images did it get wrong?** Click a cell of the confusion matrix, or choose one here:")
    names = list(range(data.num_classes))
    pick = st.columns(2)
    true = pick[0].selectbox(
        "True class",
        names,
        format_func=data.class_names.__getitem__,
        key=f"true_{run.id}",
        persist_state=KEEP,
        on_change=_lists_changed,
        args=(run.id,),
    )
    predicted = pick[1].selectbox(
        "Predicted as",
        names,
        format_func=data.class_names.__getitem__,
        key=f"pred_{run.id}",
        persist_state=KEEP,
        on_change=_lists_changed,
        args=(run.id,),
    )
    indices = evaluation.misclassified(data.y_test, true, predicted)[:24]
    what = "correctly recognised" if true == predicted else f"predicted as {data.class_names[predicted]}"
    if len(indices) == 0:
        st.caption(f"No test image of {data.class_names[true]} was {what}.")
    else:
        tiles = [data.x_test[i][..., 0] if data.x_test.shape[-1] == 1 else data.x_test[i] for i in indices]
        picture(
            display.enlarge(display.tile(tiles, columns=8, gap=2), min_side=120),
            caption=f"{evaluation.confusion[true, predicted]} test images of {data.class_names[true]} {what} "
            "(up to 24 shown)",
        )
    if run.filters is not None:
        filters = run.filters  # (kh, kw, c_in, n)
        tiles = [display.to_signed(filters[:, :, :, i].mean(axis=2)) for i in range(min(filters.shape[3], 64))]
        picture(
            display.enlarge(
                display.tile([display.enlarge(t, min_side=24) for t in tiles], columns=16, gap=2), min_side=80
            ),
            caption=f"The {filters.shape[3]} learned first-layer filters ({filters.shape[0]}x{filters.shape[1]}; "
            "red positive, blue negative, mean over input channels)",
        )


def _chosen_cell(run: Run, data: datasets.Dataset, confusion: np.ndarray) -> tuple[int, int]:
    """The cell whose images are shown: at first the most frequent mistake, then what was clicked or chosen."""
    true_key, predicted_key = f"true_{run.id}", f"pred_{run.id}"
    if true_key not in st.session_state or predicted_key not in st.session_state:
        errors = confusion.sum(axis=1) - np.diag(confusion)
        true = int(errors.argmax())
        wrong = confusion[true].copy()
        wrong[true] = -1
        st.session_state[true_key], st.session_state[predicted_key] = true, int(wrong.argmax())
    k = data.num_classes
    return min(int(st.session_state[true_key]), k - 1), min(int(st.session_state[predicted_key]), k - 1)


def _lists_changed(run_id: str) -> None:
    # A choice in the lists starts a fresh chart (its old click selection gone), so that clicking the
    # cell that was clicked before counts as a new click again.
    key = f"cm_lists_{run_id}"
    st.session_state[key] = st.session_state.get(key, 0) + 1
    st.session_state.pop(f"cm_clicked_{run_id}", None)


def _clicked_cell(event: dict | None, class_names: tuple[str, ...]) -> tuple[int, int] | None:
    """(true, predicted) of the clicked confusion-matrix cell, or None when nothing is clicked."""
    selection = event.get("selection") if isinstance(event, dict) else getattr(event, "selection", None)
    points = (selection or {}).get("points") or []
    names = [str(name) for name in class_names]
    for point in points:
        x, y = str(point.get("x")), str(point.get("y"))
        if x in names and y in names:
            return names.index(y), names.index(x)
    return None


def downloads(run: Run, data: datasets.Dataset | None) -> None:
    if not run.model_path:
        return
    columns = st.columns(3)
    with open(run.model_path, "rb") as handle:
        columns[0].download_button(
            "Model (.keras)", handle.read(), file_name="cnnviz_model.keras", key=f"dl_model_{run.id}", on_click="ignore"
        )
    if data is not None:
        script = training_script(run.job, input_shape=data.input_shape, num_classes=data.num_classes)
        columns[1].download_button(
            "Training script (.py)", script, file_name="train_cnn.py", key=f"dl_script_{run.id}", on_click="ignore"
        )
        if run.job.dataset not in datasets.KERAS_DATASETS:  # those the script downloads itself

            def npz() -> bytes:
                import io

                buffer = io.BytesIO()
                save_npz(data, buffer)
                return buffer.getvalue()

            columns[2].download_button(
                "Dataset for the script (.npz)", npz, file_name="dataset.npz", key=f"dl_npz_{run.id}", on_click="ignore"
            )
