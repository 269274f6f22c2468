"""Receptive fields: which input pixels a unit of a feature map can see, and which of them matter.

The theoretical receptive field follows Araujo, Norris and Sim, "Computing Receptive Fields of
Convolutional Neural Networks" (Distill, 2019): along each axis a unit's window has a `size`, windows
of neighbouring units lie `jump` input pixels apart, and unit 0's window begins at `start` (negative
where it reaches into padding). A layer with kernel k (dilated: (k - 1) * d + 1), stride s and p
pixels of padding before the first input position maps the geometry of its input to

    size' = size + (k - 1) * jump,   jump' = jump * s,   start' = start - p * jump.

The effective receptive field (Luo, Li, Urtasun and Zemel, 2016) is the gradient of the unit with
respect to the input: it is zero outside the window and, inside, it fades from the centre, so most
of the window barely matters.

Which layers move positions how is one table, `LAYER_KINDS`: a new layer type is one entry.
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

_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {layer: input -> activation}
_WALKERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> its _Walker


@dataclass(frozen=True)
class Axis:
    """The receptive field along one axis, in input pixels."""

    size: int  # how many input pixels one unit's window spans
    jump: int  # how far apart the windows of neighbouring units are
    start: int  # where unit 0's window begins (negative: it reaches into the padding)

    def then(self, kernel: int, stride: int, pad: int) -> Axis:
        """The geometry after a layer with this kernel, stride and padding before the first position."""
        return Axis(self.size + (kernel - 1) * self.jump, self.jump * stride, self.start - pad * self.jump)

    def compose(self, inner: Axis) -> Axis:
        """`inner` is measured on the map this geometry describes (a nested model's own): in input pixels."""
        return Axis(
            self.size + (inner.size - 1) * self.jump, self.jump * inner.jump, self.start + inner.start * self.jump
        )


IDENTITY = Axis(1, 1, 0)


def _pair(value) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _padding_before(padding: str, length: int, kernel: int, stride: int) -> int:
    """Pixels of padding before the first input position: 0 for 'valid'; for 'same', half of the total
    padding rounded down, as TensorFlow puts the odd pixel at the end (so `start` moves by less)."""
    if padding == "valid":
        return 0
    total = max((math.ceil(length / stride) - 1) * stride + kernel - length, 0)
    return total // 2


def _windowed(layer, lengths, kernel, stride, dilation=(1, 1)):
    """(kernel, stride, padding-before) per axis of a convolution or pooling layer."""
    effective = [(k - 1) * d + 1 for k, d in zip(kernel, dilation, strict=True)]
    padding = getattr(layer, "padding", "valid").lower()
    return [(k, s, _padding_before(padding, n, k, s)) for k, s, n in zip(effective, stride, lengths, strict=True)]


def _convolution(layer, lengths):
    dilation = _pair(getattr(layer, "dilation_rate", 1))
    return _windowed(layer, lengths, _pair(layer.kernel_size), _pair(layer.strides), dilation)


def _pooling(layer, lengths):
    return _windowed(layer, lengths, _pair(layer.pool_size), _pair(layer.strides or layer.pool_size))


def _zero_padding(layer, lengths):
    (top, _), (left, _) = layer.padding
    return [(1, 1, int(top)), (1, 1, int(left))]


def _cropping(layer, lengths):
    (top, _), (left, _) = layer.cropping
    return [(1, 1, -int(top)), (1, 1, -int(left))]


def _identity(layer, lengths):
    return [(1, 1, 0), (1, 1, 0)]


# Layer class name -> (kind shown in the table, how it moves positions: layer, input (H, W) ->
# [(kernel, stride, padding before) for rows, for columns]). Layers that keep every position where
# it is (activations, normalisation, rescaling, dropout, augmentation in inference, merges of branches)
# are the identity; a merge takes the union of its branches' windows.
LAYER_KINDS = {
    "Conv2D": ("convolution", _convolution),
    "DepthwiseConv2D": ("depthwise convolution", _convolution),
    "SeparableConv2D": ("separable convolution", _convolution),
    "MaxPooling2D": ("max pooling", _pooling),
    "AveragePooling2D": ("average pooling", _pooling),
    "ZeroPadding2D": ("zero padding", _zero_padding),
    "Cropping2D": ("cropping", _cropping),
    **{
        name: ("keeps positions", _identity)
        for name in [
            "InputLayer",
            "Activation",
            "ReLU",
            "LeakyReLU",
            "PReLU",
            "ELU",
            "Softmax",
            "BatchNormalization",
            "LayerNormalization",
            "GroupNormalization",
            "UnitNormalization",
            "Rescaling",
            "Normalization",
            "Dropout",
            "SpatialDropout2D",
            "GaussianNoise",
            "GaussianDropout",
            "AlphaDropout",
            "ActivityRegularization",
            "RandomRotation",
            "RandomTranslation",
            "RandomZoom",
            "RandomFlip",
            "RandomContrast",
            "RandomBrightness",
            "Identity",
            "ConvertToTensor",  # a Keras operation node: keras.applications networks called on a tensor have one
            "Cast",
        ]
    },
    **{
        name: ("merge", _identity)
        for name in ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]
    },
}


class _Walker:
    """Geometry of every tensor of one Functional model, relative to the model's input, computed on demand."""

    def __init__(self, model):
        from cnnviz.compat import nodes_of

        self.model = model
        self.producer = {}
        for node in nodes_of(model):
            for tensor in node.output_tensors:
                self.producer[id(tensor)] = node
        self.inputs = {id(tensor) for tensor in model.inputs}
        self.memo: dict[int, tuple[Axis, Axis]] = {}

    def geometry(self, tensor) -> tuple[Axis, Axis]:
        # Iterative, not recursive: a deep network (DenseNet's 400+ layers) would pass Python's recursion limit.
        stack = [tensor]
        while stack:
            current = stack[-1]
            if self._known(current) is not None:
                stack.pop()
                continue
            node = self.producer.get(id(current))
            if node is None:
                raise InvalidInput("cnnviz cannot follow this model's graph back to its input (is it Functional?).")
            missing = [t for t in node.input_tensors if self._known(t) is None]
            if missing:
                stack.extend(missing)
                continue
            sources = [self._known(t) for t in node.input_tensors]
            self.memo[id(current)] = self._through(node.operation, node.input_tensors, current, sources)
            stack.pop()
        return self._known(tensor)

    def _known(self, tensor) -> tuple[Axis, Axis] | None:
        if id(tensor) in self.inputs:
            return IDENTITY, IDENTITY
        return self.memo.get(id(tensor))

    def _through(self, layer, inputs, output, sources) -> tuple[Axis, Axis]:
        import keras

        if len(output.shape) != 4:
            raise InvalidInput(
                f"Layer {layer.name!r} gives {tuple(output.shape[1:])}: it has no spatial position, so no "
                "receptive field; choose a layer with a feature map (H, W, C)."
            )
        shapes = [tuple(t.shape[1:3]) for t in inputs if len(t.shape) == 4]
        if len(shapes) != len(inputs):
            raise InvalidInput(
                f"Layer {layer.name!r} mixes a feature map with an input that has no spatial position (like a "
                "squeeze-and-excitation block): every unit then sees the whole picture."
            )
        if isinstance(layer, keras.Model):  # a nested base model: its own geometry, from its input
            if len(inputs) != 1:
                raise InvalidInput(f"The nested model {layer.name!r} must be called on one input.")
            inner = _Walker(layer).geometry(layer.outputs[0])
            return sources[0][0].compose(inner[0]), sources[0][1].compose(inner[1])
        kind = LAYER_KINDS.get(type(layer).__name__)
        if kind is None:
            raise InvalidInput(
                f"Layer {layer.name!r} is a {type(layer).__name__}; cnnviz knows how positions move through "
                f"{', '.join(sorted(k for k in LAYER_KINDS if k != 'InputLayer'))}, not through this one."
            )
        moves = kind[1](layer, shapes[0])
        if kind[1] is _identity and any(shape != tuple(output.shape[1:3]) for shape in shapes):
            raise InvalidInput(f"Layer {layer.name!r} changes the map's size; cnnviz cannot tell how positions move.")
        axes = []
        for axis, (kernel, stride, pad) in enumerate(moves):
            branches = [source[axis].then(kernel, stride, pad) for source in sources]
            if len({branch.jump for branch in branches}) > 1:
                raise InvalidInput(f"Layer {layer.name!r} merges branches whose windows lie at different jumps.")
            # A merge sees what any of its branches sees: the union of their windows.
            first = min(branch.start for branch in branches)
            last = max(branch.start + branch.size for branch in branches)
            axes.append(Axis(last - first, branches[0].jump, first))
        return axes[0], axes[1]


def _walker(model) -> _Walker:
    if model not in _WALKERS:
        _WALKERS[model] = _Walker(model)
    return _WALKERS[model]


def _get(model, name: str):
    try:
        return model.get_layer(name)
    except ValueError:
        raise InvalidInput(f"The model has no layer named {name!r}.") from None


def _layer_tensor(model, layer: str):
    """(the symbolic output of `layer`, its geometry): `layer` a name, or 'base/layer' inside a nested model."""
    import keras

    from cnnviz.features import layer_node, layer_output

    if not isinstance(layer, str):
        raise InvalidInput(f"A layer is given by its name (a string); got {type(layer).__name__}.")
    outer, _, inner = layer.partition("/")
    walker = _walker(model)
    if not inner:
        tensor = layer_output(model, _get(model, layer))
        return tensor, walker.geometry(tensor)
    base = _get(model, outer)
    if not isinstance(base, keras.Model) or "/" in inner:
        raise InvalidInput(f"{layer!r}: only layers one nested model deep can be named 'model/layer'.")
    node = layer_node(model, base)
    if node is None or len(node.input_tensors) != 1:
        raise InvalidInput(f"The nested model {outer!r} must be called once, on one input.")
    rows, cols = walker.geometry(node.input_tensors[0])
    tensor = _get(base, inner).output
    inner_rows, inner_cols = _walker(base).geometry(tensor)
    return tensor, (rows.compose(inner_rows), cols.compose(inner_cols))


def receptive_field(model: keras.Model, layer: str) -> tuple[int, int, int]:
    """(size, jump, start) of the units of `layer`'s output along the rows, in input pixels.

    size: how many input rows one unit sees; jump: how many rows apart neighbouring units' windows
    are; start: the first input row unit 0 sees (negative where its window reaches into the
    padding). `layer` is a layer name, or 'base/layer' inside a nested base model. Raises
    InvalidInput for a layer without spatial positions (Flatten, Dense) or one cnnviz cannot follow.
    """
    _, (rows, _) = _layer_tensor(model, layer)
    return rows.size, rows.jump, rows.start


def receptive_window(model: keras.Model, layer: str, row: int, col: int) -> tuple[int, int, int, int]:
    """The input window (top, left, bottom, right), half-open and clipped to the input, that the unit at
    (row, col) of `layer`'s output can see."""
    tensor, (rows, cols) = _layer_tensor(model, layer)
    height, width = (int(n) for n in tensor.shape[1:3])
    for name, value, limit in (("row", row, height), ("col", col, width)):
        if not isinstance(value, (int, np.integer)) or not 0 <= value < limit:
            raise InvalidInput(f"The {name} must be a whole number from 0 to {limit - 1} on {layer!r}; got {value!r}.")
    in_height, in_width = (int(n) for n in model.inputs[0].shape[1:3])
    top, left = rows.start + row * rows.jump, cols.start + col * cols.jump
    return (
        max(top, 0),
        max(left, 0),
        min(top + rows.size, in_height),
        min(left + cols.size, in_width),
    )


@dataclass(frozen=True)
class LayerField:
    """One row of `receptive_table`: a layer with a feature map and its receptive field along the rows."""

    name: str  # as `cam.conv_layers` names it ('base/layer' inside a nested model)
    kind: str  # 'convolution', 'max pooling', 'keeps positions', ...
    kernel: tuple[int, int] | None  # (kh, kw) of a convolution or pooling window, else None
    stride: tuple[int, int] | None
    size: int
    jump: int
    start: int
    output_shape: tuple[int, int, int]  # (H, W, C)


def receptive_table(model: keras.Model) -> list[LayerField]:
    """Every layer with a feature map (`cam.conv_layers`), in order, with its kernel, stride and
    receptive field (size, jump, start along the rows). Raises InvalidInput on a layer cnnviz cannot follow."""
    from cnnviz.cam import _map_layers

    table = []
    for name, layer, shape in _map_layers(model):
        size, jump, start = receptive_field(model, name)
        kind = LAYER_KINDS.get(type(layer).__name__, ("nested model", None))[0]
        window = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
        strides = getattr(layer, "strides", None) if window is not None else None
        table.append(
            LayerField(
                name=name,
                kind=kind,
                kernel=_pair(window) if window is not None else None,
                stride=_pair(strides or window) if window is not None else None,
                size=size,
                jump=jump,
                start=start,
                output_shape=tuple(int(n) for n in shape),
            )
        )
    return table


def _activation_function(model, layer: str):
    """input batch -> `layer`'s activation (N, H', W', C), built once per model and layer."""
    import keras

    from cnnviz.cam import _graph
    from cnnviz.features import layer_output

    cache = _FUNCTIONS.setdefault(model, {})
    if layer not in cache:
        if "/" in layer:  # inside a nested model: CAM's chain through it gives the activation first
            graph, _ = _graph(model, layer)
            cache[layer] = lambda batch: graph([batch], training=False)[0]
        else:
            submodel = keras.Model(model.inputs, layer_output(model, _get(model, layer)))
            cache[layer] = lambda batch: submodel([batch], training=False)
    return cache[layer]


def effective_receptive_field(
    model: keras.Model, image, layer: str, row: int, col: int, channel: int | None = None
) -> np.ndarray:
    """|d unit / d input| (Luo et al., 2016): float32 (H, W) with the input's spatial size, summed over
    the input's colour channels; zero outside `receptive_window`.

    The unit is `layer`'s activation at (row, col) in `channel`, or the sum over its channels when
    `channel` is None. `image` is one input as the model takes it, values 0..255. The values are the
    raw gradient magnitudes (scale them for display).
    """
    import tensorflow as tf

    from cnnviz.features import as_batch

    tensor, _ = _layer_tensor(model, layer)
    channels = int(tensor.shape[-1])
    receptive_window(model, layer, row, col)  # checks row and col
    if channel is not None and (not isinstance(channel, (int, np.integer)) or not 0 <= channel < channels):
        raise InvalidInput(
            f"The channel must be a whole number from 0 to {channels - 1} on {layer!r}; got {channel!r}."
        )
    batch = tf.constant(as_batch(model, image))
    function = _activation_function(model, layer)
    with tf.GradientTape() as tape:
        tape.watch(batch)
        activation = function(batch)[0, row, col]  # (C,)
        unit = tf.reduce_sum(activation) if channel is None else activation[channel]
    gradient = tape.gradient(unit, batch)
    if gradient is None:
        return np.zeros(batch.shape[1:3], dtype=np.float32)
    return np.abs(np.asarray(gradient)[0]).sum(axis=-1).astype(np.float32)
