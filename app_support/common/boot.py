"""What every page does first: run inside `app.py`'s navigation, and keep the garbage collector cheap.

Navigation:
Streamlit decides once per server, on the first session, whether the app is an old-style
`pages/`-folder app: it checks that `pages/` exists, before `app.py` has had a chance to call
`st.navigation`. If that first session opens a page's URL directly (a teacher's shared link to a
freshly started server), Streamlit runs the page file alone, without `app.py`: no page config, no
sidebar, the folder's file names as navigation. Every page calls `run_through_navigation()` first;
it clears that flag, as `st.navigation` itself would, and reruns, so `app.py` takes over.

Garbage collection: by default Streamlit runs a full `gc.collect()` after every script run,
fragments included. Once TensorFlow and Keras are imported, that walks some 430,000 objects: 200 ms
alone, 450 ms in the server, and the finished run's pictures wait behind it; with forty students it
was a third of the server's time. `.streamlit/config.toml` turns it off (`runner.postScriptGC`), and
`settle_heap` moves what is alive after new imports into the collector's permanent generation
(`gc.freeze`), so Python's own collections (and the post-run ones, where a deployment turns them back
on) look only at what came since: a loaded model and its sub-models add ~6,000 objects (under 1 ms;
MobileNetV2 6 ms). Models are not frozen on purpose (an evicted model must still be collectable);
whatever happens to be alive when a module is first imported is, a one-time cost.

Keras: after every script run Streamlit calls `keras.backend.clear_session()` whenever Keras is
imported (`script_runner._clean_problem_modules`, meant for one-user notebooks-as-apps). On a shared
server that is process-wide: it empties TensorFlow's kernel cache under every other session's
computation and runs another full `gc.collect()`, after every run of every session (a tenth of the
server's time with forty students). Importing this module turns that off; nothing in cnnviz relies on
it (models are built with their own names and never in Keras's global graph), and the app never uses
pyplot's global figures, the other thing that function closes.
"""

import gc
import sys
import threading

import streamlit as st

from app_support.common import compat
from cnnviz.errors import InvalidInput
from cnnviz.run_settings import settings_from_env, store_settings_from_env

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


compat.check_at_start()  # private Streamlit names this module and the run clean-up rely on
compat.keep_keras_state()


def run_through_navigation() -> None:
    settle_heap()
    if compat.leave_pages_directory_mode():
        st.rerun()


def settings_problem() -> str:
    """What is wrong with the server's settings (the CNNVIZ_* environment variables: training and the
    store), or ''. app.py shows it on every page: the run manager cannot start with it (cheap: no NumPy,
    no manager, no database)."""
    try:
        settings_from_env()
        store_settings_from_env()
    except InvalidInput as problem:
        return str(problem)
    return ""
