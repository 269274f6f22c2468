"""What did it learn?, the receptive-field view: click a unit of a feature map and see the window of
the input it can see (theoretical, Araujo et al., 2019) beside how much each pixel counts (effective,
Luo et al., 2016), and every layer's window size and jump."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import streamlit as st

from app_support.common import state
from app_support.common.clickable import clickable_picture, position
from app_support.common.render import legend, picture
from app_support.learned.context import PICTURE_SIDE, SETTINGS, Context, as_picture, control, keep_within
from cnnviz import cam, display, features


def _pick_unit(key: str, shape: tuple[int, int]) -> None:
    """On a click on the feature map (before the rerun): the unit under it becomes the chosen one,
    through the same row and column inputs a keyboard uses."""
    where = position(key, shape)
    if where is not None:
        st.session_state["learned_row"], st.session_state["learned_col"] = where


def _window_outline(image: np.ndarray, window: tuple[int, int, int, int], *, side: int = PICTURE_SIDE) -> np.ndarray:
    """`image` (uint8 RGB) enlarged, with the half-open (top, left, bottom, right) window outlined."""
    import cv2

    factor = max(1, side // max(1, min(image.shape[:2])))
    big = display.enlarge(image, min_side=factor * min(image.shape[:2])).copy()
    top, left, bottom, right = window
    thickness = max(2, min(big.shape[:2]) // 120)
    corners = (left * factor, top * factor), (right * factor - 1, bottom * factor - 1)
    cv2.rectangle(big, *corners, (255, 210, 0), thickness)
    return big


def receptive_view(context: Context) -> None:
    from cnnviz import receptive

    model = context.model
    layers = features.map_layers(model)
    if not layers:
        st.info("This model has no layers with feature maps, so no unit has a window on the picture.")
        return
    st.markdown(
        "A unit of a feature map is computed from a window of the input, and only from it: its **receptive "
        "field** (yellow). Deeper layers see larger windows, because each layer adds its kernel's reach, "
        "multiplied by every stride before it. The right picture is the unit's **effective** receptive field: "
        "how much each pixel would change the unit (the gradient). On one picture it is patchy (a ReLU that is "
        "off passes nothing back); over many pictures the middle counts most and the edges barely at all "
        "(Luo et al., 2016)."
    )
    # The unit's part is a fragment of its own: a click on the map (or another layer, row or column)
    # redraws the pictures, not the text and the table, which do not change with the unit.
    st.fragment(_unit)(context, layers)
    st.markdown(
        "**Every layer's receptive field**: the window's size, the jump between neighbouring units' windows, "
        "and where unit 0's window starts, in input pixels along the rows (square kernels: the same for columns)."
    )
    rows = [
        {
            "layer": field.name,
            "kind": field.kind,
            "kernel/stride": f"{field.kernel[0]}x{field.kernel[1]}/{field.stride[0]}" if field.kernel else "",
            "map": "x".join(map(str, field.output_shape)),
            "window": field.size,
            "jump": field.jump,
            "start": field.start,
        }
        for field in receptive.receptive_table(model)
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="content")


def _unit(context: Context, layers: list[str]) -> None:
    """The chosen unit: its layer, row and column, the clickable map, its window and its effective field."""
    from cnnviz import receptive

    model = context.model
    state.restore(SETTINGS)  # rerun alone, this fragment does not pass the view's restore
    default = cam.last_conv_layer(model) if cam.last_conv_layer(model) in layers else layers[-1]
    keep_within("learned_rf_layer", layers, default)
    top_row = st.columns([2, 1, 1])
    with top_row[0]:
        layer = control(st.selectbox, "Layer", "learned_rf_layer", layers)
    height, width, _ = features.layer_output_shape(model, model.get_layer(layer))
    # -1 (nothing chosen yet) is the centre unit, whose window lies inside the picture.
    for key, size in (("learned_row", height), ("learned_col", width)):
        value = st.session_state.get(key, -1)
        st.session_state[key] = size // 2 if value < 0 else min(int(value), size - 1)
    with top_row[1]:
        row = control(st.number_input, "Row", "learned_row", 0, 100_000, help="Of the unit; or click the map.")
    with top_row[2]:
        col = control(st.number_input, "Column", "learned_col", 0, 100_000, help="Of the unit; or click the map.")
    row, col = min(int(row), height - 1), min(int(col), width - 1)
    size, jump, start = receptive.receptive_field(model, layer)
    window = receptive.receptive_window(model, layer, row, col)
    top, left, bottom, right = window
    mean = features.normalize_channel(_channel_mean(context.model_key, model, context.image, layer), "minmax")
    chosen = display.highlight_window(mean, row, col, 1, 1)
    image = as_picture(context.image)
    rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image
    gradient = _effective_field(context.model_key, model, context.image, layer, row, col)
    effective = display.overlay(rgb, gradient, opacity=0.75)

    cells = st.columns(3)
    key = "learned_rf_click"
    clickable_picture(
        chosen,
        key=key,
        on_click=functools.partial(_pick_unit, key, (height, width)),
        caption=f"{layer}, {height}x{width} (mean of its channels): click a unit",
        container=cells[0],
    )
    picture(
        _window_outline(rgb, window),
        caption=f"its receptive field: rows {top}-{bottom - 1}, columns {left}-{right - 1}",
        container=cells[1],
    )
    picture(_window_outline(effective, window), caption="effective: how much each pixel counts", container=cells[2])
    edge = bottom - top < size or right - left < size
    clipped = " (clipped at the picture's edge: the rest is padding)" if edge else ""
    st.caption(
        f"Unit ({row}, {col}) of {layer} sees a {size}x{size} window{clipped}. Neighbouring units' windows are "
        f"{jump} pixel{'s' if jump != 1 else ''} apart (the jump); unit 0's window starts at pixel {start}"
        + (" (in the padding)." if start < 0 else ".")
    )
    legend(display.heat_colorbar(), caption="blue: changing this pixel hardly moves the unit · red: the most")
    state.publish(SETTINGS)  # the chosen unit goes into the link


# Computed once per model, picture, layer (and unit): a rerun for another setting, or the same unit
# chosen again, does not run the network again.
@st.cache_data(max_entries=64, show_spinner=False)
def _channel_mean(model_key: str, _model, image: np.ndarray, layer: str) -> np.ndarray:
    """The mean of `layer`'s channels on the picture, (H, W)."""
    return features.feature_maps(_model, image)[layer].mean(axis=2)


@st.cache_data(max_entries=256, show_spinner=False)
def _effective_field(model_key: str, _model, image, layer: str, row: int, col: int) -> np.ndarray:
    """|d unit / d pixel| of unit (row, col) of `layer` (summed over its channels), scaled to 0..1:
    the effective receptive field of one unit on this picture (Luo et al., 2016)."""
    from cnnviz import receptive

    gradient = receptive.effective_receptive_field(_model, image, layer, row, col)
    peak = float(gradient.max())
    return gradient / peak if peak > 0 else gradient
