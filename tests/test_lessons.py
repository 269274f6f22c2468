"""The lessons: every step's settings exist on its page and take the values it gives, every step renders
(AppTest), steps open exactly as set and move on, and a teacher's lock fixes or hides what it says."""

from __future__ import annotations

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
    return []


def open_step(lesson_id: str, index: int, **locks) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update(lessons.step_query(lesson_id, index, **locks))
    at.run()
    at.switch_page(lessons.PAGES[lessons.step(lesson_id, index).page][0]).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_table_is_complete():
    assert len(lessons.LESSONS) == 9
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
    for name in step.focus:
        assert name in by_param or name in extra or name in ("row", "col", "class", "camlayer"), name


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
    assert "fixed: pool" in " ".join(block.value for block in at.caption)


def test_lock_everything_but_the_focus_frees_each_steps_own_controls():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update({**lessons.step_query("by-hand", 2), "locks": "focus"})
    at.run()
    at.switch_page("pages/convolution_lab.py").run()
    assert not at.exception
    assert at.selectbox(key="lab_kernel").disabled
    assert not at.number_input(key="lab_weight").disabled  # this step is about the weight
    assert not at.number_input(key="lab_row").disabled  # choosing the pixel to read is always free


@pytest.mark.parametrize(("lesson_id", "index"), STEPS)
def test_every_step_renders(lesson_id, index):
    at = open_step(lesson_id, index)
    step = lessons.step(lesson_id, index)
    assert step.title in " ".join(block.value for block in at.markdown)


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
    assert labels[:2] == ["The step's text, what to try, the answer", "1. Image and 3. Settings"]
    assert any("**Question:**" in block.value for block in at.markdown)
    assert not any("A kernel is a small grid of numbers" in block.value for block in at.caption)
    assert any("font-size: 19px" in block.value for block in at.get("html"))
