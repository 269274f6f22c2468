"""Plotly figures for the Trainer: live curves, run comparison, confusion matrix, per-class bars.

Laid out so that nothing overlaps at any width: the title sits below the band where Plotly's buttons
appear (top right, on hover), and the legend has its own rows under the axis title, one entry a row.
On a projector (`?projector=1`) every number is drawn at 18 px or more, for the back of a room.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from app_support.common import lesson_view
from cnnviz.runs import Run

# Runs compared side by side: colours told apart at a glance (Plotly's own sequence under Streamlit's
# theme gave dark blue against faint light blue), and a dash pattern each for those who see few colours.
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
DASHES = ("solid", "dash", "dot", "dashdot")
BATCHES_GREY = "#9ca3af"
MODEBAR_BAND = 40  # px at the top of a figure where Plotly shows its buttons on hover (30 tall, measured)


@dataclass(frozen=True)
class Fonts:
    """Font sizes in px: tick labels, axis and chart titles, legend entries, numbers written in cells."""

    tick: int
    title: int
    legend: int
    cell: int


NORMAL = Fonts(tick=12, title=15, legend=12, cell=11)
PROJECTOR = Fonts(tick=18, title=20, legend=18, cell=18)  # 18 px: what the back row of a classroom reads


def fonts() -> Fonts:
    """The sizes for this page: bigger in the projector view."""
    return PROJECTOR if lesson_view.projector() else NORMAL


EPOCH_STEPS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)


def epoch_step(epochs: int) -> int:
    """Whole epochs between ticks for an axis of `epochs` epochs: at most 8 steps, of a size people count
    in (136 epochs go 0, 20, 40, ..., not 0, 17, 34)."""
    return next((step for step in EPOCH_STEPS if -(-epochs // step) <= 8), EPOCH_STEPS[-1])


def _lay_out(
    figure: go.Figure, title: str, *, legend_rows: int, plot_height: int, x_title: str = "", epochs: int = 0
) -> None:
    """Title, size, margins and legend, reserved row by row so that nothing overlaps. `epochs`: an x axis
    of whole epochs, 1 to `epochs`, ticked at whole numbers (not 1.5)."""
    size = fonts()
    line = round(size.legend * 1.45)  # one legend entry
    axis = round(size.tick * 1.4) + 8 + (round(size.title * 1.4) + 6 if x_title else 0)  # tick labels, axis title
    top = MODEBAR_BAND + round(size.title * 1.4) + 6
    bottom = axis + (legend_rows * line + 8 if legend_rows else 0)
    figure.update_layout(
        title={
            "text": title,
            "x": 0,
            "xanchor": "left",
            "xref": "paper",
            "y": 1,
            "yanchor": "top",
            "yref": "container",
            "pad": {"t": MODEBAR_BAND},
            "font": {"size": size.title},
        },
        height=top + plot_height + bottom,
        margin={"l": 10, "r": 10, "t": top, "b": bottom},
        showlegend=legend_rows > 0,
        # Under the axis title, one entry a row, anchored to the figure's bottom edge.
        legend={
            "orientation": "v",
            "x": 0,
            "xanchor": "left",
            "y": 0,
            "yanchor": "bottom",
            "yref": "container",
            "font": {"size": size.legend},
        },
        font={"size": size.tick},
    )
    figure.update_xaxes(title={"text": x_title, "font": {"size": size.title}}, tickfont={"size": size.tick})
    figure.update_yaxes(tickfont={"size": size.tick}, title={"font": {"size": size.title}})
    if epochs:
        figure.update_xaxes(tick0=0, dtick=epoch_step(epochs))


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
            line={"width": 1, "color": BATCHES_GREY},
        )
    epochs = [e["epoch"] for e in run.epochs]
    if epochs:
        figure.add_scatter(
            x=epochs,
            y=[e.get(metric) for e in run.epochs],
            mode="lines+markers",
            name=f"train {metric}",
            line={"color": PALETTE[0]},
        )
        if any(f"val_{metric}" in e for e in run.epochs):
            figure.add_scatter(
                x=epochs,
                y=[e.get(f"val_{metric}") for e in run.epochs],
                mode="lines+markers",
                name=f"val {metric}",
                line={"color": PALETTE[3], "dash": "dash"},
            )
    last = max(epochs, default=0)
    _lay_out(figure, metric.capitalize(), legend_rows=len(figure.data), plot_height=200, x_title="epoch", epochs=last)
    if metric == "accuracy":
        figure.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return figure


def compare(runs: list[Run], metric: str) -> go.Figure:
    """One line per run: the per-epoch validation metric (train if no validation), overlaid, each run in
    its own colour and dash. With no runs, empty axes that say so (not Plotly's default 0 to 4)."""
    figure = go.Figure()
    for number, run in enumerate(runs):
        key = f"val_{metric}" if any(f"val_{metric}" in e for e in run.epochs) else metric
        figure.add_scatter(
            x=[e["epoch"] for e in run.epochs],
            y=[e.get(key) for e in run.epochs],
            mode="lines+markers",
            # The label alone (the axis says what is drawn): a longer name ran past a projector's chart.
            name=run.label if key.startswith("val_") else f"{run.label} (training)",
            line={"color": PALETTE[number % len(PALETTE)], "dash": DASHES[number % len(DASHES)], "width": 2.5},
            marker={"size": 8},
        )
    last = max((e["epoch"] for run in runs for e in run.epochs), default=0)
    _lay_out(figure, f"Compare runs: {metric}", legend_rows=len(runs), plot_height=200, x_title="epoch", epochs=last)
    if any(any(f"val_{metric}" in e for e in run.epochs) for run in runs):
        figure.update_yaxes(title={"text": f"validation {metric}"})
    if metric == "accuracy":
        figure.update_yaxes(range=[0, 1.02], tickformat=".0%")
    if not runs:
        figure.update_xaxes(visible=False, range=[0, 1])
        figure.update_yaxes(visible=False, range=[0, 1])
        figure.add_annotation(
            text="No runs chosen: pick runs above to compare them",
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
            showarrow=False,
            font={"size": fonts().legend},
        )
    return figure


def confusion(matrix: np.ndarray, class_names: tuple[str, ...], *, chosen: tuple[int, int] | None = None) -> go.Figure:
    """The confusion matrix (rows: true class, columns: predicted) with every class named on both axes,
    the cell `chosen` = (true, predicted) outlined, and one clickable point per cell.

    Plotly heatmaps send no selection events (streamlit/streamlit#8760), so an invisible marker sits
    on each cell centre: a click on a cell selects its marker, and the point's x and y name the cell.
    """
    names = list(class_names)
    k = len(names)
    size = fonts()
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
    # Short title: the band above it is where Plotly's buttons appear.
    _lay_out(figure, "Confusion matrix", legend_rows=0, plot_height=max(330, 40 + 18 * k), x_title="predicted")
    # Categories, all of them named: digit names would otherwise become a numeric axis, and Plotly
    # leaves out tick labels that it thinks are crowded.
    axis = {"type": "category", "tickmode": "array", "tickvals": names, "ticktext": names, "automargin": True}
    # Fixed ranges: the clickable markers would otherwise pad the axes away from the cells.
    figure.update_xaxes(range=[-0.5, k - 0.5], **axis)
    figure.update_yaxes(title={"text": "true"}, range=[k - 0.5, -0.5], **axis)  # the first class on top
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
    figure.update_layout(hovermode="closest", dragmode=False, clickmode="event+select")
    small = k > 20
    figure.update_xaxes(tickfont={"size": 9 if small else size.tick})
    figure.update_yaxes(tickfont={"size": 9 if small else size.tick})
    figure.update_traces(textfont={"size": size.cell if k <= 12 else 8}, selector={"type": "heatmap"})
    return figure


def per_class(accuracy: np.ndarray, class_names: tuple[str, ...]) -> go.Figure:
    figure = go.Figure(
        go.Bar(
            x=list(class_names),
            y=accuracy,
            text=[f"{a:.1%}" for a in accuracy],
            marker={"color": PALETTE[0]},
            textfont={"size": fonts().cell},
        )
    )
    _lay_out(figure, "Test accuracy per class", legend_rows=0, plot_height=230)
    names = list(class_names)  # every class named, and digit names kept as names, not numbers
    figure.update_xaxes(type="category", tickmode="array", tickvals=names, ticktext=names)
    figure.update_yaxes(range=[0, 1.05], tickformat=".0%")
    return figure


def epoch_curves(
    run: Run, metrics: tuple[str, ...], title: str, *, share: bool = False, right: tuple[str, ...] = ()
) -> go.Figure:
    """Per-epoch `metrics` of a run (e.g. a box run's 'class_loss' and 'box_loss'), train solid and
    validation dashed, one colour per metric; `share` for a value from 0 to 1 (a mean IoU). Those in
    `right` get an axis of their own on the right, in their colour: a box loss of 0.02 beside a class
    loss of 2 would be a flat line on the class loss's scale."""
    figure = go.Figure()
    epochs = [e["epoch"] for e in run.epochs]
    for number, metric in enumerate(metrics):
        colour = PALETTE[(2 * number) % len(PALETTE)]
        name = metric.replace("_", " ").replace("iou", "IoU")
        for prefix, dash in (("", "solid"), ("val_", "dash")):
            if any(f"{prefix}{metric}" in e for e in run.epochs):
                figure.add_scatter(
                    x=epochs,
                    y=[e.get(f"{prefix}{metric}") for e in run.epochs],
                    mode="lines+markers",
                    name=f"{'val' if prefix else 'train'} {name}" + (" (right axis)" if metric in right else ""),
                    line={"color": colour, "dash": dash},
                    yaxis="y2" if metric in right else "y",
                )
        axis = {
            "title": {"text": name},
            "title_font": {"color": colour},
            "tickfont": {"color": colour},
            "tickformat": ".3~f",
        }
        if metric in right:
            figure.update_layout(
                yaxis2={**axis, "overlaying": "y", "side": "right", "showgrid": False, "rangemode": "tozero"}
            )
        elif right:
            figure.update_layout(yaxis={**axis, "rangemode": "tozero"})
    _lay_out(
        figure, title, legend_rows=len(figure.data), plot_height=200, x_title="epoch", epochs=max(epochs, default=0)
    )
    if right:  # room for the right axis's numbers and title
        figure.update_layout(margin={"r": 12 + 5 * fonts().tick})
    if share:
        figure.update_yaxes(range=[0, 1.02])
    return figure


def precision_recall(curves: list, names: list[str], *, point=None, eleven: bool = True) -> go.Figure:
    """Precision against recall of `cnnviz.localization.PRCurve`s, one per name. One curve: the
    precision after each prediction (grey), the tutorial's "max precision" envelope (a step line: the
    best precision at this recall or more), its 11 points at recall 0, 0.1, ..., 1 (`eleven`), and
    `point` (an `OperatingPoint`, the score threshold's place). Several: each curve's envelope."""
    from cnnviz.localization import ELEVEN_RECALLS

    figure = go.Figure()
    single = len(curves) == 1
    for number, (curve, name) in enumerate(zip(curves, names, strict=True)):
        recall, envelope = np.asarray(curve.recall), np.asarray(curve.envelope)
        if single:
            figure.add_scatter(
                x=recall,
                y=curve.precision,
                mode="lines+markers",
                name="precision after each prediction",
                line={"color": BATCHES_GREY, "width": 1},
                marker={"size": 4},
            )
        figure.add_scatter(
            x=np.concatenate([[0.0], recall]),
            y=np.concatenate([envelope[:1], envelope]),
            mode="lines",
            line_shape="vh",
            name="max precision at this recall or more" if single else name,
            # Ten classes and eight colours: a dash pattern tells the ninth from the first.
            line={
                "color": PALETTE[0 if single else number % len(PALETTE)],
                "dash": DASHES[0 if single else (number // len(PALETTE)) % len(DASHES)],
                "width": 2.5,
            },
        )
    if single and eleven:
        values = curves[0].precision_at(ELEVEN_RECALLS)
        figure.add_scatter(
            x=ELEVEN_RECALLS,
            y=values,
            mode="markers+text",
            text=[f"{value:.3f}" for value in values],
            textposition="top center",
            name="the 11 points of the tutorial's average",
            marker={"color": PALETTE[3], "size": 9, "symbol": "diamond"},
            cliponaxis=False,
        )
    if point is not None:
        figure.add_scatter(
            x=[point.recall],
            y=[point.precision],
            mode="markers",
            name=f"score ≥ {point.min_score:.2f}: precision {point.precision:.2f}, recall {point.recall:.2f}",
            marker={"color": PALETTE[1], "size": 14, "symbol": "circle-open", "line": {"width": 3}},
        )
    title = f"Precision and recall: {names[0]}" if single else "Max precision of each class"
    _lay_out(figure, title, legend_rows=len(figure.data), plot_height=280, x_title="recall")
    figure.update_xaxes(range=[-0.02, 1.02], dtick=0.1)
    figure.update_yaxes(range=[0, 1.08], title={"text": "precision"})
    return figure
