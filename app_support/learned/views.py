"""What did it learn? The table of views (one entry each in `views()`), the picker over them, and
drawing the chosen one. Adding a view is one module beside this one and one entry here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from app_support.common import state
from app_support.learned.context import SETTINGS, VIEW_NAMES, Context, control, keep_within
from cnnviz.errors import InvalidInput


@dataclass(frozen=True)
class View:
    """One view of the page: its picker label, what its picture means, and what draws it."""

    title: str
    draw: Callable[[Context], None]
    needs_picture: bool = True  # feature visualisation and the embedding explain no one picture
    own_epochs: bool = False  # the embedding moves through a run's epochs itself (one shared frame)


def views() -> dict[str, View]:
    # One module per view, imported when the page first draws one (they import TensorFlow-backed cnnviz).
    from app_support.learned import adversarial, embed, features, occlusion, receptive

    return {
        "receptive": View("Receptive field", receptive.receptive_view),
        "featurevis": View("Feature visualisation", features.featurevis_view, needs_picture=False),
        "occlusion": View("Occlusion", occlusion.occlusion_view),
        "embedding": View("Embedding", embed.embedding_view, needs_picture=False, own_epochs=True),
        "adversarial": View("Adversarial", adversarial.adversarial_view),
    }


def choose_view() -> str:
    """The view picker; always a view (a picker emptied some other way, e.g. by a script, gives the first)."""
    table = views()
    keep_within("learned_view", list(VIEW_NAMES), VIEW_NAMES[0])
    shown = control(
        st.segmented_control,
        "View",
        "learned_view",
        list(VIEW_NAMES),
        format_func=lambda name: table[name].title,
        required=True,
    )
    return shown if shown in VIEW_NAMES else VIEW_NAMES[0]


def draw(name: str, context: Context) -> None:
    """The chosen view, as a fragment: its settings rerun it alone."""
    st.fragment(_draw_view)(name, context)


def _draw_view(name: str, context: Context) -> None:
    # A fragment rerun alone does not pass the page's restore: widgets it did not draw last time
    # (another view's) would otherwise be forgotten.
    state.restore(SETTINGS)
    try:
        views()[name].draw(context)
    except InvalidInput as error:  # a setting the library refused: say why, keep everything else
        st.error(str(error))
    except ImportError as error:  # a library module this installation lacks: say which
        st.warning(f"This view needs {error.name or 'a part of cnnviz'}, which this installation lacks.")
    state.publish(SETTINGS)


def needs_picture(name: str) -> bool:
    return views()[name].needs_picture


def own_epochs(name: str) -> bool:
    return views()[name].own_epochs
