"""The lessons: every step's settings exist on its page and take the values it gives, every step renders
(AppTest), steps open exactly as set and move on, and a teacher's lock fixes or hides what it says."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from app_support.lab import view as lab_view
from cnnviz import lessons
from cnnviz.errors import InvalidInput
from tests.conftest import ROOT

TIMEOUT = 90
STEPS = [(lesson_id, index) for lesson_id, lesson in lessons.LESSONS.items() for index in range(len(lesson.steps))]


def page_settings(page: str, dataset: str | None = None):
    """The URL settings a page reads (a lesson step may set only these)."""
    if page == "lab":
        return lab_view.SETTINGS
    if page == "inside":
        from app_support.inside import settings as inside_settings

        return inside_settings.SETTINGS
    if page == "trainer":
        from app_support.trainer import state as trainer_state

        return trainer_state.settings_for(dataset or trainer_state.DATASET.default)
    if page == "learned":
        from app_support.learned import context as learned_view

        return learned_view.SETTINGS
    if page == "localize":
        from app_support.localize import state as localize_state

        return localize_state.SETTINGS
    from app_support.predict import settings as predict_settings

    return predict_settings.SETTINGS


def open_step(lesson_id: str, index: int, **locks) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update(lessons.step_query(lesson_id, index, **locks))
    at.run()
    at.switch_page(lessons.PAGES[lessons.step(lesson_id, index).page][0]).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_table_is_complete():
    assert len(lessons.LESSONS) == 10
    for lesson in lessons.LESSONS.values():
        assert lesson.title and lesson.summary and lesson.steps
        for step in lesson.steps:
            assert step.page in lessons.PAGES
            for text in (step.title, step.text, step.try_this, step.question, step.answer):
                assert text.strip() and len(text) < 900


@pytest.mark.parametrize(("lesson_id", "index"), STEPS)
def test_every_setting_a_step_gives_is_one_its_page_takes(lesson_id, index):
    step = lessons.step(lesson_id, index)
    by_param = {setting.param: setting for setting in page_settings(step.page, step.settings.get("dataset"))}
    extra = {"imgs"} if step.page == "inside" else set()
    for param, text in step.settings.items():
        assert param in by_param or param in extra, f"{step.page} has no setting {param!r}"
        if param in by_param:
            setting = by_param[param]
            assert setting.encode(setting.parse(text)) == setting.encode(
                setting.parse(setting.encode(setting.parse(text)))
            )
            assert setting.parse(text) != setting.default or setting.encode(setting.default) == text, (
                f"{param}={text!r} is not a value {step.page} accepts"
            )
    for name in step.focus:  # each a control a teacher's lock knows by that name
        assert name in lessons.CONTROLS[step.page], name


def test_links_and_positions():
    link = lessons.step_link("by-hand", 3, fixed=("pool",), projector=True)
    assert link.startswith("convolution_lab?lesson=by-hand&step=4&")
    assert "fix=pool" in link and "projector=1" in link and "pool=max" in link
    assert lessons.parse_position("by-hand", "4") == ("by-hand", 3)
    for bad in [("by-hand", "0"), ("by-hand", "99"), ("nope", "1"), ("by-hand", "x"), (None, None)]:
        assert lessons.parse_position(*bad) is None
    with pytest.raises(InvalidInput, match="steps 1 to 4"):
        lessons.step("by-hand", 7)
    with pytest.raises(InvalidInput, match="the lessons are"):
        lessons.lesson("calculus")


def test_the_lessons_page_lists_every_lesson_and_makes_a_teachers_link():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/lessons.py").run()
    assert not at.exception
    text = " ".join(block.value for block in at.markdown)
    for lesson in lessons.LESSONS.values():
        assert lesson.title in text
    at.selectbox(key="teacher_lesson").set_value("filters-pooling").run()
    at.selectbox(key="teacher_step").set_value(1).run()
    at.multiselect(key="teacher_fixed").set_value(["pad"]).run()
    at.toggle(key="teacher_projector").set_value(True).run()
    link = at.code[0].value
    assert "convolution_lab?lesson=filters-pooling&step=2" in link
    assert "fix=pad" in link and "projector=1" in link and "pad=valid" in link


def test_a_lab_step_opens_exactly_as_set_over_what_the_learner_had():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/convolution_lab.py").run()
    at.number_input(key="lab_stride").set_value(3).run()  # the learner's own setting, before the lesson
    # A step's link replaces the address, as st.page_link and st.switch_page do.
    at.query_params.clear()
    at.query_params.update(lessons.step_query("by-hand", 3))
    at.switch_page("pages/convolution_lab.py").run()
    assert not at.exception
    state = at.session_state
    assert (state["lab_kernel"], state["lab_pool"], state["lab_padding"]) == ("tutorial vertical", "max", "same")
    assert state["lab_stride"] == 1  # not in the step: back to its default, so the step is as written
    assert "512x512 -> 512x512 -> 256x256" in " ".join(block.value for block in at.markdown)
    # After arriving, the learner's changes are theirs: a rerun does not put the step's values back.
    at.selectbox(key="lab_pool").set_value("avg").run()
    assert at.session_state["lab_pool"] == "avg"
    at.run()
    assert at.session_state["lab_pool"] == "avg"


@pytest.mark.usefixtures("as_a_running_server")
def test_next_step_opens_the_next_steps_settings():
    at = open_step("by-hand", 0)
    assert at.session_state["lab_kernel"] == "tutorial horizontal"
    at.button(key="lesson_next").click().run()
    assert not at.exception
    assert at.query_params["step"] == ["2"] or at.query_params["step"] == "2"
    assert at.session_state["lab_kernel"] == "tutorial vertical"


def test_a_teachers_lock_fixes_and_hides_exactly_what_it_says():
    at = open_step("by-hand", 3, fixed=("pool",), hidden=("pad",))
    assert at.selectbox(key="lab_pool").disabled
    assert not at.selectbox(key="lab_kernel").disabled
    assert not [w for w in at.radio if w.key == "lab_padding"] and not [
        w for w in at.selectbox if w.key == "lab_padding"
    ]
    assert at.session_state["lab_padding"] == "same"  # hidden, still as the link sets it
    # The student's note names the controls as the page labels them, not by their URL names.
    assert "fixed: Pooling; hidden: Padding" in " ".join(block.value for block in at.caption)


def test_lock_everything_but_the_focus_frees_each_steps_own_controls():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update({**lessons.step_query("by-hand", 2), "locks": "focus"})
    at.run()
    at.switch_page("pages/convolution_lab.py").run()
    assert not at.exception
    assert at.selectbox(key="lab_kernel").disabled
    assert not at.number_input(key="lab_weight").disabled  # this step is about the weight
    assert not at.number_input(key="lab_row").disabled  # choosing the pixel to read is always free


# Steps whose page turns a link's value into another on arrival: "the run you just trained" becomes
# that run's number (a second entry in the browser's history there).
REWRITTEN = {("transfer", 1)}


@pytest.mark.parametrize(("lesson_id", "index"), STEPS)
def test_every_step_renders_and_leaves_its_address_as_it_came(lesson_id, index):
    """Every write to the URL is a new entry in the browser's history: a page that rewrote the step's
    address on arrival made the Back button take two presses to leave a step."""
    at = open_step(lesson_id, index)
    step = lessons.step(lesson_id, index)
    assert step.title in " ".join(block.value for block in at.markdown)
    if (lesson_id, index) not in REWRITTEN:
        assert query_of(at) == lessons.step_query(lesson_id, index)


def test_a_reloaded_step_address_keeps_what_the_learner_changed():
    query = {**lessons.step_query("filters-pooling", 3), "dx": "2"}  # the learner moved the shift, then reloaded
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update(query)
    at.run()
    at.switch_page("pages/convolution_lab.py").run()
    assert not at.exception
    assert at.session_state["lab_dx"] == 2 and at.session_state["lab_kernel"] == "vertical line 7x7"


def test_the_projector_view_folds_the_controls_away_and_keeps_the_question():
    at = open_step("by-hand", 0, projector=True)
    labels = [expander.label for expander in at.expander]
    # The step's text and its answer apart: opening the text does not show the class the answer.
    assert labels[:3] == ["The step's text and what to try", "Answer (look first)", "1. Image and 3. Settings"]
    assert any("**Question:**" in block.value for block in at.markdown)
    assert not any("A kernel is a small grid of numbers" in block.value for block in at.caption)
    assert any("font-size: 19px" in block.value for block in at.get("html"))


def query_of(at: AppTest) -> dict[str, str]:
    """The address's query as the browser has it (AppTest keeps lists)."""
    return {name: value[0] if isinstance(value, list) else value for name, value in at.query_params.items()}


def test_a_default_the_learner_chose_over_the_steps_value_stays_in_the_address():
    at = open_step("by-hand", 3)
    at.selectbox(key="lab_pool").set_value("none").run()  # the default, where the step says max
    assert query_of(at)["pool"] == "none"  # a reload must not bring back the step's max pooling


@pytest.mark.usefixtures("as_a_running_server")
def test_a_teachers_locks_hold_through_next_and_back():
    at = open_step("by-hand", 2, fixed=("pool",), hidden=("pad",))
    at.button(key="lesson_next").click().run()
    assert not at.exception
    assert (query_of(at)["step"], query_of(at)["fix"], query_of(at)["hide"]) == ("4", "pool", "pad")
    assert at.selectbox(key="lab_pool").disabled
    at.button(key="lesson_previous").click().run()
    assert (query_of(at)["step"], query_of(at)["fix"], query_of(at)["hide"]) == ("3", "pool", "pad")
    assert at.selectbox(key="lab_pool").disabled and not at.selectbox(key="lab_kernel").disabled
    assert not [w for w in at.selectbox if w.key == "lab_padding"]


def sidebar_to(at: AppTest, page: str) -> AppTest:
    """What Streamlit's sidebar does: open the page with an empty query."""
    at.query_params.clear()
    return at.switch_page(page).run()


@pytest.mark.usefixtures("as_a_running_server")
def test_back_through_the_sidebar_the_lesson_box_and_the_locks_come_back_with_the_learners_changes():
    at = open_step("by-hand", 3, fixed=("pool",), projector=True)
    at.selectbox(key="lab_kernel").set_value("sobel y").run()  # the learner's own change
    sidebar_to(at, "pages/trainer.py")
    assert not at.exception
    assert "Lesson 1 · step 4" not in " ".join(block.value for block in at.markdown)
    sidebar_to(at, "pages/convolution_lab.py")
    assert not at.exception
    assert "Lesson 1 · step 4 of 4" in " ".join(block.value for block in at.markdown)
    query = query_of(at)
    assert (query["lesson"], query["step"], query["fix"], query["projector"]) == ("by-hand", "4", "pool", "1")
    assert query["kernel"] == "sobel y" and query["pool"] == "max"
    assert at.session_state["lab_kernel"] == "sobel y"  # not put back to the step's kernel
    assert at.selectbox(key="lab_pool").disabled
    # Leaving the lesson: the box goes, and the sidebar no longer brings it back.
    at.button(key="lesson_leave").click().run()
    assert "lesson" not in query_of(at) and "fix" not in query_of(at)
    sidebar_to(at, "pages/trainer.py")
    sidebar_to(at, "pages/convolution_lab.py")
    assert "Lesson 1 · step 4" not in " ".join(block.value for block in at.markdown)


def test_fixing_the_sample_also_fixes_where_the_image_comes_from():
    at = open_step("by-hand", 0, fixed=("sample",))
    assert at.selectbox(key="lab_sample").disabled
    assert at.radio(key="lab_source").disabled  # else Draw or Upload would get round the lock
    assert "fixed: Sample" in " ".join(block.value for block in at.caption)


def test_the_link_maker_offers_every_control_by_its_label():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/lessons.py").run()
    options = at.multiselect(key="teacher_fixed").options
    assert "Image from" in options and "Sample" in options and "Pooling" in options
    assert not {"src", "col", "post", "colour", "pad", "sr", "tside"} & set(options)  # no URL names
    at.multiselect(key="teacher_fixed").set_value(["src", "pool"]).run()
    assert "fix=src%2Cpool" in at.code[0].value or "fix=src,pool" in at.code[0].value


def test_every_control_of_every_page_has_a_label():
    for page in lessons.PAGES:
        settings = page_settings(page)
        missing = [setting.param for setting in settings if setting.param not in lessons.CONTROLS[page]]
        assert not missing, (page, missing)
    assert lessons.control_label("pad", "lab") == "Padding" and lessons.control_label("layer", "inside") != "layer"


def test_the_labels_are_the_ones_on_the_page():
    """The table's labels are those the widgets show (the lab's and the Trainer's, as drawn)."""
    at = open_step("filters-pooling", 1)
    drawn = {w.key: w.label for kind in ("selectbox", "number_input", "radio", "checkbox") for w in at.get(kind)}
    for setting in lab_view.SETTINGS:
        if setting.key in drawn:
            assert drawn[setting.key].startswith(lessons.CONTROLS["lab"][setting.param]), setting.param
    at = open_step("why-convolution", 0)
    from app_support.trainer import state as trainer_state

    drawn = {
        w.key: w.label
        for kind in ("selectbox", "number_input", "select_slider", "slider", "toggle")
        for w in at.get(kind)
    }
    for setting in trainer_state.settings_for("mnist-bundled"):
        if setting.key in drawn:
            assert (
                drawn[setting.key].strip("*").startswith(lessons.CONTROLS["trainer"][setting.param].split(" (")[0])
            ), setting.param


@pytest.mark.parametrize(("lesson_id", "index"), [("why-convolution", 0), ("transfer", 0)])
def test_fix_everything_but_the_step_covers_every_trainer_control_that_changes_the_run(lesson_id, index):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update({**lessons.step_query(lesson_id, index), "locks": "focus"})
    at.run()
    at.switch_page("pages/trainer.py").run()
    assert not at.exception, [e.message for e in at.exception]
    free = lessons.free_controls(lesson_id, index)
    widgets = [
        w
        for kind in ("selectbox", "number_input", "select_slider", "slider", "toggle", "checkbox", "multiselect")
        for w in at.get(kind)
    ]
    changing = [w for w in widgets if str(w.key).startswith("trainer_") and w.key not in ("trainer_run", "trainer_cmp")]
    assert changing
    assert all(w.disabled for w in changing), [w.key for w in changing if not w.disabled]
    buttons = [
        b
        for b in at.button
        if b.key and b.key.startswith(("trainer_add", "trainer_reset", "trainer_up", "trainer_down", "trainer_remove"))
    ]
    assert all(b.disabled for b in buttons), [b.key for b in buttons if not b.disabled]
    assert "vs" not in free and "preset" not in free and "base" not in free  # the comparison itself is fixed
    assert "every control is fixed except" in " ".join(block.value for block in at.caption)


def until_finished(at: AppTest, *, timeout: float = 180) -> None:
    """Rerun the page (as its live refresh would) until the runs say Finished."""
    deadline = time.monotonic() + timeout
    while not any("Finished" in s.value for s in at.success):
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(1)
        at.run()
        assert not at.exception, [e.message for e in at.exception]


@pytest.mark.usefixtures("as_a_running_server")
def test_the_moved_digit_is_shown_to_the_dense_network_of_step_one_as_it_is():
    at = open_step("why-convolution", 1)
    # No dense network trained in this session yet: the page says which to train, and opens the shipped one.
    assert any("train it in the lesson's first step" in w.value for w in at.warning)
    assert at.session_state["predict_model"] == "default"

    at.button(key="lesson_previous").click().run()  # step 1: the dense network (alone, one epoch: quick)
    at.switch_page("pages/trainer.py").run()  # AppTest reruns the page it was told, whatever the script switched to
    at.selectbox(key="trainer_vs").set_value("").run()
    at.number_input(key="trainer_epochs_mnist-bundled").set_value(1).run()
    at.button(key="trainer_train").click().run()
    until_finished(at)
    at.button(key="lesson_next").click().run()
    at.switch_page("pages/predict.py").run()
    assert not at.exception, [e.message for e in at.exception]
    chosen = at.session_state["predict_model"]
    box = at.selectbox(key="predict_model")
    assert chosen.startswith("run:") and "dense-only" in box.options[box.index]
    assert (at.session_state["predict_sample"], at.session_state["predict_centre"]) == ("mnist digit, moved", False)
    # Given as it is: no preparation steps (a 28x28 picture for a 28x28 network)...
    prepared = "How the picture was prepared for the model:"
    assert not any(prepared in c.value for c in at.caption)
    # ...and centred as MNIST was, once the learner ticks the box.
    at.checkbox(key="predict_centre").check().run()
    assert any(prepared in c.value for c in at.caption)


def test_the_test_digits_the_lessons_look_at_are_the_digits_their_text_names():
    from cnnviz import datasets, predict

    labels = datasets.load(predict.DEFAULT_DATASET).y_test
    assert [int(labels[i]) for i in (1, 4, 11)] == [5, 4, 2]  # lesson 4: three different digits
    assert int(labels[22]) == 7  # lesson 7's "why a 3? of this 7", lesson 9's fooled 7
    assert int(labels[4]) == 4  # lesson 9's occlusion: "the crossing of this 4"


def test_the_line_filter_and_pooling_figures_the_answers_quote_are_those_on_screen():
    """Lesson 2 steps 1 and 3 quote numbers the lab shows for the pixel they open on."""
    from cnnviz import images, kernels
    from cnnviz.lab import LabConfig, run_lab

    seven = images.to_grayscale(images.load_sample("mnist digit"))
    step = lessons.step("filters-pooling", 0)
    row, col = int(step.settings["row"]), int(step.settings["col"])
    config = LabConfig(padding="same", activation="relu")
    vertical = run_lab(seven, kernels.KERNELS["vertical line 7x7"], config).output.values
    horizontal = run_lab(seven, kernels.KERNELS["horizontal line 7x7"], config).output.values
    assert round(float(vertical[row, col])) == 1496 and "1,496" in step.answer
    assert round(float(horizontal.max())) == 1749 and "1,749" in step.answer
    assert 400 < float(vertical[9, 12]) < 600  # a pixel of the top bar: "about 500"
    step = lessons.step("filters-pooling", 2)
    row, col = int(step.settings["row"]), int(step.settings["col"])
    square = seven[row : row + 2, col : col + 2].ravel().tolist()  # the 2x2 window of the pixel shown
    assert square == [254, 62, 187, 5] and "254, 62, 187, 5" in step.answer
    assert max(square) == 254 and sum(square) / 4 == 127


def test_on_a_projector_the_settings_a_step_is_about_are_not_folded_away():
    def folded(at: AppTest) -> bool:
        settings = next(e for e in at.expander if e.label == "1. Image and 3. Settings")
        return not settings.proto.expanded

    assert not folded(open_step("filters-pooling", 3, projector=True))  # about the shift: open
    assert not folded(open_step("transposed", 0, projector=True))  # about the stride and padding: open
    assert folded(open_step("by-hand", 0, projector=True))  # about the kernel, which is not in there


def test_figures_of_a_training_run_are_quoted_as_about():
    """A run's accuracy differs from one run and one server to the next: an answer says "about", or
    points at the learner's own figures, never a bare 96.8%."""
    import re

    for lesson_id, index in STEPS:
        step = lessons.step(lesson_id, index)
        if "epochs" not in step.settings:  # a step that trains nothing quotes no run
            continue
        for found in re.finditer(r"(\d+(?:\.\d+)?)%", step.answer):
            before = step.answer[max(0, found.start() - 12) : found.start()]
            assert "about" in before or found.group(1) == "100", (lesson_id, index, found.group(0))


def test_the_transfer_answer_gives_the_parameters_the_page_says_it_trains():
    at = open_step("transfer", 0)
    line = next(c.value for c in at.caption if "This run trains" in c.value)
    trained, total = (
        part.replace(",", "") for part in line.split("This run trains ")[1].split(" parameters")[0].split(" of ")
    )
    assert (trained, total) == ("205444", "224260")
    assert "205,444 of its 224,260" in lessons.step("transfer", 0).answer
