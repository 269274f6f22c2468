"""Small rendering helpers the pages share: an op's output as a picture with its download button,
and matrices as Markdown tables."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz import display, images


def output_picture(values: np.ndarray, mode: str, *, caption: str, file_name: str, key: str) -> None:
    """Show an op's output in display `mode`, with a colour bar for signed views and a PNG download."""
    picture = display.enlarge(display.render(values, mode), min_side=200)
    st.image(picture, caption=caption, width="stretch")
    if mode == "signed":
        st.image(display.colorbar(display.signed_limit(values)), width="stretch")
    st.download_button(
        "Download PNG",
        data=images.encode_png(picture),
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
