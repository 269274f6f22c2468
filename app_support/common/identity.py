"""Who is who, without a login: a random learner id kept in this browser's cookie.

A first visit gets a fresh id (`cnnviz.store.new_learner_id`, 256 bits). A few lines of JavaScript
in the repository (component/cookie.js, a Components v2 component: nothing fetched) write it into a
cookie, which Streamlit hands back with `st.context.cookies` when the next session starts: a reload, a
new tab, tomorrow's visit. The id never goes into the address bar, so a link a teacher shares carries
none. "Continue on another computer" gives a link that carries it on purpose (`?continue=`): opening
it adopts the id, writes the cookie and takes it out of the address at once.

An id that is not one (too short, odd characters) is replaced by a fresh one; a well-formed id that
the store does not know opens an empty workspace: only the SHA-256 of an id is kept, and nobody's work
can be reached without their exact id.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import streamlit as st

from cnnviz.errors import InvalidInput
from cnnviz.store import learner_key, new_learner_id

COOKIE = "cnnviz_learner"
CONTINUE_PARAM = "continue"  # ?continue=<id>: a learner's own link to their work on another computer
MAX_AGE_S = 400 * 86400  # the longest a browser keeps a cookie (Chromium's cap)
_ID = "_cnnviz_learner_id"  # this session's learner id
_WRITE = "_cnnviz_learner_cookie"  # an id the cookie must be set to (new, or adopted from a link)
_NOTE = "_cnnviz_learner_note"  # what happened to a ?continue= link, said once


@cache
def _cookie_writer():
    """The cookie-writing component, registered once per server process."""
    script = (Path(__file__).with_name("component") / "cookie.js").read_text()
    return st.components.v2.component("cnnviz_learner_cookie", js=script)


def _cookie() -> str | None:
    try:
        return st.context.cookies.get(COOKIE)
    except Exception:  # no browser request behind this run (a script run outside a server)
        return None


def learner_id() -> str:
    """This browser's learner id: the session's, else the cookie's, else a fresh one (then written into
    the cookie by `establish`)."""
    known = st.session_state.get(_ID)
    if known:
        return known
    chosen = _cookie()
    try:
        learner_key(chosen)
    except InvalidInput:  # none yet, or a value that is not an id we could have written
        chosen = new_learner_id()
        st.session_state[_WRITE] = chosen
    st.session_state[_ID] = chosen
    return chosen


def key() -> str:
    """What the store knows this learner by (the SHA-256 of their id)."""
    return learner_key(learner_id())


def establish() -> None:
    """Every run, before the page (app.py): adopt a `?continue=` link's id (and take it out of the
    address), make sure the session has an id, and write the cookie while it must be."""
    if CONTINUE_PARAM in st.query_params:
        offered = st.query_params.get(CONTINUE_PARAM, "")
        del st.query_params[CONTINUE_PARAM]
        try:
            learner_key(offered)
        except InvalidInput:
            st.session_state[_NOTE] = (
                "warning",
                "That link does not carry a learner id; you go on with your own work.",
            )
        else:
            if offered != st.session_state.get(_ID):
                for name in [name for name in st.session_state if str(name).startswith("_cnnviz_kept")]:
                    del st.session_state[name]  # what this tab had loaded was the other id's
                st.session_state.pop("_cnnviz_owner", None)
                st.session_state.pop("own_classes", None)
            st.session_state[_ID] = offered
            st.session_state[_WRITE] = offered
            st.session_state[_NOTE] = ("success", "This browser now opens your work from the other computer.")
    learner_id()
    pending = st.session_state.get(_WRITE)
    if pending:  # drawn on every run of the session: a rerun before the browser ran it must not lose it
        with st.sidebar:
            _cookie_writer()(key="cnnviz_learner_cookie", data={"name": COOKIE, "value": pending, "max_age": MAX_AGE_S})


def said() -> tuple[str, str] | None:
    """(level, text) of what a `?continue=` link did, once."""
    return st.session_state.pop(_NOTE, None)
