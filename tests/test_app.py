"""AppTest: every page runs without an exception, and the lab is driven through its non-canvas inputs."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cnnviz import images, kernels, ops
from tests.conftest import ROOT

TIMEOUT = 60
LAB = "pages/convolution_lab.py"
TRAINER = "pages/trainer.py"


def lab(**query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update(query)
    at.run()
    at.switch_page(LAB).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_home_page_runs_and_links_every_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "see how convolutional neural networks work" in at.title[0].value
    assert [block.value for block in at.subheader] == [
        "Convolution lab",
        "Trainer",
        "Inside the network",
        "Upload & predict",
    ]
    assert len(at.get("image")) == 4  # a picture of each page
    assert "Start here: the lessons" in " ".join(block.value for block in at.markdown)
    at.switch_page(TRAINER).run()
    assert not at.exception and at.title[0].value == "Trainer"


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("CNNVIZ_BACKEND", "dask", "CNNVIZ_BACKEND='dask' is not accepted: local or ray."),
        (
            "CNNVIZ_SPARES",
            "-1",
            "CNNVIZ_SPARES='-1' is out of range: local workers kept started for the next run, 0 to 8 (default 1).",
        ),
    ],
)
def test_a_bad_server_setting_is_named_on_every_page(monkeypatch, variable, value, said):
    """A CNNVIZ_* variable the run manager cannot start with: every page says which and what it
    accepts (it used to surface as the Trainer's generic error), and nothing else runs."""
    monkeypatch.setenv(variable, value)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    for page in (None, TRAINER, LAB):
        if page:
            at.switch_page(page).run()
        assert not at.exception
        assert [e.value for e in at.error] == [
            f"This server is set up wrongly: {said} Tell whoever runs it (your teacher?): it must be fixed and "
            "restarted."
        ]
        assert not at.title  # the page itself did not run
    monkeypatch.delenv(variable)
    at.run()
    assert not at.error and at.title[0].value == "Convolution lab"


def test_script_runs_leave_keras_state_alone():
    """Streamlit calls keras.backend.clear_session() after each run when Keras is imported; the app
    turns that off (app_support.common.boot): process-wide, it would reset every other session's Keras."""
    import keras

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    first = keras.backend.get_uid("cnnviz_probe")
    at.run()
    assert keras.backend.get_uid("cnnviz_probe") == first + 1


def test_home_page_and_library_do_not_import_tensorflow():
    script = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        "import cnnviz, cnnviz.images, cnnviz.ops, cnnviz.kernels, cnnviz.display, cnnviz.lab\n"
        f"at = AppTest.from_file({str(ROOT / 'app.py')!r}, default_timeout=60).run()\n"
        "assert not at.exception\n"
        "print('tensorflow' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_lab_default_view_shows_shapes_and_arithmetic():
    at = lab()
    markdown = " ".join(block.value for block in at.markdown)
    assert "512x512 -> 510x510" in markdown
    # The default pixel is an informative one (on an edge Sobel x answers); its sum equals our conv2d there.
    camera = images.load_sample("camera")
    output = ops.conv2d(camera, kernels.KERNELS["sobel x"])
    row, col = at.number_input(key="lab_row").value, at.number_input(key="lab_col").value
    assert abs(output[row, col]) > 200  # an edge, not a flat patch whose products cancel
    assert f"= {float(output[row, col]):g}`" in markdown
    assert len(at.get("download_button")) == 1
    assert len(at.get("image")) == 4  # input, output, colour bar, zoom (the clickable pictures are components)
    assert "row" not in at.query_params  # a pixel nobody chose stays out of the link


def test_lab_kernel_change_updates_the_url_and_the_output():
    at = lab()
    at.selectbox(key="lab_kernel").set_value("laplacian 4").run()
    assert not at.exception
    assert at.query_params["kernel"] in ("laplacian 4", ["laplacian 4"])
    assert any("Second derivative" in caption.value for caption in at.caption)


def test_lab_opens_the_view_from_a_shared_link():
    at = lab(kernel="box blur", stride="2", pad="same", pool="max", post="relu", colour="rgb", sample="astronaut")
    assert at.selectbox(key="lab_kernel").value == "box blur"
    assert at.number_input(key="lab_stride").value == 2
    markdown = " ".join(block.value for block in at.markdown)
    assert "512x512x3 -> 256x256 -> 128x128" in markdown  # one Conv2D filter: one map from three channels
    assert len(at.get("download_button")) == 3  # convolution, ReLU, pooling


def test_lab_ignores_nonsense_in_the_url():
    at = lab(kernel="<script>", stride="-4", weight="nan", pool="huge")
    assert at.selectbox(key="lab_kernel").value == "sobel x"
    assert at.number_input(key="lab_stride").value == 1
    assert not at.error


def test_lab_custom_kernel_good_and_bad():
    at = lab(kernel="custom")
    at.text_area(key="lab_custom").set_value("0 0 0; 0 2 0; 0 0 0").run()
    assert not at.exception and not at.error
    at.number_input(key="lab_row").set_value(255).run()
    at.number_input(key="lab_col").set_value(255).run()
    markdown = " ".join(block.value for block in at.markdown)
    camera = images.load_sample("camera")
    assert f"= {2 * float(camera[256, 256]):g}`" in markdown
    at.text_area(key="lab_custom").set_value("1 2; 3").run()
    assert not at.exception
    assert "same number of entries" in at.error[0].value
    assert len(at.error) == 1  # said once, where the output would be; the typed text stays
    assert at.text_area(key="lab_custom").value == "1 2; 3"
    # The last good outputs stay in view, marked as such, under the message.
    assert any("last good kernel" in caption.value for caption in at.caption)
    assert f"= {2 * float(camera[256, 256]):g}`" in " ".join(block.value for block in at.markdown)
    at.text_area(key="lab_custom").set_value("1 nan 1").run()
    assert "NaN" in at.error[0].value


def test_lab_stride_padding_pooling_and_pixel_choice():
    at = lab()
    at.number_input(key="lab_stride").set_value(2).run()
    at.selectbox(key="lab_padding").set_value("same").run()
    at.selectbox(key="lab_pool").set_value("avg").run()
    at.number_input(key="lab_row").set_value(0).run()
    at.number_input(key="lab_col").set_value(0).run()
    assert not at.exception
    markdown = " ".join(block.value for block in at.markdown)
    assert "512x512 -> 256x256 -> 128x128" in markdown
    camera = images.load_sample("camera").astype(np.float32)
    expected = ops.conv2d(camera, kernels.KERNELS["sobel x"], stride=2, padding="same")[0, 0]
    assert f"= {float(expected):g}`" in markdown


def test_lab_too_large_a_kernel_for_a_small_image_is_explained():
    at = lab(sample="mnist digit", size="64")
    at.selectbox(key="lab_kernel").set_value("vertical line 7x7").run()
    at.number_input(key="lab_stride").set_value(8).run()
    at.selectbox(key="lab_pool").set_value("max").run()
    at.number_input(key="lab_pool_size").set_value(8).run()
    assert not at.exception
    assert at.error and "does not fit" in at.error[0].value


def test_lab_gallery_shows_every_kernel():
    at = lab(view="gallery", colour="rgb", sample="chelsea")
    assert not at.exception
    assert len(at.get("image")) == len(kernels.KERNELS)


@pytest.mark.parametrize("name", list(kernels.KERNELS))
def test_lab_every_kernel_runs(name):
    at = lab(kernel=name, display="clipped")
    assert not at.error, name


def test_lab_other_sources_wait_for_input():
    at = lab()
    at.radio(key="lab_source").set_value("upload").run()
    assert not at.exception
    assert any("Choose an image" in info.value for info in at.info)
    at.radio(key="lab_source").set_value("draw").run()
    assert not at.exception


def test_setting_round_trip_through_json():
    # Query parameters are plain strings: the page's Setting encodes numbers and flags compactly.
    from app_support.common.state import Setting

    flag = Setting("k", "p", False)
    assert flag.parse(flag.encode(True)) is True
    number = Setting("k", "p", 1.0, bounds=(-5, 5))
    assert number.parse("2.5") == 2.5 and number.parse("50") == 1.0 and number.parse("x") == 1.0
    assert json.dumps(number.encode(0.1)) == '"0.1"'


# --- Trainer ------------------------------------------------------------------------------------


def until_finished(at: AppTest, *, timeout: float = 600) -> None:
    """Rerun the page (as its live refresh would) until the run says Finished; no exception on the way.
    The deadline only ends a broken test: a run that takes 30 s alone takes minutes on a loaded machine."""
    deadline = time.monotonic() + timeout
    while not any("Finished" in s.value for s in at.success):
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(1)
        at.run()
        assert not at.exception, [e.message for e in at.exception]


def live_charts(at: AppTest) -> list[str]:
    """The titles of the charts updated in place (app_support.common.live_chart), which AppTest does not
    draw: read from the figure each element carries."""
    return [
        json.loads(element.proto.json)["figure"]["layout"]["title"]["text"]
        for element in at.get("bidi_component")
        if element.proto.component_name == "cnnviz_live_chart"
    ]


def trainer() -> AppTest:
    """The Trainer reached as a learner reaches it: the app, then its page (needs `as_a_running_server`)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page(TRAINER).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.mark.usefixtures("as_a_running_server")
def test_trainer_shows_the_dataset_and_explains_parameters():
    at = trainer()
    assert at.selectbox(key="trainer_dataset").value == "mnist-bundled"
    assert at.selectbox(key="trainer_preset_mnist-bundled").value == "mnist-fast"
    tables = [frame.value for frame in at.dataframe]
    summary = next(t for t in tables if "how" in t.columns)
    assert "(3*3*1+1)*32 = 320" in summary["how"].tolist()
    assert summary["parameters"].sum() == 225_034


@pytest.mark.usefixtures("as_a_running_server")
def test_trainer_run_survives_reruns_and_finishes():
    at = trainer()
    at.selectbox(key="trainer_dataset").set_value("shapes").run()
    at.number_input(key="trainer_epochs_shapes").set_value(2).run()
    at.button(key="trainer_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="trainer_run").value is not None
    until_finished(at)  # reruns, as a widget click or the live refresh would cause: the run goes on
    assert len(at.selectbox(key="trainer_run").options) == 1  # reruns did not duplicate the run
    assert any(m.label == "Test accuracy" for m in at.metric)


@pytest.mark.usefixtures("as_a_running_server")
def test_trainer_queued_run_shows_its_place_without_charts_then_trains(monkeypatch):
    from app_support.common.runs import run_manager

    manager = run_manager()  # the server's own (cached resource), shared with the page
    at = trainer()
    at.selectbox(key="trainer_dataset").set_value("shapes").run()
    at.number_input(key="trainer_epochs_shapes").set_value(1).run()
    monkeypatch.setattr(manager, "max_active", 0)  # every trainer busy: the run waits
    at.button(key="trainer_train").click().run()
    assert any("number 1 in the queue" in info.value for info in at.info), [i.value for i in at.info]
    assert not live_charts(at)  # nothing to draw yet, so nothing redrawn every poll
    monkeypatch.setattr(manager, "max_active", 2)  # a trainer is free again
    until_finished(at)
    assert {"Loss", "Accuracy"} <= set(live_charts(at))  # the curves, once it trained


@pytest.mark.usefixtures("as_a_running_server")
def test_trainer_refuses_a_broken_architecture_and_settings():
    at = trainer()
    at.number_input(key="trainer_lr_mnist-bundled").set_value(0.0).run()
    assert any("Learning rate" in e.value for e in at.error)
    assert at.button(key="trainer_train").disabled


# --- Inside the network, Upload & predict ---------------------------------------------------------


def test_inside_opens_the_default_model_on_a_test_image():
    at = AppTest.from_file(str(ROOT / "pages" / "inside.py"), default_timeout=120).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("Prediction:" in s.value for s in at.success)
    assert at.selectbox(key="inside_layer").value == "conv1"  # input preparation layers are left out
    at.selectbox(key="inside_layer").set_value("conv2").run()
    assert any("conv2: " in c.value for c in at.caption)
    at.session_state["inside_view"] = "heatmaps"
    at.run()
    at.selectbox(key="inside_cam_layer").set_value("conv1").run()
    assert not at.exception, [e.message for e in at.exception]


def test_inside_with_three_test_images_and_the_filters():
    at = AppTest.from_file(str(ROOT / "pages" / "inside.py"), default_timeout=120).run()
    next(m for m in at.multiselect if m.label.startswith("Test images")).set_value([0, 1, 2]).run()
    at.session_state["inside_view"] = "filters"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    tables = [frame.value for frame in at.dataframe]
    assert any("most like" in t.columns and len(t) == 32 for t in tables)  # conv1's 32 filters matched


def test_inside_offline_imagenet_model_says_how_to_get_it(tmp_path, monkeypatch):
    import urllib.request

    import keras.src.backend.config as keras_config

    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))  # an empty Keras cache, no network
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    at = AppTest.from_file(str(ROOT / "pages" / "inside.py"), default_timeout=120).run()
    at.selectbox(key="inside_model").set_value("imagenet:MobileNetV2").run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("need the internet once (14 MB)" in e.value for e in at.error)
    at.selectbox(key="inside_model").set_value("default").run()  # and back: nothing lost
    assert any("Prediction:" in s.value for s in at.success)


def test_inside_opens_an_imagenet_model_on_a_photo(tmp_path, monkeypatch):
    """The ImageNet path with random weights (no download): the photo is resized to 224x224 RGB,
    feature maps start after the preprocessing layer, heatmaps default to the last conv layer."""
    import urllib.request

    import keras.src.backend.config as keras_config

    from app_support.common.model_source import load_pretrained
    from cnnviz import pretrained

    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    real_load = pretrained.load
    monkeypatch.setattr(pretrained, "load", lambda name: real_load(name, weights=None))
    load_pretrained.clear()
    try:
        at = AppTest.from_file(str(ROOT / "pages" / "inside.py"), default_timeout=180).run()
        at.selectbox(key="inside_model").set_value("imagenet:MobileNetV2").run()
        assert not at.exception, [e.message for e in at.exception]
        assert any("Class numbers instead of names" in w.value for w in at.warning)
        assert any("input 224x224x3, 1000 classes" in c.value for c in at.caption)
        assert at.selectbox(key="inside_layer").value == "Conv1"
        at.session_state["inside_view"] = "heatmaps"
        at.run()
        assert at.selectbox(key="inside_cam_layer").value == "out_relu"
        assert "scorecam" not in at.multiselect(key="inside_methods_big").value  # too slow by default here
        assert not at.exception, [e.message for e in at.exception]
        at = AppTest.from_file(str(ROOT / "pages" / "predict.py"), default_timeout=180).run()
        at.selectbox(key="predict_model").set_value("imagenet:MobileNetV2").run()
        at.selectbox(key="predict_sample").set_value("chelsea").run()
        assert not at.exception, [e.message for e in at.exception]
        verdicts = [m.value for m in [*at.success, *at.warning]]
        assert any("ImageNet class" in v or "Not sure" in v for v in verdicts), verdicts
    finally:
        load_pretrained.clear()


def test_predict_page_waits_for_input_and_takes_a_sample():
    at = AppTest.from_file(str(ROOT / "pages" / "predict.py"), default_timeout=120).run()
    assert not at.exception, [e.message for e in at.exception]
    at.selectbox(key="predict_sample").set_value("mnist digit").run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(s.value.startswith("**7**") for s in at.success)  # MNIST's first test digit is a 7


def test_predict_after_a_bad_upload_shows_its_error_and_no_earlier_answer():
    """A good picture, then a 1x1 PNG, then an empty file, then a good one again: while a bad file is
    given, its error stands where the answer was and nothing of the earlier picture stays."""
    import cv2

    seven = np.zeros((280, 280), np.uint8)
    cv2.polylines(seven, [np.array([[60, 50], [200, 48], [110, 230]], np.int32)], False, 255, 18, cv2.LINE_AA)
    at = AppTest.from_file(str(ROOT / "pages" / "predict.py"), default_timeout=120).run()
    at.radio(key="predict_source").set_value("upload").run()

    def give(name: str, data: bytes) -> None:
        at.file_uploader(key="predict_upload").set_value([(name, data, "image/png")]).run()
        assert not at.exception, [e.message for e in at.exception]

    def heatmaps() -> list[str]:
        return [i.caption for image in at.get("image") for i in image.proto.imgs if "Grad-CAM" in i.caption]

    give("seven.png", images.encode_png(seven))
    assert [s.value for s in at.success] == [s.value for s in at.success if s.value.startswith("**7**")] != []
    assert heatmaps() == ["Grad-CAM for 7: where the evidence was"]
    for name, data, said in [
        ("dot.png", images.encode_png(np.zeros((1, 1), np.uint8)), "dot.png: The image is 1x1 pixels"),
        ("empty.png", b"", "empty.png: The file is empty."),
    ]:
        give(name, data)
        assert [e.value for e in at.error] == [e.value for e in at.error if e.value.startswith(said)] != []
        assert not at.success and not at.warning and not heatmaps()  # the 7's answer is gone
    give("seven again.png", images.encode_png(seven))
    assert not at.error and any(s.value.startswith("**7**") for s in at.success)
    assert heatmaps() == ["Grad-CAM for 7: where the evidence was"]
