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
