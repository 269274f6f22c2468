"""The lessons: the tutorials this project grew from, as short sequences of steps over the app's pages.

One table, `LESSONS`, that the Lessons page, the banner on every instrument page, the links a teacher
shares and the tests all read: adding a lesson or a step is one entry. A step names the page it opens
and that page's settings as they travel in the URL (`{"kernel": "sobel x", "pool": "max"}`), so a step
opens exactly as written on any server, and a teacher's link can fix or hide chosen controls.

>>> lesson = LESSONS["by-hand"]
>>> lesson.steps[0].page
'lab'
>>> step_query("by-hand", 0)["lesson"]
'by-hand'
"""

from __future__ import annotations

from urllib.parse import urlencode

from cnnviz.errors import InvalidInput
from cnnviz.lessons import (
    by_hand,
    filters_pooling,
    inside,
    real_photos,
    transfer,
    transposed,
    what_it_learned,
    where_is_it,
    why_convolution,
    why_this_answer,
)
from cnnviz.lessons.controls import CONTROLS, IMPLIED, control_label
from cnnviz.lessons.steps import Lesson, Step

__all__ = [
    "ALWAYS_FREE",
    "CONTROLS",
    "FIX_PARAM",
    "HIDE_PARAM",
    "IMPLIED",
    "LESSONS",
    "LESSON_PARAM",
    "LOCKS_PARAM",
    "PAGES",
    "PROJECTOR_PARAM",
    "STEP_PARAM",
    "Lesson",
    "Step",
    "control_label",
    "free_controls",
    "lesson",
    "parse_position",
    "step",
    "step_link",
    "step_query",
]

# page key -> (script under pages/, URL path Streamlit gives it, title)
PAGES = {
    "lab": ("pages/convolution_lab.py", "convolution_lab", "Convolution lab"),
    "trainer": ("pages/trainer.py", "trainer", "Trainer"),
    "inside": ("pages/inside.py", "inside", "Inside the network"),
    "learned": ("pages/learned.py", "learned", "What did it learn?"),
    "predict": ("pages/predict.py", "predict", "Upload & predict"),
    "localize": ("pages/localize.py", "localize", "Where is it?"),
}

# Controls that only choose where to look (a pixel, a channel, a test picture), never what is computed:
# a teacher's "fix all but the step's focus" leaves them free, since reading the arithmetic of the
# pixel you pick is how every step is explored.
ALWAYS_FREE = ("row", "col", "trow", "tcol", "channel", "imgs", "image")

# URL names the lessons add on top of a page's own settings. `?locks=focus`: every control but the
# step's focus (and ALWAYS_FREE) is fixed, on every step the class opens.
LESSON_PARAM, STEP_PARAM, PROJECTOR_PARAM = "lesson", "step", "projector"
FIX_PARAM, HIDE_PARAM, LOCKS_PARAM = "fix", "hide", "locks"

# In the order the Lessons page lists them: one module per lesson beside this one.
LESSONS: dict[str, Lesson] = {
    "by-hand": by_hand.LESSON,
    "filters-pooling": filters_pooling.LESSON,
    "why-convolution": why_convolution.LESSON,
    "inside": inside.LESSON,
    "real-photos": real_photos.LESSON,
    "transfer": transfer.LESSON,
    "why-this-answer": why_this_answer.LESSON,
    "transposed": transposed.LESSON,
    "what-it-learned": what_it_learned.LESSON,
    "where-is-it": where_is_it.LESSON,
}


def lesson(lesson_id: str) -> Lesson:
    """The lesson with this id, or InvalidInput naming the lessons there are."""
    if lesson_id not in LESSONS:
        raise InvalidInput(f"No lesson {lesson_id!r}; the lessons are: {', '.join(LESSONS)}.")
    return LESSONS[lesson_id]


def step(lesson_id: str, index: int) -> Step:
    """Step `index` (0-based) of a lesson, or InvalidInput saying how many steps it has."""
    steps = lesson(lesson_id).steps
    if not 0 <= index < len(steps):
        raise InvalidInput(f"Lesson {lesson_id!r} has steps 1 to {len(steps)}; there is no step {index + 1}.")
    return steps[index]


def free_controls(lesson_id: str, index: int) -> set[str]:
    """The URL names that `?locks=focus` leaves free on a step: its focus and the ALWAYS_FREE ones."""
    return {*step(lesson_id, index).focus, *ALWAYS_FREE}


def step_query(
    lesson_id: str,
    index: int,
    *,
    fixed: tuple[str, ...] = (),
    hidden: tuple[str, ...] = (),
    projector: bool = False,
) -> dict[str, str]:
    """The URL query that opens a step exactly as set: the lesson, the step (1-based in the URL), the
    step's settings, and a teacher's locks (`fixed` shown read-only, `hidden` not drawn)."""
    chosen = step(lesson_id, index)
    query = {LESSON_PARAM: lesson_id, STEP_PARAM: str(index + 1), **chosen.settings}
    if fixed:
        query[FIX_PARAM] = ",".join(fixed)
    if hidden:
        query[HIDE_PARAM] = ",".join(hidden)
    if projector:
        query[PROJECTOR_PARAM] = "1"
    return query


def step_link(lesson_id: str, index: int, **locks) -> str:
    """The step's link relative to the app's address: `convolution_lab?lesson=by-hand&step=1&...`."""
    chosen = step(lesson_id, index)
    return f"{PAGES[chosen.page][1]}?{urlencode(step_query(lesson_id, index, **locks))}"


def parse_position(lesson_id: str | None, step_text: str | None) -> tuple[str, int] | None:
    """(lesson id, 0-based step) from the URL's text, or None when the URL names no valid step."""
    if not lesson_id or lesson_id not in LESSONS or not step_text:
        return None
    try:
        index = int(step_text) - 1
    except ValueError:
        return None
    return (lesson_id, index) if 0 <= index < len(LESSONS[lesson_id].steps) else None
