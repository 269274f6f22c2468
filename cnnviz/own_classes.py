"""A dataset made by hand, a few examples at a time: named classes, each example normalised for the
network as it is added, checks with messages a learner can act on, and a zip of class folders that
`cnnviz.image_folders.load_image_folder_zip` (and `OwnClasses.from_zip`) reads back.

Why normalise on the way in: the network sees one size and colour mode, and the learner should see
exactly what it sees. Drawings get the MNIST preparation (`images.prepare_digit`: white ink on black,
cropped to the ink, centred), so a circle drawn small in a corner and one drawn large in the middle
look alike to the network, as handwritten digits did to LeCun et al.'s (1998); photos keep their
colour and are cropped to the centre square. Each example is also kept as drawn or uploaded
(`originals`): a switch of kind prepares it afresh from that, not from the network's small copy.
Pictures with boxes are kept whole (a drawing too: its place in the picture is what the box is
about), padded with black to a square, and each gets the box the learner drags around its object
(`set_box`): they train the two-headed network of `cnnviz.box_model`, each training picture also
seen BOX_COPIES times moved, scaled and mirrored with its box (`cnnviz.box_data.augment_with_boxes`).

The object holds plain numpy arrays (and bytes) and never imports Streamlit or TensorFlow: the app keeps one per
browser session (never shared), a notebook can build one the same way.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnviz import images
from cnnviz.datasets import Dataset, split_dataset
from cnnviz.errors import InvalidInput, zip_read_errors

KINDS = {
    "drawings": "Drawings (gray, 28x28, prepared like MNIST digits)",
    "photos": "Photos (colour, 64x64, the centre square)",
    "boxes": "Pictures with boxes (colour, 64x64, the whole picture: you box the object in each)",
}
SIZES = {"drawings": 28, "photos": 64, "boxes": 64}
MIN_BOX_SIDE = 2  # pixels of the 64x64 picture: a box narrower than this is a slip of the mouse
# Each training picture with a box is also seen this many times moved, scaled and mirrored, its box
# moved with it: on three drawn shapes, six made of each (bench/own_boxes.py), that took the accuracy on
# 150 new pictures from 0.31 to 0.85 (0.73 to 0.99 with ten of each) and their mean IoU from 0.37 to 0.51.
BOX_COPIES = 30
# An uploaded file up to ORIGINAL_MAX_BYTES is kept byte for byte (a snapshot, a drawing, most small
# pictures); a larger one as a JPEG at most ORIGINAL_MAX_SIDE pixels wide and high (about 100 KB), ten
# times the network's 64: ten classes of 200 examples then stay within a learner's 500 MB.
ORIGINAL_MAX_BYTES = 256 * 2**10
ORIGINAL_MAX_SIDE = 640
MIN_CLASSES, MAX_CLASSES = 2, 10
# With 5 examples one is held back to test the model and 4 remain to learn from; fewer than that and
# the test says nothing (0 or 1 picture) and the network memorises instead of learning the class.
MIN_PER_CLASS = 5
MAX_PER_CLASS = 200  # a few minutes of drawing; keeps a session's memory small (200 * 64*64*3 = 2.4 MB)
MAX_NAME = 30
TEST_FRACTION = 0.2
_NAME_CHARACTERS = re.compile(r"^[\w][\w \-]*$")  # letters, digits, _, then also spaces and -


# --- how to train on a few examples ----------------------------------------------------------------

_CONV = {"type": "conv", "kernel": 3, "stride": 1, "padding": "valid", "activation": "relu"}
# From scratch: small CNNs (the photo one a block deeper for its 64x64 input), dropout for so few pictures.
SCRATCH_BLOCKS = {
    "drawings": (
        {**_CONV, "filters": 16},
        {"type": "maxpool", "size": 2},
        {**_CONV, "filters": 32},
        {"type": "maxpool", "size": 2},
        {"type": "flatten"},
        {"type": "dropout", "rate": 0.3},
        {"type": "dense", "units": 64, "activation": "relu"},
    ),
    "photos": (
        {**_CONV, "filters": 16},
        {"type": "maxpool", "size": 2},
        {**_CONV, "filters": 32},
        {"type": "maxpool", "size": 2},
        {**_CONV, "filters": 64},
        {"type": "maxpool", "size": 2},
        {"type": "flatten"},
        {"type": "dropout", "rate": 0.3},
        {"type": "dense", "units": 64, "activation": "relu"},
    ),
    # For boxes: four poolings down to a 4x4 map whose every unit sees most of the picture and its
    # edges, so the pooled features still say where the object is; no batch normalization (with a few
    # dozen steps its running averages are not yet the data's, and the trained network answered one
    # class and one box for every picture).
    "boxes": (
        {**_CONV, "filters": 16, "padding": "same"},
        {"type": "maxpool", "size": 2},
        {**_CONV, "filters": 32, "padding": "same"},
        {"type": "maxpool", "size": 2},
        {**_CONV, "filters": 64, "padding": "same"},
        {"type": "maxpool", "size": 2},
        {**_CONV, "filters": 64, "padding": "same"},
        {"type": "maxpool", "size": 2},
        {**_CONV, "filters": 128, "padding": "same"},
        {"type": "gap"},
    ),
}
PHOTO_BASE = "MobileNetV2"  # the smallest ImageNet network cnnviz offers (14 MB of weights)


@dataclass(frozen=True)
class TrainingPlan:
    """How to train on a handful of examples per class: a pretrained start where one fits, else the
    small CNN from scratch, with augmentation on."""

    blocks: tuple  # the architecture when training from scratch (cnnviz.blocks dicts)
    config: object  # cnnviz.training.TrainConfig
    base_model: str | None  # TrainJob.base_model: the network to start from, None from scratch
    summary: str  # what the learner reads above the Train button


def training_plan(
    kind: str, *, epochs: int | None = None, pretrained_start: bool = True, photo_weights_cached: bool | None = None
) -> TrainingPlan:
    """The defaults for `kind` ('drawings', 'photos' or 'boxes'), measured with bench/own_classes.py.

    Drawings start from the shipped MNIST network: its convolutions already find strokes, ends and
    curves, so with its layers frozen only a new head (global average pooling + Dense) learns, which
    ten drawings per class can teach (Yosinski et al., 2014; on three drawn shapes it reached 1.0 on
    fifty new drawings each in 15 epochs, as the small CNN from scratch did in 30). Photos start from
    MobileNetV2's ImageNet features when its weights are in the Keras cache (never downloaded for
    this: it would stall a class offline), else from scratch. `pretrained_start=False` always trains
    the small CNN from scratch (to compare)."""
    from cnnviz import predict, pretrained
    from cnnviz.models import Augmentation
    from cnnviz.training import TrainConfig

    if kind not in KINDS:
        raise InvalidInput(f"Unknown kind of examples {kind!r}; choose one of {', '.join(KINDS)}.")
    if kind == "boxes":
        return _box_plan(epochs)
    if photo_weights_cached is None:
        photo_weights_cached = kind == "photos" and _weights_cached(pretrained.WEIGHTS_FILES[PHOTO_BASE])
    augmentation = Augmentation(rotation=15, shift=0.1, zoom=0.15, flip=kind == "photos")
    turned = "turned up to 15°, shifted and zoomed a little" + (" and mirrored" if kind == "photos" else "")
    if not pretrained_start:
        base, default_epochs = None, 30
        start = "A small CNN learned from scratch: every weight starts random."
    elif kind == "drawings":
        base, default_epochs = str(predict.DEFAULT_MODEL), 15
        start = (
            "Starts from the shipped digit network: its convolution layers, which learned strokes and curves on "
            "MNIST, stay as they are, and only a new last layer learns your classes."
        )
    elif photo_weights_cached:
        base, default_epochs = f"imagenet:{PHOTO_BASE}", 10
        start = (
            f"Starts from {PHOTO_BASE}, trained on ImageNet photos: its layers stay as they are and only a new last "
            "layer learns your classes (pictures are enlarged to its 224x224 input)."
        )
    else:
        base, default_epochs = None, 30
        start = (
            f"A small CNN learned from scratch ({PHOTO_BASE}'s ImageNet weights are not in this server's Keras "
            "cache, so it cannot start from them)."
        )
    config = TrainConfig(
        epochs=epochs or default_epochs,
        batch_size=16,
        learning_rate=2e-3,
        validation_split=0.0,  # too few to spare: the one in five kept back tests the model at the end
        augmentation=augmentation,
        time_limit_s=180,
    )
    summary = (
        f"{start} Augmentation is on: in every epoch each example is {turned} at random, so a few examples count "
        "as many. One in five examples is kept back to test the model afterwards."
    )
    return TrainingPlan(SCRATCH_BLOCKS[kind], config, base, summary)


def _box_plan(epochs: int | None) -> TrainingPlan:
    """Pictures with boxes: a small two-headed CNN from scratch (SCRATCH_BLOCKS['boxes']) on the pictures
    and their moved copies (the usual augmentation is off: it would move the objects but not their boxes)."""
    from cnnviz.training import TrainConfig

    config = TrainConfig(epochs=epochs or 20, batch_size=16, learning_rate=3e-3, validation_split=0.0, time_limit_s=180)
    summary = (
        "A small CNN with two heads learned from scratch: one says what the object is, the other where its box "
        f"is. Each training example is also shown {BOX_COPIES} times moved, scaled and mirrored, its box moved "
        "with it, so a few examples count as many. One in five examples is kept back to test the model afterwards."
    )
    return TrainingPlan(SCRATCH_BLOCKS["boxes"], config, None, summary)


def _weights_cached(url: str) -> bool:
    """Whether keras.utils.get_file would find this file in the Keras cache (no download)."""
    folder = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "models"
    return (folder / url.rpartition("/")[2]).exists()


def check_class_name(name: str, *, taken=()) -> str:
    """The name, stripped, if it can name a class (and its folder in the zip); raises InvalidInput
    naming the rule it breaks. `taken` are the names already used (compared ignoring case)."""
    if not isinstance(name, str):
        raise InvalidInput(f"A class name is text, got {type(name).__name__}.")
    name = name.strip()
    if not name:
        raise InvalidInput("A class name cannot be empty: type a word such as 'circle'.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"The class name {name[:MAX_NAME]!r}... is {len(name)} characters; at most {MAX_NAME}.")
    if "/" in name or "\\" in name or name.startswith(".") or ".." in name:
        raise InvalidInput(
            f"{name!r} looks like a folder path; a class name is one word or a few (letters, digits, spaces, - or _)."
        )
    if not _NAME_CHARACTERS.match(name):
        raise InvalidInput(f"{name!r}: use letters, digits, spaces, - or _ (it becomes a folder name in the zip).")
    if name.casefold() in {other.casefold() for other in taken}:
        raise InvalidInput(f"There is already a class called {name!r}; each class needs its own name.")
    return name


def prepare_example(image: np.ndarray, *, kind: str) -> np.ndarray:
    """What the network gets from one picture: uint8 (28, 28, 1) for drawings (the MNIST preparation),
    uint8 (64, 64, 3) for photos (the centre square, resized) and pictures with boxes (the whole picture
    padded with black to a square, resized). `image` is uint8 (H, W) or (H, W, 3)."""
    if kind not in KINDS:
        raise InvalidInput(f"Unknown kind of examples {kind!r}; choose one of {', '.join(KINDS)}.")
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3)):
        raise InvalidInput(f"An example is a uint8 (H, W) or (H, W, 3) picture, got {image.dtype} {image.shape}.")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if kind == "boxes":  # the whole picture, padded with black to a square: nothing of it is cut off
        return _padded_square(image, SIZES[kind])
    if kind == "drawings":
        try:
            prepared, _ = images.prepare_digit(image, size=SIZES[kind])
        except InvalidInput:
            raise InvalidInput(
                "The picture is blank: draw something first (any mark, light on dark or dark on light)."
            ) from None
        return prepared[..., None]
    rgb = images.to_rgb(image)
    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return images.resize(rgb[top : top + side, left : left + side], size=(SIZES[kind], SIZES[kind]))


def _padded_square(image: np.ndarray, side: int) -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) as RGB, padded with black to a centred square, then `side` pixels square.
    A picture much larger than that is first made smaller, keeping its shape (a 20000x3 sliver would
    otherwise be padded to 20000x20000)."""
    rgb = images.resize(images.to_rgb(image), max_side=4 * side)
    h, w = rgb.shape[:2]
    big = max(h, w)
    square = np.zeros((big, big, 3), np.uint8)
    square[(big - h) // 2 : (big - h) // 2 + h, (big - w) // 2 : (big - w) // 2 + w] = rgb
    return images.resize(square, size=(side, side))


def convert(example: np.ndarray, *, kind: str) -> np.ndarray:
    """A prepared example of the other kind, prepared again for `kind` (when the learner switches)."""
    if example.shape[-1] == 1 and kind == "photos":
        return prepare_example(np.repeat(example, 3, axis=2), kind=kind)
    return prepare_example(example, kind=kind)


@dataclass
class OwnClasses:
    """Named classes and their prepared examples, in the order they were made."""

    kind: str = "drawings"
    examples: dict[str, list[np.ndarray]] = field(default_factory=dict)  # class name -> prepared pictures
    # class name -> each example's box (x_min, y_min, x_max, y_max as fractions of the picture), None
    # until the learner draws one; only pictures with boxes use them.
    boxes: dict[str, list[tuple[float, float, float, float] | None]] = field(default_factory=dict)
    # class name -> each example as drawn or uploaded (the file's bytes, a drawing as a PNG), None for one
    # read from a zip (the zip's picture is what the network gets); a switch of kind prepares from it.
    originals: dict[str, list[bytes | None]] = field(default_factory=dict)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The class names, in the order they were added."""
        return tuple(self.examples)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of every example: (28, 28, 1) for drawings, (64, 64, 3) for photos."""
        side = SIZES[self.kind]
        return (side, side, 1 if self.kind == "drawings" else 3)

    def add_class(self, name: str) -> str:
        """Add an empty class; returns its (stripped) name. Refuses a bad or duplicate name, an 11th class."""
        name = check_class_name(name, taken=self.class_names)
        if len(self.examples) >= MAX_CLASSES:
            raise InvalidInput(f"At most {MAX_CLASSES} classes; remove one before adding {name!r}.")
        self.examples[name] = []
        self.boxes[name] = []
        self.originals[name] = []
        return name

    def rename_class(self, old: str, new: str) -> str:
        """Give class `old` a new name, keeping its examples and its place."""
        self._known(old)
        new = check_class_name(new, taken=[n for n in self.class_names if n != old])
        boxes = {n: self.boxes_of(n) for n in self.class_names}
        originals = {n: self.originals_of(n) for n in self.class_names}
        self.examples = {new if n == old else n: pictures for n, pictures in self.examples.items()}
        self.boxes = {new if n == old else n: kept for n, kept in boxes.items()}
        self.originals = {new if n == old else n: kept for n, kept in originals.items()}
        return new

    def remove_class(self, name: str) -> None:
        """Forget a class and its examples."""
        self._known(name)
        del self.examples[name]
        self.boxes.pop(name, None)
        self.originals.pop(name, None)

    def add(self, name: str, image: np.ndarray, *, original: bytes | None = None) -> np.ndarray:
        """Prepare `image` (uint8 (H, W) or (H, W, 3)) and add it to class `name`; returns what the
        network will get. Nothing is added when the picture is refused. The example is also kept as
        drawn or uploaded: `original` (the file `image` was decoded from), else `image` as a PNG."""
        self._known(name)
        if len(self.examples[name]) >= MAX_PER_CLASS:
            raise InvalidInput(f"{name!r} has {MAX_PER_CLASS} examples, the most a class can have here.")
        kept = _keepable(image, original)
        if original is not None and kept != original:  # kept smaller: every picture of it is made from that
            image = images.load_image(kept)
        prepared = prepare_example(image, kind=self.kind)
        boxes, originals = self.boxes_of(name), self.originals_of(name)
        self.examples[name].append(prepared)
        boxes.append(None)
        originals.append(kept)
        return prepared

    def add_file(self, name: str, data: bytes) -> np.ndarray:
        """Decode an uploaded picture (PNG, JPEG, BMP, WebP, GIF) and `add` it, keeping the file as it
        came (up to ORIGINAL_MAX_BYTES; a larger one as a JPEG at most ORIGINAL_MAX_SIDE pixels)."""
        try:
            return self.add(name, images.load_image(data), original=bytes(data))
        except InvalidInput as error:
            if self.kind == "drawings" and str(error).startswith("The picture is blank"):
                raise InvalidInput(
                    "The picture looks blank as a drawing (no marks stand out from its background): upload one "
                    "with clear dark marks on light, or light on dark."
                ) from None
            raise

    def originals_of(self, name: str) -> list:
        """Class `name`'s examples as drawn or uploaded (encoded files), one per example: None for an
        example read from a zip, whose picture is the network's."""
        return self._per_example(self.originals, name)

    def original(self, name: str, index: int) -> np.ndarray:
        """Example `index` of class `name` as drawn or uploaded (uint8 (H, W) or (H, W, 3)); the
        network's picture where none is kept."""
        self._example(name, index)
        original = self.originals_of(name)[index]
        return self.examples[name][index] if original is None else images.load_image(original)

    def remove(self, name: str, index: int) -> None:
        """Remove example `index` (0-based) of class `name`."""
        self._example(name, index)
        boxes, originals = self.boxes_of(name), self.originals_of(name)
        del self.examples[name][index]
        del boxes[index]
        del originals[index]

    def boxes_of(self, name: str) -> list:
        """Class `name`'s boxes, one per example (None where none is drawn yet)."""
        return self._per_example(self.boxes, name)

    def to_box(self, name: str, index: int, *, side: int = 320) -> np.ndarray:
        """Example `index` of class `name` to drag its box on: uint8 (side, side, 3), the picture as drawn
        or uploaded, padded to a square as the network's is (so a box's fractions fit both), sharper
        than the network's 64x64; that one enlarged where no original is kept."""
        return _padded_square(self.original(name, index), side)

    def set_box(self, name: str, index: int, box) -> tuple[float, float, float, float]:
        """Give example `index` of class `name` the box `box`: (x_min, y_min, x_max, y_max) in pixels of
        the picture the network gets (64x64), kept inside it. Returns it as fractions of the picture.
        Raises InvalidInput naming what is wrong: not four numbers, x_max <= x_min or y_max <= y_min, a
        box smaller than MIN_BOX_SIDE pixels or outside the picture."""
        self._example(name, index)
        boxes = self.boxes_of(name)
        try:
            x0, y0, x1, y1 = (float(value) for value in box)
        except (TypeError, ValueError):
            raise InvalidInput(f"A box is four numbers (x_min, y_min, x_max, y_max), got {box!r}.") from None
        if not all(np.isfinite([x0, y0, x1, y1])):
            raise InvalidInput(f"A box's corners are numbers, got ({x0}, {y0}, {x1}, {y1}).")
        if x1 <= x0 or y1 <= y0:
            raise InvalidInput(
                f"The box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) has x_max <= x_min or y_max <= y_min: its right edge "
                "must be right of its left edge, its bottom below its top."
            )
        side = self.examples[name][index].shape[0]
        if x0 >= side or y0 >= side or x1 <= 0 or y1 <= 0:
            raise InvalidInput(
                f"The box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) lies outside the {side}x{side} picture: its corners are "
                f"pixels from 0 to {side}."
            )
        x0, y0, x1, y1 = max(x0, 0.0), max(y0, 0.0), min(x1, float(side)), min(y1, float(side))
        if x1 - x0 < MIN_BOX_SIDE or y1 - y0 < MIN_BOX_SIDE:
            raise InvalidInput(
                f"The box is {max(x1 - x0, 0):g}x{max(y1 - y0, 0):g} pixels inside the {side}x{side} picture; a box "
                f"is at least {MIN_BOX_SIDE}x{MIN_BOX_SIDE}: drag from one corner of the object to the other."
            )
        boxes[index] = (x0 / side, y0 / side, x1 / side, y1 / side)
        return boxes[index]

    def unboxed(self) -> list[tuple[str, int]]:
        """(class, index) of every example still without a box, in the order they were made."""
        return [
            (name, index) for name in self.class_names for index, box in enumerate(self.boxes_of(name)) if box is None
        ]

    def set_kind(self, kind: str) -> int:
        """Switch between drawings, photos and pictures with boxes, preparing every example again for the
        new kind from the example as drawn or uploaded (so a switch there and back gives the same
        pictures); examples that cannot be (a blank photo as a drawing) are dropped. Boxes stay between
        photos and pictures with boxes (unused by photos, they fit the whole picture again on the way
        back; an example from a zip keeps its one picture) and go with drawings (cropped to their ink).
        Returns how many boxes went."""
        if kind not in KINDS:
            raise InvalidInput(f"Unknown kind of examples {kind!r}; choose one of {', '.join(KINDS)}.")
        if kind == self.kind:
            return 0
        if {self.kind, kind} == {"photos", "boxes"}:
            # The centre square or the whole picture, each from the original; a box stays: it is drawn on
            # the whole picture's frame, which comes back the same on the way back to boxes.
            for name in self.class_names:
                self.examples[name] = [
                    picture if original is None else prepare_example(images.load_image(original), kind=kind)
                    for picture, original in zip(self.examples[name], self.originals_of(name), strict=True)
                ]
            self.kind = kind
            return 0
        boxed = sum(box is not None for name in self.class_names for box in self.boxes_of(name))
        for name in self.class_names:
            kept, originals = [], []
            for picture, original in zip(self.examples[name], self.originals_of(name), strict=True):
                try:
                    if original is None:
                        kept.append(convert(picture, kind=kind))
                    else:
                        kept.append(prepare_example(images.load_image(original), kind=kind))
                except InvalidInput:
                    continue
                originals.append(original)
            self.examples[name], self.originals[name] = kept, originals
            self.boxes[name] = [None] * len(kept)  # a box drawn on the picture before does not fit the new one
        self.kind = kind
        return boxed

    def counts(self) -> dict[str, int]:
        """Class name -> number of examples."""
        return {name: len(pictures) for name, pictures in self.examples.items()}

    def problems(self) -> list[str]:
        """What stands between this dataset and training, one message each ([] when it is ready)."""
        found = []
        if len(self.examples) < MIN_CLASSES:
            found.append(
                f"Name at least {MIN_CLASSES} classes: a network learns to tell classes apart, and one class "
                "has nothing to be told apart from."
            )
        for name, count in self.counts().items():
            if count < MIN_PER_CLASS:
                found.append(
                    f"{name!r} has {count} example(s); each class needs at least {MIN_PER_CLASS}: one in five is "
                    "kept back to test the model, and fewer than four to learn from gives a guess, not a class."
                )
        if self.kind == "boxes":
            for name in self.class_names:
                missing = sum(box is None for box in self.boxes_of(name))
                if missing:
                    found.append(
                        f"{missing} example(s) of {name!r} have no box yet: drag a rectangle around the object on "
                        "each (or type its corners)."
                    )
        return found

    def check(self) -> None:
        """Raise InvalidInput with every problem (see `problems`) unless the dataset can be trained on."""
        found = self.problems()
        if found:
            raise InvalidInput(" ".join(found))

    def to_dataset(self, *, test_fraction: float = TEST_FRACTION, seed: int = 0) -> Dataset:
        """The examples as a Dataset (uint8 (N, H, W, C), int64 labels), a stratified share held out for
        testing. Raises InvalidInput when `problems` finds any."""
        self.check()
        x = np.stack([picture for pictures in self.examples.values() for picture in pictures])
        y = np.concatenate([np.full(len(p), i, dtype=np.int64) for i, p in enumerate(self.examples.values())])
        if self.kind == "boxes":
            return self._box_dataset(x, y, test_fraction=test_fraction, seed=seed)
        return split_dataset(
            f"own-{self.kind}",  # the Trainer, Inside and Predict tell own datasets and their kind by this
            x,
            y,
            self.class_names,
            f"Your own classes: {len(x)} {self.kind}.",
            test_fraction=test_fraction,
            seed=seed,
        )

    def _box_dataset(self, x: np.ndarray, y: np.ndarray, *, test_fraction: float, seed: int):
        from cnnviz.box_data import BoxDataset, augment_with_boxes
        from cnnviz.dataset_base import split

        boxes = np.array([box for name in self.class_names for box in self.boxes_of(name)], dtype=np.float32)
        index_train, y_train, index_test, y_test = split(np.arange(len(y)), y, test_fraction=test_fraction, seed=seed)
        x_train, y_train, boxes_train = augment_with_boxes(
            x[index_train], y_train, boxes[index_train], copies=BOX_COPIES, seed=seed
        )
        return BoxDataset(
            "own-boxes",
            x_train,
            y_train,
            x[index_test],
            y_test,
            self.class_names,
            f"Your own classes: {len(x)} pictures with boxes, {len(index_test)} kept back to test; each of the "
            f"{len(index_train)} others is also there {BOX_COPIES} times moved, scaled and mirrored with its box.",
            boxes_train=boxes_train,
            boxes_test=boxes[index_test],
        )

    def to_zip(self) -> bytes:
        """A zip of class folders (`circle/001.png`), each picture as the network gets it: the layout
        `load_image_folder_zip` and `from_zip` read. Pictures with boxes add each folder's `boxes.csv`
        (`cnnviz.box_data`'s format, in pixels; examples not yet boxed have no line)."""
        from cnnviz.box_data import BOXES_FILE, BOXES_HEADER

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, pictures in self.examples.items():
                archive.writestr(f"{name}/", b"")
                lines = [",".join(BOXES_HEADER)]
                for i, (picture, box) in enumerate(zip(pictures, self.boxes_of(name), strict=True), start=1):
                    archive.writestr(
                        f"{name}/{i:03d}.png", images.encode_png(picture[..., 0] if picture.shape[-1] == 1 else picture)
                    )
                    if box is not None:
                        side = picture.shape[0]
                        lines.append(f"{i:03d}.png," + ",".join(f"{value * side:.6g}" for value in box))
                if self.kind == "boxes":
                    archive.writestr(f"{name}/{BOXES_FILE}", "\n".join(lines) + "\n")
        return buffer.getvalue()

    @classmethod
    def from_zip(cls, data: bytes) -> OwnClasses:
        """Read a zip of class folders back (one of `to_zip`'s, or any the zip loader accepts, up to
        10 classes and 200 pictures each): grayscale pictures make drawings, colour ones photos."""
        from cnnviz.image_folders import load_image_folder_zip

        kind = _kind_of_zip(data)
        if kind == "boxes":
            return cls._from_box_zip(data)
        size = SIZES[kind]
        dataset = load_image_folder_zip(data, image_size=size, grayscale=kind == "drawings", test_fraction=0.0)
        if dataset.num_classes > MAX_CLASSES:
            raise InvalidInput(f"The zip has {dataset.num_classes} class folders; at most {MAX_CLASSES} are accepted.")
        own = cls(kind=kind)
        for i, name in enumerate(dataset.class_names):
            own.add_class(name)
            pictures = dataset.x_train[dataset.y_train == i]
            if len(pictures) > MAX_PER_CLASS:
                raise InvalidInput(f"{name!r} has {len(pictures)} pictures in the zip; at most {MAX_PER_CLASS}.")
            own.examples[own.class_names[-1]] = [np.ascontiguousarray(p) for p in pictures]
        return own

    @classmethod
    def _from_box_zip(cls, data: bytes) -> OwnClasses:
        """Pictures with boxes from a zip whose folders hold a boxes.csv (`to_zip`'s, or the Trainer's
        format): every picture of a folder, with its box where the file has a line for it."""
        from cnnviz.box_data import BOXES_FILE, read_boxes
        from cnnviz.image_folders import class_names_of, read_class_folders

        side = SIZES["boxes"]
        samples, texts = read_class_folders(data, image_size=side, grayscale=False, texts=(BOXES_FILE,))
        own = cls(kind="boxes")
        folders = class_names_of(samples)
        if len(folders) > MAX_CLASSES:
            raise InvalidInput(f"The zip has {len(folders)} class folders; at most {MAX_CLASSES} are accepted.")
        for folder in folders:
            name = own.add_class(folder)
            mine = sorted((s for s in samples if s.folder == folder), key=lambda s: s.name)
            if len(mine) > MAX_PER_CLASS:
                raise InvalidInput(f"{name!r} has {len(mine)} pictures in the zip; at most {MAX_PER_CLASS}.")
            sizes = {s.name: s.original_size for s in mine}
            found = read_boxes(folder, texts[folder, BOXES_FILE], sizes) if (folder, BOXES_FILE) in texts else {}
            for sample in mine:
                picture = np.ascontiguousarray(sample.picture)
                own.examples[name].append(picture if picture.ndim == 3 else np.repeat(picture[..., None], 3, axis=2))
                box = found.get(sample.name)
                own.boxes[name].append(None if box is None else tuple(float(v) for v in box))
        return own

    def _per_example(self, lists: dict, name: str) -> list:
        """Class `name`'s list in `lists` (its boxes or originals), one entry per example: None for
        examples added since it was last read, none left for examples removed."""
        self._known(name)
        kept = lists.setdefault(name, [])
        count = len(self.examples[name])
        del kept[count:]
        kept.extend([None] * (count - len(kept)))
        return kept

    def _example(self, name: str, index: int) -> None:
        """Raise InvalidInput unless class `name` has an example `index` (0-based)."""
        self._known(name)
        if not 0 <= index < len(self.examples[name]):
            raise InvalidInput(f"{name!r} has no example {index + 1}; it has {len(self.examples[name])}.")

    def _known(self, name: str) -> None:
        if name not in self.examples:
            raise InvalidInput(
                f"There is no class {name!r}; the classes are {', '.join(self.class_names) or 'none yet'}."
            )


def _keepable(image: np.ndarray, original: bytes | None) -> bytes:
    """What is kept of an example as drawn or uploaded: the file, when there is one up to
    ORIGINAL_MAX_BYTES; a drawing (or a picture given as pixels) as a PNG; a larger file as a JPEG at most
    ORIGINAL_MAX_SIDE pixels wide and high (quality 92: a phone photo of several MB becomes about 100 KB)."""
    if original is not None and len(original) <= ORIGINAL_MAX_BYTES:
        return bytes(original)
    image = np.asarray(image)
    image = image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image
    if original is None and image.size <= ORIGINAL_MAX_SIDE**2:
        return images.encode_png(image)
    from PIL import Image

    picture = Image.fromarray(image)
    h, w = image.shape[:2]
    if min(h, w) * ORIGINAL_MAX_SIDE / max(h, w) >= images.MIN_SIDE:  # a sliver is kept at its size
        picture.thumbnail((ORIGINAL_MAX_SIDE, ORIGINAL_MAX_SIDE))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def _kind_of_zip(data: bytes) -> str:
    """'boxes' when a folder holds a boxes.csv, else 'drawings' when the zip's first picture is grayscale,
    else 'photos' (errors are left to the loader)."""
    from cnnviz.box_data import BOXES_FILE
    from cnnviz.image_folders import IMAGE_SUFFIXES

    try:
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
            if any(Path(info.filename).name == BOXES_FILE for info in archive.infolist()):
                return "boxes"
            for info in archive.infolist():
                if info.filename.lower().endswith(IMAGE_SUFFIXES) and 0 < info.file_size <= 20 * 2**20:
                    picture = images.load_image(archive.read(info))
                    return "drawings" if picture.ndim == 2 else "photos"
    except (InvalidInput, *zip_read_errors()):  # a broken zip: load_image_folder_zip says what is wrong
        pass
    return "drawings"
