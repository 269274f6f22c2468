"""Pretrained ImageNet models from `keras.applications`, as in the tutorials' elephant and ResNet-50
examples: each with its own preprocessing and `decode_predictions`. Weights download once (from
Keras's servers) into the Keras cache; offline without a cached copy, a clear message says so."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from cnnviz.datasets import _socket_timeout
from cnnviz.errors import InvalidInput

ARCHITECTURES = {
    # name -> (keras.applications module, constructor, input side)
    "MobileNetV2": ("mobilenet_v2", "MobileNetV2", 224),
    "VGG16": ("vgg16", "VGG16", 224),
    "ResNet50": ("resnet50", "ResNet50", 224),
}


class ModelUnavailable(InvalidInput):
    """Pretrained weights (or ImageNet's class names) that this machine cannot download."""


@dataclass
class Pretrained:
    name: str
    model: object
    module: object  # keras.applications.<module>, for preprocess_input and decode_predictions

    @property
    def side(self) -> int:
        return ARCHITECTURES[self.name][2]

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """uint8 (H, W, 3) at the model's size -> what the model takes (its own scaling)."""
        return self.module.preprocess_input(np.asarray(image, dtype=np.float32)[None])

    def decode(self, probabilities: np.ndarray, top: int = 5) -> list[tuple[str, str, float]]:
        """(WordNet id, class name, probability), best first; needs ImageNet's class list once."""
        try:
            with _socket_timeout(20.0):
                decoded = self.module.decode_predictions(np.asarray(probabilities)[None], top=top)[0]
        except Exception as error:
            raise ModelUnavailable(
                f"ImageNet's class names are not downloaded yet and could not be fetched ({type(error).__name__}). "
                "They need the internet once (a 35 KB file); then they are read from the Keras cache."
            ) from None
        return [(wnid, name, float(p)) for wnid, name, p in decoded]


def load(name: str, *, weights: str | None = "imagenet") -> Pretrained:
    """Build a keras.applications model. `weights=None` gives random weights (no download), for tests."""
    if name not in ARCHITECTURES:
        raise InvalidInput(f"Unknown pretrained model {name!r}; choose one of {', '.join(ARCHITECTURES)}.")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import importlib

    import keras  # noqa: F401 - keras.applications needs keras loaded

    module_name, constructor, _ = ARCHITECTURES[name]
    module = importlib.import_module(f"keras.applications.{module_name}")
    try:
        with _socket_timeout(30.0):
            model = getattr(module, constructor)(weights=weights)
    except Exception as error:
        if weights is None:
            raise
        raise ModelUnavailable(
            f"{name}'s ImageNet weights are not downloaded yet and could not be fetched ({type(error).__name__}). "
            "They need the internet once; after that they are read from the Keras cache "
            "(~/.keras/models, or $KERAS_HOME/models). The shipped MNIST model works offline."
        ) from None
    return Pretrained(name, model, module)
