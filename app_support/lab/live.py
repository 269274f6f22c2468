"""The Convolution lab computed in the learner's browser: a Streamlit Components v2 component (no
iframe) whose JavaScript (app_support/lab/component/) convolves, pools and draws every stage, and
explains the pixel under the pointer, without a round trip to the server.

Python sends the prepared picture once (as bytes: `picture_bytes`), and the settings as JSON; the
component sends the settings back when a change ends (a drag released, an option chosen, a picture
clicked), and `apply_settings` puts them into session state, so the URL, lessons, a teacher's locks
and the server-side reference (`cnnviz.lab.run_lab`, the views in `outputs`) keep working.

Its code is served as files: Streamlit's component file route (a v1 component declared on the
folder, as `app_support.common.live_chart` serves plotly.js) hands out lab.js, arith.js and worker.js,
and the inline module Streamlit sends with every rerun is a loader of a few lines (`LOADER`). Sent
inline, the 86 KB of JavaScript travelled with each change of a setting, for every learner.
"""

from __future__ import annotations

import hashlib
import json
import struct
from functools import cache
from pathlib import Path

import numpy as np
import streamlit as st
import streamlit.components.v1 as components_v1

from app_support.common.state import is_fixed, is_hidden
from app_support.lab.view import (
    BY_KEY,
    CUSTOM,
    DISPLAY_LABELS,
    POOL_LABELS,
    POST_LABELS,
    SLICE_KEYS,
    base_kernel,
    colour,
)
from cnnviz import display, kernels
from cnnviz.errors import InvalidInput

COMPONENT_DIR = Path(__file__).parent / "component"
NAME = "cnnviz_lab"
# The URL names the component reads and sends back (all of them `view.SETTINGS`).
PARAMS = (
    "kernel",
    "custom",
    "weight",
    "norm",
    "stride",
    "pad",
    "bias",
    "post",
    "pool",
    "psize",
    "pstride",
    "display",
    "scale",
    "row",
    "col",
    "channel",
)
ECHO = "_lab_live_echo"  # the last settings version the component sent
PICK_SHAPE = "_lab_pick_shape"  # (as outputs.PICK_SHAPE) the output shape a chosen pixel was chosen in
PICK_IMAGE = "_lab_pick_image"  # (as outputs.PICK_IMAGE) which picture it was chosen on


# The component's inline module: it imports lab.js from the file route (once per page: the browser
# keeps the module) and hands every call to it. The route's folder is named after the files' digest,
# so a page never runs another version of lab.js, arith.js or worker.js than the server's.
LOADER = """const MODULE = new URL(%s, document.baseURI).href;
let loading = null;
let tries = 0;
export default function (component) {
  if (!loading) {
    // A module that failed to load stays failed under its URL in this page: try again under another.
    loading = import(tries ? `${MODULE}?try=${tries}` : MODULE).catch((error) => {
      loading = null;
      throw error;
    });
    tries += 1;
  }
  return loading.then(
    (lab) => lab.default(component),
    (error) => {
      const { data, parentElement } = component;
      if (data && data.role === "view" && !parentElement.querySelector(".cnv-load-error")) {
        const note = document.createElement("p");
        note.className = "cnv-load-error";
        note.textContent = `The lab's code did not load from the server (${error.message}): reload the page.`;
        parentElement.append(note);
      }
      return undefined;
    },
  );
}
"""
FILES = ("lab.js", "arith.js", "worker.js")


@cache
def module_url() -> str:
    """Where the browser imports lab.js, relative to the page: the component folder made a v1
    component named after the files' digest (Streamlit serves a declared component's files at
    ./component/<name>/<file>). Declared once per server process, in a script run."""
    digest = hashlib.blake2b(digest_size=6)
    for name in FILES:
        digest.update((COMPONENT_DIR / name).read_bytes())
    served = components_v1.declare_component(f"cnnviz_lab_{digest.hexdigest()}", path=str(COMPONENT_DIR))
    return f"./component/{served.name}/lab.js"


@cache
def component():
    """Register the component once per server process."""
    return st.components.v2.component(
        NAME,
        js=LOADER % json.dumps(module_url()),
        css=(COMPONENT_DIR / "lab.css").read_text(),
        isolate_styles=True,
    )


def picture_bytes(image: np.ndarray) -> tuple[str, bytes]:
    """(id, bytes) of uint8 (H, W) or (H, W, 3) `image`: 'CNVZ', height, width, channels and the id's
    length as little-endian uint32, the id, then the pixels row by row (channels last)."""
    pixels = np.ascontiguousarray(image, dtype=np.uint8)
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    digest = hashlib.blake2b(pixels.data, digest_size=12, person=str(pixels.shape).encode()[:16]).hexdigest()
    ident = digest.encode()
    header = b"CNVZ" + struct.pack("<4I", height, width, channels, len(ident)) + ident
    return digest, header + pixels.tobytes()


@cache
def _gallery() -> tuple[dict, dict]:
    gallery = {name: np.round(k.astype(np.float64), 7).tolist() for name, k in kernels.KERNELS.items()}
    return gallery, dict(kernels.DESCRIPTIONS)


@cache
def _lut() -> list[int]:
    return display.colormap_lut().reshape(-1).tolist()


def _locks() -> dict[str, list[str]]:
    return {
        "fixed": [param for param in PARAMS if is_fixed(param)],
        "hidden": [param for param in PARAMS if is_hidden(param)],
    }


def current_values() -> dict[str, str]:
    """The component's settings as the URL writes them."""
    by_param = {setting.param: setting for setting in BY_KEY.values()}
    return {param: by_param[param].encode(st.session_state[by_param[param].key]) for param in PARAMS}


def apply_settings() -> None:
    """The component's callback: its settings (URL-style text) into session state, before the rerun."""
    state = st.session_state.get("lab_live", {}) or {}
    sent = state.get("settings") if hasattr(state, "get") else None
    if not sent:
        return
    by_param = {setting.param: setting for setting in BY_KEY.values()}
    for param, text in (sent.get("values") or {}).items():
        if param in by_param and not (is_fixed(param) or is_hidden(param)):
            setting = by_param[param]
            st.session_state[setting.key] = setting.parse(str(text))
    shape = (sent.get("values") or {}).get("pick_shape")
    if shape and "x" in shape:
        st.session_state[PICK_SHAPE] = tuple(int(n) for n in shape.split("x"))
    st.session_state[ECHO] = int(sent.get("version", 0))


def show(image: np.ndarray, image_name: str) -> None:
    """The live lab for uint8 `image` (grey (H, W) or RGB (H, W, 3), already prepared)."""
    ident, data = picture_bytes(image)
    state = st.session_state
    # Another picture (not the same one at another size or in colour): start where it is interesting.
    picture_id = (state["lab_source"], image_name)
    if state.get(PICK_IMAGE, picture_id) != picture_id:
        state["lab_pick_row"] = state["lab_pick_col"] = -1
    state[PICK_IMAGE] = picture_id
    mount = component()
    # The picture in its own element: unchanged, Streamlit sends it as a reference to what the browser
    # already has, however often the settings change.
    mount(key="lab_live_picture", data=data, height=0)
    gallery, descriptions = _gallery()
    problem = base_kernel()[1] if st.session_state["lab_kernel"] == CUSTOM else ""
    try:
        custom = np.round(kernels.parse_kernel(st.session_state["lab_custom"]).astype(np.float64), 7).tolist()
    except InvalidInput:  # a bad custom text: the component keeps the last good kernel it had
        custom = None
    colourful = colour() and image.ndim == 3
    slices = None
    if colourful and st.session_state["lab_slices"] == "each":
        slices = [st.session_state[key] for key in SLICE_KEYS]
    mount(
        key="lab_live",
        data={
            "role": "view",
            "image_id": ident,
            "image_name": image_name,
            "settings": current_values(),
            "echo": st.session_state.get(ECHO, 0),
            "pick_shape": list(st.session_state.get(PICK_SHAPE) or []) or None,
            "gallery": gallery,
            "descriptions": descriptions,
            "custom_kernel": custom,
            "problem": problem,
            "colour": colourful,
            "conv_mode": st.session_state["lab_conv_mode"],
            "slices": slices,
            "locks": _locks(),
            "lut": _lut(),
            "labels": {"post": POST_LABELS, "pool": POOL_LABELS, "display": DISPLAY_LABELS},
        },
        on_settings_change=apply_settings,
    )
