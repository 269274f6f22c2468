"""Feature visualisation: what a channel responds to, asked two ways.

- `maximize_activation` / `maximize_layer`: the input that excites a channel most, found by gradient
  ascent from faint noise (Erhan, Bengio, Courville and Vincent, 2009). Plain ascent finds high-frequency
  noise that no picture contains; the regularisers of Olah, Mordvintsev and Schubert ("Feature
  Visualization", Distill, 2017) and Yosinski et al. (2015) keep it readable: random jitter (the pattern
  must work wherever it lands), a light blur every few steps (a penalty on high frequencies) and decay
  towards grey (no pixel grows without need).
- `top_examples`: the real pictures that excite the channel most, each with the patch its strongest unit
  sees, cut by the receptive field (Zeiler and Fergus, 2014).

A whole layer is optimised as ONE batch, image i maximising channel i, in one compiled step.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cnnviz.errors import InvalidInput

if TYPE_CHECKING:  # annotations only: importing Keras costs seconds
    import keras

# What one grid may cost on a classroom server: channels x input values (H * W * C). A 28x28 digit
# model's whole layer is far inside it (64 channels: 50,176); an ImageNet picture (150,528 values)
# allows 11 channels at once, so ImageNet networks get one channel at a time.
GRID_LIMIT = 64 * 96 * 96 * 3
MAX_STEPS = 1024
GREY = 128.0
_STEPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {layer: compiled ascent step}


@dataclass(frozen=True)
class Regularisers:
    """How the ascent keeps its picture readable (Olah et al., 2017), scaled to the input's side."""

    learning_rate: float = 4.0  # grey levels per step for a gradient of standard deviation 1
    jitter: int = 2  # the largest random shift, in pixels, before each step
    blur_every: int = 4  # steps between light Gaussian blurs
    blur_sigma: float = 0.6  # pixels
    decay: float = 0.01  # each step pulls the picture this fraction of the way back to grey

    @staticmethod
    def for_side(side: int) -> Regularisers:
        """Jitter and blur grow with the picture: 2 px and sigma 0.6 on 28x28, 16 px and 1.5 on 224x224."""
        return Regularisers(jitter=max(1, side // 14), blur_sigma=0.5 + side / 224)


def _check_layer_output(model, layer: str):
    from cnnviz.receptive import _layer_tensor

    tensor, _ = _layer_tensor(model, layer) if "/" in layer else (_output(model, layer), None)
    if len(tensor.shape) not in (2, 4):
        raise InvalidInput(f"Layer {layer!r} gives {tuple(tensor.shape[1:])}: neither a feature map nor units.")
    return tensor


def _output(model, layer: str):
    from cnnviz.features import layer_output

    if not isinstance(layer, str):
        raise InvalidInput(f"A layer is given by its name (a string); got {type(layer).__name__}.")
    try:
        return layer_output(model, model.get_layer(layer))
    except ValueError:
        raise InvalidInput(f"The model has no layer named {layer!r}.") from None


def _activation(model, layer: str):
    """batch -> `layer`'s activation: a feature map layer (receptive's, also 'base/layer') or dense units."""
    import keras

    from cnnviz.receptive import _FUNCTIONS, _activation_function

    tensor = _check_layer_output(model, layer)
    if len(tensor.shape) == 4:
        return _activation_function(model, layer), int(tensor.shape[-1])
    cache = _FUNCTIONS.setdefault(model, {})
    if layer not in cache:
        submodel = keras.Model(model.inputs, tensor)
        cache[layer] = lambda batch: submodel([batch], training=False)
    return cache[layer], int(tensor.shape[-1])


def _objective(model, layer: str):
    """What the ascent climbs: `layer`'s activation, leaky where the layer ends in its own nonlinearity
    (Conv2D(..., activation="relu")). A ReLU unit that starts below zero has no gradient, and its picture
    would stay grey: with the plain ReLU 37 of the shipped model's 64 conv2 channels did. So the climb
    adds 5% of the value before the ReLU (as a leaky ReLU would), which wakes such a unit up; once it
    answers, the ReLU's own gradient leads. (Climbing the value before the ReLU alone, Olah et al.'s
    "pre_relu", fails on a first layer: the mean of a linear map of the input has a flat gradient.)"""
    import keras

    from cnnviz.features import layer_input

    activation, channels = _activation(model, layer)
    target = None if "/" in layer else model.get_layer(layer)
    function = getattr(target, "activation", None)
    if target is None or getattr(function, "__name__", "linear") == "linear" or not hasattr(target, "kernel"):
        return activation, channels
    source = layer_input(model, target)
    before = keras.Model(model.inputs, source)
    config = {**target.get_config(), "activation": "linear", "name": f"{target.name}_before_activation"}
    twin = type(target).from_config(config)  # the same layer and weights, without its activation
    twin.build(tuple(source.shape))
    twin.set_weights(target.get_weights())

    def leaky(batch):
        value = twin(before([batch], training=False))
        return function(value) + 0.05 * value

    return leaky, channels


def _gaussian(sigma: float) -> np.ndarray:
    radius = max(1, math.ceil(2 * sigma))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    g = np.exp(-(x**2) / (2 * sigma**2))
    g /= g.sum()
    return np.outer(g, g)


def _ascent_step(model, layer: str):
    """The compiled step (x, channels, shift, blur) -> x, built once per model and layer.

    Compiled with tf.function: a whole conv2 grid of the shipped model (64 pictures, 128 steps) took
    18.6 s eagerly and 3.2-4.3 s compiled on the (busy, shared) 2-core development machine."""
    import tensorflow as tf

    cache = _STEPS.setdefault(model, {})
    if layer in cache:
        return cache[layer]
    activation, channels = _objective(model, layer)
    depth = int(model.inputs[0].shape[-1])
    side = int(model.inputs[0].shape[1])
    settings = Regularisers.for_side(side)
    kernel = _gaussian(settings.blur_sigma)
    kernel = tf.constant(np.repeat(kernel[:, :, None, None], depth, axis=2))  # (k, k, C, 1) depthwise

    @tf.function(reduce_retracing=True)
    def step(x, chosen, shift, blur):
        with tf.GradientTape() as tape:
            tape.watch(x)
            moved = tf.roll(x, shift=shift, axis=[1, 2])  # jitter: the pattern must work wherever it lands
            act = activation(moved)  # (K, H', W', C') or (K, C')
            mask = tf.one_hot(chosen, channels, dtype=act.dtype)  # image i maximises its own channel
            if len(act.shape) == 4:
                score = tf.reduce_sum(tf.reduce_mean(act, axis=[1, 2]) * mask)
            else:
                score = tf.reduce_sum(act * mask)
        gradient = tape.gradient(score, x)
        # Normalised per picture, so every channel climbs at the same pace whatever its scale.
        spread = tf.math.reduce_std(gradient, axis=[1, 2, 3], keepdims=True)
        x = x + settings.learning_rate * gradient / (spread + 1e-8)
        x = GREY + (x - GREY) * (1 - settings.decay)
        if blur:
            padded = tf.pad(x, [[0, 0], [kernel.shape[0] // 2] * 2, [kernel.shape[0] // 2] * 2, [0, 0]], "REFLECT")
            x = tf.nn.depthwise_conv2d(padded, kernel, strides=[1, 1, 1, 1], padding="VALID")
        return tf.clip_by_value(x, 0.0, 255.0)

    cache[layer] = (step, channels, settings)
    return cache[layer]


def maximize_layer(
    model: keras.Model,
    layer: str,
    *,
    channels=None,
    steps: int = 128,
    seed: int = 0,
    on_progress=None,
) -> np.ndarray:
    """float32 (K, H, W, C) in 0..255, the model's input shape: for each of `channels` (default: every
    channel of `layer`) the input that excites it most, all optimised together as one batch.

    on_progress : called as on_progress(done, total) every 8 steps and at the end.
    Raises InvalidInput beyond `GRID_LIMIT` (channels x input values) or `MAX_STEPS`.
    """
    import tensorflow as tf

    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= MAX_STEPS:
        raise InvalidInput(f"Steps must be a whole number from 1 to {MAX_STEPS}; got {steps!r}.")
    step, count, settings = _ascent_step(model, layer)
    chosen = list(range(count)) if channels is None else [int(c) for c in np.atleast_1d(channels)]
    bad = [c for c in chosen if not 0 <= c < count]
    if bad or not chosen:
        raise InvalidInput(f"Layer {layer!r} has channels 0 to {count - 1}; got {bad or 'none'}.")
    shape = tuple(int(n) for n in model.inputs[0].shape[1:])
    values = int(np.prod(shape))
    if len(chosen) * values > GRID_LIMIT:
        raise InvalidInput(
            f"{len(chosen)} channels of {shape[0]}x{shape[1]}x{shape[2]} pictures are too many at once on this "
            f"server: at most {max(1, GRID_LIMIT // values)} at this picture size."
        )
    # Each channel's start depends on the seed and the channel only, so a grid's picture for channel c
    # is the one `maximize_activation` finds for c alone; the jitter is shared by the batch.
    noise = [np.random.default_rng([seed, c]).normal(0, 16, shape) for c in chosen]
    x = tf.constant((GREY + np.stack(noise)).astype(np.float32))  # faint noise around grey
    rng = np.random.default_rng(seed)
    targets = tf.constant(chosen, tf.int32)
    for i in range(steps):
        shift = tf.constant(rng.integers(-settings.jitter, settings.jitter + 1, size=2), tf.int32)
        x = step(x, targets, shift, tf.constant((i + 1) % settings.blur_every == 0))
        if on_progress is not None and ((i + 1) % 8 == 0 or i + 1 == steps):
            on_progress(i + 1, steps)
    return np.asarray(x, dtype=np.float32)


def maximize_activation(model: keras.Model, layer: str, channel: int, *, steps: int = 128, seed: int = 0) -> np.ndarray:
    """float32 (H, W, C) in 0..255, the model's input shape: the input that excites `channel` of
    `layer` most (its mean over the map; a unit of a dense layer), by regularised gradient ascent from
    faint seeded noise (see the module's note). `layer` is a layer name (or 'base/layer')."""
    if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)):
        raise InvalidInput(f"The channel must be a whole number; got {channel!r}.")
    return maximize_layer(model, layer, channels=[channel], steps=steps, seed=seed)[0]


@dataclass(frozen=True)
class TopExamples:
    """The pictures that excite a channel most; unpacks as (indices, patches)."""

    indices: np.ndarray  # (k,) int64 into the images given, strongest first
    patches: list  # k arrays (h, w, C), each the window its strongest unit sees (clipped at the edges)
    windows: list  # k (top, left, bottom, right) half-open windows in the picture
    scores: np.ndarray  # (k,) float32: the strongest unit's activation in each picture

    def __iter__(self):
        return iter((self.indices, self.patches))


def top_examples(model: keras.Model, images, layer: str, channel: int, *, k: int = 9) -> TopExamples:
    """The `k` pictures of `images` ((N, H, W, C) as the model takes them, or (N, H, W)) whose strongest
    unit of `channel` in `layer` is strongest, with the patch that unit sees (Zeiler and Fergus, 2014).
    For a dense layer the patch is the whole picture. Unpacks as (indices, patches)."""
    from cnnviz.receptive import receptive_window

    activation, count = _activation(model, layer)
    if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)) or not 0 <= channel < count:
        raise InvalidInput(f"The channel must be a whole number from 0 to {count - 1} on {layer!r}; got {channel!r}.")
    batch = np.asarray(images)
    expected = tuple(int(n) for n in model.inputs[0].shape[1:])
    if batch.ndim == len(expected) and expected[-1] == 1:
        batch = batch[..., None]
    if batch.shape[1:] != expected or not len(batch):
        raise InvalidInput(f"The model takes pictures of shape {expected}; got a batch of shape {batch.shape}.")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidInput(f"k must be a whole number of pictures, at least 1; got {k!r}.")
    maps = []
    chunk = max(1, min(256, (1 << 21) // int(np.prod(expected))))  # 256 digits or 13 ImageNet pictures a call
    for start in range(0, len(batch), chunk):
        part = np.asarray(activation(batch[start : start + chunk].astype(np.float32)))[..., channel]
        maps.append(part)  # (n, H', W') or (n,)
    maps = np.concatenate(maps)
    spatial, width = maps.ndim == 3, (maps.shape[2] if maps.ndim == 3 else 1)
    maps = maps.reshape(len(maps), -1)
    strongest = maps.max(axis=1)
    order = np.argsort(-strongest, kind="stable")[: min(k, len(batch))]
    patches, windows = [], []
    for i in order:
        if spatial:
            row, col = divmod(int(maps[i].argmax()), width)
            window = receptive_window(model, layer, row, col)
        else:
            window = (0, 0, expected[0], expected[1])
        top, left, bottom, right = window
        patches.append(batch[i, top:bottom, left:right].copy())
        windows.append(window)
    return TopExamples(order.astype(np.int64), patches, windows, strongest[order].astype(np.float32))
