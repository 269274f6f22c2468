"""Datasets for training: bundled and offline (real MNIST digits, scikit-learn digits, synthetic
shapes), downloaded through `keras.datasets` when online, and the user's own zip of class folders.

Every dataset holds uint8 images (N, H, W, C) and int64 labels, split into train and held-out test.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np

from cnnviz import images
from cnnviz.downloads import socket_timeout
from cnnviz.errors import InvalidInput, zip_read_errors


@dataclass(frozen=True)
class Dataset:
    """Images and labels, split into train and held-out test."""

    name: str
    x_train: np.ndarray  # uint8 (N, H, W, C)
    y_train: np.ndarray  # int64 (N,)
    x_test: np.ndarray  # uint8 (M, H, W, C)
    y_test: np.ndarray  # int64 (M,)
    class_names: tuple[str, ...]
    description: str = ""
    notes: tuple[str, ...] = field(default=())  # what the loader noticed (skipped files, resizing)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def counts(self) -> dict[str, tuple[int, int]]:
        """Class name -> (train count, test count)."""
        train = np.bincount(self.y_train, minlength=self.num_classes)
        test = np.bincount(self.y_test, minlength=self.num_classes)
        return {name: (int(train[i]), int(test[i])) for i, name in enumerate(self.class_names)}


class DatasetUnavailable(InvalidInput):
    """A dataset that needs a download this machine cannot make."""


def split(x: np.ndarray, y: np.ndarray, *, test_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """Shuffle with a fixed seed and split off a held-out test part, stratified by class."""
    rng = np.random.default_rng(seed)
    test_idx = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        rng.shuffle(members)
        test_idx.append(members[: round(len(members) * test_fraction)])
    test = np.sort(np.concatenate(test_idx))
    train = np.setdiff1d(np.arange(len(y)), test)
    rng.shuffle(train)
    rng.shuffle(test)
    return x[train], y[train], x[test], y[test]


def split_dataset(
    name: str, x: np.ndarray, y: np.ndarray, class_names, description: str, *, test_fraction=0.2, seed=0, notes=()
) -> Dataset:
    """A Dataset from all the images `x` (uint8 (N, H, W, C)) and labels `y`, split by `split`."""
    x_train, y_train, x_test, y_test = split(x, y, test_fraction=test_fraction, seed=seed)
    return Dataset(name, x_train, y_train, x_test, y_test, tuple(class_names), description, tuple(notes))


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


# --- the user's own images: a zip with one folder per class ------------------------------------

ZIP_MAX_BYTES = 200 * 1024 * 1024  # the upload itself
ZIP_MAX_ENTRIES = 20_000
ZIP_MAX_ENTRY_BYTES = 20 * 1024 * 1024  # one image, uncompressed
ZIP_MAX_TOTAL_BYTES = 1024 * 1024 * 1024  # everything, uncompressed
ZIP_MAX_RATIO = 200  # uncompressed / compressed, per entry: more is a zip bomb, not a photo
ZIP_MAX_CLASSES = 50
ZIP_MIN_PER_CLASS = 2
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif")
ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    """Read one entry, counting bytes as they stream: headers can lie about sizes."""
    limit = min(ZIP_MAX_ENTRY_BYTES, budget, max(info.compress_size, 1) * ZIP_MAX_RATIO)
    chunks, total = [], 0
    with archive.open(info) as stream:
        while chunk := stream.read(1 << 16):
            total += len(chunk)
            if total > limit:
                reason = "the total size limit" if limit == budget else f"{limit:,} bytes"
                raise InvalidInput(f"{info.filename} unpacks to more than {reason}; refusing the zip.")
            chunks.append(chunk)
    return b"".join(chunks)


def _class_and_name(info: zipfile.ZipInfo) -> tuple[str, str] | None:
    """(class folder, file name) for an image entry, None for entries to skip; raises for unsafe ones."""
    name = info.filename
    if not name or "\0" in name:
        raise InvalidInput(f"The zip has an entry with an empty or broken name ({name!r}); refusing the zip.")
    path = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in path.parts:
        raise InvalidInput(f"The zip entry {name!r} points outside the archive; refusing the zip.")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise InvalidInput(f"The zip entry {name!r} is a symbolic link; refusing the zip.")
    if info.is_dir() or path.name.startswith(".") or "__MACOSX" in path.parts:
        return None
    suffix = path.suffix.lower()
    if suffix in ARCHIVE_SUFFIXES:
        raise InvalidInput(f"The zip contains another archive, {name!r}; put images in class folders instead.")
    if suffix not in IMAGE_SUFFIXES:
        raise InvalidInput(
            f"The zip entry {name!r} is not an image; only {', '.join(IMAGE_SUFFIXES)} files are accepted."
        )
    parts = [p for p in path.parts if p not in ("", ".")]
    if len(parts) < 2:
        raise InvalidInput(
            f"{name!r} is not inside a class folder. Lay the zip out as class_name/image.png, one folder per class."
        )
    return parts[-2], parts[-1]


def load_image_folder_zip(
    data: bytes, *, image_size: int = 64, grayscale: bool = False, test_fraction: float = 0.2, seed: int = 0
) -> Dataset:
    """A dataset from a zip of class folders (`cats/001.jpg`, `dogs/002.jpg`, ... as in the
    horses-vs-humans and cats-vs-dogs tutorials), resized to `image_size` square.

    Nothing is extracted to disk. Absolute paths, `..`, symbolic links, nested archives and
    non-image files are refused, as are zips past the caps on entries, sizes and compression ratio.

    Raises
    ------
    InvalidInput
        For anything it refuses, with a message naming the entry and the rule.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)) or not data:
        raise InvalidInput("Upload a non-empty .zip file with one folder of images per class.")
    if len(data) > ZIP_MAX_BYTES:
        raise InvalidInput(f"The zip is {len(data) / 2**20:.0f} MB; at most {ZIP_MAX_BYTES // 2**20} MB is accepted.")
    if not 16 <= image_size <= 256:
        raise InvalidInput(f"Image size must be 16 to 256 pixels, not {image_size}.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
        infos = archive.infolist()
    except zip_read_errors() as error:
        raise InvalidInput(f"This is not a readable zip file ({error}). Upload a .zip of class folders.") from None
    if len(infos) > ZIP_MAX_ENTRIES:
        raise InvalidInput(f"The zip has {len(infos):,} entries; at most {ZIP_MAX_ENTRIES:,} are accepted.")
    samples: list[tuple[str, str, np.ndarray]] = []
    notes = []
    budget = ZIP_MAX_TOTAL_BYTES
    for info in infos:
        placed = _class_and_name(info)
        if placed is None:
            continue
        if info.flag_bits & 0x1:
            raise InvalidInput(f"{info.filename} is encrypted; upload a zip without a password.")
        try:
            raw = _read_capped(archive, info, budget)
        except zip_read_errors() as error:
            if isinstance(error, InvalidInput):
                raise
            raise InvalidInput(f"{info.filename} could not be read from the zip ({error}).") from None
        budget -= len(raw)
        try:
            picture = images.load_image(raw)
        except InvalidInput as error:
            raise InvalidInput(f"{info.filename}: {error}") from None
        picture = images.to_grayscale(picture) if grayscale else images.to_rgb(picture)
        picture = images.resize(picture, size=(image_size, image_size))
        samples.append((placed[0], placed[1], picture))
    class_names = tuple(sorted({cls for cls, _, _ in samples}))
    if len(class_names) < 2:
        raise InvalidInput(
            f"Found {len(class_names)} class folder(s) with images; at least 2 are needed (e.g. horses/ and humans/)."
        )
    if len(class_names) > ZIP_MAX_CLASSES:
        raise InvalidInput(f"Found {len(class_names)} class folders; at most {ZIP_MAX_CLASSES} are accepted.")
    counts = {name: sum(1 for cls, _, _ in samples if cls == name) for name in class_names}
    small = [f"{name} ({count})" for name, count in counts.items() if count < ZIP_MIN_PER_CLASS]
    if small:
        raise InvalidInput(f"Each class needs at least {ZIP_MIN_PER_CLASS} images; too few in: {', '.join(small)}.")
    x = np.stack([picture for _, _, picture in samples])
    if x.ndim == 3:
        x = x[..., None]
    y = np.array([class_names.index(cls) for cls, _, _ in samples], dtype=np.int64)
    notes.append(f"{len(samples)} images resized to {image_size}x{image_size}, {'grayscale' if grayscale else 'RGB'}.")
    return split_dataset(
        "uploaded", x, y, class_names, "Your images.", test_fraction=test_fraction, seed=seed, notes=notes
    )


# --- by name ------------------------------------------------------------------------------------

BUNDLED = {
    "mnist-bundled": "MNIST (bundled, 10,000 real digits)",
    "digits": "Digits (scikit-learn, 8x8 scaled up)",
    "shapes": "Shapes (synthetic)",
}
DOWNLOADABLE = {name: f"{title} (download)" for name, (title, _, _) in KERAS_DATASETS.items()}
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
    raise InvalidInput(f"Unknown dataset {name!r}; choose one of {', '.join(NAMES)}.")


def sample_grid(dataset: Dataset, *, per_class: int = 8, max_classes: int = 10, seed: int = 0) -> np.ndarray:
    """A grid with one row per class (up to `max_classes`) of `per_class` training images."""
    from cnnviz.display import tile

    rng = np.random.default_rng(seed)
    rows = []
    for label in range(min(dataset.num_classes, max_classes)):
        members = np.flatnonzero(dataset.y_train == label)
        chosen = rng.choice(members, size=min(per_class, len(members)), replace=False)
        pictures = [
            dataset.x_train[i][..., 0] if dataset.x_train.shape[-1] == 1 else dataset.x_train[i] for i in chosen
        ]
        pictures += [np.zeros_like(pictures[0])] * (per_class - len(pictures))
        rows.extend(pictures)
    return tile(rows, columns=per_class, gap=2)
