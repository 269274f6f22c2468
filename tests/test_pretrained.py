"""cnnviz.pretrained: the real loading path with random weights, and clear messages offline."""

import urllib.request

import numpy as np
import pytest

from cnnviz import cam, features, pretrained
from cnnviz.errors import InvalidInput


@pytest.fixture
def offline(tmp_path, monkeypatch):
    import keras.src.backend.config as keras_config

    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))  # an empty Keras cache

    def no_network(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)


def test_mobilenet_from_a_weights_file_takes_pixels_and_explains(tf, tmp_path):
    """The real loading path with a weights file the test makes: the app's model (preprocessing as its
    first layer, 0..255 pixels in) gives exactly what the original network gives on preprocess_input."""
    import keras

    original = keras.applications.MobileNetV2(weights=None)
    original.save_weights(tmp_path / "mobilenet.weights.h5")
    net = pretrained.load("MobileNetV2", weights=str(tmp_path / "mobilenet.weights.h5"))
    images = np.random.default_rng(0).integers(0, 256, (2, net.side, net.side, 3)).astype(np.float32)
    expected = original.predict(keras.applications.mobilenet_v2.preprocess_input(images.copy()), verbose=0)
    np.testing.assert_allclose(net.model.predict(images, verbose=0), expected, rtol=1e-4, atol=1e-6)
    assert net.model.layers[1].name == "preprocess" and net.model.count_params() == original.count_params()
    assert cam.last_conv_layer(net.model) == "out_relu"
    heat = cam.grad_cam(net.model, images[0])
    assert heat.shape == (224, 224) and np.isfinite(heat).all()
    maps = features.feature_maps(net.model, images[0])
    assert maps["preprocess"].min() >= -1.0 and maps["preprocess"].max() <= 1.0
    assert maps["predictions"].shape == (1000,)


def test_caffe_preprocessing_layer_equals_keras():
    import keras

    images = np.random.default_rng(1).integers(0, 256, (2, 8, 8, 3)).astype(np.float32)
    layer = pretrained.preprocess_layer("caffe")
    expected = keras.applications.resnet50.preprocess_input(images.copy())
    np.testing.assert_allclose(np.asarray(layer(images)), expected, rtol=1e-5, atol=1e-3)


def test_offline_weights_say_what_is_needed(tf, offline):
    import time

    with pytest.raises(pretrained.ModelUnavailable, match="need the internet once"):
        pretrained.load("MobileNetV2")
    started = time.process_time()  # CPU time: building the network would cost seconds of it, busy machine or not
    with pytest.raises(pretrained.ModelUnavailable, match="528 MB"):
        pretrained.load("VGG16")
    assert time.process_time() - started < 1.0  # said before building the network (that took 3-5 s)


def test_offline_class_names_say_what_is_needed(tf, offline, monkeypatch):
    import keras.src.applications.imagenet_utils as imagenet_utils

    net = pretrained.Pretrained("MobileNetV2", None, __import__("keras").applications.mobilenet_v2)
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", None)  # Keras's cache of the downloaded list
    with pytest.raises(pretrained.ModelUnavailable, match="class names"):
        net.decode(np.full(1000, 1e-3))


def test_offline_class_names_fall_back_to_numbers(tf, offline, monkeypatch):
    import keras.src.applications.imagenet_utils as imagenet_utils

    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", None)
    net = pretrained.Pretrained("VGG16", None, __import__("keras").applications.vgg16)
    names, note = net.class_names()
    assert names[3] == "ImageNet class 3" and len(names) == 1000 and "class names" in note


def test_class_names_come_from_keras_public_decoder(tf, offline, monkeypatch):
    """With the class list in Keras's cache, names come through `decode_predictions` (public API)."""
    import keras.src.applications.imagenet_utils as imagenet_utils

    fake = {str(i): [f"n{i:08d}", f"class_number_{i}"] for i in range(1000)}
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", fake)
    net = pretrained.Pretrained("VGG16", None, __import__("keras").applications.vgg16)
    names, note = net.class_names()
    assert note == "" and names[0] == "class number 0" and names[999] == "class number 999"


def test_unknown_model():
    with pytest.raises(InvalidInput, match="MobileNetV2"):
        pretrained.load("AlexNet")
