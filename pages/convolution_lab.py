"""Convolution lab: an image, a kernel, and every step of convolution and pooling made visible; or a
small map upsampled by a transposed convolution."""

import streamlit as st

from app_support.common import lesson_view
from app_support.common.boot import run_through_navigation
from app_support.common.inputs import image_input
from app_support.common.state import locked_note, publish, restore
from app_support.lab import outputs as lab_outputs
from app_support.lab import transpose as lab_transpose
from app_support.lab import view as lab_view

run_through_navigation()
# A lesson step's link sets the lab as the step says, the pixel it names included (the lab starts a new
# picture's pixel afresh, unless the step chose it).
step = lesson_view.arrive("lab", lab_view.SETTINGS, forget=(lab_outputs.PICK_IMAGE,))
restore(lab_view.SETTINGS)

st.title("Convolution lab")
lab_view.frame_pictures()
lab_view.operation_choice()
# On a projector the lesson's question says what to look at; the explanation is the teacher's to give.
if lab_view.transposing() and not lesson_view.projector():
    st.caption(
        "A transposed convolution makes a map bigger: every pixel paints a copy of the kernel, scaled by its "
        "value, a stride apart, and the copies add up. Networks use it to upsample (segmentation, generators)."
    )
elif not lesson_view.projector():
    st.caption(
        "A kernel is a small grid of numbers. Slide it over the image; at each position multiply the pixels "
        "under it by its numbers and add the products: that sum is one output pixel."
    )
lesson_view.banner(step)
note = locked_note()
if note and step is None:  # a lesson's banner says it already
    st.caption(note)
if lesson_view.projector():
    # On a projector the pictures get the whole width; the image and settings fold away above them,
    # open when the step is about one of them (the shift, the transposed convolution's settings).
    folded = ("src", "sample", "colour", "size", "dx", "dy", "tmap", "tside", "ttext", "tstride", "tpad")
    controls = st.expander("1. Image and 3. Settings", expanded=lesson_view.about(step, folded))
    outputs = st.container()
else:
    controls, outputs = st.columns([1.1, 2.4], gap="large")

with controls:
    st.subheader("1. Image")
    # The canvas fits the narrow column of a 1024-pixel projector (about 145 px there).
    image, image_name = image_input(
        "lab", max_side=st.session_state["lab_size"], locks=lab_view.IMAGE_LOCKS, canvas_side=140
    )
    lab_view.image_options()
    st.subheader("3. Settings")
    if lab_view.transposing():
        lab_view.transpose_controls()
    else:
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
    if lab_view.transposing():
        lab_transpose.show(image)
    else:
        lab_outputs.show(image, image_name)
    publish(lab_view.SETTINGS)


with outputs:
    kernel_and_outputs(lab_view.prepared(image), image_name)
