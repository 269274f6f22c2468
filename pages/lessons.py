"""Lessons: the tutorials this project grew from, step by step over the instrument pages, and a link
maker for teachers (controls fixed or hidden, a projector view). Paints without TensorFlow."""

import streamlit as st

from app_support.common import lesson_view
from app_support.common.boot import run_through_navigation
from app_support.lessons.links import teacher_links
from cnnviz import lessons

run_through_navigation()
lesson_view.fresh_start()  # "Start" and the steps below open as written, whatever the learner changed there

st.title("Lessons")
st.markdown(
    "Each lesson is a few short steps. A step opens the right page already set up, tells you what to "
    "look at, gives you something to try and asks a question the picture answers. Start at the top if "
    "convolution is new to you; every lesson also stands alone."
)

for number, (lesson_id, lesson) in enumerate(lessons.LESSONS.items(), start=1):
    with st.container(border=True, key=f"lesson_card_{lesson_id}"):
        heading, start = st.columns([5, 1.3], vertical_alignment="center")
        heading.markdown(f"**{number}. {lesson.title}** · {len(lesson.steps)} steps, about {lesson.minutes} min")
        heading.caption(lesson.summary)
        first = lesson.steps[0]
        start.page_link(
            lessons.PAGES[first.page][0],
            label="Start",
            icon=":material/play_arrow:",
            query_params=lessons.step_query(lesson_id, 0, projector=lesson_view.projector()),
        )
        with st.expander("Steps"):
            for index, step in enumerate(lesson.steps):
                st.page_link(
                    lessons.PAGES[step.page][0],
                    label=f"{index + 1}. {step.title} ({lessons.PAGES[step.page][2]})",
                    query_params=lessons.step_query(lesson_id, index, projector=lesson_view.projector()),
                )

teacher_links()
