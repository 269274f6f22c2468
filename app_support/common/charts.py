"""Plotly figures for the Trainer: live curves, run comparison, confusion matrix, per-class bars."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from cnnviz.runs import Run

_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 36, "b": 10}, "height": 300, "legend": {"orientation": "h", "y": -0.25}}


def curves(run: Run, metric: str) -> go.Figure:
    """Batch points (thin) and epoch points (markers) of `metric` ('loss' or 'accuracy'), train and
    validation, against epochs."""
    figure = go.Figure()
    if run.batches:
        figure.add_scatter(
            x=[b["progress"] for b in run.batches],
            y=[b[metric] for b in run.batches],
            mode="lines",
            name=f"{metric}, batches",
            line={"width": 1, "color": "#9ca3af"},
        )
    epochs = [e["epoch"] for e in run.epochs]
    if epochs:
        figure.add_scatter(
            x=epochs, y=[e.get(metric) for e in run.epochs], mode="lines+markers", name=f"train {metric}"
        )
        if any(f"val_{metric}" in e for e in run.epochs):
            figure.add_scatter(
                x=epochs, y=[e.get(f"val_{metric}") for e in run.epochs], mode="lines+markers", name=f"val {metric}"
            )
    figure.update_layout(title=metric.capitalize(), xaxis_title="epoch", **_LAYOUT)
    if metric == "accuracy":
        figure.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return figure


def compare(runs: list[Run], metric: str) -> go.Figure:
    """One line per run: the per-epoch validation metric (train if no validation), overlaid."""
    figure = go.Figure()
    for run in runs:
        key = f"val_{metric}" if any(f"val_{metric}" in e for e in run.epochs) else metric
        figure.add_scatter(
            x=[e["epoch"] for e in run.epochs],
            y=[e.get(key) for e in run.epochs],
            mode="lines+markers",
            name=f"{run.label} ({key.replace('_', ' ')})",
        )
    figure.update_layout(title=f"Compare runs: {metric}", xaxis_title="epoch", **_LAYOUT)
    if metric == "accuracy":
        figure.update_yaxes(tickformat=".0%")
    return figure


def confusion(matrix: np.ndarray, class_names: tuple[str, ...], *, chosen: tuple[int, int] | None = None) -> go.Figure:
    """The confusion matrix (rows: true class, columns: predicted) with every class named on both axes,
    the cell `chosen` = (true, predicted) outlined, and one clickable point per cell.

    Plotly heatmaps send no selection events (streamlit/streamlit#8760), so an invisible marker sits
    on each cell centre: a click on a cell selects its marker, and the point's x and y name the cell.
    """
    names = list(class_names)
    k = len(names)
    rows, columns = np.indices((k, k))
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=names,
            y=names,
            colorscale="Blues",
            text=matrix,
            texttemplate="%{text}",
            hoverinfo="skip",
            showscale=False,  # every cell has its count written in it: the room goes to the cells
        )
    )
    figure.add_scatter(
        x=[names[c] for c in columns.ravel()],
        y=[names[r] for r in rows.ravel()],
        customdata=matrix.ravel(),
        mode="markers",
        marker={"size": max(8, 300 // k), "symbol": "square", "opacity": 0},
        selected={"marker": {"opacity": 0}},  # the outline shows the chosen cell, also when chosen in the lists
        unselected={"marker": {"opacity": 0}},
        hovertemplate="true %{y}, predicted %{x}: %{customdata}<br>click to see these images<extra></extra>",
        showlegend=False,
    )
    # Categories, all of them named: digit names would otherwise become a numeric axis, and Plotly
    # leaves out tick labels that it thinks are crowded.
    axis = {"type": "category", "tickmode": "array", "tickvals": names, "ticktext": names, "automargin": True}
    # Fixed ranges: the clickable markers would otherwise pad the axes away from the cells.
    figure.update_xaxes(title="predicted", range=[-0.5, k - 0.5], **axis)
    figure.update_yaxes(title="true", range=[k - 0.5, -0.5], **axis)  # the first class on top
    if chosen is not None:
        true, predicted = chosen
        figure.add_shape(
            type="rect",
            x0=predicted - 0.5,
            x1=predicted + 0.5,
            y0=true - 0.5,
            y1=true + 0.5,
            line={"color": "#f97316", "width": 3},
        )
    figure.update_layout(
        title="Confusion matrix",  # short: Plotly's buttons cover the right of a narrow chart's title
        hovermode="closest",
        dragmode=False,
        clickmode="event+select",
        **{**_LAYOUT, "height": max(420, 120 + 18 * k)},
    )
    figure.update_xaxes(tickfont={"size": 12 if k <= 20 else 9})
    figure.update_yaxes(tickfont={"size": 12 if k <= 20 else 9})
    figure.update_traces(textfont={"size": 11 if k <= 12 else 8}, selector={"type": "heatmap"})
    return figure


def per_class(accuracy: np.ndarray, class_names: tuple[str, ...]) -> go.Figure:
    figure = go.Figure(go.Bar(x=list(class_names), y=accuracy, text=[f"{a:.1%}" for a in accuracy]))
    figure.update_layout(title="Test accuracy per class", **_LAYOUT)
    names = list(class_names)  # every class named, and digit names kept as names, not numbers
    figure.update_xaxes(type="category", tickmode="array", tickvals=names, ticktext=names)
    figure.update_yaxes(range=[0, 1.05], tickformat=".0%")
    return figure
