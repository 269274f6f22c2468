"""Predictions for people: the top classes, and an honest 'not sure' when the picture looks unlike
anything the model was trained on, or when the model hesitates.

A softmax cannot say "this is not a digit": it always sums to 1, so a photo can get "8 at 99%".
Unfamiliar pictures are found with the model's own features instead (`Reference`): how far the
channel means of the last feature map are from every class, by Mahalanobis distance with one shared
covariance (Lee et al., 2018, "A Simple Unified Framework for Detecting Out-of-Distribution Samples
and Adversarial Attacks"), plus how weakly the logits respond, the energy -logsumexp(logits) (Liu et
al., 2020, "Energy-based Out-of-distribution Detection"), each measured against the training pictures.
Neither tells a drawing of a house or a letter from a digit (they are made of the same strokes): for
models of the digits 0-9, `cnnviz.digit_check` asks whether a picture is a digit at all.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cnnviz.errors import InvalidInput

if TYPE_CHECKING:  # annotations only: importing Keras costs seconds
    import keras

CONFIDENT = 0.6  # below this top probability the app says it is not sure
PERCENTILE = 99.5  # the share of training pictures (in percent) that count as familiar
DEFAULT_MODEL = Path(__file__).parent / "data" / "models" / "mnist_default.keras"
DEFAULT_DATASET = "mnist-bundled"

_HEADS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Prediction:
    top: list[tuple[str, float]]  # (class name, probability), best first
    sure: bool
    reason: str  # why not sure ('' when sure)
    unfamiliar: bool = False  # the picture looks unlike the training pictures
    indices: tuple[int, ...] = ()  # the class index of each entry of `top`

    @property
    def label(self) -> str:
        """The best class's name."""
        return self.top[0][0]


@dataclass(frozen=True)
class Scores:
    """How unfamiliar a batch of prepared pictures is, with the model's probabilities from the same pass."""

    distance: np.ndarray  # (N,) float64: Mahalanobis distance of the feature-map means to the nearest class
    energy: np.ndarray  # (N,) float64: -logsumexp(logits); higher = the model responds more weakly
    combined: np.ndarray  # (N,) float64: both, each in training standard deviations, summed
    probabilities: np.ndarray  # (N, classes) float32: the model's output
    digit: np.ndarray | None = None  # (N,) float32 in [0, 1]: cnnviz.digit_check's p(digit), or None


@dataclass(frozen=True)
class Reference:
    """What the model's features did on its training pictures, and the limit past which a picture
    counts as unfamiliar. Build it with `Reference.of(model, train_images)`.

    Two statistics, each read where the classifier reads: the channel means of the last feature map
    (for the shipped model, the 5x5x64 of the last pooling layer), compared with each class by
    Mahalanobis distance with one shared covariance, and the energy of the logits (the last Dense
    layer's input times its weights). Each is put in training standard deviations and the two are
    summed. Measured with bench/predict.py at the same 99.5th percentile, the sum flags 96% of the
    photos and 2% of the unseen digits; energy alone flagged 98% and 11% (29% of scikit-learn's
    blurry 8x8 digits), the distance alone 42% and under 1%.
    """

    layer: str  # the layer whose channel means are compared ('' when the model has no feature map)
    means: np.ndarray  # (classes, C) float64: mean of the channel means, per class
    precision: np.ndarray  # (C, C) float64: inverse of the shared within-class covariance, regularised
    distance_scale: tuple[float, float]  # (mean, std) of the training pictures' distances
    energy_scale: tuple[float, float]  # (mean, std) of the training pictures' energies
    limit: float  # combined score above which a picture is unfamiliar
    count: int  # training pictures the reference was made from
    digit_check: bool = False  # the classes are the digits 0-9: a picture must also pass cnnviz.digit_check

    @classmethod
    def of(
        cls,
        model: keras.Model,
        train_images: np.ndarray,
        *,
        labels: np.ndarray | None = None,
        percentile: float = PERCENTILE,
        max_images: int = 8_000,
        seed: int = 0,
        digit_check: bool = False,
    ) -> Reference:
        """Measure `model` on its training pictures, (N, H, W, C) uint8 as the model takes them.

        `labels` ((N,) int) are the true classes; without them the model's own answers are used
        (it gets nearly all of its training pictures right). The limit is the `percentile` of the
        training pictures' combined scores. At most `max_images` (a random subset) are used: the
        statistics settle long before that. `digit_check` (for a model of the digits 0-9, with
        one-channel inputs) also calls a picture unfamiliar when `cnnviz.digit_check` says it is not
        a digit at all.
        """
        images = np.asarray(train_images)
        if images.ndim != 4 or len(images) < 20:
            raise InvalidInput(
                f"A reference needs at least 20 training pictures as (N, H, W, C); got shape {images.shape}."
            )
        if len(images) > max_images:
            keep = np.random.default_rng(seed).choice(len(images), max_images, replace=False)
            images = images[keep]
            labels = None if labels is None else np.asarray(labels)[keep]
        pooled, logits, probabilities = _run_head(model, images)
        classes = probabilities.shape[1]
        labels = probabilities.argmax(axis=1) if labels is None else np.asarray(labels, dtype=np.int64)
        if labels.shape != (len(images),) or labels.min() < 0 or labels.max() >= classes:
            raise InvalidInput(
                f"Labels must be one class number (0 to {classes - 1}) per training picture; got shape "
                f"{labels.shape} with values {labels.min()} to {labels.max()}."
            )
        overall = pooled.mean(axis=0)
        means = np.stack([pooled[labels == c].mean(axis=0) if (labels == c).any() else overall for c in range(classes)])
        centred = pooled - means[labels]
        covariance = centred.T @ centred / len(pooled)
        # Channels that never fire (dead ReLUs) have zero variance: a small ridge keeps the inverse
        # finite without changing the directions the training pictures actually use.
        ridge = 1e-3 * float(np.trace(covariance)) / len(covariance) + 1e-9
        precision = np.linalg.inv(covariance + ridge * np.eye(len(covariance)))
        distance = _mahalanobis(pooled, means, precision)
        energy = _energy(logits)
        distance_scale = (float(distance.mean()), float(max(distance.std(), 1e-9)))
        energy_scale = (float(energy.mean()), float(max(energy.std(), 1e-9)))
        combined = _standard(distance, distance_scale) + _standard(energy, energy_scale)
        layer = _head(model)[3]
        limit = float(np.percentile(combined, percentile))
        if digit_check and (classes != 10 or images.shape[-1] != 1):
            raise InvalidInput(
                f"The digit check reads one-channel pictures of the digits 0-9; this model takes "
                f"{images.shape[-1]} channels and has {classes} classes."
            )
        return cls(layer, means, precision, distance_scale, energy_scale, limit, len(images), digit_check)

    def scores(self, model: keras.Model, prepared: np.ndarray) -> Scores:
        """Scores of a batch of prepared pictures, (N, H, W, C) as the model takes them."""
        if _head(model)[3] != self.layer:
            raise InvalidInput(
                f"This reference was measured on another model (its last feature map is {self.layer!r}); "
                "make one for this model with Reference.of."
            )
        pooled, logits, probabilities = _run_head(model, np.asarray(prepared))
        distance = _mahalanobis(pooled, self.means, self.precision)
        energy = _energy(logits)
        combined = _standard(distance, self.distance_scale) + _standard(energy, self.energy_scale)
        digit = None
        if self.digit_check:
            from cnnviz import digit_check

            digit = digit_check.digit_probability(np.asarray(prepared))
        return Scores(distance, energy, combined, probabilities, digit)

    def unfamiliar(self, scores: Scores) -> np.ndarray:
        """(N,) bool: past the limit, or (with the digit check) not a digit at all."""
        past = scores.combined > self.limit
        return past if scores.digit is None else past | (scores.digit < 0.5)

    def check(self, model: keras.Model, prepared: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One forward pass over (N, H, W, C) prepared pictures: (probabilities (N, classes) float32,
        unfamiliar (N,) bool)."""
        scores = self.scores(model, prepared)
        return scores.probabilities, self.unfamiliar(scores)


def _standard(values: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    return (values - scale[0]) / scale[1]


def _mahalanobis(points: np.ndarray, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """(N, D) points -> (N,) Mahalanobis distance to the nearest of the (classes, D) means."""
    best = np.full(len(points), np.inf)
    for mean in means:
        d = points - mean
        best = np.minimum(best, ((d @ precision) * d).sum(axis=1))
    return np.sqrt(np.maximum(best, 0.0))


def _energy(logits: np.ndarray) -> np.ndarray:
    """-logsumexp over classes, (N, classes) -> (N,)."""
    logits = np.asarray(logits, dtype=np.float64)
    top = logits.max(axis=1)
    return -(top + np.log(np.exp(logits - top[:, None]).sum(axis=1)))


def _head(model):
    """(sub-model from the input to [last feature map, last Dense's input, output], that Dense's
    kernel and bias, the feature map's layer name), built once per model.

    The logits are the last Dense's input times its weights plus its bias: the softmax that follows
    hides them, and the energy needs them. A model without a feature map (only Dense layers) is
    compared on the last Dense's input instead.
    """
    if model in _HEADS:
        return _HEADS[model]
    import keras

    from cnnviz import features

    last = model.layers[-1]
    if not isinstance(last, keras.layers.Dense) or len(model.outputs) != 1:
        raise InvalidInput(
            f"Telling unfamiliar pictures apart needs a model that ends in a Dense layer; this one ends in "
            f"{type(last).__name__} {last.name!r}."
        )
    hidden = features.layer_input(model, last)
    maps = features.map_layers(model)
    layer = maps[-1] if maps else ""
    feature_map = features.layer_output(model, model.get_layer(layer)) if maps else hidden
    submodel = keras.Model(model.inputs, [feature_map, hidden, model.outputs[0]])
    weights = [np.asarray(w, dtype=np.float64) for w in last.get_weights()]
    kernel, bias = weights[0], weights[1] if len(weights) > 1 else np.zeros(weights[0].shape[1])  # use_bias=False
    _HEADS[model] = (submodel, kernel, bias, layer)
    return _HEADS[model]


def _run_head(model, images: np.ndarray, *, batch: int = 500):
    """(feature-map channel means (N, C) float64, logits (N, classes) float64, probabilities (N, classes) float32)."""
    submodel, kernel, bias, _ = _head(model)
    pooled, logits, outputs = [], [], []
    for start in range(0, len(images), batch):
        feature_map, hidden, probabilities = submodel([np.asarray(images[start : start + batch])], training=False)
        feature_map = np.asarray(feature_map, dtype=np.float64)
        # (N, H, W, C) -> (N, C): the mean of each channel, as global average pooling would
        pooled.append(feature_map.reshape(len(feature_map), -1, feature_map.shape[-1]).mean(axis=1))
        logits.append(np.asarray(hidden, dtype=np.float64).reshape(len(feature_map), -1) @ kernel + bias)
        outputs.append(np.asarray(probabilities, dtype=np.float32))
    return np.concatenate(pooled), np.concatenate(logits), np.concatenate(outputs)


def class_probabilities(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """The model's output for a small batch, (N, classes) float32. A direct call, not `model.predict`:
    for one picture that is 7 ms instead of 54 (predict builds a dataset iterator and a compiled
    function for every new model), the same numbers."""
    return np.asarray(model(np.asarray(images), training=False), dtype=np.float32)


def known_classes(class_names, *, digit_like: bool = False) -> str:
    """What a model knows, in a few words: 'handwritten digits 0-9', 'cat, dog and horse', '1000 classes'."""
    names = [str(name) for name in class_names]
    if names == [str(d) for d in range(len(names))] and 2 <= len(names) <= 10:
        kind = "handwritten digits" if digit_like else "the classes"
        return f"{kind} {names[0]}-{names[-1]}"
    if len(names) <= 6:
        return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    return f"{len(names)} classes ({', '.join(names[:3])}, ...)"


def unfamiliar_reason(class_names, *, digit_like: bool = False) -> str:
    """What the app says when a picture looks like nothing the model was trained on."""
    return (
        f"This model only knows {known_classes(class_names, digit_like=digit_like)}; "
        "this picture does not look like any of them."
    )


def verdict(
    probabilities, class_names, *, k: int = 3, unfamiliar: bool = False, digit_like: bool = False
) -> Prediction:
    """Top-k classes of one probability vector, with a 'not sure' verdict and its reason.

    Not sure when `unfamiliar` (from `Reference.check`: the picture looks unlike the training
    pictures), or when the model hesitates (its top class below `CONFIDENT`). `digit_like` names
    digit classes as handwritten digits in the reason.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64).ravel()
    order = [int(i) for i in np.argsort(probabilities)[::-1][: max(1, k)]]
    top = [(str(class_names[i]) if i < len(class_names) else str(i), float(probabilities[i])) for i in order]
    if unfamiliar:
        reason = unfamiliar_reason(class_names, digit_like=digit_like)
        return Prediction(top, False, reason, unfamiliar=True, indices=tuple(order))
    if top[0][1] < CONFIDENT:
        runner = f", then {top[1][0]} at {top[1][1]:.0%}" if len(top) > 1 else ""
        reason = f"The model hesitates: {top[0][0]} at only {top[0][1]:.0%}{runner}."
        return Prediction(top, False, reason, indices=tuple(order))
    return Prediction(top, True, "", indices=tuple(order))


def classify_prepared(
    model: keras.Model,
    prepared: np.ndarray,
    *,
    class_names,
    digit_like: bool = False,
    reference: Reference | None = None,
    k: int = 3,
) -> Prediction:
    """`classify` for one picture already prepared for the model, (H, W, C) as `prepare_input` returns."""
    batch = np.asarray(prepared)[None]
    if reference is None:
        probabilities, unfamiliar = class_probabilities(model, batch), [False]
    else:
        probabilities, unfamiliar = reference.check(model, batch)
    return verdict(probabilities[0], class_names, k=k, unfamiliar=bool(unfamiliar[0]), digit_like=digit_like)


def classify(
    model: keras.Model,
    image: np.ndarray,
    *,
    class_names,
    digit_like: bool = False,
    reference: Reference | None = None,
    k: int = 3,
) -> Prediction:
    """The model's verdict on one picture as a person gives it.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) uint8, any size: prepared for the model by `prepare_input`.
    class_names : the model's classes, in output order.
    digit_like : the model learned MNIST-like digits: crop, invert and centre the ink first.
    reference : the training pictures' statistics (`Reference.of`); without it the model can only
        say when it hesitates, not when the picture is unlike anything it learned.
    k : how many classes to list.

    Raises
    ------
    InvalidInput
        When the picture cannot be prepared (a blank drawing, say).
    """
    prepared, _ = prepare_input(image, tuple(model.inputs[0].shape[1:]), digit_like=digit_like)
    return classify_prepared(model, prepared, class_names=class_names, digit_like=digit_like, reference=reference, k=k)


@lru_cache(maxsize=1)
def default_model():
    """(model, class names, Reference) of the shipped MNIST model, loaded once per process.

    The reference is measured on the training split of the bundled MNIST digits, the pictures the
    model learned from (its held-out test split stays unseen), with the digit check on.
    """
    import keras

    from cnnviz import datasets

    model = keras.models.load_model(DEFAULT_MODEL, compile=False)
    data = datasets.load(DEFAULT_DATASET)
    return model, data.class_names, Reference.of(model, data.x_train, labels=data.y_train, digit_check=True)


def prepare_input(image: np.ndarray, input_shape, *, digit_like: bool = False, centre: bool = True):
    """Make any uint8 image into what a model with `input_shape` (H, W, C) takes, and say how:
    returns (array (H, W, C) uint8, [(step title, picture), ...]).

    `digit_like` (a model trained on MNIST-like digits) inverts dark ink on paper, evens out the
    light, thickens thin strokes, and crops and centres the ink the way MNIST was made
    (`images.prepare_digit`); with `centre` False it keeps the whole picture, so a digit drawn
    off-centre stays off-centre. Otherwise the image is resized and converted to the model's channels.
    """
    from cnnviz import images

    height, width, channels = (int(n) for n in input_shape)
    image = np.asarray(image)
    if digit_like and channels == 1:
        digit, steps = images.prepare_digit(image, size=height, box=round(height * 20 / 28), centre=centre)
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
