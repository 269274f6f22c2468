"""App-side helpers shared by the pages: widget groups, URL state, caching. Only this package and
the pages import Streamlit; `cnnviz` stays UI-free."""
