"""Where is it? A network that learned boxes as well as classes: its test pictures with the true and
the predicted box, how IoU and the box loss are worked out, and its precision-recall curves."""

import streamlit as st

from app_support.common import lesson_view
from app_support.common.boot import run_through_navigation
from app_support.common.state import publish, restore
from app_support.localize import curves, pictures
from app_support.localize import state as localize_state

run_through_navigation()
step = lesson_view.arrive("localize", localize_state.SETTINGS)
restore(localize_state.SETTINGS)

st.title("Where is it?")
st.caption(
    "A network with two heads says what is in a picture and where: a class, and a box around the object. "
    "Here are its test pictures with the true box (green) and its own (orange, dashed), the overlap that "
    "decides whether a box counts, and how often it is right as you ask for closer boxes."
)
lesson_view.banner(step)
shown = localize_state.choose_run()
if shown is not None:
    threshold = curves.threshold_slider()
    curves.headline(shown, threshold)
    st.subheader("One picture, worked out")
    pictures.one_picture(shown, threshold)
    st.subheader("The test pictures")
    pictures.gallery(shown, threshold)
    st.subheader("Precision and recall")
    curves.section(shown, threshold)
publish(localize_state.SETTINGS)
