"""Block types of the architecture builder: one table, `BLOCKS`, that everything reads.

An architecture is a list of blocks, plain dicts such as
``{"type": "conv", "filters": 32, "kernel": 3, "stride": 1, "padding": "valid", "activation": "relu"}``.
Each entry of `BLOCKS` says everything about its type: its settings (range, default, help for the
Trainer's editor), what input it takes, how its output shape and parameter count come about (with
the formula a learner reads), and the Keras layer it builds, which `cnnviz.models.build_model` makes
and `cnnviz.export` writes into the take-home script. `summarize` checks an architecture and gives
its per-layer table without TensorFlow. A new type is one entry here and a test comparing its
summary with Keras (tests/test_models.py).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cnnviz import ops
from cnnviz.errors import InvalidInput

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "linear")
MAX_PARAMS = 5_000_000  # a classroom server trains on CPUs: beyond this nobody waits (cnnviz.jobs checks it)
MAX_BUILD_PARAMS = 50_000_000  # the largest network `summarize` accepts: built to look inside, untrained
MAX_ACTIVATION_MB = 2048  # forward activations of one batch of 64, float32; training needs about 3x
MAX_BLOCKS = 40

Shape = tuple[int, ...]


@dataclass(frozen=True)
class BlockSetting:
    """One setting of a block type: what the editor offers and what `summarize` accepts."""

    name: str  # the block dict's key, e.g. "filters"
    default: int | float | str
    low: float | None = None  # numbers: the accepted range, both ends included
    high: float | None = None
    options: tuple[str, ...] = ()  # choices: the accepted values
    step: float | None = None  # numbers: the editor's step (whole numbers when None)
    help: str = ""  # one line for a learner: what changing it does

    def check(self, block: dict, where: str):
        """This setting's value in `block` (the default when absent), or InvalidInput naming the block."""
        value = block.get(self.name, self.default)
        if self.options:
            if value not in self.options:
                raise InvalidInput(f"{where}: {self.name} must be one of {', '.join(self.options)}, got {value!r}.")
            return value
        whole = self.step is None
        number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or (whole and value != int(value)):
            kind = "a whole number" if whole else "a number"
            raise InvalidInput(f"{where}: {self.name} must be {kind}, got {value!r}.")
        if not self.low <= value <= self.high:
            low, high = (int(self.low), int(self.high)) if whole else (self.low, self.high)
            raise InvalidInput(f"{where}: {self.name} must be from {low} to {high}, got {value!r}.")
        return int(value) if whole else float(value)


@dataclass(frozen=True)
class BlockType:
    """A kind of block: everything the editor, `summarize`, `build_model` and the export need.

    `output(settings, shape, where)` gives the output shape for an input `shape` (raising InvalidInput
    with advice when the block does not fit); `weights(settings, shape)` gives (parameter count,
    formula); `arguments(settings)` gives the positional and keyword arguments of
    `keras.layers.<layer>`, or of `function` for a block made of several layers.
    """

    layer: str  # the Keras layer class it builds (keras.layers.<layer>), or what `function` builds
    help: str  # one line for a learner: what it does
    settings: tuple[BlockSetting, ...] = ()
    takes: str = "map"  # "map": an (H, W, C) feature map; "flat": a vector; "any"
    output: Callable[[dict, Shape, str], Shape] = lambda settings, shape, where: shape
    weights: Callable[[dict, Shape], tuple[int, str]] = lambda settings, shape: (0, "no weights")
    arguments: Callable[[dict], tuple[tuple, dict]] = lambda settings: ((), {})
    # A block of several layers (a residual block): function(x, *args, name=..., **kwargs) -> tensor,
    # written into the take-home script as it is (its source), so the script builds what the app built.
    function: Callable | None = None

    @property
    def label(self) -> str:
        """The name the editor shows for this type: its Keras layer."""
        return self.layer


_ACTIVATION_HELP = (
    "The function applied to every output value: relu keeps positives and turns negatives into 0 (the usual "
    "choice); linear leaves values as they are."
)
_POOL_SIZE = BlockSetting("size", 2, 1, 8, help="The side of the window: the map's height and width are divided by it.")


def _conv_output(settings: dict, shape: Shape, where: str) -> Shape:
    h, w, _ = shape
    kernel, stride, padding = settings["kernel"], settings["stride"], settings["padding"]
    if padding == "valid" and (h < kernel or w < kernel):
        raise InvalidInput(
            f"{where}: a {kernel}x{kernel} kernel does not fit the {h}x{w} map it gets here; "
            "use 'same' padding, a smaller kernel or fewer pooling blocks before it."
        )
    size = (ops.output_size(n, kernel, stride=stride, padding=padding) for n in (h, w))
    return (*size, settings["filters"])


def _conv_weights(settings: dict, shape: Shape) -> tuple[int, str]:
    kernel, filters, channels = settings["kernel"], settings["filters"], shape[-1]
    params = (kernel * kernel * channels + 1) * filters
    return params, f"({kernel}*{kernel}*{channels}+1)*{filters} = {params}"


def _pool_output(settings: dict, shape: Shape, where: str) -> Shape:
    h, w, c = shape
    size = settings["size"]
    if h < size or w < size:
        raise InvalidInput(
            f"{where}: a {size}x{size} pool does not fit the {h}x{w} map it gets here: too many pooling "
            "blocks for the input size. Remove one or use a larger input."
        )
    return h // size, w // size, c


def _dense_weights(settings: dict, shape: Shape) -> tuple[int, str]:
    params = (shape[0] + 1) * settings["units"]
    return params, f"({shape[0]}+1)*{settings['units']} = {params}"


def residual_block(x, filters, stride=1, *, name):
    """A residual block as in ResNet-18/34 (He et al., 2016, "Deep Residual Learning"): two 3x3
    convolutions, each followed by batch normalization, added to a shortcut, then ReLU. The shortcut
    is the input itself, or a 1x1 convolution with batch normalization (a "projection") when the
    stride or the number of channels changes the shape. The addition is why very deep networks still
    train: each block only has to learn a correction to what it gets."""
    import keras

    # No bias in the convolutions: the batch normalization after each one has its own shift.
    y = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = keras.layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = keras.layers.ReLU(name=f"{name}_relu1")(y)
    y = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = keras.layers.BatchNormalization(name=f"{name}_bn2")(y)
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = keras.layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_project")(x)
        shortcut = keras.layers.BatchNormalization(name=f"{name}_project_bn")(shortcut)
    y = keras.layers.Add(name=f"{name}_add")([y, shortcut])
    return keras.layers.ReLU(name=name)(y)


def _residual_output(settings: dict, shape: Shape, where: str) -> Shape:
    h, w, _ = shape
    size = (ops.output_size(n, 3, stride=settings["stride"], padding="same") for n in (h, w))
    return (*size, settings["filters"])


def _residual_weights(settings: dict, shape: Shape) -> tuple[int, str]:
    filters, stride, channels = settings["filters"], settings["stride"], shape[-1]
    params = 9 * channels * filters + 9 * filters * filters + 2 * 4 * filters
    formula = f"3*3*{channels}*{filters} + 3*3*{filters}*{filters} + 2*4*{filters}"
    if stride != 1 or channels != filters:  # the 1x1 projection on the shortcut, with its batch normalization
        params += channels * filters + 4 * filters
        formula += f" + {channels}*{filters}+4*{filters} (1x1 projection)"
    return params, f"{formula} = {params}"


def resnet_stem(x, filters=64, *, name):
    """The first layers of ResNet (He et al., 2016), as the tutorial builds ResNet-34: a 7x7
    convolution with stride 2 and no bias, batch normalization, ReLU, then 3x3 max pooling with
    stride 2. A wide first look at the picture, whose height and width are then a quarter: the
    residual blocks after it work on far fewer positions."""
    import keras

    # No bias: the batch normalization right after has its own shift.
    x = keras.layers.Conv2D(filters, 7, strides=2, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    x = keras.layers.ReLU(name=f"{name}_relu")(x)
    return keras.layers.MaxPooling2D(3, strides=2, padding="same", name=name)(x)


def _stem_output(settings: dict, shape: Shape, where: str) -> Shape:
    h, w, _ = shape
    size = (
        ops.output_size(ops.output_size(n, 7, stride=2, padding="same"), 3, stride=2, padding="same") for n in (h, w)
    )
    return (*size, settings["filters"])


def _stem_weights(settings: dict, shape: Shape) -> tuple[int, str]:
    filters, channels = settings["filters"], shape[-1]
    params = 49 * channels * filters + 4 * filters
    return params, f"7*7*{channels}*{filters} (no bias) + 4*{filters} (batch normalization) = {params}"


BLOCKS: dict[str, BlockType] = {
    "conv": BlockType(
        "Conv2D",
        "Slides small learned filters over the map; each filter gives one output map (channel).",
        (
            BlockSetting(
                "filters", 32, 1, 1024, help="How many patterns this layer learns to detect: one output map each."
            ),
            BlockSetting(
                "kernel", 3, 1, 15, help="The side of each filter's window in pixels (3 = 3x3): larger sees more."
            ),
            BlockSetting(
                "stride", 1, 1, 8, help="How far the window moves each step: 2 halves the map's height and width."
            ),
            BlockSetting(
                "padding",
                "valid",
                options=ops.PADDINGS,
                help="valid: only windows inside the map (it shrinks by kernel-1); same: zeros around keep its size.",
            ),
            BlockSetting("activation", "relu", options=ACTIVATIONS, help=_ACTIVATION_HELP),
        ),
        output=_conv_output,
        weights=_conv_weights,
        arguments=lambda s: (
            (s["filters"], s["kernel"]),
            {"strides": s["stride"], "padding": s["padding"], "activation": s["activation"]},
        ),
    ),
    "residual": BlockType(
        "Residual",
        "Two 3x3 convolutions (each with batch normalization) added to the block's own input, then ReLU: "
        "the block learns a correction to what it gets. The building block of ResNet.",
        (
            BlockSetting("filters", 32, 1, 512, help="How many output maps (channels) both convolutions make."),
            BlockSetting(
                "stride",
                1,
                1,
                2,
                help="2 halves the map's height and width (the shortcut then gets a 1x1 convolution to match).",
            ),
        ),
        output=_residual_output,
        weights=_residual_weights,
        arguments=lambda s: ((s["filters"], s["stride"]), {}),
        function=residual_block,
    ),
    "stem": BlockType(
        "ResNetStem",
        "ResNet's first layers: a 7x7 convolution with stride 2 (no bias), batch normalization, ReLU and 3x3 "
        "max pooling with stride 2. The map comes out a quarter as high and wide.",
        (BlockSetting("filters", 64, 1, 512, help="How many output maps (channels) the 7x7 convolution makes."),),
        output=_stem_output,
        weights=_stem_weights,
        arguments=lambda s: ((s["filters"],), {}),
        function=resnet_stem,
    ),
    "maxpool": BlockType(
        "MaxPooling2D",
        "Keeps the largest value of each window: a smaller map that keeps the strongest responses.",
        (_POOL_SIZE,),
        output=_pool_output,
        arguments=lambda s: ((s["size"],), {}),
    ),
    "avgpool": BlockType(
        "AveragePooling2D",
        "Keeps the mean of each window: a smaller, smoother map.",
        (_POOL_SIZE,),
        output=_pool_output,
        arguments=lambda s: ((s["size"],), {}),
    ),
    "batchnorm": BlockType(
        "BatchNormalization",
        "Rescales each channel to mean 0 and spread 1 over the batch; often lets a network learn faster. No settings.",
        takes="any",
        weights=lambda s, shape: (
            4 * shape[-1],
            f"4*{shape[-1]} = {4 * shape[-1]} (scale, shift; mean, variance not trained)",
        ),
    ),
    "dropout": BlockType(
        "Dropout",
        "While training, sets a random share of values to 0 so the network cannot rely on any one; off when testing.",
        (
            BlockSetting(
                "rate",
                0.25,
                0.0,
                0.95,
                step=0.05,
                help="The share of values dropped at each training step (0.25 = 1 in 4).",
            ),
        ),
        takes="any",
        arguments=lambda s: ((s["rate"],), {}),
    ),
    "flatten": BlockType(
        "Flatten",
        "Lays the map out as one long list of numbers, so that Dense layers can read it. No settings.",
        output=lambda s, shape, where: (int(np.prod(shape)),),
    ),
    "gap": BlockType(
        "GlobalAveragePooling2D",
        "One mean per channel: a short list instead of the whole map (fewer weights than Flatten). No settings.",
        output=lambda s, shape, where: (shape[-1],),
        weights=lambda s, shape: (0, "no weights (one mean per channel)"),
    ),
    "dense": BlockType(
        "Dense",
        "Every output looks at every input number and learns one weight for each.",
        (
            BlockSetting("units", 64, 1, 8192, help="How many outputs (neurons) this layer has."),
            BlockSetting("activation", "relu", options=ACTIVATIONS, help=_ACTIVATION_HELP),
        ),
        takes="flat",
        output=lambda s, shape, where: (s["units"],),
        weights=_dense_weights,
        arguments=lambda s: ((s["units"],), {"activation": s["activation"]}),
    ),
}
BLOCK_TYPES = tuple(BLOCKS)


def block_defaults(kind: str) -> dict:
    """A block of this type with every setting at its default, e.g. ``{"type": "maxpool", "size": 2}``."""
    if kind not in BLOCKS:
        raise InvalidInput(f"Unknown block type {kind!r}; use one of {', '.join(BLOCK_TYPES)}.")
    return {"type": kind, **{setting.name: setting.default for setting in BLOCKS[kind].settings}}


def settings_of(block: dict, where: str = "The block") -> dict:
    """Every setting of `block`, checked against its type's table entry, defaults filled in."""
    return {setting.name: setting.check(block, where) for setting in BLOCKS[block["type"]].settings}


def layer_names(blocks: list[dict]) -> list[str]:
    """The Keras layer name of each block: its type and a count per type ('conv1', 'maxpool1', 'conv2')."""
    counters: dict[str, int] = {}
    names = []
    for block in blocks:
        kind = block["type"]
        counters[kind] = counters.get(kind, 0) + 1
        names.append(f"{kind}{counters[kind]}")
    return names


@dataclass(frozen=True)
class LayerRow:
    """One row of the architecture summary."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    formula: str  # how `params` comes about, e.g. "(3*3*1+1)*32 = 320"


def _flat_shape_text(shape: Shape) -> str:
    return "x".join(map(str, shape))


def summarize(
    blocks: list[dict], input_shape: tuple[int, int, int], num_classes: int, *, max_params: int = MAX_BUILD_PARAMS
) -> list[LayerRow]:
    """Validate an architecture and return its per-layer summary, classifier included.

    Raises InvalidInput naming the block that is wrong: an unknown type, a setting out of range,
    a window that no longer fits (too many pools for the input size), a Dense on an unflattened
    map, or a network over the parameter (`max_params`) or activation-memory budget. Training on a
    server without a GPU has a lower budget, `MAX_PARAMS`, which `cnnviz.jobs.check_trainable` applies.
    """
    if not isinstance(blocks, (list, tuple)) or not blocks:
        raise InvalidInput("The architecture is empty: add at least a Flatten or GlobalAveragePooling block.")
    if len(blocks) > MAX_BLOCKS:
        raise InvalidInput(f"The architecture has {len(blocks)} blocks; at most {MAX_BLOCKS} are accepted.")
    if not 2 <= num_classes <= 1000:
        raise InvalidInput(f"A classifier needs 2 to 1000 classes, got {num_classes}.")
    shape: Shape = tuple(int(n) for n in input_shape)
    rows = [LayerRow("input", "Input", shape, 0, "")]
    activations = int(np.prod(shape))
    counters: dict[str, int] = {}
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            raise InvalidInput(f"Block {index + 1} must be a dict with a 'type', got {type(block).__name__}.")
        kind = block.get("type")
        where = f"Block {index + 1} ({kind if kind is not None else '?'})"
        if kind not in BLOCKS:
            raise InvalidInput(f"{where}: unknown type; use one of {', '.join(BLOCK_TYPES)}.")
        entry = BLOCKS[kind]
        settings = settings_of(block, where)
        if entry.takes == "map" and len(shape) != 3:
            raise InvalidInput(f"{where}: needs a feature map, but the input here is already flat ({shape[0]}).")
        if entry.takes == "flat" and len(shape) != 1:
            raise InvalidInput(
                f"{where}: {entry.layer} needs a flat input, but gets a {_flat_shape_text(shape)} map; "
                "add Flatten or GlobalAveragePooling before it."
            )
        params, formula = entry.weights(settings, shape)
        shape = entry.output(settings, shape, where)
        counters[kind] = counters.get(kind, 0) + 1
        rows.append(LayerRow(f"{kind}{counters[kind]}", kind, shape, params, formula))
        activations += int(np.prod(shape))
    if len(shape) != 1:
        raise InvalidInput(
            f"The network ends with a {_flat_shape_text(shape)} feature map: add Flatten or "
            "GlobalAveragePooling before the classifier."
        )
    params = (shape[0] + 1) * num_classes
    rows.append(LayerRow("output", "dense", (num_classes,), params, f"({shape[0]}+1)*{num_classes} = {params}"))
    total = total_params(rows)
    if total > max_params:
        heavy = max(rows, key=lambda row: row.params)
        raise InvalidInput(
            f"The network has {total:,} parameters, over the budget of {max_params:,}; the largest layer is "
            f"{heavy.name} with {heavy.params:,}. Add pooling before Flatten, or use fewer units or filters."
        )
    megabytes = activations * 64 * 4 / 2**20
    if megabytes > MAX_ACTIVATION_MB:
        raise InvalidInput(
            f"One batch of 64 would need about {megabytes:,.0f} MB of activations, over {MAX_ACTIVATION_MB} MB; "
            "use a smaller input, fewer filters or stride 2 early on."
        )
    return rows


def total_params(rows: list[LayerRow]) -> int:
    """All parameters of a summary, classifier included (what Keras's count_params gives)."""
    return sum(row.params for row in rows)


def keras_layer(keras, block: dict, name: str):
    """The Keras layer a (checked) one-layer block builds, named `name` (see `apply_block` for any block)."""
    entry = BLOCKS[block["type"]]
    if entry.function is not None:
        raise InvalidInput(f"A {entry.layer} block is several layers; build it with apply_block.")
    args, kwargs = entry.arguments(settings_of(block))
    return getattr(keras.layers, entry.layer)(*args, **kwargs, name=name)


def apply_block(keras, block: dict, name: str, x):
    """The output tensor of a (checked) block applied to the symbolic tensor `x`; its last layer is named `name`."""
    entry = BLOCKS[block["type"]]
    if entry.function is None:
        return keras_layer(keras, block, name)(x)
    args, kwargs = entry.arguments(settings_of(block))
    return entry.function(x, *args, name=name, **kwargs)


def _call_text(callee: str, args: tuple, kwargs: dict, name: str, *, first: tuple[str, ...] = ()) -> str:
    values = [repr(a) for a in args] + [f"{key}={value!r}" for key, value in kwargs.items()] + [f"name={name!r}"]
    return f"{callee}({', '.join([*first, *values])})"


def keras_code(block: dict, name: str) -> str:
    """The same layer as Python source, for the take-home script: ``keras.layers.Conv2D(32, 3, ...)``
    (a one-layer block; see `block_code` for any block)."""
    entry = BLOCKS[block["type"]]
    args, kwargs = entry.arguments(settings_of(block))
    return _call_text(f"keras.layers.{entry.layer}", args, kwargs, name)


def block_code(block: dict, name: str) -> str:
    """The script's line that applies a block to `x`: ``x = keras.layers.Conv2D(...)(x)`` or, for a
    block of several layers, ``x = residual_block(x, 32, 2, name='residual1')``."""
    entry = BLOCKS[block["type"]]
    if entry.function is None:
        return f"x = {keras_code(block, name)}(x)"
    args, kwargs = entry.arguments(settings_of(block))
    return f"x = {_call_text(entry.function.__name__, args, kwargs, name, first=('x',))}"


def block_functions(blocks: list[dict]) -> list[str]:
    """The source of each function the blocks' script lines call (once each), for the take-home script."""
    functions = {BLOCKS[block["type"]].function for block in blocks} - {None}
    return [inspect.getsource(function) for function in sorted(functions, key=lambda f: f.__name__)]
