"""The Convolution lab in AppTest: sequences of clicks that broke it, the pixel it explains, the display
it picks, and colour convolution as a Conv2D filter computes it. (Clicking a picture: test_browser_lab.)"""

import numpy as np
import pytest

from cnnviz import images, kernels, ops
from tests.test_app import lab


def markdown_of(at) -> str:
    return " ".join(block.value for block in at.markdown)


def pixel(at) -> tuple[int, int]:
    return at.number_input(key="lab_row").value, at.number_input(key="lab_col").value


def test_switching_to_every_kernel_and_back_keeps_the_arithmetic():
    """Was: KeyError 'lab_row' (Streamlit drops the state of widgets a run did not draw)."""
    at = lab()
    at.number_input(key="lab_row").set_value(100).run()
    for _ in range(2):
        at.radio(key="lab_view").set_value("gallery").run()
        assert not at.exception
        at.radio(key="lab_view").set_value("one").run()
        assert not at.exception
        assert "Sum of the products" in markdown_of(at)
        assert pixel(at)[0] == 100  # the chosen pixel survived the trip


def test_bad_then_good_custom_kernel_recovers():
    at = lab(kernel="custom")
    at.text_area(key="lab_custom").set_value("1 2; 3").run()
    assert at.error and not at.exception
    assert len(at.get("image")) >= 2  # the last good input and output stay in view
    at.text_area(key="lab_custom").set_value("-1 0 1; -2 0 2; -1 0 1").run()
    assert not at.exception and not at.error
    camera = images.load_sample("camera")
    row, col = pixel(at)
    expected = ops.conv2d(camera, kernels.KERNELS["sobel x"])[row, col]
    assert f"= {float(expected):g}`" in markdown_of(at)


def test_chosen_pixel_follows_a_change_of_stride_and_size():
    at = lab()
    at.number_input(key="lab_row").set_value(300).run()
    at.number_input(key="lab_col").set_value(100).run()
    assert at.query_params["row"] in ("300", ["300"])
    at.number_input(key="lab_stride").set_value(2).run()  # 510 -> 255 outputs: the same place is (150, 50)
    assert pixel(at) == (150, 50)
    at.number_input(key="lab_stride").set_value(1).run()
    at.selectbox(key="lab_size").set_value(64).run()  # a 62x62 output: still inside, same place
    row, col = pixel(at)
    assert (row, col) == (36, 12)  # (300.5 / 510 * 62, 100.5 / 510 * 62), inside the 62x62 output
    assert not at.exception


def test_another_image_starts_on_an_informative_pixel_again():
    at = lab()
    at.number_input(key="lab_row").set_value(5).run()
    at.number_input(key="lab_col").set_value(5).run()
    at.selectbox(key="lab_sample").set_value("coins").run()
    assert pixel(at) != (5, 5)
    assert "row" not in at.query_params


@pytest.mark.parametrize(
    ("kernel", "words"),
    [("sobel x", "signed colours"), ("box blur", "clipped 0..255"), ("vertical line 7x7", "stretched min..max")],
)
def test_automatic_display_suits_the_kernel_and_can_be_overridden(kernel, words):
    at = lab(kernel=kernel)
    assert any(words in caption.value for caption in at.caption), [c.value for c in at.caption]
    at.radio(key="lab_display").set_value("signed").run()
    assert not any("(automatic" in caption.value for caption in at.caption)
    assert at.query_params["display"] in ("signed", ["signed"])


def test_colour_image_meets_one_filter_and_the_arithmetic_sums_three_channels():
    at = lab(colour="rgb", sample="astronaut")
    assert "512x512x3 -> 510x510" in markdown_of(at)
    astronaut = images.load_sample("astronaut").astype(np.float32)
    sobel = kernels.KERNELS["sobel x"]
    row, col = pixel(at)
    expected = ops.conv2d(astronaut, np.repeat(sobel[..., None], 3, axis=2))[row, col]
    line = next(block.value for block in at.markdown if "three channels' products" in block.value)
    assert line.endswith(f"= {float(expected):g}`") and "R " in line and "+ G " in line and "+ B " in line
    grids = next(block.value for block in at.markdown if "cnv-grid" in block.value)
    assert grids.count("<table") == 9  # window, slice and products for each of R, G and B


def test_red_edges_only_filter():
    at = lab(colour="rgb", sample="astronaut", slices="each")
    assert at.selectbox(key="lab_slice_r").value == "kernel"
    assert at.selectbox(key="lab_slice_g").value == "zeros"
    at.number_input(key="lab_row").set_value(200).run()
    at.number_input(key="lab_col").set_value(220).run()
    red = images.load_sample("astronaut")[..., 0]
    expected = ops.conv2d(red, kernels.KERNELS["sobel x"])[200, 220]
    assert f"G 0 + B 0 = {float(expected):g}`" in markdown_of(at)
    at.selectbox(key="lab_kernel").set_value("vertical line 7x7").run()  # 3x3 slices cannot stay
    assert not at.exception and not at.error


def test_each_channel_alone_keeps_three_maps_and_a_channel_choice():
    at = lab(colour="rgb", sample="astronaut", mode="depthwise")
    assert "512x512x3 -> 510x510x3" in markdown_of(at)
    at.selectbox(key="lab_channel").set_value(2).run()
    row, col = pixel(at)
    blue = images.load_sample("astronaut")[..., 2]
    assert f"= {float(ops.conv2d(blue, kernels.KERNELS['sobel x'])[row, col]):g}`" in markdown_of(at)


def test_bias_and_pooling_arithmetic():
    at = lab(bias="10", post="relu", pool="max")
    at.number_input(key="lab_row").set_value(101).run()
    at.number_input(key="lab_col").set_value(301).run()
    camera = images.load_sample("camera")
    activated = np.maximum(ops.conv2d(camera, kernels.KERNELS["sobel x"]) + 10, 0)
    text = markdown_of(at)
    raw = ops.conv2d(camera, kernels.KERNELS["sobel x"])[101, 301]
    assert f"Plus the bias 10: **{float(raw) + 10:g}**" in text
    assert f"After ReLU: **{float(activated[101, 301]):g}**" in text
    pooled = ops.max_pool2d(activated, 2)
    assert f"Max of the window: **{float(pooled[50, 150]):g}**" in text


@pytest.mark.parametrize("side", [5, 11, 15])
def test_large_kernels_show_their_grids(side):
    custom = "; ".join(" ".join("1" for _ in range(side)) for _ in range(side))
    at = lab(kernel="custom", custom=custom)
    assert not at.exception and not at.error
    grids = next(block.value for block in at.markdown if "cnv-grid" in block.value)
    assert grids.count("<tr>") == 3 * side
    assert 'title="row 0, column 0: ' in grids  # every number on hover
    assert any("hover over a cell" in caption.value for caption in at.caption) == (side > 9)


def test_each_channel_alone_with_a_kernel_per_channel_explains_one_channel():
    at = lab(colour="rgb", sample="astronaut", mode="depthwise", slices="each", sg="sobel y")
    assert "512x512x3 -> 510x510x3" in markdown_of(at)
    at.selectbox(key="lab_channel").set_value(1).run()  # green: its own slice, Sobel y
    row, col = pixel(at)
    green = images.load_sample("astronaut")[..., 1]
    assert f"= {float(ops.conv2d(green, kernels.KERNELS['sobel y'])[row, col]):g}`" in markdown_of(at)
    assert "three channels' products" not in markdown_of(at)
