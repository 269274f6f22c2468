"""The Trainer's charts (app_support.common.charts): what an empty comparison draws, runs told apart,
18 px numbers on a projector, and room kept for the title and the legend (the browser test measures
the drawn boxes: tests/test_browser_lessons.py)."""

from __future__ import annotations

import pytest

from app_support.common import charts, lesson_view
from cnnviz.runs import Run
from cnnviz.training import TrainConfig, TrainJob


def finished_run(number: int, title: str, accuracies: list[float]) -> Run:
    job = TrainJob("mnist-bundled", (), TrainConfig(epochs=len(accuracies)), title=title)
    run = Run(id=f"r{number}", owner="me", job=job, number=number)
    run.epochs = [
        {"epoch": i + 1, "accuracy": a, "loss": 1 - a, "val_accuracy": a - 0.01, "val_loss": 1.05 - a}
        for i, a in enumerate(accuracies)
    ]
    return run


def test_an_empty_comparison_draws_no_made_up_axes():
    for metric in ("accuracy", "loss"):
        figure = charts.compare([], metric)
        assert not figure.data and figure.layout.yaxis.visible is False and figure.layout.xaxis.visible is False
        assert "No runs chosen" in figure.layout.annotations[0].text


def test_compared_runs_get_colours_and_dashes_of_their_own():
    runs = [finished_run(n, f"net {n}", [0.5, 0.7, 0.8]) for n in range(1, 4)]
    figure = charts.compare(runs, "accuracy")
    colours = [trace.line.color for trace in figure.data]
    dashes = [trace.line.dash for trace in figure.data]
    assert len(set(colours)) == 3 and len(set(dashes)) == 3
    assert colours[:2] == ["#1f77b4", "#d62728"]  # blue against red, not two blues
    assert list(figure.layout.yaxis.range) == [0, 1.02]  # accuracy from 0% to 100%, whatever the runs
    assert figure.layout.xaxis.dtick == 1  # whole epochs: no "1.5"
    assert [trace.name for trace in figure.data] == [run.label for run in runs]  # short: the axis says the rest
    assert figure.layout.yaxis.title.text == "validation accuracy"


def test_the_title_and_the_legend_have_rows_of_their_own():
    runs = [finished_run(n, f"net {n}", [0.5, 0.7]) for n in range(1, 3)]
    figure = charts.compare(runs, "loss")
    layout = figure.layout
    # The title below the band of Plotly's buttons; the legend below the axis title, one entry a row.
    assert layout.title.yref == "container" and layout.title.pad.t == charts.MODEBAR_BAND
    assert layout.margin.t >= charts.MODEBAR_BAND + layout.title.font.size
    assert layout.legend.orientation == "v" and layout.legend.yref == "container" and layout.legend.y == 0
    axis_rows = layout.xaxis.tickfont.size + layout.xaxis.title.font.size
    assert layout.margin.b >= axis_rows + len(runs) * layout.legend.font.size


@pytest.mark.parametrize("projector", [False, True])
def test_every_number_is_18_px_on_a_projector(monkeypatch, projector):
    monkeypatch.setattr(lesson_view, "projector", lambda: projector)
    run = finished_run(1, "net", [0.5, 0.7, 0.9])
    import numpy as np

    figures = [
        charts.curves(run, "accuracy"),
        charts.compare([run], "loss"),
        charts.confusion(np.arange(100).reshape(10, 10), tuple("0123456789")),
        charts.per_class(np.linspace(0.5, 1, 10), tuple("0123456789")),
    ]
    for figure in figures:
        sizes = [figure.layout.xaxis.tickfont.size, figure.layout.yaxis.tickfont.size, figure.layout.title.font.size]
        sizes += [figure.layout.legend.font.size] if figure.layout.showlegend else []
        sizes += [
            trace.textfont.size for trace in figure.data if getattr(trace, "textfont", None) and trace.textfont.size
        ]
        assert (min(sizes) >= 18) == projector, sizes


def test_a_live_chart_keeps_the_figure_its_sizes_and_the_learners_zoom():
    """What the in-place chart sends (app_support.common.live_chart): the same traces and font sizes as
    the figure, a `uirevision` that stays with the key (Plotly keeps a zoom while it does), and no
    template riding along with every update."""
    from app_support.common.live_chart import figure_data

    run = finished_run(1, "small", [0.5, 0.7, 0.8])
    figure = charts.curves(run, "accuracy")
    sent = figure_data(figure, "acc_r1")
    assert sent["layout"]["uirevision"] == "acc_r1"
    assert [trace["name"] for trace in sent["data"]] == [trace.name for trace in figure.data]
    assert sent["data"][0]["y"] == [0.5, 0.7, 0.8]
    assert sent["layout"]["font"]["size"] == figure.layout.font.size  # the look adds a family, keeps the size
    assert sent["layout"]["title"]["text"] == "Accuracy" and sent["layout"]["yaxis"]["tickformat"] == ".0%"
    assert len(str(sent["layout"].get("template", ""))) < 100
    assert figure.layout.uirevision is None  # the figure given is left as it was


def test_epoch_ticks_come_in_steps_people_count_in():
    assert [charts.epoch_step(n) for n in (1, 8, 9, 28, 40, 41, 136, 200)] == [1, 1, 2, 5, 5, 10, 20, 25]
    run = finished_run(1, "long", [0.5] * 136)
    assert charts.compare([run], "accuracy").layout.xaxis.dtick == 20  # 0, 20, 40: not 0, 17, 34
