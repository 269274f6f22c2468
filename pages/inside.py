"""Inside the Network: what each layer sees, the filters it learned, and where it looked."""

import streamlit as st

from app_support.common import lesson_view
from app_support.common.boot import run_through_navigation
from app_support.common.model_source import choose_model
from app_support.common.model_views import at_epoch
from app_support.common.state import locked_widget, publish, restore
from app_support.inside import settings as inside_settings
from app_support.inside import view

run_through_navigation()
step = lesson_view.arrive("inside", inside_settings.SETTINGS, extra=(inside_settings.IMAGES_PARAM,))
if step is not None and st.session_state.get("_inside_images_for") != step:
    inside_settings.forget_images()  # a step's test images come from its link
    st.session_state["_inside_images_for"] = step
restore(inside_settings.SETTINGS)

st.title("Inside the network")
if not lesson_view.projector():  # on a projector the lesson's question says what to look at
    st.caption(
        "Open a trained CNN and look inside: what every channel of every layer makes of a picture, the kernels "
        "it learned, and heatmaps of the pixels that made it decide."
    )
lesson_view.banner(step)
# The model and the input side by side where there is room, one above the other where there is not:
# fixed widths in a wrapping row keep the model's long names whole (a narrow column cut them off).
# On a projector the pickers fold away: the class looks at the pictures, the teacher opens them when needed.
pickers = st.expander("Model and pictures") if lesson_view.projector() else st.container()
with pickers, st.container(horizontal=True, gap="small"):
    with st.container(width=430):
        choice = choose_model("inside", heads=True, untrained=True)  # a box run's heads; ResNet-34 untrained
        if choice is not None:
            model, when = at_epoch(choice, "inside")
            shape = tuple(model.inputs[0].shape[1:])
            st.caption(f"{choice.title}{when}: input {'x'.join(map(str, shape))}, {len(choice.class_names)} classes.")
    with st.container(width="content"):
        inputs = view.choose_inputs(choice, shape, "inside") if choice is not None else []


@st.fragment
def shown_view(model, choice, inputs, predicted) -> None:
    """One view at a time (tabs would keep all three drawn). A fragment: choosing another layer or
    class reruns this view alone; the URL follows, so a shared link opens the same view."""
    shown = locked_widget(
        st.segmented_control,
        "view",
        "View",
        list(inside_settings.VIEWS),
        format_func=inside_settings.VIEWS.get,
        key="inside_view",
        persist_state=view.KEEP,
    )
    if shown == "filters":
        view.filter_view(model, "inside")
    elif shown == "heatmaps":
        view.heatmap_view(model, choice, inputs, predicted, "inside")
    else:
        view.feature_map_view(model, inputs, "inside")
    publish(inside_settings.SETTINGS)


if choice is None:
    st.info("Choose a model above.")
elif not inputs:
    st.info("Choose an input above.")
else:
    predicted = view.show_inputs(model, choice, inputs)
    shown_view(model, choice, inputs, predicted)
