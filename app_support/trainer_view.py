"""The Trainer's sections: dataset, architecture builder, settings, live runs and results."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from app_support import charts
from app_support.render import picture
from app_support.runs import dataset as cached_dataset
from app_support.runs import run_manager, saved_upload
from cnnviz import datasets, display, kernels, models, training
from cnnviz.errors import InvalidInput
from cnnviz.export import save_npz, training_script
from cnnviz.runs import Run, TrainJob

UPLOAD = "upload"
COLUMNS = ["type", "filters", "kernel", "stride", "padding", "activation", "size", "rate", "units"]
INT_COLUMNS = ("filters", "kernel", "stride", "size", "units")
STATE_LABELS = {
    "queued": "Waiting in the queue",
    "starting": "Starting",
    "running": "Training",
    "stopping": "Stopping",
    "done": "Finished",
    "stopped": "Stopped",
    "target_reached": "Reached the target",
    "early_stopped": "Stopped early",
    "diverged": "Diverged",
    "timed_out": "Time limit",
    "failed": "Failed",
    "crashed": "Crashed",
}


# --- 1. dataset ---------------------------------------------------------------------------------


def choose_dataset() -> tuple[str, datasets.Dataset | None]:
    """The dataset picker: returns the chosen name and the dataset (None while unavailable)."""
    names = {**datasets.NAMES, UPLOAD: "Your images (a zip of class folders)"}
    name = st.selectbox("Dataset", list(names), format_func=names.get, key="trainer_dataset")
    if name == UPLOAD:
        return name, _uploaded_dataset()
    size = 28
    if name == "shapes":
        size = st.select_slider("Shape image size", [28, 32, 64], key="trainer_shape_size")
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
    size = columns[0].select_slider("Image size", [32, 48, 64, 96, 128], value=64, key="trainer_zip_size")
    gray = columns[1].toggle("Grayscale", key="trainer_zip_gray")
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


def _frame(blocks: list[dict]) -> pd.DataFrame:
    rows = [{column: block.get(column) for column in COLUMNS} for block in blocks]
    return pd.DataFrame(rows, columns=COLUMNS)


def _blocks(frame: pd.DataFrame) -> list[dict]:
    blocks = []
    for index, row in enumerate(frame.to_dict("records")):
        kind = row.get("type")
        if kind is None or (isinstance(kind, float) and math.isnan(kind)):
            raise InvalidInput(f"Block {index + 1} has no type; choose one of {', '.join(models.BLOCK_TYPES)}.")
        block = {"type": kind}
        for column in COLUMNS[1:]:
            value = row.get(column)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            block[column] = value
            if column in INT_COLUMNS:
                if not float(value).is_integer():
                    raise InvalidInput(f"Block {index + 1} ({kind}): {column} must be a whole number, got {value}.")
                block[column] = int(value)
        blocks.append(block)
    return blocks


def architecture(data: datasets.Dataset) -> tuple[list[dict] | None, list[models.LayerRow] | None]:
    """Preset picker and block editor; returns the validated blocks and summary, or (None, None)."""
    names = list(models.PRESETS)
    default_preset, _ = training.default_setup(data.name)
    preset = st.selectbox(
        "Start from a preset",
        names,
        index=names.index(default_preset),
        key=f"trainer_preset_{data.name}",  # one choice per dataset, each starting at its default
        format_func=lambda n: f"{n}: {models.PRESETS[n][0]}",
    )
    st.session_state["trainer_preset"] = preset
    generation = st.session_state.get("trainer_blocks_generation", 0)
    edited = st.data_editor(
        _frame(models.preset(preset, data.input_shape)),
        key=f"trainer_blocks_{preset}_{data.input_shape}_{generation}",
        num_rows="dynamic",
        width="stretch",
        column_config={
            "type": st.column_config.SelectboxColumn("type", options=list(models.BLOCK_TYPES), required=True),
            "padding": st.column_config.SelectboxColumn("padding", options=["valid", "same"]),
            "activation": st.column_config.SelectboxColumn("activation", options=list(models.ACTIVATIONS)),
            "rate": st.column_config.NumberColumn("rate", min_value=0.0, max_value=0.95, step=0.05),
        },
    )
    st.caption(
        "Edit cells, add rows at the bottom, delete rows with the row menu. The classifier (Dense, one unit per "
        "class, softmax) is added at the end for you."
    )
    if st.button("Reset to the preset", key="trainer_reset_blocks"):
        st.session_state["trainer_blocks_generation"] = generation + 1
        st.rerun()
    try:
        blocks = _blocks(edited)
        rows = models.summarize(blocks, data.input_shape, data.num_classes)
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
    st.caption(f"{models.total_params(rows):,} parameters in all.")
    return blocks, rows


def lab_kernels_experiment() -> tuple[tuple[str, ...], bool]:
    with st.expander("Experiment: start the first conv layer from Convolution Lab kernels"):
        st.caption(
            "The first conv layer gets exactly these kernels (one filter each). Freeze them to see how far fixed, "
            "hand-made edge detectors go, then compare with a run that learns its own."
        )
        square = [name for name, k in kernels.KERNELS.items() if k.shape == (3, 3) and name != "identity"]
        chosen = st.multiselect("Kernels", square, key="trainer_lab_kernels", placeholder="None: learn from scratch")
        freeze = st.checkbox("Freeze them (do not train the first layer)", key="trainer_freeze", disabled=not chosen)
    return tuple(chosen), bool(freeze and chosen)


# --- 3. settings --------------------------------------------------------------------------------


def settings(dataset_name: str) -> training.TrainConfig | None:
    """Training settings; each dataset keeps its own, starting from the app's defaults for it."""
    _, default = training.default_setup(dataset_name)
    columns = st.columns(4)
    optimizer = columns[0].selectbox("Optimizer", training.OPTIMIZERS, key=f"trainer_optimizer_{dataset_name}")
    rate = columns[1].number_input(
        "Learning rate",
        min_value=0.0,
        value=default.learning_rate,
        format="%g",
        step=0.0005,
        key=f"trainer_lr_{dataset_name}",
    )
    batch = columns[2].select_slider(
        "Batch size", [16, 32, 64, 128, 256], value=default.batch_size, key=f"trainer_batch_{dataset_name}"
    )
    epochs = columns[3].number_input("Epochs", 1, 200, value=default.epochs, key=f"trainer_epochs_{dataset_name}")
    columns = st.columns(4)
    validation = columns[0].slider("Validation split", 0.0, 0.5, 0.1, 0.05, key=f"trainer_val_{dataset_name}")
    target = columns[1].number_input(
        "Stop at training accuracy (0 = off)", 0.0, 1.0, 0.0, 0.01, key=f"trainer_target_{dataset_name}", format="%.2f"
    )
    patience = columns[2].number_input(
        "Early stop patience (0 = off)", 0, 50, 0, key=f"trainer_patience_{dataset_name}"
    )
    time_limit = columns[3].number_input("Time limit (s)", 10, 600, 300, 10, key=f"trainer_time_limit_{dataset_name}")
    st.markdown("**Augmentation** (random changes to each training image, every epoch)")
    columns = st.columns(4)
    augmentation = models.Augmentation(
        rotation=columns[0].slider(
            "Rotation (degrees)", 0, 45, int(default.augmentation.rotation), key=f"trainer_rot_{dataset_name}"
        ),
        shift=columns[1].slider(
            "Shift", 0.0, 0.3, float(default.augmentation.shift), 0.05, key=f"trainer_shift_{dataset_name}"
        ),
        zoom=columns[2].slider(
            "Zoom", 0.0, 0.3, float(default.augmentation.zoom), 0.05, key=f"trainer_zoom_{dataset_name}"
        ),
        flip=columns[3].checkbox(
            "Flip left-right", value=default.augmentation.flip, key=f"trainer_flip_{dataset_name}"
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
    label = STATE_LABELS.get(run.state, run.state)
    if run.state == "queued":
        counts = manager.counts()
        st.info(f"{run.label}: waiting, number {manager.position(run)} in the queue ({counts['training']} training).")
    elif not run.done:
        total = run.job.config.epochs
        progress = run.batches[-1]["progress"] if run.batches else 0.0
        st.progress(
            min(progress / total, 1.0), text=f"{run.label}: {label}, epoch {min(int(progress) + 1, total)} of {total}"
        )
    elif run.state in ("done", "target_reached", "early_stopped", "stopped"):
        st.success(f"{run.label}: {label}. {run.message}")
    else:
        st.error(f"{run.label}: {label}. {run.message}")


def live_curves(run: Run) -> None:
    left, right = st.columns(2)
    left.plotly_chart(charts.curves(run, "loss"), key=f"loss_{run.id}")
    right.plotly_chart(charts.curves(run, "accuracy"), key=f"acc_{run.id}")


def results(run: Run, data: datasets.Dataset | None) -> None:
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
    left, right = st.columns(2)
    left.plotly_chart(charts.per_class(evaluation.per_class_accuracy, data.class_names), key=f"pc_{run.id}")
    right.plotly_chart(charts.confusion(evaluation.confusion, data.class_names), key=f"cm_{run.id}")
    st.markdown("**Which images did it get wrong?** Pick a cell of the confusion matrix:")
    names = list(range(data.num_classes))
    pick = st.columns(2)
    errors = evaluation.confusion.sum(axis=1) - np.diag(evaluation.confusion)
    true = pick[0].selectbox(
        "True class", names, index=int(errors.argmax()), format_func=data.class_names.__getitem__, key=f"true_{run.id}"
    )
    wrong = evaluation.confusion[true].copy()
    wrong[true] = -1
    predicted = pick[1].selectbox(
        "Predicted as", names, index=int(wrong.argmax()), format_func=data.class_names.__getitem__, key=f"pred_{run.id}"
    )
    indices = evaluation.misclassified(data.y_test, true, predicted)[:24]
    if len(indices) == 0:
        st.caption("No test image of that kind.")
    else:
        tiles = [data.x_test[i][..., 0] if data.x_test.shape[-1] == 1 else data.x_test[i] for i in indices]
        picture(
            display.enlarge(display.tile(tiles, columns=8, gap=2), min_side=120),
            caption=f"{evaluation.confusion[true, predicted]} test images of {data.class_names[true]} predicted as "
            f"{data.class_names[predicted]} (up to 24 shown)",
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
