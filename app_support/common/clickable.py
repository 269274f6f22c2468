"""A picture you can click: `streamlit-image-coordinates` fed with the app's cached PNGs.

The component (a small, dependency-free frontend kept by a Streamlit engineer) returns where the
picture was clicked, in displayed pixels, with the picture's displayed size; `position` turns that
into a (row, col) of any grid laid over the picture.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
import streamlit as st

from app_support.common.render import png


class _Png:
    """What the component accepts as a picture: an object with `save`. It gets our PNG bytes, encoded
    once and cached by content (the component would encode the array again with Pillow on every
    rerun: 1.5 s for a 900x900 grid at its default level, and uncompressed, several times the bytes)."""

    def __init__(self, data: bytes):
        self.data = data

    def save(self, buffer, **_options) -> None:  # called as Pillow's save(buffer, format="PNG", ...)
        buffer.write(self.data)


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
    a new click starts (`position` reads it as a grid cell).

    A custom component: AppTest does not render it (it returns None there), so every page that uses
    it keeps another way to choose the same thing."""
    from streamlit_image_coordinates import streamlit_image_coordinates

    with container if container is not None else contextlib.nullcontext():
        click = streamlit_image_coordinates(
            _Png(png(image)), key=key, width="stretch", on_click=on_click, cursor=cursor
        )
        if caption:
            st.caption(caption)
    return click


def position(key: str, shape: tuple[int, int]) -> tuple[int, int] | None:
    """The (row, col) of a `shape` grid (rows, cols) laid over the picture under the last click, or None."""
    click = st.session_state.get(key)
    if not click or not click.get("width") or not click.get("height"):
        return None
    row = int(click["y"] / click["height"] * shape[0])
    col = int(click["x"] / click["width"] * shape[1])
    return min(max(row, 0), shape[0] - 1), min(max(col, 0), shape[1] - 1)
