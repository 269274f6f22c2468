"""cnnviz.features: the filter grid the Trainer and Inside both draw (the layer-map tests are in test_cam)."""

import numpy as np
import pytest

from cnnviz import features
from cnnviz.errors import InvalidInput


def test_filter_grid_lays_out_signed_filters():
    weights = np.zeros((3, 3, 2, 5), np.float32)
    weights[0, 0, :, 0] = 1.0  # filter 0: positive top-left corner
    grid = features.filter_grid(weights, tile_side=6, columns=4)
    # 5 tiles of 6x6 (3x3 enlarged twice), 4 to a row with 2 px gaps: 2 rows
    assert grid.shape == (6 * 2 + 2, 6 * 4 + 2 * 3, 3) and grid.dtype == np.uint8
    red, white = grid[0, 0], grid[5, 5]
    assert red[0] > red[2] and (white >= 240).all()  # positive is red, zero is white


def test_filter_grid_shows_colour_filters_in_colour_and_caps_the_count():
    weights = np.random.default_rng(0).normal(size=(3, 3, 3, 100)).astype(np.float32)
    grid = features.filter_grid(weights, max_filters=64, tile_side=3, columns=16)
    assert grid.shape == (4 * 3 + 3 * 2, 16 * 3 + 15 * 2, 3)
    with pytest.raises(InvalidInput, match="kh, kw, c_in, n"):
        features.filter_grid(np.zeros((3, 3, 4)))


def test_augmented_samples_follow_the_original(tf):
    from cnnviz import models

    images = np.zeros((2, 8, 8, 1), np.uint8)
    images[:, :, :4] = 200  # bright left half
    out = models.augmented_samples(images, models.Augmentation(flip=True), copies=3, seed=1)
    assert len(out) == 2 * 4 and all(o.dtype == np.uint8 and o.shape == (8, 8, 1) for o in out)
    np.testing.assert_array_equal(out[0], images[0])  # the original first
    for copy in out[1:4]:  # each copy is the picture or its mirror
        assert np.array_equal(copy, images[0]) or np.array_equal(copy, images[0][:, ::-1])


def test_layers_with_maps_and_their_activations(tiny_model):
    image = np.arange(64, dtype=np.uint8).reshape(8, 8)  # (H, W) accepted for a one-channel model
    assert features.map_layers(tiny_model) == ["conv", "pool"]  # not the input, not the rescaling
    assert features.layer_output_shape(tiny_model, tiny_model.get_layer("pool")) == (3, 3, 4)
    maps = features.feature_maps(tiny_model, image)
    assert list(maps) == ["rescale", "conv", "pool", "flat", "hidden", "output"]
    np.testing.assert_allclose(maps["rescale"][..., 0], image / 255, rtol=1e-6)
    np.testing.assert_allclose(maps["flat"], maps["pool"].ravel(), rtol=1e-6)  # the forward pass, exactly
    np.testing.assert_allclose(maps["output"].sum(), 1.0, rtol=1e-5)
    with pytest.raises(InvalidInput, match="takes images of shape"):
        features.feature_maps(tiny_model, np.zeros((9, 9)))
