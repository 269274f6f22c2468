"""Inside the Network: what each layer sees, the filters it learned, and where it looked."""

import streamlit as st

from app_support import inside_view as view
from app_support.boot import run_through_navigation
from app_support.model_source import choose_model

run_through_navigation()

st.title("Inside the network")
st.caption(
    "Open a trained CNN and look inside: every channel of every layer for an image, the kernels it "
    "learned, and heatmaps of the pixels that made it decide."
)
controls, body = st.columns([1, 2.6], gap="large")
with controls:
    choice = choose_model("inside")
    if choice is not None:
        model, when = view.at_epoch(choice, "inside")
        shape = tuple(model.inputs[0].shape[1:])
        st.caption(f"{choice.title}{when}: input {'x'.join(map(str, shape))}, {len(choice.class_names)} classes.")
        inputs = view.choose_inputs(choice, shape, "inside")

with body:
    if choice is None:
        st.info("Choose a model on the left.")
    elif not inputs:
        st.info("Choose an input on the left.")
    else:
        view.show_steps(inputs[0][2])
        predicted = view.prediction_line(model, choice, inputs[0][1])
        views = {"maps": "Feature maps", "filters": "Learned filters", "heatmaps": "Heatmaps (why this class?)"}
        # One view at a time (tabs would keep all three drawn); each is a fragment, so choosing another
        # layer or class reruns that view alone.
        shown = st.segmented_control("View", list(views), format_func=views.get, key="inside_view", default="maps")
        if shown == "filters":
            st.fragment(view.filter_view)(model, "inside")
        elif shown == "heatmaps":
            st.fragment(view.heatmap_view)(model, choice, inputs, predicted, "inside")
        else:
            st.fragment(view.feature_map_view)(model, inputs, "inside")
