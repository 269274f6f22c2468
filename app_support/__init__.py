"""The app side: one package (a room) per page, and `common` for what the pages share. Only this
package and the pages import Streamlit; `cnnviz` stays UI-free. Which room may import which:
docs/architecture.md (checked by tests/test_architecture.py)."""
