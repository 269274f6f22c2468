"""The Trainer's third section: training settings with their help, the time estimate, the augmentation
preview, and the job a run gets."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app_support.render import picture
from app_support.runs import run_manager, saved_upload
from app_support.trainer_data import KEEP, UPLOAD
from cnnviz import datasets, display, models, training
from cnnviz.blocks import LayerRow, summarize
from cnnviz.errors import InvalidInput
from cnnviz.training import TrainJob

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
    samples = models.augmented_samples(data.x_train[:8], augmentation, seed=np.random.randint(1 << 30))
    tiles = [t[..., 0] if t.shape[-1] == 1 else t for t in samples]
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
