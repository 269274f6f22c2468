"""cnnviz.models: the summary's shapes and parameter counts equal Keras's; bad architectures are named."""

import numpy as np
import pytest

from cnnviz import kernels, models
from cnnviz.blocks import summarize, total_params
from cnnviz.errors import InvalidInput


# ResNet-34 (21 million parameters) is built once, at its own size: test_resnet34_is_the_tutorials.
@pytest.mark.parametrize("name", [name for name in models.PRESETS if name != "resnet-34"])
@pytest.mark.parametrize("shape", [(28, 28, 1), (64, 64, 3)])
def test_summary_matches_keras(tf, name, shape):
    blocks = models.preset(name, shape)
    rows = summarize(blocks, shape, 10)
    model = models.build_model(blocks, shape, 10)
    keras_rows = {layer: (out, params) for layer, out, params in models.keras_summary(model)}
    for row in rows[1:]:
        out, params = keras_rows[row.name]
        assert (out, params) == (row.output_shape, row.params), row.name
    assert total_params(rows) == model.count_params()


def test_summary_formula_is_the_tutorials():
    rows = summarize(models.preset("fashion-cnn", (28, 28, 1)), (28, 28, 1), 10)
    assert rows[1].formula == "(3*3*1+1)*64 = 640"
    assert rows[3].formula == "(3*3*64+1)*64 = 36928"
    assert rows[-1].formula == "(128+1)*10 = 1290"


def test_horses_humans_scales_with_the_input():
    small = [b for b in models.preset("horses-humans", (28, 28, 3)) if b["type"] == "conv"]
    large = [b for b in models.preset("horses-humans", (300, 300, 3)) if b["type"] == "conv"]
    assert len(small) == 2 and len(large) == 5
    summarize(models.preset("horses-humans", (300, 300, 3)), (300, 300, 3), 2)


CONV = {"type": "conv", "filters": 8, "kernel": 3}
POOL = {"type": "maxpool", "size": 2}


@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        ([CONV, POOL, CONV, POOL, CONV, POOL, POOL, {"type": "flatten"}], r"Block 7 \(maxpool\).*too many pooling"),
        ([CONV, {"type": "dense", "units": 4}], r"Block 2 \(dense\).*Flatten"),
        ([CONV], "ends with a 26x26x8 feature map"),
        ([{"type": "lstm"}], r"Block 1 \(lstm\): unknown type"),
        ([{**CONV, "kernel": 40}, {"type": "flatten"}], "kernel must be from 1 to 15"),
        ([{**CONV, "filters": 2.5}, {"type": "flatten"}], "whole number"),
        ([{**CONV, "padding": "full"}, {"type": "flatten"}], "padding"),
        ([{"type": "dropout", "rate": 1.5}, {"type": "flatten"}], "rate"),
        ([{"type": "flatten"}, {"type": "dense", "units": 8000}, {"type": "dense", "units": 8000}], "budget"),
        ([], "empty"),
    ],
)
def test_bad_architectures_name_the_block(blocks, message):
    with pytest.raises(InvalidInput, match=message):
        summarize(blocks, (28, 28, 1), 10)


def test_activation_memory_budget():
    huge = [{"type": "conv", "filters": 1024, "kernel": 3, "padding": "same"}, {"type": "gap"}]
    with pytest.raises(InvalidInput, match="MB of activations"):
        summarize(huge, (256, 256, 3), 10)  # 256*256*1024 floats per image


def test_first_conv_from_lab_kernels(tf):
    chosen = [kernels.KERNELS["sobel x"], kernels.KERNELS["sobel y"]]
    model = models.build_model(
        models.preset("mnist-cnn", (28, 28, 1)), (28, 28, 1), 10, first_conv_kernels=chosen, freeze_first_conv=True
    )
    conv = model.get_layer("conv1")
    weights, bias = conv.get_weights()
    assert weights.shape == (3, 3, 1, 2) and not conv.trainable
    np.testing.assert_allclose(weights[:, :, 0, 0], chosen[0] / np.abs(chosen[0]).sum())
    np.testing.assert_array_equal(bias, 0)
    with pytest.raises(InvalidInput, match="square"):
        models.build_model([CONV, {"type": "flatten"}], (28, 28, 1), 10, first_conv_kernels=[np.ones((3, 5))])


def test_model_layers_are_named_and_take_raw_pixels(tf):
    model = models.build_model(models.preset("tinyvgg", (28, 28, 1)), (28, 28, 1), 4)
    names = [layer.name for layer in model.layers]
    assert names[:3] == ["image", "rescale", "conv1"] and names[-1] == "output"
    probabilities = model.predict(np.full((2, 28, 28, 1), 255, np.uint8), verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


def test_class_probabilities_equal_predict(tf):
    from cnnviz.predict import class_probabilities

    model = models.build_model(models.preset("mnist-cnn", (28, 28, 1)), (28, 28, 1), 10)
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 1), dtype=np.uint8)
    direct = class_probabilities(model, images)
    assert direct.shape == (3, 10) and direct.dtype == np.float32
    np.testing.assert_allclose(direct, model.predict(images, verbose=0), atol=1e-6)
    np.testing.assert_allclose(direct.sum(axis=1), 1.0, atol=1e-5)


def _cases():
    """Every block type, each setting at its low end, its default and a middle value (every option of a
    choice), in a small network that gives the block the input it takes."""
    from cnnviz.blocks import BLOCKS, block_defaults

    for kind, entry in BLOCKS.items():
        variants = [{}]
        for setting in entry.settings:
            if setting.options:
                values = setting.options
            else:
                middle = setting.default if setting.step else max(int(setting.low), int(setting.default) // 2 or 1)
                values = sorted({setting.low, setting.default, middle})
            variants += [{setting.name: value} for value in values]
        for change in variants:
            block = {**block_defaults(kind), **change}
            if entry.takes == "flat":
                contexts = [[{"type": "flatten"}, block]]
            elif entry.takes == "any":
                contexts = [[block, {"type": "gap"}], [{"type": "gap"}, block]]
            else:
                contexts = [[block] if kind in ("flatten", "gap") else [block, {"type": "flatten"}]]
            for blocks in contexts:
                yield pytest.param(blocks, id=f"{kind}-{change or 'defaults'}-{blocks[0]['type']}")


@pytest.mark.parametrize("blocks", list(_cases()))
def test_summary_matches_keras_for_every_block_type_and_setting(tf, blocks):
    shape = (16, 16, 3)
    rows = summarize(blocks, shape, 5)
    model = models.build_model(blocks, shape, 5)
    keras_rows = {layer: (out, params) for layer, out, params in models.keras_summary(model)}
    for row in rows[1:]:
        assert keras_rows[row.name] == (row.output_shape, row.params), row.name
    assert total_params(rows) == model.count_params()


def test_the_exported_layers_are_the_ones_the_app_builds(tf):
    """The take-home script writes each block as the Keras call the app makes (cnnviz.blocks)."""
    import keras

    from cnnviz.blocks import keras_code, keras_layer, layer_names

    blocks = models.preset("fashion-deep", (28, 28, 1))
    for block, name in zip(blocks, layer_names(blocks), strict=True):
        made = keras_layer(keras, block, name)
        written = eval(keras_code(block, name), {"keras": keras})  # the script's own line
        assert type(written) is type(made) and written.get_config() == made.get_config()


def test_residual_blocks_are_exported_as_the_app_builds_them(tf):
    """The take-home script carries residual_block's own source: its model equals the app's, layer by layer."""
    import keras

    from cnnviz.export import training_script
    from cnnviz.training import TrainConfig, TrainJob

    shape = (16, 16, 3)
    blocks = models.preset("resnet-mini", shape)
    script = training_script(TrainJob("shapes", tuple(blocks), TrainConfig()), input_shape=shape, num_classes=4)
    assert "def residual_block(x, filters, stride=1, *, name):" in script
    assert "x = residual_block(x, 32, 2, name='residual2')" in script
    namespace = {}
    exec(compile(script, "train_cnn.py", "exec"), namespace)  # defines build_model; main() is not called
    written, made = namespace["build_model"](), models.build_model(blocks, shape, 4)
    assert [layer.name for layer in written.layers] == [layer.name for layer in made.layers]
    assert written.count_params() == made.count_params() == total_params(summarize(blocks, shape, 4))
    assert "residual2_project" in [layer.name for layer in made.layers]  # a 1x1 projection where the shape changes
    assert "residual1_project" not in [layer.name for layer in made.layers]  # none where it does not
    images = np.random.default_rng(0).integers(0, 256, (2, *shape)).astype(np.float32)
    written.set_weights(made.get_weights())
    np.testing.assert_allclose(written.predict(images, verbose=0), made.predict(images, verbose=0), atol=1e-6)
    assert isinstance(made.get_layer("residual1_add"), keras.layers.Add)


def test_dense_only_preset_is_the_first_tutorials_network():
    rows = summarize(models.preset("dense-only", (28, 28, 1)), (28, 28, 1), 10)
    assert [(row.name, row.output_shape) for row in rows] == [
        ("input", (28, 28, 1)),
        ("flatten1", (784,)),
        ("dense1", (128,)),
        ("output", (10,)),
    ]
    assert total_params(rows) == 784 * 128 + 128 + 129 * 10  # 101,770, as model.summary() showed in the tutorial


def test_residual_summary_formula():
    rows = summarize([{"type": "residual", "filters": 8, "stride": 2}, {"type": "gap"}], (16, 16, 3), 2)
    assert rows[1].output_shape == (8, 8, 8)
    assert rows[1].formula == "3*3*3*8 + 3*3*8*8 + 2*4*8 + 3*8+4*8 (1x1 projection) = 912"


def test_resnet34_is_the_tutorials(tf):
    """Geron's ResNet-34 (ch. 14): 21,306,826 parameters for 10 classes at 224x224, 21,289,802 of them
    trainable (batch normalization's moving means and variances are not); every summary row equals Keras's."""
    import keras

    shape = (224, 224, 3)
    blocks = models.preset("resnet-34", shape)
    rows = summarize(blocks, shape, 10)
    assert total_params(rows) == 21_306_826
    model = models.build_model(blocks, shape, 10)
    assert model.count_params() == 21_306_826
    assert sum(int(np.prod(weight.shape)) for weight in model.trainable_weights) == 21_289_802
    keras_rows = {layer: (out, params) for layer, out, params in models.keras_summary(model)}
    assert [row.name for row in rows[1:]] == list(keras_rows)[2:]  # the same rows in order (after input, rescale)
    for row in rows[1:]:
        assert keras_rows[row.name] == (row.output_shape, row.params), row.name
    shapes = [row.output_shape for row in rows]
    assert shapes[1] == (56, 56, 64) and shapes[4] == (56, 56, 64) and shapes[5] == (28, 28, 128)
    assert shapes[9] == (14, 14, 256) and shapes[15] == (7, 7, 512) and shapes[-2] == (512,)
    assert rows[1].formula == "7*7*3*64 (no bias) + 4*64 (batch normalization) = 9664"
    stem = model.get_layer("stem1_conv")
    assert (stem.kernel_size, stem.strides, stem.padding, stem.use_bias) == ((7, 7), (2, 2), "same", False)
    pool = model.get_layer("stem1")
    assert (pool.pool_size, pool.strides, pool.padding) == ((3, 3), (2, 2), "same")
    units = [row for row in rows if row.kind == "residual"]
    assert [int(row.output_shape[-1]) for row in units] == [64] * 3 + [128] * 4 + [256] * 6 + [512] * 3
    projections = [layer.name for layer in model.layers if layer.name.endswith("_project")]
    assert projections == ["residual4_project", "residual8_project", "residual14_project"]  # where the shape changes
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convolutions) == 1 + 16 * 2 + 3 and not any(layer.use_bias for layer in convolutions)


def test_the_stem_block_summary_at_a_small_size():
    rows = summarize([{"type": "stem", "filters": 8}, {"type": "gap"}], (28, 28, 1), 3)
    assert rows[1].output_shape == (7, 7, 8)  # 28 -> 14 (7x7, stride 2) -> 7 (3x3 pool, stride 2)
    assert rows[1].params == 7 * 7 * 1 * 8 + 4 * 8
