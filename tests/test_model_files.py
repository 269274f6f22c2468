"""Opening model files safely, and a hand-drawn digit through the canvas preprocessing and the
shipped default model."""

import io
import json
import zipfile

import cv2
import numpy as np
import pytest

from cnnviz import images, model_files, models
from cnnviz.errors import InvalidInput
from tests.conftest import ROOT

DEFAULT = ROOT / "cnnviz" / "data" / "models" / "mnist_default.keras"


def saved(model, tmp_path, name="m.keras") -> bytes:
    path = tmp_path / name
    model.save(path)
    return path.read_bytes()


def test_a_keras_file_round_trips(tf, tmp_path):
    model = models.build_model(models.preset("tinyvgg", (28, 28, 1)), (28, 28, 1), 4)
    loaded = model_files.load_model_file(saved(model, tmp_path))
    x = np.random.default_rng(0).integers(0, 255, (2, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)
    assert model_files.load_model_file(DEFAULT.read_bytes()).output_shape == (None, 10)


def test_a_lambda_layer_is_refused_and_never_runs(tf, tmp_path):
    import keras

    marker = tmp_path / "marker.txt"
    where = str(marker)

    def leave_a_mark(x):  # a side effect: if anything ran it while loading, the marker would appear
        with open(where, "w") as handle:
            handle.write("ran")
        return x

    inputs = keras.Input((8, 8, 1))
    outputs = keras.layers.Lambda(leave_a_mark)(inputs)
    data = saved(keras.Model(inputs, keras.layers.Flatten()(outputs)), tmp_path, "evil.keras")
    marker.unlink(missing_ok=True)  # building the model ran it once; only loading counts
    with pytest.raises(InvalidInput, match="'Lambda' layer"):
        model_files.load_model_file(data)
    assert not marker.exists()


def rewrite_config(data: bytes, change) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "config.json":
                config = json.loads(content)
                change(config)
                content = json.dumps(config).encode()
            target.writestr(item, content)
    return buffer.getvalue()


def test_custom_and_foreign_objects_are_refused(tf, tmp_path):
    data = saved(models.build_model(models.preset("tinyvgg", (28, 28, 1)), (28, 28, 1), 4), tmp_path)

    def custom_layer(config):
        layer = config["config"]["layers"][2]
        layer["module"], layer["registered_name"] = "my_package.layers", "Custom>Evil"

    with pytest.raises(InvalidInput, match="my_package"):
        model_files.load_model_file(rewrite_config(data, custom_layer))

    def tfsm(config):
        config["config"]["layers"][2]["class_name"] = "TFSMLayer"

    with pytest.raises(InvalidInput, match="TFSMLayer"):
        model_files.load_model_file(rewrite_config(data, tfsm))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "non-empty"),
        (b"\x89HDF\r\n\x1a\n" + b"\0" * 100, r"\.h5"),
        (b"not a zip at all", "not a readable"),
    ],
)
def test_bad_model_files(data, message):
    with pytest.raises(InvalidInput, match=message):
        model_files.load_model_file(data)


def test_isolated_loading_loads_good_files_and_refuses_bad_ones(tf, tmp_path):
    # The time limit is tested on its own (below): here a loaded machine, where starting a process that
    # imports TensorFlow took over the server's 60 s, must not turn a good file into a refused one.
    model = model_files.load_model_file_isolated(DEFAULT.read_bytes(), timeout_s=600)
    assert model.output_shape == (None, 10)
    source = zipfile.ZipFile(io.BytesIO(DEFAULT.read_bytes()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():  # the config passes; the weights are garbage
            target.writestr(item, b"garbage" * 100 if item.filename.endswith(".h5") else source.read(item))
    with pytest.raises(InvalidInput, match="could not be loaded"):
        model_files.load_model_file_isolated(buffer.getvalue(), timeout_s=600)


def test_isolated_loading_has_a_time_limit():
    with pytest.raises(InvalidInput, match="took over 0 s to load in a separate process"):
        model_files.load_model_file_isolated(DEFAULT.read_bytes(), timeout_s=0.01)


def test_a_zip_without_config_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.weights.h5", b"x")
    with pytest.raises(InvalidInput, match=r"no config\.json"):
        model_files.load_model_file(buffer.getvalue())


def draw(digit: int) -> np.ndarray:
    """A digit drawn with thick strokes on a 280x280 white page, as a mouse on the canvas would."""
    page = np.full((280, 280), 255, dtype=np.uint8)
    ink, width = 0, 22
    if digit == 0:
        cv2.ellipse(page, (140, 140), (60, 95), 0, 0, 360, ink, width)
    elif digit == 1:
        cv2.line(page, (150, 40), (140, 240), ink, width)
    elif digit == 7:
        cv2.line(page, (70, 60), (210, 60), ink, width)
        cv2.line(page, (210, 60), (120, 240), ink, width)
    elif digit == 4:
        cv2.line(page, (170, 40), (70, 170), ink, width)
        cv2.line(page, (70, 170), (220, 170), ink, width)
        cv2.line(page, (170, 40), (170, 250), ink, width)
    return page


def test_prepare_digit_is_mnist_like():
    digit, steps = images.prepare_digit(draw(7))
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    assert digit[0].max() == 0 and digit[:, 0].max() == 0  # a black margin, white ink
    ys, xs = np.nonzero(digit > 40)
    assert ys.max() - ys.min() <= 21 and xs.max() - xs.min() <= 21  # scaled into a 20x20 box
    mass = digit.astype(float) / digit.sum()
    rows, cols = np.indices(digit.shape)
    assert abs((rows * mass).sum() - 13.5) < 1 and abs((cols * mass).sum() - 13.5) < 1  # centred by mass
    assert [title for title, _ in steps][:2] == ["grayscale", "inverted"]
    with pytest.raises(InvalidInput, match="blank"):
        images.prepare_digit(np.full((50, 50), 255, np.uint8))


@pytest.mark.parametrize("digit", [0, 1, 4, 7])
def test_a_hand_drawn_digit_is_recognised_by_the_default_model(tf, digit):
    import keras

    model = keras.models.load_model(DEFAULT)
    prepared, _ = images.prepare_digit(draw(digit))
    probabilities = model.predict(prepared[None, ..., None], verbose=0)[0]
    assert probabilities.argmax() == digit, np.round(probabilities, 2)
