"""Small rendering helpers the pages share: pictures through a fast, cached PNG path, an op's
output with its colour bar and download, and matrices as Markdown tables."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np
import streamlit as st

from cnnviz import display, images

_PNG_CACHE: OrderedDict[bytes, bytes] = OrderedDict()
_PNG_CACHE_SIZE = 64  # about 20 MB at most; content-addressed, so sessions cannot see each other's
_PNG_LOCK = threading.Lock()


def png(image: np.ndarray) -> bytes:
    """PNG bytes of a uint8 image, remembered by content: an unchanged input or highlight is not
    encoded again on the next rerun (hashing is ten times cheaper than encoding)."""
    image = np.ascontiguousarray(image)
    key = hashlib.blake2b(image.data, digest_size=16, person=str(image.shape).encode()[:16]).digest()
    with _PNG_LOCK:
        if key in _PNG_CACHE:
            _PNG_CACHE.move_to_end(key)
            return _PNG_CACHE[key]
    data = images.encode_png(image)
    with _PNG_LOCK:
        _PNG_CACHE[key] = data
        while len(_PNG_CACHE) > _PNG_CACHE_SIZE:
            _PNG_CACHE.popitem(last=False)
    return data


def picture(
    image: np.ndarray | bytes, *, caption: str | None = None, container=st, width: int | str = "stretch"
) -> None:
    """Show a uint8 image (or PNG bytes), as wide as its column or `width` px. Streamlit's own path for
    arrays re-encodes through Pillow at full compression on every rerun, several times slower for the
    lab's 512x512 views."""
    data = image if isinstance(image, bytes) else png(image)
    # output_format="PNG": with "auto", Streamlit decodes our PNG and re-encodes it as a JPEG (blurred
    # pixels on small feature maps, and time).
    container.image(data, caption=caption, width=width, output_format="PNG")


def output_picture(
    values: np.ndarray, mode: str, *, caption: str, file_name: str, key: str, limit: float | None = None
) -> None:
    """Show an op's output in display `mode`, with a colour bar for signed views and a PNG download.
    `limit`: the colour bar's end (default: this output's `display.signed_limit`)."""
    if mode == "signed" and limit is None:
        limit = display.signed_limit(values)  # one percentile for picture and bar
    picture(display.render_png(values, mode, min_side=200, limit=limit), caption=caption)
    if mode == "signed":
        plain = display.plain_number
        # The ends are a percentile, not the range: say so, and give the range.
        scale = (
            f"-{plain(limit)}  ·  0  ·  +{plain(limit)}: stronger values take the end colours; the values run "
            f"from {plain(float(np.nanmin(values)))} to {plain(float(np.nanmax(values)))}"
        )
        if not np.any(values):  # a flat picture (a camera's black first frame), a zero kernel: not ±1e-06
            scale = "every value here is 0 (a flat picture, an all-zero kernel, or an activation that removed them all)"
        picture(display.colorbar(), caption=scale)
    st.download_button(
        "PNG",  # short: up to four stages share the row; the icon says download
        # Deferred: the full-size PNG is made only when someone asks for it.
        data=lambda: display.render_png(values, mode),
        file_name=file_name,
        mime="image/png",
        key=key,
        on_click="ignore",
        icon=":material/download:",
    )


def matrix_markdown(matrix: np.ndarray) -> str:
    """A 2-D array as a Markdown table with compact numbers, its columns numbered."""
    matrix = np.asarray(matrix)
    header = "| " + " | ".join(f"*{c}*" for c in range(matrix.shape[1])) + " |"
    rule = "|" + "|".join(":-:" for _ in range(matrix.shape[1])) + "|"
    # `+ 0.0` turns -0.0 (from -1 x 0) into 0.0, which is what a learner expects to read.
    rows = ["| " + " | ".join(f"{value + 0.0:.4g}" for value in row) + " |" for row in matrix]
    return "\n".join([header, rule, *rows])


def small_picture(image: np.ndarray, *, width: int, caption: str | None = None, container=st) -> None:
    """`picture` at a fixed width in CSS pixels (an input beside its prediction, a legend bar),
    where stretching to the column would make it a poster."""
    container.image(png(image), caption=caption, width=width, output_format="PNG")


def legend(bar: np.ndarray, *, caption: str, container=st) -> None:
    """A colour bar (as `display.colorbar` or `display.heat_colorbar` draw it) at its own width, with
    what its colours mean underneath."""
    small_picture(bar, width=bar.shape[1], caption=caption, container=container)
