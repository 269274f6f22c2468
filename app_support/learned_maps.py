"""What did it learn?, the views on one picture's maps: the receptive field of a unit (theoretical
and effective), feature visualisation with the test images that excite a channel most, and
occlusion beside Grad-CAM."""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict

import numpy as np
import pandas as pd
import streamlit as st

from app_support.clickable import clickable_picture, position
from app_support.learned_view import (
    MAX_VIS_CHANNELS,
    Context,
    as_picture,
    control,
    keep_within,
)
from app_support.render import legend, picture
from cnnviz import cam, display, features
from cnnviz.predict import class_probabilities

TOP = 8  # test images shown for a channel
TOP_POOL = 2000  # test images searched for them
PICTURE_SIDE = 240  # pixels the small pictures are enlarged to (crisp when the browser shrinks them)


# --- receptive field ------------------------------------------------------------------------------


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
    activations = features.feature_maps(model, context.image)[layer]  # (H, W, C)
    mean = features.normalize_channel(activations.mean(axis=2), "minmax")
    chosen = display.highlight_window(mean, row, col, 1, 1)
    image = as_picture(context.image)
    rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image
    gradient = _effective_field(model, context.image, layer, row, col)
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


def _effective_field(model, image, layer: str, row: int, col: int) -> np.ndarray:
    """|d unit / d pixel| of unit (row, col) of `layer` (summed over its channels), scaled to 0..1:
    the effective receptive field of one unit on this picture (Luo et al., 2016)."""
    from cnnviz import receptive

    gradient = receptive.effective_receptive_field(model, image, layer, row, col)
    peak = float(gradient.max())
    return gradient / peak if peak > 0 else gradient


# --- feature visualisation ------------------------------------------------------------------------


@st.cache_resource(max_entries=1)
def _vis_store() -> tuple[OrderedDict, threading.Lock]:
    """Feature-visualisation pictures, shared by every session: (model key, layer, channel or 'grid',
    steps) -> uint8 pictures; the last 256. A store, not st.cache_data: a grid draws its progress bar
    while it computes."""
    return OrderedDict(), threading.Lock()


def _remembered(key: tuple, compute):
    store, lock = _vis_store()
    with lock:
        if key in store:
            store.move_to_end(key)
            return store[key]
    found = np.clip(np.asarray(compute()), 0, 255).astype(np.uint8)
    with lock:
        store[key] = found
        while len(store) > 256:
            store.popitem(last=False)
    return found


def _is_remembered(key: tuple) -> bool:
    store, lock = _vis_store()
    with lock:
        return key in store


@st.cache_data(max_entries=32, show_spinner=False)
def _top_examples(model_key: str, _model, _images, layer: str, channel: int):
    from cnnviz import featurevis

    return featurevis.top_examples(_model, _images, layer, channel, k=TOP)


def featurevis_view(context: Context) -> None:
    from cnnviz import featurevis

    model = context.model
    layers = features.map_layers(model)
    if not layers:
        st.info("This model has no layers with feature maps to visualise.")
        return
    st.markdown(
        "What makes a channel fire? Start from grey noise and change the pixels, step by step, in the "
        "direction that raises the channel's mean activation (gradient ascent), with a little jitter and blur "
        "so the picture stays readable (Erhan et al., 2009; Olah et al., 2017). Beside it, the test images "
        "that excite the channel most, and the patch its strongest unit sees (Zeiler and Fergus, 2014)."
    )
    default = cam.last_conv_layer(model) if cam.last_conv_layer(model) in layers else layers[-1]
    keep_within("learned_fv_layer", layers, default)
    top_row = st.columns([2, 1])
    with top_row[0]:
        layer = control(st.selectbox, "Layer", "learned_fv_layer", layers)
    channels = features.layer_output_shape(model, model.get_layer(layer))[-1]
    with top_row[1]:
        wanted = control(st.number_input, "Channel", "learned_channel", 0, 4095, help=f"0 to {channels - 1}.")
    channel = min(int(wanted), channels - 1)
    steps = 64 if context.big else 128  # an ImageNet picture's step costs a hundred digits'
    with st.spinner(f"Gradient ascent on channel {channel} of {layer} ({steps} steps)..."):
        found = _remembered(
            (context.model_key, layer, channel, steps),
            lambda: featurevis.maximize_activation(model, layer, channel, steps=steps, seed=0),
        )
    cells = st.columns([1, 2])
    picture(
        display.enlarge(as_picture(found), min_side=PICTURE_SIDE),
        caption=f"what excites channel {channel} of {layer} most",
        container=cells[0],
    )
    with cells[1]:
        _show_top_examples(context, layer, channel)

    height, width, depth = context.input_shape
    shown = min(channels, MAX_VIS_CHANNELS)
    st.markdown(f"**Every channel of {layer}**")
    if shown * height * width * depth > featurevis.GRID_LIMIT:
        st.info(
            f"{shown} channels of {height}x{width} pictures at once are more than this server computes for one "
            f"learner in seconds (at most {max(1, featurevis.GRID_LIMIT // (height * width * depth))} at this "
            "size): look at one channel at a time above."
        )
        return
    key = (context.model_key, layer, "grid", steps)
    asked = f"Compute all {shown} channels (a few seconds, then kept for everyone)"
    if not _is_remembered(key) and not st.toggle(asked, key="learned_fv_grid"):
        return

    def grid():
        bar = st.progress(0.0, text=f"Gradient ascent on {shown} channels of {layer} at once...")

        def progress(done: int, total: int) -> None:
            bar.progress(done / total, text=f"Gradient ascent on {shown} channels of {layer}: step {done} of {total}")

        pictures = featurevis.maximize_layer(
            model, layer, channels=list(range(shown)), steps=steps, seed=0, on_progress=progress
        )
        bar.empty()
        return pictures

    pictures = _remembered(key, grid)
    tiles = [display.enlarge(as_picture(p), min_side=56) for p in pictures]
    picture(
        display.tile(tiles, columns=min(16, shown), gap=2),
        caption=f"{shown} of {channels} channels of {layer}, each the picture that excites it most"
        + ("" if shown == channels else f" (the first {shown})"),
    )


def _show_top_examples(context: Context, layer: str, channel: int) -> None:
    data = context.choice.dataset
    if data is None:
        st.caption("The test images that excite a channel most need the model's test set (the shipped model, a run).")
        return
    images = data.x_test[:TOP_POOL]
    with st.spinner(f"Running {len(images):,} test images through the model..."):
        top = _top_examples(context.model_key, context.model, images, layer, channel)
    whole = [display.enlarge(as_picture(images[i]), min_side=72) for i in top.indices]
    patches = [display.enlarge(as_picture(p), min_side=72) for p in top.patches]
    side = max(p.shape[0] for p in patches)
    names = ", ".join(f"#{i} ({context.choice.class_names[int(data.y_test[i])]})" for i in top.indices)
    picture(display.tile(whole, columns=TOP, gap=3), caption=f"the {TOP} test images it answers most: {names}")
    picture(
        display.tile([_padded(p, side) for p in patches], columns=TOP, gap=3),
        caption="and the patch its strongest unit sees in each",
    )


# --- occlusion ------------------------------------------------------------------------------------


@st.cache_resource(max_entries=1)
def _occlusion_store() -> tuple[OrderedDict, threading.Lock]:
    """Occlusion maps, shared by every session: (model key, picture bytes, class, patch, stride) ->
    (H, W) float32; the last 32. A store, not st.cache_data: the progress bar is drawn while it computes."""
    return OrderedDict(), threading.Lock()


def _occlusion(context: Context, class_index: int, patch: int, stride: int) -> np.ndarray:
    store, lock = _occlusion_store()
    key = (context.model_key, context.image.tobytes(), class_index, patch, stride)
    with lock:
        if key in store:
            store.move_to_end(key)
            return store[key]
    bar = st.progress(0.0, text="Covering the picture, place by place...")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Covered {done} of {total} places (one pass of the network each)")

    drop = cam.occlusion(
        context.model, context.image, class_index=class_index, patch=patch, stride=stride, on_progress=progress
    )
    bar.empty()
    with lock:
        store[key] = drop
        while len(store) > 32:
            store.popitem(last=False)
    return drop


@st.cache_data(max_entries=32, show_spinner=False)
def _grad_cam(model_key: str, _model, image: np.ndarray, class_index: int, layer: str) -> np.ndarray:
    return cam.grad_cam(_model, image, class_index=class_index, layer=layer)


def occlusion_view(context: Context) -> None:
    model, choice = context.model, context.choice
    st.markdown(
        "Cover part of the picture with a grey patch and see how much the class's probability drops; do it "
        "at every place and you get a map of what the model needs (Zeiler and Fergus, 2014). It asks the "
        "model directly, one covered copy at a time, where Grad-CAM (right) reads one layer's gradients in a "
        "single pass. Where the two agree, trust the map more."
    )
    layers = cam.conv_layers(model)
    if not layers:
        st.info("Grad-CAM needs a layer with feature maps; this model has none.")
        return
    height, width, _ = context.input_shape
    probabilities = class_probabilities(model, context.image[None])[0]
    predicted = int(np.argmax(probabilities))
    classes = [-1, *range(len(choice.class_names))]
    keep_within("learned_class", classes, -1)
    keep_within("learned_cam_layer", layers, cam.last_conv_layer(model))
    auto_patch, auto_stride = cam.default_occlusion((height, width))
    cells = st.columns(4)
    with cells[0]:
        target = control(
            st.selectbox,
            "Class",
            "learned_class",
            classes,
            format_func=lambda c: f"predicted ({choice.class_names[predicted]})" if c == -1 else choice.class_names[c],
        )
    with cells[1]:
        patch = control(
            st.number_input,
            "Patch (pixels)",
            "learned_patch",
            0,
            512,
            help=f"The grey square's side. 0: a quarter of the picture ({auto_patch} here).",
        )
    patch = int(patch) or auto_patch
    with cells[2]:
        stride = control(
            st.number_input,
            "Stride (pixels)",
            "learned_stride",
            0,
            512,
            help=f"How far the square moves each time, at most the patch. 0: a third of the patch "
            f"({max(1, patch // 3)} for {patch}). Smaller: a finer map and more passes of the network.",
        )
    stride = int(stride) or (auto_stride if patch == auto_patch else max(1, patch // 3))
    with cells[3]:
        layer = control(st.selectbox, "Grad-CAM layer", "learned_cam_layer", layers)
    index = predicted if target == -1 else int(target)
    drop = _occlusion(context, index, patch, stride)  # the library refuses a bad or too costly setting
    heat = _grad_cam(context.model_key, model, context.image, index, layer)
    image = as_picture(context.image)
    strongest = float(drop.max())
    shown = np.clip(drop, 0, None) / strongest if strongest > 0 else np.zeros_like(drop)
    side = max(1, PICTURE_SIDE // min(height, width)) * min(height, width)
    name = choice.class_names[index]
    left, middle, right = st.columns(3)
    picture(
        display.enlarge(image, min_side=side),
        caption=f"{context.image_name}: P({name}) = {probabilities[index]:.0%}",
        container=left,
    )
    picture(
        display.enlarge(display.overlay(image, shown, opacity=0.5), min_side=side),
        caption=f"occlusion, a {patch}x{patch} patch every {stride} px: covering the red part drops "
        f"P({name}) by up to {strongest:.0%}",
        container=middle,
    )
    picture(
        display.enlarge(display.overlay(image, heat, opacity=0.5), min_side=side),
        caption=f"Grad-CAM on {layer}",
        container=right,
    )
    legend(display.heat_colorbar(), caption="blue: no effect on the class · red: the most (each map to its own peak)")
    if strongest <= 0.005:
        st.caption(f"No patch lowers P({name}) noticeably: the model finds the class without any one part.")
    if float(drop.min()) < -0.01:
        st.caption(
            f"Covering some places raises P({name}), by up to {-float(drop.min()):.0%}: there the picture argued "
            "against it. They are blue here, like places that do not matter."
        )


def _padded(image: np.ndarray, side: int) -> np.ndarray:
    """`image` padded with white to side x side (windows clipped at the picture's edge are smaller)."""
    pad = [(0, side - image.shape[0]), (0, side - image.shape[1])] + [(0, 0)] * (image.ndim - 2)
    return np.pad(image, pad, constant_values=255)
