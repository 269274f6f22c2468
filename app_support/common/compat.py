"""Every private name of Streamlit the app relies on, in one place, checked when the server starts.

Streamlit has no public switch for three things a shared classroom server needs (see
`app_support.common.boot` for why): not clearing Keras's state after every script run, not treating the
app as an old-style `pages/` folder when the first visitor opens a page's URL, and asking whether a
session is still connected. Each is a private name of Streamlit STREAMLIT_PINNED. `check_streamlit`
runs when `app_support.common.boot` is first imported (the first script run of a server): if a release
renamed one, the server says which and stops, instead of silently crashing every page or leaving the
departed-session clean-up dead.
"""

from __future__ import annotations

import logging

STREAMLIT_PINNED = "1.67.0"  # requirements.txt


class StreamlitCompatibilityError(RuntimeError):
    """A private Streamlit name the app uses has moved: the installed Streamlit differs from the pinned one."""

    def __init__(self, what: str):
        import streamlit

        super().__init__(
            f"cnnviz relies on {what}, which Streamlit {streamlit.__version__} does not have; it was written for "
            f"Streamlit {STREAMLIT_PINNED} (pinned in requirements.txt). Install that version, or update "
            "app_support/compat.py."
        )


def _script_runner():
    from streamlit.runtime.scriptrunner import script_runner

    return script_runner


def _pages_manager():
    from streamlit.runtime.pages_manager import PagesManager

    return PagesManager


def check_streamlit() -> None:
    """Raise StreamlitCompatibilityError for the first assumption that does not hold."""
    from streamlit.runtime import Runtime

    if not callable(getattr(_script_runner(), "_clean_problem_modules", None)):
        raise StreamlitCompatibilityError("script_runner._clean_problem_modules (it clears Keras after each run)")
    if not hasattr(_pages_manager(), "uses_pages_directory"):
        raise StreamlitCompatibilityError("PagesManager.uses_pages_directory (the pages/-folder flag)")
    if not callable(getattr(Runtime, "is_active_session", None)):
        raise StreamlitCompatibilityError("Runtime.is_active_session (whether a browser session is still there)")


def keep_keras_state() -> None:
    """Stop Streamlit from calling `keras.backend.clear_session()` after every script run."""
    _script_runner()._clean_problem_modules = lambda: None


def leave_pages_directory_mode() -> bool:
    """Clear Streamlit's 'this is a pages/-folder app' flag, as `st.navigation` would; True if it was set."""
    manager = _pages_manager()
    if manager.uses_pages_directory:
        manager.uses_pages_directory = False
        return True
    return False


def is_active_session(session_id: str) -> bool | None:
    """Whether the browser session `session_id` is still connected; None outside a running server."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return None
    return bool(Runtime.instance().is_active_session(session_id))


def check_at_start() -> None:
    try:
        check_streamlit()
    except StreamlitCompatibilityError:
        logging.getLogger("cnnviz").exception("The server cannot start safely")
        raise
