"""cnnviz.pretrained: the real loading path with random weights, and clear messages offline."""

import urllib.request

import numpy as np
import pytest

from cnnviz import cam, pretrained
from cnnviz.errors import InvalidInput


@pytest.fixture
def offline(tmp_path, monkeypatch):
    import keras.src.backend.config as keras_config

    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))  # an empty Keras cache

    def no_network(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)


def test_mobilenet_with_random_weights_predicts_and_explains(tf):
    net = pretrained.load("MobileNetV2", weights=None)
    image = np.random.default_rng(0).integers(0, 256, (net.side, net.side, 3)).astype(np.uint8)
    batch = net.preprocess(image)
    assert batch.shape == (1, 224, 224, 3) and batch.min() >= -1.0 and batch.max() <= 1.0
    probabilities = net.model.predict(batch, verbose=0)[0]
    assert probabilities.shape == (1000,)
    heat = cam.grad_cam(net.model, batch[0])
    assert heat.shape == (224, 224) and np.isfinite(heat).all()


def test_offline_weights_say_what_is_needed(tf, offline):
    with pytest.raises(pretrained.ModelUnavailable, match="need the internet once"):
        pretrained.load("MobileNetV2")


def test_offline_class_names_say_what_is_needed(tf, offline):
    import keras.src.applications.imagenet_utils as imagenet_utils

    net = pretrained.Pretrained("MobileNetV2", None, __import__("keras").applications.mobilenet_v2)
    imagenet_utils.CLASS_INDEX = None
    with pytest.raises(pretrained.ModelUnavailable, match="class names"):
        net.decode(np.full(1000, 1e-3))


def test_unknown_model():
    with pytest.raises(InvalidInput, match="MobileNetV2"):
        pretrained.load("AlexNet")
