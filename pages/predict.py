"""Upload & Predict: a picture in, the top classes and the heatmap of why out."""

import streamlit as st

from app_support.common import lesson_view
from app_support.common.boot import run_through_navigation
from app_support.common.inputs import image_input
from app_support.common.model_source import choose_model
from app_support.common.state import locked_widget
from app_support.predict import settings as predict_settings
from app_support.predict import view
from cnnviz.errors import InvalidInput

run_through_navigation()
step = lesson_view.arrive("predict", predict_settings.SETTINGS)  # a lesson step sets the model and picture

st.title("Upload & predict")
st.caption(
    "Give the model a picture: it shows how the picture is prepared, its top guesses, and a heatmap of "
    "where it found the evidence. It says when it is not sure, and when the picture is unlike anything "
    "it was trained on."
)
lesson_view.banner(step)
# Fixed widths in a wrapping row: the controls keep the drawing canvas whole (280 px) and the results
# sit beside them in a wide window, below them in a narrow one (proportional columns cut the canvas in
# half and squeezed the results into a strip at 1024 px).
with st.container(horizontal=True, gap="large"):
    controls = st.container(width=300)
    body = st.container(width=540)
modes = {"one": "One image", "many": "Many images", "zip": "A labelled zip (accuracy per class)"}
with controls:
    predict_settings.find_trained_model("predict")  # a step's "the dense network you trained"
    choice = choose_model("predict")  # a box run: its class head answers, its box is drawn
    mode = locked_widget(
        st.radio,
        "mode",
        "What to predict",
        list(modes),
        format_func=modes.get,
        key="predict_mode",
        persist_state="session",
    )
    k = st.slider("Top classes shown", 1, 10, 3, key="predict_k", persist_state="session")
    opacity = st.slider("Heatmap opacity", 0.0, 1.0, 0.45, 0.05, key="predict_opacity", persist_state="session")
    image = files = zipped = None
    problem = ""
    if choice is not None and mode == "one":
        view.suggest_sample(choice, "predict")
        try:  # a file that cannot be read: its error takes the answer's place, no earlier answer stays
            image, name = image_input("predict", max_side=512, keep_last_good=False, locks=predict_settings.IMAGE_LOCKS)
        except InvalidInput as error:
            problem = str(error)
        centre = predict_settings.centre_choice(choice.digit_like)
    elif choice is not None and mode == "many":
        files = st.file_uploader(
            "Images", type=["png", "jpg", "jpeg", "bmp", "webp", "gif"], accept_multiple_files=True, key="predict_files"
        )
    elif choice is not None:
        zipped = st.file_uploader("A zip with one folder per class", type=["zip"], key="predict_zip")

with body:
    if choice is None:
        st.info("Choose a model on the left.")
    elif mode == "one" and problem:
        st.error(problem)
    elif mode == "one" and image is not None:
        view.explain_one(choice.model, choice, image, name, k=k, opacity=opacity, centre=centre)
    elif mode == "many" and files:
        view.many(choice.model, choice, files)
    elif mode == "zip" and zipped is not None:
        view.labelled_zip(choice.model, choice, zipped.getvalue())
    else:
        st.info("Give the model something to look at on the left.")
