"""cnnviz.featurevis: gradient ascent on a network whose first layer is Sobel x and Sobel y finds vertical
edges for the first and horizontal ones for the second; a layer's grid is one batch with progress; the
top examples are the pictures a channel answers most, cut by the receptive window."""

import time

import numpy as np
import pytest

from cnnviz import featurevis, receptive
from cnnviz.errors import InvalidInput
from cnnviz.kernels import KERNELS


@pytest.fixture(scope="module")
def sobel(tf):
    """28x28 pixels -> rescale -> Conv2D 'edges' frozen to [Sobel x, Sobel y], ReLU -> pool -> dense head."""
    import keras

    inputs = keras.Input((28, 28, 1), name="image")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = keras.layers.Conv2D(2, 3, activation="relu", use_bias=False, trainable=False, name="edges")(x)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="output")(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    kernels = np.stack([KERNELS["sobel x"], KERNELS["sobel y"]], axis=-1).astype(np.float32)  # (3, 3, 2)
    model.get_layer("edges").set_weights([kernels[:, :, None, :]])
    return model


def edge_energy(picture: np.ndarray) -> tuple[float, float]:
    """(vertical-edge energy: changes along a row, horizontal-edge energy: changes down a column)."""
    p = picture[..., 0].astype(np.float64)
    return float((np.diff(p, axis=1) ** 2).sum()), float((np.diff(p, axis=0) ** 2).sum())


def test_sobel_channels_find_their_edges(sobel):
    grid = featurevis.maximize_layer(sobel, "edges", steps=64)
    assert grid.shape == (2, 28, 28, 1) and grid.dtype == np.float32
    assert grid.min() >= 0 and grid.max() <= 255
    vertical, horizontal = edge_energy(grid[0])  # Sobel x
    assert vertical > 4 * horizontal, (vertical, horizontal)
    vertical, horizontal = edge_energy(grid[1])  # Sobel y
    assert horizontal > 4 * vertical, (vertical, horizontal)
    single = featurevis.maximize_activation(sobel, "edges", 0, steps=64)
    np.testing.assert_allclose(single, grid[0], atol=0.5)  # the same seed, the same picture
    assert not np.array_equal(single, featurevis.maximize_activation(sobel, "edges", 0, steps=64, seed=1))


def test_dense_units_and_refusals(sobel):
    picture = featurevis.maximize_activation(sobel, "output", 2, steps=8)
    assert picture.shape == (28, 28, 1)
    with pytest.raises(InvalidInput, match="channels 0 to 1; got \\[5\\]"):
        featurevis.maximize_activation(sobel, "edges", 5)
    with pytest.raises(InvalidInput, match="no layer named 'conv9'"):
        featurevis.maximize_activation(sobel, "conv9", 0)
    with pytest.raises(InvalidInput, match="Steps must be a whole number from 1 to 1024"):
        featurevis.maximize_activation(sobel, "edges", 0, steps=0)


def test_grid_limit_for_imagenet_sized_inputs(tf):
    import keras

    inputs = keras.Input((224, 224, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(16, 3, name="c")(inputs))
    with pytest.raises(InvalidInput, match=r"16 channels of 224x224x3 pictures are too many .* at most 11"):
        featurevis.maximize_layer(model, "c", steps=1)
    assert featurevis.maximize_layer(model, "c", channels=[0, 15], steps=2).shape == (2, 224, 224, 3)


def test_top_examples_are_the_strongest_and_cut_by_the_window(sobel):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 30, (12, 28, 28, 1)).astype(np.uint8)
    images[7, :, 20:] = 255  # a strong vertical edge at column 20 of picture 7
    images[3, :, 5:] = 120  # a weaker one at column 5 of picture 3
    found = featurevis.top_examples(sobel, images, "pool", 0, k=3)
    indices, patches = found  # unpacks as (indices, patches)
    assert list(indices[:2]) == [7, 3] and found.scores[0] > found.scores[1] > found.scores[2]
    top, left, bottom, right = found.windows[0]
    assert right - left == 4 and bottom - top == 4 and left <= 19 < right  # a pool unit sees 4x4 pixels
    np.testing.assert_array_equal(patches[0], images[7, top:bottom, left:right])
    activation = np.asarray(featurevis._activation(sobel, "pool")[0](images[7:8].astype(np.float32)))[0, ..., 0]
    row, col = np.unravel_index(activation.argmax(), activation.shape)
    assert found.windows[0] == receptive.receptive_window(sobel, "pool", int(row), int(col))
    assert featurevis.top_examples(sobel, images[..., 0], "output", 1, k=2).windows[0] == (0, 0, 28, 28)


def test_a_layer_grid_of_the_shipped_model_with_progress():
    """Measured on the busy 2-core development machine: conv2's 64 channels, 128 steps: 2.6-4.3 s (goal < 10 s)."""
    from cnnviz.predict import default_model

    model = default_model()[0]
    calls = []
    # The CPU time this process spent, not the clock: a loaded machine stretches the clock (64 steps:
    # 7-8 s at a load of 20 on 2 cores, 15 s at 35), not the work (about 2 s of CPU either way).
    start = time.process_time()
    grid = featurevis.maximize_layer(model, "conv2", steps=64, on_progress=lambda *a: calls.append(a))
    elapsed = time.process_time() - start
    assert grid.shape == (64, 28, 28, 1) and calls[-1] == (64, 64) and len(calls) == 8
    assert elapsed < 10, f"{elapsed:.1f} s of CPU"  # half the default steps (the page's 128: goal 10 s)
    # Nearly every channel found a pattern, not flat grey (with 64 steps, two or three stay grey).
    assert (grid.std(axis=(1, 2, 3)) > 5).sum() >= 58
