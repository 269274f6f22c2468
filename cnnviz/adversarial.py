"""Adversarial examples: pictures changed by a few grey levels per pixel that the model gets wrong.

- `fgsm`: the fast gradient sign method (Goodfellow, Shlens and Szegedy, 2015): one step of size
  epsilon along the sign of the loss's gradient, away from the class the model sees.
- `targeted_attack`: the basic iterative method aimed at a chosen class (Kurakin, Goodfellow and
  Bengio, 2016): small signed steps towards the target, each time clipped back into the epsilon ball.

Why a small change fools a network: the model is nearly linear in its input, so a change of epsilon in
every one of the 784 pixels, each in the direction that raises the loss, adds up to a large change
in the class scores although no pixel moved much. Epsilon is in pixel units (0..255) throughout.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np

from cnnviz.errors import InvalidInput

if TYPE_CHECKING:  # annotations only: importing Keras costs seconds
    import keras

_LOGITS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SIGNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> compiled gradient sign
_BATCH = 256  # pictures per gradient call in `flip_rate`


def _logits(model):
    """batch (N, H, W, C) -> class logits (N, classes), built once per model.

    The loss is taken on the logits, not on probabilities: for a confident model p(class) rounds to
    1.0 in float32 and the gradient of log p vanishes, so FGSM would not move at all.
    """
    import keras
    import tensorflow as tf

    from cnnviz.features import layer_input

    if model in _LOGITS:
        return _LOGITS[model]
    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    if isinstance(last, keras.layers.Dense) and activation == "softmax":
        before = keras.Model(model.inputs, layer_input(model, last))

        def function(batch):
            bias = last.bias if last.bias is not None else 0.0
            return tf.matmul(before([batch], training=False), last.kernel) + bias

    elif isinstance(last, keras.layers.Softmax) or activation == "softmax":
        before = keras.Model(model.inputs, layer_input(model, last))

        def function(batch):
            return before([batch], training=False)

    else:  # the model ends in logits already

        def function(batch):
            return model([batch], training=False)

    _LOGITS[model] = function
    return function


def _check_epsilon(epsilon) -> float:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.integer, np.floating)):
        raise InvalidInput(f"Epsilon must be a number of grey levels from 0 to 255; got {epsilon!r}.")
    if not np.isfinite(epsilon) or not 0 <= epsilon <= 255:
        raise InvalidInput(f"Epsilon must be a number of grey levels from 0 to 255; got {epsilon!r}.")
    return float(epsilon)


def _pixels(model, image) -> tuple[np.ndarray, np.ndarray]:
    """(the image as whole pixel values, float32 in its own shape; the model's batch (1, H, W, C))."""
    from cnnviz.features import as_batch

    array = np.asarray(image)
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise InvalidInput(f"The picture must hold numbers (pixel values 0..255); got {array.dtype}.")
    array = array.astype(np.float32)
    if not np.isfinite(array).all() or array.min(initial=0) < 0 or array.max(initial=0) > 255:
        raise InvalidInput("The picture's pixel values must be finite numbers from 0 to 255.")
    array = np.round(array)  # whole grey levels, as the uint8 result will have
    return array, as_batch(model, array)


def _class(index, classes: int) -> int:
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < classes:
        raise InvalidInput(f"Class {index!r} does not exist; the model has {classes} classes (0 to {classes - 1}).")
    return int(index)


def _within(adversarial: np.ndarray, original: np.ndarray, epsilon: float) -> np.ndarray:
    """Whole grey levels within epsilon of `original` and within 0..255, as uint8."""
    low = np.maximum(np.ceil(original - epsilon), 0)
    high = np.minimum(np.floor(original + epsilon), 255)
    return np.clip(np.round(adversarial), low, high).astype(np.uint8)


def _gradient_sign(model, batch: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """sign(d cross-entropy(classes) / d batch), (N, H, W, C) float32 in {-1, 0, 1}."""
    import tensorflow as tf

    if model not in _SIGNS:
        logits = _logits(model)

        # Compiled once per model (and batch shape): on the shipped model a targeted attack's 10 steps took
        # 456 ms eagerly and 26 ms compiled, one FGSM step 78 ms and 14 ms.
        @tf.function(reduce_retracing=True)
        def sign(x, labels):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits(x)))
            return tf.sign(tape.gradient(loss, x))

        _SIGNS[model] = sign
    x = tf.constant(np.asarray(batch, dtype=np.float32))
    return np.asarray(_SIGNS[model](x, tf.constant(np.asarray(classes), tf.int32)))


def predict_classes(model: keras.Model, batch: np.ndarray) -> np.ndarray:
    """The model's class for each picture of a batch (N, H, W, C), int64 (N,)."""
    return np.asarray(_logits(model)(np.asarray(batch, dtype=np.float32))).argmax(axis=-1)


def fgsm(model: keras.Model, image, *, epsilon: float, class_index: int | None = None) -> np.ndarray:
    """Fast gradient sign method (Goodfellow et al., 2015): uint8, the shape of `image`.

    Every pixel moves by epsilon grey levels in the direction that raises the model's loss for
    `class_index` (default: the class the model predicts, so the picture moves away from it), then
    is clipped to 0..255: `abs(result - image) <= epsilon` for every pixel.

    image : one input as the model takes it, (H, W, C) or (H, W) for one channel, values 0..255
        (uint8, or floats rounded to whole grey levels first).
    epsilon : the largest change of a pixel, in grey levels 0..255 (0.2 * 255 = 51 flips most digits).
    """
    epsilon = _check_epsilon(epsilon)
    original, batch = _pixels(model, image)
    logits = np.asarray(_logits(model)(batch))[0]
    index = int(logits.argmax()) if class_index is None else _class(class_index, logits.shape[-1])
    # Untargeted: step along the gradient of the loss, which lowers the score of `index`.
    moved = batch + epsilon * _gradient_sign(model, batch, np.array([index]))
    return _within(moved[0].reshape(original.shape), original, epsilon)


def targeted_attack(
    model: keras.Model, image, *, target: int, epsilon: float, steps: int = 10, step_size: float | None = None
) -> np.ndarray:
    """Basic iterative method aimed at `target` (Kurakin et al., 2016): uint8, the shape of `image`.

    `steps` steps of `step_size` grey levels (default 2.5 * epsilon / steps, Madry et al., 2018's
    choice: enough to reach any corner of the ball) down the gradient of the loss for `target`, each
    clipped back to within epsilon of the picture and to 0..255, so `abs(result - image) <= epsilon`.
    """
    epsilon = _check_epsilon(epsilon)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= 100:
        raise InvalidInput(f"Steps must be a whole number from 1 to 100; got {steps!r}.")
    step_size = 2.5 * epsilon / steps if step_size is None else _check_epsilon(step_size)
    original, batch = _pixels(model, image)
    classes = int(np.asarray(_logits(model)(batch)).shape[-1])
    target = _class(target, classes)
    low, high = np.maximum(batch - epsilon, 0), np.minimum(batch + epsilon, 255)
    moved = batch.copy()
    for _ in range(steps):
        # Targeted: step against the gradient of the target's loss, which raises its score.
        moved = np.clip(moved - step_size * _gradient_sign(model, moved, np.array([target])), low, high)
    return _within(moved[0].reshape(original.shape), original, epsilon)


def perturbation(image, adversarial) -> np.ndarray:
    """adversarial - image, float32 in grey levels (-255..255), the shape of `image`: what the attack
    added (too faint to see as it is: show it amplified, e.g. `display.to_signed`)."""
    image, adversarial = np.asarray(image, dtype=np.float32), np.asarray(adversarial, dtype=np.float32)
    if image.shape != adversarial.shape:
        raise InvalidInput(f"The two pictures differ in shape: {image.shape} and {adversarial.shape}.")
    return adversarial - image


def flip_rate(model: keras.Model, images, labels, *, epsilon: float) -> tuple[float, int]:
    """(the fraction of correctly classified `images` whose class FGSM changes at `epsilon`, how many
    were correctly classified). images: (N, H, W, C) uint8 0..255; labels: (N,) ints. Batched: one
    gradient call per 256 pictures."""
    epsilon = _check_epsilon(epsilon)
    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels).astype(np.int64)
    if images.ndim != 4 or len(images) != len(labels) or not len(images):
        raise InvalidInput(f"Give (N, H, W, C) pictures and N labels; got {images.shape} and {labels.shape}.")
    correct = flipped = 0
    for start in range(0, len(images), _BATCH):
        batch, truth = images[start : start + _BATCH], labels[start : start + _BATCH]
        right = predict_classes(model, batch) == truth
        batch, truth = batch[right], truth[right]
        if not len(batch):
            continue
        moved = _within(batch + epsilon * _gradient_sign(model, batch, truth), np.round(batch), epsilon)
        flipped += int((predict_classes(model, moved) != truth).sum())
        correct += len(batch)
    return (flipped / correct if correct else 0.0), correct
