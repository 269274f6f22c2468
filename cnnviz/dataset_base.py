"""The dataset type every loader returns, and the stratified split they share. Kept apart from
`cnnviz.datasets` (the loaders by name) so that the zip reader, `cnnviz.image_folders`, can build a
`Dataset` without importing the loaders, which read zips through it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
        """(H, W, C) of one image."""
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        """How many classes (the classifier's outputs)."""
        return len(self.class_names)

    def counts(self) -> dict[str, tuple[int, int]]:
        """Class name -> (train count, test count)."""
        train = np.bincount(self.y_train, minlength=self.num_classes)
        test = np.bincount(self.y_test, minlength=self.num_classes)
        return {name: (int(train[i]), int(test[i])) for i, name in enumerate(self.class_names)}


# A held-out part (test or validation) keeps at least this many pictures of each class, where the class
# can spare them (a third of its pictures at most): one picture a class gave figures that jump by a whole
# class at a time (a test accuracy of 66.67% on 3 pictures).
MIN_HELD_OUT_PER_CLASS = 2


def held_out_count(members: int, fraction: float) -> int:
    """How many of a class's `members` pictures a held-out `fraction` takes: the fraction, rounded, but
    at least `MIN_HELD_OUT_PER_CLASS` where a third of the class allows it; none for a fraction of 0.

    >>> held_out_count(1000, 0.2), held_out_count(10, 0.1), held_out_count(5, 0.2), held_out_count(4, 0.0)
    (200, 2, 1, 0)
    """
    if fraction <= 0 or members <= 0:
        return 0
    return min(members - 1, max(round(members * fraction), min(MIN_HELD_OUT_PER_CLASS, members // 3)))


def held_out_counts(y: np.ndarray, fraction: float, num_classes: int | None = None) -> np.ndarray:
    """int64 (K,): how many pictures of each class `split` holds out of labels `y` for `fraction`."""
    sizes = np.bincount(np.asarray(y, dtype=np.int64), minlength=num_classes or 0)
    return np.array([held_out_count(int(n), fraction) for n in sizes], dtype=np.int64)


def split_indices(y: np.ndarray, *, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held out) indices into labels `y`: per class, `held_out_count` of its pictures chosen at
    random (a fixed seed) are held out; both parts shuffled."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    held = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        rng.shuffle(members)
        held.append(members[: held_out_count(len(members), fraction)])
    held_out = np.sort(np.concatenate(held)) if held else np.zeros(0, np.int64)
    kept = np.setdiff1d(np.arange(len(y)), held_out)
    rng.shuffle(kept)
    rng.shuffle(held_out)
    return kept, held_out


def split(x: np.ndarray, y: np.ndarray, *, test_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """Shuffle with a fixed seed and split off a held-out test part, stratified by class
    (`split_indices`): (x_train, y_train, x_test, y_test)."""
    train, test = split_indices(y, fraction=test_fraction, seed=seed)
    return x[train], y[train], x[test], y[test]


def split_dataset(
    name: str, x: np.ndarray, y: np.ndarray, class_names, description: str, *, test_fraction=0.2, seed=0, notes=()
) -> Dataset:
    """A Dataset from all the images `x` (uint8 (N, H, W, C)) and labels `y`, split by `split`."""
    x_train, y_train, x_test, y_test = split(x, y, test_fraction=test_fraction, seed=seed)
    return Dataset(name, x_train, y_train, x_test, y_test, tuple(class_names), description, tuple(notes))


# Below this many pictures a held-out figure moves by more than 2.5% with each picture: the pages say so.
FEW_PICTURES = 40


def few_pictures_note(counts, *, what: str) -> str | None:
    """A warning when a held-out part (`what`: 'test' or 'validation') of `counts` pictures per class is
    too small for its figures to mean much (fewer than `FEW_PICTURES`), else None.

    >>> few_pictures_note([1, 1, 1], what="test")[:60]
    'The test figures rest on 3 pictures (1 of each class): each '
    """
    counts = [int(count) for count in counts]
    total = sum(counts)
    if total >= FEW_PICTURES:
        return None
    if total == 0:
        return f"There are no {what} pictures, so there are no {what} figures: use more pictures per class."
    low, high = min(counts), max(counts)
    each = f"{low} of each class" if low == high else f"{low} to {high} of each class"
    return (
        f"The {what} figures rest on {total} pictures ({each}): each picture is {100 / total:.0f}% of the "
        f"{what} accuracy, so it moves in steps that large, and a class with {low} says little. More pictures "
        f"per class{' or a larger validation split' if what == 'validation' else ''} make it worth reading."
    )
