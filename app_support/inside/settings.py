"""Inside the network's settings that live in the URL: what a lesson step or a shared link opens with."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from app_support.common.state import Setting

VIEWS = {"maps": "Feature maps", "filters": "Learned filters", "heatmaps": "Heatmaps (why this class?)"}
NORMS = {
    "tutorial": "contrast per channel (tutorials)",
    "minmax": "min..max per channel",
    "signed": "signed, one scale (colour bar)",
}
PREDICTED = "predicted"  # the heatmaps' class: each image explained for the class the model gave it

# A layer or class named in a link may not exist in the model that is open: `keep_valid` drops it
# before the widget is drawn, and the widget takes its own default.
SETTINGS = [
    Setting("inside_model", "model", "default"),
    Setting("inside_view", "view", "maps", choices=tuple(VIEWS)),
    Setting("inside_layer", "layer", ""),
    Setting("inside_norm", "norm", "tutorial", choices=tuple(NORMS)),
    Setting("inside_filter_layer", "flayer", ""),
    Setting("inside_class", "class", PREDICTED),
    Setting("inside_cam_layer", "camlayer", ""),
    Setting("inside_channel", "channel", 0, bounds=(0, 1023)),  # the channel enlarged, in every layer
]
IMAGES_PARAM = "imgs"  # test images by number, "0,1,2": read when the page first shows a model's test set
DEFAULT_IMAGES = [0]


def keep_valid(key: str, options: Sequence) -> None:
    """Before a selectbox is drawn: forget a value (from a link or another model) it does not offer."""
    value = st.session_state.get(key)
    if isinstance(value, str) and value.isdigit() and int(value) in options:
        st.session_state[key] = int(value)  # a class number, as the URL spells it
    elif key in st.session_state and value not in options:
        del st.session_state[key]


def linked_images(count: int) -> list[int] | None:
    """The test images a link asks for (`?imgs=0,1,2`), valid and at most three, or None."""
    text = st.query_params.get(IMAGES_PARAM)
    if not text:
        return None
    try:
        wanted = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        return None
    picked = [i for i in dict.fromkeys(wanted) if 0 <= i < count][:3]
    return picked or None


def publish_images(picked: list[int]) -> None:
    """Write the test images shown into the URL (`?imgs=0,1,2`), so a reload or a shared link opens
    the same ones; the default (#0 alone) leaves the URL short."""
    text = ",".join(str(i) for i in picked)
    if picked == DEFAULT_IMAGES or not picked:
        if IMAGES_PARAM in st.query_params:
            del st.query_params[IMAGES_PARAM]
    elif st.query_params.get(IMAGES_PARAM) != text:
        st.query_params[IMAGES_PARAM] = text


def forget_images() -> None:
    """On arriving at a lesson step: the test-image pickers start again from the link."""
    for key in [key for key in st.session_state if str(key).startswith("inside_test_images_")]:
        del st.session_state[key]
