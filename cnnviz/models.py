"""CNN architectures: tutorial presets, a validated block builder with a per-layer summary (shapes,
parameters and the formulas behind them, computed without TensorFlow), and Keras models built
with the Functional API and named layers.

An architecture is a list of blocks, plain dicts such as
``{"type": "conv", "filters": 32, "kernel": 3, "stride": 1, "padding": "valid", "activation": "relu"}``.
The classifier (Dense with one unit per class and softmax) is always appended by `build_model`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cnnviz.blocks import (  # the architecture's table and checks, TensorFlow-free; re-exported here
    BLOCKS,
    apply_block,
    keras_layer,
    layer_names,
    summarize,
)
from cnnviz.errors import InvalidInput

if TYPE_CHECKING:  # annotations only: importing Keras costs seconds
    import keras

# --- presets from the tutorials ----------------------------------------------------------------


def _conv(filters, kernel=3, **extra):
    return {
        "type": "conv",
        "filters": filters,
        "kernel": kernel,
        "stride": 1,
        "padding": "valid",
        "activation": "relu",
        **extra,
    }


def _pool(size=2):
    return {"type": "maxpool", "size": size}


def _five_conv(input_shape) -> list[dict]:
    # The horses-vs-humans net: conv+pool five times (16, 32, 64, 64, 64) then Dense 512, with as
    # many conv+pool pairs as the input size allows (300x300 takes all five; 28x28 two).
    blocks, side = [], min(input_shape[:2])
    for filters in (16, 32, 64, 64, 64):
        if (side - 2) // 2 < 3:
            break
        blocks += [_conv(filters), _pool()]
        side = (side - 2) // 2
    return [*blocks, {"type": "flatten"}, {"type": "dense", "units": 512, "activation": "relu"}]


def _resnet34(input_shape) -> list[dict]:
    # As the tutorial builds it (Geron, ch. 14): the stem, then residual units of 64 (x3), 128 (x4),
    # 256 (x6) and 512 (x3) filters; the first unit of each new width halves the map (stride 2, and a
    # 1x1 projection on its shortcut); global average pooling; the classifier.
    blocks, previous = [{"type": "stem", "filters": 64}], 64
    for filters in [64] * 3 + [128] * 4 + [256] * 6 + [512] * 3:
        blocks.append({"type": "residual", "filters": filters, "stride": 1 if filters == previous else 2})
        previous = filters
    return [*blocks, {"type": "gap"}]


PRESETS = {
    "mnist-cnn": (
        "MNIST tutorial CNN: Conv32-Pool-Conv64-Pool-Conv64-Dense64 (reported 99.19% on MNIST).",
        lambda shape: [
            _conv(32),
            _pool(),
            _conv(64),
            _pool(),
            _conv(64),
            {"type": "flatten"},
            {"type": "dense", "units": 64, "activation": "relu"},
        ],
    ),
    "fashion-cnn": (
        "Fashion-MNIST tutorial CNN: Conv64-Pool-Conv64-Pool-Dense128 (reported 91.1%).",
        lambda shape: [
            _conv(64),
            _pool(),
            _conv(64),
            _pool(),
            {"type": "flatten"},
            {"type": "dense", "units": 128, "activation": "relu"},
        ],
    ),
    "fashion-deep": (
        "Deeper Fashion-MNIST CNN with Dropout: Conv32-Pool-Drop-Conv64-Pool-Drop-Dense128-Drop.",
        lambda shape: [
            _conv(32),
            _pool(),
            {"type": "dropout", "rate": 0.25},
            _conv(64),
            _pool(),
            {"type": "dropout", "rate": 0.25},
            {"type": "flatten"},
            {"type": "dense", "units": 128, "activation": "relu"},
            {"type": "dropout", "rate": 0.5},
        ],
    ),
    "horses-humans": ("Horses-vs-humans five-conv CNN, scaled to the input size.", _five_conv),
    "tinyvgg": (
        "TinyVGG as in CNN Explainer: two blocks of two 3x3 conv (10 filters) and a max pool.",
        lambda shape: [_conv(10), _conv(10), _pool(), _conv(10), _conv(10), _pool(), {"type": "flatten"}],
    ),
    "dense-only": (
        "No convolution at all, as the first tutorial built it: Flatten-Dense128 (then the classifier). "
        "Compare it with a CNN.",
        lambda shape: [{"type": "flatten"}, {"type": "dense", "units": 128, "activation": "relu"}],
    ),
    "resnet-mini": (
        "A small ResNet (the tutorials end on ResNet-34): Conv16, then residual blocks of 16, 32 (stride 2) and "
        "64 (stride 2) filters, global average pooling.",
        lambda shape: [
            _conv(16, padding="same"),
            {"type": "residual", "filters": 16, "stride": 1},
            {"type": "residual", "filters": 32, "stride": 2},
            {"type": "residual", "filters": 64, "stride": 2},
            {"type": "gap"},
        ],
    ),
    "resnet-34": (
        "ResNet-34 as the tutorial builds it (He et al., 2016): a 7x7/2 convolution, pooling, then 16 residual "
        "blocks of 64 to 512 filters, global average pooling. 21 million parameters at ImageNet's 224x224: open it "
        "untrained here; training it needs a GPU (resnet-mini is the one a class trains).",
        _resnet34,
    ),
    "boxes-fast": (
        "The app's default for pictures with boxes: a 4x4 convolution with stride 4 (the picture cut into "
        "patches), three 3x3 convolutions of 32, 64 and 192 filters, batch normalization after the last, "
        "global average pooling for the class and box heads.",
        # Batch normalization after the first three convolutions too made each epoch take twice as long on
        # a CPU (large maps, few channels) and learned no better boxes; 192 filters in the last convolution
        # (on a 4x4 map: cheap) lifted AP@0.5 from 0.90-0.91 to 0.92-0.94 (bench/localization.py, two seeds).
        lambda shape: [
            _conv(16, kernel=4, stride=4),
            _conv(32, padding="same"),
            _pool(),
            _conv(64, padding="same"),
            _pool(),
            _conv(192, padding="same"),
            {"type": "batchnorm"},
            {"type": "gap"},
        ],
    ),
    "mnist-fast": (
        "The app's default for MNIST: Conv32-Pool-Conv64-Pool-Dense128 with dropout (98.6% of the held-out "
        "bundled MNIST digits with the default settings).",
        lambda shape: [
            _conv(32),
            _pool(),
            _conv(64),
            _pool(),
            {"type": "flatten"},
            {"type": "dropout", "rate": 0.4},
            {"type": "dense", "units": 128, "activation": "relu"},
            {"type": "dropout", "rate": 0.4},
        ],
    ),
}


def preset(name: str, input_shape: tuple[int, int, int]) -> list[dict]:
    """The blocks of a preset for this input shape."""
    if name not in PRESETS:
        raise InvalidInput(f"Unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")
    return [dict(block) for block in PRESETS[name][1](input_shape)]


# --- Keras ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Augmentation:
    """Random changes to training images, as the tutorials' ImageDataGenerator made (Keras 3
    preprocessing layers, active only while training)."""

    rotation: float = 0.0  # degrees, either way
    shift: float = 0.0  # fraction of the height and width, either way
    zoom: float = 0.0  # fraction, in or out
    flip: bool = False  # mirror left-right

    @property
    def active(self) -> bool:
        """Whether any change is switched on."""
        return bool(self.rotation or self.shift or self.zoom or self.flip)


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


def augmentation_layers(augmentation: Augmentation, *, seed: int = 0) -> list:
    """Keras preprocessing layers for `augmentation` (random flip, rotation, shift, zoom; active only in training)."""
    keras = _keras()
    layers = []
    if augmentation.flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed, name="augment_flip"))
    if augmentation.rotation:
        layers.append(keras.layers.RandomRotation(augmentation.rotation / 360.0, seed=seed, name="augment_rotation"))
    if augmentation.shift:
        s = augmentation.shift
        layers.append(keras.layers.RandomTranslation(s, s, seed=seed, name="augment_shift"))
    if augmentation.zoom:
        layers.append(keras.layers.RandomZoom(augmentation.zoom, seed=seed, name="augment_zoom"))
    return layers


def augmented_samples(images: np.ndarray, augmentation: Augmentation, *, copies: int = 4, seed: int = 0) -> list:
    """Each of `images` (uint8 (N, H, W, C)) followed by `copies` randomly augmented versions of it, as
    the training pipeline makes them: a list of uint8 (H, W, C) arrays, N * (copies + 1) long."""
    layers = augmentation_layers(augmentation, seed=seed)
    out = []
    for original in np.asarray(images, dtype=np.float32):
        out.append(original)
        for _ in range(copies):
            x = original[None]
            for layer in layers:
                x = layer(x, training=True)
            out.append(np.asarray(x)[0])
    return [np.clip(image, 0, 255).astype(np.uint8) for image in out]


def build_model(
    blocks: list[dict],
    input_shape: tuple[int, int, int],
    num_classes: int,
    *,
    augmentation: Augmentation = Augmentation(),
    first_conv_kernels: list[np.ndarray] | None = None,
    freeze_first_conv: bool = False,
    seed: int = 0,
):
    """A Keras Functional model with named layers: input (0..255) -> optional augmentation ->
    rescaling to 0..1 -> the blocks -> Dense(num_classes, softmax) named 'output'.

    `first_conv_kernels` sets the first conv layer's filters to these 2-D kernels (one filter each,
    the same kernel on every input channel), e.g. Sobel x and y from the Convolution Lab;
    `freeze_first_conv` keeps them fixed while the rest learns.
    """
    blocks = [dict(block) for block in blocks]
    if first_conv_kernels is not None:
        first = next((b for b in blocks if b.get("type") == "conv"), None)
        if first is None:
            raise InvalidInput("There is no conv block to initialise with kernels.")
        if not first_conv_kernels:
            raise InvalidInput("Choose at least one kernel for the first conv layer.")
        sizes = {np.asarray(k).shape for k in first_conv_kernels}
        if len(sizes) != 1 or next(iter(sizes))[0] != next(iter(sizes))[1]:
            raise InvalidInput("The kernels for the first conv layer must all be square and of one size.")
        first["filters"] = len(first_conv_kernels)
        first["kernel"] = next(iter(sizes))[0]
    summarize(blocks, input_shape, num_classes)
    keras = _keras()
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for layer in augmentation_layers(augmentation, seed=seed):
        x = layer(x)
    x = keras.layers.Rescaling(1.0 / 255, name="rescale")(x)
    first_conv = None
    for block, name in zip(blocks, layer_names(blocks), strict=True):
        if block["type"] == "conv" and first_conv is None:
            first_conv = keras_layer(keras, block, name)
            x = first_conv(x)
        else:
            x = apply_block(keras, block, name, x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="output")(x)
    model = keras.Model(inputs, outputs, name="cnnviz_cnn")
    if first_conv_kernels is not None:
        weights, bias = first_conv.get_weights()
        for i, kernel in enumerate(first_conv_kernels):
            kernel = np.asarray(kernel, dtype=np.float32)
            # The input is rescaled to 0..1: scale each kernel to unit L1 norm so the first layer's
            # responses start in the range that random initialisation would give.
            kernel = kernel / max(float(np.abs(kernel).sum()), 1e-6)
            weights[..., i] = kernel[:, :, None] / weights.shape[2]
        first_conv.set_weights([weights, np.zeros_like(bias)])
        first_conv.trainable = not freeze_first_conv
    return model


def keras_summary(model: keras.Model) -> list[tuple[str, tuple, int]]:
    """(layer name, output shape without the batch axis, parameter count) per layer, as `summarize`
    counts them: the layers of a block made of several ('residual1_conv1', ... 'residual1') are one
    row, named after the block's last layer, with all their parameters."""
    import re

    several = "|".join(kind for kind, entry in BLOCKS.items() if entry.function is not None)
    inner = re.compile(rf"^((?:{several})\d+)_")
    totals: dict[str, int] = {}
    for layer in model.layers:
        match = inner.match(layer.name)
        block = match.group(1) if match else layer.name
        totals[block] = totals.get(block, 0) + layer.count_params()
    return [
        (layer.name, tuple(layer.output.shape[1:]), totals[layer.name])
        for layer in model.layers
        if layer.name in totals
    ]


def save_for_inference(model: keras.Model, path) -> None:
    """Save a model without its optimizer state (a third of the size): for exploring and predicting."""
    _keras()
    fresh = model.__class__.from_config(model.get_config())  # uncompiled: no optimizer to save
    fresh.set_weights(model.get_weights())
    fresh.save(path)


# --- transfer learning ----------------------------------------------------------------------------

BASE_NAME = "base"  # the nested feature extractor of a transfer model (CAMs name its layers 'base/conv2')
HEAD_UNITS = 128  # the new head's hidden Dense layer, as the tutorials' transfer-learning head had one
FLATTEN_LIMIT = 4096  # feature maps up to this many values are flattened; larger ones averaged per channel
_FLAT_HEADS = ("Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Dense")


def nested_base(model: keras.Model):
    """The feature extractor of a transfer model (its nested model named 'base'), or None for any other model."""
    keras = _keras()
    inner = next((layer for layer in model.layers if layer.name == BASE_NAME), None)
    return inner if isinstance(inner, keras.Model) else None


def feature_layers(base: keras.Model) -> list[str]:
    """The names of `base`'s layers that `transfer_model` keeps, in order: everything up to its last
    feature map, the last layer with an (H, W, C) output before the first Flatten, global pooling or
    Dense layer (or before the output becomes flat). Input preparation (rescaling, augmentation) is
    kept in the base but not listed. These are the layers `train_from` may name. For a transfer
    model, the layers of its nested base."""
    keras = _keras()
    inner = nested_base(base)
    if inner is not None:
        return feature_layers(inner)
    kept = []
    for layer in base.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if type(layer).__name__ in _FLAT_HEADS or len(layer.output.shape) != 4:
            break
        if ".preprocessing." not in type(layer).__module__:  # rescaling and augmentation are no features
            kept.append(layer.name)
    if not kept:
        raise InvalidInput(
            f"The model {base.name!r} has no layer with a feature map (an (H, W, C) output) before its head: "
            "a transfer-learning base needs convolutional layers."
        )
    return kept


def head_kind(feature_shape: tuple) -> str:
    """How the new head reads a base's last feature map (H, W, C): 'flatten' (where each feature is
    matters, as in the tutorials' head), or 'pool' (one mean per channel) for maps over FLATTEN_LIMIT
    values or of no fixed size, where flattening would give the head millions of weights."""
    if any(n is None for n in feature_shape) or int(np.prod(feature_shape)) > FLATTEN_LIMIT:
        return "pool"
    return "flatten"


def head_rows(feature_shape: tuple, num_classes: int) -> list:
    """The new head as summary rows (`cnnviz.blocks.LayerRow`: shapes, parameters, formulas), without TensorFlow."""
    from cnnviz.blocks import LayerRow

    channels = int(feature_shape[-1])
    if head_kind(feature_shape) == "flatten":
        size = int(np.prod(feature_shape))
        first = LayerRow("head_flatten", "flatten", (size,), 0, "no weights")
    else:
        size = channels
        first = LayerRow("head_pool", "gap", (size,), 0, "no weights (one mean per channel)")
    hidden = (size + 1) * HEAD_UNITS
    output = (HEAD_UNITS + 1) * num_classes
    return [
        first,
        LayerRow("head_dense", "dense", (HEAD_UNITS,), hidden, f"({size}+1)*{HEAD_UNITS} = {hidden}"),
        LayerRow("head_dropout", "dropout", (HEAD_UNITS,), 0, "no weights"),
        LayerRow("output", "dense", (num_classes,), output, f"({HEAD_UNITS}+1)*{num_classes} = {output}"),
    ]


def head_layers(feature_shape: tuple) -> list:
    """The new head's layers before its output: Flatten (or global average pooling, see `head_kind`),
    Dense(HEAD_UNITS, relu), Dropout(0.2), as the tutorials' transfer-learning head."""
    keras = _keras()
    if head_kind(feature_shape) == "flatten":
        first = keras.layers.Flatten(name="head_flatten")
    else:
        first = keras.layers.GlobalAveragePooling2D(name="head_pool")
    return [
        first,
        keras.layers.Dense(HEAD_UNITS, activation="relu", name="head_dense"),
        keras.layers.Dropout(0.2, name="head_dropout"),
    ]


def _check_train_from(base, train_from: str | None) -> list[str]:
    kept = feature_layers(base)
    if train_from is not None and train_from not in kept:
        raise InvalidInput(
            f"{train_from!r} is not a layer of the base that is kept; train from one of: {', '.join(kept)}."
        )
    return kept


def _set_trainable(nested, kept: list[str], train_from: str | None) -> None:
    start = len(kept) if train_from is None else kept.index(train_from)
    trainable = set(kept[start:])
    for layer in nested.layers:
        layer.trainable = layer.name in trainable


def feature_base(base: keras.Model, *, train_from: str | None = None):
    """A copy of `base`'s layers up to its last feature map (`feature_layers`), with their weights,
    as one model named 'base' that takes what `base` takes: the convolutional base a new head goes
    on (`transfer_model`, `cnnviz.box_model`). Frozen, except the layers at or after `train_from`.
    A transfer model's own base is the one copied. `base` itself is not changed."""
    keras = _keras()
    if not isinstance(base, keras.Model) or len(base.inputs) != 1 or len(base.inputs[0].shape) != 4:
        raise InvalidInput(
            "A transfer-learning base must be a Keras model with one image input (height, width, channels)."
        )
    inner = nested_base(base)
    if inner is not None:  # a transfer model's own base gets the new head
        base = inner
    kept = _check_train_from(base, train_from)

    # Up to the last feature map, through the base's own graph (branches and skips included).
    from cnnviz.features import layer_output

    features = keras.Model(base.inputs, layer_output(base, base.get_layer(kept[-1])), name=BASE_NAME)
    nested = keras.models.clone_model(features)  # fresh layers, same settings: `base` stays as it was
    for layer in nested.layers:
        if layer.weights:
            layer.set_weights(base.get_layer(layer.name).get_weights())
    _set_trainable(nested, kept, train_from)
    return nested


def transfer_model(
    base: keras.Model,
    num_classes: int,
    *,
    train_from: str | None = None,
    augmentation: Augmentation = Augmentation(),
    seed: int = 0,
):
    """A new classifier on a trained network's convolutional base: transfer learning.

    Keeps `base`'s layers up to its last feature map (`feature_layers`) with their weights, as one
    nested model named 'base' (so Inside and the CAMs can open it: 'base/conv2'), called in inference
    mode (the base's own augmentation and dropout pass images through, its batch normalization
    keeps the statistics it learned). Those layers are frozen, unless they are at or after
    the layer named `train_from` (fine-tuning: those keep learning, best with a learning rate about
    ten times lower). The new head is `head_layers` (Flatten 'head_flatten', or global average
    pooling 'head_pool' on a large map; Dense(128, relu) 'head_dense'; Dropout(0.2)) and
    Dense(num_classes, softmax) 'output'. The model takes the input `base` takes (e.g. uint8 (H, W, C) pixels 0..255,
    when the base does its own rescaling, as every cnnviz model does), optionally through
    `augmentation` layers first.

    Why it works (Yosinski et al., 2014, "How transferable are features in deep neural networks?"):
    the first layers of a trained CNN detect edges and strokes that suit many tasks, so a new task
    with few examples needs to learn only the head. `base` itself is not changed (its layers are copied).
    """
    keras = _keras()
    if not isinstance(base, keras.Model) or len(base.inputs) != 1 or len(base.inputs[0].shape) != 4:
        raise InvalidInput(
            "A transfer-learning base must be a Keras model with one image input (height, width, channels)."
        )
    if not 2 <= num_classes <= 1000:
        raise InvalidInput(f"A classifier needs 2 to 1000 classes, got {num_classes}.")
    keras.utils.set_random_seed(seed)
    nested = feature_base(base, train_from=train_from)
    inputs = keras.Input(shape=tuple(nested.inputs[0].shape[1:]), name="image")
    x = inputs
    for layer in augmentation_layers(augmentation, seed=seed):
        x = layer(x)
    # training=False keeps the base in inference mode even when fine-tuned, as Keras's transfer-learning
    # guide advises: batch normalization keeps the statistics learned on far more data, and the base's
    # own augmentation and dropout stay off (gradients still reach its trainable layers).
    x = nested(x, training=False)
    for layer in head_layers(tuple(nested.output.shape[1:])):
        x = layer(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name="cnnviz_transfer")


def fine_tune(model: keras.Model, *, train_from: str | None = None):
    """A copy of a trained transfer model (`transfer_model`'s, after training its head) whose base learns
    from the layer named `train_from` on, its trained head kept: the second step of transfer learning.
    Keras's transfer-learning guide does the same: train the new head on the frozen base first, then
    unfreeze the top of the base and train everything with a learning rate about ten times lower (a
    new head's large first errors would otherwise wreck the features the base brought)."""
    keras = _keras()
    inner = nested_base(model)
    if inner is None:
        raise InvalidInput(
            "Fine-tuning continues a transfer-learning model (one with a nested 'base'); this is not one."
        )
    kept = _check_train_from(inner, train_from)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for layer in copy.layers:
        layer.trainable = True
    _set_trainable(copy.get_layer(BASE_NAME), kept, train_from)
    return copy
