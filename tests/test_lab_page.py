"""The Convolution lab in AppTest: sequences of clicks that broke it, the pixel it explains, the display
it picks, and colour convolution as a Conv2D filter computes it. (Clicking a picture: test_browser_lab.)"""

import numpy as np
import pytest

from app_support.lab import view as lab_view
from cnnviz import images, kernels, ops
from cnnviz.lab import LabConfig, compare_shift, small_map
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


def test_a_kernel_that_answers_nothing_says_so_under_its_colour_bar():
    """All zeros out (a zero kernel here; a flat picture or a camera's black first frame in class):
    the bar says so instead of reading -1e-06 · 0 · +1e-06."""

    def captions(at) -> list[str]:
        return [caption for image in at.get("image") for caption in image.captions]

    at = lab(kernel="custom", custom="0 0 0; 0 0 0; 0 0 0")
    said = "every value here is 0 (a flat picture, an all-zero kernel, or an activation that removed them all)"
    assert said in captions(at)
    assert not any("1e-06" in caption for caption in captions(at))
    at.text_area(key="lab_custom").set_value("-1 0 1; -2 0 2; -1 0 1").run()
    assert not any("every value here is 0" in caption for caption in captions(at))


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


# --- transposed convolution ---------------------------------------------------------------------


def test_transposed_mode_shows_stages_formula_check_and_one_pixel():
    at = lab(op="transpose")
    text = markdown_of(at)
    assert "**Shapes:** 4x4 -> 9x9" in text
    assert "H' = (4 - 1) * 2 + 3 = 9" in " ".join(caption.value for caption in at.caption)
    assert "Equals TensorFlow's `conv2d_transpose`: max difference **0.0**" in text
    small = small_map(images.load_sample("camera"), 4)
    expected = ops.conv2d_transpose(small, kernels.KERNELS["sobel x"])
    assert at.number_input(key="lab_t_row").value == 4  # the middle, until one is chosen
    assert f"= {float(expected[4, 4]):g}`" in text
    grids = next(block.value for block in at.markdown if "cnv-grid" in block.value)
    assert "3. Padded with 2 zeros all round" in grids and "4. Turned 180 degrees" in grids
    at.number_input(key="lab_t_row").set_value(0).run()
    at.number_input(key="lab_t_col").set_value(2).run()
    assert f"= {float(expected[0, 2]):g}`" in markdown_of(at)
    assert at.query_params["trow"] in ("0", ["0"])
    at.number_input(key="lab_tstride").set_value(3).run()  # 4x4 -> 12x12: the chosen pixel stays inside
    assert "**Shapes:** 4x4 -> 12x12" in markdown_of(at) and not at.exception


def test_typed_map_bad_then_good_and_same_padding():
    at = lab(op="transpose", tmap="typed", kernel="box blur", tpad="same")
    assert "**Shapes:** 2x2 -> 4x4" in markdown_of(at)
    at.text_area(key="lab_ttext").set_value("1 2; x 4").run()
    assert at.error and "Map" in at.error[0].value and not at.exception
    assert "**Shapes:** 2x2 -> 4x4" in markdown_of(at)  # the last good map stays in view
    at.text_area(key="lab_ttext").set_value("9 0 0; 0 0 0; 0 0 9").run()
    assert not at.error and "**Shapes:** 3x3 -> 6x6" in markdown_of(at)
    expected = ops.conv2d_transpose(
        np.array([[9, 0, 0], [0, 0, 0], [0, 0, 9]]), kernels.KERNELS["box blur"], padding="same"
    )
    assert f"= {float(expected[3, 3]):g}`" in markdown_of(at)


# --- lessons 1 and 2: pooling to 256, global average pooling, shifting the picture --------------------


def test_same_padding_and_max_pooling_halve_the_photo():
    at = lab(pad="same", pool="max", kernel="tutorial laplacian", post="clip")
    assert "512x512 -> 512x512 -> 256x256" in markdown_of(at)


def test_global_average_pooling_shows_one_number_and_its_formula():
    at = lab(pool="gap")
    conv = ops.conv2d(images.load_sample("camera"), kernels.KERNELS["sobel x"]).astype(np.float64)
    text = markdown_of(at)
    assert "512x512 -> 510x510 -> 1x1" in text
    assert f"/ 260100 = **{conv.mean():.4g}**" in text
    assert at.number_input(key="lab_pool_size").disabled


def test_shift_compares_convolution_and_pooling_with_the_unshifted_picture():
    at = lab(dx="1", post="relu", pool="max")
    camera = images.load_sample("camera")
    comparison = compare_shift(camera, kernels.KERNELS["sobel x"], LabConfig(activation="relu", pool="max"), dx=1, dy=0)
    text = markdown_of(at)
    assert "The picture moved 1 pixel right" in text
    conv, pooled = comparison.shares("convolution"), comparison.shares("output")
    assert f"it answers, **{conv['same']:.0%}** stayed where they were" in text
    # a 1-pixel shift at stride 1: the convolution's answers moved with the picture, and the page says so
    assert f"**{conv['moved']:.0%}** are the same answers moved with the picture" in text and conv["moved"] > 0.9
    assert f"2x2: **{pooled['same']:.0%}** stayed where they were" in text  # half a pooled pixel: cannot move
    assert conv["same"] < pooled["same"]
    at.number_input(key="lab_dx").set_value(0).run()
    assert "The picture moved" not in markdown_of(at) and "dx" not in at.query_params


# --- a teacher's locks --------------------------------------------------------------------------

KINDS = ("radio", "selectbox", "number_input", "checkbox", "text_area", "slider")
# The setting behind each widget, where the widget's key is not the setting's own.
WIDGET_KEYS = {"lab_pick_row": "lab_row", "lab_pick_col": "lab_col", "lab_trow": "lab_t_row", "lab_tcol": "lab_t_col"}
# Views that between them draw every widget of the lab.
VIEWS = [
    {"colour": "rgb", "mode": "depthwise", "slices": "each", "kernel": "custom", "pool": "max"},
    {"op": "transpose", "tmap": "typed"},
    {"op": "transpose"},
    {"src": "draw"},
]


def widgets(at) -> dict[str, bool]:
    """Every drawn widget: key -> disabled."""
    return {w.key: w.disabled for kind in KINDS for w in at.get(kind) if w.key}


def test_every_lab_setting_can_be_fixed_or_hidden_and_still_applies():
    covered = set()
    for query in VIEWS:
        drawn = widgets(lab(**query))
        params = {s.param: WIDGET_KEYS.get(s.key, s.key) for s in lab_view.SETTINGS}
        lockable = {param: key for param, key in params.items() if key in drawn}
        covered |= set(lockable)
        fixed = widgets(lab(**query, fix=",".join(lockable)))
        assert all(fixed[key] for key in lockable.values()), [k for k in lockable.values() if not fixed[k]]
        hidden = lab(**query, hide=",".join(lockable))
        assert not set(widgets(hidden)) & set(lockable.values())
        assert not hidden.exception
    assert covered == {s.param for s in lab_view.SETTINGS}


def test_a_locked_link_locks_what_it_says_and_nothing_else():
    free = widgets(lab(stride="2", pool="max"))
    at = lab(stride="2", pool="max", fix="stride,pad", hide="pool,src")
    locked = widgets(at)
    assert locked["lab_stride"] and locked["lab_padding"]
    assert "lab_pool" not in locked and "lab_source" not in locked
    others = set(free) - {"lab_stride", "lab_padding", "lab_pool", "lab_source"}
    assert {key: locked[key] for key in others} == {key: free[key] for key in others}
    assert "512x512 -> 255x255 -> 127x127" in markdown_of(at)  # the link's stride and hidden pooling apply
    assert any("fixed: Padding, Stride; hidden: Pooling, Image from" in caption.value for caption in at.caption)
    at.selectbox(key="lab_kernel").set_value("sobel y").run()  # another run: the hidden pooling still applies
    assert "512x512 -> 255x255 -> 127x127" in markdown_of(at) and at.query_params["pool"] in ("max", ["max"])


def test_a_fixed_pixel_cannot_be_typed():
    at = lab(op="transpose", fix="trow,tcol", trow="1", tcol="2")
    assert at.number_input(key="lab_t_row").disabled and at.number_input(key="lab_t_row").value == 1
    assert not at.number_input(key="lab_tstride").disabled


def test_switching_operations_and_pages_keeps_each_modes_choices():
    at = lab()
    at.number_input(key="lab_row").set_value(100).run()
    at.radio(key="lab_op").set_value("transpose").run()
    at.number_input(key="lab_t_col").set_value(1).run()
    at.radio(key="lab_op").set_value("conv").run()
    assert not at.exception and pixel(at)[0] == 100
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/convolution_lab.py").run()
    assert not at.exception and pixel(at)[0] == 100
    at.radio(key="lab_op").set_value("transpose").run()
    assert at.number_input(key="lab_t_col").value == 1 and not at.exception


def test_clipped_output_is_shown_as_the_tutorials_picture():
    """Lesson 1's weight and clipping: the raw sums keep their colour bar, the clipped map is a grey picture."""
    at = lab(kernel="tutorial laplacian", post="clip", weight="2")
    captions = " ".join(caption.value for caption in at.caption)
    assert "After clipping: a picture again, 0 black to 255 white" in captions
    assert len(at.get("image")) >= 4  # input, raw sums and their colour bar, the clipped picture (no bar)
    at.radio(key="lab_display").set_value("signed").run()  # a chosen display is kept for every stage
    assert "After clipping" not in " ".join(caption.value for caption in at.caption)


def test_a_fixed_pixel_makes_the_pictures_plain():
    """Clicking a picture would choose another pixel: with the pixel fixed they are plain pictures."""
    free = len(lab(pool="max").get("image"))
    at = lab(pool="max", fix="row,col", row="10", col="20")
    assert len(at.get("image")) == free + 3  # the input, the output and the pooled map, now not clickable
    assert at.number_input(key="lab_row").disabled and at.number_input(key="lab_row").value == 10


def test_a_channel_slice_survives_a_trip_to_another_page():
    """Was (random walk, seed 21): the G slice came back as 'zeros' (its selectbox did not persist)."""
    at = lab(colour="rgb", slices="each")
    at.selectbox(key="lab_slice_g").set_value("laplacian 8").run()
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/convolution_lab.py").run()
    assert at.selectbox(key="lab_slice_g").value == "laplacian 8" and not at.exception


# --- what a learner reads (issue: the lab's numbers and settings) ---------------------------------------


def test_each_operation_keeps_its_own_padding():
    """Was: padding shared by convolution and transposed modes while stride was not, so switching modes
    turned the convolution from SAME to VALID with no notice."""
    at = lab(pad="same")
    at.radio(key="lab_op").set_value("transpose").run()
    assert at.selectbox(key="lab_tpadding").value == "valid"
    at.selectbox(key="lab_tpadding").set_value("same").run()
    at.radio(key="lab_op").set_value("conv").run()
    assert at.selectbox(key="lab_padding").value == "same" and "512x512 -> 512x512" in markdown_of(at)
    assert at.query_params["pad"] in ("same", ["same"]) and at.query_params["tpad"] in ("same", ["same"])


def test_pool_stride_shows_the_number_it_stands_for():
    at = lab(pool="max", psize="3")
    box = at.selectbox(key="lab_pool_stride")
    assert box.value == 0 and "3 (= size)" in box.options


def test_an_upload_still_in_use_says_so_when_the_box_is_empty():
    """Was: back from another page the upload box was empty while the uploaded picture was still used."""
    at = lab(src="upload")
    at.session_state["lab_upload_kept"] = ("cat.png", np.full((40, 60), 90, dtype=np.uint8))
    at.run()
    assert any("In use: cat.png, from before" in caption.value for caption in at.caption)
    assert "40x60" in markdown_of(at)


def test_one_colour_scale_for_every_stage():
    """The colour bar's ends are a percentile, said so with the true range; on request every signed stage
    is drawn on the convolution's scale."""
    at = lab(post="abs", display="signed")
    bars = [c for image in at.get("image") for c in image.captions if "stronger values take the end colours" in c]
    assert len(bars) == 2 and bars[0] != bars[1]
    assert "the values run from -" in bars[0]
    at.checkbox(key="lab_scale").check().run()
    bars = [c for image in at.get("image") for c in image.captions if "stronger values take the end colours" in c]
    assert bars[0].split(":")[0] == bars[1].split(":")[0]  # the same ends
    assert at.query_params["scale"] in ("1", ["1"])


def test_a_weight_too_large_names_the_weight():
    at = lab(weight="1000000")
    assert at.error and "The weight 1000000 times the kernel's largest entry" in at.error[0].value
