"""Is it a digit at all? A small CNN that tells a digit prepared as MNIST's were from a prepared
drawing of something else (a letter, a face, a star, a scribble) or a photo.

A digit classifier cannot say "not a digit": its softmax sums to 1, and a smiley drawn like a 0 is
"0, 100% sure". The features it learned do not help much either: a drawing of a house or of a
letter A is made of the same strokes as the digits, so the feature-space check of
`cnnviz.predict.Reference` (built for photos) passes most of them. This check is trained on
examples of both sides instead, which is outlier exposure (Hendrycks, Mazeika and Dietterich, 2019,
"Deep Anomaly Detection with Outlier Exposure"): digits from MNIST's training split and drawn by code,
against non-digits drawn by code (`cnnviz.sketches`), as eleven classes (the ten digits, and "not a
digit": knowing each digit's shape makes "none of them" easier to tell). Its limit is set so that 1%
of held-back tuning digits are refused, and is part of the model (the eleventh class's bias), so
'digit' means p(not a digit) < 0.5.

One rule comes before the network: ink inside a closed loop (the eyes and mouth of a face in its
outline) is not a digit. No digit is written that way: 1 of MNIST's 10,000 test digits has it, while
the network, which reads shapes, takes a smiley for a 0 (`ink_inside_a_loop`).

Rebuild the shipped model (about 15 minutes on 2 cores): python -m cnnviz.digit_check
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # annotations only: importing Keras costs seconds
    import keras

MODEL_PATH = Path(__file__).parent / "data" / "models" / "digit_check.keras"
SIZE = 28  # it reads digits prepared as MNIST's: 28x28, white ink on black, the ink in a 20x20 box
REFUSED_DIGITS = 0.01  # the share of held-back tuning digits the limit refuses
CANVAS = (
    140  # tuning drawings are made at half the app's canvas (a quarter of the work; the same 28x28 after preparation)
)
SEED = 0
NOT_A_DIGIT = 10  # the eleventh class

# How many tuning pictures of each kind (kind -> count); a quarter of the drawn ones photographed on paper.
DIGITS = {"mnist as given": 8_000, "mnist": 5_000, "hershey digit": 1_500}
NOT_DIGITS = {
    "letter": 2_500,
    "letters": 1_000,
    "polygon": 1_000,
    "arrow": 600,
    "spiral": 600,
    "hatching": 500,
    "wave": 600,
    "scribble": 1_500,
    "dead leaves": 1_000,
    "pink noise": 800,
    "objects": 2_000,
}


def tuning_set(*, seed: int = SEED, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The tuning pictures, prepared as the app prepares a digit: (x (N, 28, 28, 1) uint8, y (N,) uint8,
    the digit 0-9, or NOT_A_DIGIT). `scale` multiplies every count (a small set for tests)."""
    from cnnviz import datasets, images, sketches
    from cnnviz.errors import InvalidInput

    rng = np.random.default_rng(seed)
    data = datasets.load("mnist-bundled")  # the training split only: the test split stays unseen
    mnist, mnist_labels = data.x_train[..., 0], data.y_train
    pictures, labels = [], []
    for kind, count in [*DIGITS.items(), *NOT_DIGITS.items()]:
        for n in range(max(1, round(count * scale))):
            label = NOT_A_DIGIT
            if kind == "mnist as given":
                picture, label = mnist[n % len(mnist)], int(mnist_labels[n % len(mnist)])
            elif kind == "dead leaves":
                picture = sketches.dead_leaves(rng, side=CANVAS)
            elif kind == "pink noise":
                picture = sketches.pink_noise(rng, side=CANVAS)
            elif kind == "objects":
                picture = sketches.objects(rng, side=CANVAS)
            else:
                if kind == "mnist":
                    chosen = rng.integers(len(mnist))
                    source, label = mnist[chosen], int(mnist_labels[chosen])
                elif kind == "hershey digit":
                    source = label = int(rng.integers(1, 10))  # Hershey's 0 is slashed: MNIST has the zeros
                else:
                    source = None
                photographed = rng.random() < 0.25
                brush = sketches.brush_width(rng, side=CANVAS)
                brush = max(brush, 2) if photographed else brush  # a hairline does not survive a phone's blur
                picture = sketches.drawing(kind, rng, source=source, brush=brush, side=CANVAS)
                if photographed:
                    picture = sketches.photograph(picture, rng)
            try:
                prepared, _ = images.prepare_digit(picture, size=SIZE)
            except InvalidInput:  # nothing left to see (a faint line lost in the noise): the app says so itself
                continue
            pictures.append(prepared)
            labels.append(label)
    return np.stack(pictures)[..., None], np.asarray(labels, dtype=np.uint8)


def build(*, seed: int = SEED) -> keras.Model:
    """28x28x1 uint8 -> the probabilities of the digits 0-9 and of NOT_A_DIGIT: three convolutions,
    a small dense layer."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((SIZE, SIZE, 1), name="image")
    x = layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv3")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", name="dense")(x)
    x = layers.Dropout(0.3, name="dropout")(x)
    outputs = layers.Dense(NOT_A_DIGIT + 1, activation="softmax", name="digit")(x)
    return keras.Model(inputs, outputs, name="digit_check")


def train(x: np.ndarray, y: np.ndarray, *, epochs: int = 15, seed: int = SEED) -> tuple[keras.Model, dict]:
    """Fit `build()` on 90% of (x, y) (prepared pictures and their class, as `tuning_set` makes them);
    set the limit on the other 10% so that REFUSED_DIGITS of its digits are refused, and move it into
    the eleventh class's bias. Returns the model and what was measured on the 10%."""
    import keras
    import tensorflow as tf

    x = centred(x)  # as digit_probability reads them
    order = np.random.default_rng(seed).permutation(len(x))
    held, fit = order[: len(x) // 10], order[len(x) // 10 :]
    model = build(seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # Shifted copies: a digit is a digit a pixel or two off the middle too (the app centres by mass,
    # which a stroke more or less moves).
    augment = keras.Sequential([keras.layers.RandomTranslation(0.06, 0.06, fill_mode="constant", seed=seed)])
    dataset = (
        tf.data.Dataset.from_tensor_slices((x[fit], y[fit].astype(np.int32)))
        .shuffle(len(fit), seed=seed)
        .batch(128)
        .map(lambda images, labels: (augment(images, training=True), labels))
    )
    model.fit(dataset, epochs=epochs, verbose=2)
    digits = y[held] != NOT_A_DIGIT
    limit = float(np.quantile(_not_a_digit_odds(model, x[held])[digits], 1 - REFUSED_DIGITS))
    weights = model.get_layer("digit").get_weights()
    weights[1][NOT_A_DIGIT] -= limit  # now p(not a digit) >= 0.5 exactly past the limit
    model.get_layer("digit").set_weights(weights)
    refused = _not_a_digit_odds(model, x[held]) >= 0
    measured = {
        "held back": len(held),
        "digits refused": float(refused[digits].mean()),
        "non-digits refused": float(refused[~digits].mean()),
        "limit (log-odds)": limit,
    }
    return model, measured


def _not_a_digit_odds(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """(N,) float64: log p(not a digit) - log p(a digit)."""
    probabilities = np.asarray(model.predict(x, batch_size=512, verbose=0), dtype=np.float64)
    probabilities = np.clip(probabilities, 1e-12, 1.0)
    return np.log(probabilities[:, NOT_A_DIGIT]) - np.log(np.clip(probabilities[:, :NOT_A_DIGIT].sum(axis=1), 1e-12, 1))


@lru_cache(maxsize=1)
def load() -> keras.Model:
    """The shipped digit check, loaded once per process."""
    import keras

    return keras.models.load_model(MODEL_PATH, compile=False)


def centred(prepared: np.ndarray) -> np.ndarray:
    """(N, H, W, 1) uint8 pictures as a digit model takes them -> (N, 28, 28, 1), each cropped to its
    ink and centred as MNIST's were (again: a no-op for what `prepare_input` centred already). Whether
    a picture is a digit is a question of its shape, not of where it was drawn, so the check reads it
    centred even when the model was given the digit where it was drawn (`prepare_input(centre=False)`).
    A picture with no ink gets zeros."""
    from cnnviz import images
    from cnnviz.errors import InvalidInput

    result = np.zeros((len(prepared), SIZE, SIZE, 1), np.uint8)
    for n, picture in enumerate(np.asarray(prepared)):
        try:
            result[n, ..., 0] = images.prepare_digit(picture[..., 0], size=SIZE)[0]
        except InvalidInput:
            continue
    return result


def ink_inside_a_loop(picture: np.ndarray, *, threshold: int = 100) -> bool:
    """Whether a prepared picture, (H, W) uint8 white ink on black, has ink inside a closed loop of
    other ink (a face's eyes inside its outline): stroke, hole, and ink again in the hole.

    >>> ring = np.zeros((28, 28), np.uint8)
    >>> ring[4:24, 4:24] = 255; ring[7:21, 7:21] = 0
    >>> ink_inside_a_loop(ring)  # a 0: a loop with nothing in it
    False
    >>> ring[12:16, 12:16] = 255
    >>> ink_inside_a_loop(ring)  # a dot in the 0
    True
    """
    import cv2

    ink = (np.asarray(picture) > threshold).astype(np.uint8)
    _, hierarchy = cv2.findContours(ink, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return False
    parents = hierarchy[0][:, 3]
    # A contour two levels down (outline -> hole -> outline inside the hole) is ink inside a loop.
    return bool(any(parent != -1 and parents[parent] != -1 for parent in parents))


def digit_probability(prepared: np.ndarray, *, model: keras.Model | None = None) -> np.ndarray:
    """(N,) float32 in [0, 1]: how much each prepared picture, (N, H, W, 1) uint8 as `prepare_input`
    makes it for a digit model (any size), looks like a digit; below 0.5 it is refused, and so is a
    picture with no ink, or with ink inside a closed loop (`ink_inside_a_loop`)."""
    model = load() if model is None else model
    batch = centred(prepared)
    probability = 1.0 - np.asarray(model(batch, training=False), dtype=np.float32)[:, NOT_A_DIGIT]
    # Read as given (centring again thickens thin strokes once more, which can join a face's eyes to it).
    looped = np.array([ink_inside_a_loop(picture[..., 0]) for picture in np.asarray(prepared)], dtype=bool)
    possible = batch.reshape(len(batch), -1).any(axis=1) & ~looped
    return np.where(possible, probability, 0.0).astype(np.float32)


def is_digit(prepared: np.ndarray, *, model: keras.Model | None = None) -> np.ndarray:
    """(N,) bool: each prepared picture, (N, H, W, 1) uint8, passes as a digit."""
    return digit_probability(prepared, model=model) >= 0.5


def main() -> None:
    import time

    start = time.perf_counter()
    x, y = tuning_set()
    print(f"{len(x)} tuning pictures ({int((y != NOT_A_DIGIT).sum())} digits) in {time.perf_counter() - start:.0f} s")
    model, measured = train(x, y)
    for name, value in measured.items():
        print(f"{name}: {value:.4g}" if isinstance(value, float) else f"{name}: {value}")
    shipped = build()  # the same network without the optimizer's state: a third of the file
    shipped.set_weights(model.get_weights())
    shipped.save(MODEL_PATH)
    print(f"saved {MODEL_PATH} ({MODEL_PATH.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
