"""Trainer: pick a dataset and an architecture, train a small CNN and watch it learn."""

import streamlit as st

from app_support import trainer_view as view
from app_support.boot import run_through_navigation
from app_support.runs import owner, run_dataset, run_manager
from cnnviz.errors import InvalidInput
from cnnviz.training import RunState

run_through_navigation()

st.title("Trainer")
st.caption(
    "Pick a dataset and a network, press Train, and watch the loss fall and the accuracy rise. Runs keep "
    "going while you look at other pages; stop one whenever you like."
)
manager = run_manager()  # also starts a warm worker, so the first run begins at once

st.subheader("1. Dataset")
dataset_name, data = view.choose_dataset()
if data is not None:
    view.show_dataset(data)

blocks = config = None
lab_kernels, freeze = (), False
if data is not None:
    st.subheader("2. Architecture")
    blocks, rows = view.architecture(data)
    lab_kernels, freeze = view.lab_kernels_experiment()
    st.subheader("3. Training")
    config = view.settings(dataset_name)
    if config is not None:
        with st.expander("Preview the augmentation"):
            if st.button("Show augmented samples", key="trainer_preview"):
                view.augmentation_preview(data, config.augmentation)
    ready = blocks is not None and config is not None
    if ready:
        view.time_estimate(data, rows, config)
    if st.button("Train", type="primary", disabled=not ready, key="trainer_train", icon=":material/play_arrow:"):
        try:
            job = view.job_for(dataset_name, data, blocks, config, lab_kernels, freeze)
            run = manager.submit(owner(), job)
        except InvalidInput as error:
            st.error(str(error))
        else:
            st.session_state["trainer_run"] = run.id

st.subheader("4. Runs")


def phase_of(runs) -> tuple:
    """Which runs train and which wait. The live panel redraws the whole page when this changes from
    what the page was drawn with, so it can poll fast (curves growing) or slowly (a queue position)."""
    return tuple((run.id, run.state == RunState.QUEUED) for run in runs if not run.done)


phase = phase_of(manager.runs_for(owner()))


def live_runs(was: tuple, panel: str) -> None:
    """The runs panel: status, curves, stop, results, comparison. `panel` names the fragment drawing it."""
    runs = manager.runs_for(owner())
    if not runs:
        st.caption("No runs yet: press Train.")
        return
    by_id = {run.id: run for run in reversed(runs)}
    if st.session_state.get("trainer_run") not in by_id:
        st.session_state["trainer_run"] = next(iter(by_id))
    chosen = st.selectbox(
        "Run", list(by_id), format_func=lambda i: by_id[i].label, key="trainer_run", persist_state="session"
    )
    run = by_id[chosen]
    view.run_status(run)
    if not run.done and st.button("Stop", key="trainer_stop", icon=":material/stop:"):
        manager.stop(run.id, owner())
    if run.state != RunState.QUEUED and not (run.done and not run.batches and not run.epochs):
        view.live_curves(run)  # not for a run still waiting, or one cancelled before it began: nothing to draw
    if run.done:
        data = run_dataset(run)
        view.results(run, data, panel=panel)
        view.downloads(run, data)
    finished = [run for run in runs if run.epochs]
    if len(finished) > 1:
        st.markdown("**Compare runs**")
        labels = {run.id: run.label for run in finished}
        picked = st.multiselect(
            "Runs",
            list(labels),
            default=list(labels)[-3:],
            format_func=labels.get,
            key="trainer_cmp",
            persist_state="session",
        )
        chosen_runs = [run for run in finished if run.id in picked]
        left, right = st.columns(2)
        left.plotly_chart(view.charts.compare(chosen_runs, "accuracy"), key="compare_acc")
        right.plotly_chart(view.charts.compare(chosen_runs, "loss"), key="compare_loss")
    if was and phase_of(runs) != was:
        st.rerun(scope="app")  # a run left the queue or ended: poll at the new pace, show results everywhere


# Three fragments rather than one with a changing `run_every`: an idle page does not poll the server,
# and forty students waiting in the queue do not redraw empty charts every second.
@st.fragment(run_every=1.0)
def live_runs_training(was: tuple) -> None:
    """Redrawn every second while a run trains: the curves grow as the worker reports."""
    live_runs(was, "training")


@st.fragment(run_every=3.0)
def live_runs_queued(was: tuple) -> None:
    """Every run of this session waits for a free trainer: only the queue position changes."""
    live_runs(was, "queued")


@st.fragment
def live_runs_idle() -> None:
    live_runs((), "idle")


if not phase:
    live_runs_idle()
elif all(queued for _, queued in phase):
    live_runs_queued(phase)
else:
    live_runs_training(phase)
