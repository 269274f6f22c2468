"""Where is it?'s URL settings, the run it shows (one of the learner's runs that learned boxes) and
what the views read from it: the test pictures, their true and predicted boxes and classes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from app_support.common.model_source import box_head, load_path
from app_support.common.runs import owner, run_dataset, run_manager
from app_support.common.state import Setting, locked_widget
from cnnviz import localization
from cnnviz.runs import Run

KEEP = "session"
LATEST = "last"  # in a link: the learner's latest finished run that learned boxes
ALL_CLASSES = -1
ORDERS = {"worst": "worst first", "best": "best first"}
SETTINGS = [
    Setting("localize_run", "run", LATEST),
    Setting("localize_iou", "iou", 0.5, bounds=(0.05, 0.95)),
    Setting("localize_pic", "pic", 1, bounds=(1, 100_000)),
    Setting("localize_order", "order", "worst", choices=tuple(ORDERS)),
    Setting("localize_cam", "cam", True),
    Setting("localize_class", "class", ALL_CLASSES, bounds=(ALL_CLASSES, 999)),
    Setting("localize_score", "score", 0.5, bounds=(0.0, 1.0)),
]
TRAINER_PAGE = "pages/trainer.py"


@dataclass(frozen=True)
class Shown:
    """A finished box run and its test pictures, as the views read them (indices: the test split)."""

    run: Run
    pictures: np.ndarray  # uint8 (N, H, W, C)
    labels: np.ndarray  # (N,) true classes
    true_boxes: np.ndarray  # float64 (N, 4) normalised
    boxes: np.ndarray  # float64 (N, 4) predicted, normalised, corners in order
    predictions: np.ndarray  # (N,) predicted classes
    scores: np.ndarray  # (N,) the predicted class's probability
    ious: np.ndarray  # (N,)
    class_names: tuple[str, ...]

    @property
    def arrays(self) -> tuple:
        """What cnnviz.localization's measures take, in their order."""
        return self.true_boxes, self.labels, self.boxes, self.predictions, self.scores

    def right(self, threshold: float) -> np.ndarray:
        """bool (N,): right class and IoU at least `threshold`."""
        return localization.correct(self.true_boxes, self.labels, self.boxes, self.predictions, iou_threshold=threshold)

    def order(self, worst_first: bool = True) -> np.ndarray:
        """Test picture indices, worst first (wrong class, then lowest IoU), or best first."""
        order = self.run.evaluation.worst_first(self.labels)
        return order if worst_first else order[::-1]

    def class_head(self):
        return box_head(self.run.model_path, "class")

    def box_outputs(self, index: int) -> np.ndarray:
        """The box head's four numbers for one test picture, as it gives them (corners in any order)."""
        return np.asarray(box_head(self.run.model_path, "box").predict(self.pictures[index][None], verbose=0))[0]

    def model(self):
        return load_path(self.run.model_path)


def box_runs() -> list[Run]:
    """The learner's finished runs that learned boxes and have their test results, oldest first."""
    return [
        run
        for run in run_manager().runs_for(owner())
        if run.job.boxes is not None and run.model_path and hasattr(run.evaluation, "mean_iou")
    ]


def choose_run() -> Shown | None:
    """The run picker; the run shown, or None after saying what to do (no run yet, its pictures gone)."""
    runs = box_runs()
    if not runs:
        st.info(
            "No run has learned boxes yet. In the Trainer, pick **MNIST digits with boxes** (or the shapes, or "
            "your own zip with boxes) and press Train; its pictures and boxes appear here once it has finished. "
            "In the lesson *Where is it?*, its first step trains one."
        )
        st.page_link(
            TRAINER_PAGE, label="Open the Trainer with the digits with boxes", query_params={"dataset": "mnist-boxes"}
        )
        return None
    options = {run.id: run.label for run in reversed(runs)}
    if st.session_state.get("localize_run") not in options:  # "last", or a run that is gone
        st.session_state["localize_run"] = next(iter(options))
    chosen = locked_widget(
        st.selectbox,
        "run",
        "Run",
        list(options),
        format_func=options.get,
        key="localize_run",
        persist_state=KEEP,
        width=520,
    )
    run = next(run for run in runs if run.id == chosen)
    data = run_dataset(run)
    evaluation = run.evaluation
    if data is None or len(data.y_test) != len(evaluation.predictions) or not hasattr(data, "boxes_test"):
        st.warning(f"{run.label}: its test pictures are no longer at hand here, so only its figures can be shown.")
        return None
    return Shown(
        run,
        data.x_test,
        np.asarray(data.y_test),
        np.asarray(data.boxes_test, dtype=np.float64),
        np.asarray(evaluation.boxes, dtype=np.float64),
        np.asarray(evaluation.predictions),
        np.asarray(evaluation.confidences, dtype=np.float64),
        np.asarray(evaluation.ious, dtype=np.float64),
        tuple(data.class_names),
    )
