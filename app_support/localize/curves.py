"""Where is it?'s figures: the run's headline measures, and its precision-recall curves per class and
together, with the tutorial's 11-point average precision and COCO's 101-point ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app_support.common import charts
from app_support.common.state import locked_widget
from app_support.localize.state import ALL_CLASSES, KEEP, Shown
from cnnviz import box_views, localization


def threshold_slider() -> float:
    """The IoU a box needs to count as right: it redraws the verdicts, the curves and their averages."""
    return float(
        locked_widget(
            st.slider,
            "iou",
            "IoU threshold: a prediction is right when its class is right and its box overlaps the true one at "
            "least this much",
            0.05,
            0.95,
            step=0.05,
            key="localize_iou",
            persist_state=KEEP,
        )
    )


def headline(shown: Shown, threshold: float) -> None:
    """The run's measures on its test pictures: class accuracy, mean IoU and the mean average precisions
    (at the chosen IoU threshold too, when it is not 0.5)."""
    evaluation = shown.run.evaluation
    columns = st.columns(5 if threshold != 0.5 else 4)
    columns[0].metric(
        "Class accuracy", f"{evaluation.test_accuracy:.1%}", help=f"On {len(shown.labels):,} test pictures."
    )
    columns[1].metric("Mean IoU", f"{evaluation.mean_iou:.2f}", help="The predicted boxes' overlap with the true ones.")
    columns[2].metric("AP@0.5", f"{evaluation.map50:.2f}", help="COCO's mean average precision at IoU 0.5.")
    columns[3].metric(
        "AP@[.5:.95]", f"{evaluation.map:.2f}", help="COCO's headline: the same averaged over IoU 0.5, 0.55, ..., 0.95."
    )
    if threshold != 0.5:
        columns[4].metric(
            f"AP@{threshold:g}",
            f"{localization.mean_average_precision(*shown.arrays, iou_thresholds=(threshold,)):.2f}",
            help="COCO's mean average precision at the IoU threshold chosen above.",
        )


def section(shown: Shown, threshold: float) -> None:
    """One class's curve (or every class's envelope), the score threshold's place on it, the 11-point
    sum, and every class's averages in a table."""
    names = shown.class_names
    options = [ALL_CLASSES, *range(len(names))]
    row = st.container(horizontal=True, gap="small", vertical_alignment="bottom")
    with row:
        chosen = locked_widget(
            st.selectbox,
            "class",
            "Class",
            options,
            format_func=lambda k: "every class" if k == ALL_CLASSES else names[k],
            key="localize_class",
            persist_state=KEEP,
            width=200,
        )
        min_score = 0.0
        if chosen not in (None, ALL_CLASSES):  # a score threshold walks along one class's curve
            min_score = locked_widget(
                st.slider,
                "score",
                "Score threshold: keep the predictions at least this sure",
                0.0,
                1.0,
                step=0.01,  # a trained softmax puts most of its predictions above 0.9
                key="localize_score",
                persist_state=KEEP,
                width=380,
            )
    chosen = ALL_CLASSES if chosen is None or chosen not in options else chosen
    if chosen == ALL_CLASSES:
        present = [k for k in range(len(names)) if (shown.labels == k).any()]
        curves = [localization.precision_recall(*shown.arrays, class_index=k, iou_threshold=threshold) for k in present]
        st.plotly_chart(charts.precision_recall(curves, [names[k] for k in present]), key="localize_pr_all")
        st.caption(
            "Each class's predictions, most sure first: after each one, the share right so far (precision) and "
            "the share of the class's pictures found so far (recall). Drawn: each class's best precision at that "
            "recall or more. Choose a class to see its points, its 11-point average and the score threshold."
        )
    else:
        _one_class(shown, chosen, threshold, float(min_score or 0.0))
    _table(shown, threshold)


def _one_class(shown: Shown, k: int, threshold: float, min_score: float) -> None:
    name = shown.class_names[k]
    curve = localization.precision_recall(*shown.arrays, class_index=k, iou_threshold=threshold)
    point = box_views.operating_point(curve, min_score)
    st.plotly_chart(
        charts.precision_recall([curve], [name], point=point if point.kept else None), key="localize_pr_one"
    )
    if point.kept:
        said = (
            f"{point.kept} pictures predicted as {name} are kept, {point.right} of them right (class and IoU ≥ "
            f"{threshold:g}). Precision {point.right} / {point.kept} = **{point.precision:.2f}**; recall "
            f"{point.right} / {point.true_count} test pictures of {name} = **{point.recall:.2f}**."
        )
    else:
        said = (
            f"no picture is predicted as {name} that surely: recall 0 of {point.true_count}, no precision to speak of."
        )
    st.markdown(
        f"**Score ≥ {min_score:.2f}**: {said} Lower the threshold: more predictions are kept, recall can only "
        "rise, and precision falls when the extra ones are wrong."
    )
    # The sum as written: of the values shown (to 3 places), so a learner adding them up gets it.
    shown_levels = np.round(curve.precision_at(localization.ELEVEN_RECALLS), 3)
    total = float(shown_levels.sum())
    st.markdown(
        "**The tutorial's 11-point average precision**: the max precision at recall 0, 0.1, ..., 1 (the diamonds) "
        f"add up to {' + '.join(f'{v:.3f}' for v in shown_levels)} = {total:.3f}, and {total:.3f} / 11 = "
        f"**{total / 11:.3f}**. COCO reads the same line at 101 recall levels (0, 0.01, ..., 1): "
        f"**{curve.average_precision:.3f}**."
    )


def _table(shown: Shown, threshold: float) -> None:
    table = box_views.class_table(*shown.arrays, num_classes=len(shown.class_names), iou_threshold=threshold)
    columns = {
        "class": [shown.class_names[row.class_index] for row in table],
        "pictures": [row.true_count for row in table],
        "predicted": [row.predicted for row in table],
        f"11-point AP@{threshold:g}": [row.eleven_point for row in table],
    }
    if threshold != 0.5:  # at 0.5 it is the AP@0.5 column
        columns[f"AP@{threshold:g}"] = [row.coco for row in table]
    frame = pd.DataFrame(
        {**columns, "AP@0.5": [row.ap50 for row in table], "AP@[.5:.95]": [row.ap50_95 for row in table]}
    )
    means = frame.iloc[:, 3:].mean()
    frame.loc[len(frame)] = ["mean: mAP", int(frame["pictures"].sum()), int(frame["predicted"].sum()), *means]
    st.dataframe(frame.round(3), hide_index=True, height=35 * (len(frame) + 1) + 3)  # every row, the mean too
    st.caption(
        "Per class: its test pictures, the pictures predicted as it, the tutorial's 11-point average precision "
        "and COCO's (101 recall levels) at the IoU thresholds named. The last row's means are the mean average "
        "precisions (mAP). COCO's AP@[.5:.95] is stricter: it averages the AP over ten IoU thresholds, 0.5 to "
        "0.95, so a box must fit closely to count at the high ones; at 0.95 almost no box does."
    )
