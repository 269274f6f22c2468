"""Page settings that live in the URL (`st.query_params`) so a shared link opens the same view, and
are saved in `st.session_state` so a trip to another page loses nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st


@dataclass(frozen=True)
class Setting:
    """One URL-backed widget value: its session-state key, query-parameter name and default."""

    key: str  # session-state key of the widget
    param: str  # short name in the URL
    default: Any
    choices: tuple | None = None  # allowed values, when the widget offers a fixed list
    bounds: tuple[float, float] | None = None  # inclusive range, for numbers

    def parse(self, text: str) -> Any:
        """The URL's text as this setting's type, or the default if it is not an allowed value."""
        kind: Callable[[str], Any] = type(self.default)
        try:
            is_bool = isinstance(self.default, bool)
            value = text.lower() in ("1", "true", "yes", "on") if is_bool else kind(text)
        except (TypeError, ValueError):
            return self.default
        if self.choices is not None and value not in self.choices:
            return self.default
        if self.bounds is not None and not (self.bounds[0] <= value <= self.bounds[1]):
            return self.default
        return value

    def encode(self, value: Any) -> str:
        if isinstance(value, bool):
            return "1" if value else "0"
        return f"{value:g}" if isinstance(value, float) else str(value)


_SAVED = "_cnnviz_saved_settings"


def restore(settings: list[Setting]) -> None:
    """Before the widgets are drawn: give every setting its value for this run.

    In order: the widget's live value; else the URL's (a shared link); else the value saved when
    this session last showed the page (Streamlit forgets the state of widgets on pages not shown,
    so coming back from another page would otherwise reset everything); else the default.
    """
    params = st.query_params
    saved = st.session_state.get(_SAVED, {})
    for setting in settings:
        if setting.key in st.session_state:
            continue
        if setting.param in params:
            st.session_state[setting.key] = setting.parse(params[setting.param])
        elif setting.key in saved:
            st.session_state[setting.key] = saved[setting.key]
        else:
            st.session_state[setting.key] = setting.default


def publish(settings: list[Setting]) -> None:
    """After the widgets: write every non-default value into the URL, and remove the others."""
    saved = dict(st.session_state.get(_SAVED, {}))
    saved.update(
        {setting.key: st.session_state[setting.key] for setting in settings if setting.key in st.session_state}
    )
    st.session_state[_SAVED] = saved
    wanted = {}
    for setting in settings:
        value = st.session_state.get(setting.key, setting.default)
        if value != setting.default:
            wanted[setting.param] = setting.encode(value)
    current = {name: st.query_params[name] for name in st.query_params}
    managed = {setting.param for setting in settings}
    unchanged = {name: value for name, value in current.items() if name not in managed}
    if {**unchanged, **wanted} != current:
        st.query_params.from_dict({**unchanged, **wanted})


# A teacher's link can lock settings so the class explores only today's point, as TensorFlow
# Playground lets teachers hide controls: `?fix=stride,pad` shows those widgets read-only at the
# link's values, `?hide=pool` does not draw them at all (their values still come from the link).
FIXED_PARAM = "fix"
HIDDEN_PARAM = "hide"


def _listed(name: str) -> set[str]:
    text = st.query_params.get(name, "")
    return {part.strip() for part in text.split(",") if part.strip()}


def is_fixed(setting: Setting | str) -> bool:
    """True when a teacher's link shows this setting read-only (`?fix=` lists its URL name)."""
    param = setting if isinstance(setting, str) else setting.param
    return param in _listed(FIXED_PARAM)


def is_hidden(setting: Setting | str) -> bool:
    """True when a teacher's link hides this setting's widget (`?hide=` lists its URL name)."""
    param = setting if isinstance(setting, str) else setting.param
    return param in _listed(HIDDEN_PARAM)


def locked_note() -> str | None:
    """One line for the page when a link locks settings, naming them, or None."""
    fixed, hidden = sorted(_listed(FIXED_PARAM)), sorted(_listed(HIDDEN_PARAM))
    if not fixed and not hidden:
        return None
    parts = []
    if fixed:
        parts.append("fixed: " + ", ".join(fixed))
    if hidden:
        parts.append("hidden: " + ", ".join(hidden))
    return "Your teacher's link sets some controls for this lesson (" + "; ".join(parts) + ")."


def apply(settings: list[Setting], values: dict[str, str]) -> None:
    """Set these settings from URL-style text values now, over whatever the session had (a lesson
    step opening its instrument). Names not among `settings` are ignored; bad values give defaults."""
    by_param = {setting.param: setting for setting in settings}
    for param, text in values.items():
        if param in by_param:
            setting = by_param[param]
            st.session_state[setting.key] = setting.parse(str(text))


def locked_widget(widget: Callable[..., Any], param: str, *args: Any, key: str, **kwargs: Any) -> Any:
    """Draw `widget(*args, key=key, **kwargs)` as a teacher's link asks: disabled when `param` is fixed,
    not at all when it is hidden (then its value is the one the session holds). Returns the value."""
    if is_hidden(param):
        return st.session_state.get(key)
    kwargs["disabled"] = kwargs.get("disabled", False) or is_fixed(param)
    return widget(*args, key=key, **kwargs)
