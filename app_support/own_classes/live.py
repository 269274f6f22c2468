"""After a run on your own classes: try the model live (draw or snap, the answer and its Grad-CAM
change with every stroke) and take it home (.tflite, labels, a predicting script for each file, the
classes' zip). The runs panel (trainer_runs) calls `after_training` for every finished run."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app_support.common.render import picture
from app_support.own_classes.view import dataset_state
from cnnviz import display, images, own_classes, take_home
from cnnviz.errors import InvalidInput

# The live canvas sends its whole picture with every stroke (4 numbers a pixel, as JSON): 200 px sends
# half the 280 px canvas's data, and the preparation scales every drawing to the same 20 px box anyway.
LIVE_SIDE, LIVE_BRUSH = 200, 13


def is_own(data) -> bool:
    """Whether a run's dataset was made with this section."""
    return data is not None and str(data.name).startswith("own-")


def after_training(run, data) -> None:
    """For a finished run on your own classes: the live test and the take-home downloads (nothing for
    other runs, or runs that did not end well)."""
    if not is_own(data) or not run.model_path or not run.state.good:
        return
    kind = data.name.removeprefix("own-")
    if kind == "boxes":  # two heads: its boxes are shown with the run's box figures and on Where is it?
        return
    st.markdown("**Try it: draw a new one** (the answer changes as you draw)")
    live_panel(run.id, run.model_path, tuple(data.class_names), kind)
    take_home_downloads(run, data, kind)


@st.fragment
def live_panel(run_id: str, model_path: str, class_names: tuple[str, ...], kind: str) -> None:
    """A canvas (or camera) and the model's answer, redrawn with every stroke: only this fragment reruns."""
    from app_support.common.model_source import load_path
    from cnnviz import cam

    model = load_path(model_path)  # cached per run's model file
    key = f"own_live_{run_id}"
    source = "draw"
    if kind == "photos":
        source = st.radio(
            "Test with",
            ["camera", "draw"],
            horizontal=True,
            key=f"{key}_source",
            format_func=str.title,
            persist_state="session",
        )
    left, middle, right = st.columns([3, 2, 3])
    image = None
    with left, st.container(key="own_live_box"):
        if source == "draw":
            from streamlit_drawable_canvas import st_canvas

            generation = st.session_state.setdefault(f"{key}_generation", 0)
            result = st_canvas(
                stroke_width=LIVE_BRUSH,
                stroke_color="#FFFFFF",
                background_color="#000000",
                height=LIVE_SIDE,
                width=LIVE_SIDE,
                drawing_mode="freedraw",
                update_streamlit=True,
                return_image_data=True,
                key=f"{key}_canvas_{generation}",
            )
            if st.button("Clear", key=f"{key}_clear", icon=":material/ink_eraser:"):
                st.session_state[f"{key}_generation"] = generation + 1
                st.rerun(scope="fragment")
            data = result.image_data
            if data is not None and data.ndim == 3 and data.shape[2] == 4:
                gray = images.canvas_to_gray(data)
                image = gray if gray.any() else None
        else:
            shot = st.camera_input("Snap a test picture", key=f"{key}_camera")
            if shot is not None:
                try:
                    image = images.load_image(shot.getvalue())
                except InvalidInput as error:
                    st.error(f"Snapshot: {error}")
    if image is None:
        middle.caption("Draw with the mouse: its answer and where it looked appear here.")
        return
    try:
        prepared = own_classes.prepare_example(image, kind=kind)
    except InvalidInput as error:
        middle.caption(str(error))
        return
    probabilities = np.asarray(model(prepared[None].astype(np.float32), training=False))[0]
    best = int(probabilities.argmax())
    # Grad-CAM (Selvaraju et al., 2017): the last conv layer's maps weighted by how much the winning
    # class's score grows with each, i.e. where in the picture the evidence for the answer was.
    heat = cam.grad_cam(model, prepared, class_index=best)
    shown = prepared[..., 0] if prepared.shape[-1] == 1 else prepared
    picture(
        display.enlarge(display.overlay(shown, heat, opacity=0.45), min_side=200),
        caption=f"Where it looked for {class_names[best]} (Grad-CAM: red = most evidence)",
        container=middle.container(key="own_live_heat"),
    )
    with right, st.container(key="own_live_answer"):
        st.markdown(f"### {class_names[best]}")
        for index in np.argsort(-probabilities)[:5]:
            st.progress(float(probabilities[index]), text=f"{class_names[index]}: {probabilities[index]:.0%}")
        st.caption("The probabilities add up to 100%: it always picks one of your classes, even for a scribble.")


def take_home_downloads(run, data, kind: str) -> None:
    """The model as .tflite (the .keras file is among the run's downloads above) with its class names, a
    script for each file, and the classes' zip."""
    from app_support.common.model_source import load_path

    model = load_path(run.model_path)
    st.markdown(
        "**Take it home**: the model (`.keras` above, or TensorFlow Lite for phones and small computers such as a "
        "Raspberry Pi), its class names, and a script for each file that predicts one picture"
    )
    names, shape = data.class_names, data.input_shape
    files = [
        ("TensorFlow Lite (.tflite)", lambda: take_home.tflite_bytes(model), take_home.TFLITE_FILE, "tflite"),
        ("predict_keras.py", take_home.predict_script(names, shape, fmt="keras"), "predict_keras.py", "keras_py"),
        ("predict_tflite.py", take_home.predict_script(names, shape, fmt="tflite"), "predict_tflite.py", "tflite_py"),
        ("labels.txt", take_home.labels_text(names), take_home.LABELS_FILE, "labels"),
        ("Your classes (.zip)", lambda: dataset_state().to_zip(), "my_classes.zip", "zip"),
    ]
    with st.container(horizontal=True):
        for label, content, file_name, key in files:
            st.download_button(
                label,
                content,
                file_name=file_name,
                key=f"own_{key}_{run.id}",
                on_click="ignore",
                icon=":material/download:",
            )
    how = "gray, cropped to the ink and centred" if kind == "drawings" else "colour, the centre square"
    st.caption(
        "Put the model and its script in one folder and run `python predict_keras.py picture.png`: it prepares "
        f"the picture as here ({how}) and prints the class."
    )
