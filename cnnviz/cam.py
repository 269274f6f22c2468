"""Class-activation maps: which part of the image made the model decide.

One base class does the plumbing (find the layer, run the model, resize and normalise the map);
each method overrides one hook, how to weight the layer's channels:

- Grad-CAM: the mean gradient of the class score per channel (Selvaraju et al., 2017).
- Grad-CAM++: gradients weighted to favour pixels that raise the score (Chattopadhay et al., 2018).
- Score-CAM: each channel's own effect on the score when it masks the input (Wang et al., 2020).

Plus `saliency`, the gradient of the class score with respect to the input pixels (Simonyan et al., 2014).
Computation returns numpy; drawing lives in `cnnviz.display` (`overlay`, `heat_colorbar`).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np

from cnnviz.errors import InvalidInput
from cnnviz.features import as_batch, has_feature_map, layer_input, layer_node, layer_output

if TYPE_CHECKING:  # annotations only: importing Keras costs seconds
    import keras

_GRAPHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LAYERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> its `_map_layers`
EPS = 1e-8


def _map_layers(model) -> list[tuple[str, object, tuple]]:
    """(name, layer, (H, W, C)) of every layer with a feature map, in order (see `conv_layers`)."""
    import keras

    if model in _LAYERS:
        return _LAYERS[model]
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += [
                (f"{layer.name}/{name}", inner, shape) for name, inner, shape in _map_layers(layer) if "/" not in name
            ]
        elif has_feature_map(model, layer):
            found.append((layer.name, layer, tuple(layer_output(model, layer).shape[1:])))
    _LAYERS[model] = found
    return found


def conv_layers(model: keras.Model) -> list[str]:
    """Every layer with a 4-D (feature map) output, in order: where a CAM can look.

    A nested model (a pretrained base in transfer learning) is opened: its layers appear as
    'base/layer'. Preprocessing layers (rescaling, augmentation) are left out: they pass no
    gradient, and a map of the input itself says nothing about the model.
    """
    return [name for name, _, _ in _map_layers(model)]


def map_shape(model: keras.Model, layer: str) -> tuple[int, int, int]:
    """(H, W, C) of the feature map of `layer`, named as `conv_layers` names it."""
    for name, _, shape in _map_layers(model):
        if name == layer:
            return shape
    raise InvalidInput(f"The model has no layer with a feature map named {layer!r}.")


def last_conv_layer(model: keras.Model) -> str:
    """Where CAMs look by default: the output of the last convolution, also inside a nested base model.

    That is the last convolution layer, followed through the layers after it that keep its map
    (batch norm, activation, residual add: MobileNetV2's Conv_1 -> Conv_1_bn -> out_relu), as the
    Grad-CAM paper and the keras.io example take it (Xception's 'block14_sepconv2_act'). Not a
    pooling layer after it: on the shipped MNIST model that would be 5x5 instead of conv2's 11x11,
    a coarser map of the same evidence. A model without convolutions gets its last feature map.
    """
    import keras

    found = _map_layers(model)
    if not found:
        raise InvalidInput("This model has no layer with a feature map (H, W, C) output, so no class-activation map.")
    kinds = (keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D)
    convolutions = [i for i, (_, layer, _) in enumerate(found) if isinstance(layer, kinds)]
    if not convolutions:
        return found[-1][0]
    i = convolutions[-1]
    while i + 1 < len(found) and found[i + 1][2] == found[i][2]:
        i += 1
    return found[i][0]


def _get(model, name: str):
    try:
        return model.get_layer(name)
    except ValueError:
        raise InvalidInput(f"The model has no layer named {name!r}.") from None


class _Chain:
    """model input -> [activation of a layer inside a nested model, class scores], as three models:
    the outer model up to the nested one, the nested one tapped at the layer, and the rest."""

    def __init__(self, before, inside, after):
        self.before, self.inside, self.after = before, inside, after

    def __call__(self, inputs, training=False):
        x = inputs if self.before is None else [self.before(inputs, training=training)]
        activation, out = self.inside(x, training=training)
        return activation, (out if self.after is None else self.after([out], training=training))


def _graph(model, layer_name: str):
    """(model input -> [layer activation, class scores]), built once per model and layer.

    Scores are the logits when the model ends in a softmax Dense layer: gradients of a saturated
    probability vanish, those of the logit do not. 'base/layer' names a layer inside a nested model.
    """
    import keras

    cache = _GRAPHS.setdefault(model, {})
    if layer_name in cache:
        return cache[layer_name]
    last = model.layers[-1]
    softmax = isinstance(last, keras.layers.Dense) and getattr(last.activation, "__name__", "") == "softmax"
    scores = layer_input(model, last) if softmax else model.outputs[0]
    head = last if softmax else None
    outer, _, inner = layer_name.partition("/")
    if not inner:
        target = _get(model, layer_name)
        activation = layer_output(model, target)
        if len(activation.shape) != 4:
            raise InvalidInput(f"Layer {layer_name!r} gives {tuple(activation.shape[1:])}, not a feature map.")
        cache[layer_name] = (keras.Model(model.inputs, [activation, scores]), head)
        return cache[layer_name]
    base = _get(model, outer)
    if not isinstance(base, keras.Model) or "/" in inner:
        raise InvalidInput(f"{layer_name!r}: only layers one nested model deep can be named 'model/layer'.")
    target = _get(base, inner)
    if len(target.output.shape) != 4:
        raise InvalidInput(f"Layer {layer_name!r} gives {tuple(target.output.shape[1:])}, not a feature map.")
    node = layer_node(model, base)
    if node is None or len(node.input_tensors) != 1:
        raise InvalidInput(f"The nested model {outer!r} must be called once, on one input.")
    given, made = node.input_tensors[0], node.output_tensors[0]
    before = None if given is model.inputs[0] else keras.Model(model.inputs, given)
    after = None if made is scores else keras.Model([made], scores)
    inside = keras.Model(base.inputs, [target.output, base.outputs[0]])
    cache[layer_name] = (_Chain(before, inside, after), head)
    return cache[layer_name]


def _scores(head, features):
    import tensorflow as tf

    if head is None:
        return features
    kernel, bias = head.kernel, head.bias
    return tf.matmul(features, kernel) + (bias if bias is not None else 0.0)


class BaseCAM:
    """Plumbing shared by every CAM method; subclasses override `channel_weights`."""

    name = "cam"  # what a learner reads
    uses_layer = True  # the map is a layer's: the caption names it

    def __init__(self, model, layer: str | None = None):
        self.model = model
        self.layer = layer or last_conv_layer(model)

    def channel_weights(self, activations, gradients, batch, class_index) -> np.ndarray:
        """(C,) weights for the (H', W', C) activations. Override this."""
        raise NotImplementedError

    def __call__(self, image, *, class_index: int | None = None) -> np.ndarray:
        import tensorflow as tf

        batch = tf.constant(as_batch(self.model, image))
        graph, head = _graph(self.model, self.layer)
        with tf.GradientTape() as tape:
            activations, features = graph([batch], training=False)
            scores = _scores(head, features)
            index = int(tf.argmax(scores[0])) if class_index is None else int(class_index)
            if not 0 <= index < scores.shape[-1]:
                raise InvalidInput(f"Class {index} does not exist; the model has {scores.shape[-1]} classes.")
            score = scores[:, index]
        gradients = tape.gradient(score, activations)
        if gradients is None:  # the score does not depend on this layer: a flat map
            gradients = tf.zeros_like(activations)
        activations, gradients = np.asarray(activations)[0], np.asarray(gradients)[0]  # (H', W', C)
        weights = self.channel_weights(activations, gradients, batch, index)
        cam = np.maximum((activations * weights).sum(axis=-1), 0)  # only what argues for the class
        return finish(cam, np.asarray(batch).shape[1:3])


def finish(cam: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a coarse map to the image size and scale it to [0, 1]; a flat or dead map is all 0."""
    import cv2

    cam = np.nan_to_num(np.asarray(cam, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    cam = cv2.resize(cam, (int(size[1]), int(size[0])), interpolation=cv2.INTER_LINEAR)
    cam = np.maximum(cam, 0)
    top = float(cam.max())
    return (cam / top).astype(np.float32) if top > EPS else np.zeros(cam.shape, dtype=np.float32)


class GradCAM(BaseCAM):
    """Selvaraju et al., 2017: weight each channel by its mean gradient."""

    name = "Grad-CAM"

    def channel_weights(self, activations, gradients, batch, class_index):
        return gradients.mean(axis=(0, 1))


class GradCAMPlusPlus(BaseCAM):
    """Chattopadhay et al., 2018: positive gradients, weighted per pixel by the alpha coefficients."""

    name = "Grad-CAM++"

    def channel_weights(self, activations, gradients, batch, class_index):
        g2, g3 = gradients**2, gradients**3
        total = activations.sum(axis=(0, 1))
        alpha = g2 / np.where(2 * g2 + total * g3 != 0, 2 * g2 + total * g3, EPS)
        alpha = np.where(gradients != 0, alpha, 0)
        return (np.maximum(gradients, 0) * alpha).sum(axis=(0, 1))


class ScoreCAM(BaseCAM):
    """Wang et al., 2020: mask the input with each upsampled channel and keep its gain in score."""

    name = "Score-CAM"
    max_channels = 256

    def channel_weights(self, activations, gradients, batch, class_index):
        import cv2
        import tensorflow as tf

        height, width = batch.shape[1:3]
        channels = activations.shape[-1]
        order = np.argsort(activations.mean(axis=(0, 1)))[::-1][: self.max_channels]
        masks = []
        for c in order:
            up = cv2.resize(activations[..., c].astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
            low, high = up.min(), up.max()
            masks.append((up - low) / (high - low) if high - low > EPS else np.zeros_like(up))
        masks = np.stack(masks)[..., None]  # (K, H, W, 1)
        graph, head = _graph(self.model, self.layer)
        baseline = float(_scores(head, graph([batch], training=False)[1])[0, class_index])
        scores = []
        for start in range(0, len(masks), 64):
            masked = np.asarray(batch) * masks[start : start + 64]
            logits = _scores(head, graph([tf.constant(masked)], training=False)[1])
            scores.append(np.asarray(logits)[:, class_index])
        gains = np.concatenate(scores) - baseline
        weights = np.zeros(channels, dtype=np.float64)
        weights[order] = np.exp(gains - gains.max()) / np.exp(gains - gains.max()).sum()  # softmax of the gains
        return weights


class Saliency:
    """Not a CAM (no layer): the gradient of the class score with respect to the input pixels, with
    the same call as the CAM methods so that every heatmap is one entry of `METHODS`."""

    name = "Saliency"
    uses_layer = False

    def __init__(self, model, layer: str | None = None):
        self.model = model

    def __call__(self, image, *, class_index: int | None = None) -> np.ndarray:
        return saliency(self.model, image, class_index=class_index)


# Every heatmap method: a new one is a class with `name`, `uses_layer` and `__call__`, and one entry here.
METHODS = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus, "scorecam": ScoreCAM, "saliency": Saliency}


def grad_cam(model: keras.Model, image, *, class_index: int | None = None, layer: str | None = None) -> np.ndarray:
    """Grad-CAM heatmap, float32 (H, W) with the spatial size of `image`, values in [0, 1].

    `image` is one input as the model takes it, without the batch axis. `class_index` defaults to
    the predicted class, `layer` to the last convolution (`last_conv_layer`).
    """
    return GradCAM(model, layer)(image, class_index=class_index)


def class_activation_map(
    model: keras.Model, image, method: str = "gradcam", *, class_index=None, layer=None
) -> np.ndarray:
    """Any method of `METHODS` by name (saliency ignores `layer`), with `grad_cam`'s contract."""
    if method not in METHODS:
        raise InvalidInput(f"Unknown method {method!r}; choose one of {', '.join(METHODS)}.")
    return METHODS[method](model, layer)(image, class_index=class_index)


def saliency(model: keras.Model, image, *, class_index: int | None = None) -> np.ndarray:
    """Simonyan et al., 2014: |d score / d pixel|, max over channels, lightly blurred, scaled to
    [0, 1], (H, W)."""
    import tensorflow as tf

    batch = tf.constant(as_batch(model, image))
    graph, head = _graph(model, last_conv_layer(model))
    with tf.GradientTape() as tape:
        tape.watch(batch)
        scores = _scores(head, graph([batch], training=False)[1])  # logits: no saturation at p = 1
        index = int(tf.argmax(scores[0])) if class_index is None else int(class_index)
        score = scores[:, index]
    gradient = np.abs(np.asarray(tape.gradient(score, batch))[0]).max(axis=-1)
    # Raw input gradients speckle from pixel to pixel; a light blur (about 1/30 of the image)
    # shows the regions they mark, which is what a learner is asked to read.
    import cv2

    sigma = max(0.8, min(gradient.shape) / 30)
    return finish(cv2.GaussianBlur(gradient.astype(np.float32), (0, 0), sigma), gradient.shape)


# --- occlusion -------------------------------------------------------------------------------------

# Covered copies x input values (H * W * C) one occlusion map may cost: 100 ImageNet pictures (224x224x3).
# The default 64 copies took 13-22 s of MobileNetV2 on the busy 2-core development machine, so 100 is
# about half a minute; a 28x28 digit never comes near it (at stride 1 it is 400 copies of 784 values).
OCCLUSION_LIMIT = 100 * 224 * 224 * 3
_CHUNK_VALUES = 1 << 21  # input values per model call (8 MB of float32): 256 digits or 13 ImageNet pictures


def default_occlusion(size: tuple[int, int]) -> tuple[int, int]:
    """(patch, stride) `occlusion` uses for an image of (H, W): a patch a third of the shorter side
    (9 on a 28x28 digit, 74 on a 224x224 photo: part of a stroke, a dog's head), moved a third of its
    side at a time: each pixel is covered by about nine placements, so the map is smooth, and both
    cost 64 copies (a 28x28 digit: about 60 ms on the shipped model; smaller patches find nothing
    there: a confident digit model hardly misses a 7x7 piece of a stroke)."""
    patch = max(1, min(int(size[0]), int(size[1])) // 3)
    return patch, max(1, patch // 3)


def _positions(length: int, patch: int, stride: int) -> list[int]:
    """Top (or left) edges of the patch along one axis: every `stride`, and flush with the far edge."""
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] != length - patch:
        starts.append(length - patch)  # the far edge is covered too
    return starts


def probabilities(model: keras.Model, batch) -> np.ndarray:
    """Class probabilities, (N, classes) float32, of a batch (N, H, W, C): the model's output when it
    ends in a softmax, else the softmax of its output (a model that ends in logits)."""
    import keras

    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    out = np.asarray(model(batch, training=False), dtype=np.float32)
    if isinstance(last, keras.layers.Softmax) or activation == "softmax":
        return out
    out = np.exp(out - out.max(axis=-1, keepdims=True))
    return out / out.sum(axis=-1, keepdims=True)


def occlusion(
    model: keras.Model,
    image,
    *,
    class_index: int | None = None,
    patch: int | None = None,
    stride: int | None = None,
    fill: float | None = None,
    on_progress=None,
) -> np.ndarray:
    """Occlusion sensitivity (Zeiler and Fergus, 2014): float32 (H, W), how much the class's
    probability drops when a plain square covers each place.

    A `patch` x `patch` square of value `fill` slides over the image every `stride` pixels; each
    copy's drop, p(class | image) - p(class | covered copy), is given to every pixel the square covered,
    and each pixel gets the mean over the copies that covered it. Values lie in [-1, 1]: positive where
    covering hurts the class (its evidence), negative where covering helps.

    image : one input as the model takes it, (H, W, C) or (H, W) for one channel, values 0..255.
    class_index : the class to explain; default the predicted class.
    patch, stride : pixels; default `default_occlusion(H, W)` (9 and 3 on a 28x28 digit). The patch
        must fit the image and the stride must not exceed it (every pixel covered); at most
        `OCCLUSION_LIMIT` input values in all copies (100 ImageNet pictures).
    fill : the square's value, 0..255; default the picture's median colour per channel: its
        background on a digit (black: "no ink here"; a grey square there would itself be a stroke,
        evidence of its own), a middle colour on a photo, like Zeiler and Fergus's grey square.
    on_progress : called as on_progress(done, total) after each batch of copies.

    Raises InvalidInput on a bad patch, stride or class, or a setting beyond the limit.
    """
    # Why occlusion beside the gradient maps: it asks the model directly, with no gradient, what
    # happens without that part of the picture; the price is one forward pass per placement.
    batch = as_batch(model, image)  # (1, H, W, C) float32
    height, width, channels = batch.shape[1:]
    default_patch, default_stride = default_occlusion((height, width))
    patch = default_patch if patch is None else patch
    if stride is None:
        stride = default_stride if patch == default_patch else max(1, patch // 3)
    if not isinstance(patch, (int, np.integer)) or not 1 <= patch <= min(height, width):
        raise InvalidInput(f"The patch must be a whole number of pixels from 1 to {min(height, width)}; got {patch!r}.")
    if not isinstance(stride, (int, np.integer)) or not 1 <= stride <= patch:
        raise InvalidInput(
            f"The stride must be a whole number from 1 to the patch size ({patch}), so that every pixel is "
            f"covered; got {stride!r}."
        )
    rows, cols = _positions(height, patch, stride), _positions(width, patch, stride)
    copies = len(rows) * len(cols)
    if copies * height * width * channels > OCCLUSION_LIMIT:
        fits = next(
            (
                s
                for s in range(stride, patch + 1)
                if len(_positions(height, patch, s)) * len(_positions(width, patch, s)) * height * width * channels
                <= OCCLUSION_LIMIT
            ),
            None,
        )
        advice = f"use a stride of at least {fits}" if fits else "use a larger patch"
        raise InvalidInput(
            f"A {patch}-pixel patch every {stride} pixels makes {copies} covered copies of this {height}x{width}x"
            f"{channels} picture; the limit is {OCCLUSION_LIMIT // (height * width * channels)} copies at this size "
            f"(as many as {OCCLUSION_LIMIT // (224 * 224 * 3)} ImageNet pictures): {advice}."
        )
    if fill is None:
        fill = np.median(batch[0], axis=(0, 1))  # (C,): the picture's median colour
    elif isinstance(fill, bool) or not isinstance(fill, (int, float, np.number)) or not 0 <= fill <= 255:
        raise InvalidInput(f"The fill must be a pixel value from 0 to 255; got {fill!r}.")
    base = probabilities(model, batch)[0]
    index = int(base.argmax()) if class_index is None else class_index
    if not isinstance(index, (int, np.integer)) or not 0 <= index < base.shape[-1]:
        raise InvalidInput(
            f"Class {index} does not exist; the model has {base.shape[-1]} classes (0 to {base.shape[-1] - 1})."
        )
    places = [(top, left) for top in rows for left in cols]
    chunk = max(1, _CHUNK_VALUES // (height * width * channels))
    drops = np.empty(copies, dtype=np.float64)
    for start in range(0, copies, chunk):
        part = places[start : start + chunk]
        covered = np.repeat(batch, len(part), axis=0)  # (n, H, W, C)
        for i, (top, left) in enumerate(part):
            covered[i, top : top + patch, left : left + patch, :] = fill
        drops[start : start + len(part)] = base[index] - probabilities(model, covered)[:, index]
        if on_progress is not None:
            on_progress(start + len(part), copies)
    total = np.zeros((height, width), dtype=np.float64)
    count = np.zeros((height, width), dtype=np.float64)
    for drop, (top, left) in zip(drops, places, strict=True):
        total[top : top + patch, left : left + patch] += drop
        count[top : top + patch, left : left + patch] += 1
    return (total / count).astype(np.float32)
