"""Datasets for training: bundled and offline (real MNIST digits, scikit-learn digits, synthetic
shapes), downloaded through `keras.datasets` when online, and the user's own zip of class folders.

Every dataset holds uint8 images (N, H, W, C) and int64 labels, split into train and held-out test.
"""

from __future__ import annotations

import os

import numpy as np

from cnnviz import images
from cnnviz.dataset_base import Dataset, split_dataset
from cnnviz.downloads import socket_timeout
from cnnviz.errors import InvalidInput
from cnnviz.image_folders import load_image_folder_zip


class DatasetUnavailable(InvalidInput):
    """A dataset that needs a download this machine cannot make."""


# --- bundled, offline --------------------------------------------------------------------------


def mnist_bundled(*, seed: int = 0) -> Dataset:
    """The 10,000 real MNIST test digits vendored in the package, split 8,000 train / 2,000 test."""
    x = images.read_idx(images.MNIST_DIR / "t10k-images-idx3-ubyte.gz")[..., None]
    y = images.read_idx(images.MNIST_DIR / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return split_dataset(
        "mnist-bundled",
        x,
        y,
        [str(d) for d in range(10)],
        "Real handwritten digits: the 10,000 MNIST test images, split 8,000 / 2,000 (LeCun, Cortes, Burges).",
        seed=seed,
    )


def digits(*, seed: int = 0, size: int = 28) -> Dataset:
    """scikit-learn's 1,797 8x8 digits, scaled up to `size` pixels, white on black like MNIST."""
    import cv2
    from sklearn.datasets import load_digits

    bunch = load_digits()
    small = (bunch.images * (255.0 / 16.0)).astype(np.uint8)
    x = np.stack([cv2.resize(i, (size, size), interpolation=cv2.INTER_LINEAR) for i in small])[..., None]
    y = bunch.target.astype(np.int64)
    return split_dataset(
        "digits",
        x,
        y,
        [str(d) for d in range(10)],
        f"scikit-learn's 1,797 8x8 handwritten digits, scaled to {size}x{size}.",
        seed=seed,
    )


SHAPES = ("circle", "square", "triangle", "cross")


def _draw_shape(kind: str, size: int, rng: np.random.Generator, noise: float) -> np.ndarray:
    import cv2

    canvas = np.zeros((size * 4, size * 4), dtype=np.uint8)  # drawn at 4x, then shrunk: smooth edges
    big = size * 4
    radius = rng.uniform(0.18, 0.32) * big
    cx, cy = rng.uniform(radius + 2, big - radius - 2, size=2)
    angle = rng.uniform(0, 2 * np.pi)
    thickness = max(2, int(big * rng.uniform(0.04, 0.07)))
    if kind == "circle":
        cv2.circle(canvas, (int(cx), int(cy)), int(radius), 255, thickness, cv2.LINE_AA)
    else:
        corners = {"square": 4, "triangle": 3}.get(kind, 4)
        if kind == "cross":
            for turn in (0, np.pi / 2):
                dx, dy = radius * np.cos(angle + turn), radius * np.sin(angle + turn)
                cv2.line(
                    canvas, (int(cx - dx), int(cy - dy)), (int(cx + dx), int(cy + dy)), 255, thickness, cv2.LINE_AA
                )
        else:
            points = [
                (
                    cx + radius * np.cos(angle + 2 * np.pi * k / corners),
                    cy + radius * np.sin(angle + 2 * np.pi * k / corners),
                )
                for k in range(corners)
            ]
            cv2.polylines(canvas, [np.array(points, dtype=np.int32)], True, 255, thickness, cv2.LINE_AA)
    image = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    image += rng.normal(0, noise * 255, size=image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def shapes(*, size: int = 28, count: int = 2000, noise: float = 0.08, seed: int = 0) -> Dataset:
    """Synthetic outlines of circles, squares, triangles and crosses at random position, size and
    rotation, with noise: the same class anywhere in the picture, to show translation invariance."""
    if size not in (28, 32, 64):
        raise InvalidInput(f"Shapes come in 28, 32 or 64 pixels, not {size}.")
    if not 40 <= count <= 20_000:
        raise InvalidInput(f"Ask for 40 to 20,000 shapes, not {count}.")
    rng = np.random.default_rng(seed)
    y = np.arange(count, dtype=np.int64) % len(SHAPES)
    x = np.stack([_draw_shape(SHAPES[label], size, rng, noise) for label in y])[..., None]
    return split_dataset(
        "shapes",
        x,
        y,
        SHAPES,
        f"{count} synthetic {size}x{size} outlines at random places, sizes and angles, with noise.",
        seed=seed,
    )


# --- downloaded through keras.datasets ---------------------------------------------------------

KERAS_DATASETS = {
    "mnist": ("MNIST", tuple(str(d) for d in range(10)), "70,000 handwritten digits, 28x28."),
    "fashion-mnist": (
        "Fashion-MNIST",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        "70,000 Zalando clothing photos, 28x28 grayscale.",
    ),
    "cifar10": (
        "CIFAR-10",
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        "60,000 tiny colour photos, 32x32, ten classes.",
    ),
}
DOWNLOAD_TIMEOUT_S = 20.0


def keras_dataset(name: str) -> Dataset:
    """MNIST, Fashion-MNIST or CIFAR-10 through `keras.datasets`: downloaded once, then read from
    the Keras cache (`$KERAS_HOME/datasets`, by default `~/.keras/datasets`)."""
    if name not in KERAS_DATASETS:
        raise InvalidInput(f"Unknown downloadable dataset {name!r}; choose one of {', '.join(KERAS_DATASETS)}.")
    title, class_names, description = KERAS_DATASETS[name]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    module = {"mnist": keras.datasets.mnist, "fashion-mnist": keras.datasets.fashion_mnist}.get(
        name, keras.datasets.cifar10
    )
    try:
        with socket_timeout(DOWNLOAD_TIMEOUT_S):
            (x_train, y_train), (x_test, y_test) = module.load_data()
    except Exception as error:
        cache = os.path.join(os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras")), "datasets")
        raise DatasetUnavailable(
            f"{title} is not downloaded yet and could not be fetched ({type(error).__name__}: {error}). "
            f"It needs the internet once; after that it is read from {cache}. "
            "Offline, use the bundled datasets: MNIST (bundled), digits or shapes."
        ) from None

    def shaped(x):
        x = np.asarray(x, dtype=np.uint8)
        return x[..., None] if x.ndim == 3 else x

    return Dataset(
        name,
        shaped(x_train),
        np.asarray(y_train, dtype=np.int64).ravel(),
        shaped(x_test),
        np.asarray(y_test, dtype=np.int64).ravel(),
        class_names,
        description,
    )


# --- the tutorials' photo folders, downloaded once -------------------------------------------------

# name -> (title, address, what it is). Both are zips of class folders, which the zip loader reads.
FOLDER_DATASETS = {
    "horses-humans": (
        "Horses or humans",
        "https://storage.googleapis.com/learning-datasets/horse-or-human.zip",
        "1,027 computer-generated 300x300 pictures of horses and humans (Laurence Moroney, CC BY 2.0), "
        "as in the horses-vs-humans tutorial.",
    ),
    "cats-dogs": (
        "Cats vs dogs (filtered)",
        "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip",
        "3,000 photos of cats and dogs from Kaggle's Dogs vs. Cats, the filtered set of the tutorials.",
    ),
}
FOLDER_IMAGE_SIZE = 64  # pixels: the tutorials used 150 or 300; 64 trains here in seconds and still shows the idea


def keras_home() -> str:
    """Where Keras keeps downloads, read now (`$KERAS_HOME`, by default `~/.keras`)."""
    return os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras"))


def folder_dataset(name: str, *, size: int = FOLDER_IMAGE_SIZE) -> Dataset:
    """Horses or humans, or cats vs dogs: downloaded once into `$KERAS_HOME/datasets` (a time limit on
    every read, so a silent network fails instead of hanging), then read from there as a zip of class
    folders, resized to `size` square, colour."""
    if name not in FOLDER_DATASETS:
        raise InvalidInput(f"Unknown photo-folder dataset {name!r}; choose one of {', '.join(FOLDER_DATASETS)}.")
    title, address, description = FOLDER_DATASETS[name]
    folder = os.path.join(keras_home(), "datasets")
    path = os.path.join(folder, f"{name}.zip")
    if not os.path.exists(path):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras

        try:
            with socket_timeout(DOWNLOAD_TIMEOUT_S):
                # An explicit cache_dir: Keras reads KERAS_HOME only when it is imported.
                path = keras.utils.get_file(f"{name}.zip", origin=address, cache_dir=keras_home())
        except Exception as error:
            raise DatasetUnavailable(
                f"{title} is not downloaded yet and could not be fetched ({type(error).__name__}: {error}). "
                f"It needs the internet once; after that it is read from {path}. Offline, put the zip from "
                f"{address} there, or zip your own class folders and choose 'Your images'; the bundled "
                "shapes work too."
            ) from None
    with open(path, "rb") as file:
        loaded = load_image_folder_zip(file.read(), image_size=size)
    return Dataset(
        name,
        loaded.x_train,
        loaded.y_train,
        loaded.x_test,
        loaded.y_test,
        loaded.class_names,
        description,
        loaded.notes,
    )


# --- by name ------------------------------------------------------------------------------------

BUNDLED = {
    "mnist-bundled": "MNIST (bundled, 10,000 real digits)",
    "digits": "Digits (scikit-learn, 8x8 scaled up)",
    "shapes": "Shapes (synthetic)",
}
DOWNLOADABLE = {name: f"{title} (download)" for name, (title, _, _) in (KERAS_DATASETS | FOLDER_DATASETS).items()}
NAMES = {**BUNDLED, **DOWNLOADABLE}


def load(name: str, **options) -> Dataset:
    """A dataset by name: one of `NAMES`. Options go to the loader (e.g. shapes' `size`)."""
    if name == "mnist-bundled":
        return mnist_bundled(**options)
    if name == "digits":
        return digits(**options)
    if name == "shapes":
        return shapes(**options)
    if name in KERAS_DATASETS:
        return keras_dataset(name)
    if name in FOLDER_DATASETS:
        return folder_dataset(name, **options)
    raise InvalidInput(f"Unknown dataset {name!r}; choose one of {', '.join(NAMES)}.")


def sample_grid(dataset: Dataset, *, per_class: int = 8, max_classes: int = 10, seed: int = 0) -> np.ndarray:
    """A grid (uint8 RGB) with one row per class (up to `max_classes`) of up to `per_class` training
    images. A class with fewer images ends its row early: the rest of the row stays the grid's white
    background, never a made-up black picture (a black tile looks like a digit's empty background)."""
    from cnnviz.display import tile

    rng = np.random.default_rng(seed)
    shown = [np.flatnonzero(dataset.y_train == label) for label in range(min(dataset.num_classes, max_classes))]
    columns = max(1, min(per_class, max(len(members) for members in shown)))
    rows = []
    blank = np.full((*dataset.x_train.shape[1:3], 3), 255, dtype=np.uint8)
    for members in shown:
        chosen = rng.choice(members, size=min(columns, len(members)), replace=False)
        pictures = [
            dataset.x_train[i][..., 0] if dataset.x_train.shape[-1] == 1 else dataset.x_train[i] for i in chosen
        ]
        pictures = [np.repeat(p[..., None], 3, axis=2) if p.ndim == 2 else p for p in pictures]
        rows.extend(pictures + [blank] * (columns - len(pictures)))
    return tile(rows, columns=columns, gap=2)
