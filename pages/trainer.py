"""Trainer: pick a dataset and an architecture, train a small CNN and watch it learn."""

import streamlit as st

from app_support import trainer_blocks, trainer_data, trainer_runs, trainer_settings
from app_support.boot import run_through_navigation
from app_support.runs import owner, run_manager
from cnnviz.errors import InvalidInput

run_through_navigation()

st.title("Trainer")
st.caption(
    "Pick a dataset and a network, press Train, and watch the loss fall and the accuracy rise. Runs keep "
    "going while you look at other pages; stop one whenever you like."
)
manager = run_manager()  # also starts a warm worker, so the first run begins at once

st.subheader("1. Dataset")
dataset_name, data = trainer_data.choose_dataset()
if data is not None:
    trainer_data.show_dataset(data)

blocks = config = None
lab_kernels, freeze = (), False
if data is not None:
    st.subheader("2. Architecture")
    blocks, rows = trainer_blocks.architecture(data)
    lab_kernels, freeze = trainer_blocks.lab_kernels_experiment()
    st.subheader("3. Training")
    config = trainer_settings.settings(dataset_name)
    if config is not None:
        with st.expander("Preview the augmentation"):
            if st.button("Show augmented samples", key="trainer_preview"):
                trainer_settings.augmentation_preview(data, config.augmentation)
    ready = blocks is not None and config is not None
    if ready:
        trainer_settings.time_estimate(data, rows, config)
    if st.button("Train", type="primary", disabled=not ready, key="trainer_train", icon=":material/play_arrow:"):
        try:
            job = trainer_settings.job_for(dataset_name, data, blocks, config, lab_kernels, freeze)
            run = manager.submit(owner(), job)
        except InvalidInput as error:
            st.error(str(error))
        else:
            st.session_state["trainer_run"] = run.id

st.subheader("4. Runs")
trainer_runs.runs_panel()
