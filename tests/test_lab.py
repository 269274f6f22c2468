"""cnnviz.lab: the lab's pipeline, its display choice and the pixel it starts on, by known answers."""

import numpy as np
import pytest

from cnnviz import kernels, ops
from cnnviz.errors import InvalidInput
from cnnviz.lab import LabConfig, informative_pixel, rescaled_pixel, run_lab, suggested_display


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
