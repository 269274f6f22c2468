"""Convolution lab: an image, a kernel, and every step of convolution and pooling made visible."""

import streamlit as st

from app_support import lab_outputs, lab_view, lesson_view
from app_support.boot import run_through_navigation
from app_support.inputs import image_input
from app_support.state import publish, restore

run_through_navigation()
step = lesson_view.arrive("lab", lab_view.SETTINGS)  # a lesson step's link sets the lab as the step says
restore(lab_view.SETTINGS)

st.title("Convolution lab")
st.caption(
    "A kernel is a small grid of numbers. Slide it over the image; at each position multiply the pixels "
    "under it by its numbers and add the products: that sum is one output pixel."
)
lesson_view.banner(step)
controls, outputs = st.columns([1.1, 2.4], gap="large")

with controls:
    st.subheader("1. Image")
    image, image_name = image_input("lab", max_side=st.session_state["lab_size"])
    lab_view.image_options()
    st.subheader("3. Settings")
    lab_view.conv_controls()


@st.fragment
def kernel_and_outputs(image, image_name: str) -> None:
    """The kernel and everything it changes. A fragment: picking another kernel or output pixel
    reruns this part alone, so the browser redraws only what changed."""
    # Streamlit forgets the value of a widget that a run did not draw (the pixel inputs while every
    # kernel is shown, say): give each setting its value again before reading any.
    restore(lab_view.SETTINGS)
    st.subheader("2. Kernel")
    lab_view.kernel_controls()
    lab_outputs.show(image, image_name)
    publish(lab_view.SETTINGS)


with outputs:
    kernel_and_outputs(lab_view.prepared(image), image_name)
