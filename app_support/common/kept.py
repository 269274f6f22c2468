"""What the store keeps for a learner besides runs: every page's settings and the lesson step in
progress (brought back when a session starts, written when they change), and their own classes.

A session loads once, on its first page other than Home (which paints without the store), and writes
only what changed since (one small row per change). A store that cannot be used costs nothing here:
the pages work as before, and the Trainer says why nothing is kept (`problem`).
"""

from __future__ import annotations

import json
import threading
import time

import streamlit as st

from app_support.common import lesson_view, state
from app_support.common.runs import kept_store, owner, run_manager
from cnnviz.store import StoreUnavailable

_LOADED = "_cnnviz_kept_loaded"  # this session has read the learner's kept settings and lesson
_WRITTEN = "_cnnviz_kept_written"  # what was last written: {"settings": ..., "lesson": ...}
_OWN = "_cnnviz_kept_own"  # fingerprint of the own classes last written
_OWN_AT = "_cnnviz_kept_own_at"  # when the store kept the copy this session holds (own_classes_updated)
SETTINGS, LESSON = "settings", "lesson"  # their names in the store (learner_state)
_UNSET = object()
CHECK_EVERY_S = 15.0
# The lesson step in progress, as `lesson_view.arrive` keeps it in the session (and brings back).
_PLACE = getattr(lesson_view, "_PLACE", "_lesson_place")

_checked = {"at": -1e9, "problem": ""}
_check_lock = threading.Lock()


def problem() -> str:
    """Why the learner's work cannot be kept now, or '' (the database and the data folder are tried at
    most every 15 s; a failed write of a run counts too)."""
    with _check_lock:
        if time.monotonic() - _checked["at"] > CHECK_EVERY_S:
            _checked["at"] = time.monotonic()
            try:
                kept_store().check()
                _checked["problem"] = ""
            except StoreUnavailable as error:
                _checked["problem"] = str(error)
        found = _checked["problem"]
    return found or run_manager().store_problem


def _plain(value) -> bool:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return True
    return isinstance(value, (list, tuple)) and all(isinstance(item, (str, int, float, bool)) for item in value)


def _now() -> dict:
    saved = st.session_state.get(state._SAVED, {})  # every page's URL settings, as `state.publish` keeps them
    settings = {str(key): value for key, value in saved.items() if _plain(value)}
    return json.loads(json.dumps({SETTINGS: settings, LESSON: st.session_state.get(_PLACE)}))


def restore(page: str) -> None:
    """At a session's first page other than Home: the learner's kept page settings (under the
    session's own) and the lesson step in progress, so a page opened without them in its address finds
    them (`state.restore`, `lesson_view.arrive`)."""
    if st.session_state.get(_LOADED) or not page:
        return
    st.session_state[_LOADED] = True
    try:
        store, key = kept_store(), owner()
        settings = store.get_state(key, SETTINGS) or {}
        lesson = store.get_state(key, LESSON)
    except StoreUnavailable:
        return
    st.session_state[state._SAVED] = {**settings, **st.session_state.get(state._SAVED, {})}
    if lesson and _PLACE not in st.session_state:
        st.session_state[_PLACE] = {**lesson, "where": tuple(lesson["where"])}
    st.session_state[_WRITTEN] = {SETTINGS: settings, LESSON: lesson}


def save() -> None:
    """After the page: write the settings and the lesson place if they changed (only once loaded, so a
    Home visit never writes an empty set over what is kept)."""
    if not st.session_state.get(_LOADED):
        return
    now, written = _now(), st.session_state.get(_WRITTEN, {})
    changed = {name: value for name, value in now.items() if written.get(name) != value}
    if not changed:
        return
    try:
        store, key = kept_store(), owner()
        for name, value in changed.items():
            if name == SETTINGS:
                # Only the settings this tab changed, onto what is kept: another tab's changes stay.
                before = written.get(SETTINGS) or {}
                mine = {k: v for k, v in value.items() if before.get(k, _UNSET) != v}
                value = {**(store.get_state(key, SETTINGS) or {}), **mine}
            store.put_state(key, name, value)
    except StoreUnavailable:
        return  # tried again after the next change; the Trainer names the problem
    st.session_state[_WRITTEN] = now


def forget_session() -> None:
    """After 'Delete all my work': nothing of it stays in this tab either."""
    for name in (_LOADED, _WRITTEN, _OWN, _OWN_AT, state._SAVED, _PLACE):
        st.session_state.pop(name, None)


# --- own classes ----------------------------------------------------------------------------------


def _fingerprint(own) -> tuple:
    # Examples are never changed in place, only added and removed: their identities say what changed;
    # boxes are small tuples, compared as they are.
    return (
        own.kind,
        tuple((name, tuple(id(picture) for picture in items)) for name, items in own.examples.items()),
        tuple((name, tuple(own.boxes_of(name))) for name in own.class_names),
    )


def load_own_classes():
    """The learner's kept own classes (an OwnClasses), or None (none kept, or the store unavailable)."""
    try:
        at = kept_store().own_classes_updated(owner())  # first: a save in between makes this copy look old
        own = kept_store().load_own_classes(owner())
    except StoreUnavailable:
        return None
    st.session_state[_OWN_AT] = at
    if own is not None:
        st.session_state[_OWN] = _fingerprint(own)
    return own


def own_classes_changed_elsewhere() -> bool:
    """Whether another tab or window kept the learner's own classes after this session loaded or wrote
    them (then this session's copy is old: reload it before changing it)."""
    if _OWN_AT not in st.session_state:
        return False
    try:
        return kept_store().own_classes_updated(owner()) != st.session_state[_OWN_AT]
    except StoreUnavailable:
        return False


def save_own_classes(own) -> None:
    """Write the learner's own classes when they changed since last written (only the new examples)."""
    fingerprint = _fingerprint(own)
    if st.session_state.get(_OWN) == fingerprint:
        return
    try:
        st.session_state[_OWN_AT] = kept_store().save_own_classes(owner(), own)
    except StoreUnavailable:
        return
    st.session_state[_OWN] = fingerprint
