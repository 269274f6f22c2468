"""cnnviz: the entry point. Page config, the shared sidebar and navigation over `pages/`."""

import streamlit as st

from app_support.common import identity
from app_support.common.boot import settings_problem, settle_heap
from app_support.common.lesson_view import apply_projector_view

st.set_page_config(page_title="cnnviz: see how CNNs work", page_icon=":material/grid_on:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/lessons.py", title="Lessons", icon=":material/school:"),
    st.Page("pages/convolution_lab.py", title="Convolution lab", icon=":material/blur_on:"),
    st.Page("pages/trainer.py", title="Trainer", icon=":material/model_training:"),
    st.Page("pages/inside.py", title="Inside the network", icon=":material/layers:"),
    st.Page("pages/learned.py", title="What did it learn?", icon=":material/psychology:"),
    st.Page("pages/localize.py", title="Where is it?", icon=":material/crop_free:"),
    st.Page("pages/predict.py", title="Upload & predict", icon=":material/image_search:"),
]

FIX_IT = "Tell whoever runs it (your teacher?): it must be fixed and restarted."

navigation = st.navigation(PAGES)
apply_projector_view()  # ?projector=1 on any page: big text for the back of a room
if problem := settings_problem():  # a CNNVIZ_* variable the run manager cannot start with
    st.error(f"This server is set up wrongly: {problem} {FIX_IT}")
    st.stop()
with st.sidebar:
    st.caption(
        "cnnviz shows what a convolutional neural network computes, one picture at a time. "
        "Samples: scikit-image, scikit-learn and MNIST (LeCun, Cortes, Burges; CC BY-SA 3.0)."
    )
identity.establish()  # this browser's learner id (a cookie; a "continue" link adopts one)
if said := identity.said():
    getattr(st, said[0])(said[1])
kept = None
if navigation.url_path:  # Home paints without the store; any other page brings back the learner's settings
    from app_support.common import kept

    kept.restore(navigation.url_path)
navigation.run()
if kept is not None:
    kept.save()  # what the page changed: its settings, the lesson step in progress
settle_heap()  # after a page that imported TensorFlow, before fragments rerun on their own
