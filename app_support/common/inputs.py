"""The image-input widget group: bundled sample, drawing canvas, upload or camera.

Whatever the user made (a drawing, an upload) is kept in session state, so a rerun, a bad file or a
trip to another page loses nothing.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from app_support.common.state import locked_widget
from cnnviz import images
from cnnviz.errors import InvalidInput

SOURCES = {"sample": "Sample", "draw": "Draw", "upload": "Upload", "camera": "Camera"}
UPLOAD_TYPES = ["png", "jpg", "jpeg", "bmp", "webp", "gif"]
CANVAS_SIDE = 280
# A digit drawn on the canvas is about two thirds of it tall (~180 px), and an MNIST digit's stroke is
# about a seventh of its 20-pixel box: 18 px looks like MNIST as drawn. Thinner pens work too: the
# digit preparation thickens strokes thinner than MNIST's (cnnviz.images.prepare_digit), and
# bench/predict.py measures pens of 1-5 px.
BRUSH = 18


@st.cache_resource(max_entries=16, show_spinner=False)
def sample_image(name: str) -> np.ndarray:
    """A bundled sample, loaded once per server (read-only: shared by every session)."""
    image = images.load_sample(name)
    image.setflags(write=False)
    return image


@st.cache_data(max_entries=32, show_spinner=False)
def decode(data: bytes, max_side: int) -> np.ndarray:
    """Decode uploaded bytes and shrink them to the working size (cached by content)."""
    return images.resize(images.load_image(data), max_side=max_side)


def _stored_file(
    prefix: str, kind: str, uploaded, max_side: int, *, keep_last_good: bool = True
) -> tuple[np.ndarray | None, str]:
    """Decode a new upload/camera shot, or fall back on the last good one of this session (with
    `keep_last_good` False, a bad file raises InvalidInput naming it instead)."""
    memory = f"{prefix}_{kind}_kept"
    if uploaded is not None:
        # A camera shot's file name is a time stamp ('camera-input-2026-...jpg'): say what it is instead.
        name = "your camera picture" if kind == "camera" else uploaded.name
        try:
            image = decode(uploaded.getvalue(), max_side)
        except InvalidInput as error:
            if not keep_last_good:
                raise InvalidInput(f"{name}: {error}") from None
            st.error(f"{name}: {error}")
        else:
            st.session_state[memory] = (name, image)
            return image, name
    if memory in st.session_state:
        name, image = st.session_state[memory]
        if uploaded is not None:
            st.caption(f"Still showing your last good image, {name}.")
        else:  # the box is empty after a trip to another page, but the picture is still in use: say so
            st.caption(f"In use: {name}, from before. Choose another file to replace it.")
        return images.resize(image, max_side=max_side), name
    return None, ""


def _locked(locks: dict[str, str] | None, role: str, widget, *args, key: str, **kwargs):
    """A widget as a teacher's link asks (`locks` maps its role to its URL name): not drawn when hidden
    (its value stays), disabled when fixed."""
    param = (locks or {}).get(role)
    return widget(*args, key=key, **kwargs) if param is None else locked_widget(widget, param, *args, key=key, **kwargs)


def _canvas(
    prefix: str, *, brush: int = BRUSH, locks: dict[str, str] | None = None, side: int = CANVAS_SIDE
) -> tuple[np.ndarray | None, str]:
    from streamlit_drawable_canvas import st_canvas  # a custom component: only where it is drawn

    generation = st.session_state.setdefault(f"{prefix}_canvas_generation", 0)
    kept = f"{prefix}_drawing_kept"
    # The starting width, unless the page set one already (the lab restores its own from the URL).
    st.session_state.setdefault(f"{prefix}_brush", brush)
    _locked(locks, "brush", st.slider, "Brush size", 2, 40, key=f"{prefix}_brush", persist_state="session")
    canvas_key = f"{prefix}_canvas_{generation}"
    if canvas_key not in st.session_state:
        # (Re)mounting, e.g. back from another page: redraw the kept strokes. The value stays fixed
        # while the canvas lives, because a changed initial drawing makes the canvas start over.
        st.session_state[f"{prefix}_canvas_initial"] = st.session_state.get(kept, (None, None))[0]
    result = st_canvas(
        stroke_width=st.session_state[f"{prefix}_brush"],
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=side,
        width=side,
        drawing_mode="freedraw",
        initial_drawing=st.session_state[f"{prefix}_canvas_initial"],
        return_image_data=True,
        key=canvas_key,
    )
    data = result.image_data
    if data is not None and data.ndim == 3 and data.shape[2] == 4:
        gray = images.canvas_to_gray(data)
        if gray.any():
            st.session_state[kept] = (result.json_data, gray)
        else:  # the canvas was wiped with its own reset button
            st.session_state.pop(kept, None)
    if st.button("Clear drawing", key=f"{prefix}_clear", icon=":material/delete:"):
        st.session_state[f"{prefix}_canvas_generation"] = generation + 1
        st.session_state.pop(kept, None)
        st.rerun()
    if kept in st.session_state:
        return st.session_state[kept][1], "your drawing"
    st.info("Draw on the black square with the mouse (white ink); the outputs update when you let go.")
    return None, ""


def image_input(
    prefix: str,
    *,
    max_side: int = 512,
    brush: int = BRUSH,
    locks: dict[str, str] | None = None,
    keep_last_good: bool = True,
    canvas_side: int = CANVAS_SIDE,
) -> tuple[np.ndarray | None, str]:
    """Draw the input widgets; return the chosen image (uint8, (H, W) or (H, W, 3)) and its name.

    The image is at most `max_side` on its longer side; the canvas brush starts `brush` px wide, on a
    canvas `canvas_side` CSS pixels square (a narrow column needs a smaller one).
    `locks` maps 'source', 'sample' and 'brush' to their URL names, for a teacher's `?fix=` / `?hide=`.
    Returns (None, '') when there is no image yet (nothing drawn or uploaded).

    A file that cannot be read is named in an error under the uploader, and the last good one stays
    in use; with `keep_last_good` False it raises InvalidInput instead (naming the file), for a page
    whose answer must never belong to an earlier picture.
    """
    source = _locked(
        locks,
        "source",
        st.radio,
        "Image from",
        list(SOURCES),
        format_func=SOURCES.get,
        horizontal=True,
        key=f"{prefix}_source",
        persist_state="session",
    )
    if source == "sample":
        name = _locked(
            locks,
            "sample",
            st.selectbox,
            "Sample",
            list(images.SAMPLES),
            key=f"{prefix}_sample",
            format_func=str.capitalize,
            persist_state="session",
        )
        st.caption(images.SAMPLES[name][1])
        return images.resize(sample_image(name), max_side=max_side), name
    if source == "draw":
        return _canvas(prefix, brush=brush, locks=locks, side=canvas_side)
    if source == "upload":
        uploaded = st.file_uploader(
            "Upload an image (PNG, JPEG, BMP, WebP or GIF)", type=UPLOAD_TYPES, key=f"{prefix}_upload"
        )
        return _stored_file(prefix, "upload", uploaded, max_side, keep_last_good=keep_last_good)
    shot = st.camera_input("Take a picture", key=f"{prefix}_camera")
    return _stored_file(prefix, "camera", shot, max_side, keep_last_good=keep_last_good)
