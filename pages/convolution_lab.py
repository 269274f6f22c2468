"""Convolution lab: an image, a kernel, and every step of convolution and pooling made visible."""

import streamlit as st

from app_support import lab_view
from app_support.boot import run_through_navigation
from app_support.inputs import image_input
from app_support.state import publish, restore
from cnnviz.errors import InvalidInput
from cnnviz.lab import run_lab

run_through_navigation()
restore(lab_view.SETTINGS)

st.title("Convolution lab")
st.caption(
    "A kernel is a small grid of numbers. Slide it over the image; at each position multiply the pixels "
    "under it by its numbers and add the products: that sum is one output pixel."
)
controls, outputs = st.columns([1.1, 2.4], gap="large")

with controls:
    st.subheader("1. Image")
    image, image_name = image_input("lab", max_side=st.session_state["lab_size"])
    lab_view.image_options()
    st.subheader("3. Convolution and pooling")
    lab_view.conv_controls()


@st.fragment
def kernel_and_outputs(image, image_name: str) -> None:
    """The kernel and everything it changes. A fragment: picking another kernel or output pixel
    reruns this part alone, so the browser redraws only what changed."""
    st.subheader("2. Kernel")
    lab_view.kernel_controls()
    kernel, problem = lab_view.current_kernel()
    config = lab_view.current_config()
    mode = st.session_state["lab_display"]
    centre = {}
    if image is None:
        st.info("Choose an image on the left to start.")
    elif st.session_state["lab_view"] == "gallery":
        lab_view.gallery_view(image, config, mode)
    elif kernel is None:
        st.error(f"Kernel: {problem}")
    else:
        try:
            result = run_lab(image, kernel, config)
        except InvalidInput as error:
            st.error(str(error))
        else:
            lab_view.stages_view(image, image_name, result, mode)
            centre = lab_view.pixel_view(image, result, config)
    publish(lab_view.SETTINGS, implicit=centre)


with outputs:
    kernel_and_outputs(lab_view.prepared(image), image_name)
