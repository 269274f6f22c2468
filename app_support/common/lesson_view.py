"""Lessons over the instrument pages: a step's banner at the top of its page, the settings it opens with,
moving between steps, a teacher's locks and the projector view.

A step's link carries `?lesson=<id>&step=<n>` and the page's own URL settings. On arrival the page's
settings are set to exactly the step's (the rest to their defaults), once: after that the learner's
changes are theirs, until they open another step.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

import streamlit as st

from app_support.common import state
from app_support.common.state import Setting
from cnnviz import lessons
from cnnviz.errors import InvalidInput

_ARRIVED = "_lesson_arrived"  # (lesson, step, page) whose settings this session last applied
LOCK_OTHERS = "locks"  # ?locks=focus: every control but the step's focus is fixed, on every step


def position() -> tuple[str, int] | None:
    """(lesson id, 0-based step) when the URL opens a lesson step, else None."""
    params = st.query_params
    return lessons.parse_position(params.get(lessons.LESSON_PARAM), params.get(lessons.STEP_PARAM))


def projector() -> bool:
    """Whether the page is shown for a projector (`?projector=1`): big text, controls tucked away."""
    return st.query_params.get(lessons.PROJECTOR_PARAM, "") in ("1", "true", "on")


def carried() -> dict[str, str]:
    """The URL settings that travel from step to step: the projector view and a teacher's standing lock."""
    params = st.query_params
    return {name: params[name] for name in (lessons.PROJECTOR_PARAM, LOCK_OTHERS) if name in params}


def go_to(lesson_id: str, index: int, extra: dict[str, str] | None = None) -> None:
    """Open a step's page exactly as the step sets it."""
    chosen = lessons.step(lesson_id, index)
    query = {**lessons.step_query(lesson_id, index), **(extra or {})}
    st.switch_page(lessons.PAGES[chosen.page][0], query_params=query)


def arrive(page: str, settings: Iterable[Setting], extra: Iterable[str] = ()) -> tuple[str, int] | None:
    """Before a page draws its widgets: when the URL opens a step of this page that the session has not
    yet arrived at, set the page's settings to the URL's (a step's link carries the step's), the others
    to their defaults, over whatever the session had. Returns the
    position, or None outside a lesson. `extra` names URL settings the page reads itself."""
    where = position()
    if where is None or lessons.step(*where).page != page:
        st.session_state.pop(_ARRIVED, None)
        return None
    if st.session_state.get(_ARRIVED) == (*where, page):
        return where
    chosen = lessons.step(*where)
    settings = list(settings)
    for setting in settings:
        # The URL first: a step's link carries the step's settings, and a reloaded or shared address
        # carries what the learner changed since.
        text = st.query_params.get(setting.param, chosen.settings.get(setting.param))
        st.session_state[setting.key] = setting.default if text is None else setting.parse(text)
    if st.query_params.get(LOCK_OTHERS) == "focus":
        free = {*chosen.focus, *lessons.ALWAYS_FREE}
        others = [setting.param for setting in settings if setting.param not in free]
        others += [name for name in extra if name not in free]
        st.query_params[lessons.FIX_PARAM] = ",".join(others)
    st.session_state[_ARRIVED] = (*where, page)
    return where


def banner(where: tuple[str, int] | None) -> None:
    """The step's text, what to try, its question (the answer on request) and the way on. Nothing
    outside a lesson."""
    if where is None:
        return
    lesson_id, index = where
    lesson = lessons.lesson(lesson_id)
    chosen = lesson.steps[index]
    number = list(lessons.LESSONS).index(lesson_id) + 1
    with st.container(border=True, key="lesson_banner"):
        # Compact, so the instrument the step is about stays in view: the way on beside the title,
        # what to try beside the question.
        heading, way_on = st.columns([3, 2], vertical_alignment="center")
        heading.markdown(
            f"**Lesson {number} · step {index + 1} of {len(lesson.steps)}: {chosen.title}**  \n:gray[{lesson.title}]"
        )
        with way_on, st.container(horizontal=True, gap="small", horizontal_alignment="right"):
            if index > 0 and st.button("Back", icon=":material/arrow_back:", key="lesson_previous"):
                go_to(lesson_id, index - 1, carried())
            if index + 1 < len(lesson.steps):
                if st.button("Next step", icon=":material/arrow_forward:", type="primary", key="lesson_next"):
                    go_to(lesson_id, index + 1, carried())
            else:
                following = list(lessons.LESSONS)[number:]
                if following and st.button(
                    "Next lesson", icon=":material/arrow_forward:", type="primary", key="lesson_next_lesson"
                ):
                    go_to(following[0], 0, carried())
            st.page_link("pages/lessons.py", label="All lessons", icon=":material/school:")
        if projector():
            # On a projector the teacher tells the story and the class looks at the picture: the
            # question stays in view, the rest is one click away.
            st.markdown(f"**Question:** {chosen.question}")
            with st.expander("The step's text, what to try, the answer"):
                st.markdown(chosen.text)
                st.markdown(f"**Try this:** {chosen.try_this}")
                st.markdown(f"**Answer:** {chosen.answer}")
        else:
            st.markdown(chosen.text)
            attempt, question = st.columns(2, gap="medium")
            attempt.markdown(f"**Try this:** {chosen.try_this}")
            question.markdown(f"**Question:** {chosen.question}")
            with question.expander("Answer (look first)"):
                st.markdown(chosen.answer)
        note = state.locked_note()
        if note:
            st.caption(note)


def absolute_link(query: dict[str, str], page_path: str) -> str:
    """The full address of a page with this query, on the server the learner is using."""
    here = st.context.url or ""
    base = here.split("?", 1)[0].rstrip("/")
    # st.context.url is the current page's address: step up to the app's root.
    root = base.rsplit("/", 1)[0] if base.rsplit("/", 1)[-1] in _PAGE_PATHS else base
    return f"{root}/{page_path}?{urlencode(query)}"


_PAGE_PATHS = {path for _, path, _ in lessons.PAGES.values()} | {"lessons"}


def checked_step(lesson_id: str, index: int) -> lessons.Step | None:
    """The step, or None after showing why there is none."""
    try:
        return lessons.step(lesson_id, index)
    except InvalidInput as error:
        st.error(str(error))
        return None


PROJECTOR_CSS = """
<style>
/* Projector view: readable from the back of a room at 1024x640. Bigger text, the sidebar away. */
html { font-size: 19px; }
.block-container, [data-testid="stMainBlockContainer"] { padding-top: 1.5rem; }
h1 { font-size: 1.9rem !important; padding-top: 0 !important; }
section[data-testid="stSidebar"], div[data-testid="stSidebarCollapsedControl"] { display: none; }
.st-key-lesson_banner p, .st-key-lesson_banner li { font-size: 1.2rem; line-height: 1.45; }
.st-key-lesson_banner h4 { font-size: 1.7rem; }
</style>
"""


def apply_projector_view() -> None:
    """Big text and no sidebar when the URL asks for the projector view."""
    if projector():
        st.html(PROJECTOR_CSS)
