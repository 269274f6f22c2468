"""cnnviz.localization: IoU and the tutorial's 11-point example by hand, and mean average precision
against pycocotools' COCOeval (the reference COCO itself publishes) on random detections."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from cnnviz import localization
from cnnviz.errors import InvalidInput
from cnnviz.localization import (
    COCO_IOU_THRESHOLDS,
    LossWeights,
    eleven_point_ap,
    iou,
    max_precisions,
    mean_average_precision,
    precision_recall,
)

# The tutorial's example (Geron, Hands-On Machine Learning, ch. 14, "Mean Average Precision"):
# precisions at recall 0, 0.1, ..., 1.
TUTORIAL_PRECISIONS = [0.91, 0.94, 0.96, 0.94, 0.95, 0.92, 0.80, 0.60, 0.45, 0.20, 0.10]


# --- IoU ------------------------------------------------------------------------------------------


def test_iou_known_answers():
    assert iou((0, 0, 2, 2), (0, 0, 2, 2)) == 1.0
    assert iou((0, 0, 2, 2), (1, 1, 3, 3)) == pytest.approx(1 / 7)  # overlap 1, together 4 + 4 - 1
    assert iou((0, 0, 4, 2), (2, 0, 6, 2)) == pytest.approx(4 / 12)
    assert iou((0, 0, 10, 10), (2, 2, 4, 4)) == pytest.approx(4 / 100)  # one inside the other
    assert iou((0, 0, 2, 2), (2, 0, 4, 2)) == 0.0  # touching edges: no overlap
    assert iou((0, 0, 1, 1), (5, 5, 6, 6)) == 0.0
    assert iou((0.1, 0.1, 0.5, 0.5), (0.3, 0.3, 0.7, 0.7)) == pytest.approx(0.04 / 0.28)  # normalised


def test_iou_of_paired_boxes_and_broadcasting():
    a = np.array([[0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 4, 2]])
    b = np.array([[0, 0, 2, 2], [1, 1, 3, 3], [2, 0, 6, 2]])
    np.testing.assert_allclose(iou(a, b), [1, 1 / 7, 1 / 3])
    np.testing.assert_allclose(iou((0, 0, 2, 2), b), [1, 1 / 7, 0])
    assert iou(a[:1], b[:1]).shape == (1,)


@pytest.mark.parametrize(
    ("box", "message"),
    [
        ((2, 0, 2, 4), r"Box a = \(2, 0, 2, 4\) is not a box: x_max must be more than x_min"),
        ((3, 0, 1, 4), "not a box"),
        ((0, 5, 4, 1), "y_max more than y_min"),
        ((0, 0, np.nan, 1), "finite"),
        ((0, 0, 1), "one box"),
    ],
)
def test_a_bad_box_is_named(box, message):
    with pytest.raises(InvalidInput, match=message):
        iou(box, (0, 0, 1, 1))


def test_a_bad_box_among_several_is_named_by_its_row():
    with pytest.raises(InvalidInput, match=r"Box b\[1\] = \(0, 0, 0, 1\)"):
        iou(np.ones((2, 4)) * [0, 0, 1, 1], [[0, 0, 1, 1], [0, 0, 0, 1]])


def test_where_the_heat_is():
    heat = np.zeros((8, 10))
    heat[3, 5] = 1.0  # the peak's centre is at (5.5, 3.5)
    heat[0, 0] = 0.5
    assert localization.peak_in_box(heat, (5, 3, 6, 4))
    assert not localization.peak_in_box(heat, (0, 0, 5, 3))
    assert localization.heat_in_box(heat, (4, 2, 8, 6)) == pytest.approx(1 / 1.5)
    assert localization.heat_in_box(np.zeros((4, 4)), (0, 0, 2, 2)) == 0.0
    with pytest.raises(InvalidInput, match=r"\(H, W\)"):
        localization.peak_in_box(np.zeros(5), (0, 0, 1, 1))


# --- the tutorial's 11 points ---------------------------------------------------------------------


def test_the_tutorials_eleven_point_example():
    envelope = max_precisions(TUTORIAL_PRECISIONS)
    np.testing.assert_allclose(envelope, [0.96, 0.96, 0.96, 0.95, 0.95, 0.92, 0.80, 0.60, 0.45, 0.20, 0.10])
    assert envelope.sum() == pytest.approx(7.85)
    assert eleven_point_ap(TUTORIAL_PRECISIONS) == pytest.approx(7.85 / 11)
    assert round(eleven_point_ap(TUTORIAL_PRECISIONS), 4) == 0.7136


def test_eleven_point_ap_needs_eleven_precisions_in_range():
    with pytest.raises(InvalidInput, match="11 precisions"):
        eleven_point_ap([1.0, 0.5])
    with pytest.raises(InvalidInput, match="from 0 to 1"):
        max_precisions([0.5, 1.5])
    with pytest.raises(InvalidInput, match="non-empty"):
        max_precisions([])


# --- precision-recall curves by hand --------------------------------------------------------------

# Four pictures of class 0 and one of class 1; the 0.4 prediction misplaces its box, the 0.3 one
# calls a 1 a 0. By score: right, right, wrong box, wrong class, right.
TRUE = np.array([[0, 0, 10, 10]] * 5, dtype=float)
TRUE_LABELS = np.array([0, 0, 0, 1, 0])
PRED = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30], [0, 0, 10, 10], [0, 0, 9, 10]], dtype=float)
PRED_LABELS = np.array([0, 0, 0, 0, 0])
SCORES = np.array([0.9, 0.8, 0.4, 0.3, 0.2])


def test_precision_recall_curve_by_hand():
    curve = precision_recall(TRUE, TRUE_LABELS, PRED, PRED_LABELS, SCORES, class_index=0)
    assert curve.right.tolist() == [True, True, False, False, True]
    np.testing.assert_allclose(curve.precision, [1, 1, 2 / 3, 2 / 4, 3 / 5])
    np.testing.assert_allclose(curve.recall, [1 / 4, 2 / 4, 2 / 4, 2 / 4, 3 / 4])
    np.testing.assert_allclose(curve.envelope, [1, 1, 2 / 3, 3 / 5, 3 / 5])
    # Recall levels up to 0.5 are reached with precision 1, up to 0.75 with 3/5, never beyond.
    expected = np.array([1.0] * 51 + [0.6] * 25 + [0.0] * 25)
    assert curve.average_precision == pytest.approx(expected.mean())
    np.testing.assert_allclose(curve.precision_at(), [1, 1, 1, 1, 1, 1, 0.6, 0.6, 0, 0, 0])
    assert curve.eleven_point_ap == pytest.approx(7.2 / 11)
    # Class 1 has a true object that nobody predicted as a 1: average precision 0.
    assert precision_recall(TRUE, TRUE_LABELS, PRED, PRED_LABELS, SCORES, class_index=1).average_precision == 0.0
    # At IoU 0.85 the second box (IoU 0.81) no longer counts.
    strict = precision_recall(TRUE, TRUE_LABELS, PRED, PRED_LABELS, SCORES, class_index=0, iou_threshold=0.85)
    assert strict.right.tolist() == [True, False, False, False, True]


def test_mean_average_precision_averages_classes_with_a_true_object():
    ap = localization.average_precisions(TRUE, TRUE_LABELS, PRED, PRED_LABELS, SCORES, num_classes=3)
    assert np.isnan(ap[2]) and ap[1] == 0.0
    assert mean_average_precision(TRUE, TRUE_LABELS, PRED, PRED_LABELS, SCORES) == pytest.approx(ap[0] / 2)
    perfect = mean_average_precision(TRUE, TRUE_LABELS, TRUE, TRUE_LABELS, SCORES, iou_thresholds=COCO_IOU_THRESHOLDS)
    assert perfect == 1.0
    assert localization.coco_ap(TRUE, TRUE_LABELS, TRUE, TRUE_LABELS, SCORES) == 1.0


def test_correct_at_a_threshold():
    assert localization.correct(TRUE, TRUE_LABELS, PRED, PRED_LABELS).tolist() == [True, True, False, False, True]
    assert localization.correct(TRUE, TRUE_LABELS, PRED, PRED_LABELS, iou_threshold=0.85).sum() == 2
    with pytest.raises(InvalidInput, match="IoU threshold"):
        localization.correct(TRUE, TRUE_LABELS, PRED, PRED_LABELS, iou_threshold=1.5)


def test_mismatched_or_bad_inputs_are_refused():
    with pytest.raises(InvalidInput, match="one true box"):
        mean_average_precision(TRUE, TRUE_LABELS[:3], PRED, PRED_LABELS, SCORES)
    with pytest.raises(InvalidInput, match="class numbers"):
        mean_average_precision(TRUE, TRUE_LABELS - 1, PRED, PRED_LABELS, SCORES)
    flipped = PRED.copy()
    flipped[2, [0, 2]] = flipped[2, [2, 0]]
    with pytest.raises(InvalidInput, match=r"pred_boxes\[2\] = \(30, 20, 20, 30\)"):
        mean_average_precision(TRUE, TRUE_LABELS, flipped, PRED_LABELS, SCORES)
    with pytest.raises(InvalidInput, match="scores"):
        mean_average_precision(TRUE, TRUE_LABELS, PRED, PRED_LABELS, SCORES * np.nan)


def test_loss_weights_are_checked():
    assert LossWeights().validate() == LossWeights(0.8, 0.2)
    with pytest.raises(InvalidInput, match="box weight"):
        LossWeights(box_weight=-1).validate()
    with pytest.raises(InvalidInput, match="both be 0"):
        LossWeights(0, 0).validate()


# --- against pycocotools --------------------------------------------------------------------------


def coco_map(true_boxes, true_labels, pred_boxes, pred_labels, scores, thresholds, *, num_classes):
    """COCOeval (bbox) on the same data: picture i is image i + 1, class k category k + 1, boxes as
    COCO's [x, y, width, height]; every category listed, so classes without a true object are -1."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def xywh(box):
        return [float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1])]

    truth = COCO()
    truth.dataset = {
        "images": [{"id": i + 1} for i in range(len(true_boxes))],
        "categories": [{"id": k + 1} for k in range(num_classes)],
        "annotations": [
            {
                "id": i + 1,
                "image_id": i + 1,
                "category_id": int(label) + 1,
                "bbox": xywh(box),
                "area": float((box[2] - box[0]) * (box[3] - box[1])),
                "iscrowd": 0,
            }
            for i, (box, label) in enumerate(zip(true_boxes, true_labels, strict=True))
        ],
    }
    with contextlib.redirect_stdout(io.StringIO()):  # COCOeval prints its progress
        truth.createIndex()
        results = truth.loadRes(
            [
                {"image_id": i + 1, "category_id": int(label) + 1, "bbox": xywh(box), "score": float(score)}
                for i, (box, label, score) in enumerate(zip(pred_boxes, pred_labels, scores, strict=True))
            ]
        )
        evaluation = COCOeval(truth, results, "bbox")
        evaluation.params.iouThrs = np.asarray(thresholds, dtype=np.float64)
        evaluation.evaluate()
        evaluation.accumulate()
    precision = evaluation.eval["precision"][:, :, :, 0, -1]  # area 'all', 100 detections
    return float(np.mean(precision[precision > -1]))


def random_detections(rng, count, classes):
    """Random true boxes in a 64x64 picture and predictions: the right class most of the time, boxes
    jittered from a little to a lot, scores that tie now and then (COCO breaks ties by picture)."""
    corner = rng.uniform(0, 40, (count, 2))
    size = rng.uniform(4, 24, (count, 2))
    truth = np.concatenate([corner, corner + size], axis=1)
    labels = rng.integers(0, classes, count)
    jitter = rng.normal(0, rng.choice([1.0, 3.0, 8.0]), (count, 4))
    predicted = truth + jitter
    predicted[:, 2:] = np.maximum(predicted[:, 2:], predicted[:, :2] + 0.5)
    guesses = np.where(rng.random(count) < 0.75, labels, rng.integers(0, classes, count))
    scores = np.round(rng.random(count), 1)  # ten values: many ties
    return truth, labels, predicted, guesses, scores


@pytest.mark.parametrize("seed", range(8))
def test_mean_average_precision_equals_pycocotools(seed):
    pytest.importorskip("pycocotools")
    rng = np.random.default_rng(seed)
    classes = int(rng.integers(2, 6))
    arrays = random_detections(rng, int(rng.integers(5, 120)), classes)
    for thresholds in ((0.5,), (0.75,), tuple(COCO_IOU_THRESHOLDS)):
        ours = mean_average_precision(*arrays, iou_thresholds=thresholds)
        reference = coco_map(*arrays, thresholds, num_classes=classes + 1)  # one category nobody has
        assert ours == pytest.approx(reference, abs=1e-12), thresholds
