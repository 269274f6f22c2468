"""AppTest: your own classes in the Trainer through the non-canvas path (uploads of PNGs per class):
bad inputs refused with their message and nothing lost, three classes built, trained, and predicted."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cnnviz import images
from cnnviz.store import new_learner_id
from harness import drawn_shapes
from tests.conftest import ROOT
from tests.test_app import until_finished

TRAINER = "pages/trainer.py"


def own_page(learner: str | None = None) -> AppTest:
    """The Trainer's own classes in a new session (of `learner`: their "continue" link, else a new one)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if learner:
        at.query_params["continue"] = learner
    at.run()
    at.switch_page(TRAINER).run()
    at.selectbox(key="trainer_dataset").set_value("own").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def pngs(shape: str, count: int, seed: int) -> list[tuple[str, bytes, str]]:
    rng = np.random.default_rng(seed)
    return [(f"{shape}{i}.png", images.encode_png(drawn_shapes.draw(shape, rng)), "image/png") for i in range(count)]


def upload(at: AppTest, target: str, files) -> None:
    at.selectbox(key="own_target").set_value(target).run()
    uploader = next(u for u in at.file_uploader if (u.key or "").startswith("own_upload_"))
    uploader.set_value(files).run()
    assert not at.exception, [e.message for e in at.exception]


def own(at: AppTest):
    return at.session_state["own_classes"]


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_two_tabs_of_one_learner_build_on_each_others_classes_and_neither_loses_work():
    """A tab opened earlier holds an old copy: before its next change it reads the classes again (and
    says so), so the other tab's examples stay, a class removed there does not come back, and a click
    on a class by its number never removes another one."""
    learner = new_learner_id()
    first, second = own_page(learner), own_page(learner)
    first.radio(key="own_source").set_value("upload").run()
    upload(first, "class 1", pngs("circle", 2, 0))
    second.text_input(key="own_new_name").set_value("square").run()
    assert own(second).counts() == {"class 1": 2, "class 2": 0}
    assert any("another tab" in toast.value for toast in second.toast)
    second.button(key="own_add_class").click().run()
    assert own(second).counts() == {"class 1": 2, "class 2": 0, "square": 0}
    # A click on a numbered class in a tab whose copy is old does nothing (the number might now name
    # another class): the tab shows the classes as they are, says why, and the next click counts.
    first.button(key="own_drop_1").click().run()
    assert own(first).counts() == {"class 1": 2, "class 2": 0, "square": 0}
    assert any("another tab, so that click did nothing" in t.value for t in first.toast)
    first.button(key="own_drop_1").click().run()  # class 2
    assert own(first).counts() == {"class 1": 2, "square": 0}
    assert own(own_page(learner)).counts() == {"class 1": 2, "square": 0}  # a reload, a third tab
    # Pictures sent for a class that another tab renamed meanwhile go nowhere, with a message: not into
    # whichever class the list falls back to.
    second.radio(key="own_source").set_value("upload").run()
    second.selectbox(key="own_target").set_value("class 1").run()
    first.text_input(key="own_name_0").set_value("cat").run()
    uploader = next(u for u in second.file_uploader if (u.key or "").startswith("own_upload_"))
    uploader.set_value(pngs("circle", 2, 5)).run()
    assert own(second).counts() == {"cat": 2, "square": 0}
    assert any("'class 1' was renamed or removed in another tab" in w.value for w in second.warning), [
        w.value for w in second.warning
    ]
    second.selectbox(key="own_target").set_value("cat").run()
    # The class and the way of adding last chosen come back too, each as the tab that chose it last
    # left it (the second tab's later save did not put back the first tab's "draw").
    second.selectbox(key="own_target").set_value("square").run()
    reloaded = own_page(learner)
    assert reloaded.selectbox(key="own_target").value == "square" and reloaded.radio(key="own_source").value == "upload"
    assert own(reloaded).counts() == {"cat": 2, "square": 0}


@pytest.mark.usefixtures("as_a_running_server")
def test_bad_names_and_pictures_are_refused_and_nothing_is_lost():
    at = own_page()
    assert own(at).class_names == ("class 1", "class 2")
    assert at.button(key="own_train").disabled
    assert any("each class needs at least 5" in w.value for w in at.warning)
    at.radio(key="own_source").set_value("upload").run()
    upload(at, "class 1", pngs("circle", 3, 0))
    for bad, rule in [
        ("", "cannot be empty"),
        ("../x", "folder path"),
        ("x" * 31, "at most 30"),
        ("Class 1", "already"),
    ]:
        at.text_input(key="own_new_name").set_value(bad).run()
        at.button(key="own_add_class").click().run()
        assert any(rule in e for e in errors(at)), (bad, errors(at))
        assert own(at).counts() == {"class 1": 3, "class 2": 0}  # the examples stay
    # A renamed class keeps its examples; a bad new name puts the old one back.
    at.text_input(key="own_name_0").set_value("circle").run()
    assert own(at).counts() == {"circle": 3, "class 2": 0}
    at.text_input(key="own_name_1").set_value("circle").run()
    assert any("already a class called 'circle'" in e for e in errors(at))
    assert at.text_input(key="own_name_1").value == "class 2"
    # A file that is not a picture is named and left out; the good ones in the same batch are added.
    upload(at, "circle", [("notes.png", b"not a picture", "image/png"), *pngs("circle", 1, 9)])
    assert any("notes.png" in e and "PNG, JPEG" in e for e in errors(at)), errors(at)
    assert own(at).counts()["circle"] == 4
    # A trip to another page loses nothing: the same classes, examples and dataset choice on return.
    at.switch_page("pages/home.py").run()
    at.switch_page(TRAINER).run()
    assert at.selectbox(key="trainer_dataset").value == "own"
    assert own(at).counts() == {"circle": 4, "class 2": 0}
    assert at.text_input(key="own_name_0").value == "circle"
    # One class only: training is refused, saying why.
    at.button(key="own_drop_1").click().run()
    assert own(at).class_names == ("circle",)
    assert any("at least 2 classes" in w.value for w in at.warning)
    assert at.button(key="own_train").disabled


@pytest.mark.usefixtures("as_a_running_server")
def test_three_uploaded_classes_train_and_predict():
    at = own_page()
    at.radio(key="own_source").set_value("upload").run()
    at.text_input(key="own_name_0").set_value("circle").run()
    at.text_input(key="own_name_1").set_value("zigzag").run()
    at.text_input(key="own_new_name").set_value("cross").run()
    at.button(key="own_add_class").click().run()
    for seed, shape in enumerate(drawn_shapes.SHAPES):
        upload(at, shape, pngs(shape, 10, seed))
    assert own(at).counts() == {shape: 10 for shape in drawn_shapes.SHAPES}
    # The grid shows what the network gets, with a remove button under each picture.
    at.button(key="own_remove_2_9").click().run()
    assert own(at).counts()["cross"] == 9
    assert not at.button(key="own_train").disabled
    at.number_input(key="own_epochs_drawings_False").set_value(8).run()  # fewer than the 15 by default: fast
    estimate = next(c.value for c in at.caption if c.value.startswith("Estimated time: **about"))
    assert "for 8 epochs on" in estimate, estimate  # own classes are estimated as the Trainer's runs are
    at.button(key="own_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    until_finished(at)
    accuracy = next(m for m in at.metric if m.label == "Test accuracy")
    assert float(accuracy.value.rstrip("%")) >= 80, accuracy.value  # 6 held-out drawings
    labels = {b.label for b in at.get("download_button")}
    assert {"Model (.keras)", "TensorFlow Lite (.tflite)", "labels.txt", "predict_tflite.py"} <= labels
    # The run is in Upload & predict like any other, its drawings prepared as they were for training.
    run_id = at.session_state["trainer_run"]
    at.switch_page("pages/predict.py").run()
    at.selectbox(key="predict_model").set_value(f"run:{run_id}").run()
    at.radio(key="predict_mode").set_value("many").run()
    new = [*pngs("circle", 2, 100), *pngs("zigzag", 2, 101), *pngs("cross", 2, 102)]
    at.file_uploader(key="predict_files").set_value(new).run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    table = next(frame.value for frame in at.dataframe if "prediction" in frame.value.columns)
    assert table["prediction"].tolist() == ["circle"] * 2 + ["zigzag"] * 2 + ["cross"] * 2


@pytest.mark.usefixtures("as_a_running_server")
def test_photos_keep_their_colour_and_switching_back_prepares_drawings_again():
    at = own_page()
    at.radio(key="own_source").set_value("upload").run()
    upload(at, "class 1", pngs("circle", 2, 0))
    at.radio(key="own_kind").set_value("photos").run()
    assert {p.shape for p in own(at).examples["class 1"]} == {(64, 64, 3)}
    photo = np.zeros((90, 160, 3), np.uint8)
    photo[:, 35:125] = (230, 20, 20)
    upload(at, "class 2", [("red.png", images.encode_png(photo), "image/png")])
    red = own(at).examples["class 2"][0]
    assert red.shape == (64, 64, 3) and tuple(red[32, 32]) == (230, 20, 20)
    assert any("MobileNetV2" in c.value for c in at.caption)  # says how photos will be trained here
    at.radio(key="own_kind").set_value("drawings").run()
    assert own(at).counts() == {"class 1": 2, "class 2": 1}
    assert {p.shape for ps in own(at).examples.values() for p in ps} == {(28, 28, 1)}


def boxed_pictures(shape: str, count: int, seed: int) -> tuple[list[tuple[str, bytes, str]], list[tuple]]:
    """`count` 64x64 pictures of a drawn `shape` placed at random on a dark ground, and each one's box."""
    rng = np.random.default_rng(seed)
    files, boxes = [], []
    for i in range(count):
        side = int(rng.integers(18, 34))
        mark = images.resize(drawn_shapes.draw(shape, rng), size=(side, side))
        x, y = (int(v) for v in rng.integers(0, 64 - side, size=2))
        canvas = np.zeros((64, 64), np.uint8)
        canvas[y : y + side, x : x + side] = mark
        files.append((f"{shape}{i}.png", images.encode_png(canvas), "image/png"))
        boxes.append((x, y, x + side, y + side))
    return files, boxes


@pytest.mark.usefixtures("as_a_running_server")
def test_pictures_with_boxes_are_boxed_by_typing_and_train_two_heads():
    """The box mode's non-canvas path: each example's corners typed, a bad box refused with its
    message and the example kept unboxed, the next example without a box chosen after each box, the
    boxes kept through a reload of the page, and a run that learns the class and the box."""
    learner = new_learner_id()
    at = own_page(learner)
    at.radio(key="own_source").set_value("upload").run()
    at.radio(key="own_kind").set_value("boxes").run()
    at.text_input(key="own_name_0").set_value("circle").run()
    at.text_input(key="own_name_1").set_value("cross").run()
    truth = {}
    for seed, shape in enumerate(("circle", "cross")):
        files, truth[shape] = boxed_pictures(shape, 6, seed)
        upload(at, shape, files)
    assert {p.shape for ps in own(at).examples.values() for p in ps} == {(64, 64, 3)}
    assert any("12 of 12" not in m.value and "0 of 12 boxed" in m.value for m in at.markdown)
    assert at.button(key="own_train").disabled
    assert any("6 example(s) of 'circle' have no box yet" in w.value for w in at.warning)
    assert at.session_state["own_box_choice"] == "circle #1"
    # Set box with nothing typed: says what to type, boxes nothing (the fields start empty, not at the
    # whole picture, which pressing Set box would have taken as the box).
    at.button(key="own_box_set").click().run()
    assert any("Type all four corners first" in e for e in errors(at)), errors(at)
    assert own(at).unboxed()[0] == ("circle", 0)
    # A box with its right edge left of its left edge: refused, named, nothing kept.
    for field, value in zip(("x_min", "y_min", "x_max", "y_max"), (40, 10, 20, 30), strict=True):
        at.number_input(key=f"own_box_{field}").set_value(value)
    at.button(key="own_box_set").click().run()
    assert any("x_max <= x_min" in e for e in errors(at)), errors(at)
    assert own(at).boxes_of("circle")[0] is None and at.session_state["own_box_choice"] == "circle #1"
    for shape in ("circle", "cross"):
        for index, box in enumerate(truth[shape]):
            assert at.session_state["own_box_choice"] == f"{shape} #{index + 1}"  # the next without a box
            for field, value in zip(("x_min", "y_min", "x_max", "y_max"), box, strict=True):
                at.number_input(key=f"own_box_{field}").set_value(float(value))
            at.button(key="own_box_set").click().run()
            assert not at.exception, [e.message for e in at.exception]
    assert any("Every example has its box" in s.value for s in at.success)
    assert own(at).boxes_of("cross")[5] == tuple(v / 64 for v in truth["cross"][5])
    # Photos and back: photos are the centre squares, and back with boxes every picture is whole again
    # with its box, the corners filled in below it (Streamlit had forgotten the fields meanwhile).
    boxed_pictures_before = [p.copy() for p in own(at).examples["circle"]]
    at.radio(key="own_kind").set_value("photos").run()
    at.radio(key="own_kind").set_value("boxes").run()
    assert own(at).unboxed() == [] and not at.warning
    assert all(np.array_equal(a, b) for a, b in zip(own(at).examples["circle"], boxed_pictures_before, strict=True))
    shown = at.session_state["own_box_choice"]
    name, number = shown.split(" #")
    box = own(at).boxes_of(name)[int(number) - 1]
    assert at.number_input(key="own_box_x_min").value == round(box[0] * 64, 1)
    # Drawings crop every picture to its marks: it says so, and Undo gives everything back.
    at.radio(key="own_kind").set_value("drawings").run()
    assert any("The 12 box(es) you drew were left out" in w.value for w in at.warning)
    assert own(at).kind == "drawings" and own(at).unboxed()
    at.button(key="own_undo_kind").click().run()
    assert own(at).kind == "boxes" and own(at).unboxed() == [] and at.radio(key="own_kind").value == "boxes"
    assert any("Back as it was: pictures with boxes" in s.value for s in at.success)
    # A new example comes up to be boxed at once.
    files, (box,) = boxed_pictures("circle", 1, 50)
    upload(at, "circle", files)
    assert at.session_state["own_box_choice"] == "circle #7"
    for field, value in zip(("x_min", "y_min", "x_max", "y_max"), box, strict=True):
        at.number_input(key=f"own_box_{field}").set_value(float(value))
    at.button(key="own_box_set").click().run()
    # Kept: a new session of the same learner (a reload) finds every box.
    again = own_page(learner)
    assert again.session_state["own_classes"].boxes == own(at).boxes
    assert not at.button(key="own_train").disabled
    at.number_input(key="own_epochs_boxes_True").set_value(3).run()
    at.button(key="own_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    until_finished(at)
    metrics = {m.label: m.value for m in at.metric}
    assert "Test mean IoU" in metrics, metrics  # the box run's figures, as for the Trainer's box runs
    # Where is it? opens the run: its test pictures (one in five: 2 or 3) with their boxes and IoU.
    at.switch_page("pages/localize.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Mean IoU" in {m.label for m in at.metric}
