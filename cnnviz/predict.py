"""Predictions for people: the top classes, and an honest 'not sure' when the input looks unlike
what the model was trained on or the model hesitates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CONFIDENT = 0.6  # below this top probability the app says it is not sure


@dataclass(frozen=True)
class Prediction:
    top: list[tuple[str, float]]  # (class name, probability), best first
    sure: bool
    reason: str  # why not sure ('' when sure)

    @property
    def label(self) -> str:
        return self.top[0][0]


@dataclass(frozen=True)
class InputStats:
    """What the training images looked like: mean brightness per image, its spread."""

    mean: float
    std: float

    @classmethod
    def of(cls, images: np.ndarray) -> InputStats:
        means = np.asarray(images, dtype=np.float64).reshape(len(images), -1).mean(axis=1)
        return cls(float(means.mean()), float(max(means.std(), 1.0)))


def class_probabilities(model, images: np.ndarray) -> np.ndarray:
    """The model's output for a small batch, (N, classes) float32. A direct call, not `model.predict`:
    for one picture that is 7 ms instead of 54 (predict builds a dataset iterator and a compiled
    function for every new model), the same numbers."""
    return np.asarray(model(np.asarray(images), training=False), dtype=np.float32)


def predict(probabilities, class_names, *, k: int = 3, stats: InputStats | None = None, image=None) -> Prediction:
    """Top-k classes of one probability vector, with a 'not sure' verdict and its reason."""
    probabilities = np.asarray(probabilities, dtype=np.float64).ravel()
    order = np.argsort(probabilities)[::-1][: max(1, k)]
    top = [(str(class_names[i]) if i < len(class_names) else str(i), float(probabilities[i])) for i in order]
    if stats is not None and image is not None:
        brightness = float(np.asarray(image, dtype=np.float64).mean())
        z = abs(brightness - stats.mean) / stats.std
        if z > 4:
            return Prediction(
                top,
                False,
                f"This image's brightness ({brightness:.0f}) is far from the training "
                f"images' ({stats.mean:.0f} on average): it looks unlike what the model learned.",
            )
    if top[0][1] < CONFIDENT:
        runner = f", then {top[1][0]} at {top[1][1]:.0%}" if len(top) > 1 else ""
        return Prediction(top, False, f"The model hesitates: {top[0][0]} at only {top[0][1]:.0%}{runner}.")
    return Prediction(top, True, "")


def prepare_input(image: np.ndarray, input_shape, *, digit_like: bool = False):
    """Make any uint8 image into what a model with `input_shape` (H, W, C) takes, and say how:
    returns (array (H, W, C) uint8, [(step title, picture), ...]).

    `digit_like` (a model trained on MNIST-like digits) crops, inverts and centres the ink the way
    MNIST was made; otherwise the image is resized and converted to the model's channels.
    """
    from cnnviz import images

    height, width, channels = (int(n) for n in input_shape)
    image = np.asarray(image)
    if digit_like and channels == 1:
        digit, steps = images.prepare_digit(image, size=height, box=round(height * 20 / 28))
        if (height, width) != digit.shape:
            digit = images.resize(digit, size=(height, width))
        return digit[..., None], steps
    steps = [("original", image)]
    converted = images.to_grayscale(image) if channels == 1 else images.to_rgb(image)
    if converted.shape[:2] != (height, width):
        converted = images.resize(converted, size=(height, width))
        steps.append((f"resized to {height}x{width}", converted))
    if channels == 1 and image.ndim == 3:
        steps.append(("grayscale", converted))
    return (converted[..., None] if channels == 1 else converted), steps
