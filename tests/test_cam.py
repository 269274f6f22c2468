"""cnnviz.features and cnnviz.cam: activations equal a forward pass; every CAM method points at the
evidence in a model trained here, on images where the evidence sits at a known place."""

import numpy as np
import pytest

from cnnviz import cam, features
from cnnviz.errors import InvalidInput
from tests.pointing import BOX, SIDE, make_images, small_network


@pytest.fixture(scope="module")
def trained(tf):
    model = small_network(2)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y, _ = make_images(1200, seed=1)
    model.fit(x, y, epochs=12, batch_size=32, verbose=0)
    return model


def test_feature_maps_have_declared_shapes_and_forward_values(trained):
    x, _, _ = make_images(1, seed=9)
    maps = features.feature_maps(trained, x[0])
    assert list(maps) == ["rescale", "conv1", "pool1", "conv2", "gap", "output"]
    for layer in trained.layers[1:]:
        assert maps[layer.name].shape == tuple(layer.output.shape[1:])
    np.testing.assert_allclose(maps["output"], trained.predict(x, verbose=0)[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(maps["rescale"][..., 0], x[0, ..., 0] / 255, rtol=1e-6)
    assert features.feature_maps(trained, x[0, ..., 0])["conv1"].shape == (32, 32, 8)  # (H, W) accepted
    with pytest.raises(InvalidInput, match="shape"):
        features.feature_maps(trained, np.zeros((28, 28)))


def test_channel_normalisation_is_the_tutorials():
    channel = np.array([[0.0, 1.0], [2.0, 3.0]])
    expected = np.clip((channel - 1.5) / channel.std() * 64 + 128, 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(features.normalize_channel(channel), expected)
    assert features.normalize_channel(np.zeros((3, 3))).tolist() == [[128] * 3] * 3
    assert features.channel_grid(np.zeros((4, 4, 10)), columns=5).shape == (9, 24, 3)


def test_signed_channel_grid_draws_every_channel_on_one_scale():
    from cnnviz import display

    activation = np.zeros((2, 3, 2), dtype=np.float32)
    activation[0, 0] = [2.0, 1.0]  # channel 0 twice as strong as channel 1
    activation[1, 2] = [-2.0, -1.0]
    grid = features.channel_grid(activation, mode="signed", limit=2.0)
    assert grid.shape == (2, 3 * 2 + features.GRID_GAP, 3)
    lut = display.colormap_lut("RdBu_r")
    np.testing.assert_array_equal(grid[0, 0], lut[255])  # +2 at the limit: the reddest red
    np.testing.assert_array_equal(grid[0, 3 + features.GRID_GAP], lut[191])  # +1: (1 / 2 + 1) * 127.5
    np.testing.assert_array_equal(grid[1, 2], lut[0])  # -2: the bluest blue
    # Without a limit: one for all channels shown (the 99.5th percentile of the magnitudes).
    limit = display.signed_limit(activation)
    np.testing.assert_array_equal(
        features.channel_grid(activation, mode="signed"), features.channel_grid(activation, mode="signed", limit=limit)
    )
    assert features.channel_image(activation[..., 1], "signed", limit=2.0).shape == (2, 3, 3)
    np.testing.assert_array_equal(
        features.channel_image(activation[..., 1], "minmax"), [[255, 127, 127], [127, 127, 0]]
    )


@pytest.mark.parametrize("method", list(cam.METHODS))
def test_every_method_points_at_the_evidence(trained, method):
    x, y, boxes = make_images(60, seed=2)
    predicted = trained.predict(x, verbose=0).argmax(axis=1)
    assert (predicted == y).mean() > 0.9  # the model learned the task
    hits = total = 0
    for image, label, guess, (top, left) in zip(x, y, predicted, boxes, strict=True):
        if guess != label:
            continue
        heat = cam.class_activation_map(trained, image, method)
        assert heat.shape == (SIDE, SIDE) and heat.dtype == np.float32
        assert heat.min() >= 0 and heat.max() <= 1 and np.isfinite(heat).all()
        row, col = np.unravel_index(heat.argmax(), heat.shape)
        hits += top - 3 <= row < top + BOX + 3 and left - 3 <= col < left + BOX + 3
        total += 1
    # Input gradients are famously speckled (Adebayo et al., 2018): most images for saliency, 80% for CAMs.
    needed = 0.5 if method == "saliency" else 0.8
    assert hits / total >= needed, f"{method}: the peak fell on the object in {hits} of {total} images"


def test_grad_cam_contract_and_layers(trained):
    x, _, _ = make_images(1, seed=5)
    heat = cam.grad_cam(trained, x[0], class_index=1, layer="conv1")
    assert heat.shape == (SIDE, SIDE) and heat.dtype == np.float32 and 0 <= heat.min() <= heat.max() <= 1
    assert cam.last_conv_layer(trained) == "conv2"
    with pytest.raises(InvalidInput, match="no layer named"):
        cam.grad_cam(trained, x[0], layer="conv9")
    with pytest.raises(InvalidInput, match="not a feature map"):
        cam.grad_cam(trained, x[0], layer="gap")
    with pytest.raises(InvalidInput, match="Class 7"):
        cam.grad_cam(trained, x[0], class_index=7)


def as_transfer_model(trained, tmp_path):
    """The trained model rebuilt the way transfer learning builds one: a base model nested as one layer,
    with the head on top; the same weights, saved and loaded back."""
    import keras

    base_in = keras.Input((SIDE, SIDE, 1))
    h = keras.layers.Rescaling(1 / 255, name="rescale")(base_in)
    for name in ("conv1", "pool1", "conv2"):
        h = keras.layers.deserialize(keras.layers.serialize(trained.get_layer(name)))(h)
    base = keras.Model(base_in, h, name="base")
    inputs = keras.Input((SIDE, SIDE, 1), name="image")
    h = keras.layers.GlobalAveragePooling2D(name="gap")(base(inputs))
    outputs = keras.layers.Dense(2, activation="softmax", name="output")(h)
    model = keras.Model(inputs, outputs)
    for name in ("conv1", "conv2"):
        base.get_layer(name).set_weights(trained.get_layer(name).get_weights())
    model.get_layer("output").set_weights(trained.get_layer("output").get_weights())
    model.save(tmp_path / "transfer.keras")
    return keras.models.load_model(tmp_path / "transfer.keras", compile=False)


def test_cams_reach_inside_a_nested_base_model(trained, tmp_path):
    nested = as_transfer_model(trained, tmp_path)
    assert cam.conv_layers(nested) == ["base/conv1", "base/pool1", "base/conv2"]
    assert cam.last_conv_layer(nested) == "base/conv2"
    x, _, _ = make_images(4, seed=6)
    for image in x:
        for method in cam.METHODS:
            for flat_layer in ("conv1", "conv2"):
                np.testing.assert_allclose(
                    cam.class_activation_map(nested, image, method, layer=f"base/{flat_layer}"),
                    cam.class_activation_map(trained, image, method, layer=flat_layer),
                    atol=1e-4,
                )
        np.testing.assert_allclose(cam.grad_cam(nested, image), cam.grad_cam(trained, image), atol=1e-4)
        np.testing.assert_allclose(cam.saliency(nested, image), cam.saliency(trained, image), atol=1e-4)
    maps = features.feature_maps(nested, x[0])
    assert list(maps) == ["base", "gap", "output"] and maps["base"].shape == (16, 16, 16)
    with pytest.raises(InvalidInput, match="no layer named"):
        cam.grad_cam(nested, x[0], layer="base/conv9")
    with pytest.raises(InvalidInput, match="one nested model deep"):
        cam.grad_cam(nested, x[0], layer="gap/conv1")


def test_an_untrained_or_dead_model_gives_a_flat_map(tf):
    import keras

    inputs = keras.Input((16, 16, 1))
    h = keras.layers.Conv2D(4, 3, activation="relu", kernel_initializer="zeros", name="conv")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(h))
    dead = keras.Model(inputs, outputs)
    for method in cam.METHODS:
        heat = cam.class_activation_map(dead, np.ones((16, 16, 1)), method)
        assert np.isfinite(heat).all() and heat.max() == 0


def test_the_default_layer_is_the_last_convolution_not_the_pooling_after_it(tf):
    """The shipped model's shape: conv -> pool -> conv (11x11) -> pool (5x5) -> dense. Grad-CAM
    looks at conv2's 11x11 map; through batch norm and activation layers that keep the map, it
    takes the block's output, as keras.io does."""
    import keras

    inputs = keras.Input((28, 28, 1))
    h = keras.layers.Conv2D(4, 3, activation="relu", name="conv1")(inputs)
    h = keras.layers.MaxPooling2D(name="pool1")(h)
    h = keras.layers.Conv2D(8, 3, activation="relu", name="conv2")(h)
    h = keras.layers.MaxPooling2D(name="pool2")(h)
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(h))
    plain = keras.Model(inputs, outputs)
    assert cam.conv_layers(plain) == ["conv1", "pool1", "conv2", "pool2"]
    assert cam.last_conv_layer(plain) == "conv2"
    assert cam.map_shape(plain, "conv2") == (11, 11, 8) and cam.map_shape(plain, "pool2") == (5, 5, 8)
    with pytest.raises(InvalidInput, match="conv9"):
        cam.map_shape(plain, "conv9")

    h = keras.layers.Conv2D(8, 3, name="conv")(inputs)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.ReLU(name="relu")(h)
    h = keras.layers.MaxPooling2D(name="pool")(h)
    block = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(h)))
    assert cam.last_conv_layer(block) == "relu"

    h = keras.layers.MaxPooling2D(name="only_pool")(inputs)  # no convolution at all: the last map
    assert cam.last_conv_layer(keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(h)))) == "only_pool"


def test_the_tiny_model_s_maps_and_default_layer(tiny_model):
    assert cam.conv_layers(tiny_model) == ["conv", "pool"]
    assert cam.last_conv_layer(tiny_model) == "conv" and cam.map_shape(tiny_model, "conv") == (6, 6, 4)
    heat = cam.grad_cam(tiny_model, np.full((8, 8, 1), 128, np.uint8))
    assert heat.shape == (8, 8) and heat.dtype == np.float32 and heat.min() >= 0 and heat.max() <= 1
