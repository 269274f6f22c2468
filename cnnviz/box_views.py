"""What the app shows of boxes: a picture with its true and predicted boxes drawn, the pictures of a
box dataset with theirs, where a heatmap's peak falls against a box, one picture's box error and IoU
worked out, and where a score threshold puts a precision-recall curve.

Boxes are ``(x_min, y_min, x_max, y_max)`` normalised to the picture (`cnnviz.box_data`). The
picture is enlarged before the boxes are drawn, so a 64-pixel picture gets crisp, thin outlines.
The true box is drawn solid and green, the predicted one dashed and orange: told apart by their
pattern as well as their colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz import display
from cnnviz.errors import InvalidInput

TRUE_COLOUR = (34, 197, 94)  # green, solid
PREDICTED_COLOUR = (249, 115, 22)  # orange, dashed
PEAK_COLOUR = (255, 255, 255)  # a cross
OUTLINE = (20, 20, 20)  # under every mark
OVERLAP_COLOUR = (250, 204, 21)  # yellow, shading where the boxes overlap
CORNERS = ("x_min", "y_min", "x_max", "y_max")


def _rgb(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) from (H, W), (H, W, 1) or (H, W, 3)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise InvalidInput(f"A picture must be (H, W), (H, W, 1) or (H, W, 3), got shape {image.shape}.")
    return np.ascontiguousarray(image.astype(np.uint8))


def _corners(box, size: tuple[int, int], *, least: int = 1) -> tuple[int, int, int, int]:
    """Pixel corners (left, top, right, bottom), both included, of a normalised box in a picture of
    `size` (height, width), kept inside it, and at least `least` pixels wide and tall about its
    middle: an untrained box head's boxes are slivers, which drawn to scale would not be seen."""
    height, width = size
    x0, y0, x1, y1 = (float(v) for v in np.asarray(box, dtype=np.float64).reshape(4))
    sides = []
    for low, high, extent in ((x0, x1, width), (y0, y1, height)):
        first, last = round(low * extent), round(high * extent) - 1
        if last - first + 1 < least:
            middle = (low + high) / 2 * extent
            first = round(middle - least / 2)
            last = first + least - 1
        first = min(max(first, 0), extent - least)
        sides.append((first, min(max(last, first), extent - 1)))
    (left, right), (top, bottom) = sides
    return left, top, right, bottom


def _dashed(image: np.ndarray, corners, colour, thickness: int) -> None:
    import cv2

    left, top, right, bottom = corners
    dash = max(4, 3 * thickness)
    sides = (
        (left, right, top, True),
        (left, right, bottom, True),
        (top, bottom, left, False),
        (top, bottom, right, False),
    )
    for a, b, fixed, horizontal in sides:
        for start in range(a, b + 1, 2 * dash):
            end = min(start + dash - 1, b)
            if horizontal:
                cv2.line(image, (start, fixed), (end, fixed), colour, thickness)
            else:
                cv2.line(image, (fixed, start), (fixed, end), colour, thickness)


def draw_boxes(
    image: np.ndarray,
    *,
    true_box=None,
    predicted_box=None,
    peak: tuple[float, float] | None = None,
    overlap: bool = False,
    min_side: int = 192,
) -> np.ndarray:
    """`image` enlarged to at least `min_side` pixels, with the true box (solid green), the predicted
    box (dashed orange) and a heatmap's `peak` (a white cross, normalised (x, y)) drawn on it.

    Parameters
    ----------
    image : uint8 (H, W), (H, W, 1) or (H, W, 3).
    true_box, predicted_box : normalised (x_min, y_min, x_max, y_max), or None to leave out.
    peak : normalised (x, y), e.g. `heat_peak` of a heatmap, or None.
    overlap : shade where the two boxes overlap (yellow): the intersection of IoU.

    Returns
    -------
    uint8 (H', W', 3), H' and W' whole multiples of H and W.
    """
    import cv2

    big = np.ascontiguousarray(display.enlarge(_rgb(image), min_side=min_side))
    size = big.shape[:2]
    thickness = max(2, min(size) // 100)
    if overlap and true_box is not None and predicted_box is not None:
        (a0, b0, a1, b1), (c0, d0, c1, d1) = _corners(true_box, size), _corners(predicted_box, size)
        left, top, right, bottom = max(a0, c0), max(b0, d0), min(a1, c1), min(b1, d1)
        if right >= left and bottom >= top:
            region = big[top : bottom + 1, left : right + 1].astype(np.float32)
            big[top : bottom + 1, left : right + 1] = (0.55 * region + 0.45 * np.array(OVERLAP_COLOUR)).astype(np.uint8)
    # Each mark drawn twice, dark and wide under the colour: it stays visible on a white digit and
    # on a heatmap's reds and greens alike.
    for colour, width in ((OUTLINE, thickness + 2), (None, thickness)):
        if true_box is not None:
            left, top, right, bottom = _corners(true_box, size)
            cv2.rectangle(big, (left, top), (right, bottom), colour or TRUE_COLOUR, width)
        if predicted_box is not None:
            _dashed(big, _corners(predicted_box, size, least=6 * thickness), colour or PREDICTED_COLOUR, width)
        if peak is not None:
            x, y = round(peak[0] * size[1]), round(peak[1] * size[0])
            arm = 3 * thickness
            cv2.line(big, (x - arm, y), (x + arm, y), colour or PEAK_COLOUR, width)
            cv2.line(big, (x, y - arm), (x, y + arm), colour or PEAK_COLOUR, width)
    return big


def boxes_grid(dataset, *, per_class: int = 3, classes_per_row: int = 2, min_side: int = 128, gap: int = 4):
    """The first `per_class` training pictures of each class of a box dataset (`cnnviz.box_data.BoxDataset`),
    each enlarged with its true box drawn, `classes_per_row` classes to a row: uint8 RGB (H, W, 3)."""
    tiles = []
    for k in range(dataset.num_classes):
        chosen = np.flatnonzero(dataset.y_train == k)[:per_class]
        drawn = [draw_boxes(dataset.x_train[i], true_box=dataset.boxes_train[i], min_side=min_side) for i in chosen]
        tiles.append(drawn)
    shown = [tile for drawn in tiles for tile in drawn]
    if not shown:
        raise InvalidInput("This dataset has no training pictures to show.")
    blank = np.full_like(shown[0], 255)
    padded = [tile for drawn in tiles for tile in drawn + [blank] * (per_class - len(drawn))]
    return display.tile(padded, columns=per_class * classes_per_row, gap=gap)


def heat_peak(heatmap: np.ndarray) -> tuple[float, float] | None:
    """Where a heatmap (H, W) is highest, as the normalised (x, y) of that pixel's centre; None for a
    flat map (all one value: a heatmap that points nowhere). The first such pixel on a tie."""
    values = np.asarray(heatmap, dtype=np.float64)
    if values.ndim != 2 or not values.size:
        raise InvalidInput(f"A heatmap must be (H, W), got shape {values.shape}.")
    if not np.isfinite(values).all() or values.max() == values.min():
        return None
    row, column = np.unravel_index(int(values.argmax()), values.shape)
    return (column + 0.5) / values.shape[1], (row + 0.5) / values.shape[0]


def peak_inside(heatmap: np.ndarray, box) -> bool | None:
    """Whether the heatmap's peak falls inside the normalised `box` (`cnnviz.localization.peak_in_box`,
    the box in the heatmap's pixels); None for a flat map, which has no peak.

    >>> heat = np.zeros((8, 8)); heat[2, 6] = 1  # the peak at x = 6.5/8, y = 2.5/8
    >>> peak_inside(heat, (0.5, 0.0, 1.0, 0.5)), peak_inside(heat, (0.0, 0.0, 0.5, 0.5))
    (True, False)
    """
    from cnnviz import localization

    if heat_peak(heatmap) is None:
        return None
    height, width = np.shape(heatmap)
    pixels = np.asarray(box, dtype=np.float64).reshape(4) * np.array([width, height, width, height])
    return localization.peak_in_box(heatmap, pixels)


# --- one picture's box, worked out --------------------------------------------------------------


@dataclass(frozen=True)
class BoxArithmetic:
    """A predicted box against the true one, the way training and IoU measure it. Corners are
    normalised (fractions of the picture), areas in pixels of a picture of `size`."""

    size: tuple[int, int]  # (height, width) of the picture
    true_box: np.ndarray  # float64 (4,) x_min, y_min, x_max, y_max
    raw: np.ndarray  # float64 (4,) the box head's four numbers as it gave them
    differences: np.ndarray  # raw - true, (4,)
    squared: np.ndarray  # differences ** 2, (4,)
    box_loss: float  # the mean of `squared`: this picture's mean squared error, what the box head learns from
    predicted_box: np.ndarray  # float64 (4,) `raw` with its corners put in order (what is drawn and scored)
    overlap_area: float  # pixels both boxes cover
    true_area: float
    predicted_area: float
    union_area: float  # true + predicted - overlap: what the two cover together
    iou: float  # overlap / union


def box_arithmetic(true_box, raw, size: tuple[int, int]) -> BoxArithmetic:
    """`BoxArithmetic` of the box head's `raw` four numbers (normalised, corners in any order) against
    the normalised `true_box`, areas in a picture of `size` (height, width).

    >>> worked = box_arithmetic((0.25, 0.25, 0.75, 0.75), (0.5, 0.5, 1.0, 1.0), (8, 8))
    >>> worked.overlap_area, worked.union_area, round(worked.iou, 4), worked.box_loss
    (4.0, 28.0, 0.1429, 0.0625)
    """
    from cnnviz import localization

    truth = np.asarray(true_box, dtype=np.float64).reshape(4)
    given = np.asarray(raw, dtype=np.float64).reshape(4)
    if not (np.isfinite(truth).all() and np.isfinite(given).all()):
        raise InvalidInput("A box's corners must be finite numbers.")
    ordered = np.array(
        [min(given[0], given[2]), min(given[1], given[3]), max(given[0], given[2]), max(given[1], given[3])]
    )
    ordered[2:] = np.maximum(ordered[2:], ordered[:2] + 1e-3)  # at least a sliver wide, as box_model.predict keeps it
    height, width = size
    scale = np.array([width, height, width, height], dtype=np.float64)
    a, b = truth * scale, ordered * scale
    overlap = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    true_area, predicted_area = (a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])
    differences = given - truth
    return BoxArithmetic(
        size=(int(height), int(width)),
        true_box=truth,
        raw=given,
        differences=differences,
        squared=differences**2,
        box_loss=float(np.mean(differences**2)),
        predicted_box=ordered,
        overlap_area=float(overlap),
        true_area=float(true_area),
        predicted_area=float(predicted_area),
        union_area=float(true_area + predicted_area - overlap),
        iou=float(localization.iou(a, b)),
    )


# --- precision and recall at a score threshold -----------------------------------------------------


@dataclass(frozen=True)
class OperatingPoint:
    """Where keeping only the predictions at least `min_score` sure puts one class's curve."""

    min_score: float
    kept: int  # predictions of the class at least that sure
    right: int  # of them, right (class and IoU)
    true_count: int  # the class's true objects
    precision: float  # right / kept (1 when none is kept: nothing said, nothing wrong)
    recall: float  # right / true_count


def operating_point(curve, min_score: float) -> OperatingPoint:
    """The precision and recall of a `cnnviz.localization.PRCurve` when predictions below `min_score`
    (0 to 1) are dropped: raising it walks back along the curve towards high precision and low recall."""
    if not 0 <= float(min_score) <= 1:
        raise InvalidInput(f"A score threshold is a number from 0 to 1, got {min_score!r}.")
    kept = int((np.asarray(curve.scores) >= min_score).sum())  # scores are sorted, highest first
    right = int(np.asarray(curve.right)[:kept].sum())
    precision = right / kept if kept else 1.0
    recall = right / curve.true_count if curve.true_count else 0.0
    return OperatingPoint(float(min_score), kept, right, int(curve.true_count), precision, recall)


@dataclass(frozen=True)
class ClassAP:
    """One class's average precisions (`class_table`)."""

    class_index: int
    true_count: int  # test pictures of this class
    predicted: int  # test pictures predicted as this class
    eleven_point: float  # the tutorial's 11-point AP at the chosen IoU threshold
    coco: float  # COCO's 101-point AP at the chosen IoU threshold
    ap50: float  # COCO's AP at IoU 0.5
    ap50_95: float  # COCO's AP averaged over IoU 0.5, 0.55, ..., 0.95


def class_table(
    true_boxes, true_labels, pred_boxes, pred_labels, scores, *, num_classes: int, iou_threshold: float = 0.5
) -> list[ClassAP]:
    """Every class's average precisions, the tutorial's and COCO's (arrays as
    `cnnviz.localization.mean_average_precision` takes them); classes without a true object are left
    out, as the mean average precision leaves them out."""
    from cnnviz import localization

    arrays = (true_boxes, true_labels, pred_boxes, pred_labels, scores)
    labels, guesses = np.asarray(true_labels), np.asarray(pred_labels)
    table = []
    for k in range(num_classes):
        count = int((labels == k).sum())
        if not count:
            continue
        curve = localization.precision_recall(*arrays, class_index=k, iou_threshold=iou_threshold)
        strict = [
            localization.precision_recall(*arrays, class_index=k, iou_threshold=float(t)).average_precision
            for t in localization.COCO_IOU_THRESHOLDS
        ]
        table.append(
            ClassAP(
                k,
                count,
                int((guesses == k).sum()),
                curve.eleven_point_ap,
                curve.average_precision,
                strict[0],
                float(np.mean(strict)),
            )
        )
    return table
