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
_PLACE = "_lesson_place"  # the step in progress, to come back to: {"page", "where", "carried", "own"}
LOCK_OTHERS = lessons.LOCKS_PARAM  # ?locks=focus: every control but the step's focus is fixed, on every step
# What a step's address carries on to the next step, and back to the step after a trip elsewhere:
# the projector view and a teacher's locks.
CARRIED = (lessons.PROJECTOR_PARAM, lessons.LOCKS_PARAM, lessons.FIX_PARAM, lessons.HIDE_PARAM)


def position() -> tuple[str, int] | None:
    """(lesson id, 0-based step) when the URL opens a lesson step, else None."""
    params = st.query_params
    return lessons.parse_position(params.get(lessons.LESSON_PARAM), params.get(lessons.STEP_PARAM))


def projector() -> bool:
    """Whether the page is shown for a projector (`?projector=1`): big text, controls tucked away."""
    return st.query_params.get(lessons.PROJECTOR_PARAM, "") in ("1", "true", "on")


def carried() -> dict[str, str]:
    """The URL settings that travel from step to step: the projector view and a teacher's locks."""
    params = st.query_params
    return {name: params[name] for name in CARRIED if name in params}


def go_to(lesson_id: str, index: int, extra: dict[str, str] | None = None) -> None:
    """Open a step's page exactly as the step sets it."""
    chosen = lessons.step(lesson_id, index)
    query = {**lessons.step_query(lesson_id, index), **(extra or {})}
    st.switch_page(lessons.PAGES[chosen.page][0], query_params=query)


def _resume(page: str, settings: list[Setting], extra: Iterable[str]) -> tuple[str, int] | None:
    """Back on the page of the step in progress with no lesson in the URL (Streamlit's sidebar opens a
    page with an empty query): the step, the teacher's locks and the page's settings go back into the
    URL, in one write (each write is an entry in the browser's history). The learner's changes stay.
    An address with a query of its own (a link someone shared) is left as it is."""
    place = st.session_state.get(_PLACE)
    if not place or place["page"] != page or len(st.query_params):
        return None
    lesson_id, index = place["where"]  # a list, when the place was kept as JSON (app_support.common.kept)
    if lessons.parse_position(lesson_id, str(index + 1)) is None:  # a lesson since changed
        st.session_state.pop(_PLACE, None)
        return None
    own = {name: text for name, text in place.get("own", {}).items() if name in extra}
    st.query_params.from_dict(
        {
            lessons.LESSON_PARAM: lesson_id,
            lessons.STEP_PARAM: str(index + 1),
            **place.get("carried", {}),
            **own,
            **state.url_values(settings, spelled=lessons.step(lesson_id, index).settings),
        }
    )
    st.session_state[_ARRIVED] = (lesson_id, index, page)
    return lesson_id, index


def arrive(
    page: str, settings: Iterable[Setting], extra: Iterable[str] = (), *, forget: Iterable[str] = ()
) -> tuple[str, int] | None:
    """Before a page draws its widgets: when the URL opens a step of this page that the session has not
    yet arrived at, set the page's settings to the URL's (a step's link carries the step's), the others
    to their defaults, over whatever the session had, and drop the session keys in `forget` (what the
    page remembers of the learner's last visit that would undo the step's settings). Coming back to the
    step's page without the lesson in the URL (through the sidebar) puts the lesson back, with what the
    learner changed. Returns the position, or None outside a lesson. `extra` names URL settings the
    page reads itself (kept too)."""
    settings, extra = list(settings), tuple(extra)
    where = position()
    if where is None:
        where = _resume(page, settings, extra)
        if where is None:
            st.session_state.pop(_ARRIVED, None)
            return None
    chosen = lessons.step(*where)
    if chosen.page != page:
        st.session_state.pop(_ARRIVED, None)
        return None
    if st.session_state.get(_ARRIVED) != (*where, page):
        for setting in settings:
            # The URL first: a step's link carries the step's settings, and a reloaded or shared address
            # carries what the learner changed since.
            text = st.query_params.get(setting.param, chosen.settings.get(setting.param))
            st.session_state[setting.key] = setting.default if text is None else setting.parse(text)
        for key in forget:
            st.session_state.pop(key, None)
        st.session_state[_ARRIVED] = (*where, page)
    params = st.query_params
    st.session_state[_PLACE] = {
        "page": page,
        "where": where,
        "carried": carried(),
        "own": {name: params[name] for name in extra if name in params},
    }
    return where


def fresh_start() -> None:
    """On a page that opens no step (the Lessons page): the next step opened from here starts from its
    own settings, even the step the learner just left (its place is still remembered)."""
    st.session_state.pop(_ARRIVED, None)


def leave() -> None:
    """Out of the lesson: its box goes, and the step's page no longer brings it back."""
    for key in (_PLACE, _ARRIVED):
        st.session_state.pop(key, None)
    kept = {name: st.query_params[name] for name in st.query_params}
    for name in (lessons.LESSON_PARAM, lessons.STEP_PARAM, *CARRIED):
        kept.pop(name, None)
    st.query_params.from_dict(kept)


def banner(where: tuple[str, int] | None) -> None:
    """The step's text, what to try, its question (the answer on request) and the way on. Nothing
    outside a lesson."""
    if where is None:
        return
    lesson_id, index = where
    lesson = lessons.lesson(lesson_id)
    chosen = lesson.steps[index]
    number = list(lessons.LESSONS).index(lesson_id) + 1
    # Keys that name the step: the answer of one step is a new, closed box on the next (an open one
    # stayed open from step to step, and on a projector showed the class the next answer at once).
    step_key = f"{lesson_id}_{index}"
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
            if st.button(
                "",
                icon=":material/close:",
                key="lesson_leave",
                type="tertiary",
                help="Leave the lesson: this page no longer shows the step or brings it back",
            ):
                leave()
                st.rerun()
        if projector():
            # On a projector the teacher tells the story and the class looks at the picture: the
            # question stays in view; the text and the answer each one click away, apart, so that
            # opening the text does not show the class the answer.
            st.markdown(f"**Question:** {chosen.question}")
            text, answer = st.columns(2, gap="medium")
            with text.expander("The step's text and what to try", key=f"lesson_text_{step_key}"):
                st.markdown(chosen.text)
                st.markdown(f"**Try this:** {chosen.try_this}")
            with answer.expander("Answer (look first)", key=f"lesson_answer_{step_key}"):
                st.markdown(chosen.answer)
        else:
            st.markdown(chosen.text)
            attempt, question = st.columns(2, gap="medium")
            attempt.markdown(f"**Try this:** {chosen.try_this}")
            question.markdown(f"**Question:** {chosen.question}")
            with question.expander("Answer (look first)", key=f"lesson_answer_{step_key}"):
                st.markdown(chosen.answer)
        note = state.locked_note(chosen.page)
        if note:
            st.caption(note)


def about(where: tuple[str, int] | None, names: Iterable[str]) -> bool:
    """Whether the step at `where` is about one of these controls (URL names): a projector view that
    folds them away opens them for this step."""
    return where is not None and bool(set(lessons.step(*where).focus) & set(names))


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


# Projector view: readable from the back of a room at 1024x640. Every number a step asks about is at
# least 18 px (1rem is 19 px here): captions, tables (drawn as HTML tables, `table`), chart labels
# (app_support.common.charts), not the 13-16 px Streamlit gives captions and small print.
PROJECTOR_CSS = """
<style>
html { font-size: 19px; }
.block-container, [data-testid="stMainBlockContainer"] { padding-top: 1.5rem; }
h1 { font-size: 1.9rem !important; padding-top: 0 !important; }
section[data-testid="stSidebar"], div[data-testid="stSidebarCollapsedControl"] { display: none; }
.st-key-lesson_banner p, .st-key-lesson_banner li { font-size: 1.2rem; line-height: 1.45; }
.st-key-lesson_banner h4 { font-size: 1.7rem; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
[data-testid="stImageCaption"], [data-testid="stImageCaption"] p { font-size: 1rem; color: #374151; opacity: 1; }
[data-testid="stTable"] th, [data-testid="stTable"] td { font-size: 1rem; }
</style>
"""


def table(data, **options) -> None:
    """A table of numbers: an HTML table on a projector (its text grows with the projector's CSS; the
    interactive grid draws on a canvas at a fixed 13 px), the interactive grid elsewhere."""
    if projector():
        st.table(data, hide_index=options.get("hide_index"))
    else:
        st.dataframe(data, **options)


# Every other page: half of the empty band Streamlit leaves above the title (6rem), so that the first
# screen shows more of what the page is about (the lab's pictures at 1440x900).
PAGE_CSS = '<style>.block-container, [data-testid="stMainBlockContainer"] { padding-top: 3rem; }</style>'


def apply_projector_view() -> None:
    """Big text and no sidebar when the URL asks for the projector view; less room above the title
    on every page."""
    st.html(PROJECTOR_CSS if projector() else PAGE_CSS)
