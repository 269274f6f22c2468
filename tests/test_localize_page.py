"""A run that learns boxes, from the Trainer to Where is it? (AppTest): the loss weights reach the job,
the curves of both heads and the mean IoU are drawn, the results name the box measures and offer the
two-headed script; Where is it? shows the run's own numbers (each picture's verdict, the box loss and
IoU worked out, precision and recall at a score threshold, the 11-point sum, COCO's averages) and
the IoU slider redraws which predictions count; the lesson's steps open on the run; a box run opens
in Upload & predict with its box drawn. One tiny run (100 pictures, one epoch) serves every check."""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cnnviz import box_views, lessons, localization
from tests.conftest import ROOT
from tests.test_app import until_finished

TIMEOUT = 120
pytestmark = pytest.mark.usefixtures("as_a_running_server")


def texts(at: AppTest, kind: str) -> str:
    return " ".join(block.value for block in at.get(kind))


def image_captions(at: AppTest) -> str:
    """Every picture's caption on the page (AppTest has no element type for st.image: read its proto)."""
    return " ".join(image.caption for element in at.get("image") for image in element.proto.imgs)


def test_where_is_it_without_a_box_run_says_how_to_make_one():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/localize.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "No run has learned boxes yet" in texts(at, "info")


def test_a_box_run_from_the_trainer_to_where_is_it():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/trainer.py").run()
    at.selectbox(key="trainer_dataset").set_value("mnist-boxes").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Training samples with their boxes" in image_captions(at)
    at.toggle(key="trainer_aug_mnist-boxes").set_value(True).run()
    at.button(key="trainer_train").click().run()
    assert "Augmentation moves and turns the pictures but not their boxes" in texts(at, "error")
    at.toggle(key="trainer_aug_mnist-boxes").set_value(False).run()
    at.number_input(key="trainer_cw_mnist-boxes").set_value(0.0).run()
    at.number_input(key="trainer_bw_mnist-boxes").set_value(0.0).run()
    assert "cannot both be 0" in texts(at, "error") and at.button(key="trainer_train").disabled
    at.number_input(key="trainer_cw_mnist-boxes").set_value(0.7).run()
    at.number_input(key="trainer_bw_mnist-boxes").set_value(0.3).run()
    at.number_input(key="trainer_per_class_mnist-boxes").set_value(10).run()
    at.number_input(key="trainer_epochs_mnist-boxes").set_value(1).run()
    at.button(key="trainer_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    until_finished(at, timeout=400)

    from app_support.common.runs import run_manager

    (run,) = run_manager().runs_for(at.session_state["_cnnviz_owner"])
    assert (run.job.boxes.class_weight, run.job.boxes.box_weight) == (0.7, 0.3)
    last = run.epochs[-1]
    assert all(np.isfinite(last[key]) for key in ("class_loss", "box_loss", "mean_iou", "val_mean_iou"))
    assert "Loss** is what training lowers" in texts(at, "caption")  # the box run's curves and their note
    evaluation = run.evaluation
    metrics = {metric.label: metric.value for metric in at.metric}
    assert (
        metrics["Test mean IoU"] == f"{evaluation.mean_iou:.2f}"
        and metrics["AP@0.5 (COCO)"] == f"{evaluation.map50:.2f}"
    )
    assert {"Training script (.py)", "Dataset (.npz)"} <= {b.label for b in at.get("download_button")}
    from app_support.common.model_source import load_path

    # The note under the summary counts the two-headed network's parameters as Keras does.
    assert f"In all {load_path(run.model_path).count_params():,} parameters" in texts(at, "info")

    at.switch_page("pages/localize.py").run()
    assert not at.exception, [e.message for e in at.exception]
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Mean IoU"] == f"{evaluation.mean_iou:.2f}" and metrics["AP@[.5:.95]"] == f"{evaluation.map:.2f}"
    # The picture worked out: the worst one, its box loss and IoU as box_views works them out.
    from app_support.common.runs import run_dataset

    data = run_dataset(run)
    worst = int(evaluation.worst_first(data.y_test)[0])
    line = texts(at, "markdown")
    assert f"IoU {evaluation.ious[worst]:.2f}" in line
    assert f"= **{evaluation.ious[worst]:.2f}**" in line  # the IoU's arithmetic ends on the same number
    right = localization.correct(data.boxes_test, data.y_test, evaluation.boxes, evaluation.predictions)
    assert f"{int(right.sum()):,} of 2,000 test pictures count as right at IoU ≥ 0.5" in texts(at, "caption")
    assert re.search(r"peak falls inside the true box on \d+ of these 12 pictures", texts(at, "caption"))

    # The IoU slider redraws which predictions count.
    at.slider(key="localize_iou").set_value(0.1).run()
    loose = localization.correct(
        data.boxes_test, data.y_test, evaluation.boxes, evaluation.predictions, iou_threshold=0.1
    )
    assert f"{int(loose.sum()):,} of 2,000 test pictures count as right at IoU ≥ 0.1" in texts(at, "caption")
    assert "AP@0.1" in {metric.label for metric in at.metric}

    # One class: the score threshold's place and the 11-point sum, as cnnviz computes them.
    at.selectbox(key="localize_class").set_value(int(evaluation.predictions[worst])).run()
    at.slider(key="localize_score").set_value(0.0).run()
    assert not at.exception, [e.message for e in at.exception]
    k = int(evaluation.predictions[worst])
    arrays = (data.boxes_test, data.y_test, evaluation.boxes, evaluation.predictions, evaluation.confidences)
    curve = localization.precision_recall(*arrays, class_index=k, iou_threshold=0.1)
    point = box_views.operating_point(curve, 0.0)
    said = texts(at, "markdown")
    assert f"{point.kept} pictures predicted as {data.class_names[k]} are kept, {point.right} of them right" in said
    levels = np.round(curve.precision_at(), 3)  # as written, to 3 places, and added up as written
    assert " + ".join(f"{v:.3f}" for v in levels) in said and f"/ 11 = **{levels.sum() / 11:.3f}**" in said
    assert abs(levels.sum() / 11 - curve.eleven_point_ap) < 6e-4  # what the table says, to its rounding
    assert f"**{curve.average_precision:.3f}**" in said
    table = at.dataframe[-1].value
    assert table.iloc[-1]["class"] == "mean: mAP"
    assert table.iloc[-1]["AP@0.5"] == pytest.approx(round(evaluation.map50, 3), abs=1e-3)
    loose_map = localization.mean_average_precision(*arrays, iou_thresholds=(0.1,))
    assert table.iloc[-1]["AP@0.1"] == pytest.approx(round(loose_map, 3), abs=1e-3)

    # The lesson's steps that look at the run open on it, with what their answers point at.
    for index in range(1, len(lessons.LESSONS["where-is-it"].steps)):
        at.query_params.clear()
        at.query_params.update(lessons.step_query("where-is-it", index))
        at.switch_page("pages/localize.py").run()
        assert not at.exception, [e.message for e in at.exception]
        assert at.session_state["localize_run"] == run.id
        assert "No run has learned boxes" not in texts(at, "info")
    assert "is this picture's box loss" in texts(at, "caption")

    # Upload & predict: the class head answers and the box is drawn.
    at.query_params.clear()
    at.switch_page("pages/predict.py").run()
    at.selectbox(key="predict_model").set_value(f"run:{run.id}").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Where it is: the predicted box (orange, dashed)" in image_captions(at)

    # Inside the network: the class head by default, the box head on request (its four numbers, and
    # heatmaps of a corner).
    at.switch_page("pages/inside.py").run()
    at.selectbox(key="inside_model").set_value(f"run:{run.id}").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.radio(key="inside_head").value == "class"
    assert "Prediction:" in texts(at, "success") + texts(at, "warning")  # the class head's verdict
    at.radio(key="inside_head").set_value("box").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Box head: left edge" in texts(at, "info")
    at.segmented_control(key="inside_view").set_value("heatmaps").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "why left edge (x_min)?" in image_captions(at)
