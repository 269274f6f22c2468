"""Sections of Inside the Network: the input, feature maps, learned filters and heatmaps."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import streamlit as st

from app_support.common.clickable import clickable_picture, last_click
from app_support.common.inputs import image_input
from app_support.common.model_source import ModelChoice
from app_support.common.model_views import as_picture, heatmap, model_token, prediction_line, show_steps
from app_support.common.render import legend, picture, small_picture
from app_support.common.state import locked_widget
from app_support.inside import settings as inside_settings
from cnnviz import cam, display, features
from cnnviz.errors import InvalidInput
from cnnviz.predict import prepare_input

# The choices of a view outlive it: a learner who looks at the heatmaps and comes back to the maps (or
# leaves the page and returns) finds the layer, channel and settings as they were.
KEEP = "session"
MAX_TILES = 64  # channels in a grid: past 64, tiles get too small to read
BIG_MODEL = 2_000_000  # parameters: above this, Score-CAM is off by default (one forward pass per channel)
HUGE_MODEL = 10_000_000  # and above this not offered: ResNet-34 at 224x224 took 135 s per picture on 2 cores


def choose_inputs(choice: ModelChoice, shape, prefix: str) -> list[tuple[str, np.ndarray, list]]:
    """Up to three inputs as the model takes them: test images of its dataset, or your own."""
    sources = ["test"] if choice.dataset is not None else []
    sources.append("own")
    labels = {"test": "Test images", "own": "Your image"}
    # Fixed widths in a wrapping row: side by side when they fit, the second under the first when not.
    with st.container(horizontal=True, gap="small"):
        with st.container(width=200):
            source = st.radio(
                "Input", sources, format_func=labels.get, horizontal=True, key=f"{prefix}_input", persist_state=KEEP
            )
        with st.container(width=300):
            return _test_inputs(choice, prefix) if source == "test" else _own_input(choice, shape, prefix)


def _test_inputs(choice: ModelChoice, prefix: str):
    def label(i: int) -> str:
        return choice.dataset.class_names[choice.dataset.y_test[i]]  # its class, whichever head is explained

    linked = inside_settings.linked_images(len(choice.dataset.x_test)) if prefix == "inside" else None
    picked = st.multiselect(
        "Test images (up to 3, side by side)",
        list(range(len(choice.dataset.x_test))),
        default=linked or inside_settings.DEFAULT_IMAGES,
        max_selections=3,
        # One selection per model: the browser sends a selection by its labels ("#0: 7"), which
        # another model's test set does not have, and the page would be left with no input.
        key=f"{prefix}_test_images_{choice.title}",
        persist_state=KEEP,
        format_func=lambda i: f"#{i}: {label(i)}",
    )
    if prefix == "inside":
        inside_settings.publish_images(picked)
    return [(f"test #{i} (labelled {label(i)})", choice.dataset.x_test[i], []) for i in picked]


def _own_input(choice: ModelChoice, shape, prefix: str):
    image, name = image_input(f"{prefix}_own", max_side=512)
    if image is None:
        return []
    try:
        prepared, steps = prepare_input(image, shape, digit_like=choice.digit_like)
    except InvalidInput as error:
        st.error(str(error))
        return []
    return [(name, prepared, steps)]


def show_inputs(model, choice: ModelChoice, inputs) -> list[int]:
    """Each input (or how it was prepared) with its name and what the model predicts for it, side by
    side; returns the predicted class of each."""
    predicted = []
    for column, (name, image, steps) in zip(st.columns(len(inputs)), inputs, strict=True):
        with column, st.container(horizontal=True, gap="small"):
            if len(steps) > 1:
                with st.container(width=110 * len(steps)):
                    show_steps(steps)
            else:
                small_picture(display.enlarge(as_picture(image), min_side=84), width=84)
            with st.container(width="stretch"):
                st.caption(f"Input: {name}")
                predicted.append(prediction_line(model, choice, image))
    return predicted


def _pick_channel(grid_key: str, channel_key: str, layout: dict) -> None:
    """On a click on a channel grid (before the rerun): the channel under it becomes the one enlarged,
    through the same number input a keyboard uses, so the two never disagree."""
    click = last_click(grid_key)
    if click is None:
        return
    channel = display.tile_at(click["x"], click["y"], shown=(click["width"], click["height"]), **layout)
    if channel is not None:
        st.session_state[channel_key] = channel


def feature_map_view(model, inputs, prefix: str) -> None:
    spatial = features.map_layers(model)
    if not spatial:
        st.info("This model has no layers with feature maps.")
        return
    columns = st.columns([2, 3, 1.4])
    inside_settings.keep_valid(f"{prefix}_layer", spatial)
    layer = locked_widget(columns[0].selectbox, "layer", "Layer", spatial, key=f"{prefix}_layer", persist_state=KEEP)
    layer = layer if layer in spatial else spatial[0]
    modes = inside_settings.NORMS
    mode = locked_widget(
        columns[1].selectbox,
        "norm",
        "Brightness",
        list(modes),
        format_func=modes.get,
        key=f"{prefix}_norm",
        persist_state=KEEP,
        help="Contrast per channel: (x - mean) / std * 64 + 128, as the Keras tutorials drew channels. "
        "Min..max: each channel's lowest value black, highest white. Both show a channel's pattern, not its "
        "strength. Signed: every channel on one scale, red positive, blue negative, white 0.",
    )
    position = spatial.index(layer)
    activations = [_feature_maps(model, image) for _, image, _ in inputs]
    maps = [every[layer] for every in activations]  # (H, W, C) each
    height, width, channels = maps[0].shape
    shown = min(channels, MAX_TILES)
    # Fixed bounds, clamped below: bounds that change with the layer would make a new widget each time.
    channel_key = f"{prefix}_channel"
    wanted = columns[2].number_input(
        "Channel",
        0,
        1023,
        key=channel_key,
        persist_state=KEEP,
        help="The channel shown enlarged; or click its tile.",
    )
    channel = min(int(wanted), channels - 1)
    st.caption(
        f"{layer}: {height}x{width} map, {channels} channels; layer {position + 1} of {len(spatial)} with maps. "
        + (
            "Click a channel to enlarge it."
            if shown == channels
            else f"The first {shown} shown; click one to enlarge it."
        )
    )
    # Signed: one scale for every channel of every image, so the colour bar reads the same everywhere.
    limit = display.signed_limit(np.stack([m[..., :shown] for m in maps])) if mode == "signed" else None
    layout_of_tiles = {"tile_shape": (height, width), "columns": features.GRID_COLUMNS, "gap": features.GRID_GAP}
    layout = {**layout_of_tiles, "count": shown}
    single = len(inputs) == 1
    for n, (column, (name, image, _), values) in enumerate(zip(st.columns(len(inputs)), inputs, maps, strict=True)):
        with column:
            every, side = st.columns([3, 1]) if single else (st.container(), st.columns(2))
            # One grid per layout: a click on a grid laid out for two images never moves the channel
            # of a grid laid out for three.
            grid_key = f"{prefix}_grid_{n}_of_{len(inputs)}"
            grid = features.channel_grid(values, mode=mode, limit=limit, max_channels=MAX_TILES)
            shown_grid = display.enlarge_to(grid, width=800)
            if channel < shown:  # frame the tile that is enlarged, so the grid says which it is
                scale = shown_grid.shape[1] // grid.shape[1]
                shown_grid = display.outline_tile(shown_grid, channel, **layout_of_tiles, scale=scale)
            clickable_picture(
                shown_grid,
                key=grid_key,
                on_click=functools.partial(_pick_channel, grid_key, channel_key, layout),
                cursor="pointer",
                container=every,
            )
            every.caption(f"{name}: every channel of {layer}")
            big = display.enlarge(features.channel_image(values[..., channel], mode, limit=limit), min_side=160)
            source = display.enlarge(as_picture(image), min_side=160)
            if single:
                picture(big, caption=f"{name}: channel {channel} of {layer}, enlarged", container=side)
                picture(source, caption="the input it sees", container=side)
            else:  # narrow columns: short captions, the grid's caption names the image
                picture(big, caption=f"channel {channel}", container=side[0])
                picture(source, caption="input", container=side[1])
    if mode == "signed":
        legend(
            display.colorbar(),
            caption=f"-{limit:.3g} (blue) · 0 (white) · +{limit:.3g} (red); the strongest 0.5% saturate",
        )
    if st.toggle(
        "The whole network at a glance (first 8 channels of every layer, first image)",
        key=f"{prefix}_all",
        persist_state=KEEP,
    ):
        for name in spatial:
            values = activations[0][name]
            tiles = [features.normalize_channel(values[..., c]) for c in range(min(8, values.shape[2]))]
            strip = display.tile([display.enlarge(t, min_side=64) for t in tiles], columns=8, gap=2)
            picture(strip, caption=f"{name}: {'x'.join(map(str, values.shape))}")


def filter_view(model, prefix: str) -> None:
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    if not convs:
        st.info("This model has no Conv2D layers.")
        return
    names = [c.name for c in convs]
    inside_settings.keep_valid(f"{prefix}_filter_layer", names)
    name = locked_widget(st.selectbox, "flayer", "Conv layer", names, key=f"{prefix}_filter_layer", persist_state=KEEP)
    name = name if name in names else names[0]
    weights = np.asarray(model.get_layer(name).get_weights()[0])  # (kh, kw, c_in, n)
    count = min(weights.shape[3], 64)
    picture(
        display.enlarge(features.filter_grid(weights, max_filters=count), min_side=120),
        caption=f"{weights.shape[3]} filters of {name}, "
        f"{weights.shape[0]}x{weights.shape[1]}x{weights.shape[2]} (red positive, blue negative)",
    )
    matches = features.filter_similarity(weights[:, :, :, :count])
    table = pd.DataFrame(
        {"filter": range(count), "most like": [m[0] for m in matches], "similarity": [round(m[1], 2) for m in matches]}
    )
    st.caption(
        "Each filter next to the Convolution Lab kernel it resembles most (cosine similarity; negative: "
        "the same pattern with the signs flipped)."
    )
    st.dataframe(table, hide_index=True, height=min(36 * (count + 1), 360))


# Inputs up to this many values (a 64x64 colour picture) keep their feature maps between reruns;
# an ImageNet network's maps of one photo run to tens of megabytes, and are computed each time.
SMALL_INPUT = 64 * 64 * 3


@st.cache_data(max_entries=16, show_spinner=False)
def _small_feature_maps(key: str, _model, image: np.ndarray) -> dict:
    return features.feature_maps(_model, image)


def _feature_maps(model, image) -> dict:
    """Every layer's maps of one input; a small input's computed once per model and picture."""
    image = np.asarray(image)
    if image.size > SMALL_INPUT:
        return features.feature_maps(model, image)
    return _small_feature_maps(model_token(model), model, image)


def heatmap_view(model, choice: ModelChoice, inputs, predicted: list[int], prefix: str) -> None:
    spatial = cam.conv_layers(model)  # also the layers of a nested base model, as 'base/layer'
    if not spatial:
        st.info("Class-activation maps need a layer with feature maps.")
        return
    columns = st.columns(3)
    own = inside_settings.PREDICTED  # each image explained for the class the model gave it
    names = [own, *range(len(choice.class_names))]
    inside_settings.keep_valid(f"{prefix}_class", names)
    target = locked_widget(
        columns[0].selectbox,
        "class",
        "Class",
        names,
        format_func=lambda c: "predicted class" if c == own else choice.class_names[c],
        key=f"{prefix}_class",
        persist_state=KEEP,
    )
    target = target if target in names else own
    # The last convolution, as the tutorials and keras.io take it: a finer map than the pooling after it.
    default = cam.last_conv_layer(model)
    key = f"{prefix}_cam_layer"
    inside_settings.keep_valid(key, spatial)
    layer = locked_widget(
        columns[1].selectbox,
        "camlayer",
        "Layer",
        spatial,
        # the default only where neither the learner nor a link has chosen (both at once: a warning)
        index=None if key in st.session_state else spatial.index(default),
        key=key,
        persist_state=KEEP,
        help=f"Default: {default}, the last convolution.",
    )
    layer = layer if layer in spatial else default
    opacity = columns[2].slider("Heatmap opacity", 0.0, 1.0, 0.45, 0.05, key=f"{prefix}_opacity", persist_state=KEEP)
    big = model.count_params() > BIG_MODEL
    huge = model.count_params() > HUGE_MODEL
    chosen_key = f"{prefix}_methods{'_big' if big else ''}"
    if huge and "scorecam" in (st.session_state.get(chosen_key) or []):  # chosen on a smaller network
        st.session_state[chosen_key] = [m for m in st.session_state[chosen_key] if m != "scorecam"]
    methods = st.multiselect(
        "Methods",
        [m for m in cam.METHODS if not (huge and m == "scorecam")],
        default=[m for m in cam.METHODS if not (big and m == "scorecam")],
        format_func=lambda m: cam.METHODS[m].name,
        key=chosen_key,
        persist_state=KEEP,
    )
    if huge:
        st.caption(
            f"Score-CAM is not offered for a network of {model.count_params():,} parameters: it runs the network "
            "once for each of up to 256 channels, minutes per picture on this server."
        )
    elif big and "scorecam" not in methods:
        st.caption(
            "Score-CAM runs the network once for each of up to 256 channels: on a network this size "
            "that takes tens of seconds, so it is off until you add it."
        )
    legend(display.heat_colorbar(), caption="blue: no evidence for the class · red: the strongest evidence")
    map_height, map_width, _ = cam.map_shape(model, layer)
    where = f"on {layer} ({map_height}x{map_width})"
    for (name, image, _), guess in zip(inputs, predicted, strict=True):
        index = guess if target == own else target
        cells = st.columns(1 + max(1, len(methods)))
        picture(
            display.enlarge(as_picture(image), min_side=200),
            caption=f"{name}: why {choice.class_names[index]}?",
            container=cells[0],
        )
        for column, method in zip(cells[1:], methods, strict=False):
            try:
                heat = heatmap(model, image, method, class_index=index, layer=layer)
            except InvalidInput as error:
                column.error(str(error))
                continue
            picture(
                display.enlarge(display.overlay(as_picture(image), heat, opacity=opacity), min_side=200),
                caption=f"{cam.METHODS[method].name} "
                + (where if cam.METHODS[method].uses_layer else "(pixel gradients)"),
                container=column,
            )
            if heat.max() == 0:
                column.caption("Flat: nothing in this layer argues for this class (an untrained or dead model).")
