"""The Trainer's fourth section: the live runs panel (status, curves, stop, comparison) and a finished
run's results and downloads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app_support.common import charts, kept
from app_support.common.live_chart import live_chart
from app_support.common.render import picture
from app_support.common.runs import owner, run_dataset, run_manager
from app_support.own_classes import live as own_live
from app_support.trainer import boxes as trainer_boxes
from app_support.trainer.data import KEEP
from cnnviz import datasets, display, features, take_home, training
from cnnviz.dataset_base import few_pictures_note, held_out_counts
from cnnviz.errors import InvalidInput
from cnnviz.export import save_npz, training_script
from cnnviz.runs import Run
from cnnviz.training import RunState

# --- 4. runs ------------------------------------------------------------------------------------


def run_status(run: Run) -> None:
    manager = run_manager()
    label = run.state.label
    if run.state == RunState.QUEUED:
        counts = manager.counts()
        st.info(f"{run.label}: waiting, number {manager.position(run)} in the queue ({counts['training']} training).")
    elif not run.done:
        total = run.job.config.epochs
        progress = run.batches[-1]["progress"] if run.batches else 0.0
        # The epoch of the last batch point, not one past its progress: an epoch's last batch has progress
        # 4.0 while epoch 4 still validates and saves its checkpoint, and "epoch 5" then claimed too much.
        epoch = run.batches[-1].get("epoch", int(progress) + 1) if run.batches else 1
        st.progress(min(progress / total, 1.0), text=f"{run.label}: {label}, epoch {min(epoch, total)} of {total}")
    elif run.state.good:
        st.success(f"{run.label}: {label}. {run.message}")
        offer_early_stopping(run)
    elif run.state == RunState.INTERRUPTED:
        st.warning(f"{run.label}: {run.message}")
    else:
        st.error(f"{run.label}: {label}. {run.message}")


EARLY_STOP_PATIENCE = 3  # what the offer sets: a few epochs without a better validation loss


def offer_early_stopping(run: Run) -> None:
    """A finished run that overfitted (its message says so, `training.overfitting`) and trained without
    early stopping: a button that turns it on for the next run of the dataset on the page."""
    losses = [epoch.get("loss", float("nan")) for epoch in run.epochs]
    found = training.overfitting(losses, [epoch.get("val_loss", float("nan")) for epoch in run.epochs])
    if found is None or run.job.config.early_stopping_patience:
        return
    dataset_name = st.session_state.get("trainer_dataset", "")
    key = f"trainer_patience_{dataset_name}"
    if st.session_state.get(key):
        st.caption(f"Early stopping is on for your next run (patience {st.session_state[key]}).")
        return
    st.button(
        f"Turn on early stopping (patience {EARLY_STOP_PATIENCE}) for the next run",
        key=f"trainer_early_{run.id}",
        on_click=_turn_on_early_stopping,
        args=(key,),
        help="Training then ends once the validation loss has not improved for a few epochs in a row, and keeps "
        "the weights of the best epoch.",
    )


def _turn_on_early_stopping(key: str) -> None:
    st.session_state[key] = EARLY_STOP_PATIENCE
    st.session_state["trainer_redraw"] = True  # the setting lives outside the runs panel: redraw the page


CURVES_NOTE = (
    "Grey: the running figure as batches go by. **Why can validation accuracy be above training accuracy, "
    "mostly early on?** While training, dropout switches off part of the network and augmentation distorts "
    "the images; the validation images are seen as they are, by the whole network. And the training figure "
    "is a running mean over the epoch, its first, worse batches included, while validation is measured once, "
    "at the end of the epoch."
)


def live_curves(run: Run) -> None:
    if not run.batches and not run.epochs:  # empty axes (a loss from -1 to 4) say nothing
        st.caption("The loss and accuracy curves start here with the first batches of training.")
        return
    if trainer_boxes.is_box_run(run):  # two heads: both losses and the boxes' mean IoU too
        trainer_boxes.live_curves(run)
        return
    left, right = st.columns(2)
    live_chart(charts.curves(run, "loss"), key=f"loss_{run.id}", container=left)
    live_chart(charts.curves(run, "accuracy"), key=f"acc_{run.id}", container=right)
    st.caption(CURVES_NOTE)


def results(run: Run, data: datasets.Dataset | None, *, panel: str = "") -> None:
    """Test metrics, per-class accuracy, the confusion matrix and the images of a chosen cell, the
    learned filters. `panel` names the fragment that draws them (see the chart key below)."""
    evaluation = run.evaluation
    if evaluation is None:
        return
    columns = st.columns(4)
    tested = int(evaluation.confusion.sum())
    columns[0].metric("Test accuracy", f"{evaluation.test_accuracy:.2%}", help=f"On {tested:,} test pictures.")
    if trainer_boxes.is_box_run(run):  # the class head's loss alone: the boxes have their figures below
        columns[1].metric(
            "Test class loss", f"{evaluation.test_loss:.4f}", help="The class head's crossentropy on the test pictures."
        )
    else:
        columns[1].metric("Test loss", f"{evaluation.test_loss:.4f}")
    columns[2].metric("Epochs", len(run.epochs))
    columns[3].metric("Training time", f"{run.train_seconds or 0:.1f} s")
    trainer_boxes.box_results(run)  # a run that learned boxes: their figures and where to see them
    if data is None or len(data.class_names) != len(evaluation.per_class_accuracy):
        return
    figures_rest_on(run, data, tested)
    # The click is read before the chart is drawn, so that its outline and the lists agree at once. The
    # key names the fragment drawing the chart: an identical chart drawn again by another fragment (the
    # training panel, then the idle one once the run ends) kept the first fragment's id in the browser,
    # and its clicks asked for a rerun of a fragment that no longer existed, so nothing happened.
    lists = st.session_state.get(f"cm_lists_{run.id}", 0)
    chart_key = f"cm_{run.id}_{panel}_{lists}"
    clicked = _clicked_cell(st.session_state.get(chart_key), data.class_names)
    if clicked is not None and clicked != st.session_state.get(f"cm_clicked_{run.id}"):
        # A new click moves the two lists below, which stay the way to choose without a mouse.
        st.session_state[f"cm_clicked_{run.id}"] = clicked
        st.session_state[f"true_{run.id}"], st.session_state[f"pred_{run.id}"] = clicked
    true, predicted = _chosen_cell(run, data, evaluation.confusion)
    left, right = st.columns([3, 2])  # the matrix gets the room: at 1024 px half a page squeezed its cells
    right.plotly_chart(charts.per_class(evaluation.per_class_accuracy, data.class_names), key=f"pc_{run.id}")
    left.plotly_chart(
        charts.confusion(evaluation.confusion, data.class_names, chosen=(true, predicted)),
        key=chart_key,
        on_select="rerun",
        selection_mode="points",
    )
    st.markdown("**Which images did it get wrong?** Click a cell of the confusion matrix, or choose one here:")
    names = list(range(data.num_classes))
    pick = st.columns(2)
    true = pick[0].selectbox(
        "True class",
        names,
        format_func=data.class_names.__getitem__,
        key=f"true_{run.id}",
        persist_state=KEEP,
        on_change=_lists_changed,
        args=(run.id,),
    )
    predicted = pick[1].selectbox(
        "Predicted as",
        names,
        format_func=data.class_names.__getitem__,
        key=f"pred_{run.id}",
        persist_state=KEEP,
        on_change=_lists_changed,
        args=(run.id,),
    )
    indices = evaluation.misclassified(data.y_test, true, predicted)[:24]
    what = "correctly recognised" if true == predicted else f"predicted as {data.class_names[predicted]}"
    if len(indices) == 0:
        st.caption(f"No test image of {data.class_names[true]} was {what}.")
    else:
        tiles = [data.x_test[i][..., 0] if data.x_test.shape[-1] == 1 else data.x_test[i] for i in indices]
        count = int(evaluation.confusion[true, predicted])
        grid = display.enlarge(display.tile(tiles, columns=8, gap=2), min_side=120)
        # The caption under the grid, not in it: a grid of one image would wrap it into a narrow column.
        picture(grid, width=grid_width(len(tiles)))
        st.caption(
            f"{count} test image{'s' if count != 1 else ''} of {data.class_names[true]} {what}"
            + (" (the first 24 shown)" if count > 24 else "")
        )
    if run.filters is not None:
        filters = run.filters  # (kh, kw, c_in, n)
        picture(
            display.enlarge(features.filter_grid(filters, tile_side=24), min_side=80),
            caption=f"The {filters.shape[3]} learned first-layer filters ({filters.shape[0]}x{filters.shape[1]}; "
            "red positive, blue negative, mean over input channels, or in colour on RGB input)",
        )


TILE_PX = 90  # a test image in the grid of wrong ones, on screen: a row of 8 fills a 1024-px page's column


def grid_width(count: int) -> int | str:
    """How wide the grid of `count` test images (8 a row) is shown: a full row fills the column, fewer are
    as wide as their tiles (one wrong image was stretched across the page, a blur 800 px wide)."""
    return "stretch" if count >= 8 else TILE_PX * count


def figures_rest_on(run: Run, data: datasets.Dataset, tested: int) -> None:
    """How many pictures the test figures and the validation curves rest on, and a warning when few."""
    split = run.job.config.validation_split
    validation = held_out_counts(data.y_train, split, data.num_classes)
    if split > 0:
        curves = (
            f"the validation curves on {int(validation.sum()):,} of its training pictures, held out ({split:g} of "
            "each class)."
        )
    else:  # your own classes: too few to spare any
        curves = "there are no validation curves: no training picture was held out, the curves are the training ones."
    st.caption(f"The test figures rest on {tested:,} test pictures the network never trained on; {curves}")
    parts = [(np.bincount(data.y_test, minlength=data.num_classes), "test")] + (
        [(validation, "validation")] if split > 0 else []
    )
    for counts, what in parts:
        note = few_pictures_note(counts, what=what)
        if note:
            st.warning(note)


def _chosen_cell(run: Run, data: datasets.Dataset, confusion: np.ndarray) -> tuple[int, int]:
    """The cell whose images are shown: at first the most frequent mistake, then what was clicked or chosen."""
    true_key, predicted_key = f"true_{run.id}", f"pred_{run.id}"
    if true_key not in st.session_state or predicted_key not in st.session_state:
        errors = confusion.sum(axis=1) - np.diag(confusion)
        true = int(errors.argmax())
        wrong = confusion[true].copy()
        wrong[true] = -1
        st.session_state[true_key], st.session_state[predicted_key] = true, int(wrong.argmax())
    k = data.num_classes
    return min(int(st.session_state[true_key]), k - 1), min(int(st.session_state[predicted_key]), k - 1)


def _lists_changed(run_id: str) -> None:
    # A choice in the lists starts a fresh chart (its old click selection gone), so that clicking the
    # cell that was clicked before counts as a new click again.
    key = f"cm_lists_{run_id}"
    st.session_state[key] = st.session_state.get(key, 0) + 1
    st.session_state.pop(f"cm_clicked_{run_id}", None)


def _clicked_cell(event: dict | None, class_names: tuple[str, ...]) -> tuple[int, int] | None:
    """(true, predicted) of the clicked confusion-matrix cell, or None when nothing is clicked."""
    selection = event.get("selection") if isinstance(event, dict) else getattr(event, "selection", None)
    points = (selection or {}).get("points") or []
    names = [str(name) for name in class_names]
    for point in points:
        x, y = str(point.get("x")), str(point.get("y"))
        if x in names and y in names:
            return names.index(y), names.index(x)
    return None


def downloads(run: Run, data: datasets.Dataset | None) -> None:
    if not run.model_path:
        return
    columns = st.columns(3)
    with open(run.model_path, "rb") as handle:
        columns[0].download_button(
            "Model (.keras)",
            handle.read(),
            file_name=take_home.KERAS_FILE,  # the name predict_keras.py (take home, your own classes) loads
            key=f"dl_model_{run.id}",
            on_click="ignore",
        )
    if data is not None and run.job.base_model:
        columns[1].caption(
            "No training script for a run that started from a trained network: the model file holds the base "
            "and the new head, ready for `keras.models.load_model`."
        )
    elif data is not None:
        script = training_script(run.job, input_shape=data.input_shape, num_classes=data.num_classes)
        columns[1].download_button(
            "Training script (.py)", script, file_name="train_cnn.py", key=f"dl_script_{run.id}", on_click="ignore"
        )
        if run.job.dataset not in datasets.KERAS_DATASETS:  # those the script downloads itself

            def npz() -> bytes:
                import io

                buffer = io.BytesIO()
                save_npz(data, buffer)
                return buffer.getvalue()

            columns[2].download_button(
                "Dataset (.npz)",
                npz,
                file_name="dataset.npz",
                key=f"dl_npz_{run.id}",
                on_click="ignore",
                help="The pictures this run trained on, for the training script: keep it beside train_cnn.py.",
            )


def dataset_of(run: Run) -> str:
    """What a run trained on, in words: the dataset, and how many training and test pictures it had."""
    job = run.job
    if job.dataset == "file":
        name = "your classes" if job.dataset_file in st.session_state.get("own_datasets", {}) else "your zip"
    else:
        name = job.dataset
        size = dict(job.dataset_options).get("size", 28)
        name += f" ({size} px)" if size != 28 else ""
    data = run_dataset(run)
    if data is None:
        return name
    return f"{name}: {len(data.x_train):,} training, {len(data.x_test):,} test pictures"


def continue_button(run: Run) -> None:
    """An interrupted run goes on from its last checkpoint: the same run, its curve growing again."""
    if st.button("Continue training", key=f"continue_{run.id}", type="primary", icon=":material/play_arrow:"):
        try:
            run_manager().resume(run.id, owner())
        except InvalidInput as error:
            st.error(str(error))
            return
        # The run keeps its id, so the list still shows it (and its selectbox, already drawn in this
        # run, may not be set here: Streamlit refuses, and the page would stop polling).
        st.rerun(scope="app")  # the panel polls again while it trains


def delete_button(run: Run) -> None:
    """Delete a finished run (asked once more first): its curves, results, model and checkpoints."""
    with st.popover("Delete this run", icon=":material/delete:"):
        st.caption(f"{run.label}: its curves, results, model and checkpoints are deleted for good.")
        if st.button("Delete it", key=f"delete_{run.id}", type="primary"):
            run_manager().delete(run.id, owner())
            st.session_state.pop("trainer_run", None)
            st.rerun(scope="app")


def comparison_table(runs: list[Run]) -> pd.DataFrame:
    """One row per run: the data it trained on, its parameters, its last training and validation
    accuracy, test accuracy and training time."""

    def last(run: Run, key: str) -> str:
        values = [epoch[key] for epoch in run.epochs if key in epoch]
        return f"{values[-1]:.1%}" if values else ""

    return pd.DataFrame(
        {
            "run": [run.label for run in runs],
            "dataset": [dataset_of(run) for run in runs],
            "parameters": [f"{run.params:,}" if run.params else "" for run in runs],
            "epochs": [len(run.epochs) for run in runs],
            "training accuracy": [last(run, "accuracy") for run in runs],
            "validation accuracy": [last(run, "val_accuracy") for run in runs],
            "test accuracy": [f"{run.evaluation.test_accuracy:.1%}" if run.evaluation else "" for run in runs],
            **trainer_boxes.compared_columns(runs),
            "time": [f"{run.train_seconds:.0f} s" if run.train_seconds else "" for run in runs],
        }
    )


def phase_of(runs) -> tuple:
    """Which runs train and which wait. The live panel redraws the whole page when this changes from
    what the page was drawn with, so it can poll fast (curves growing) or slowly (a queue position)."""
    return tuple((run.id, run.state == RunState.QUEUED) for run in runs if not run.done)


def live_runs(was: tuple, panel: str) -> None:
    """The runs panel: status, curves, stop, results, comparison. `panel` names the fragment drawing it."""
    manager = run_manager()
    runs = manager.runs_for(owner())
    if st.session_state.pop("trainer_redraw", False) or (was and phase_of(runs) != was):
        # A run left the queue or ended: poll at the new pace, show results everywhere. Before drawing:
        # results drawn here first were replaced a moment later by the new panel's, and a click on the
        # confusion matrix in between went to a chart whose fragment was gone (the click was lost).
        st.rerun(scope="app")
    if problem := kept.problem():
        st.warning(f"Your runs are not being kept right now. {problem}")
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
    run_status(run)
    if not run.done:
        # A callback, not the button's return value: Streamlit calls it with the click's widget state,
        # so the click stops this run even when the fragment's timed redraw is running at that moment.
        st.button("Stop", key="trainer_stop", icon=":material/stop:", on_click=manager.stop, args=(run.id, owner()))
    if run.state == RunState.INTERRUPTED:
        continue_button(run)
    if run.state != RunState.QUEUED and not (run.done and not run.batches and not run.epochs):
        live_curves(run)  # not for a run still waiting, or one cancelled before it began: nothing to draw
    if run.done:
        data = run_dataset(run)
        results(run, data, panel=panel)
        downloads(run, data)
        own_live.after_training(run, data)  # your own classes: the live test and take-home files
        delete_button(run)
    finished = [run for run in runs if run.epochs]
    if len(finished) > 1:
        st.markdown("**Compare runs**")
        labels = {run.id: run.label for run in finished}
        compared(list(labels))
        picked = st.multiselect("Runs", list(labels), format_func=labels.get, key=COMPARED, persist_state="session")
        chosen_runs = [run for run in finished if run.id in picked]
        if chosen_runs:
            # A table, not a data grid: it wraps long run names and datasets instead of cutting them
            # off, and fits a 1024-pixel projector without a scroll bar.
            st.table(comparison_table(chosen_runs), hide_index=True)
        left, right = st.columns(2)
        # Updated in place: a run in the comparison that is still training adds a point a second.
        live_chart(charts.compare(chosen_runs, "accuracy"), key="compare_acc", container=left)
        live_chart(charts.compare(chosen_runs, "loss"), key="compare_loss", container=right)


COMPARED = "trainer_cmp"  # the runs under Compare runs
PAIRED = "trainer_cmp_pair"  # a pair just started together ("Train both"): compared once both have a point


def compare_pair(run_ids: list[str]) -> None:
    """Runs started together ("Train and compare with"): Compare runs shows exactly them as soon as each
    has an epoch to show (until then, what it showed)."""
    st.session_state[PAIRED] = list(run_ids)


def compared(options: list[str]) -> None:
    """Before the Compare runs list is drawn: its choice, within `options` (runs with an epoch). At first
    the latest three; a pair started together replaces it once both are there."""
    pair = st.session_state.get(PAIRED) or []
    if pair and all(run_id in options for run_id in pair):
        st.session_state[COMPARED] = list(pair)
        st.session_state.pop(PAIRED)
        return
    chosen = st.session_state.get(COMPARED)
    chosen = options[-3:] if chosen is None else [run_id for run_id in chosen if run_id in options]
    st.session_state[COMPARED] = chosen


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


def runs_panel() -> None:
    """The runs section, polling at the pace its runs need."""
    phase = phase_of(run_manager().runs_for(owner()))
    if not phase:
        live_runs_idle()
    elif all(queued for _, queued in phase):
        live_runs_queued(phase)
    else:
        live_runs_training(phase)
