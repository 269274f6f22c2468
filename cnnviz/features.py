"""What each layer of a Keras model sees: activations of every layer for one input, and grids of a
layer's channels normalised as the tutorials did."""

from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np

from cnnviz.compat import nodes_of
from cnnviz.errors import InvalidInput

if TYPE_CHECKING:  # annotations only: importing Keras costs seconds
    import keras

_SUBMODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def as_batch(model: keras.Model, image) -> np.ndarray:
    """One input as `model` takes it, with the batch axis: (1, H, W, C) float32. A grayscale (H, W)
    image is accepted for a model with one input channel; any other shape is refused with a message."""
    array = np.asarray(image, dtype=np.float32)
    expected = tuple(model.inputs[0].shape[1:])
    if array.ndim == len(expected) - 1 and expected[-1] == 1:
        array = array[..., None]  # a grayscale (H, W) image for a (H, W, 1) model
    if array.shape != expected:
        raise InvalidInput(f"The model takes images of shape {expected}; this one is {array.shape}.")
    return array[None]


def layer_node(model: keras.Model, layer):
    """The one place `model` calls `layer` (a layer shared with another model has several), or None
    where `model` is not a Functional graph."""
    nodes = [node for node in nodes_of(model) if node.operation is layer]
    if not nodes:
        return None
    if len(nodes) > 1:
        raise InvalidInput(f"Layer {layer.name!r} is called {len(nodes)} times in this model; pick another layer.")
    return nodes[0]


def layer_output(model: keras.Model, layer):
    """The symbolic output of `layer` as `model` calls it.

    A nested model's own `.output` belongs to its inner graph, and a layer shared with another
    model (a pretrained network re-called on preprocessed input) has one output per call; this is
    the one in `model`'s graph.
    """
    node = layer_node(model, layer)
    return layer.output if node is None else node.output_tensors[0]


def layer_input(model: keras.Model, layer):
    """The symbolic input of `layer` as `model` calls it (see `layer_output`)."""
    node = layer_node(model, layer)
    return layer.input if node is None else node.input_tensors[0]


def layer_output_shape(model: keras.Model, layer) -> tuple:
    """(H, W, C) or (units,) of a layer as `model` calls it, without the batch axis."""
    return tuple(layer_output(model, layer).shape[1:])


def has_feature_map(model: keras.Model, layer) -> bool:
    """Whether `layer`'s output, as `model` calls it, is a (H, W, C) map worth a picture: not the input,
    not input preparation (rescaling, augmentation: a map of the input itself says nothing)."""
    import keras

    if isinstance(layer, keras.layers.InputLayer) or ".preprocessing." in type(layer).__module__:
        return False
    return len(layer_output_shape(model, layer)) == 3


def map_layers(model: keras.Model) -> list[str]:
    """Names of `model`'s own layers with feature maps, in order (a nested base model counts as one
    layer here; `cam.conv_layers` opens it)."""
    return [layer.name for layer in model.layers if has_feature_map(model, layer)]


def activation_model(model: keras.Model):
    """A model from `model.inputs` to the output of every layer after the input (built once)."""
    import keras

    if model not in _SUBMODELS:
        layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
        _SUBMODELS[model] = (
            keras.Model(model.inputs, [layer_output(model, layer) for layer in layers]),
            [layer.name for layer in layers],
        )
    return _SUBMODELS[model]


def feature_maps(model: keras.Model, image) -> OrderedDict:
    """Layer name -> activation array without the batch axis, for every layer after the input, in order.

    `image` is one input as the model takes it (no batch axis); a (H, W) image is accepted for a
    model with one input channel. The values are exactly those of the model's own forward pass
    (inference mode: dropout and augmentation layers pass their input through).
    """
    submodel, names = activation_model(model)
    outputs = submodel([as_batch(model, image)], training=False)  # a list, as the model names its inputs
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return OrderedDict((name, np.asarray(output)[0]) for name, output in zip(names, outputs, strict=True))


def normalize_channel(channel: np.ndarray, mode: str = "tutorial") -> np.ndarray:
    """One (H, W) activation map -> uint8 for display.

    'tutorial': (x - mean) / std * 64 + 128, clipped to 0..255, as the Keras tutorials drew every
    channel; 'minmax': stretched from its minimum to its maximum. A flat channel becomes mid-grey.
    """
    x = np.asarray(channel, dtype=np.float64)
    if mode == "tutorial":
        std = x.std()
        out = np.full(x.shape, 128.0) if std < 1e-12 else (x - x.mean()) / std * 64 + 128
    elif mode == "minmax":
        low, high = x.min(), x.max()
        out = np.full(x.shape, 128.0) if high - low < 1e-12 else (x - low) / (high - low) * 255
    else:
        raise InvalidInput(f"Normalisation {mode!r} is not offered; use 'tutorial' or 'minmax'.")
    return np.clip(out, 0, 255).astype(np.uint8)


GRID_COLUMNS, GRID_GAP = 8, 1  # the layout of `channel_grid`, which a click on the grid is mapped back through


def channel_image(channel: np.ndarray, mode: str = "tutorial", *, limit: float | None = None) -> np.ndarray:
    """One (H, W) activation map drawn in `mode`: 'tutorial' or 'minmax' as `normalize_channel`
    ((H, W) uint8), or 'signed': red positive, white 0, blue negative up to +-`limit`
    ((H, W, 3) uint8; default limit: `display.signed_limit` of this channel)."""
    from cnnviz.display import to_signed

    if mode == "signed":
        return to_signed(channel, limit=limit)
    return normalize_channel(channel, mode)


def channel_grid(
    activation: np.ndarray,
    *,
    mode: str = "tutorial",
    columns: int = GRID_COLUMNS,
    max_channels: int = 64,
    limit: float | None = None,
):
    """Every channel of an (H, W, C) activation as a grid of tiles (uint8 RGB), `columns` wide with
    `GRID_GAP` pixels between tiles.

    'tutorial' and 'minmax' stretch each channel on its own (its pattern, not its size); 'signed'
    draws every channel on one scale, +-`limit` (default: `display.signed_limit` of the channels
    shown), so a colour bar can say what the colours mean and a weak channel looks weak.
    """
    from cnnviz.display import signed_limit, tile

    activation = np.asarray(activation)
    if activation.ndim != 3:
        raise InvalidInput(f"A channel grid needs an (H, W, C) activation, got shape {activation.shape}.")
    channels = min(activation.shape[2], max_channels)
    if mode == "signed" and limit is None:
        limit = signed_limit(activation[..., :channels])
    tiles = [channel_image(activation[..., c], mode, limit=limit) for c in range(channels)]
    return tile(tiles, columns=columns, gap=GRID_GAP)


def filter_similarity(filters: np.ndarray) -> list[tuple[str, float]]:
    """For each learned filter (kh, kw, c_in, n), the Convolution Lab kernel it resembles most and
    the cosine similarity (-1..1; negative: the same pattern with the signs flipped), comparing the
    filter's mean over input channels with every gallery kernel of its size."""
    from cnnviz.kernels import KERNELS

    filters = np.asarray(filters, dtype=np.float64)
    if filters.ndim != 4:
        raise InvalidInput(f"Filters must be (kh, kw, c_in, n), got shape {filters.shape}.")
    candidates = {name: k.astype(np.float64).ravel() for name, k in KERNELS.items() if k.shape == filters.shape[:2]}
    candidates.pop("identity", None)
    results = []
    for i in range(filters.shape[3]):
        vector = filters[:, :, :, i].mean(axis=2).ravel()
        best = ("none of the gallery's", 0.0)
        for name, kernel in candidates.items():
            denominator = np.linalg.norm(vector) * np.linalg.norm(kernel)
            score = float(vector @ kernel / denominator) if denominator > 1e-12 else 0.0
            if abs(score) > abs(best[1]):
                best = (name, score)
        results.append(best)
    return results


def filter_grid(weights: np.ndarray, *, max_filters: int = 64, tile_side: int = 40, columns: int = 16) -> np.ndarray:
    """A conv layer's filters, (kh, kw, c_in, n) weights, as one uint8 RGB picture: each filter a tile,
    in colour (stretched min..max) when it reads an RGB input, else signed (red positive, blue
    negative) averaged over its input channels; at most `max_filters`, `columns` to a row."""
    from cnnviz import display

    weights = np.asarray(weights, dtype=np.float32)
    if weights.ndim != 4:
        raise InvalidInput(f"Conv2D weights are (kh, kw, c_in, n); got shape {weights.shape}.")
    count = min(weights.shape[3], max_filters)
    if weights.shape[2] == 3:  # a first layer on colour input: each filter is a colour patch
        tiles = [display.to_minmax(weights[:, :, :, i]) for i in range(count)]
    else:
        tiles = [display.to_signed(weights[:, :, :, i].mean(axis=2)) for i in range(count)]
    return display.tile([display.enlarge(t, min_side=tile_side) for t in tiles], columns=columns, gap=2)
