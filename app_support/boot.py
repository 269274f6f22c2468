"""What every page does first: run inside `app.py`'s navigation, and keep the garbage collector cheap.

Navigation:
Streamlit decides once per server, on the first session, whether the app is an old-style
`pages/`-folder app: it checks that `pages/` exists, before `app.py` has had a chance to call
`st.navigation`. If that first session opens a page's URL directly (a teacher's shared link to a
freshly started server), Streamlit runs the page file alone, without `app.py`: no page config, no
sidebar, the folder's file names as navigation. Every page calls `run_through_navigation()` first;
it clears that flag, as `st.navigation` itself would, and reruns, so `app.py` takes over.

Garbage collection: Streamlit runs a full `gc.collect()` after every script run, fragments included.
Once TensorFlow and Keras are imported, that walks some 430,000 objects: 200 ms alone, 450 ms in the
server, and the finished run's pictures wait behind it. `settle_heap` moves what is alive after new
imports into the collector's permanent generation (`gc.freeze`), so later collections look only at
what came since: a loaded model and its sub-models add ~6,000 objects (under 1 ms; MobileNetV2 6 ms).
Models are not frozen on purpose (an evicted model must still be collectable); whatever happens to
be alive when a module is first imported is, a one-time cost.
"""

import gc
import sys
import threading

import streamlit as st

_SETTLE_LOCK = threading.Lock()
_settled_modules = 0


def settle_heap() -> None:
    """Collect once, then freeze what is left, when modules were imported since the last time.
    Cheap when nothing changed: one comparison."""
    global _settled_modules
    if len(sys.modules) == _settled_modules:
        return
    with _SETTLE_LOCK:
        if len(sys.modules) != _settled_modules:
            gc.collect()
            gc.freeze()
            _settled_modules = len(sys.modules)


def run_through_navigation() -> None:
    from streamlit.runtime.pages_manager import PagesManager

    settle_heap()
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
