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


def confusion(matrix: np.ndarray, class_names: tuple[str, ...]) -> go.Figure:
    names = list(class_names)
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=names,
            y=names,
            colorscale="Blues",
            text=matrix,
            texttemplate="%{text}",
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
        )
    )
    figure.update_layout(
        title="Confusion matrix (rows: true class)",
        xaxis_title="predicted",
        yaxis_title="true",
        yaxis_autorange="reversed",
        **{**_LAYOUT, "height": 420},
    )
    return figure


def per_class(accuracy: np.ndarray, class_names: tuple[str, ...]) -> go.Figure:
    figure = go.Figure(go.Bar(x=list(class_names), y=accuracy, text=[f"{a:.1%}" for a in accuracy]))
    figure.update_layout(title="Test accuracy per class", **_LAYOUT)
    figure.update_yaxes(range=[0, 1.05], tickformat=".0%")
    return figure
