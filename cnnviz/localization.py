"""Where is it? Measuring boxes: intersection over union, precision and recall as the score
threshold moves, the tutorial's 11-point average precision and COCO's 101-point one.

A box is ``(x_min, y_min, x_max, y_max)``: pixel edges (a box around pixels 3 to 10 is
``x_min=3, x_max=11``) or the same divided by the picture's width and height (normalised, 0..1).
Each picture holds one true object and gets one prediction (a class, a box and the class's
probability as its score), as the two-headed network of the tutorials makes them
(`cnnviz.box_model`). A prediction is right at an IoU threshold when its class is right and its
box overlaps the true one by at least that much.

`mean_average_precision` equals `pycocotools`' `COCOeval` (iouType 'bbox', area 'all', at most 100
detections, no crowd objects) on the same data: tests/test_localization.py compares them. Pure
NumPy: the Trainer's results and the lesson read it without TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cnnviz.errors import InvalidInput

ELEVEN_RECALLS = np.linspace(0, 1, 11)  # the tutorial's (and PASCAL VOC 2007's) recall levels
# COCOeval's own constructions: np.arange would give slightly different floats, and a recall of
# exactly 0.07 must land on the same side of the level as it does there.
COCO_RECALLS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)


# --- the two-headed network's settings ------------------------------------------------------------


@dataclass(frozen=True)
class LossWeights:
    """How much each head's loss counts in the two-headed network's total (the tutorial: 0.8 / 0.2).

    The total loss is ``class_weight * crossentropy + box_weight * mean squared error``; training
    lowers the total, so a larger weight makes that head learn first and most.
    """

    class_weight: float = 0.8  # the softmax head's crossentropy: *what* the object is
    box_weight: float = 0.2  # the box head's mean squared error on normalised corners: *where* it is

    def validate(self) -> LossWeights:
        """Raise InvalidInput naming a weight out of range (each 0 to 10, not both 0); return self."""
        for name in ("class_weight", "box_weight"):
            value = getattr(self, name)
            number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            if not number or not math.isfinite(value) or not 0 <= value <= 10:
                raise InvalidInput(f"The {name.replace('_', ' ')} must be a number from 0 to 10, got {value!r}.")
        if self.class_weight == 0 and self.box_weight == 0:
            raise InvalidInput("The class and box weights cannot both be 0: nothing would be learned.")
        return self


# One line each for a learner, beside the setting.
LOSS_HELP = {
    "class_weight": "How much getting the class wrong costs (crossentropy of the softmax head). Raise it when "
    "the boxes are good but the classes are not.",
    "box_weight": "How much a misplaced box costs (mean squared error of its four corners, as fractions of the "
    "picture). Raise it when the classes are right but the boxes wander.",
}


# --- boxes ----------------------------------------------------------------------------------------


def _boxes(value, what: str) -> np.ndarray:
    """float64 (N, 4) from one box (4,) or several (N, 4); InvalidInput naming `what` otherwise."""
    try:
        boxes = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} must be numbers (x_min, y_min, x_max, y_max).") from None
    if boxes.ndim == 1:
        boxes = boxes[None]
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise InvalidInput(
            f"{what} must be one box (4,) or boxes (N, 4) as (x_min, y_min, x_max, y_max), got shape {np.shape(value)}."
        )
    if not np.isfinite(boxes).all():
        raise InvalidInput(f"{what} contains a value that is not a finite number.")
    bad = np.flatnonzero((boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1]))
    if len(bad):
        i = int(bad[0])
        x0, y0, x1, y1 = (f"{v:g}" for v in boxes[i])
        where = what if len(boxes) == 1 and np.ndim(value) == 1 else f"{what}[{i}]"
        raise InvalidInput(
            f"{where} = ({x0}, {y0}, {x1}, {y1}) is not a box: x_max must be more than x_min and y_max more than y_min."
        )
    return boxes


def iou(a, b) -> float | np.ndarray:
    """Intersection over union of boxes ``(x_min, y_min, x_max, y_max)``: the overlap's area divided
    by the area the two cover together. 1 for the same box, 0 where they do not overlap.

    Parameters
    ----------
    a, b : one box each, shape (4,), or paired boxes (N, 4) (row i of `a` with row i of `b`; one
        box against N broadcasts). Pixels or normalised, the same for both.

    Returns
    -------
    float for two single boxes, else float64 (N,) in [0, 1].

    Raises
    ------
    InvalidInput
        For a box with ``x_max <= x_min`` or ``y_max <= y_min`` (naming it), or a wrong shape.

    Examples
    --------
    >>> iou((0, 0, 2, 2), (1, 1, 3, 3))  # overlap 1, together 4 + 4 - 1
    0.14285714285714285
    """
    first, second = _boxes(a, "Box a"), _boxes(b, "Box b")
    if len(first) != len(second) and 1 not in (len(first), len(second)):
        raise InvalidInput(f"Paired boxes must be as many: got {len(first)} and {len(second)}.")
    width = np.minimum(first[:, 2], second[:, 2]) - np.maximum(first[:, 0], second[:, 0])
    height = np.minimum(first[:, 3], second[:, 3]) - np.maximum(first[:, 1], second[:, 1])
    overlap = np.where((width > 0) & (height > 0), width * height, 0.0)
    area_a = (first[:, 2] - first[:, 0]) * (first[:, 3] - first[:, 1])
    area_b = (second[:, 2] - second[:, 0]) * (second[:, 3] - second[:, 1])
    result = overlap / (area_a + area_b - overlap)
    return float(result[0]) if np.ndim(a) == 1 and np.ndim(b) == 1 else result


def peak_in_box(heatmap, box) -> bool:
    """Whether the hottest pixel of `heatmap` (H, W), e.g. a Grad-CAM, lies inside `box` (pixel edges,
    the same picture): does the network look where the box says the object is? The pixel's centre
    counts (pixel (row 3, column 5) is at (5.5, 3.5)); the first of equal peaks, in reading order."""
    heat = np.asarray(heatmap, dtype=np.float64)
    if heat.ndim != 2 or not heat.size:
        raise InvalidInput(f"A heatmap is one value per pixel, (H, W); got shape {heat.shape}.")
    x0, y0, x1, y1 = _boxes(box, "The box")[0]
    row, column = np.unravel_index(int(np.argmax(heat)), heat.shape)
    return bool(x0 <= column + 0.5 <= x1 and y0 <= row + 0.5 <= y1)


def heat_in_box(heatmap, box) -> float:
    """The share of `heatmap`'s total (H, W, values >= 0) on the pixels whose centres lie inside `box`
    (pixel edges): 1 when all of the network's attention is on the object, 0 for a flat-zero map."""
    heat = np.asarray(heatmap, dtype=np.float64)
    if heat.ndim != 2 or not heat.size or (heat < 0).any():
        raise InvalidInput("A heatmap is one value of at least 0 per pixel, (H, W).")
    x0, y0, x1, y1 = _boxes(box, "The box")[0]
    rows, columns = np.arange(heat.shape[0]) + 0.5, np.arange(heat.shape[1]) + 0.5
    inside = np.outer((rows >= y0) & (rows <= y1), (columns >= x0) & (columns <= x1))
    total = heat.sum()
    return float(heat[inside].sum() / total) if total > 0 else 0.0


# --- precision and recall -------------------------------------------------------------------------


def max_precisions(precisions) -> np.ndarray:
    """Each precision replaced by the largest one at the same or a higher recall: the tutorial's
    `maximum_precisions`, the envelope that makes a precision-recall curve only go down.

    `precisions` are ordered by recall, lowest first, each in [0, 1]. Returns float64 of the same length.

    >>> max_precisions([0.5, 0.8, 0.6, 0.7]).tolist()
    [0.8, 0.8, 0.7, 0.7]
    """
    values = np.asarray(precisions, dtype=np.float64)
    if values.ndim != 1 or not len(values):
        raise InvalidInput("Precisions must be a non-empty list of numbers, ordered by recall.")
    if not (np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()):
        raise InvalidInput("Each precision must be a number from 0 to 1.")
    return np.flip(np.maximum.accumulate(np.flip(values)))


def eleven_point_ap(precisions) -> float:
    """The tutorial's average precision: the mean of `max_precisions` over its 11 recall levels
    (0, 0.1, ..., 1).

    `precisions` are the 11 precisions at those recall levels (e.g. `PRCurve.precision_at`).
    For the tutorial's list ``[0.91, 0.94, 0.96, 0.94, 0.95, 0.92, 0.80, 0.60, 0.45, 0.20, 0.10]``
    the maxima add up to 7.85, and the average precision is 7.85 / 11 = 0.7136.
    """
    values = max_precisions(precisions)
    if len(values) != len(ELEVEN_RECALLS):
        raise InvalidInput(f"The 11-point average takes 11 precisions, at recall 0, 0.1, ..., 1; got {len(values)}.")
    return float(values.mean())


def _predictions(true_boxes, true_labels, pred_boxes, pred_labels, scores):
    """The five arrays checked: (N, 4) float64 boxes, (N,) int64 labels, (N,) float64 scores."""
    truth, predicted = _boxes(true_boxes, "true_boxes"), _boxes(pred_boxes, "pred_boxes")
    labels = []
    for name, value in (("true_labels", true_labels), ("pred_labels", pred_labels)):
        array = np.asarray(value)
        if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) and (array >= 0).all()):
            raise InvalidInput(f"{name} must be a list of class numbers (whole numbers from 0), one per picture.")
        labels.append(array.astype(np.int64))
    score = np.asarray(scores, dtype=np.float64)
    if score.ndim != 1 or not np.isfinite(score).all():
        raise InvalidInput("scores must be one finite number per picture (the predicted class's probability).")
    counts = {len(truth), len(predicted), len(labels[0]), len(labels[1]), len(score)}
    if len(counts) != 1 or not len(truth):
        raise InvalidInput(
            "Give one true box, true class, predicted box, predicted class and score per picture (at least one "
            f"picture); got {len(truth)}, {len(labels[0])}, {len(predicted)}, {len(labels[1])} and {len(score)}."
        )
    return truth, labels[0], predicted, labels[1], score


def correct(true_boxes, true_labels, pred_boxes, pred_labels, *, iou_threshold: float = 0.5) -> np.ndarray:
    """bool (N,): whether each picture's prediction is right at `iou_threshold` (right class, and
    its box's IoU with the true box at least the threshold): what a threshold slider redraws."""
    truth, labels, predicted, guesses, _ = _predictions(
        true_boxes, true_labels, pred_boxes, pred_labels, np.zeros(len(np.asarray(true_labels)))
    )
    return (guesses == labels) & (iou(truth, predicted) >= _threshold(iou_threshold))


def _threshold(value) -> float:
    if not (isinstance(value, (int, float, np.integer, np.floating)) and 0 < float(value) <= 1):
        raise InvalidInput(f"An IoU threshold is a number above 0 and at most 1, got {value!r}.")
    return float(value)


@dataclass(frozen=True)
class PRCurve:
    """One class's precision-recall curve at one IoU threshold, as COCO and the tutorial build it:
    the class's predictions, highest score first (ties in picture order); after each one, the share
    of them so far that are right (precision) and the share of the class's true objects found so
    far (recall). Lowering the score threshold walks along it."""

    class_index: int
    iou_threshold: float
    scores: np.ndarray  # float64 (D,): the predictions of this class, highest first
    pictures: np.ndarray  # int64 (D,): which picture each prediction is
    right: np.ndarray  # bool (D,): right class (by construction) and IoU at least the threshold
    precision: np.ndarray  # float64 (D,) in [0, 1]
    recall: np.ndarray  # float64 (D,) in [0, 1], never decreasing
    true_count: int  # pictures whose true class is this one

    @property
    def envelope(self) -> np.ndarray:
        """`max_precisions` of the curve: the tutorial's 'max precision' line (D,)."""
        return max_precisions(self.precision) if len(self.precision) else self.precision

    def precision_at(self, recalls=ELEVEN_RECALLS) -> np.ndarray:
        """The envelope's precision at each recall level (the first point reaching it), 0 past the
        highest recall reached: COCO's interpolation, at the tutorial's 11 levels by default."""
        levels = np.asarray(recalls, dtype=np.float64)
        if not len(self.recall):
            return np.zeros(len(levels))
        at = np.searchsorted(self.recall, levels, side="left")
        envelope = np.append(self.envelope, 0.0)
        return envelope[np.minimum(at, len(self.recall))]

    @property
    def average_precision(self) -> float:
        """COCO's average precision: the mean of `precision_at` over 101 recall levels (0, 0.01, ..., 1)."""
        return float(self.precision_at(COCO_RECALLS).mean())

    @property
    def eleven_point_ap(self) -> float:
        """The tutorial's: the mean of `precision_at` over 11 recall levels (0, 0.1, ..., 1)."""
        return eleven_point_ap(self.precision_at(ELEVEN_RECALLS))


def precision_recall(
    true_boxes, true_labels, pred_boxes, pred_labels, scores, *, class_index: int, iou_threshold: float = 0.5
) -> PRCurve:
    """The precision-recall curve of one class at one IoU threshold (arrays as `mean_average_precision`
    takes them). A class nobody predicted has an empty curve; one without true objects, recall 0."""
    truth, labels, predicted, guesses, score = _predictions(true_boxes, true_labels, pred_boxes, pred_labels, scores)
    threshold = _threshold(iou_threshold)
    mine = np.flatnonzero(guesses == class_index)  # picture order: COCO's order for equal scores
    mine = mine[np.argsort(-score[mine], kind="mergesort")]
    right = (labels[mine] == class_index) & (iou(truth[mine], predicted[mine]) >= threshold)
    true_count = int((labels == class_index).sum())
    found = np.cumsum(right).astype(np.float64)
    wrong = np.cumsum(~right).astype(np.float64)
    # COCOeval's own arithmetic (a spacing in the denominator, recall over the true count), so the
    # curve and its levels land on exactly the same floats.
    precision = found / (wrong + found + np.spacing(1))
    recall = found / true_count if true_count else np.zeros(len(found))
    return PRCurve(
        int(class_index), threshold, score[mine], mine.astype(np.int64), right, precision, recall, true_count
    )


def average_precisions(
    true_boxes, true_labels, pred_boxes, pred_labels, scores, *, iou_threshold: float = 0.5, num_classes=None
) -> np.ndarray:
    """COCO's average precision per class at one IoU threshold: float64 (K,), NaN for a class without
    a true object (K: `num_classes`, or one more than the largest class number given)."""
    truth, labels, predicted, guesses, score = _predictions(true_boxes, true_labels, pred_boxes, pred_labels, scores)
    count = int(num_classes) if num_classes is not None else int(max(labels.max(), guesses.max())) + 1
    out = np.full(count, np.nan)
    for k in np.unique(labels):
        if k < count:
            out[k] = precision_recall(
                truth, labels, predicted, guesses, score, class_index=int(k), iou_threshold=iou_threshold
            ).average_precision
    return out


def mean_average_precision(true_boxes, true_labels, pred_boxes, pred_labels, scores, *, iou_thresholds=(0.5,)) -> float:
    """COCO's mean average precision, as `pycocotools`' `COCOeval` (bbox) computes it.

    Parameters
    ----------
    true_boxes : (N, 4) one true box per picture, (x_min, y_min, x_max, y_max), pixels or normalised.
    true_labels : (N,) its class, whole numbers from 0.
    pred_boxes : (N, 4) one predicted box per picture, in the same units.
    pred_labels : (N,) the predicted class.
    scores : (N,) how sure the prediction is (the predicted class's probability); higher first.
    iou_thresholds : the IoU a right prediction needs; (0.5,) gives AP@0.5,
        `COCO_IOU_THRESHOLDS` (0.5, 0.55, ..., 0.95) gives COCO's AP@[.5:.95].

    Returns
    -------
    float in [0, 1]: per class (only classes with a true object), the precision interpolated at 101
    recall levels and averaged; then averaged over the classes and over the thresholds.
    """
    thresholds = np.atleast_1d(np.asarray(iou_thresholds, dtype=np.float64))
    if thresholds.ndim != 1 or not len(thresholds):
        raise InvalidInput("Give at least one IoU threshold, e.g. (0.5,).")
    arrays = _predictions(true_boxes, true_labels, pred_boxes, pred_labels, scores)
    classes = np.unique(arrays[1])
    per_threshold = [
        np.mean(
            [precision_recall(*arrays, class_index=int(k), iou_threshold=float(t)).average_precision for k in classes]
        )
        for t in thresholds
    ]
    return float(np.mean(per_threshold))


def coco_ap(true_boxes, true_labels, pred_boxes, pred_labels, scores) -> float:
    """COCO's headline AP@[.5:.95]: `mean_average_precision` over the IoU thresholds 0.5, 0.55, ..., 0.95."""
    return mean_average_precision(
        true_boxes, true_labels, pred_boxes, pred_labels, scores, iou_thresholds=COCO_IOU_THRESHOLDS
    )
