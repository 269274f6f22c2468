"""What did it learn?, the feature-visualisation view: the picture that excites a channel most
(gradient ascent, Erhan et al., 2009; Olah et al., 2017), a whole layer's grid with progress, kept
for everyone, and the test images that excite the channel most with their patches (Zeiler and
Fergus, 2014)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app_support.common.render import picture
from app_support.learned.context import (
    MAX_VIS_CHANNELS,
    PICTURE_SIDE,
    Context,
    SharedStore,
    as_picture,
    control,
    keep_within,
)
from cnnviz import cam, display, features

TOP = 8  # test images shown for a channel
TOP_POOL = 2000  # test images searched for them


@st.cache_resource(max_entries=1)
def _vis_store() -> SharedStore:
    """Feature-visualisation pictures, shared by every session: (model key, layer, channel or 'grid',
    steps) -> uint8 pictures; the last 256."""
    return SharedStore(256)


def _remembered(key: tuple, compute):
    store = _vis_store()
    if (kept := store.get(key)) is not None:
        return kept
    return store.put(key, np.clip(np.asarray(compute()), 0, 255).astype(np.uint8))


def _is_remembered(key: tuple) -> bool:
    return key in _vis_store()


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


def _padded(image: np.ndarray, side: int) -> np.ndarray:
    """`image` padded with white to side x side (windows clipped at the picture's edge are smaller)."""
    pad = [(0, side - image.shape[0]), (0, side - image.shape[1])] + [(0, 0)] * (image.ndim - 2)
    return np.pad(image, pad, constant_values=255)
