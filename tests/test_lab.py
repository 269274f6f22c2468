"""cnnviz.lab: the lab's pipeline, its display choice and the pixel it starts on, by known answers."""

import numpy as np
import pytest

from cnnviz import kernels, ops
from cnnviz.errors import InvalidInput
from cnnviz.lab import (
    LabConfig,
    ShiftComparison,
    compare_shift,
    informative_pixel,
    parse_map,
    rescaled_pixel,
    run_lab,
    run_transpose,
    shift_image,
    small_map,
    suggested_display,
)


def test_shapes_and_stages_of_the_tutorial_pipeline():
    image = np.zeros((512, 512), dtype=np.uint8)
    result = run_lab(image, kernels.KERNELS["sobel x"], LabConfig(activation="clip", pool="max"))
    assert [stage.values.shape for stage in result.stages] == [(512, 512), (510, 510), (510, 510), (255, 255)]
    assert result.shape_chain() == "512x512 -> 510x510 -> 255x255"
    assert "floor((510 - 2) / 2) + 1 = 255" in result.output.formula


def test_weight_bias_and_clipping_as_the_tutorial_did():
    image = np.full((5, 5), 100, dtype=np.uint8)
    result = run_lab(image, np.ones((3, 3)), LabConfig(weight=0.5, bias=-400, activation="clip"))
    # 9 x 100 x 0.5 = 450, minus 400 = 50; clipping keeps it
    np.testing.assert_array_equal(result.convolved.values, np.full((3, 3), 50.0))
    np.testing.assert_array_equal(result.output.values, np.full((3, 3), 50.0))


def test_colour_image_is_one_filter_by_default_and_per_channel_on_request():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (20, 20, 3)).astype(np.uint8)
    kernel = kernels.KERNELS["sobel y"]
    one = run_lab(image, kernel)
    alone = run_lab(image, kernel, LabConfig(conv_mode="depthwise"))
    assert one.convolved.values.shape == (18, 18) and alone.convolved.values.shape == (18, 18, 3)
    # One filter with the same slice on every channel sums the three per-channel maps.
    np.testing.assert_allclose(one.convolved.values, alone.convolved.values.sum(axis=2), rtol=1e-5)
    assert one.kernel.shape == (3, 3, 3) and "summed" in one.convolved.formula


def test_slices_per_channel_and_whole_filter_normalisation():
    image = np.zeros((6, 6, 3), dtype=np.uint8)
    image[..., 1] = 90
    slices = np.stack([np.zeros((3, 3)), np.ones((3, 3)), np.ones((3, 3))], axis=-1)
    result = run_lab(image, slices, LabConfig(normalize=True))
    # The filter's 18 ones are normalised together (each 1/18): green's 9 x 90 / 18 = 45.
    np.testing.assert_allclose(result.convolved.values, np.full((4, 4), 45.0), rtol=1e-6)
    with pytest.raises(InvalidInput, match="colour image"):
        run_lab(image[..., 0], slices)


def test_bad_settings_are_refused():
    with pytest.raises(InvalidInput, match="Mode"):
        LabConfig(conv_mode="sideways")
    with pytest.raises(InvalidInput, match="bias"):
        LabConfig(bias=float("nan"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sobel x", "signed"),
        ("laplacian 4", "signed"),
        ("tutorial mixed", "minmax"),
        ("identity", "clipped"),
        ("box blur", "clipped"),
        ("sharpen", "clipped"),
        ("vertical line 7x7", "minmax"),
    ],
)
def test_display_suits_the_kernel(name, expected):
    assert suggested_display(kernels.KERNELS[name]) == expected


def test_display_of_a_blur_summed_over_three_channels_is_stretched():
    assert suggested_display(kernels.KERNELS["box blur"], summed_channels=3) == "minmax"


def test_informative_pixel_lies_on_the_edge_the_kernel_answers():
    image = np.zeros((64, 64), dtype=np.uint8)
    image[:, 40:] = 200  # a vertical edge between columns 39 and 40
    for name in ("sobel x", "box blur"):
        result = run_lab(image, kernels.KERNELS[name])
        row, col = informative_pixel(image, result)
        # VALID 3x3: output column c sees input columns c..c+2, so the edge is in view for c = 38 or 39.
        assert col in (38, 39), name
        assert 28 <= row <= 34  # along the edge, its middle: not a corner


def test_informative_pixel_of_a_flat_image_is_the_centre():
    image = np.full((10, 12), 7, dtype=np.uint8)
    assert informative_pixel(image, run_lab(image, kernels.KERNELS["sobel x"])) == (4, 5)


def test_rescaled_pixel_keeps_the_place_and_stays_inside():
    assert rescaled_pixel((300, 100), (510, 510), (255, 255)) == (150, 50)
    assert rescaled_pixel((509, 509), (510, 510), (254, 254)) == (253, 253)
    assert rescaled_pixel((0, 0), (510, 510), (128, 128)) == (0, 0)
    assert ops.output_shape((512, 512), (3, 3), stride=2)[0] == (255, 255)


def test_after_a_relu_the_informative_pixel_is_one_the_relu_keeps():
    image = np.zeros((64, 64), dtype=np.uint8)
    image[:, 40:] = 200  # dark to bright: Sobel x answers +800 along the edge
    image[:, 50:] = 0  # and bright to dark: -800, which a ReLU turns into 0
    for activation, expected in (("none", "either edge"), ("relu", "the rising edge")):
        result = run_lab(image, kernels.KERNELS["sobel x"], LabConfig(activation=activation))
        row, col = informative_pixel(image, result)
        assert result.activated.values[row, col] != 0, expected
        if activation == "relu":
            assert result.activated.values[row, col] > 0 and col in (38, 39)


def test_same_padding_and_max_pooling_halve_a_512_photo():
    """Lesson 1: 2x2 max pooling halves the picture, 512 -> 256 (SAME keeps 512 through the convolution)."""
    image = np.zeros((512, 512), dtype=np.uint8)
    result = run_lab(image, kernels.KERNELS["tutorial laplacian"], LabConfig(padding="same", pool="max"))
    assert result.shape_chain() == "512x512 -> 512x512 -> 256x256"


def test_global_average_pooling_is_one_mean_per_map():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (12, 10, 3)).astype(np.uint8)
    result = run_lab(image, kernels.KERNELS["sobel x"], LabConfig(pool="gap", conv_mode="depthwise"))
    assert result.output.values.shape == (1, 1, 3)
    np.testing.assert_allclose(result.output.values[0, 0], result.convolved.values.mean(axis=(0, 1)), rtol=1e-5)
    assert "sum of its 10x8 values / 80" in result.output.formula
    gray = run_lab(image[..., 0], np.ones((3, 3)), LabConfig(pool="gap"))
    assert gray.output.values.shape == (1, 1) and gray.shape_chain() == "12x10 -> 10x8 -> 1x1"


def test_shift_image_moves_the_picture_and_repeats_its_edge():
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    np.testing.assert_array_equal(shift_image(image, 1, 0), [[0, 0, 1, 2], [4, 4, 5, 6], [8, 8, 9, 10]])
    np.testing.assert_array_equal(shift_image(image, 0, -1), [[4, 5, 6, 7], [8, 9, 10, 11], [8, 9, 10, 11]])
    assert shift_image(np.zeros((5, 5, 3)), 2, 2).shape == (5, 5, 3)
    with pytest.raises(InvalidInput, match="out of view"):
        shift_image(image, 4, 0)


def test_max_pooling_keeps_more_than_convolution_after_a_one_pixel_shift():
    """Lesson 2, invariance: a square moved one pixel changes the edges' places, but most 2x2 max-pooled
    values stay (a 2x2 window still holds the edge); global average pooling keeps the one number."""
    image = np.zeros((32, 32), dtype=np.uint8)
    image[9:21, 9:21] = 200
    sobel = kernels.KERNELS["sobel x"]
    pooled = compare_shift(image, sobel, LabConfig(activation="abs", pool="max"), dx=1, dy=0)
    # Known answers: abs(Sobel x) answers in two columns beside each vertical edge (the same value
    # along the edge); moved one pixel, one of the two columns answers as before: 1 in 3 places of
    # either picture. Pooled 2x2, one edge stays in its windows and the other moves out: 1 in 2.
    assert pooled.convolution_unchanged == pytest.approx(1 / 3)
    assert pooled.output_unchanged == pytest.approx(1 / 2)
    whole = compare_shift(image, sobel, LabConfig(activation="abs", pool="gap"), dx=1, dy=0)
    assert whole.output_unchanged == 1.0
    assert compare_shift(image, sobel, LabConfig(), dx=0, dy=0).convolution_unchanged == 1.0


def test_a_shift_says_which_answers_moved_with_the_picture():
    """The square moved one pixel: every answer the convolution does not give in place is the same
    answer one pixel further right (none changed). Pooled 2x2, one pixel is half a pooled pixel: no
    pooled answer can move whole; two pixels move the pooled map by one, all of it."""
    image = np.zeros((32, 32), dtype=np.uint8)
    image[9:21, 9:21] = 200
    sobel = kernels.KERNELS["sobel x"]
    one = compare_shift(image, sobel, LabConfig(activation="abs", pool="max"), dx=1, dy=0)
    assert one.step("convolution") == (0, 1) and one.step("output") is None
    conv = one.shares("convolution")
    assert conv["same"] == pytest.approx(1 / 3) and conv["moved"] == pytest.approx(2 / 3) and conv["changed"] == 0
    assert one.shares("output")["moved"] == 0
    two = compare_shift(image, sobel, LabConfig(activation="abs", pool="max"), dx=2, dy=0)
    assert two.step("output") == (0, 1)
    assert two.shares("output")["changed"] == 0 and two.shares("output")["moved"] > 0.5


def test_small_map_and_typed_map():
    image = np.zeros((64, 32), dtype=np.uint8)
    image[:32] = 200
    np.testing.assert_array_equal(small_map(image, 4), [[200, 200], [200, 200], [0, 0], [0, 0]])
    assert small_map(np.zeros((10, 10, 3), np.uint8), 8).shape == (8, 8)
    np.testing.assert_array_equal(parse_map("1 2; 3 4"), [[1, 2], [3, 4]])
    with pytest.raises(InvalidInput, match="at most 8x8"):
        parse_map("; ".join(["1 " * 9] * 9))
    with pytest.raises(InvalidInput, match="map"):
        parse_map("1 2; 3")


def test_run_transpose_stages_formula_and_check():
    result = run_transpose(np.array([[1, 2], [3, 4]], np.float32), np.ones((3, 3)), stride=2, weight=2)
    steps = result.steps
    assert steps.inserted.shape == (3, 3) and steps.padded.shape == (7, 7) and steps.output.shape == (5, 5)
    assert result.formula == "H' = (2 - 1) * 2 + 3 = 5, W' = (2 - 1) * 2 + 3 = 5"
    assert result.max_difference == 0.0
    # The middle pixel hears all four input pixels (their 3x3 copies overlap there): 2 * (1 + 2 + 3 + 4).
    assert steps.output[2, 2] == 20
    assert steps.output[0, 0] == 2 and steps.output[4, 4] == 8


def test_shift_agreement_codes():
    a = np.array([[0, 5, 5], [0, 0, 3]], dtype=np.float32)
    b = np.array([[0, 5, 4], [1, 0, 3]], dtype=np.float32)
    same, changed, none = ShiftComparison.SAME, ShiftComparison.CHANGED, ShiftComparison.NO_ANSWER
    np.testing.assert_array_equal(ShiftComparison.agreement(a, b), [[none, same, changed], [changed, none, same]])
    assert ShiftComparison.unchanged(a, b) == 0.5


def test_a_weight_too_large_is_named_as_the_weight():
    """Was: a weight of 1e6 refused as 'Kernel entries must lie between ...' (the learner typed a weight)."""
    with pytest.raises(InvalidInput, match="The weight 1000000 times the kernel's largest entry is 2000000"):
        run_lab(np.zeros((8, 8), dtype=np.uint8), kernels.KERNELS["sobel x"], LabConfig(weight=1e6))


@pytest.mark.parametrize("side", [9, 12, 30])
def test_a_typed_map_too_large_names_the_map_limit(side):
    """Was: 12x12 refused with 'at most 8x8' but 30x30 with 'at most 15 rows' (the kernel's limit)."""
    text = "; ".join(" ".join("1" for _ in range(side)) for _ in range(side))
    with pytest.raises(InvalidInput, match=f"The map is {side}x{side}; type at most 8x8 numbers"):
        parse_map(text)


def test_the_sum_is_written_without_minus_zero_or_scientific_notation():
    """Was: weight -3 printed '(-0)x121'; large sums read '3.248e+04'."""
    result = run_lab(np.full((5, 5), 121, dtype=np.uint8), kernels.KERNELS["sobel x"], LabConfig(weight=-3))
    sums = ops.pixel_arithmetic(np.full((5, 5), 121.0), result.kernel, 0, 0)
    assert "(-0)" not in sums.equation() and "(0)x121" in sums.equation()
    big = ops.pixel_arithmetic(np.full((3, 3), 255.0), np.full((3, 3), 500.0), 0, 0)
    assert big.equation().endswith("= 1147500") and "e+" not in big.equation()
