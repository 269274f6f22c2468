"""Upload & predict's settings that a lesson step's link (or a teacher's) can set: the model, the picture,
and whether a digit is centred first; and the locks a teacher's link puts on them."""

from __future__ import annotations

import streamlit as st

from app_support.common.inputs import SOURCES
from app_support.common.runs import owner, run_manager
from app_support.common.state import Setting, locked_widget
from cnnviz import images, models

# A link's model can name a network by what it is rather than by a run of one session:
# "trained:dense-only" is this learner's latest finished run of that preset on digits (lesson 3 step 2
# looks at the dense network trained in step 1).
TRAINED = "trained:"
DIGIT_DATASETS = ("mnist-bundled", "mnist")
DIGIT_SHAPE = (28, 28, 1)

SETTINGS = [
    Setting("predict_model", "model", "default"),
    Setting("predict_mode", "mode", "one", choices=("one", "many", "zip")),
    Setting("predict_source", "src", "sample", choices=tuple(SOURCES)),
    Setting("predict_sample", "sample", "mnist digit", choices=tuple(images.SAMPLES)),
    Setting("predict_centre", "centre", True),
]
IMAGE_LOCKS = {"source": "src", "sample": "sample", "brush": "brush"}  # image_input's widgets by URL name


def find_trained_model(prefix: str) -> None:
    """Before the model picker: a `trained:<preset>` model becomes that run (`run:<id>`), or the
    shipped model with a note saying which run to train first."""
    key = f"{prefix}_model"
    wanted = st.session_state.get(key, "")
    if not str(wanted).startswith(TRAINED):
        return
    preset = wanted.removeprefix(TRAINED)
    blocks = models.preset(preset, DIGIT_SHAPE) if preset in models.PRESETS else None
    runs = [
        run
        for run in run_manager().runs_for(owner())
        if run.model_path and run.state.good and run.job.dataset in DIGIT_DATASETS and list(run.job.blocks) == blocks
    ]
    if runs:
        st.session_state[key] = f"run:{runs[-1].id}"
    else:
        st.session_state[key] = "default"
        st.warning(
            f"This step looks at the {preset} network trained on digits in the Trainer, and there is none yet "
            "in this session: train it in the lesson's first step, then come back. Meanwhile the shipped "
            "model is open."
        )


def centre_choice(digit_like: bool) -> bool:
    """For a digit model: whether to crop and centre the ink as MNIST did before the model looks."""
    if not digit_like:
        return True
    st.session_state.setdefault("predict_centre", True)
    return bool(
        locked_widget(
            st.checkbox,
            "centre",
            "Centre the digit (as MNIST did)",
            key="predict_centre",
            persist_state="session",
            help="MNIST's digits were cut to their ink, scaled to 20x20 pixels and centred on a 28x28 page, so "
            "networks trained on them expect a digit there. Untick to give the network the picture as it is.",
        )
    )
