"""The Trainer's runs on pictures with boxes: the two heads' loss weights, the job's boxes, the live
curves of both losses and the boxes' mean IoU, and a finished run's box figures with the way to its
pictures ("Where is it?")."""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException

from app_support.common import charts
from app_support.common.live_chart import live_chart
from app_support.trainer.state import BOX_DATASETS, by_param, locked
from cnnviz import box_data, box_model, localization
from cnnviz.errors import InvalidInput
from cnnviz.localization import LossWeights
from cnnviz.runs import Run

KEEP = "session"
LOCALIZE_PAGE = "pages/localize.py"


def is_box_dataset(name: str) -> bool:
    """Whether a run on the dataset picked under this name learns boxes as well as classes."""
    return name in BOX_DATASETS


def is_box_run(run: Run) -> bool:
    return run.job.boxes is not None


def loss_weights(url) -> LossWeights | None:
    """The two heads' loss weights, each with what it does; None (after saying why) when they are not
    a pair the network can learn from."""
    st.markdown(
        "**Two heads, one loss.** The network ends in two heads on the same feature maps: a softmax that "
        "says *what* the object is, and four numbers that say *where* (its box's corners, as fractions of the "
        "picture). Training lowers **class weight × class loss + box weight × box loss**, with a learning "
        "rate that falls from the one set below to 0 over the run, so that the boxes settle at the end."
    )
    columns = st.columns(2)
    with columns[0]:
        class_weight = locked(
            st.number_input,
            by_param(url, "cw"),
            "Class loss weight",
            0.0,
            10.0,
            step=0.1,
            format="%.2f",
            persist_state=KEEP,
            help=localization.LOSS_HELP["class_weight"],
        )
        st.caption("What: the crossentropy of the class head. Raise it when boxes are good but classes wrong.")
    with columns[1]:
        box_weight = locked(
            st.number_input,
            by_param(url, "bw"),
            "Box loss weight",
            0.0,
            10.0,
            step=0.1,
            format="%.2f",
            persist_state=KEEP,
            help=localization.LOSS_HELP["box_weight"],
        )
        st.caption("Where: the mean squared error of the 4 corners. Raise it when classes are right but boxes wander.")
    try:
        return LossWeights(float(class_weight), float(box_weight)).validate()
    except InvalidInput as error:
        st.error(f"Loss weights: {error}")
        return None


def check_job(config) -> None:
    """Raise InvalidInput for settings a box run cannot train with (before it is queued)."""
    if config.augmentation.active:
        raise InvalidInput(
            "Augmentation moves and turns the pictures but not their boxes: switch Augmentation off to train a "
            "network that learns boxes."
        )


CURVES_NOTE = (
    "**Loss** is what training lowers: class weight × class loss + box weight × box loss. The **class loss** "
    "(crossentropy) is about what the object is; the **box loss** (mean squared error of the four corners, as "
    "fractions of the picture) about where: 0.01 means corners about a tenth of the picture off. The **mean "
    "IoU** is how much the predicted boxes overlap the true ones (1: exactly), on the training pictures and "
    "(where some were held out) on the validation pictures."
)


def live_curves(run: Run) -> None:
    """A box run's curves: the total loss and the class accuracy as every run has them, then the two
    heads' losses apart and the boxes' mean IoU."""
    left, right = st.columns(2)
    live_chart(charts.curves(run, "loss"), key=f"loss_{run.id}", container=left)
    live_chart(charts.curves(run, "accuracy"), key=f"acc_{run.id}", container=right)
    left, right = st.columns(2)
    heads = charts.epoch_curves(run, ("class_loss", "box_loss"), "Class loss and box loss", right=("box_loss",))
    live_chart(heads, key=f"heads_{run.id}", container=left)
    iou = charts.epoch_curves(run, ("mean_iou",), "Mean IoU of the boxes", share=True)
    live_chart(iou, key=f"iou_{run.id}", container=right)
    st.caption(CURVES_NOTE)


def box_results(run: Run) -> None:
    """A finished box run's figures for its boxes, and the way to see them on its test pictures."""
    evaluation = run.evaluation
    if not hasattr(evaluation, "mean_iou"):
        return
    columns = st.columns(3)
    columns[0].metric(
        "Test mean IoU",
        f"{evaluation.mean_iou:.2f}",
        help="How much the predicted boxes overlap the true ones, 0 to 1.",
    )
    columns[1].metric(
        "AP@0.5 (COCO)",
        f"{evaluation.map50:.2f}",
        help="Mean average precision: a prediction counts as right when its class is right and its box overlaps "
        "the true one by at least 0.5 (IoU).",
    )
    columns[2].metric(
        "AP@[.5:.95] (COCO)",
        f"{evaluation.map:.2f}",
        help="The same, averaged over IoU thresholds 0.5 to 0.95: stricter.",
    )
    label = "Where is it? Its test pictures with both boxes, precision-recall curves and heatmaps"
    try:
        st.page_link(LOCALIZE_PAGE, label=label, icon=":material/crop_free:", query_params={"run": run.id})
    except StreamlitAPIException:  # the page run on its own, outside the app's navigation (a test)
        st.caption(f"{label}: open **Where is it?** in the menu.")


def data_name(name: str) -> str:
    """What a run's label calls a dataset with boxes."""
    return "your zip with boxes" if name not in box_data.NAMES else name


def compared_columns(runs: list[Run]) -> dict[str, list[str]]:
    """Compare runs' columns for boxes (none when no run compared learned boxes): each run's last
    validation mean IoU and its test AP@0.5."""
    if not any(is_box_run(run) for run in runs):
        return {}

    def last(run: Run) -> str:
        values = [epoch["val_mean_iou"] for epoch in run.epochs if "val_mean_iou" in epoch]
        return f"{values[-1]:.2f}" if values else ""

    return {
        "validation mean IoU": [last(run) for run in runs],
        "test AP@0.5": [f"{run.evaluation.map50:.2f}" if hasattr(run.evaluation, "map50") else "" for run in runs],
    }


def architecture_note(rows) -> None:
    """Under the summary, for a dataset with boxes: what of the blocks the two-headed network keeps
    (up to the last feature map) and what the heads add, counted as the table counts."""
    last = None
    for index, row in enumerate(rows[1:], start=1):
        if len(row.output_shape) != 3:
            break
        last = index
    if last is None:
        return
    kept = sum(row.params for row in rows[: last + 1])
    height, width, channels = rows[last].output_shape
    classes = rows[-1].output_shape[-1]
    class_head = (channels + 1) * classes
    where = height * width * channels  # box_model.WHERE: one weight per place and channel
    hidden = box_model.BOX_HIDDEN  # the box head's hidden ReLU layer (0: none, the tutorial's)
    if hidden:
        box_head = (2 * channels + 1) * hidden + (hidden + 1) * 4
        box_text = f"a hidden layer of {hidden}, then 4: (2×{channels}+1)×{hidden} + ({hidden}+1)×4 = {box_head:,}"
    else:
        box_head = (2 * channels + 1) * 4
        box_text = f"(2×{channels}+1)×4 = {box_head:,}"
    dropped = [row.name for row in rows[last + 1 :] if row.name != "output"]
    left_out = f" {', '.join(dropped)} and the classifier are left out:" if dropped else ""
    st.info(
        f"**With boxes, two heads replace the classifier.** The blocks up to {rows[last].name} are kept "
        f"({kept:,} parameters);{left_out} global average pooling turns its {channels} channels into "
        f"{channels} numbers, read by the class head, ({channels}+1)×{classes} = {class_head:,}. An average "
        f"forgets where the object was, so the box head also reads {channels} weighted sums, one weight for each "
        f"of the map's {height}×{width} places in each channel ({height}×{width}×{channels} = {where:,}), and "
        f"then {box_text}. In all {kept + class_head + where + box_head:,} parameters."
    )
