"""cnnviz.box_views: boxes drawn where they are (pixel by pixel), a heatmap's peak against a box, one
picture's box loss and IoU worked out by hand, and the precision-recall figures against
cnnviz.localization."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz import box_data, box_views, localization
from cnnviz.box_views import OUTLINE, PREDICTED_COLOUR, TRUE_COLOUR
from cnnviz.errors import InvalidInput


def test_boxes_are_drawn_on_their_edges_and_nowhere_else():
    image = np.zeros((16, 16), np.uint8)
    drawn = box_views.draw_boxes(image, true_box=(0.25, 0.25, 0.75, 0.75), min_side=160)  # x10
    assert drawn.shape == (160, 160, 3)
    # The true box covers pixels 4..11: its left edge at x = 40 in the enlarged picture, right at 119.
    assert tuple(drawn[80, 40]) == TRUE_COLOUR and tuple(drawn[80, 119]) == TRUE_COLOUR
    assert tuple(drawn[40, 80]) == TRUE_COLOUR and tuple(drawn[119, 80]) == TRUE_COLOUR
    assert tuple(drawn[80, 80]) == (0, 0, 0)  # inside: the picture as it was
    assert tuple(drawn[5, 5]) == (0, 0, 0)  # outside, far from the edges
    assert tuple(drawn[80, 38]) == OUTLINE  # a dark edge under the colour, for white digits and heatmaps


def test_the_predicted_box_is_dashed_and_the_overlap_shaded():
    image = np.full((16, 16, 3), 100, np.uint8)
    drawn = box_views.draw_boxes(
        image, true_box=(0.0, 0.0, 0.5, 0.5), predicted_box=(0.25, 0.25, 1.0, 1.0), overlap=True, min_side=160
    )
    top = drawn[40, 40:159]  # the predicted box's top edge, left to right
    coloured = np.all(top == PREDICTED_COLOUR, axis=1)
    assert coloured.any() and not coloured.all()  # dashes with gaps
    assert tuple(drawn[45, 45]) != (100, 100, 100)  # inside both: shaded yellow
    assert tuple(drawn[130, 130]) == (100, 100, 100)  # inside the predicted box only: not shaded


def test_a_box_grid_shows_each_class_with_its_boxes():
    data = box_data.mnist_boxes(count=60, seed=3)
    grid = box_views.boxes_grid(data, per_class=3, classes_per_row=2, min_side=128, gap=4)
    assert grid.shape == (5 * 128 + 4 * 4, 6 * 128 + 5 * 4, 3)  # 10 classes: 5 rows of 2 x 3 pictures
    assert np.all(grid == TRUE_COLOUR, axis=-1).any()


def test_the_peak_and_whether_it_is_inside():
    heat = np.zeros((8, 8))
    heat[2, 6] = 1.0
    assert box_views.heat_peak(heat) == (6.5 / 8, 2.5 / 8)
    assert box_views.peak_inside(heat, (0.5, 0.0, 1.0, 0.5)) is True
    assert box_views.peak_inside(heat, (0.0, 0.0, 0.5, 0.5)) is False
    assert box_views.peak_inside(np.zeros((8, 8)), (0, 0, 1, 1)) is None  # a flat map points nowhere
    with pytest.raises(InvalidInput, match="heatmap must be"):
        box_views.heat_peak(np.zeros(8))


def test_one_pictures_arithmetic_by_hand():
    # True box pixels 16..47 of 64 (a 32x32 square); the head says x_max first, then x_min: unordered.
    worked = box_views.box_arithmetic((0.25, 0.25, 0.75, 0.75), (0.875, 0.5, 0.5, 1.0), (64, 64))
    np.testing.assert_allclose(worked.predicted_box, [0.5, 0.5, 0.875, 1.0])
    np.testing.assert_allclose(worked.differences, [0.625, 0.25, -0.25, 0.25])
    assert worked.box_loss == pytest.approx((0.625**2 + 3 * 0.25**2) / 4)
    # Overlap: x 32..48, y 32..48 -> 16 x 16; predicted 24 x 32.
    assert (worked.overlap_area, worked.true_area, worked.predicted_area) == (256.0, 1024.0, 768.0)
    assert worked.union_area == 1024 + 768 - 256
    assert worked.iou == pytest.approx(256 / 1536)
    assert worked.iou == pytest.approx(localization.iou(worked.true_box, worked.predicted_box))


@pytest.fixture(scope="module")
def predictions():
    rng = np.random.default_rng(5)
    n = 300
    truth = np.sort(rng.random((n, 2, 2)), axis=1).reshape(n, 4)
    jitter = truth + rng.normal(0, 0.08, (n, 4))
    boxes = np.stack(
        [
            np.minimum(jitter[:, 0], jitter[:, 2] - 0.01),
            np.minimum(jitter[:, 1], jitter[:, 3] - 0.01),
            jitter[:, 2],
            jitter[:, 3],
        ],
        axis=1,
    )
    labels = rng.integers(0, 4, n)
    guesses = np.where(rng.random(n) < 0.8, labels, rng.integers(0, 4, n))
    return truth, labels, boxes, guesses, rng.random(n)


def test_the_score_threshold_walks_along_the_curve(predictions):
    curve = localization.precision_recall(*predictions, class_index=2, iou_threshold=0.5)
    for min_score in (0.0, 0.3, 0.8, 1.0):
        point = box_views.operating_point(curve, min_score)
        kept = curve.scores >= min_score
        assert point.kept == kept.sum() and point.right == curve.right[kept].sum()
        if point.kept:  # the curve's own point after the last prediction kept
            assert point.precision == pytest.approx(curve.precision[point.kept - 1], abs=1e-12)
            assert point.recall == pytest.approx(curve.recall[point.kept - 1])
    with pytest.raises(InvalidInput, match="from 0 to 1"):
        box_views.operating_point(curve, 1.5)


def test_the_class_table_is_localizations_averages(predictions):
    table = box_views.class_table(*predictions, num_classes=5, iou_threshold=0.6)
    assert [row.class_index for row in table] == [0, 1, 2, 3]  # class 4 has no true object: left out
    per_class = localization.average_precisions(*predictions, iou_threshold=0.6, num_classes=5)
    at_half = localization.average_precisions(*predictions, iou_threshold=0.5, num_classes=5)
    np.testing.assert_allclose([row.coco for row in table], per_class[:4])
    np.testing.assert_allclose([row.ap50 for row in table], at_half[:4])
    assert np.mean([row.ap50_95 for row in table]) == pytest.approx(localization.coco_ap(*predictions))
    assert np.mean([row.ap50 for row in table]) == pytest.approx(localization.mean_average_precision(*predictions))
    row = table[2]
    curve = localization.precision_recall(*predictions, class_index=2, iou_threshold=0.6)
    assert row.eleven_point == pytest.approx(localization.eleven_point_ap(curve.precision_at()))
    assert (row.true_count, row.predicted) == ((predictions[1] == 2).sum(), (predictions[3] == 2).sum())


def test_a_sliver_of_a_box_is_drawn_big_enough_to_be_seen():
    # An untrained box head gives boxes a thousandth of the picture wide: drawn about their middle,
    # a few outline widths across, even in a corner of the picture.
    # 12 pixels across (6 outlines of 2): about the middle, or against the edge it sits at.
    for sliver, middle in (((0.5, 0.5, 0.501, 0.501), 96), ((0.999, 0.999, 0.9999, 0.9999), 186)):
        drawn = box_views.draw_boxes(np.zeros((64, 64), np.uint8), predicted_box=sliver, min_side=192)
        rows, columns = np.nonzero(np.all(drawn == PREDICTED_COLOUR, axis=-1))
        assert rows.max() - rows.min() >= 10 and columns.max() - columns.min() >= 10 and columns.max() < 192
        assert abs((columns.min() + columns.max()) / 2 - middle) <= 2
