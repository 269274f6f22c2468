"""Sections of Inside the Network: the input, feature maps, learned filters and heatmaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app_support.inputs import image_input
from app_support.model_source import ModelChoice, load_path
from app_support.render import picture
from cnnviz import cam, display, features
from cnnviz.errors import InvalidInput
from cnnviz.predict import class_probabilities, predict, prepare_input

METHOD_LABELS = {"gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "scorecam": "Score-CAM", "saliency": "Saliency"}
BIG_MODEL = 2_000_000  # parameters: above this, Score-CAM is off by default (one forward pass per channel)


def at_epoch(choice: ModelChoice, prefix: str):
    """The epoch scrubber: for a session run, the model as it was after any saved epoch."""
    if len(choice.checkpoints) < 2:
        return choice.model, ""
    epochs = [epoch for epoch, _ in choice.checkpoints]
    epoch = st.select_slider("Epoch (watch the network learn)", epochs, value=epochs[-1], key=f"{prefix}_epoch")
    path = dict(choice.checkpoints)[epoch]
    return load_path(path), f" after epoch {epoch}"


def choose_inputs(choice: ModelChoice, shape, prefix: str) -> list[tuple[str, np.ndarray, list]]:
    """Up to three inputs as the model takes them: test images of its dataset, or your own."""
    sources = ["test"] if choice.dataset is not None else []
    sources.append("own")
    labels = {"test": "Test images", "own": "Your image"}
    source = st.radio("Input", sources, format_func=labels.get, horizontal=True, key=f"{prefix}_input")
    if source == "test":
        count = len(choice.dataset.x_test)
        picked = st.multiselect(
            "Test images (up to 3, side by side)",
            list(range(count)),
            default=[0],
            max_selections=3,
            # One selection per model: the browser sends a selection by its labels ("#0: 7"), which
            # another model's test set does not have, and the page would be left with no input.
            key=f"{prefix}_test_images_{choice.title}",
            format_func=lambda i: f"#{i}: {choice.class_names[choice.dataset.y_test[i]]}",
        )
        return [
            (f"test #{i} ({choice.class_names[choice.dataset.y_test[i]]})", choice.dataset.x_test[i], [])
            for i in picked
        ]
    image, name = image_input(f"{prefix}_own", max_side=512)
    if image is None:
        return []
    try:
        prepared, steps = prepare_input(image, shape, digit_like=choice.digit_like)
    except InvalidInput as error:
        st.error(str(error))
        return []
    return [(name, prepared, steps)]


def show_steps(steps) -> None:
    if len(steps) < 2:
        return
    st.caption("How the picture was prepared for the model:")
    for column, (title, image) in zip(st.columns(len(steps)), steps, strict=True):
        picture(display.enlarge(image, min_side=96), caption=title, container=column)


def prediction_line(model, choice: ModelChoice, image) -> int:
    probabilities = class_probabilities(model, image[None])[0]
    verdict = predict(probabilities, choice.class_names, stats=choice.stats, image=image)
    top = ", ".join(f"{name}: {p:.0%}" for name, p in verdict.top)
    (st.success if verdict.sure else st.warning)(
        f"Prediction: **{verdict.label}** ({top})" + ("" if verdict.sure else f". Not sure: {verdict.reason}")
    )
    return int(np.argmax(probabilities))


def map_layers(model) -> list[str]:
    """Layers with feature maps, leaving out input preparation (augmentation, rescaling)."""
    return [
        layer.name
        for layer in model.layers
        if layer.__class__.__name__ != "InputLayer"
        and ".preprocessing." not in type(layer).__module__
        and len(features.output_shape(model, layer)) == 3
    ]


def feature_map_view(model, inputs, prefix: str) -> None:
    spatial = map_layers(model)
    if not spatial:
        st.info("This model has no layers with feature maps.")
        return
    columns = st.columns([2, 2, 1])
    layer = columns[0].selectbox("Layer", spatial, key=f"{prefix}_layer")
    modes = {"tutorial": "(x - mean) / std * 64 + 128", "minmax": "min..max", "signed": "signed (colour bar)"}
    mode = columns[1].radio("Normalise", list(modes), format_func=modes.get, key=f"{prefix}_norm", horizontal=True)
    position = spatial.index(layer)
    activations = [features.feature_maps(model, image) for _, image, _ in inputs]
    shape = activations[0][layer].shape
    st.caption(
        f"{layer}: {shape[0]}x{shape[1]} map, {shape[2]} channels; layer {position + 1} of {len(spatial)} with maps."
    )
    # Fixed bounds, clamped below: bounds that change with the layer would make a new widget each time.
    wanted = columns[2].number_input("Enlarge channel", 0, 1023, 0, key=f"{prefix}_channel")
    channel = min(int(wanted), shape[2] - 1)
    for column, (name, _, _), maps in zip(st.columns(len(inputs)), inputs, activations, strict=True):
        with column:
            values = maps[layer]
            if mode == "signed":
                tiles = [display.to_signed(values[..., c]) for c in range(min(values.shape[2], 64))]
                grid = display.tile(tiles, columns=8, gap=1)
            else:
                grid = features.channel_grid(values, mode=mode)
            every, one = st.columns([3, 1]) if len(inputs) == 1 else (st.container(), st.container())
            picture(display.enlarge(grid, min_side=300), caption=f"{name}: every channel of {layer}", container=every)
            single = values[..., channel]
            big = display.to_signed(single) if mode == "signed" else features.normalize_channel(single, mode)
            picture(display.enlarge(big, min_side=160), caption=f"channel {channel}, enlarged", container=one)
    if st.toggle("The whole network at a glance (first 8 channels of every layer, first image)", key=f"{prefix}_all"):
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
    name = st.selectbox("Conv layer", [c.name for c in convs], key=f"{prefix}_filter_layer")
    weights = np.asarray(model.get_layer(name).get_weights()[0])  # (kh, kw, c_in, n)
    count = min(weights.shape[3], 64)
    if weights.shape[2] == 3:  # a first layer on colour input: show each filter as a colour patch
        tiles = [display.to_minmax(weights[:, :, :, i]) for i in range(count)]
    else:
        tiles = [display.to_signed(weights[:, :, :, i].mean(axis=2)) for i in range(count)]
    grid = display.tile([display.enlarge(t, min_side=40) for t in tiles], columns=16, gap=2)
    picture(
        display.enlarge(grid, min_side=120),
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


def heatmap_view(model, choice: ModelChoice, inputs, predicted: int, prefix: str) -> None:
    spatial = cam.conv_layers(model)  # also the layers of a nested base model, as 'base/layer'
    if not spatial:
        st.info("Class-activation maps need a layer with feature maps.")
        return
    columns = st.columns(3)
    names = list(range(len(choice.class_names)))
    target = columns[0].selectbox(
        "Class", names, index=predicted, format_func=choice.class_names.__getitem__, key=f"{prefix}_class"
    )
    layer = columns[1].selectbox("Layer", spatial, index=len(spatial) - 1, key=f"{prefix}_cam_layer")
    opacity = columns[2].slider("Heatmap opacity", 0.0, 1.0, 0.45, 0.05, key=f"{prefix}_opacity")
    big = model.count_params() > BIG_MODEL
    methods = st.multiselect(
        "Methods",
        list(METHOD_LABELS),
        default=[m for m in METHOD_LABELS if not (big and m == "scorecam")],
        format_func=METHOD_LABELS.get,
        key=f"{prefix}_methods{'_big' if big else ''}",
    )
    if big and "scorecam" not in methods:
        st.caption(
            "Score-CAM runs the network once for each of up to 256 channels: on a network this size "
            "that takes tens of seconds, so it is off until you add it."
        )
    for name, image, _ in inputs:
        st.markdown(f"**{name}**")
        cells = st.columns(max(1, len(methods)))
        for column, method in zip(cells, methods, strict=False):
            try:
                if method == "saliency":
                    heat = cam.saliency(model, image, class_index=target)
                else:
                    heat = cam.class_activation_map(model, image, method, class_index=target, layer=layer)
            except InvalidInput as error:
                column.error(str(error))
                continue
            shown = image[..., 0] if image.shape[-1] == 1 else image
            picture(
                display.enlarge(cam.overlay(shown, heat, opacity=opacity), min_side=200),
                caption=METHOD_LABELS[method],
                container=column,
            )
            if heat.max() == 0:
                column.caption("Flat: nothing in this layer argues for this class (an untrained or dead model).")
