"""The Trainer's third section: training settings with their help, the time estimate, the augmentation
preview, and the job a run gets."""

from __future__ import annotations

import os

import numpy as np
import streamlit as st

from app_support.common.render import picture
from app_support.common.runs import run_manager, saved_upload
from app_support.common.state import Setting, is_fixed, locked_widget
from app_support.trainer.data import KEEP, UPLOAD
from app_support.trainer.state import BATCHES, NO_PARTNER, UPLOAD_BOXES, augmentation_default, by_param, locked
from app_support.trainer.transfer import Transfer
from cnnviz import datasets, display, estimates, jobs, models, training
from cnnviz.blocks import LayerRow, summarize
from cnnviz.dataset_base import few_pictures_note, held_out_count
from cnnviz.errors import InvalidInput
from cnnviz.localization import LossWeights
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
    "augment": "Show the network each training picture a little changed every epoch (turned, shifted, zoomed, "
    "mirrored: the sliders below), so it cannot memorise the pictures: the usual cure for overfitting.",
    "per_class": "Train on only this many pictures of each class, the same ones in every run: how well does a "
    "network learn from a few dozen? 0 uses them all.",
    "rotation": "Turn each training image by a random angle, up to this many degrees either way, so that a tilted "
    "digit still counts as the same digit.",
    "shift": "Move each training image by a random amount, up to this share of its width and height.",
    "zoom": "Enlarge or shrink each training image by a random amount, up to this share.",
    "flip": "Mirror half of the training images left to right. Good for photos of objects; wrong for digits and "
    "letters (a mirrored 2 is not a 2).",
}


def settings(dataset_name: str, url: list[Setting]) -> training.TrainConfig | None:
    """Training settings; each dataset keeps its own, starting from the app's defaults for it. Those in
    `url` (trainer_state.settings_for) were restored before: their widgets take the session's value and
    honour a teacher's locks."""
    _, default = jobs.default_setup(dataset_name)
    columns = st.columns(4)
    with columns[0]:
        optimizer = locked(
            st.selectbox,
            by_param(url, "opt"),
            "Optimizer",
            training.OPTIMIZERS,
            persist_state=KEEP,
            help=HELP["optimizer"],
        )
    with columns[1]:
        rate = locked(
            st.number_input,
            by_param(url, "lr"),
            "Learning rate",
            min_value=0.0,
            format="%g",
            step=0.0005,
            persist_state=KEEP,
            help=HELP["learning_rate"],
        )
    with columns[2]:
        batch = locked(
            st.select_slider, by_param(url, "batch"), "Batch size", BATCHES, persist_state=KEEP, help=HELP["batch_size"]
        )
    with columns[3]:
        epochs = locked(
            st.number_input, by_param(url, "epochs"), "Epochs", 1, 200, persist_state=KEEP, help=HELP["epochs"]
        )
    columns = st.columns(4)
    with columns[0]:
        validation = locked(
            st.slider,
            by_param(url, "val"),
            "Validation split",
            0.0,
            0.5,
            step=0.05,
            persist_state=KEEP,
            help=HELP["validation_split"],
        )
    target = locked_widget(  # not URL settings, but a teacher's lock covers them too (cnnviz.lessons.CONTROLS)
        columns[1].number_input,
        "target",
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
    patience = locked_widget(
        columns[2].number_input,
        "patience",
        "Early stop patience (0 = off)",
        0,
        50,
        0,
        key=f"trainer_patience_{dataset_name}",
        persist_state=KEEP,
        help=HELP["patience"],
    )
    time_limit = locked_widget(
        columns[3].number_input,
        "limit",
        "Time limit (s)",
        10,
        600,
        300,
        10,
        key=f"trainer_time_limit_{dataset_name}",
        persist_state=KEEP,
        help=HELP["time_limit"],
    )
    augment = locked(
        st.toggle,
        by_param(url, "aug"),
        "**Augmentation**: random changes to each training image, new every epoch (test images stay as they are)",
        persist_state=KEEP,
        help=HELP["augment"],
    )
    start = augmentation_default(dataset_name)
    fixed_augmentation = is_fixed(by_param(url, "aug"))  # its sliders are part of it
    columns = st.columns(4)
    chosen = models.Augmentation(
        rotation=columns[0].slider(
            "Rotation (degrees)",
            0,
            45,
            int(start.rotation),
            key=f"trainer_rot_{dataset_name}",
            persist_state=KEEP,
            help=HELP["rotation"],
            disabled=not augment or fixed_augmentation,
        ),
        shift=columns[1].slider(
            "Shift",
            0.0,
            0.3,
            float(start.shift),
            0.05,
            key=f"trainer_shift_{dataset_name}",
            persist_state=KEEP,
            help=HELP["shift"],
            disabled=not augment or fixed_augmentation,
        ),
        zoom=columns[2].slider(
            "Zoom",
            0.0,
            0.3,
            float(start.zoom),
            0.05,
            key=f"trainer_zoom_{dataset_name}",
            persist_state=KEEP,
            help=HELP["zoom"],
            disabled=not augment or fixed_augmentation,
        ),
        flip=columns[3].checkbox(
            "Flip left-right",
            value=start.flip,
            key=f"trainer_flip_{dataset_name}",
            persist_state=KEEP,
            help=HELP["flip"],
            disabled=not augment or fixed_augmentation,
        ),
    )
    try:
        return training.TrainConfig(
            optimizer=optimizer,
            learning_rate=float(rate),
            batch_size=int(batch),
            epochs=int(epochs),
            validation_split=float(validation),
            augmentation=chosen if augment else models.Augmentation(),
            target_accuracy=float(target or 0) or None,
            early_stopping_patience=int(patience or 0) or None,
            time_limit_s=float(time_limit or 300),
            seed=default.seed,
        ).validate()
    except InvalidInput as error:
        st.error(f"Settings: {error}")
        return None


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{seconds / 60:.1f} min" if seconds < 600 else f"{round(seconds / 60)} min"


def _session_speed() -> tuple[float | None, str]:
    """This server's speed relative to the cost model on an idle server, from this session's latest run
    that trained an epoch on a dataset at hand (`estimates.measured_speed`, with the runs that trained
    beside it and the load it met taken out): (None, "") when there is none."""
    from app_support.common.runs import owner, run_dataset

    runs = run_manager().runs_for(owner())
    for run in reversed(runs):
        if not run.epochs or not run.job.blocks or run.started is None:
            continue
        ran_on = run_dataset(run)
        if ran_on is None:
            continue
        try:
            rows = summarize(list(run.job.blocks), ran_on.input_shape, ran_on.num_classes)
        except InvalidInput:
            continue
        counts = [train for train, _ in ran_on.counts().values()]
        expected = estimates.estimate_time(
            rows, train_images=sum(counts), test_images=len(ran_on.x_test), config=run.job.config, class_counts=counts
        )
        end = run.finished or float("inf")
        beside = sum(
            1
            for other in runs
            if other is not run
            and other.started is not None
            and other.started < end
            and (other.finished or float("inf")) > run.started
        )
        loads = [epoch["load"] for epoch in run.epochs if "load" in epoch]
        speed = estimates.measured_speed(expected, run.epochs, alongside=beside)
        if speed is None:
            continue
        if loads:  # the load it met, beyond its own and the runs beside it, was the server's state then
            speed /= estimates.load_factor(float(np.mean(loads)), runs=beside + 1, cores=os.cpu_count() or 1)
        return min(max(speed, 0.25), 4.0), f"Run {run.number}"  # what the machine is, within reason
    return None, ""


def frozen_rows(rows: list[LayerRow], transfer: Transfer | None) -> int:
    """How many rows after the input learn nothing: a transfer base's, up to the layer it learns from."""
    if transfer is None:
        return 0
    names = [row.name for row in rows]
    base = [name for name in names[1:] if not name.startswith("head_") and name != "output"]
    if transfer.train_from and transfer.train_from in base:
        return base.index(transfer.train_from)
    return 0 if transfer.train_from else len(base)


def time_estimate(
    data: datasets.Dataset,
    rows: list[LayerRow],
    config: training.TrainConfig,
    *,
    per_class: int = 0,
    partner: list[dict] | None = None,
    transfer: Transfer | None = None,
) -> float:
    """How long Train will take (both runs, with a partner), and what the figure is based on: the
    training images used ("images per class" included), this server's measured speed, and how busy it
    is now. Returns the seconds shown."""
    speed, source = _session_speed()
    counts = [min(train, per_class) if per_class else train for train, _ in data.counts().values()]
    options = {"test_images": len(data.x_test), "config": config, "speed": speed or 1.0, "class_counts": counts}
    one = estimates.estimate_time(rows, train_images=sum(counts), frozen_rows=frozen_rows(rows, transfer), **options)
    alone = [one.seconds]
    if partner is not None:
        alone.append(
            estimates.estimate_time(
                summarize(partner, data.input_shape, data.num_classes), train_images=sum(counts), **options
            ).seconds
        )
    counted = run_manager().counts()
    busy = estimates.busy_now(counted["training"], counted["queued"])
    seconds = estimates.estimate_together(alone) * busy.factor
    runs = (
        f"both runs, side by side, {config.epochs} epoch(s) each"
        if partner is not None
        else f"{config.epochs} epoch(s)"
    )
    text = (
        f"**Estimated time: about {_duration(seconds)}** for {runs} on {one.train_images:,} training and "
        f"{one.validation_images:,} validation images"
    )
    if source:
        text += f", from the speed {source} trained at on this server ({speed:.2g}x what the network's size predicts). "
    else:
        text += (
            f", from the network's size ({one.values_per_image:,} values computed per image) and the number "
            "of batches, timed on a 2-core server; after your first run here it uses this server's own speed. "
        )
    if busy.busy:
        text += (
            f"**The server is busy**: {counted['training']} run(s) training, {counted['queued']} waiting, and a "
            f"processor load of {busy.load:.1f} on {busy.cores} cores; the estimate counts {busy.factor:.1f}x for "
            "sharing it" + (", not the wait in the queue. " if counted["queued"] else ". ")
        )
    else:
        text += "Runs started meanwhile would slow it down. "
    limit = config.time_limit_s or float("inf")
    if seconds > limit:
        text += f"The time limit ({limit:g} s) will stop it early."
    st.caption(text)
    return seconds


def few_pictures_warnings(data: datasets.Dataset, config: training.TrainConfig, *, per_class: int = 0) -> None:
    """Before Train: a warning when the validation or test pictures are too few for their figures to mean
    much (`dataset_base.few_pictures_note`), counted as the run will hold them out."""
    counts = [(min(train, per_class) if per_class else train, test) for train, test in data.counts().values()]
    validation = [held_out_count(train, config.validation_split) for train, _ in counts]
    for held, what in ((validation, "validation"), ([test for _, test in counts], "test")):
        if what == "validation" and not config.validation_split:
            continue
        note = few_pictures_note(held, what=what)
        if note:
            st.warning(note)


def too_big_warning(data: datasets.Dataset, blocks, config: training.TrainConfig) -> None:
    """Before Train: a network too large for a server without a GPU (ResNet-34) is named with what it
    would take (`jobs.check_trainable`); such a server's worker refuses it with the same words."""
    if not blocks:
        return
    try:
        jobs.check_trainable(TrainJob("", tuple(blocks), config), data, accelerated=False)
    except InvalidInput as error:
        st.warning(str(error))


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
    dataset_name: str,
    data: datasets.Dataset,
    blocks,
    config,
    lab_kernels: tuple[str, ...] = (),
    freeze: bool = False,
    *,
    transfer: Transfer | None = None,
    per_class: int = 0,
    title: str | None = None,
    boxes: LossWeights | None = None,
) -> TrainJob:
    """The job for a run: the blocks from scratch (with the lab-kernels experiment), or a transfer base;
    with `boxes` (a dataset with boxes) a box head beside the class head, its loss weighted so.
    Its title names the network (`title`, else the preset) and the data it trains on (`data_label`)."""
    if boxes is not None and config.augmentation.active:
        raise InvalidInput(
            "Augmentation moves and turns the pictures but not their boxes: switch Augmentation off to train a "
            "network that learns boxes."
        )
    if title is None:
        title = st.session_state.get("trainer_preset", "")
        if lab_kernels:
            title += f" + {', '.join(lab_kernels)}" + (" (frozen)" if freeze else "")
    if transfer is not None:
        blocks, lab_kernels, freeze = (), (), False
        where = f"from {transfer.train_from} on" if transfer.train_from else "frozen"
        title = f"{'fine-tuning' if transfer.continues else 'transfer from'} {transfer.title} ({where})"
    title = f"{title} on {data_label(dataset_name, data, per_class)}"
    common = {
        "first_conv_kernels": lab_kernels,
        "freeze_first_conv": freeze,
        "title": title,
        "train_per_class": per_class or None,
        "base_model": transfer.base_model if transfer else None,
        "train_from": transfer.train_from if transfer else None,
        "base_input": tuple(transfer.input_shape) if transfer else None,
        "boxes": boxes,
    }
    if dataset_name in (UPLOAD, UPLOAD_BOXES):
        return TrainJob("file", tuple(blocks), config, dataset_file=saved_upload(data), **common)
    options = (("size", st.session_state.get("trainer_shape_size", 28)),) if dataset_name == "shapes" else ()
    return TrainJob(dataset_name, tuple(blocks), config, dataset_options=options, **common)


def data_label(dataset_name: str, data: datasets.Dataset, per_class: int = 0) -> str:
    """What a run trains on, for its label: the dataset ('your zip' for an upload, the shapes' size when
    not 28 px) and, with "images per class", how many of each class it really trains on (a class with
    fewer keeps what it has: 5 pictures a class stay 5 when 10 are asked for)."""
    name = {UPLOAD: "your zip", UPLOAD_BOXES: "your zip with boxes"}.get(dataset_name, dataset_name)
    if dataset_name == "shapes" and st.session_state.get("trainer_shape_size", 28) != 28:
        name += f" ({st.session_state['trainer_shape_size']} px)"
    if not per_class:
        return name
    used = [min(train, per_class) for train, _ in data.counts().values()]
    low, high = min(used), max(used)
    return f"{name}, {low} per class" if low == high else f"{name}, {low}-{high} per class"


def few_images(dataset_name: str, data: datasets.Dataset, url: list[Setting]) -> int:
    """The "images per class" setting (0: all): few pictures, as in the transfer-learning lesson."""
    largest = max(train for train, _ in data.counts().values())
    value = locked(
        st.number_input,
        by_param(url, "per_class"),
        "Training images per class (0 = all)",
        0,
        100_000,
        step=10,
        persist_state=KEEP,
        help=HELP["per_class"],
        width=260,
    )
    if value and value < largest:
        st.caption(f"Each class trains on {value} of its pictures (the same ones every run); the test set stays whole.")
    return int(value)


def partner(data: datasets.Dataset, url: list[Setting]) -> list[dict] | None:
    """ "Train and compare with": a preset trained from scratch beside this run, with the same data and
    settings (the dense-against-CNN lesson). Returns its blocks, or None for no partner."""
    options = [NO_PARTNER, *models.PRESETS]
    chosen = locked(
        st.selectbox,
        by_param(url, "vs"),
        "Train and compare with",
        options,
        format_func=lambda name: "nothing: train one network" if name == NO_PARTNER else f"{name}, from scratch",
        persist_state=KEEP,
        help="Start a second run at the same time: this preset, from scratch, on the same pictures with the "
        "same settings. Both curves appear under Compare runs.",
        width=340,
    )
    if chosen == NO_PARTNER:
        return None
    blocks = models.preset(chosen, data.input_shape)
    try:
        summarize(blocks, data.input_shape, data.num_classes)
    except InvalidInput as error:
        st.error(f"{chosen} does not fit this dataset: {error}")
        return None
    return blocks
