"""The lab's third operation: a transposed convolution upsampling a small map, shown the way the
tutorial proved it (insert zeros, pad, convolve with the flipped kernel), with the output size's
formula, the check against the definition, and the arithmetic of one output pixel."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app_support.common.clickable import clickable_picture, position
from app_support.common.render import picture
from app_support.lab.arithmetic import STYLE, grid_flow_html, grid_html
from app_support.lab.view import base_kernel, fixed, hidden, locked
from cnnviz import display
from cnnviz.display import plain_number
from cnnviz.errors import InvalidInput
from cnnviz.lab import TransposeResult, parse_map, run_transpose, small_map, suggested_display

LAST_GOOD = "_lab_transpose_last_good"  # (map, kernel) of the last transposed convolution that worked
OUTPUT_SHAPE = "_lab_transpose_shape"  # the output's shape, for the click callback


def _inputs(image: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """The small map and the 2-D kernel, or Nones and what is wrong."""
    state = st.session_state
    kernel, problem = base_kernel()
    if problem:
        return None, None, problem
    if state["lab_tmap"] == "typed":
        try:
            return parse_map(state["lab_ttext"]), kernel, ""
        except InvalidInput as error:
            return None, None, f"Map: {error}"
    if image is None:
        return None, None, "Choose an image on the left, or type a map."
    return small_map(image, state["lab_tside"]), kernel, ""


def _result(image: np.ndarray | None) -> TransposeResult | None:
    """This run's transposed convolution; after a bad map, kernel or setting, the message and the last
    good one."""
    state = st.session_state
    small, kernel, problem = _inputs(image)
    settings = {
        "stride": state["lab_tstride"],
        "padding": state["lab_tpadding"],
        "weight": float(state["lab_weight"]),
        "normalize": state["lab_normalize"],
    }
    if small is not None:
        try:
            result = run_transpose(small, kernel, **settings)
        except InvalidInput as error:
            problem = str(error)
        else:
            state[LAST_GOOD] = (small, kernel)
            return result
    st.error(problem)
    if LAST_GOOD not in state:
        return None
    small, kernel = state[LAST_GOOD]
    try:
        result = run_transpose(small, kernel, **settings)
    except InvalidInput:
        return None
    st.caption("Below: your last good map and kernel, kept until the problem above is fixed.")
    return result


def _choose(row: int, col: int) -> None:
    state = st.session_state
    state["lab_trow"], state["lab_tcol"] = state["lab_t_row"], state["lab_t_col"] = int(row), int(col)


def _typed() -> None:
    _choose(st.session_state["lab_t_row"], st.session_state["lab_t_col"])


def _clicked() -> None:
    picked = position("lab_t_click", st.session_state[OUTPUT_SHAPE])
    if picked is not None:
        _choose(*picked)


def chosen_pixel(shape: tuple[int, int]) -> tuple[int, int]:
    """The output pixel to explain: the one chosen (kept inside a smaller output), else the middle."""
    state = st.session_state
    row, col = state["lab_trow"], state["lab_tcol"]
    row = shape[0] // 2 if row < 0 else min(row, shape[0] - 1)
    col = shape[1] // 2 if col < 0 else min(col, shape[1] - 1)
    return row, col


def _ringed(picture_rgb: np.ndarray, row: int, col: int) -> np.ndarray:
    """A small map enlarged to about 256 px with one pixel outlined, the rest left as it is (dimming
    it, as the photo's window does, would hide the upsampled picture that is the point here)."""
    import cv2

    factor = max(1, 256 // max(picture_rgb.shape[:2]))
    big = display.enlarge(picture_rgb, min_side=factor * min(picture_rgb.shape[:2]))
    big = np.repeat(big[..., None], 3, axis=2) if big.ndim == 2 else big.copy()
    top, left = row * factor, col * factor
    cv2.rectangle(big, (left, top), (left + factor - 1, top + factor - 1), (255, 210, 0), max(2, factor // 8))
    return big


def _padding_title(pad: tuple[int, int, int, int]) -> str:
    top, bottom, left, right = pad
    if top == bottom == left == right:
        return f"3. Padded with {top} zero{'s' * (top != 1)} all round"
    return f"3. Padded: {top} above, {bottom} below, {left} left, {right} right"


def show(image: np.ndarray | None) -> None:
    """Everything below the kernel controls in the transposed-convolution mode."""
    result = _result(image)
    if result is None:
        return
    steps = result.steps
    small, out = steps.image, steps.output
    stride, (kh, kw) = steps.stride, steps.kernel.shape
    typed = st.session_state["lab_tmap"] == "typed"
    map_mode = "minmax" if typed else "clipped"
    out_mode = "signed" if suggested_display(steps.kernel) == "signed" else "minmax"
    st.session_state[OUTPUT_SHAPE] = out.shape
    row, col = chosen_pixel(out.shape)
    st.session_state["lab_t_row"], st.session_state["lab_t_col"] = row, col  # before their widgets

    left, right = st.columns(2)
    source = "your numbers" if typed else "the picture shrunk, in grey"
    picture(
        display.render_png(small, map_mode, min_side=200),
        caption=f"The small map ({source}), {small.shape[0]}x{small.shape[1]}",
        container=left,
    )
    ringed = _ringed(display.render(out, out_mode), row, col)
    caption = f"Upsampled: {out.shape[0]}x{out.shape[1]}, output pixel ({row}, {col})."
    locked_pixel = any(fixed(key) or hidden(key) for key in ("lab_trow", "lab_tcol"))
    if locked_pixel:
        picture(ringed, caption=caption, container=right)
    else:
        with right:
            clickable_picture(ringed, key="lab_t_click", on_click=_clicked, caption=caption + " Click another.")
    st.markdown(f"**Shapes:** {small.shape[0]}x{small.shape[1]} -> {out.shape[0]}x{out.shape[1]}")
    st.caption(f"Output size ({steps.padding.upper()}, stride {stride}, {kh}x{kw} kernel): {result.formula}")
    difference = "0.0" if result.max_difference == 0 else f"{result.max_difference:.2g}"
    st.markdown(f"Equals TensorFlow's `conv2d_transpose`: max difference **{difference}**")
    st.caption(
        "Computed now against the definition TensorFlow computes: every pixel of the small map adds a copy of "
        f"the kernel, times its value, {stride} pixel{'s' * (stride != 1)} from its neighbour's copy; where "
        "copies overlap they add up. (The lab's tests compare both with TensorFlow itself.)"
        + (
            ""
            if result.max_difference == 0
            else " Not exactly 0: the two ways add the same products in another order, and float32 numbers keep "
            "about 7 significant digits, so the last digit can differ (weights like 1/9 are never exact)."
        )
    )

    if stride > 1 and (kh % stride or kw % stride):
        st.caption(
            f"Stripes in the output? A {kh}x{kw} kernel is not a multiple of the stride {stride}, so neighbouring "
            "pixels' copies overlap in some rows and columns and not in others: more copies add up there. This is "
            "the checkerboard pattern transposed convolutions are known for (Odena, Dumoulin & Olah, 2016)."
        )
    st.subheader("The same numbers from an ordinary convolution")
    zeros = stride - 1
    st.caption(
        f"Put {zeros} zero{'s' * (zeros != 1)} between neighbouring pixels, pad the edges so the kernel can "
        "hang over them, turn the kernel 180 degrees and slide it one pixel at a time: each window's sum of "
        "products is one output pixel. The ringed cells are the window of the chosen pixel."
    )
    map_kind = "signed" if typed else "pixels"
    ih, iw = steps.inserted.shape
    stages = [
        (grid_html(small, f"1. The small map, {small.shape[0]}x{small.shape[1]}", kind=map_kind), small.shape[1]),
        (
            grid_html(steps.inserted, f"2. {zeros} zero{'s' * (zeros != 1)} between pixels, {ih}x{iw}", kind=map_kind),
            iw,
        ),
        (
            grid_html(steps.padded, _padding_title(steps.pad), kind=map_kind, window=(row, col, kh, kw)),
            steps.padded.shape[1],
        ),
        (grid_html(steps.kernel, f"The kernel, {kh}x{kw}"), max(kw, 4)),
        (grid_html(steps.flipped, "4. Turned 180 degrees"), max(kw, 4)),
        (grid_html(out, f"5. Output, {out.shape[0]}x{out.shape[1]}", mark=(row, col)), out.shape[1]),
    ]
    st.markdown(STYLE + grid_flow_html(stages), unsafe_allow_html=True)
    pixel_view(result, row, col)


def pixel_view(result: TransposeResult, row: int, col: int) -> None:
    """The window of the padded map under output pixel (row, col), the flipped kernel, and their products."""
    steps = result.steps
    st.subheader("The arithmetic of one output pixel")
    pick = st.columns(2)
    height, width = steps.output.shape
    locked(
        pick[0].number_input,
        "lab_trow",
        "Output row",
        min_value=0,
        max_value=height - 1,
        key="lab_t_row",
        on_change=_typed,
    )
    locked(
        pick[1].number_input,
        "lab_tcol",
        "Output column",
        min_value=0,
        max_value=width - 1,
        key="lab_t_col",
        on_change=_typed,
    )
    sums = steps.pixel(row, col)
    total = float(sums.products.sum(dtype=np.float64))
    cells = [
        grid_html(
            sums.window,
            f"Window at ({row}, {col})",
            kind="signed" if st.session_state["lab_tmap"] == "typed" else "pixels",
        ),
        grid_html(sums.kernel, "Flipped kernel"),
        grid_html(sums.products, f"Products = {plain_number(total)}"),
    ]
    width = max(sums.kernel.shape[1], 4)
    st.markdown(STYLE + grid_flow_html([(cell, width) for cell in cells]), unsafe_allow_html=True)
    st.markdown(f"Sum of the products: `{sums.equation()}`")
    st.caption(
        f"Output pixel ({row}, {col}) = {plain_number(float(steps.output[row, col]), 6)}. The zeros between pixels "
        "mean only some of the kernel's weights meet a pixel: which ones changes from one output pixel to the next."
    )
