"""What the pointing tests of the heatmap methods (tests/test_cam.py) and of occlusion
(tests/test_occlusion.py) share: pictures whose class evidence sits at a known place, and the small
network trained on them."""

from __future__ import annotations

import numpy as np

SIDE, BOX = 32, 7


def make_images(count: int, seed: int, *, classes: int = 2):
    """Noise with one object at a random place: a filled square (class 0) or an X (class 1); with
    `classes=3` every third picture is noise alone (class 2). Returns uint8 (count, SIDE, SIDE, 1), the
    labels and each object's (top, left)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 60, size=(count, SIDE, SIDE, 1)).astype(np.uint8)
    y = np.arange(count) % classes
    boxes = []
    for i in range(count):
        top, left = rng.integers(0, SIDE - BOX, size=2)
        if y[i] == 0:
            x[i, top : top + BOX, left : left + BOX, 0] = 255
        elif y[i] == 1:
            for k in range(BOX):
                x[i, top + k, left + k, 0] = x[i, top + k, left + BOX - 1 - k, 0] = 255
        boxes.append((top, left))
    return x, y, boxes


def small_network(classes: int):
    """Rescale -> Conv 8 'conv1' -> pool 'pool1' -> Conv 16 'conv2' -> GAP -> Dense softmax 'output',
    seeded and untrained (each test compiles and fits it its own way)."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIDE, SIDE, 1), name="image")
    h = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(h)
    h = keras.layers.MaxPooling2D(name="pool1")(h)
    h = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2")(h)
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    outputs = keras.layers.Dense(classes, activation="softmax", name="output")(h)
    return keras.Model(inputs, outputs)
