"""A picture you can click: a Components v2 component (component/clickable.js, no iframe) showing the
app's cached PNGs.

The picture is an `<img>` in the page as wide as its column, so the element is always exactly as tall
as the picture (an iframe's height is set by a message from inside it, and a busy browser could leave
a grid clipped or padded). A click sends where it landed, in displayed pixels, with the picture's
displayed size; `position` turns that into a (row, col) of any grid laid over the picture.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import streamlit as st

from app_support.common.render import png

NAME = "cnnviz_clickable"
BOX_NAME = "cnnviz_boxdraw"


@cache
def _component(name: str, script: str):
    """The component `name` (its JavaScript in component/`script`), registered once per server process."""
    code = (Path(__file__).with_name("component") / script).read_text()
    return st.components.v2.component(name, js=code, isolate_styles=False)


def _sent(key: str, state_name: str):
    """What the component mounted with `key` last sent as `state_name` (None before it sent anything)."""
    state = st.session_state.get(key)
    return state.get(state_name) if hasattr(state, "get") else None


@lru_cache(maxsize=64)
def _data_url(data: bytes) -> str:
    """The PNG as a data: URL (the picture travels with the element; nothing is fetched)."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def clickable_picture(
    image: np.ndarray,
    *,
    key: str,
    on_click: Callable[[], None] | None = None,
    caption: str = "",
    cursor: str = "crosshair",
    container=None,
) -> dict | None:
    """Show uint8 `image` as wide as its column; return the last click as {'x', 'y', 'width',
    'height', 'unix_time'} (CSS pixels) or None, and call `on_click` (no arguments) before the rerun
    a new click starts (`position` and `last_click` read it).

    A custom component: AppTest does not render it, so every page that uses it keeps another way to
    choose the same thing."""
    with container if container is not None else contextlib.nullcontext():
        _component(NAME, "clickable.js")(
            key=key,
            data={"src": _data_url(png(image)), "alt": caption, "cursor": cursor},
            on_click_change=on_click,
        )
        if caption:
            st.caption(caption)
    return last_click(key)


def last_click(key: str) -> dict | None:
    """The last click on the picture mounted with `key`, or None."""
    click = _sent(key, "click")
    return click if isinstance(click, dict) and click.get("width") and click.get("height") else None


def position(key: str, shape: tuple[int, int]) -> tuple[int, int] | None:
    """The (row, col) of a `shape` grid (rows, cols) laid over the picture under the last click, or None."""
    click = last_click(key)
    if click is None:
        return None
    row = int(click["y"] / click["height"] * shape[0])
    col = int(click["x"] / click["width"] * shape[1])
    return min(max(row, 0), shape[0] - 1), min(max(col, 0), shape[1] - 1)


def box_picture(
    image: np.ndarray,
    *,
    key: str,
    target: str,
    box=None,
    on_box: Callable[[], None] | None = None,
    alt: str = "",
) -> None:
    """Show uint8 `image` as wide as its column with `box` (fractions (x_min, y_min, x_max, y_max), or None)
    on it; the learner drags a new box, and `on_box` (no arguments) runs before the rerun that follows.
    `drawn_box(key, target)` reads it. A custom component: AppTest does not render it, so a page keeps
    number inputs for the same box."""
    _component(BOX_NAME, "boxdraw.js")(
        key=key,
        data={
            "src": _data_url(png(image)),
            "box": None if box is None else [float(v) for v in box],
            "target": target,
            "alt": alt,
        },
        on_box_change=on_box,
    )


def drawn_box(key: str, target: str) -> tuple[float, float, float, float] | None:
    """The last box dragged on the picture mounted with `key` while it showed `target` (fractions), or None."""
    sent = _sent(key, "box")
    if not isinstance(sent, dict) or sent.get("target") != target:
        return None
    box = sent.get("box")
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        return None
    return x0, y0, x1, y1
