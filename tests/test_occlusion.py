"""cnnviz.cam.occlusion: the pointing test the CAM methods pass, known answers on a hand-made model, the
limits, and its speed on the shipped model."""

import time

import numpy as np
import pytest

from cnnviz import cam
from cnnviz.errors import InvalidInput
from tests import pointing
from tests.pointing import BOX, SIDE, small_network


def make_images(count: int, seed: int):
    """The CAM tests' pictures plus a third class, noise alone. With two classes "X" can be learned as
    "no square" and covering the X changes nothing: occlusion finds only evidence a class needs, so here
    each object class needs its own."""
    return pointing.make_images(count, seed, classes=3)


@pytest.fixture(scope="module")
def trained(tf):
    """The CAM tests' model on these three classes (5 s of training)."""
    import keras

    model = small_network(3)
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    x, y, _ = make_images(600, seed=1)
    model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    return model


def test_occlusion_points_at_the_evidence(trained):
    x, y, boxes = make_images(45, seed=2)
    predicted = trained.predict(x, verbose=0).argmax(axis=1)
    assert (predicted == y).mean() > 0.9  # the model learned the task
    hits = total = 0
    for image, label, guess, (top, left) in zip(x, y, predicted, boxes, strict=True):
        if guess != label or label == 2:  # noise alone has no place to point at
            continue
        drop = cam.occlusion(trained, image)
        assert drop.shape == (SIDE, SIDE) and drop.dtype == np.float32
        assert -1 <= drop.min() <= drop.max() <= 1
        row, col = np.unravel_index(drop.argmax(), drop.shape)
        hits += top - 3 <= row < top + BOX + 3 and left - 3 <= col < left + BOX + 3
        total += 1
    assert hits / total >= 0.8, f"the largest drop fell on the object in {hits} of {total} images"


@pytest.fixture(scope="module")
def bright_counter(tf):
    """p(class 1) = softmax of [0, mean brightness of the top-left 4x4 corner / 255 * 8]: only that corner
    matters, and covering it with grey (127.5) lowers it from white (255) and raises it from black."""
    import keras

    inputs = keras.Input((8, 8, 1))
    corner = keras.layers.Cropping2D(((0, 4), (0, 4)))(inputs)
    mean = keras.layers.GlobalAveragePooling2D()(corner)
    logits = keras.layers.Dense(2, name="logits")(mean)
    model = keras.Model(inputs, logits)  # ends in logits: occlusion takes their softmax
    model.get_layer("logits").set_weights([np.array([[0.0, 8 / 255]], np.float32), np.zeros(2, np.float32)])
    return model


def softmax1(value):
    return 1 / (1 + np.exp(-value))


def test_occlusion_known_answers(bright_counter):
    white = np.full((8, 8), 255, np.uint8)
    drop = cam.occlusion(bright_counter, white, class_index=1, patch=4, stride=4, fill=127.5)
    # Four placements; only the top-left one covers the corner: mean 255 -> 127.5.
    expected = softmax1(8.0) - softmax1(4.0)
    np.testing.assert_allclose(drop[:4, :4], expected, rtol=1e-5)
    np.testing.assert_allclose(drop[4:, :], 0, atol=1e-6)
    np.testing.assert_allclose(drop[:, 4:], 0, atol=1e-6)
    # Black: covering with grey raises the class, so the drop is negative there.
    drop = cam.occlusion(bright_counter, np.zeros((8, 8)), class_index=1, patch=4, stride=4, fill=127.5)
    np.testing.assert_allclose(drop[:4, :4], softmax1(0.0) - softmax1(4.0), rtol=1e-5)
    # Overlapping placements average: with stride 2 the pixel (1, 1) is covered by one placement (0, 0),
    # the pixel (2, 2) by (0, 0), (0, 2), (2, 0), (2, 2): each covers half or all of the corner.
    drop = cam.occlusion(bright_counter, white, class_index=1, patch=4, stride=2, fill=127.5)
    np.testing.assert_allclose(drop[1, 1], softmax1(8.0) - softmax1(4.0), rtol=1e-5)
    quarter = softmax1(8.0) - softmax1(8.0 - 4.0 / 4)  # a placement covering 4 of the corner's 16 pixels
    half = softmax1(8.0) - softmax1(8.0 - 4.0 / 2)
    np.testing.assert_allclose(drop[2, 2], (softmax1(8.0) - softmax1(4.0) + 2 * half + quarter) / 4, rtol=1e-5)
    # By default the square has the picture's median colour: on an all-white picture, nothing changes.
    np.testing.assert_allclose(cam.occlusion(bright_counter, white, class_index=1), 0, atol=1e-6)


def test_occlusion_refuses_bad_settings_and_too_much_work(bright_counter):
    image = np.zeros((8, 8), np.uint8)
    with pytest.raises(InvalidInput, match="patch must be a whole number of pixels from 1 to 8"):
        cam.occlusion(bright_counter, image, patch=9)
    with pytest.raises(InvalidInput, match="stride must be a whole number from 1 to the patch size"):
        cam.occlusion(bright_counter, image, patch=2, stride=3)
    with pytest.raises(InvalidInput, match="fill must be a pixel value from 0 to 255"):
        cam.occlusion(bright_counter, image, fill=300)
    with pytest.raises(InvalidInput, match="Class 5 does not exist"):
        cam.occlusion(bright_counter, image, class_index=5)
    assert cam.default_occlusion((28, 28)) == (9, 3) and cam.default_occlusion((224, 224)) == (74, 24)


def test_occlusion_limit_names_the_limit_and_a_stride_that_fits(tf):
    import keras

    inputs = keras.Input((224, 224, 3))
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(inputs))
    model = keras.Model(inputs, outputs)
    photo = np.zeros((224, 224, 3), np.uint8)
    with pytest.raises(InvalidInput, match=r"makes 2401 covered copies .* the limit is 100 copies .* at least 22"):
        cam.occlusion(model, photo, patch=32, stride=4)
    calls = []
    drop = cam.occlusion(model, photo, patch=32, stride=22, on_progress=lambda *a: calls.append(a))
    assert drop.shape == (224, 224) and calls[-1] == (100, 100) and len(calls) == 8  # 10 x 10 copies, 13 a call


def test_occlusion_is_fast_on_the_shipped_model():
    from cnnviz import datasets
    from cnnviz.predict import default_model

    model = default_model()[0]
    digits = datasets.load("mnist-bundled").x_test[:10]
    cam.occlusion(model, digits[0])  # the first call builds the model's graph
    # CPU time, which a loaded machine does not stretch (0.04 s; the clock said 0.2-0.3 s at a load of 20-35).
    start = time.process_time()
    cam.occlusion(model, digits[1])  # 9x9 patch every 3 pixels: 64 copies in one call
    elapsed = time.process_time() - start
    assert elapsed < 0.3, f"{elapsed * 1000:.0f} ms of CPU"
    # Covering part of most digits costs their class some probability (not a "1": any part of it will do).
    drops = [cam.occlusion(model, digit).max() for digit in digits]
    assert sum(drop > 0.15 for drop in drops) >= 6, np.round(drops, 3)
