"""What the store keeps besides runs, seen through the app (AppTest): a learner's lesson step in
progress and their page settings come back in a new session of theirs (a later visit, another tab)
on a page opened with nothing in its address, and a stranger gets neither.

A new session with the learner's id is opened with their "continue on another computer" link
(`?continue=<id>`, app_support/common/identity.py), as a browser with the id in its cookie would be.
"""

from streamlit.testing.v1 import AppTest

from cnnviz import lessons
from cnnviz.store import new_learner_id
from tests.conftest import ROOT

LAB = "pages/convolution_lab.py"
TIMEOUT = 120


def visit_lab(learner: str, query: dict[str, str] | None = None) -> AppTest:
    """A new session of `learner` that opens the Convolution lab with `query` in its address."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["continue"] = learner
    at.run()
    assert "continue" not in at.query_params  # the id leaves the address at once
    at.query_params.update(query or {})
    at.switch_page(LAB).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def text_of(at: AppTest) -> str:
    return "\n".join(block.value for block in at.markdown)


def test_the_lesson_step_in_progress_comes_back_in_a_new_session():
    learner, step = new_learner_id(), lessons.step("by-hand", 2)
    first = visit_lab(learner, lessons.step_query("by-hand", 2))
    assert step.title in text_of(first)

    later = visit_lab(learner)  # a later visit: the lab, with nothing in its address
    assert step.title in text_of(later)  # the lesson box is back
    assert (later.query_params["lesson"], later.query_params["step"]) == ("by-hand", "3")
    assert later.session_state["lab_kernel"] == "tutorial laplacian"  # the step's settings with it
    assert later.session_state["lab_weight"] == 2.0

    stranger = visit_lab(new_learner_id())
    assert step.title not in text_of(stranger) and "lesson" not in stranger.query_params


def test_a_pages_settings_come_back_in_a_new_session():
    learner = new_learner_id()
    first = visit_lab(learner, {"kernel": "laplacian 4", "post": "relu", "size": "128"})
    assert first.session_state["lab_kernel"] == "laplacian 4"

    later = visit_lab(learner)
    assert (later.session_state["lab_kernel"], later.session_state["lab_post"]) == ("laplacian 4", "relu")
    assert later.session_state["lab_size"] == 128
    assert later.query_params["kernel"] == "laplacian 4"  # and in the address, for a link to share

    stranger = visit_lab(new_learner_id())
    assert (stranger.session_state["lab_kernel"], stranger.session_state["lab_size"]) == ("sobel x", 512)
