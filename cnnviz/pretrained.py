"""Pretrained ImageNet models from `keras.applications`, as in the tutorials' elephant and ResNet-50
examples: each with its own preprocessing and `decode_predictions`. Weights download once (from
Keras's servers) into the Keras cache; offline without a cached copy, a clear message says so.

The model the app opens takes plain 0..255 RGB pixels, like every other model in cnnviz: the
network's own preprocessing is its first layer ('preprocess'), and the pretrained layers follow in
the same flat graph, so feature maps and CAMs reach every layer of it."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from cnnviz.downloads import socket_timeout
from cnnviz.errors import InvalidInput

ARCHITECTURES = {
    # name -> (keras.applications module, constructor, input side, preprocessing mode, download size)
    "MobileNetV2": ("mobilenet_v2", "MobileNetV2", 224, "tf", "14 MB"),
    "VGG16": ("vgg16", "VGG16", 224, "caffe", "528 MB"),
    "ResNet50": ("resnet50", "ResNet50", 224, "caffe", "98 MB"),
}
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
# Where keras.applications fetches each network's ImageNet weights (the same file name and address it
# uses, so either finds the other's download in the cache). Fetching them before building the network
# makes an offline answer come in milliseconds instead of after seconds of building VGG16's graph.
_WEIGHTS = "https://storage.googleapis.com/tensorflow/keras-applications/"
WEIGHTS_FILES = {
    "MobileNetV2": _WEIGHTS + "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
    "VGG16": _WEIGHTS + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5",
    "ResNet50": _WEIGHTS + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5",
}


class ModelUnavailable(InvalidInput):
    """Pretrained weights (or ImageNet's class names) that this machine cannot download."""


@dataclass
class Pretrained:
    name: str
    model: object  # takes (224, 224, 3) RGB pixels 0..255; its first layer is the preprocessing
    module: object  # keras.applications.<module>, for preprocess_input and decode_predictions

    @property
    def side(self) -> int:
        """The input's height and width in pixels."""
        return ARCHITECTURES[self.name][2]

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """uint8 (H, W, 3) at the model's size -> what the original network takes (its own scaling):
        what the 'preprocess' layer computes, for comparison."""
        return self.module.preprocess_input(np.asarray(image, dtype=np.float32)[None])

    def decode(self, probabilities: np.ndarray, top: int = 5) -> list[tuple[str, str, float]]:
        """(WordNet id, class name, probability), best first; needs ImageNet's class list once."""
        try:
            with socket_timeout(20.0):
                decoded = self.module.decode_predictions(np.asarray(probabilities)[None], top=top)[0]
        except Exception as error:
            raise _names_unavailable(error) from None
        return [(wnid, name, float(p)) for wnid, name, p in decoded]

    def class_names(self) -> tuple[tuple[str, ...], str]:
        """The 1000 ImageNet class names, and '' or a note saying why they are numbers instead."""
        try:
            with socket_timeout(20.0):
                # Keras's public decoder on the 1000 one-hot rows: class i is row i's top entry.
                decoded = self.module.decode_predictions(np.eye(1000, dtype=np.float32), top=1)
        except Exception as error:
            return tuple(f"ImageNet class {i}" for i in range(1000)), str(_names_unavailable(error))
        return tuple(row[0][1].replace("_", " ") for row in decoded), ""


def _names_unavailable(error: Exception) -> ModelUnavailable:
    return ModelUnavailable(
        f"ImageNet's class names are not downloaded yet and could not be fetched ({type(error).__name__}). "
        "They need the internet once (a 35 KB file); then they are read from the Keras cache."
    )


def preprocess_layer(mode: str):
    """The network's preprocessing as a plain Keras layer on 0..255 RGB pixels (no Lambda):
    'tf' scales to -1..1; 'caffe' swaps RGB to BGR and subtracts ImageNet's mean, as a fixed 1x1
    convolution."""
    import keras

    if mode == "tf":
        return keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocess")
    swap = np.zeros((1, 1, 3, 3), dtype=np.float32)
    for out in range(3):
        swap[0, 0, 2 - out, out] = 1.0
    layer = keras.layers.Conv2D(3, 1, name="preprocess", trainable=False)
    layer.build((None, None, None, 3))
    layer.set_weights([swap, -np.asarray(CAFFE_MEAN_BGR, dtype=np.float32)])
    return layer


def load(name: str, *, weights: str | None = "imagenet") -> Pretrained:
    """Build a keras.applications model. `weights=None` gives random weights (no download), for tests."""
    if name not in ARCHITECTURES:
        raise InvalidInput(f"Unknown pretrained model {name!r}; choose one of {', '.join(ARCHITECTURES)}.")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import importlib

    import keras

    module_name, constructor, side, mode, size = ARCHITECTURES[name]
    module = importlib.import_module(f"keras.applications.{module_name}")
    try:
        with socket_timeout(30.0):
            if weights == "imagenet":  # in the cache, or downloaded now: before any building
                origin = WEIGHTS_FILES[name]
                keras.utils.get_file(origin.rpartition("/")[2], origin, cache_subdir="models")
            network = getattr(module, constructor)(weights=weights)
    except Exception as error:
        if weights is None:
            raise
        raise ModelUnavailable(
            f"{name}'s ImageNet weights are not downloaded yet and could not be fetched ({type(error).__name__}). "
            f"They need the internet once ({size}); after that they are read from the Keras cache "
            "(~/.keras/models, or $KERAS_HOME/models). The shipped MNIST model works offline."
        ) from None
    pixels = keras.Input((side, side, 3), name="image")
    # Functional.call on a symbolic tensor re-calls the network's own layers (their weights are
    # shared, not copied) after the preprocessing layer: one flat graph.
    outputs = network.call(preprocess_layer(mode)(pixels))
    return Pretrained(name, keras.Model(pixels, outputs, name=network.name), module)
