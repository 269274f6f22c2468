"""cnnviz.ops: known answers by hand, then a reference against TensorFlow over random settings."""

import numpy as np
import pytest

from cnnviz.errors import InvalidInput
from cnnviz.ops import (
    activation,
    avg_pool2d,
    conv2d,
    conv2d_transpose,
    conv2d_transpose_formula,
    conv2d_transpose_scatter,
    conv2d_transpose_size,
    conv2d_transpose_steps,
    global_avg_pool2d,
    max_pool2d,
    output_shape,
    output_size,
    pixel_arithmetic,
    pool_arithmetic,
    same_padding,
    zero_insert,
)


def naive_conv2d(image, kernel, stride=1, padding="valid"):
    """Per-pixel loop, the tutorial's way, with TensorFlow's padding: the slow reference."""
    image = np.asarray(image, dtype=np.float64)
    kh, kw = kernel.shape
    if padding == "same":
        (t, b), (left, right) = same_padding(image.shape[0], kh, stride), same_padding(image.shape[1], kw, stride)
        image = np.pad(image, ((t, b), (left, right)))
    rows = (image.shape[0] - kh) // stride + 1
    cols = (image.shape[1] - kw) // stride + 1
    out = np.zeros((rows, cols))
    for r in range(rows):
        for c in range(cols):
            out[r, c] = (image[r * stride : r * stride + kh, c * stride : c * stride + kw] * kernel).sum()
    return out


def test_conv2d_known_answer():
    image = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], dtype=np.float32)
    kernel = np.array([[1, 0], [0, -1]], dtype=np.float32)
    # 1-5, 2-6, 4-8, 5-9: cross-correlation, the kernel is not flipped
    np.testing.assert_array_equal(conv2d(image, kernel), [[-4, -4], [-4, -4]])


def test_conv2d_same_padding_puts_the_odd_pixel_after():
    image = np.ones((4, 4), dtype=np.float32)
    out = conv2d(image, np.ones((2, 2)), padding="same")
    # TensorFlow pads 0 before and 1 after for k=2, so the last row and column see the padding.
    np.testing.assert_array_equal(out, [[4, 4, 4, 2], [4, 4, 4, 2], [4, 4, 4, 2], [2, 2, 2, 1]])


def test_conv2d_sobel_on_a_step_edge():
    image = np.zeros((5, 6), dtype=np.uint8)
    image[:, 3:] = 255
    out = conv2d(image, np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]))
    assert out.shape == (3, 4)
    np.testing.assert_array_equal(out[0], [0, 1020, 1020, 0])


def test_conv2d_stride_and_channels():
    image = np.arange(2 * 5 * 5, dtype=np.float32).reshape(5, 5, 2)
    out = conv2d(image, np.ones((3, 3)), stride=2)
    assert out.shape == (2, 2, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[..., 0], naive_conv2d(image[..., 0], np.ones((3, 3)), stride=2))
    np.testing.assert_allclose(out[..., 1], naive_conv2d(image[..., 1], np.ones((3, 3)), stride=2))


def test_conv2d_many_channels_match_per_channel():
    image = np.random.default_rng(0).normal(size=(9, 8, 6)).astype(np.float32)
    kernel = np.random.default_rng(1).normal(size=(3, 2))
    out = conv2d(image, kernel, padding="same")
    for c in range(6):
        np.testing.assert_allclose(out[..., c], naive_conv2d(image[..., c], kernel, padding="same"), atol=1e-5)


@pytest.mark.parametrize(
    ("image", "kernel", "kwargs", "message"),
    [
        (np.zeros((2, 2)), np.ones((3, 3)), {}, "does not fit"),
        (np.zeros((5, 5)), np.ones((3, 3)), {"stride": 0}, "Stride"),
        (np.zeros((5, 5)), np.ones((3, 3)), {"padding": "full"}, "Padding"),
        (np.zeros((5, 5)), np.array([[np.nan]]), {}, "NaN"),
        (np.zeros((0, 5)), np.ones((1, 1)), {}, "with pixels"),
        (np.zeros((5, 5, 3, 2)), np.ones((1, 1)), {}, "(H, W)"),
        (np.zeros((5, 5)), np.ones((16, 3)), {}, "15x15"),
    ],
)
def test_conv2d_rejects_bad_input(image, kernel, kwargs, message):
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        conv2d(image, kernel, **kwargs)


def test_pooling_known_answers():
    image = np.array([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]], dtype=np.float32)
    np.testing.assert_array_equal(max_pool2d(image), [[6, 8], [14, 16]])
    np.testing.assert_array_equal(avg_pool2d(image), [[3.5, 5.5], [11.5, 13.5]])
    np.testing.assert_array_equal(max_pool2d(image, 3, stride=1), [[11, 12], [15, 16]])
    # SAME on 3x3 with size 2: the padded windows average the real pixels only.
    small = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], dtype=np.float32)
    np.testing.assert_array_equal(avg_pool2d(small, padding="same"), [[3, 4.5], [7.5, 9]])
    np.testing.assert_array_equal(max_pool2d(-small, padding="same"), [[-1, -3], [-7, -9]])


def test_global_avg_pool():
    image = np.stack([np.full((4, 4), 2.0), np.arange(16.0).reshape(4, 4)], axis=-1)
    np.testing.assert_allclose(global_avg_pool2d(image), [2.0, 7.5])


def test_output_shape_formula_text():
    shape, formula = output_shape((512, 512), (3, 3))
    assert shape == (510, 510)
    assert formula == "H' = floor((512 - 3) / 1) + 1 = 510, W' = floor((512 - 3) / 1) + 1 = 510"
    shape, formula = output_shape((510, 510, 3), (2, 2), stride=2)
    assert shape == (255, 255, 3) and "= 255" in formula
    same = output_shape((7, 5), (3, 3), stride=2, padding="same")
    assert same == ((4, 3), "H' = ceil(7 / 2) = 4, W' = ceil(5 / 2) = 3")
    assert output_size(2, 3) == 0


def test_postprocess():
    values = np.array([-300.0, -1.0, 0.0, 100.0, 400.0])
    np.testing.assert_array_equal(activation(values, "relu"), [0, 0, 0, 100, 400])
    np.testing.assert_array_equal(activation(values, "clip"), [0, 0, 0, 100, 255])
    np.testing.assert_array_equal(activation(values, "abs"), [300, 1, 0, 100, 400])
    np.testing.assert_array_equal(activation(values, "none"), values)
    with pytest.raises(InvalidInput, match="relu"):
        activation(values, "sigmoid")


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_pixel_arithmetic_matches_conv2d(padding, stride):
    rng = np.random.default_rng(stride)
    image = rng.integers(0, 256, size=(9, 11)).astype(np.float32)
    kernel = rng.normal(size=(3, 4)).astype(np.float32)
    out = conv2d(image, kernel, stride=stride, padding=padding)
    for row, col in [(0, 0), (out.shape[0] - 1, out.shape[1] - 1), (out.shape[0] // 2, 1)]:
        arithmetic = pixel_arithmetic(image, kernel, row, col, stride=stride, padding=padding)
        assert arithmetic.total == pytest.approx(float(out[row, col]), rel=1e-5, abs=1e-3)
        np.testing.assert_allclose(arithmetic.products, arithmetic.window * kernel)


def test_pixel_arithmetic_shows_padding_as_zeros():
    image = np.full((4, 4), 7.0, dtype=np.float32)
    arithmetic = pixel_arithmetic(image, np.ones((3, 3)), 0, 0, padding="same")
    assert (arithmetic.top, arithmetic.left) == (-1, -1)
    np.testing.assert_array_equal(arithmetic.window, [[0, 0, 0], [0, 7, 7], [0, 7, 7]])
    assert arithmetic.total == 28
    assert arithmetic.equation().endswith("= 28")
    with pytest.raises(InvalidInput, match="outside"):
        pixel_arithmetic(image, np.ones((3, 3)), 4, 0, padding="same")


# --- reference: TensorFlow, over random shapes, kernels, strides and paddings ----------------------


def random_cases(count, seed):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        kh, kw = int(rng.integers(1, 8)), int(rng.integers(1, 8))
        height, width = int(rng.integers(kh, 40)), int(rng.integers(kw, 40))
        channels = int(rng.choice([1, 3, 5]))
        stride = int(rng.integers(1, 5))
        padding = str(rng.choice(["valid", "same"]))
        image = rng.uniform(0, 255, size=(height, width, channels)).astype(np.float32)
        kernel = rng.normal(size=(kh, kw)).astype(np.float32)
        yield image, kernel, stride, padding


def test_conv2d_matches_tensorflow(tf):
    for image, kernel, stride, padding in random_cases(60, seed=1):
        channels = image.shape[2]
        # Per-channel convolution = every channel as its own batch item with one input channel.
        batch = np.transpose(image, (2, 0, 1))[..., None]
        expected = tf.nn.conv2d(batch, kernel[..., None, None], strides=stride, padding=padding.upper()).numpy()
        expected = np.transpose(expected[..., 0], (1, 2, 0))
        got = conv2d(image, kernel, stride=stride, padding=padding)
        assert got.shape == expected.shape, (image.shape, kernel.shape, stride, padding)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-2)
        if channels == 1:
            got2d = conv2d(image[..., 0], kernel, stride=stride, padding=padding)
            np.testing.assert_allclose(got2d, expected[..., 0], rtol=1e-4, atol=1e-2)


def test_conv2d_matches_tensorflow_large_kernels(tf):
    # OpenCV switches to a DFT for large kernels: check that path too.
    rng = np.random.default_rng(5)
    image = rng.uniform(0, 255, size=(64, 70)).astype(np.float32)
    for size in (11, 15):
        kernel = rng.normal(size=(size, size)).astype(np.float32)
        for padding in ("VALID", "SAME"):
            expected = tf.nn.conv2d(image[None, ..., None], kernel[..., None, None], 1, padding).numpy()[0, ..., 0]
            np.testing.assert_allclose(conv2d(image, kernel, padding=padding.lower()), expected, rtol=1e-3, atol=0.1)


@pytest.mark.parametrize("reduce", ["max", "avg"])
def test_pooling_matches_tensorflow(tf, reduce):
    ours = {"max": max_pool2d, "avg": avg_pool2d}[reduce]
    theirs = {"max": tf.nn.max_pool2d, "avg": tf.nn.avg_pool2d}[reduce]
    rng = np.random.default_rng(2)
    for _ in range(60):
        size = int(rng.integers(1, 5))
        height, width = int(rng.integers(size, 30)), int(rng.integers(size, 30))
        stride = int(rng.integers(1, 4))
        padding = str(rng.choice(["valid", "same"]))
        image = rng.normal(size=(height, width, 3)).astype(np.float32)
        expected = theirs(image[None], size, stride, padding.upper()).numpy()[0]
        got = ours(image, size, stride=stride, padding=padding)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    default_stride = theirs(np.ones((1, 6, 6, 1), np.float32), 3, 3, "VALID").numpy()[0]
    np.testing.assert_allclose(ours(np.ones((6, 6, 1)), 3), default_stride)


def test_conv2d_matches_the_naive_loop():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, size=(20, 17)).astype(np.float32)
    kernel = rng.normal(size=(3, 3))
    for stride in (1, 2):
        for padding in ("valid", "same"):
            got = conv2d(image, kernel, stride=stride, padding=padding)
            np.testing.assert_allclose(got, naive_conv2d(image, kernel, stride, padding), rtol=1e-4, atol=1e-3)


# --- one Conv2D filter over colour channels ----------------------------------------------------


def test_filter_known_answer_sums_the_channels():
    # Channel c holds the value c + 1 everywhere; slice c weighs it by 10 ** c: each output is
    # 4 pixels x (1 + 20 + 300) = 1284, one map for three channels.
    image = np.stack([np.full((3, 3), c + 1.0) for c in range(3)], axis=-1)
    kernel = np.stack([np.full((2, 2), 10.0**c) for c in range(3)], axis=-1)
    out = conv2d(image, kernel)
    assert out.shape == (2, 2) and out.dtype == np.float32
    np.testing.assert_array_equal(out, np.full((2, 2), 1284.0))


def test_filter_with_one_live_slice_sees_one_channel():
    """A 'red edges only' filter: Sobel x on red, zeros on green and blue."""
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (12, 10, 3)).astype(np.float32)
    sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
    kernel = np.stack([sobel, np.zeros((3, 3)), np.zeros((3, 3))], axis=-1)
    np.testing.assert_allclose(conv2d(image, kernel, padding="same"), conv2d(image[..., 0], sobel, padding="same"))


@pytest.mark.parametrize(
    ("image", "kernel", "message"),
    [
        (np.zeros((5, 5)), np.ones((3, 3, 3)), r"needs an \(H, W, C\) image"),
        (np.zeros((5, 5, 3)), np.ones((3, 3, 2)), "one kernel slice per channel"),
        (np.zeros((5, 5, 3)), np.full((3, 3, 3), np.nan), "NaN"),
    ],
)
def test_filter_rejects_mismatched_input(image, kernel, message):
    with pytest.raises(InvalidInput, match=message):
        conv2d(image, kernel)


@pytest.mark.parametrize(("padding", "stride"), [("valid", 1), ("same", 2), ("same", 1), ("valid", 3)])
def test_filter_matches_tensorflow(tf, padding, stride):
    """The values of tf.nn.conv2d with the filter as (kh, kw, C, 1)."""
    rng = np.random.default_rng(stride)
    for kh, kw in ((3, 3), (5, 2), (7, 7)):
        image = rng.integers(0, 256, (17, 14, 3)).astype(np.float32)
        kernel = rng.normal(size=(kh, kw, 3)).astype(np.float32)
        ours = conv2d(image, kernel, stride=stride, padding=padding)
        theirs = tf.nn.conv2d(image[None], kernel[..., None], stride, padding.upper()).numpy()[0, ..., 0]
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-2)


@pytest.mark.parametrize(("padding", "stride"), [("valid", 1), ("same", 2)])
def test_filter_pixel_arithmetic_matches_conv2d(padding, stride):
    rng = np.random.default_rng(11)
    image = rng.integers(0, 256, (9, 8, 3)).astype(np.float32)
    kernel = rng.normal(size=(3, 3, 3)).astype(np.float32)
    out = conv2d(image, kernel, stride=stride, padding=padding)
    for row, col in ((0, 0), (out.shape[0] - 1, out.shape[1] - 1), (2, 1)):
        sums = pixel_arithmetic(image, kernel, row, col, stride=stride, padding=padding)
        assert sums.window.shape == sums.products.shape == (3, 3, 3)
        assert sums.total == pytest.approx(float(out[row, col]), rel=1e-5, abs=1e-3)
        assert sum(sums.channel_sums) == pytest.approx(sums.total)
        assert sums.equation().startswith("R ") and " + G " in sums.equation() and " + B " in sums.equation()


def test_pool_arithmetic_matches_pooling():
    image = np.array([[1, 5, 2, 0], [3, 4, 8, 1], [0, 0, 1, 1], [9, 2, 1, 0]], dtype=np.float32)
    biggest = pool_arithmetic(image, 2, 0, 1)
    assert biggest.value == 8 == max_pool2d(image)[0, 1]
    assert (biggest.top, biggest.left) == (0, 2) and biggest.winner == (1, 0)
    mean = pool_arithmetic(image, 2, 1, 0, kind="avg")
    assert mean.value == pytest.approx(avg_pool2d(image)[1, 0]) and mean.winner is None
    assert pool_arithmetic(image, 2, 1, 1, stride=1).value == max_pool2d(image, 2, stride=1)[1, 1]
    with pytest.raises(InvalidInput, match="outside the 2x2 output"):
        pool_arithmetic(image, 2, 2, 0)


# --- transposed convolution ---------------------------------------------------------------------


def test_conv2d_transpose_known_answer_paints_the_kernel():
    image = np.array([[1, 2], [3, 4]], dtype=np.float32)
    kernel = np.array([[1, 10, 100], [0, 0, 0], [0, 0, 1000]], dtype=np.float32)
    out = conv2d_transpose(image, kernel)  # stride 2, VALID: (2 - 1) * 2 + 3 = 5
    # Pixel (0, 0) paints the kernel at (0, 0), pixel (0, 1) at (0, 2): their copies overlap in column 2.
    expected = np.zeros((5, 5))
    for (i, j), value in np.ndenumerate(image):
        expected[2 * i : 2 * i + 3, 2 * j : 2 * j + 3] += value * kernel
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.float32
    assert out[0, 2] == 100 * 1 + 1 * 2  # the overlap adds up


def test_zero_insert_and_the_flipped_kernel():
    np.testing.assert_array_equal(
        zero_insert(np.array([[1, 2], [3, 4]]), 3), [[1, 0, 0, 2], [0] * 4, [0] * 4, [3, 0, 0, 4]]
    )
    steps = conv2d_transpose_steps(np.ones((3, 3)), np.arange(9).reshape(3, 3), stride=2)
    assert steps.inserted.shape == (5, 5) and steps.pad == (2, 2, 2, 2) and steps.padded.shape == (9, 9)
    np.testing.assert_array_equal(steps.flipped, [[8, 7, 6], [5, 4, 3], [2, 1, 0]])
    # One output pixel is an ordinary convolution's: the padded window times the flipped kernel.
    sums = steps.pixel(3, 4)
    assert sums.total == pytest.approx(float(steps.output[3, 4]))
    np.testing.assert_array_equal(sums.window, steps.padded[3:6, 4:7])


@pytest.mark.parametrize(
    ("n", "k", "stride", "padding", "size"),
    [(4, 3, 2, "valid", 9), (4, 3, 2, "same", 8), (4, 2, 2, "valid", 8), (4, 1, 2, "valid", 8), (5, 2, 3, "valid", 15)],
)
def test_conv2d_transpose_size(n, k, stride, padding, size):
    assert conv2d_transpose_size(n, k, stride=stride, padding=padding) == size


def test_conv2d_transpose_formula_text():
    assert conv2d_transpose_formula((4, 8), (3, 3), stride=2) == "H' = (4 - 1) * 2 + 3 = 9, W' = (8 - 1) * 2 + 3 = 17"
    assert conv2d_transpose_formula((4, 4), (3, 3), stride=2, padding="same").startswith("H' = 4 * 2 = 8")
    assert "max(1 - 2, 0) = 8" in conv2d_transpose_formula((4, 4), (1, 1), stride=2)


def test_conv2d_transpose_same_crops_as_tensorflow_known_answer():
    # 2x2 map, 3x3 kernel, stride 2, SAME: the painting is 5x5, the output 4x4; k - s = 1 extra pixel,
    # cropped after (TensorFlow puts the odd pixel of its padding after), so the output starts at 0.
    image = np.array([[1, 2], [3, 4]], dtype=np.float32)
    kernel = np.arange(9, dtype=np.float32).reshape(3, 3)
    full = conv2d_transpose(image, kernel)
    np.testing.assert_array_equal(conv2d_transpose(image, kernel, padding="same"), full[:4, :4])
    # 4x4 kernel, stride 1: 3 extra pixels, one cropped before and two after.
    kernel = np.arange(16, dtype=np.float32).reshape(4, 4)
    full = conv2d_transpose(image, kernel, stride=1)
    np.testing.assert_array_equal(conv2d_transpose(image, kernel, stride=1, padding="same"), full[1:3, 1:3])


@pytest.mark.parametrize(
    ("image", "kernel", "kwargs", "message"),
    [
        (np.zeros((3, 3, 2)), np.ones((3, 3)), {}, "one \\(H, W\\) map"),
        (np.zeros((3, 3)), np.ones((3, 3)), {"stride": 0}, "Stride"),
        (np.zeros((3, 3)), np.ones((3, 3)), {"padding": "full"}, "Padding"),
        (np.zeros((3, 3)), np.ones((16, 3)), {}, "15x15"),
        (np.full((3, 3), np.nan), np.ones((3, 3)), {}, "NaN"),
    ],
)
def test_conv2d_transpose_rejects_bad_input(image, kernel, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        conv2d_transpose(image, kernel, **kwargs)


def test_conv2d_transpose_matches_tensorflow_and_keras(tf):
    """Random cases, strides 1..3, both paddings, odd and even kernels (also shorter than the stride):
    the decomposition and the scatter-add definition give tf.nn.conv2d_transpose's values, and the
    shape Keras's Conv2DTranspose computes."""
    import keras

    rng = np.random.default_rng(7)
    for stride in (1, 2, 3):
        for padding in ("valid", "same"):
            for kh, kw in ((1, 1), (2, 2), (3, 3), (2, 3), (4, 4), (5, 2)):
                height, width = rng.integers(1, 7, size=2)
                image = rng.normal(size=(height, width)).astype(np.float32)
                kernel = rng.normal(size=(kh, kw)).astype(np.float32)
                ours = conv2d_transpose(image, kernel, stride=stride, padding=padding)
                shape = keras.layers.Conv2DTranspose(1, (kh, kw), strides=stride, padding=padding).compute_output_shape(
                    (1, height, width, 1)
                )
                assert ours.shape == tuple(shape[1:3]), (stride, padding, kh, kw)
                theirs = tf.nn.conv2d_transpose(
                    image[None, ..., None], kernel[:, :, None, None], [1, *ours.shape, 1], stride, padding.upper()
                ).numpy()[0, ..., 0]
                np.testing.assert_allclose(ours, theirs, atol=1e-5)
                np.testing.assert_allclose(
                    conv2d_transpose_scatter(image, kernel, stride=stride, padding=padding), theirs, atol=1e-5
                )


def test_conv2d_transpose_is_a_keras_layer(tf):
    """A Conv2DTranspose layer with this kernel (and no bias) computes the same map."""
    import keras

    rng = np.random.default_rng(3)
    image, kernel = rng.normal(size=(5, 4)).astype(np.float32), rng.normal(size=(3, 3)).astype(np.float32)
    layer = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", use_bias=False)
    layer.build((1, 5, 4, 1))
    layer.set_weights([kernel[:, :, None, None]])
    theirs = np.asarray(layer(image[None, ..., None]))[0, ..., 0]
    np.testing.assert_allclose(conv2d_transpose(image, kernel, padding="same"), theirs, atol=1e-5)
