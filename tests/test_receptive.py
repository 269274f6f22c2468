"""cnnviz.receptive: the receptive-field recurrences against hand-worked networks, and the theoretical
window against the support of the input gradient on networks with all-positive weights."""

import numpy as np
import pytest

from cnnviz import receptive
from cnnviz.errors import InvalidInput


def functional(side, build, channels=1):
    import keras

    inputs = keras.Input((side, side, channels), name="image")
    return keras.Model(inputs, build(inputs))


@pytest.fixture(scope="module")
def strided(tf):
    """16x16 -> conv 3x3 -> conv 3x3 stride 2 -> max pool 2 -> Flatten -> Dense, all VALID. By hand:
    conv1 size 3 jump 1; conv2 size 3 + 2*1 = 5, jump 2; pool size 5 + 1*2 = 7, jump 4; start 0."""
    import keras

    def build(x):
        x = keras.layers.Rescaling(1 / 255, name="rescale")(x)
        x = keras.layers.Conv2D(2, 3, name="conv1")(x)
        x = keras.layers.Conv2D(2, 3, strides=2, activation="relu", name="conv2")(x)
        x = keras.layers.MaxPooling2D(2, name="pool")(x)
        return keras.layers.Dense(3, name="dense")(keras.layers.Flatten(name="flat")(x))

    return functional(16, build)


def test_strided_network_by_hand(strided):
    assert receptive.receptive_field(strided, "rescale") == (1, 1, 0)
    assert receptive.receptive_field(strided, "conv1") == (3, 1, 0)
    assert receptive.receptive_field(strided, "conv2") == (5, 2, 0)
    assert receptive.receptive_field(strided, "pool") == (7, 4, 0)  # 14 -> 6 -> 3 units
    assert receptive.receptive_window(strided, "pool", 1, 2) == (4, 8, 11, 15)
    assert receptive.receptive_window(strided, "pool", 2, 2) == (8, 8, 15, 15)
    table = receptive.receptive_table(strided)
    assert [(r.name, r.kind, r.kernel, r.stride, r.size, r.jump, r.output_shape) for r in table] == [
        ("conv1", "convolution", (3, 3), (1, 1), 3, 1, (14, 14, 2)),
        ("conv2", "convolution", (3, 3), (2, 2), 5, 2, (6, 6, 2)),
        ("pool", "max pooling", (2, 2), (2, 2), 7, 4, (3, 3, 2)),
    ]


def test_refusals_name_what_is_wrong(strided):
    with pytest.raises(InvalidInput, match="'flat' gives \\(18,\\): it has no spatial position"):
        receptive.receptive_field(strided, "flat")
    with pytest.raises(InvalidInput, match="no spatial position"):
        receptive.receptive_window(strided, "dense", 0, 0)
    with pytest.raises(InvalidInput, match="no layer named 'conv9'"):
        receptive.receptive_field(strided, "conv9")
    with pytest.raises(InvalidInput, match="row must be a whole number from 0 to 2 on 'pool'; got 3"):
        receptive.receptive_window(strided, "pool", 3, 0)
    with pytest.raises(InvalidInput, match="col must be"):
        receptive.receptive_window(strided, "pool", 0, -1)
    import keras

    model = functional(8, lambda x: keras.layers.UpSampling2D(name="up")(x))
    with pytest.raises(InvalidInput, match="'up' is a UpSampling2D; cnnviz knows how positions move through"):
        receptive.receptive_field(model, "up")


def test_same_padding_puts_the_odd_pixel_at_the_end(tf):
    """TensorFlow's SAME padding: total = (ceil(n/s) - 1) * s + k - n, the smaller half before."""
    import keras

    def one_conv(side, kernel, stride):
        return functional(side, lambda x: keras.layers.Conv2D(1, kernel, strides=stride, padding="same", name="c")(x))

    assert receptive.receptive_field(one_conv(7, 3, 2), "c") == (3, 2, -1)  # total 2: one before
    assert receptive.receptive_field(one_conv(8, 3, 2), "c") == (3, 2, 0)  # total 1: none before, one after
    assert receptive.receptive_field(one_conv(8, 4, 1), "c") == (4, 1, -1)  # total 3: one before, two after
    assert receptive.receptive_field(one_conv(8, 5, 1), "c") == (5, 1, -2)
    assert receptive.receptive_window(one_conv(8, 3, 2), "c", 3, 0) == (6, 0, 8, 3)  # rows 6..8 clipped to 6..7
    # Pooling pads the same way; dilation widens the kernel to (k - 1) * d + 1.
    pooled = functional(9, lambda x: keras.layers.MaxPooling2D(2, padding="same", name="p")(x))
    assert receptive.receptive_field(pooled, "p") == (2, 2, 0)  # 9 -> 5: total 1, after
    dilated = functional(9, lambda x: keras.layers.Conv2D(1, 3, dilation_rate=2, name="d")(x))
    assert receptive.receptive_field(dilated, "d") == (5, 1, 0)


def positive_network(tf):
    """All weights positive and no biases, linear: every input pixel in a unit's window reaches it with a
    positive gradient, so the gradient's support must be exactly the theoretical window. SAME padding,
    strides, average pooling, a dilated and a depthwise convolution, zero padding and a residual add."""
    import keras

    ones = keras.initializers.RandomUniform(0.5, 1.0, seed=0)

    def conv(x, filters, kernel, name, **options):
        return keras.layers.Conv2D(filters, kernel, use_bias=False, kernel_initializer=ones, name=name, **options)(x)

    def build(x):
        x = conv(x, 3, 3, "conv1", padding="same")
        x = keras.layers.AveragePooling2D(2, name="avg")(x)  # 19 -> 9
        branch = conv(x, 3, 3, "conv2", padding="same")
        x = keras.layers.Add(name="add")([x, branch])  # residual: the union of 1x1 and 3x3 windows
        x = keras.layers.ZeroPadding2D(1, name="pad")(x)
        x = conv(x, 2, 3, "conv3", strides=2, padding="valid")
        x = keras.layers.DepthwiseConv2D(2, depthwise_initializer=ones, use_bias=False, name="depth")(x)
        return conv(x, 2, 2, "dilated", dilation_rate=2, padding="same")

    return functional(19, build, channels=2)


def test_gradient_support_equals_the_window(tf):
    model = positive_network(tf)
    image = np.random.default_rng(0).uniform(1, 255, (19, 19, 2)).astype(np.float32)
    checked = 0
    for layer in ("conv1", "avg", "add", "conv3", "depth", "dilated"):
        height, width = model.get_layer(layer).output.shape[1:3]
        for row in sorted({0, 1, height // 2, height - 1}):
            for col in sorted({0, width // 2, width - 2, width - 1}):
                top, left, bottom, right = receptive.receptive_window(model, layer, row, col)
                gradient = receptive.effective_receptive_field(model, image, layer, row, col, channel=0)
                assert gradient.shape == (19, 19) and gradient.dtype == np.float32
                support = np.argwhere(gradient > 0)
                if len(support) == 0:  # a unit that sees only zero padding
                    assert bottom <= top or right <= left
                    continue
                found = (*support.min(axis=0), *(support.max(axis=0) + 1))
                assert found == (top, left, bottom, right), (layer, row, col)
                checked += 1
    assert checked > 60
    # By hand: conv1 (3, 1, -1); avg (4, 2, -1); conv2 (4 + 2 * 2, 2, -1 - 2) = (8, 2, -3), and the add is
    # the union of (8, 2, -3) and (4, 2, -1); pad (8, 2, -5); conv3 (12, 4, -5); depth (16, 4, -5); dilated:
    # a 3-wide kernel, SAME on 4 units pads 1 before: (16 + 2 * 4, 4, -5 - 4).
    assert receptive.receptive_field(model, "add") == (8, 2, -3)
    assert receptive.receptive_field(model, "dilated") == (24, 4, -9)


def test_shipped_model_table():
    """The shipped model: conv 3x3, pool 2, conv 3x3, pool 2 (augmentation and rescaling keep positions)."""
    from cnnviz.predict import default_model

    model = default_model()[0]
    table = [(row.name, row.size, row.jump, row.start) for row in receptive.receptive_table(model)]
    assert table == [("conv1", 3, 1, 0), ("maxpool1", 4, 2, 0), ("conv2", 8, 2, 0), ("maxpool2", 10, 4, 0)]
    assert receptive.receptive_window(model, "maxpool2", 4, 4) == (16, 16, 26, 26)
    digit = np.zeros((28, 28), np.uint8)
    digit[8:20, 12:16] = 255
    field = receptive.effective_receptive_field(model, digit, "maxpool2", 2, 2)
    assert field.shape == (28, 28) and not field[:8].any() and not field[:, 18:].any() and field.any()


def test_effective_field_fades_from_the_centre(tf):
    """Luo et al., 2016: inside the window the gradient is largest at the centre (a Gaussian-like bump)."""
    import keras

    def build(x):
        for i in range(4):
            x = keras.layers.Conv2D(1, 3, padding="same", use_bias=False, kernel_initializer="ones", name=f"c{i}")(x)
        return x

    model = functional(21, build)
    field = receptive.effective_receptive_field(model, np.full((21, 21), 100.0), "c3", 10, 10)
    assert receptive.receptive_window(model, "c3", 10, 10) == (6, 6, 15, 15)
    assert field.argmax() == 10 * 21 + 10 and field[10, 10] > 4 * field[6, 10] > 0  # 19 paths vs 1 at the edge
    with pytest.raises(InvalidInput, match="channel must be a whole number from 0 to 0"):
        receptive.effective_receptive_field(model, np.zeros((21, 21)), "c3", 0, 0, channel=1)


def test_nested_base_model_composes(tf):
    """A base model nested as one layer (transfer learning): 'base/layer' composes the outer geometry."""
    import keras

    inner_in = keras.Input((8, 8, 1))
    inner = keras.layers.Conv2D(1, 3, strides=2, name="conv")(inner_in)
    base = keras.Model(inner_in, inner, name="base")
    inputs = keras.Input((18, 18, 1))
    model = keras.Model(inputs, base(keras.layers.Resizing(8, 8, name="resize")(inputs)))
    with pytest.raises(InvalidInput, match="'resize' is a Resizing"):
        receptive.receptive_field(model, "base/conv")
    inputs = keras.Input((18, 18, 1))
    x = keras.layers.MaxPooling2D(2, name="pool")(inputs)
    x = keras.layers.Cropping2D(((1, 0), (1, 0)), name="crop")(x)  # 9 -> 8
    model = keras.Model(inputs, base(x))
    # pool: (2, 2, 0); crop: start 2; base/conv: 3x3 stride 2 on jumps of 2 -> size 2 + 2 * 2 = 6, jump 4.
    assert receptive.receptive_field(model, "crop") == (2, 2, 2)
    assert receptive.receptive_field(model, "base/conv") == (6, 4, 2)
    assert receptive.receptive_window(model, "base/conv", 2, 0) == (10, 2, 16, 8)
    assert [row.name for row in receptive.receptive_table(model)] == ["pool", "crop", "base/conv"]
    field = receptive.effective_receptive_field(model, np.ones((18, 18)), "base/conv", 1, 1)
    assert field.shape == (18, 18) and not field[:6].any() and not field[12:].any()


def test_imagenet_networks_known_answers(tf):
    """Araujo et al., 2019, their table: VGG-16's last pooling layer sees 212 pixels, 32 apart, with an
    effective padding of 90 (unit 0's window starts 90 pixels before the picture); ResNet-50's last block
    483 and MobileNet-v2's 491 (zero padding layers, depthwise convolutions, residual adds)."""
    import keras

    vgg = keras.applications.VGG16(weights=None, include_top=False, input_shape=(224, 224, 3))
    assert receptive.receptive_field(vgg, "block5_pool") == (212, 32, -90)
    assert receptive.receptive_field(vgg, "block5_conv3") == (196, 16, -90)
    resnet = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(224, 224, 3))
    assert receptive.receptive_field(resnet, "conv5_block3_out")[:2] == (483, 32)
    # As the app opens it: its preprocessing as the first layer, called on a tensor (a ConvertToTensor node).
    from cnnviz import pretrained

    mobile = pretrained.load("MobileNetV2", weights=None).model
    assert receptive.receptive_field(mobile, "out_relu")[:2] == (491, 32)
    assert receptive.receptive_table(mobile)[-1].output_shape == (7, 7, 1280)
