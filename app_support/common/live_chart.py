"""Charts that change while a page watches them (a run's curves while it trains): a Components v2
component (component/livechart.js, no iframe) that hands each new figure to `Plotly.react` on the same
chart, so it is updated in place.

`st.plotly_chart` names its element after the figure, so a figure with one more point is a new element:
the browser throws the old chart away and builds a new one, every second while a run trains. A learner's
zoom was undone within 2.5 s, and the page took about half a core of the learner's computer. Here the
element keeps its key, and `uirevision` tells Plotly to keep what the learner did to the chart (zoom,
pan, legend entries switched off) while new points arrive.

plotly.js is the copy the `plotly` package ships (no CDN: classrooms may be offline), served by
Streamlit's component file route from the package's own folder and cached by the browser.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import plotly
import plotly.graph_objects as go
import streamlit as st
import streamlit.components.v1 as components_v1

from app_support.common import charts

NAME = "cnnviz_live_chart"
PLOTLY_JS = "plotly.min.js"
# The look of Streamlit's own charts (its theme for st.plotly_chart), so that these sit beside them;
# no template (a template travels with every figure: 8 KB a chart a second).
LOOK = {
    "template": "none",
    "hovermode": "closest",
    "modebar": {"bgcolor": "rgba(0,0,0,0)", "color": "#9ca3af", "activecolor": "#4b5563"},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {"family": '"Source Sans", "Source Sans Pro", sans-serif', "color": "#1f2937"},
    "hoverlabel": {"font": {"family": '"Source Sans", "Source Sans Pro", sans-serif'}},
}
AXES = {
    "showgrid": True,
    "gridcolor": "#e5e7eb",
    "showline": True,
    "linecolor": "#d1d5db",
    "automargin": True,
    "zeroline": False,
    "tickfont": {"color": "#4b5563"},  # numbers in grey, as Streamlit's charts have them
}
# No "share" button (it sends the chart to Plotly's cloud: not from a classroom), no box or lasso select
# (nothing here uses a selection).
CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "modeBarButtonsToRemove": ["sendDataToCloud", "select2d", "lasso2d"],
}


@cache
def _component():
    """The chart component, registered once per server process."""
    code = (Path(__file__).with_name("component") / "livechart.js").read_text()
    return st.components.v2.component(NAME, js=code, isolate_styles=False)


@cache
def plotly_js_url() -> str:
    """Where the browser fetches plotly.min.js: the folder of the `plotly` package that holds it, made
    a component folder (Streamlit serves a declared component's files at /component/<name>/<file>).
    Declared once per server process, in a script run (Streamlit registers it there)."""
    folder = Path(plotly.__file__).parent / "package_data"
    served = components_v1.declare_component("plotly_js", path=str(folder))
    return f"./component/{served.name}/{PLOTLY_JS}"


def figure_data(figure: go.Figure, revision: str) -> dict:
    """`figure` as JSON for the browser, in the app's look, keeping the learner's zoom while the key
    `revision` stays the same."""
    shown = go.Figure(figure)
    shown.update_layout(**LOOK, uirevision=revision)
    shown.update_xaxes(**AXES)
    shown.update_yaxes(**AXES)
    return json.loads(shown.to_json())


def live_chart(figure: go.Figure, *, key: str, container=None) -> None:
    """Show `figure` as wide as its column; drawn again with the same `key`, the chart on screen is
    updated in place (the learner's zoom stays).

    A custom component: AppTest does not render it (its tests read the figure from the element's data)."""
    target = container if container is not None else st
    with target.container():
        _component()(
            key=key,
            data={
                "figure": figure_data(figure, key),
                "config": CONFIG,
                "src": plotly_js_url(),
                "tick_steps": charts.EPOCH_STEPS,  # the steps a zoomed epoch axis is ticked in
            },
            height="content",
        )
