"""cnnviz.models.transfer_model: a trained base's feature layers with their weights, frozen or trained
from a chosen layer on, a new head; also on an ImageNet network with a weights file made here."""

import numpy as np
import pytest

from cnnviz import models
from cnnviz.errors import InvalidInput


@pytest.fixture(scope="module")
def base(tf):
    """A small trained-looking base as the Trainer builds one: augmentation, rescale, two conv+pool, a
    Dense head; weights made distinct by a seed."""
    blocks = [
        {"type": "conv", "filters": 4, "kernel": 3},
        {"type": "maxpool", "size": 2},
        {"type": "conv", "filters": 6, "kernel": 3},
        {"type": "maxpool", "size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 8},
    ]
    return models.build_model(blocks, (16, 16, 1), 10, augmentation=models.Augmentation(rotation=10), seed=3)


HEAD = ["head_dense/bias", "head_dense/kernel", "output/bias", "output/kernel"]  # the new head's weights


def _images(n=32, shape=(16, 16, 1), seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, *shape)).astype(np.uint8)


def _trainable_names(model):
    return sorted(weight.path for weight in model.trainable_weights)


def test_keeps_the_base_up_to_its_last_feature_map(base):
    assert models.feature_layers(base) == ["conv1", "maxpool1", "conv2", "maxpool2"]
    model = models.transfer_model(base, 3)
    assert model.input_shape == base.input_shape  # the input the base takes: raw 0..255 pixels
    nested = model.get_layer(models.BASE_NAME)
    assert nested.output.shape[1:] == (2, 2, 6)
    assert [layer.name for layer in model.layers[2:]] == ["head_flatten", "head_dense", "head_dropout", "output"]
    assert model.get_layer("output").units == 3
    for name in ("conv1", "conv2"):  # the same weights, in fresh layers
        for copied, original in zip(
            nested.get_layer(name).get_weights(), base.get_layer(name).get_weights(), strict=True
        ):
            np.testing.assert_array_equal(copied, original)
        assert nested.get_layer(name) is not base.get_layer(name)
    # The base's part of the forward pass gives exactly the base's own feature map.
    import keras

    images = _images(4)
    features = keras.Model(base.inputs, base.get_layer("maxpool2").output)
    np.testing.assert_allclose(nested.predict(images, verbose=0), features.predict(images, verbose=0), atol=1e-6)
    probabilities = model.predict(images, verbose=0)
    assert probabilities.shape == (4, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


def _fit(model, steps=3):
    from cnnviz import training

    training.compile_model(model, training.TrainConfig(learning_rate=0.05))
    labels = np.arange(32) % model.output_shape[-1]
    model.fit(_images(32), labels, batch_size=32, epochs=steps, verbose=0)


def _changed(before, after) -> bool:
    return any(not np.array_equal(b, a) for b, a in zip(before, after, strict=True))


def test_a_frozen_base_trains_only_the_head(base):
    model = models.transfer_model(base, 3)
    assert _trainable_names(model) == HEAD
    nested = model.get_layer(models.BASE_NAME)
    before = [layer.get_weights() for layer in nested.layers]
    head = model.get_layer("output").get_weights()
    _fit(model)
    assert not any(_changed(b, layer.get_weights()) for b, layer in zip(before, nested.layers, strict=True))
    assert _changed(head, model.get_layer("output").get_weights())
    np.testing.assert_array_equal(base.get_layer("conv2").get_weights()[0], nested.get_layer("conv2").get_weights()[0])


def test_train_from_trains_exactly_the_layers_from_there_on(base):
    model = models.transfer_model(base, 3, train_from="conv2")
    assert _trainable_names(model) == sorted(["conv2/bias", "conv2/kernel", *HEAD])
    nested = model.get_layer(models.BASE_NAME)
    conv1, conv2 = nested.get_layer("conv1").get_weights(), nested.get_layer("conv2").get_weights()
    _fit(model)
    assert not _changed(conv1, nested.get_layer("conv1").get_weights())
    assert _changed(conv2, nested.get_layer("conv2").get_weights())
    everything = models.transfer_model(base, 3, train_from="conv1")
    assert len(everything.trainable_weights) == 8  # conv1, conv2 and the head's two Dense, kernels and biases
    original = base.get_layer("conv2").get_weights()[0]
    np.testing.assert_array_equal(
        original, models.transfer_model(base, 3).get_layer("base").get_layer("conv2").get_weights()[0]
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"train_from": "dense1"}, r"'dense1' is not a layer of the base.*conv1, maxpool1, conv2, maxpool2"),
        ({"train_from": "nope"}, "not a layer of the base"),
    ],
)
def test_bad_train_from_is_refused_with_the_choices(base, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        models.transfer_model(base, 3, **kwargs)


def test_a_base_without_feature_maps_is_refused(tf):
    dense = models.build_model(models.preset("dense-only", (8, 8, 1)), (8, 8, 1), 3)
    with pytest.raises(InvalidInput, match="no layer with a feature map"):
        models.transfer_model(dense, 2)
    with pytest.raises(InvalidInput, match="2 to 1000 classes"):
        models.transfer_model(dense, 1)


def test_cams_and_feature_maps_open_the_nested_base(base):
    from cnnviz import cam, features

    model = models.transfer_model(base, 3)
    assert cam.last_conv_layer(model) == "base/conv2"
    heat = cam.grad_cam(model, _images(1)[0], class_index=1)
    assert heat.shape == (16, 16) and np.isfinite(heat).all()
    assert "base" in features.map_layers(model)


def test_an_imagenet_network_as_base_from_a_weights_file(tf, tmp_path):
    """MobileNetV2 with weights saved here and loaded back (no download): its top block fine-tuned."""
    import keras

    keras.utils.set_random_seed(0)
    made = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), alpha=0.35)
    path = tmp_path / "mobilenet.weights.h5"
    made.save_weights(path)
    network = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), alpha=0.35)
    network.load_weights(path)
    kept = models.feature_layers(network)
    assert kept[-1] == "out_relu" and "global_average_pooling2d" not in kept
    tuned = models.transfer_model(network, 2, train_from="Conv_1")
    nested = tuned.get_layer(models.BASE_NAME)
    weights = nested.get_layer("Conv_1").get_weights()[0]
    np.testing.assert_array_equal(weights, made.get_layer("Conv_1").get_weights()[0])  # from the file
    assert not nested.get_layer("block_16_project").trainable and nested.get_layer("Conv_1_bn").trainable
    # Conv_1's kernel, Conv_1_bn's scale and shift, and the head: out_relu has no weights.
    assert _trainable_names(tuned) == sorted(["Conv_1/kernel", "Conv_1_bn/beta", "Conv_1_bn/gamma", *HEAD])


def test_a_saved_transfer_model_loads_safely_and_is_explained(base, tmp_path):
    """What a run saves opens as Inside and Predict open it: safe loading, CAMs, the unfamiliar-picture check."""
    from cnnviz import cam, model_files, predict

    model = models.transfer_model(base, 3, train_from="conv2")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = model_files.load_model_file(path.read_bytes())
    images = _images(60)
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)
    assert cam.conv_layers(loaded)[:2] == ["base/conv1", "base/maxpool1"]
    reference = predict.Reference.of(loaded, images, labels=np.arange(60) % 3)
    scores = reference.scores(loaded, images[:2].astype(np.float32))
    assert np.isfinite(scores.energy).all()


def test_the_head_rows_count_what_keras_counts(base, tf):
    from cnnviz.blocks import total_params

    model = models.transfer_model(base, 3)
    nested = model.get_layer(models.BASE_NAME)
    rows = models.head_rows((2, 2, 6), 3)
    assert [row.name for row in rows] == ["head_flatten", "head_dense", "head_dropout", "output"]
    assert nested.count_params() + total_params(rows) == model.count_params()
    assert rows[1].formula == "(24+1)*128 = 3200"
    # A large map (an ImageNet network's 7x7x1280) is averaged per channel: a small head.
    assert models.head_kind((7, 7, 1280)) == "pool" and models.head_kind((5, 5, 64)) == "flatten"
    assert models.head_rows((7, 7, 1280), 2)[1].params == (1280 + 1) * 128


def test_fine_tuning_keeps_the_trained_head_and_unfreezes_the_top(base):
    model = models.transfer_model(base, 3)  # (in the app, trained on the frozen base first)
    assert models.feature_layers(model) == ["conv1", "maxpool1", "conv2", "maxpool2"]  # its base's layers
    tuned = models.fine_tune(model, train_from="conv2")
    assert _trainable_names(tuned) == sorted(["conv2/bias", "conv2/kernel", *HEAD])
    for kept, trained in zip(tuned.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, trained)  # the head and the base as trained: nothing new
    images = _images(4)
    np.testing.assert_allclose(tuned.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)
    assert _trainable_names(model) == HEAD  # the model it came from is unchanged
    again = models.transfer_model(model, 5)  # another task: a new head on the same base
    assert again.output_shape == (None, 5) and again.get_layer("base").get_layer("conv2").trainable is False
    with pytest.raises(InvalidInput, match="not one"):
        models.fine_tune(base, train_from="conv2")
    with pytest.raises(InvalidInput, match="train from one of"):
        models.fine_tune(model, train_from="dense1")
