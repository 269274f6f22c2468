"""Make a page opened straight from a shared link run inside `app.py`'s navigation.

Streamlit decides once per server, on the first session, whether the app is an old-style
`pages/`-folder app: it checks that `pages/` exists, before `app.py` has had a chance to call
`st.navigation`. If that first session opens a page's URL directly (a teacher's shared link to a
freshly started server), Streamlit runs the page file alone, without `app.py`: no page config, no
sidebar, the folder's file names as navigation. Every page calls `run_through_navigation()` first;
it clears that flag, as `st.navigation` itself would, and reruns, so `app.py` takes over.
"""

import streamlit as st


def run_through_navigation() -> None:
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
