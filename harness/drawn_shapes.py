"""Shapes drawn as a person draws them on the 280x280 canvas: circles, zigzags and crosses with random
size, position and stroke thickness. The same strokes are drawn offline (OpenCV polylines, for the
library tests and bench/own_classes.py) and with the mouse in Chromium (browser tests)."""

from __future__ import annotations

import math

import numpy as np

SHAPES = ("circle", "zigzag", "cross")
SIDE = 280  # app_support.common.inputs.CANVAS_SIDE


def strokes(kind: str, rng: np.random.Generator, *, side: int = SIDE) -> list[list[tuple[int, int]]]:
    """The shape as mouse strokes: a list of polylines, each a list of (x, y) canvas pixels."""
    size = rng.uniform(0.3, 0.7) * side  # the shape's extent
    cx = rng.uniform(size / 2 + 10, side - size / 2 - 10)
    cy = rng.uniform(size / 2 + 10, side - size / 2 - 10)
    r = size / 2
    wobble = lambda: rng.normal(0, size * 0.02)  # noqa: E731  a hand is not a ruler
    if kind == "circle":
        start = rng.uniform(0, 2 * math.pi)
        angles = start + np.linspace(0, 2 * math.pi * rng.uniform(0.95, 1.08), 24)
        aspect = rng.uniform(0.75, 1.0)
        return [[(int(cx + r * math.cos(a) + wobble()), int(cy + aspect * r * math.sin(a) + wobble())) for a in angles]]
    if kind == "zigzag":
        teeth = int(rng.integers(3, 6))
        xs = np.linspace(cx - r, cx + r, teeth * 2 + 1)
        height = r * rng.uniform(0.35, 0.8)
        return [[(int(x + wobble()), int(cy + (height if i % 2 else -height) + wobble())) for i, x in enumerate(xs)]]
    if kind == "cross":
        tilt = rng.uniform(-0.3, 0.3)
        ends = [(math.pi / 4 + tilt, 5 * math.pi / 4 + tilt), (3 * math.pi / 4 + tilt, 7 * math.pi / 4 + tilt)]
        return [
            [
                (int(cx + r * math.cos(a) + wobble()), int(cy + r * math.sin(a) + wobble())),
                (int(cx + r * math.cos(b) + wobble()), int(cy + r * math.sin(b) + wobble())),
            ]
            for a, b in ends
        ]
    raise ValueError(f"unknown shape {kind!r}; one of {SHAPES}")


def draw(kind: str, rng: np.random.Generator, *, side: int = SIDE, thickness: int | None = None) -> np.ndarray:
    """The shape drawn white on black, uint8 (side, side), with a random brush of 8-30 px unless given."""
    import cv2

    picture = np.zeros((side, side), dtype=np.uint8)
    width = int(thickness or rng.integers(8, 31))
    for line in strokes(kind, rng, side=side):
        cv2.polylines(picture, [np.array(line, dtype=np.int32)], False, 255, width, lineType=cv2.LINE_AA)
    return picture
