"""Inside the Network: what each layer sees, the filters it learned, and where it looked."""

import streamlit as st

from app_support import inside_view as view
from app_support.boot import run_through_navigation
from app_support.model_source import choose_model

run_through_navigation()

st.title("Inside the network")
st.caption(
    "Open a trained CNN and look inside: what every channel of every layer makes of a picture, the kernels "
    "it learned, and heatmaps of the pixels that made it decide."
)
# The model and the input side by side where there is room, one above the other where there is not:
# fixed widths in a wrapping row keep the model's long names whole (a narrow column cut them off).
with st.container(horizontal=True, gap="small"):
    with st.container(width=430):
        choice = choose_model("inside")
        if choice is not None:
            model, when = view.at_epoch(choice, "inside")
            shape = tuple(model.inputs[0].shape[1:])
            st.caption(f"{choice.title}{when}: input {'x'.join(map(str, shape))}, {len(choice.class_names)} classes.")
    with st.container(width="content"):
        inputs = view.choose_inputs(choice, shape, "inside") if choice is not None else []

if choice is None:
    st.info("Choose a model above.")
elif not inputs:
    st.info("Choose an input above.")
else:
    predicted = view.show_inputs(model, choice, inputs)
    views = {"maps": "Feature maps", "filters": "Learned filters", "heatmaps": "Heatmaps (why this class?)"}
    # One view at a time (tabs would keep all three drawn); each is a fragment, so choosing another
    # layer or class reruns that view alone.
    shown = st.segmented_control(
        "View", list(views), format_func=views.get, key="inside_view", default="maps", persist_state=view.KEEP
    )
    if shown == "filters":
        st.fragment(view.filter_view)(model, "inside")
    elif shown == "heatmaps":
        st.fragment(view.heatmap_view)(model, choice, inputs, predicted, "inside")
    else:
        st.fragment(view.feature_map_view)(model, inputs, "inside")
