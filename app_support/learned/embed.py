"""What did it learn?, the embedding view: every test image's features projected to 2-D (PCA, t-SNE or
UMAP), coloured by class, mistakes marked, and for a session run an epoch scrubber through one frame."""

from __future__ import annotations

import importlib.util

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from app_support.common.render import picture
from app_support.learned.context import (
    EMBED_FEWEST,
    EMBED_POINTS,
    EMBED_VALUES,
    Context,
    SharedStore,
    as_picture,
    control,
    keep_within,
)
from cnnviz import display, features

# Ten classes, ten colours a learner can tell apart (Plotly's D3 palette, as TensorBoard's projector).
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
# What each costs, said in its label: the first time, every saved epoch's network reads the test images.
PROJECTIONS = {
    "pca": "PCA (fast: under a second an epoch)",
    "tsne": "t-SNE (seconds an epoch)",
    "umap": "UMAP (seconds an epoch)",
}
MAX_TSNE_EPOCHS = 10  # t-SNE and UMAP run once per epoch: about 3 s each for 600 digits on 2 cores
SKIPPED_LAYERS = ("InputLayer", "Rescaling", "Dropout", "SpatialDropout2D")


# --- embedding ------------------------------------------------------------------------------------


@st.cache_resource(max_entries=1)
def _embedding_store() -> SharedStore:
    """Projections shared by every session: (model keys, layer, method, count) -> [(epoch, points (N, 2),
    predicted (N,))]; the last 16."""
    return SharedStore(16)


def _feature_layers(model) -> list[str]:
    """Layers whose output can be embedded: all but the input, input preparation and the last."""
    return [
        layer.name
        for layer in model.layers[:-1]
        if type(layer).__name__ not in SKIPPED_LAYERS and ".preprocessing." not in type(layer).__module__
    ]


def epochs_within_limit(checkpoints: list, method: str) -> list:
    """The saved epochs a projection moves through: every one for PCA; for t-SNE and UMAP (one run each)
    at most `MAX_TSNE_EPOCHS`, evenly spaced, the first (the untrained network) and the last among them."""
    if method == "pca" or len(checkpoints) <= MAX_TSNE_EPOCHS:
        return list(checkpoints)
    picked = np.unique(np.round(np.linspace(0, len(checkpoints) - 1, MAX_TSNE_EPOCHS)).astype(int))
    return [checkpoints[i] for i in picked]


def _projections(context: Context, layer: str | None, method: str, images: np.ndarray) -> list[tuple]:
    """[(epoch or None, points (N, 2), predicted (N,))] for the model (one) or the saved epochs of a run
    (`epochs_within_limit`), all in one frame (`embedding.embed_features`), computed with a progress bar
    that says what is being done the first time, then shared by every session."""
    from cnnviz import embedding

    saved = context.choice.checkpoints if len(context.choice.checkpoints) >= 2 else []
    checkpoints = epochs_within_limit(saved, method)
    keys = tuple(path for _, path in checkpoints) or (context.model_key,)
    key = (keys, layer, method, len(images))
    store = _embedding_store()
    if (kept := store.get(key)) is not None:
        return kept
    what = PROJECTIONS[method].split(" (")[0]
    steps = len(checkpoints) or 1
    total = steps * (2 if method == "tsne" else 1)
    bar = st.progress(0.0, text=f"Reading the features of {len(images):,} test images...")

    def progress(done: int, text: str) -> None:
        bar.progress(min(done / total, 1.0), text=text)

    feats, predicted = [], []
    if checkpoints:
        import keras

        # One copy of the network, its weights loaded epoch by epoch, and one pass over the pictures for
        # both the features and the answers: the passes are the cost (2,000 digits through the default
        # network, about a second of CPU each), which asking for the two apart paid twice.
        network = keras.models.load_model(checkpoints[-1][1], compile=False)
        for done, (epoch, path) in enumerate(checkpoints, start=1):
            network.load_weights(path)
            taken, outputs = embedding.features_and_outputs(network, images, layer=layer)
            feats.append(taken)
            predicted.append(outputs.argmax(axis=1))
            after = f"after epoch {epoch}" if epoch else "before training"
            progress(done, f"The network {after}: features of {len(images):,} test images ({done} of {steps})")
    else:
        taken, outputs = embedding.features_and_outputs(context.model, images, layer=layer)
        feats.append(taken)
        predicted.append(outputs.argmax(axis=1))

    def tsne_progress(done: int, _total: int) -> None:
        progress(done, f"{what}: {done - steps} of {steps} epochs placed")

    points = embedding.embed_features(feats, method=method, seed=0, on_progress=tsne_progress)
    epochs = [epoch for epoch, _ in checkpoints] or [None]
    found = [(epoch, points[n], predicted[n]) for n, epoch in enumerate(epochs)]
    bar.empty()
    return store.put(key, found)


@st.cache_data(max_entries=64, show_spinner=False)
def knn_score(points: np.ndarray, labels: np.ndarray) -> float:
    from cnnviz import embedding

    return embedding.knn_accuracy(points, labels, k=5)


def _pick_point(chart_key: str) -> None:
    """On a click on a point (before the rerun): that test image becomes the page's picture."""
    event = st.session_state.get(chart_key) or {}
    selection = event.get("selection") if isinstance(event, dict) else getattr(event, "selection", None)
    points = (selection or {}).get("points") or []
    if points:
        data = points[0].get("customdata")
        if data:
            st.session_state["learned_image"] = int(data[0])


def embedding_figure(points, labels, predicted, class_names, *, chosen: int | None, ranges) -> go.Figure:
    """A scatter of (N, 2) `points`, one colour per class, misclassified points as crosses, the chosen
    point ringed; the hover label names the image, its label and the prediction.

    SVG, not WebGL: without a GPU (a classroom PC, headless Chromium) WebGL is drawn in software; a new
    chosen point took 0.80 s to show as WebGL (20 traces) and 0.55 s as SVG (12 traces), medians of 10
    on the loaded 2-core machine."""
    figure = go.Figure()
    index = np.arange(len(points))
    names = np.asarray([str(name) for name in class_names])
    wrong = predicted != labels
    for c, name in enumerate(class_names):
        where = (labels == c) & ~wrong
        figure.add_scatter(
            x=points[where, 0],
            y=points[where, 1],
            mode="markers",
            name=str(name),
            marker={"color": COLOURS[c % len(COLOURS)], "size": 6, "opacity": 0.7},
            # [test image, label, predicted] per point, as plain lists: a click's selection hands them back.
            customdata=np.stack([index[where], labels[where], predicted[where]], axis=1).tolist(),
            hovertemplate=f"test #%{{customdata[0]}}: labelled {name}<extra></extra>",
        )
    # The mistakes in one trace, drawn last (on top), each in its true class's colour.
    mistakes = zip(labels[wrong], predicted[wrong], strict=True)
    figure.add_scatter(
        x=points[wrong, 0],
        y=points[wrong, 1],
        mode="markers",
        name="misclassified",
        marker={
            "color": [COLOURS[int(c) % len(COLOURS)] for c in labels[wrong]],
            "size": 11,
            "symbol": "x",
            "line": {"width": 1, "color": "black"},
        },
        customdata=np.stack([index[wrong], labels[wrong], predicted[wrong]], axis=1).tolist(),
        text=[f"labelled {names[t]}, predicted {names[p]}" for t, p in mistakes],
        hovertemplate="test #%{customdata[0]}: %{text}<extra></extra>",
    )
    if chosen is not None and chosen < len(points):
        figure.add_scatter(
            x=[points[chosen, 0]],
            y=[points[chosen, 1]],
            mode="markers",
            name="chosen",
            showlegend=False,
            hoverinfo="skip",
            marker={"size": 18, "symbol": "circle-open", "color": "black", "line": {"width": 3}},
        )
    figure.update_layout(
        height=460,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"title": "class (x: misclassified)", "itemsizing": "constant"},
        xaxis={"range": ranges[0], "showticklabels": False, "zeroline": False, "title": None},
        yaxis={"range": ranges[1], "showticklabels": False, "zeroline": False, "title": None},
        dragmode="pan",
    )
    return figure


def embedding_view(context: Context) -> None:
    model, choice = context.model, context.choice
    data = choice.dataset
    st.markdown(
        "Every test image becomes one point: the model's features for it (by default the layer before the "
        "output) squeezed from many numbers to two. Images the network finds alike land close together. "
        "A trained network puts each class in its own cluster; crosses are images it gets wrong, often "
        "sitting in another class's cluster. PCA keeps the two directions along which the features vary "
        "most; t-SNE keeps neighbours together and ignores distances between clusters."
    )
    if data is None:
        st.info(
            "The embedding shows a labelled test set: open the shipped MNIST model or one of your runs "
            "(ImageNet networks and uploaded models come without one)."
        )
        return
    layers = _feature_layers(model)
    options = ["", *layers]
    default_name = layers[-1] if layers else "?"
    keep_within("learned_emb_layer", options, "")
    cells = st.columns([2, 2])
    with cells[0]:
        layer = control(
            st.selectbox,
            "Features of",
            "learned_emb_layer",
            options,
            format_func=lambda name: f"the layer before the output ({default_name})" if name == "" else name,
        )
    with cells[1]:
        # UMAP only where its optional package is installed; a link asking for it elsewhere gets PCA.
        offered = [m for m in PROJECTIONS if m != "umap" or importlib.util.find_spec("umap") is not None]
        keep_within("learned_projection", offered, "pca")
        method = control(st.radio, "Projection", "learned_projection", offered, format_func=PROJECTIONS.get)
    # A wide layer (conv1's 26x26x32 = 21,632 values a picture) gets fewer pictures: 2,000 of them took
    # 27 s and 350 MB of PCA on this server; EMBED_VALUES keeps a projection to seconds.
    name = layer or default_name
    width = int(np.prod(features.layer_output_shape(model, model.get_layer(name)))) if name in layers else 1
    count = min(EMBED_POINTS[method], len(data.x_test), max(EMBED_FEWEST, EMBED_VALUES // width))
    if count < min(EMBED_POINTS[method], len(data.x_test)):
        st.caption(f"{name} gives {width:,} numbers a picture: the first {count} test images, to keep this quick.")
    images = data.x_test[:count]
    labels = np.asarray(data.y_test[:count])
    found = _projections(context, layer or None, method, images)
    epochs = [epoch for epoch, _, _ in found]
    if epochs[0] is not None:
        saved = len(choice.checkpoints)
        if len(epochs) < saved:
            st.caption(
                f"{PROJECTIONS[method].split(' (')[0]} runs once per epoch: {len(epochs)} of the run's {saved} saved "
                f"epochs, evenly spaced from the untrained network to the last ({', '.join(map(str, epochs))}). "
                "PCA moves through all of them."
            )
        chosen_epoch = st.select_slider(
            "Epoch (the same test images, as the network saw them after each epoch; 0: before training)",
            epochs,
            value=epochs[-1],
            key="learned_emb_epoch",
        )
        epoch, points, predicted = found[epochs.index(chosen_epoch)]
    else:
        epoch, points, predicted = found[0]
    every = np.concatenate([p for _, p, _ in found])
    low, high = every.min(axis=0), every.max(axis=0)
    pad = (high - low) * 0.05
    ranges = [[float(low[0] - pad[0]), float(high[0] + pad[0])], [float(low[1] - pad[1]), float(high[1] + pad[1])]]

    chart, side = st.columns([3, 1])
    picked = min(int(st.session_state.get("learned_image", 0)), len(data.x_test) - 1)
    chart_key = "learned_emb_chart"
    chart.plotly_chart(
        embedding_figure(points, labels, predicted, choice.class_names, chosen=picked, ranges=ranges),
        key=chart_key,
        on_select=lambda: _pick_point(chart_key),
        selection_mode="points",
        config={"displayModeBar": False, "scrollZoom": False},
    )
    wrong = int((predicted != labels).sum())
    after = "" if epoch is None else f" after epoch {epoch}" if epoch else " before training (epoch 0)"
    separated = knn_score(points, labels)
    chart.caption(
        f"{count:,} test images{after}, {wrong} misclassified (crosses). In this picture {separated:.0%} of the "
        "points have mostly their own class among their 5 nearest neighbours. Hover over a point for its "
        "label; click it to see the image."
    )
    with side:
        index = control(
            st.number_input,
            "Test image",
            "learned_image",
            0,
            1_000_000,
            help="Click a point, or type its number. The other views explain this image too.",
        )
        index = min(int(index), len(data.x_test) - 1)
        label = choice.class_names[int(data.y_test[index])]
        shown = f", predicted {choice.class_names[int(predicted[index])]}" if index < count else ""
        picture(
            display.enlarge(as_picture(data.x_test[index]), min_side=140),
            caption=f"test #{index}: labelled {label}{shown}",
        )
