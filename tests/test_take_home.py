"""cnnviz.take_home: the .tflite file answers as the Keras model does (TensorFlow's own interpreter),
and the take-home scripts, run as a learner runs them, print the right class for known pictures."""

import contextlib
import io
import runpy
import sys

import numpy as np
import pytest

from cnnviz import images, models, take_home
from cnnviz.errors import InvalidInput


@pytest.fixture(scope="module")
def ink_model(tf):
    """(28, 28, 1) -> mean ink -> "line" (class 0) below 0.1 of full white, "blob" above: a known answer."""
    import keras

    inputs = keras.Input((28, 28, 1), name="image")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(2, activation="softmax", name="output")(x)
    model = keras.Model(inputs, outputs)
    model.get_layer("output").set_weights([np.array([[-40.0, 40.0]], np.float32), np.array([4.0, -4.0], np.float32)])
    return model


@pytest.fixture(scope="module")
def colour_model(tf):
    """(64, 64, 3) -> channel means -> 'red' when red outweighs blue, else 'blue'."""
    import keras

    inputs = keras.Input((64, 64, 3), name="image")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(2, activation="softmax", name="output")(x)
    model = keras.Model(inputs, outputs)
    weights = np.array([[10.0, -10.0], [0.0, 0.0], [-10.0, 10.0]], np.float32)
    model.get_layer("output").set_weights([weights, np.zeros(2, np.float32)])
    return model


def test_tflite_outputs_equal_the_keras_models(tf):
    """A trained-size network with augmentation layers (inactive when predicting), random pictures."""
    blocks = models.preset("mnist-fast", (28, 28, 1))
    model = models.build_model(blocks, (28, 28, 1), 3, augmentation=models.Augmentation(rotation=15, zoom=0.1))
    content = take_home.tflite_bytes(model)
    assert content[4:8] == b"TFL3"  # the FlatBuffer's file identifier
    batch = np.random.default_rng(0).integers(0, 256, (6, 28, 28, 1)).astype(np.float32)
    expected = model.predict(batch, verbose=0)
    np.testing.assert_allclose(take_home.tflite_predict(content, batch), expected, atol=1e-5)


def test_tflite_of_a_transfer_model_equals_keras(tiny_model):
    """Own drawings train a new head on the digit network, nested as 'base': it converts the same."""
    model = models.transfer_model(tiny_model, 2, augmentation=models.Augmentation(rotation=10))
    batch = np.random.default_rng(2).integers(0, 256, (4, 8, 8, 1)).astype(np.float32)
    content = take_home.tflite_bytes(model)
    np.testing.assert_allclose(take_home.tflite_predict(content, batch), model.predict(batch, verbose=0), atol=1e-5)


def test_keras_file_loads_back_with_the_same_outputs(tf, colour_model, tmp_path):
    import keras

    path = tmp_path / "model.keras"
    path.write_bytes(take_home.keras_bytes(colour_model))
    batch = np.random.default_rng(1).integers(0, 256, (3, 64, 64, 3)).astype(np.float32)
    loaded = keras.models.load_model(path, compile=False)
    np.testing.assert_allclose(loaded.predict(batch, verbose=0), colour_model.predict(batch, verbose=0), atol=1e-6)


def run_script(folder, script: str, picture: np.ndarray, monkeypatch) -> str:
    """Run a take-home script in `folder` on `picture`, as `python predict.py picture.png`; its output."""
    (folder / "predict.py").write_text(script)
    (folder / "picture.png").write_bytes(images.encode_png(picture))
    monkeypatch.chdir(folder)
    monkeypatch.setattr(sys, "argv", ["predict.py", "picture.png"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(str(folder / "predict.py"), run_name="__main__")
    return out.getvalue().strip()


@pytest.mark.parametrize("fmt", ["keras", "tflite"])
def test_drawing_scripts_print_the_known_class(fmt, ink_model, tmp_path, monkeypatch):
    names = ("line", "blob")
    (tmp_path / "model.keras").write_bytes(take_home.keras_bytes(ink_model))
    (tmp_path / "model.tflite").write_bytes(take_home.tflite_bytes(ink_model))
    script = take_home.predict_script(names, (28, 28, 1), fmt=fmt)
    compile(script, "predict.py", "exec")
    page = np.full((280, 280), 255, np.uint8)  # dark ink on a light page, as a phone photo of paper
    blob = page.copy()
    blob[60:200, 80:220] = 0
    line = page.copy()
    line[40:240, 138:142] = 0
    assert run_script(tmp_path, script, blob, monkeypatch).startswith("blob (")
    assert run_script(tmp_path, script, line, monkeypatch).startswith("line (")


@pytest.mark.parametrize("fmt", ["keras", "tflite"])
def test_photo_scripts_print_the_known_class(fmt, colour_model, tmp_path, monkeypatch):
    (tmp_path / "model.keras").write_bytes(take_home.keras_bytes(colour_model))
    (tmp_path / "model.tflite").write_bytes(take_home.tflite_bytes(colour_model))
    script = take_home.predict_script(["red", "blue"], (64, 64, 3), fmt=fmt)
    photo = np.zeros((90, 160, 3), np.uint8)
    photo[:, :35] = (0, 0, 255)  # blue edges, cropped away: the centre square decides
    photo[:, 125:] = (0, 0, 255)
    photo[:, 35:125] = (230, 20, 20)
    assert run_script(tmp_path, script, photo, monkeypatch) == "red (100%)"


def test_labels_and_bad_format():
    assert take_home.labels_text(["circle", "zig zag"]) == "circle\nzig zag\n"
    with pytest.raises(InvalidInput, match="'keras' or 'tflite'"):
        take_home.predict_script(["a", "b"], (28, 28, 1), fmt="onnx")
