"""Pictures with boxes, for the two-headed network that learns what is in a picture and where: a
bundled set that needs no download (MNIST digits or the synthetic shapes placed at random places
and sizes on a larger canvas) and the user's own zip of class folders with a boxes file.

Every picture holds one object. Its box is ``(x_min, y_min, x_max, y_max)`` normalised to the
picture (0..1 of its width and height), so it survives resizing; `to_pixels` gives pixel edges
(a box around pixels 3 to 10 is x_min=3, x_max=11).

The zip's boxes file (`BOXES_FILE`): one ``boxes.csv`` in each class folder, a header line
``file,x_min,y_min,x_max,y_max`` and a line per picture in that folder, in pixels of the picture
as it is in the zip::

    cats/boxes.csv   file,x_min,y_min,x_max,y_max
                     cat1.jpg,12,30,140,118
    cats/cat1.jpg
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy as np

from cnnviz.dataset_base import Dataset, split
from cnnviz.errors import InvalidInput

BOXES_FILE = "boxes.csv"
BOXES_HEADER = ("file", "x_min", "y_min", "x_max", "y_max")
CANVAS = 64  # the bundled sets' picture side, pixels
OBJECT_SIZES = (14, 48)  # the placed object's longer side, pixels, both ends included


@dataclass(frozen=True)
class BoxDataset(Dataset):
    """A `Dataset` whose every picture has one object and its box (normalised, see the module)."""

    boxes_train: np.ndarray | None = None  # float32 (N, 4) x_min, y_min, x_max, y_max in 0..1
    boxes_test: np.ndarray | None = None  # float32 (M, 4)

    def __post_init__(self):
        for part in ("train", "test"):
            boxes, labels = getattr(self, f"boxes_{part}"), getattr(self, f"y_{part}")
            if boxes is None or np.shape(boxes) != (len(labels), 4):
                raise InvalidInput(f"A box dataset needs one box per {part} picture: (N, 4) for N pictures.")


def to_pixels(boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Normalised boxes (..., 4) -> pixel edges in a picture of `size` (height, width), float32."""
    height, width = size
    return (np.asarray(boxes, dtype=np.float32) * np.array([width, height, width, height], np.float32)).astype(
        np.float32
    )


def to_normalised(boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Pixel-edge boxes (..., 4) in a picture of `size` (height, width) -> normalised, float32."""
    height, width = size
    return (np.asarray(boxes, dtype=np.float64) / np.array([width, height, width, height])).astype(np.float32)


def augment_with_boxes(
    x: np.ndarray, y: np.ndarray, boxes: np.ndarray, *, copies: int, scale=(0.7, 1.3), seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pictures `x` (uint8 (N, H, W, C)) with their labels and normalised boxes, then `copies` more of
    each, every copy scaled (by a factor in `scale`, as far as the box still fits), moved and half of
    them mirrored left to right, with its box moved the same way and kept inside the picture. What
    uncovers an edge repeats the picture's border. Augmentation for a few pictures with boxes: the
    usual kind (`cnnviz.models.Augmentation`) would move the objects but not their boxes."""
    import cv2

    rng = np.random.default_rng(seed)
    count, height, width = x.shape[:3]
    size = np.array([width, height, width, height], np.float64)
    pictures, labels, kept = [x], [y], [np.asarray(boxes, np.float32)]
    for _ in range(int(copies)):
        moved, new_boxes = np.empty_like(x), np.empty((count, 4), np.float32)
        for i in range(count):
            x0, y0, x1, y1 = np.asarray(boxes[i], np.float64) * size
            factor = min(rng.uniform(*scale), width / max(x1 - x0, 1e-6), height / max(y1 - y0, 1e-6))
            dx = rng.uniform(-x0 * factor, width - x1 * factor)
            dy = rng.uniform(-y0 * factor, height - y1 * factor)
            # In pixel centres (where cv2 puts a pixel) the edges' e -> factor * e + d is c -> factor * c + d + shift.
            shift = 0.5 * (factor - 1)
            matrix = np.array([[factor, 0, dx + shift], [0, factor, dy + shift]])
            box = np.array([x0 * factor + dx, y0 * factor + dy, x1 * factor + dx, y1 * factor + dy])
            if rng.random() < 0.5:  # mirrored: x -> width - x
                matrix = np.array([[-1.0, 0, width - 1], [0, 1, 0]]) @ np.vstack([matrix, [0, 0, 1]])
                box = np.array([width - box[2], box[1], width - box[0], box[3]])
            warped = cv2.warpAffine(
                np.ascontiguousarray(x[i]),
                matrix,
                (width, height),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )
            moved[i] = warped.reshape(x[i].shape)
            new_boxes[i] = np.clip(box / size, 0.0, 1.0)
        pictures.append(moved)
        labels.append(y)
        kept.append(new_boxes)
    return np.concatenate(pictures), np.concatenate(labels), np.concatenate(kept)


# --- the bundled sets: objects placed on a canvas -------------------------------------------------


def _extents(pictures: np.ndarray, threshold: int) -> np.ndarray:
    """int (N, 4): (y0, y1, x0, x1) of each picture's pixels brighter than `threshold` (ends
    exclusive); the whole picture where none is."""
    bright = pictures.max(axis=-1) > threshold  # (N, h, w)
    rows, cols = bright.any(axis=2), bright.any(axis=1)  # (N, h), (N, w)
    h, w = rows.shape[1], cols.shape[1]
    empty = ~rows.any(axis=1)
    y0, x0 = rows.argmax(axis=1), cols.argmax(axis=1)
    y1, x1 = h - rows[:, ::-1].argmax(axis=1), w - cols[:, ::-1].argmax(axis=1)
    extents = np.stack([y0, y1, x0, x1], axis=1)
    extents[empty] = (0, h, 0, w)
    return extents


def place_objects(
    pictures: np.ndarray,
    *,
    canvas: int = CANVAS,
    sizes: tuple[int, int] = OBJECT_SIZES,
    clutter: int = 0,
    noise: float = 0.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Each object of `pictures` (uint8 (N, h, w, C), bright on black, e.g. MNIST digits) cut to its
    extent, scaled so its longer side is a random size in `sizes` (pixels, both included), and put
    at a random place on a black `canvas` x `canvas` picture, with `clutter` small pieces of other
    pictures beside it (never on it) and Gaussian `noise` (a fraction of 255) over everything.

    Returns
    -------
    images : uint8 (N, canvas, canvas, C)
    boxes : float32 (N, 4), the placed object's extent in pixel edges (x_min, y_min, x_max, y_max)
    """
    import cv2

    pictures = np.asarray(pictures)
    low, high = sizes
    if not (8 <= canvas <= 256 and 4 <= low <= high <= canvas):
        raise InvalidInput(
            f"Objects of {low} to {high} pixels on a {canvas}-pixel canvas: sizes must be 4 to the canvas."
        )
    if not (0 <= clutter <= 8 and 0 <= noise <= 0.5):
        raise InvalidInput("Clutter is 0 to 8 pieces per picture and noise 0 to 0.5.")
    rng = np.random.default_rng(seed)
    count, channels = len(pictures), pictures.shape[-1]
    out = np.zeros((count, canvas, canvas, channels), dtype=np.uint8)
    boxes = np.zeros((count, 4), dtype=np.float32)
    for i, (picture, (y0, y1, x0, x1)) in enumerate(zip(pictures, _extents(pictures, 32), strict=True)):
        crop = picture[y0:y1, x0:x1]
        scale = int(rng.integers(low, high + 1)) / max(y1 - y0, x1 - x0)
        width, height = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
        shrink = scale < 1
        crop = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        crop = crop.reshape(height, width, channels)
        left, top = int(rng.integers(0, canvas - width + 1)), int(rng.integers(0, canvas - height + 1))
        image = out[i]
        for _ in range(clutter):  # pieces of another picture, kept off the object's box
            other = pictures[int(rng.integers(count))]
            side = int(rng.integers(5, 10))
            py, px = (int(rng.integers(0, n - side + 1)) for n in other.shape[:2])
            for _ in range(20):
                cy, cx = (int(v) for v in rng.integers(0, canvas - side + 1, size=2))
                if cx + side <= left or cx >= left + width or cy + side <= top or cy >= top + height:
                    piece = other[py : py + side, px : px + side].reshape(side, side, channels)
                    image[cy : cy + side, cx : cx + side] = np.maximum(image[cy : cy + side, cx : cx + side], piece)
                    break
        image[top : top + height, left : left + width] = np.maximum(
            image[top : top + height, left : left + width], crop
        )
        boxes[i] = (left, top, left + width, top + height)
    if noise:
        noisy = out.astype(np.float32) + rng.normal(0, noise * 255, size=out.shape).astype(np.float32)
        out = np.clip(noisy, 0, 255).astype(np.uint8)
    return out, boxes


def _placed_dataset(name, pictures, labels, class_names, description, *, canvas, sizes, clutter, noise, seed):
    images, boxes = place_objects(pictures, canvas=canvas, sizes=sizes, clutter=clutter, noise=noise, seed=seed)
    index_train, y_train, index_test, y_test = split(np.arange(len(labels)), labels, test_fraction=0.2, seed=seed)
    boxes = to_normalised(boxes, (canvas, canvas))
    return BoxDataset(
        name,
        images[index_train],
        y_train,
        images[index_test],
        y_test,
        tuple(class_names),
        description,
        boxes_train=boxes[index_train],
        boxes_test=boxes[index_test],
    )


def _check_count(count: int, most: int) -> None:
    if not 40 <= count <= most:
        raise InvalidInput(f"Ask for 40 to {most:,} pictures, not {count}.")


def mnist_boxes(
    *, count: int = 10_000, canvas: int = CANVAS, sizes=OBJECT_SIZES, clutter: int = 0, noise=0.0, seed: int = 0
) -> BoxDataset:
    """The bundled MNIST digits (the first `count` of the 10,000), each placed at a random place and
    size on a `canvas`-pixel square with its box; split 80% train / 20% test, stratified."""
    from cnnviz.datasets import mnist_bundled

    _check_count(count, 10_000)
    digits = mnist_bundled()
    pictures = np.concatenate([digits.x_train, digits.x_test])[:count]
    labels = np.concatenate([digits.y_train, digits.y_test])[:count]
    return _placed_dataset(
        "mnist-boxes",
        pictures,
        labels,
        digits.class_names,
        f"{count:,} MNIST digits, each {sizes[0]}-{sizes[1]} pixels tall or wide at a random place on a "
        f"{canvas}x{canvas} picture, with its box.",
        canvas=canvas,
        sizes=tuple(sizes),
        clutter=clutter,
        noise=noise,
        seed=seed,
    )


def shapes_boxes(
    *, count: int = 2_000, canvas: int = CANVAS, sizes=OBJECT_SIZES, clutter: int = 0, noise=0.08, seed: int = 0
) -> BoxDataset:
    """The synthetic outlines (circle, square, triangle, cross), each placed at a random place and
    size on a `canvas`-pixel square with its box, then `noise`; split 80% / 20%, stratified."""
    from cnnviz.datasets import SHAPES, shapes

    _check_count(count, 20_000)
    drawn = shapes(size=64, count=count, noise=0.0, seed=seed)
    pictures = np.concatenate([drawn.x_train, drawn.x_test])
    labels = np.concatenate([drawn.y_train, drawn.y_test])
    return _placed_dataset(
        "shapes-boxes",
        pictures,
        labels,
        SHAPES,
        f"{count:,} outlines of circles, squares, triangles and crosses, {sizes[0]}-{sizes[1]} pixels, at random "
        f"places on a {canvas}x{canvas} picture with noise, each with its box.",
        canvas=canvas,
        sizes=tuple(sizes),
        clutter=clutter,
        noise=noise,
        seed=seed,
    )


# name -> (loader, what a learner reads in a list)
BUNDLED = {
    "mnist-boxes": (mnist_boxes, "MNIST digits with boxes (bundled, 64x64)"),
    "shapes-boxes": (shapes_boxes, "Shapes with boxes (synthetic, 64x64)"),
}
NAMES = {name: label for name, (_, label) in BUNDLED.items()}


def load(name: str, **options) -> BoxDataset:
    """A bundled box dataset by name (one of `NAMES`); options go to its loader (count, clutter...)."""
    if name not in BUNDLED:
        raise InvalidInput(f"Unknown box dataset {name!r}; choose one of {', '.join(BUNDLED)}.")
    return BUNDLED[name][0](**options)


# --- the user's zip of class folders with boxes ---------------------------------------------------


def _number(text: str, column: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(f"{where}: {column} {text.strip()!r} is not a number.") from None
    if not math.isfinite(value):
        raise InvalidInput(f"{where}: {column} {text.strip()!r} is not a finite number.")
    return value


def read_boxes(folder: str, raw: bytes, sizes: dict[str, tuple[int, int]]) -> dict[str, np.ndarray]:
    """File name -> normalised box from one class folder's boxes file; InvalidInput naming the line."""
    path = f"{folder}/{BOXES_FILE}"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not text (UTF-8); save it as a CSV file.") from None
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows or tuple(cell.strip().lower() for cell in rows[0]) != BOXES_HEADER:
        raise InvalidInput(f"{path} must start with the line {','.join(BOXES_HEADER)}.")
    found: dict[str, np.ndarray] = {}
    lines: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        where = f"{path}, line {number}"
        if len(row) != len(BOXES_HEADER):
            raise InvalidInput(f"{where} has {len(row)} values; each line is {','.join(BOXES_HEADER)}.")
        name = row[0].strip()
        if name not in sizes:
            raise InvalidInput(f"{where} names {name!r}, which is not a picture in {folder}/.")
        if name in found:
            raise InvalidInput(
                f"{where}: {folder}/{name} already has a box on line {lines[name]}; one object per picture."
            )
        where = f"{where} ({name})"
        x0, y0, x1, y1 = (_number(row[k], BOXES_HEADER[k], where) for k in range(1, 5))
        if x1 <= x0 or y1 <= y0:
            raise InvalidInput(
                f"{where}: ({x0:g}, {y0:g}, {x1:g}, {y1:g}) is not a box: x_max must be more than x_min and "
                "y_max more than y_min."
            )
        height, width = sizes[name]
        if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
            raise InvalidInput(
                f"{where}: the box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) reaches outside the {width}x{height} picture "
                f"(x from 0 to {width}, y from 0 to {height})."
            )
        found[name], lines[name] = to_normalised(np.array([x0, y0, x1, y1]), (height, width)), number
    return found


def load_boxes_zip(
    data: bytes, *, image_size: int = 64, grayscale: bool = False, test_fraction: float = 0.2, seed: int = 0
) -> BoxDataset:
    """A box dataset from a zip of class folders, each with a `boxes.csv` (see the module), read with
    the rules and caps of `cnnviz.image_folders.load_image_folder_zip` and resized to `image_size`
    square (normalised boxes stay right).

    Raises
    ------
    InvalidInput
        Naming the file and line: a folder without a boxes file, a picture without a box, a line naming
        a missing picture, a value that is not a number, a box with x_max <= x_min or y_max <= y_min,
        a box reaching outside its picture, two boxes for one picture; and whatever the zip reader refuses.
    """
    from cnnviz.image_folders import class_names_of, read_class_folders

    samples, texts = read_class_folders(data, image_size=image_size, grayscale=grayscale, texts=(BOXES_FILE,))
    class_names = class_names_of(samples)
    boxes: dict[tuple[str, str], np.ndarray] = {}
    for folder in class_names:
        sizes = {}
        for sample in samples:
            if sample.folder == folder:
                if sample.name in sizes:
                    raise InvalidInput(f"Two pictures are named {folder}/{sample.name}; rename one.")
                sizes[sample.name] = sample.original_size
        if (folder, BOXES_FILE) not in texts:
            raise InvalidInput(
                f"{folder}/ has no {BOXES_FILE}: each class folder needs one, with a line "
                f"{','.join(BOXES_HEADER)} and then one line per picture."
            )
        boxes |= {(folder, name): box for name, box in read_boxes(folder, texts[folder, BOXES_FILE], sizes).items()}
    for folder, _ in texts:
        if folder not in class_names:
            read_boxes(folder, texts[folder, BOXES_FILE], {})  # a line naming a picture that is not there
    missing = [f"{s.folder}/{s.name}" for s in samples if (s.folder, s.name) not in boxes]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise InvalidInput(
            f"No box for {', '.join(missing[:3])}{more}: add a line for each picture to its folder's {BOXES_FILE}."
        )
    x = np.stack([sample.picture for sample in samples])
    x = x[..., None] if x.ndim == 3 else x
    y = np.array([class_names.index(sample.folder) for sample in samples], dtype=np.int64)
    all_boxes = np.stack([boxes[sample.folder, sample.name] for sample in samples]).astype(np.float32)
    index_train, y_train, index_test, y_test = split(np.arange(len(y)), y, test_fraction=test_fraction, seed=seed)
    note = (
        f"{len(samples)} pictures with boxes, resized to {image_size}x{image_size}, {'gray' if grayscale else 'RGB'}."
    )
    return BoxDataset(
        "uploaded-boxes",
        x[index_train],
        y_train,
        x[index_test],
        y_test,
        class_names,
        "Your pictures with boxes.",
        (note,),
        boxes_train=all_boxes[index_train],
        boxes_test=all_boxes[index_test],
    )
