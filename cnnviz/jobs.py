"""What a worker builds for a training job: the dataset as the job wants it (fewer images per class,
resized for a base network's input) and the model (a preset, blocks, or a base network with a new
head), plus each dataset's default setup."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from cnnviz.datasets import Dataset
from cnnviz.errors import InvalidInput
from cnnviz.models import Augmentation
from cnnviz.training import TrainConfig, TrainJob

# Multiply-adds TensorFlow did per processor-second in ResNet-34's forward pass at 224x224 on the 2-core
# development machine (39e9, measured in processor time, so whatever the load): large convolutions keep
# its vector units busy. Learning is slower per multiply-add; this is the optimistic side.
CPU_MACS_PER_S = 39e9
MAX_FITTED_MB = 600  # a dataset resized for a base's input must stay this small (it lives in a worker)
IMAGENET_PREFIX = "imagenet:"


def fewer_per_class(dataset: Dataset, per_class: int, *, seed: int = 0) -> Dataset:
    """`dataset` with at most `per_class` training images of each class (a fixed random choice, so
    two runs on the same few images compare fairly); the test split stays whole."""
    if not 1 <= per_class <= 100_000:
        raise InvalidInput(f"Images per class must be 1 to 100,000, got {per_class}.")
    rng = np.random.default_rng(seed)
    chosen = []
    for label in range(dataset.num_classes):
        members = np.flatnonzero(dataset.y_train == label)
        chosen.append(rng.permutation(members)[:per_class])
    index = rng.permutation(np.concatenate(chosen))
    note = f"Trained on {per_class} images per class ({len(index)} in all)."
    boxes = getattr(dataset, "boxes_train", None)  # a box dataset's boxes go with their pictures
    extra = {} if boxes is None else {"boxes_train": boxes[index]}
    return replace(
        dataset,
        x_train=dataset.x_train[index],
        y_train=dataset.y_train[index],
        notes=(*dataset.notes, note),
        **extra,
    )


def check_fit(images: int, input_shape: tuple) -> None:
    """Refuse, with a message, `images` pictures resized to `input_shape` (H, W, C) when they would not
    fit in a worker's memory (`MAX_FITTED_MB`)."""
    height, width, channels = (int(n) for n in input_shape)
    megabytes = images * height * width * channels / 2**20
    if megabytes > MAX_FITTED_MB:
        raise InvalidInput(
            f"The base takes {height}x{width}x{channels} images: the {images:,} pictures would need "
            f"{megabytes:,.0f} MB at that size, over {MAX_FITTED_MB} MB. Train on fewer images per class, or "
            "choose a base with smaller input."
        )


def fit_to_input(dataset: Dataset, input_shape: tuple) -> Dataset:
    """`dataset` resized and converted (gray to colour by repeating, colour to gray by luminance) to a
    model's input shape (H, W, C), e.g. 28x28 gray shapes for a 224x224 colour ImageNet base. Refused
    with a message when the result would be too large to train on here."""
    import cv2

    height, width, channels = (None if n is None else int(n) for n in input_shape)
    h, w, c = dataset.input_shape
    if channels not in (1, 3) or c not in (1, 3):
        raise InvalidInput(
            f"Only gray (1) and colour (3) channels convert; the model takes {channels}, the images {c}."
        )
    height, width = height or h, width or w
    if (height, width, channels) == (h, w, c):
        return dataset
    check_fit(len(dataset.x_train) + len(dataset.x_test), (height, width, channels))

    def convert(images: np.ndarray) -> np.ndarray:
        out = np.empty((len(images), height, width, channels), dtype=np.uint8)
        for i, image in enumerate(images):
            if (h, w) != (height, width):
                shrink = height < h or width < w
                image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
            image = image.reshape(height, width, c)
            if c == 1 and channels == 3:
                image = np.repeat(image, 3, axis=-1)
            elif c == 3 and channels == 1:
                image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None]
            out[i] = image
        return out

    note = f"Resized from {h}x{w}x{c} to {height}x{width}x{channels}, the input the base takes."
    return replace(
        dataset, x_train=convert(dataset.x_train), x_test=convert(dataset.x_test), notes=(*dataset.notes, note)
    )


def load_base(base_model: str):
    """The network a transfer job starts from: a .keras file (opened as an upload is, in Keras's safe
    mode after checking its layers) or an ImageNet network from the Keras cache."""
    if base_model.startswith(IMAGENET_PREFIX):
        from cnnviz import pretrained

        return pretrained.load(base_model.removeprefix(IMAGENET_PREFIX)).model
    from cnnviz.model_files import load_model_file

    try:
        data = Path(base_model).read_bytes()
    except OSError:
        raise InvalidInput("The network to start from is no longer on this server; choose it again.") from None
    return load_model_file(data)


def job_dataset(job: TrainJob, dataset: Dataset, input_shape: tuple | None = None) -> Dataset:
    """The dataset as `job` trains on it: fewer images per class when asked, and resized to
    `input_shape` (a transfer base's input) when given."""
    if job.train_per_class:
        dataset = fewer_per_class(dataset, job.train_per_class, seed=job.config.seed)
    if input_shape is not None:
        dataset = fit_to_input(dataset, input_shape)
    return dataset


def continues(base, num_classes: int) -> bool:
    """Whether a transfer job on `base` fine-tunes it (keeping its trained head) rather than putting a
    new head on it: when `base` is a transfer model with as many classes as the dataset."""
    from cnnviz import models

    return models.nested_base(base) is not None and int(base.outputs[0].shape[-1]) == num_classes


def job_model(job: TrainJob, dataset: Dataset):
    """(the Keras model, the dataset as it trains on it) for a job: `build_model` from the job's
    blocks, `transfer_model` on its base, or `models.fine_tune` of a trained transfer model with the
    dataset's classes (its head kept: transfer learning's second step)."""
    from cnnviz import kernels, models

    if job.boxes is not None:
        return box_job_model(job, dataset)
    if job.base_model:
        base = load_base(job.base_model)
        dataset = job_dataset(job, dataset, tuple(base.inputs[0].shape[1:]))
        if continues(base, dataset.num_classes):
            return models.fine_tune(base, train_from=job.train_from), dataset
        model = models.transfer_model(
            base,
            dataset.num_classes,
            train_from=job.train_from,
            augmentation=job.config.augmentation,
            seed=job.config.seed,
        )
        return model, dataset
    dataset = job_dataset(job, dataset)
    check_trainable(job, dataset)
    chosen = [kernels.KERNELS[name] for name in job.first_conv_kernels] or None
    model = models.build_model(
        list(job.blocks),
        dataset.input_shape,
        dataset.num_classes,
        augmentation=job.config.augmentation,
        first_conv_kernels=chosen,
        freeze_first_conv=job.freeze_first_conv,
        seed=job.config.seed,
    )
    return model, dataset


def box_job_model(job: TrainJob, dataset: Dataset):
    """(the two-headed network, the dataset as it trains on it) for a job with `boxes` set
    (`cnnviz.box_model`): the heads on the job's blocks, on its base's convolutional base, or a
    trained two-headed network continued (fine-tuned) when the base is one with the dataset's classes."""
    from cnnviz import box_model, models

    box_model.check_dataset(dataset)
    if job.base_model:
        base = load_base(job.base_model)
        dataset = job_dataset(job, dataset, tuple(base.inputs[0].shape[1:]))
        if box_model.is_box_model(base) and continues(base, dataset.num_classes):
            return models.fine_tune(base, train_from=job.train_from), dataset
        return box_model.from_base(base, dataset.num_classes, train_from=job.train_from, seed=job.config.seed), dataset
    dataset = job_dataset(job, dataset)
    check_trainable(job, dataset)
    return box_model.from_blocks(
        list(job.blocks), dataset.input_shape, dataset.num_classes, seed=job.config.seed
    ), dataset


def has_accelerator() -> bool:
    """Whether this process's TensorFlow sees a GPU (a worker on a GPU node of a Ray cluster does)."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def check_trainable(job: TrainJob, dataset: Dataset, *, accelerated: bool | None = None) -> None:
    """Refuse, with what it would take, a network from blocks over `blocks.MAX_PARAMS` parameters
    where no GPU trains it (`accelerated`: None asks this process's TensorFlow). ResNet-34 at
    ImageNet's 224x224 is one: 21 million parameters, billions of multiply-adds per picture."""
    from cnnviz.blocks import MAX_PARAMS, summarize, total_params
    from cnnviz.estimates import estimate_time, forward_cost

    rows = summarize(list(job.blocks), dataset.input_shape, dataset.num_classes)
    params = total_params(rows)
    if params <= MAX_PARAMS or (has_accelerator() if accelerated is None else accelerated):
        return
    macs, _ = forward_cost(rows)
    images = len(dataset.x_train)
    # The cost model counts activation values (small networks are bound by memory traffic); a network this
    # size is bound by its arithmetic too: whichever takes longer.
    arithmetic = 3 * macs * images / (CPU_MACS_PER_S * (os.cpu_count() or 1))
    epoch = max(estimate_time(rows, train_images=images, test_images=0, config=job.config).epoch_s, arithmetic)
    height, width, _ = dataset.input_shape
    raise InvalidInput(
        f"This network has {params:,} parameters, more than the {MAX_PARAMS:,} a server without a GPU trains. "
        f"Each {height}x{width} picture takes {macs / 1e9:,.1f} billion multiply-adds to see and about three times "
        f"that to learn from: one epoch of {images:,} pictures would take about {_duration(epoch)} here, and a "
        "network this size learns over dozens of epochs. It takes a GPU: a server training on a Ray cluster with "
        "GPUs (CNNVIZ_BACKEND=ray) trains it in minutes. Here, open it untrained in Inside, or train resnet-mini."
    )


def _duration(seconds: float) -> str:
    if seconds >= 5400:
        return f"{seconds / 3600:,.0f} hours"
    return f"{seconds / 60:,.0f} minutes" if seconds >= 90 else f"{seconds:.0f} seconds"


def default_setup(dataset: str) -> tuple[str, TrainConfig]:
    """The app's default preset and settings for a dataset (what `--dataset` alone trains)."""
    if dataset in ("mnist-bundled", "mnist", "digits"):
        # Measured on bundled MNIST (bench/training.py): 18 epochs reach 98.6% on the 2,000 held-out
        # digits in under a minute on 2 CPU cores; 22 reached 98.85% in 79 s.
        augmentation = Augmentation(rotation=10, shift=0.1, zoom=0.1)
        epochs = 18 if dataset == "mnist-bundled" else 12
        return "mnist-fast", TrainConfig(epochs=epochs, batch_size=64, learning_rate=2e-3, augmentation=augmentation)
    if dataset == "fashion-mnist":
        return "fashion-cnn", TrainConfig(epochs=10, batch_size=64)
    if dataset == "cifar10":
        return "fashion-deep", TrainConfig(epochs=15, batch_size=64, augmentation=Augmentation(shift=0.1, flip=True))
    if dataset == "shapes":
        return "tinyvgg", TrainConfig(epochs=15, batch_size=32, learning_rate=3e-3)
    if dataset in ("mnist-boxes", "shapes-boxes", "uploaded-boxes"):
        # Pictures with boxes (no augmentation: it would move the objects but not their boxes). Measured
        # with bench/localization.py on the digits with boxes: see the README's figures.
        return "boxes-fast", TrainConfig(epochs=15, batch_size=64, learning_rate=3e-3)
    return "tinyvgg", TrainConfig(epochs=10, batch_size=32, augmentation=Augmentation(rotation=15, zoom=0.1))
