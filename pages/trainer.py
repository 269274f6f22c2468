"""Trainer: pick a dataset and a network (or a trained network to start from), train and watch it learn."""

import streamlit as st

from app_support.common import lesson_view
from app_support.common.boot import run_through_navigation
from app_support.common.runs import owner, run_manager
from app_support.common.state import publish
from app_support.trainer import blocks as trainer_blocks
from app_support.trainer import boxes as trainer_boxes
from app_support.trainer import data as trainer_data
from app_support.trainer import runs as trainer_runs
from app_support.trainer import settings as trainer_settings
from app_support.trainer import state as trainer_state
from app_support.trainer import transfer as trainer_transfer
from app_support.trainer import work as trainer_work
from cnnviz import jobs
from cnnviz.errors import InvalidInput

run_through_navigation()
url, step = trainer_state.arrive()  # a lesson step's or a shared link's settings, before any widget

st.title("Trainer")
st.caption(
    "Pick a dataset and a network, press Train, and watch the loss fall and the accuracy rise. Runs keep "
    "going while you look at other pages; stop one whenever you like."
)
lesson_view.banner(step)
manager = run_manager()  # also starts a warm worker, so the first run begins at once

st.subheader("1. Dataset")
dataset_name, data = trainer_data.choose_dataset()
if data is not None:
    trainer_data.show_dataset(data)

if data is not None:
    st.subheader("2. Network")
    lab_kernels, freeze, blocks, rows = (), False, None, None
    transfer = trainer_transfer.choose_base(data, url)
    if st.session_state.get(trainer_state.BASE.key, trainer_state.NO_BASE) == trainer_state.NO_BASE:
        blocks, rows = trainer_blocks.architecture(dataset_name, data, url)
        if rows is not None and trainer_boxes.is_box_dataset(dataset_name):
            trainer_boxes.architecture_note(rows)  # the heads in place of the classifier
        lab_kernels, freeze = trainer_blocks.lab_kernels_experiment()
    elif transfer is not None:  # a base, ready: its layers were shown instead of the block editor
        blocks, rows = (), trainer_transfer.transfer_rows(transfer, data)
    st.subheader("3. Training")
    per_class = trainer_settings.few_images(dataset_name, data, url)
    config = trainer_settings.settings(dataset_name, url)
    boxes = trainer_boxes.is_box_dataset(dataset_name)
    weights = trainer_boxes.loss_weights(url) if boxes else None  # what and where: the two heads' share
    if config is not None:
        with st.expander("Preview the augmentation"):
            if st.button("Show augmented samples", key="trainer_preview"):
                trainer_settings.augmentation_preview(data, config.augmentation)
    ready = blocks is not None and config is not None and (weights is not None or not boxes)
    if ready and transfer is not None:
        try:
            jobs.check_fit(trainer_transfer.images_used(data, per_class), transfer.input_shape)
        except InvalidInput as error:
            st.error(str(error))
            ready = False
    partner = trainer_settings.partner(data, url)
    if ready:
        trainer_settings.time_estimate(data, rows, config, per_class=per_class, partner=partner, transfer=transfer)
        trainer_settings.few_pictures_warnings(data, config, per_class=per_class)
        trainer_settings.too_big_warning(data, blocks, config)
    label = "Train both" if partner is not None else "Train"
    if st.button(label, type="primary", disabled=not ready, key="trainer_train", icon=":material/play_arrow:"):
        try:
            job = trainer_settings.job_for(
                dataset_name,
                data,
                blocks,
                config,
                lab_kernels,
                freeze,
                transfer=transfer,
                per_class=per_class,
                boxes=weights,
            )
            jobs = [job]
            if partner is not None:
                name = st.session_state[trainer_state.PARTNER.key]
                jobs.append(
                    trainer_settings.job_for(
                        dataset_name, data, partner, config, per_class=per_class, title=name, boxes=weights
                    )
                )
            runs = [manager.submit(owner(), each) for each in jobs]
        except InvalidInput as error:
            st.error(str(error))
        else:
            st.session_state["trainer_run"] = runs[0].id
            if len(runs) > 1:  # Compare runs shows the pair once both have an epoch to show
                trainer_runs.compare_pair([run.id for run in runs])

st.subheader("4. Runs")
trainer_runs.runs_panel()
st.subheader("5. Your work")
trainer_work.section()
publish(url)
