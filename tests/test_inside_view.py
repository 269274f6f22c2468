"""Inside the network in AppTest: the defaults a newcomer meets, three images, the channel picked by
number (the path AppTest can drive; the click is in tests/test_browser_inside.py), and sequences."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

INSIDE = "pages/inside.py"


def inside() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page(INSIDE).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def captions_of_pictures(at) -> list[str]:
    return [image.caption for element in at.get("image") for image in element.proto.imgs]


def predictions(at) -> list[str]:
    return [m.value for m in [*at.success, *at.warning] if m.value.startswith("Prediction:")]


def test_heatmaps_default_to_the_last_convolution_and_name_it():
    at = inside()
    at.session_state["inside_view"] = "heatmaps"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    layer = at.selectbox(key="inside_cam_layer")
    assert layer.value == "conv2"  # 11x11, not maxpool2's 5x5 (the last map of all)
    assert layer.options == ["conv1", "maxpool1", "conv2", "maxpool2"]
    captions = captions_of_pictures(at)
    assert "Grad-CAM on conv2 (11x11)" in captions and "Score-CAM on conv2 (11x11)" in captions
    assert "blue: no evidence for the class · red: the strongest evidence" in captions  # the one legend
    assert any(c.startswith("Input: test #0") for c in [c.value for c in at.caption])
    layer.set_value("maxpool2").run()
    assert "Grad-CAM on maxpool2 (5x5)" in captions_of_pictures(at)


def test_three_images_give_three_predictions_and_three_sets_of_maps():
    at = inside()
    assert len(predictions(at)) == 1
    next(m for m in at.multiselect if m.label.startswith("Test images")).set_value([0, 1, 2]).run()
    assert not at.exception, [e.message for e in at.exception]
    assert len(predictions(at)) == 3
    grids = [c.value for c in at.caption if "every channel of conv1" in c.value]
    assert [g.split(" (")[0] for g in grids] == ["test #0", "test #1", "test #2"]
    assert captions_of_pictures(at).count("channel 0") == 3  # each image's channel 0, beside its input
    at.session_state["inside_view"] = "heatmaps"
    at.run()
    why = [c for c in captions_of_pictures(at) if ": why " in c]
    assert len(why) == 3  # one row per image, each explained for its own predicted class
    for caption, verdict in zip(why, predictions(at), strict=True):
        assert caption.endswith(f"why {verdict.split('**')[1]}?")


def test_the_channel_number_picks_the_enlarged_channel_and_is_kept_in_range():
    at = inside()
    assert "test #0 (labelled 1): channel 0 of conv1, enlarged" in captions_of_pictures(at)
    at.number_input(key="inside_channel").set_value(17).run()
    assert "test #0 (labelled 1): channel 17 of conv1, enlarged" in captions_of_pictures(at)
    at.number_input(key="inside_channel").set_value(63).run()  # conv1 has 32 channels: the last one
    assert "test #0 (labelled 1): channel 31 of conv1, enlarged" in captions_of_pictures(at)
    at.selectbox(key="inside_layer").set_value("conv2").run()  # 64 channels: now 63 exists
    assert "test #0 (labelled 1): channel 63 of conv2, enlarged" in captions_of_pictures(at)
    assert not at.exception, [e.message for e in at.exception]


def test_the_test_images_and_the_channel_are_in_the_url_and_a_reload_opens_them():
    at = inside()
    picker = next(m for m in at.multiselect if m.label.startswith("Test images"))
    picker.set_value([0, 3]).run()  # one at a time, as a learner adds them
    next(m for m in at.multiselect if m.label.startswith("Test images")).set_value([0, 3, 5]).run()
    at.number_input(key="inside_channel").set_value(17).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.query_params["imgs"] == "0,3,5" and at.query_params["channel"] == "17"
    # A reload (or the link shared): a new session from the address alone.
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    again.query_params.update({"imgs": "0,3,5", "channel": "17"})
    again.run()
    again.switch_page(INSIDE).run()
    assert not again.exception, [e.message for e in again.exception]
    assert next(m for m in again.multiselect if m.label.startswith("Test images")).value == [0, 3, 5]
    assert again.number_input(key="inside_channel").value == 17
    assert captions_of_pictures(again).count("channel 17") == 3 and len(predictions(again)) == 3
    # Back to the defaults: the address is short again.
    next(m for m in again.multiselect if m.label.startswith("Test images")).set_value([0]).run()
    again.number_input(key="inside_channel").set_value(0).run()
    assert "imgs" not in again.query_params and "channel" not in again.query_params


def test_signed_maps_come_with_their_colour_bar():
    at = inside()
    assert not any("(blue)" in c for c in captions_of_pictures(at))
    at.selectbox(key="inside_norm").set_value("signed").run()
    assert not at.exception, [e.message for e in at.exception]
    bars = [c for c in captions_of_pictures(at) if "(blue) · 0 (white) ·" in c]
    assert len(bars) == 1 and bars[0].startswith("-")


@pytest.mark.parametrize("click, expected", [((376, 20), 3), ((5, 150), 8), ((700, 350), 30), ((10, 500), None)])
def test_a_click_on_the_grid_sets_the_channel_input(monkeypatch, click, expected):
    """The click callback with the shipped model's conv1 grid (32 tiles of 26x26, 8 columns, gap 1:
    215x107 pixels) shown at 860x428: the tile under the click becomes the channel input's value."""
    from app_support.inside import view as inside_view

    state = {"grid": {"click": {"x": click[0], "y": click[1], "width": 860, "height": 428, "unix_time": 1}}}
    monkeypatch.setattr(inside_view.st, "session_state", state)
    layout = {"tile_shape": (26, 26), "count": 32, "columns": 8, "gap": 1}
    inside_view._pick_channel("grid", "channel", layout)
    assert state.get("channel") == expected  # past the grid's bottom: nothing changes


def test_a_click_becomes_a_cell_of_any_grid_laid_over_the_picture(monkeypatch):
    """`position` scales the click to the grid and keeps it inside; no click, or one on a picture not yet
    laid out (no size), is no cell."""
    from app_support.common import clickable

    state = {"pic": {"click": {"x": 99.5, "y": 0.2, "width": 100, "height": 50, "unix_time": 1}}, "none": {}}
    monkeypatch.setattr(clickable.st, "session_state", state)
    assert clickable.position("pic", (10, 4)) == (0, 3)
    assert clickable.position("pic", (50, 100)) == (0, 99)
    assert clickable.position("none", (5, 5)) is None and clickable.position("absent", (5, 5)) is None
    state["pic"]["click"] = {"x": 200, "y": 60, "width": 100, "height": 50, "unix_time": 2}  # past the edge
    assert clickable.position("pic", (5, 5)) == (4, 4)
    state["pic"]["click"] = {"x": 1, "y": 1, "width": 0, "height": 0, "unix_time": 3}
    assert clickable.position("pic", (5, 5)) is None and clickable.last_click("pic") is None


def test_sequences_a_learner_tries():
    at = inside()
    at.number_input(key="inside_channel").set_value(9).run()
    for view in ("heatmaps", "filters", "maps", "heatmaps", "maps"):  # views back and forth
        at.session_state["inside_view"] = view
        at.run()
        assert not at.exception, [e.message for e in at.exception]
    assert "test #0 (labelled 1): channel 9 of conv1, enlarged" in captions_of_pictures(at)  # the pick is kept
    picker = next(m for m in at.multiselect if m.label.startswith("Test images"))
    picker.set_value([4]).run()  # another image after a pick: same channel, new picture
    assert any(c.startswith("test #4") and "channel 9 of conv1" in c for c in captions_of_pictures(at))
    next(m for m in at.multiselect if m.label.startswith("Test images")).set_value([]).run()
    assert any("Choose an input above." in i.value for i in at.info)  # no image: says what to do
    next(m for m in at.multiselect if m.label.startswith("Test images")).set_value([2]).run()
    at.radio(key="inside_input").set_value("own").run()
    assert not at.exception, [e.message for e in at.exception]
    at.radio(key="inside_input").set_value("test").run()
    at.switch_page("pages/home.py").run()
    at.switch_page(INSIDE).run()  # leave and come back
    assert not at.exception, [e.message for e in at.exception]
    assert len(predictions(at)) == 1
    assert "test #2 (labelled 1): channel 9 of conv1, enlarged" in captions_of_pictures(at)  # all as it was


def test_a_heatmap_is_computed_once_and_a_slider_elsewhere_does_not_compute_it_again(monkeypatch):
    from app_support.common import model_views
    from cnnviz import cam

    computed = []
    original = cam.class_activation_map

    def counted(model, image, method="gradcam", **options):
        computed.append((method, options["layer"]))
        return original(model, image, method, **options)

    monkeypatch.setattr(cam, "class_activation_map", counted)
    model_views._heatmap.clear()
    at = inside()
    at.session_state["inside_view"] = "heatmaps"
    at.run()
    first = len(computed)
    assert first == len(cam.METHODS) and {layer for _, layer in computed} <= {"conv2", None}
    pictures = captions_of_pictures(at)
    at.slider(key="inside_opacity").set_value(0.8).run()  # only the blend changes
    assert not at.exception and len(computed) == first and captions_of_pictures(at) == pictures
    at.selectbox(key="inside_cam_layer").set_value("conv1").run()  # a new layer: new maps
    assert len(computed) > first and ("gradcam", "conv1") in computed


def test_every_loaded_model_has_a_name_of_its_own_in_the_caches():
    from app_support.common.model_views import model_token

    class Model:
        pass

    first, second = Model(), Model()
    assert model_token(first) == model_token(first) != model_token(second)
    name = model_token(first)
    del first
    again = [Model() for _ in range(200)]  # one of them may take the dropped model's place
    assert all(model_token(model) != name for model in again)
