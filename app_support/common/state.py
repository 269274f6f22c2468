"""Page settings that live in the URL (`st.query_params`) so a shared link opens the same view, and
are saved in `st.session_state` so a trip to another page loses nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from cnnviz import lessons


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


def recall(key: str, allowed: Iterable[Any]) -> None:
    """Before a widget whose value is not in the URL: the value `remember` kept for it (this session's,
    or after a reload the learner's kept settings), when it is still one of `allowed`."""
    saved = st.session_state.get(_SAVED, {})
    if key not in st.session_state and key in saved and saved[key] in list(allowed):
        st.session_state[key] = saved[key]


def remember(key: str) -> None:
    """After that widget: keep its value with the page settings (`kept.save` writes them for the learner)."""
    if key in st.session_state:
        st.session_state[_SAVED] = {**st.session_state.get(_SAVED, {}), key: st.session_state[key]}


def _says(setting: Setting, text: str, value: Any) -> bool:
    """Whether the URL's `text` already says `value` (a default spelled out counts, a typo does not)."""
    return setting.parse(text) == value and (value != setting.default or text == setting.encode(value))


def publish(settings: list[Setting]) -> None:
    """After the widgets: write every non-default value into the URL, and remove the others.

    A URL that already says the session's values is left as it is, spelled as it came (a lesson step's
    link names defaults too): every write to the URL is a new entry in the browser's history, and a
    rewrite on arrival made the Back button take two presses to leave a step."""
    saved = dict(st.session_state.get(_SAVED, {}))
    saved.update(
        {setting.key: st.session_state[setting.key] for setting in settings if setting.key in st.session_state}
    )
    st.session_state[_SAVED] = saved
    current = {name: st.query_params[name] for name in st.query_params}
    # A default the lesson step sets otherwise is spelled out: a reload would bring back the step's value.
    spelled = _step_settings()
    wanted = {}
    for setting in settings:
        value = st.session_state.get(setting.key, setting.default)
        if setting.param in current and _says(setting, current[setting.param], value):
            wanted[setting.param] = current[setting.param]
        elif value != setting.default or setting.param in spelled:
            wanted[setting.param] = setting.encode(value)
    managed = {setting.param for setting in settings}
    unchanged = {name: value for name, value in current.items() if name not in managed}
    if {**unchanged, **wanted} != current:
        st.query_params.from_dict({**unchanged, **wanted})


def url_values(settings: list[Setting], *, spelled: Iterable[str] = ()) -> dict[str, str]:
    """What `publish` would write for these settings before the page is drawn: the session's values
    (or those saved when it last showed the page), defaults left out unless `spelled` names them."""
    saved, spelled = st.session_state.get(_SAVED, {}), set(spelled)
    values = {}
    for setting in settings:
        value = st.session_state.get(setting.key, saved.get(setting.key, setting.default))
        if value != setting.default or setting.param in spelled:
            values[setting.param] = setting.encode(value)
    return values


def _step_settings() -> dict[str, str]:
    """The settings of the lesson step the URL opens (`lessons`), {} outside a lesson."""
    params = st.query_params
    where = lessons.parse_position(params.get(lessons.LESSON_PARAM), params.get(lessons.STEP_PARAM))
    return lessons.step(*where).settings if where is not None else {}


# A teacher's link can lock settings so the class explores only today's point, as TensorFlow
# Playground lets teachers hide controls: `?fix=stride,pad` shows those widgets read-only at the
# link's values, `?hide=pool` does not draw them at all (their values still come from the link), and
# `?locks=focus` fixes every control but those the lesson step is about (`lessons.free_controls`).
FIXED_PARAM = lessons.FIX_PARAM
HIDDEN_PARAM = lessons.HIDE_PARAM


def _listed(name: str) -> set[str]:
    text = st.query_params.get(name, "")
    return {part.strip() for part in text.split(",") if part.strip()}


def _focus_free() -> set[str] | None:
    """With `?locks=focus` on a lesson step: the URL names left free; else None (nothing locked so)."""
    params = st.query_params
    if params.get(lessons.LOCKS_PARAM) != "focus":
        return None
    where = lessons.parse_position(params.get(lessons.LESSON_PARAM), params.get(lessons.STEP_PARAM))
    return None if where is None else lessons.free_controls(*where)


def _param(setting: Setting | str) -> str:
    return setting if isinstance(setting, str) else setting.param


def is_hidden(setting: Setting | str) -> bool:
    """True when a teacher's link hides this setting's widget (`?hide=` lists its URL name)."""
    return _param(setting) in _listed(HIDDEN_PARAM)


def is_fixed(setting: Setting | str) -> bool:
    """True when a teacher's link shows this setting read-only: `?fix=` lists its URL name (or a name
    whose lock covers it, `lessons.IMPLIED`), or `?locks=focus` and the step leaves it no freedom."""
    param = _param(setting)
    fixed = _listed(FIXED_PARAM)
    if param in fixed or any(other in fixed or is_hidden(other) for other in lessons.IMPLIED.get(param, ())):
        return True
    free = _focus_free()
    return free is not None and param not in free


def locked_note(page: str | None = None) -> str | None:
    """One line for the page when a link locks settings, naming them by the labels people see on
    `page` (`lessons.CONTROLS`), or None."""
    fixed, hidden = _listed(FIXED_PARAM), _listed(HIDDEN_PARAM)
    free = _focus_free()
    if not fixed and not hidden and free is None:
        return None
    order = list(lessons.CONTROLS.get(page or "", {}))

    def labels(names) -> str:
        ranked = sorted(names, key=lambda name: (order.index(name) if name in order else len(order), name))
        return ", ".join(lessons.control_label(name, page) for name in ranked)

    parts = []
    if free is not None:
        own = [name for name in free if name not in lessons.ALWAYS_FREE]
        parts.append(
            "every control is fixed except "
            + (f"{labels(own)} and " if own else "")
            + "choosing the pixel, channel or picture to look at"
        )
    if fixed:
        parts.append("fixed: " + labels(fixed))
    if hidden:
        parts.append("hidden: " + labels(hidden))
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
