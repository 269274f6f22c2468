"""Lessons: the teachers' link maker (a step's address with controls fixed or hidden, the projector
view, or every control but the step's own fixed). The list of lessons is drawn by the page itself."""

from __future__ import annotations

import streamlit as st

from app_support.common import lesson_view
from cnnviz import lessons

KEEP = "session"  # a teacher's choices stay while they try the link on another page and come back


def teacher_links() -> None:
    """The link maker: a lesson step's address with the controls a teacher fixes or hides, the
    projector view, and "fix everything but this step"."""
    st.subheader("For teachers: a link for your class")
    st.markdown(
        "Every step opens from its link exactly as written, on any computer. You can fix controls (shown but "
        "not changeable) or hide them, so the class explores only today's point, and ask for the projector "
        "view: big text, no sidebar."
    )
    with st.container(border=True, key="teacher_links"):
        columns = st.columns(2)
        lesson_id = columns[0].selectbox(
            "Lesson",
            list(lessons.LESSONS),
            format_func=lambda key: lessons.LESSONS[key].title,
            key="teacher_lesson",
            persist_state=KEEP,
        )
        steps = lessons.LESSONS[lesson_id].steps
        if st.session_state.get("teacher_step", 0) >= len(steps):  # kept from a longer lesson
            st.session_state["teacher_step"] = 0
        index = columns[1].selectbox(
            "Step",
            list(range(len(steps))),
            format_func=lambda i: f"{i + 1}. {steps[i].title}",
            key="teacher_step",
            persist_state=KEEP,
        )
        step = steps[index]
        # Every control of the step's page, by the label people see on it, the step's own first.
        controls = lessons.CONTROLS[step.page]
        names = sorted(controls, key=lambda name: name not in {*step.settings, *step.focus})
        others = st.toggle(
            "Fix every control except the ones this step is about, on every step the class opens",
            key="teacher_others",
            persist_state=KEEP,
            help="The page's other controls stay visible but cannot be changed. Each step frees its own "
            "controls (for this step: "
            + (", ".join(controls.get(name, name) for name in step.focus) or "none")
            + ") and the choice of the pixel or picture to look at.",
        )
        fixed = hidden = ()
        if not others:
            columns = st.columns(2)
            # Kept choices another step's page does not have are dropped before the widgets are drawn.
            for key in ("teacher_fixed", "teacher_hidden"):
                if key in st.session_state:
                    st.session_state[key] = [name for name in st.session_state[key] if name in names]
            fixed = tuple(
                columns[0].multiselect(
                    "Fix (read-only)", names, format_func=controls.get, key="teacher_fixed", persist_state=KEEP
                )
            )
            free = [name for name in names if name not in fixed]
            if "teacher_hidden" in st.session_state:
                st.session_state["teacher_hidden"] = [
                    name for name in st.session_state["teacher_hidden"] if name in free
                ]
            hidden = tuple(
                columns[1].multiselect("Hide", free, format_func=controls.get, key="teacher_hidden", persist_state=KEEP)
            )
        big = st.toggle("Projector view", key="teacher_projector", persist_state=KEEP)
        query = lessons.step_query(lesson_id, index, fixed=fixed, hidden=hidden, projector=big)
        if others:
            query[lesson_view.LOCK_OTHERS] = "focus"
        st.code(lesson_view.absolute_link(query, lessons.PAGES[step.page][1]), language=None, wrap_lines=True)
        st.page_link(
            lessons.PAGES[step.page][0], label="Open it here", icon=":material/open_in_new:", query_params=query
        )
