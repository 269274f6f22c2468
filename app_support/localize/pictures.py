"""Where is it?'s pictures: one test picture worked out (its box's error, its IoU, the heatmap of its
class against its box) and the test pictures worst first, each with both boxes and its heatmap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app_support.common.render import legend, picture
from app_support.common.state import locked_widget
from app_support.localize.state import KEEP, ORDERS, Shown
from cnnviz import box_views, cam, display

GALLERY = 12  # pictures shown at a time
SIDE = 192  # pixels each picture is enlarged to
PICTURE_WIDTH, TABLE_WIDTH = 210, 390  # the picture worked out, and its arithmetic beside it


@st.cache_resource(max_entries=512, show_spinner=False)
def heatmap(path: str, index: int, class_index: int, _head, _image) -> np.ndarray:
    """Grad-CAM (Selvaraju et al., 2017) of one test picture for a class, on the last convolution of
    the class head: once per model file, picture and class."""
    return cam.grad_cam(_head, _image, class_index=class_index)


def heat_of(shown: Shown, index: int) -> np.ndarray:
    """The heatmap of a test picture's predicted class."""
    return heatmap(
        shown.run.model_path, int(index), int(shown.predictions[index]), shown.class_head(), shown.pictures[index]
    )


def verdict(shown: Shown, index: int, threshold: float) -> str:
    """One line: the classes, the IoU and whether the prediction counts as right at `threshold`."""
    names = shown.class_names
    true, guess = int(shown.labels[index]), int(shown.predictions[index])
    iou = shown.ious[index]
    if guess != true:
        why = "wrong: the class"
    elif iou >= threshold:
        why = f"right (IoU ≥ {threshold:g})"
    else:
        why = f"wrong: the box (IoU < {threshold:g})"
    return f"{names[true]} seen as {names[guess]} ({shown.scores[index]:.0%}) · IoU {iou:.2f} · {why}"


def peak_line(heat: np.ndarray, true_box, predicted_box) -> str:
    """Where the heatmap's peak (the white cross) falls against the two boxes."""
    inside_true, inside_predicted = box_views.peak_inside(heat, true_box), box_views.peak_inside(heat, predicted_box)
    if inside_true is None:
        return "The heatmap is flat: no place argues for this class."
    where = {
        (True, True): "inside both boxes",
        (True, False): "inside the true box, outside the predicted one",
        (False, True): "inside the predicted box, outside the true one",
        (False, False): "outside both boxes",
    }[(inside_true, inside_predicted)]
    return f"Heatmap peak (white cross): {where}."


def one_picture(shown: Shown, threshold: float) -> None:
    """A chosen test picture worked out: both boxes and their overlap, the four corners' errors and
    their mean (the box loss), the IoU's areas, and the heatmap of the predicted class."""
    count = len(shown.labels)
    row = st.container(horizontal=True, gap="small", vertical_alignment="bottom")
    with row:
        order = locked_widget(
            st.segmented_control,
            "order",
            "Order",
            list(ORDERS),
            format_func=ORDERS.get,
            key="localize_order",
            persist_state=KEEP,
        )
        rank = locked_widget(
            st.number_input,
            "pic",
            f"Picture (1 to {count:,})",
            1,
            count,
            key="localize_pic",
            persist_state=KEEP,
            width=180,
        )
    ranked = shown.order(worst_first=order != "best")
    index = int(ranked[min(int(rank or 1), count) - 1])
    worked = box_views.box_arithmetic(shown.true_boxes[index], shown.box_outputs(index), shown.pictures.shape[1:3])
    heat = heat_of(shown, index)
    peak = box_views.heat_peak(heat)
    # Fixed widths in a wrapping row: the picture, its heatmap and its arithmetic side by side where they
    # fit, the arithmetic under the two pictures at 1024 pixels (columns cut the table's columns off).
    row = st.container(horizontal=True, gap="small")
    picture(
        box_views.draw_boxes(
            shown.pictures[index],
            true_box=worked.true_box,
            predicted_box=worked.predicted_box,
            overlap=True,
            min_side=SIDE,
        ),
        caption=f"Number {rank} of the test pictures, {ORDERS[order or 'worst']}. Green: the true box. Orange, "
        "dashed: the predicted one. Yellow: where they overlap.",
        container=row.container(width=PICTURE_WIDTH),
    )
    picture(
        box_views.draw_boxes(
            display.overlay(shown.pictures[index], heat, opacity=0.45),
            true_box=worked.true_box,
            predicted_box=worked.predicted_box,
            peak=peak,
            min_side=SIDE,
        ),
        caption=f"Grad-CAM of {shown.class_names[int(shown.predictions[index])]}, the predicted class. "
        + peak_line(heat, worked.true_box, worked.predicted_box),
        container=row.container(width=PICTURE_WIDTH),
    )
    with row.container(width=TABLE_WIDTH):
        st.markdown(f"**{verdict(shown, index, threshold)}**")
        height, width = worked.size
        table = pd.DataFrame(
            {
                "corner": box_views.CORNERS,
                "true": worked.true_box,
                "predicted": worked.raw,
                "difference": worked.differences,
                "squared": worked.squared,
            }
        )
        formats = {name: st.column_config.NumberColumn(format="%.4f") for name in ("true", "predicted", "difference")}
        formats["squared"] = st.column_config.NumberColumn(format="%.5f")  # a near miss squares to 0.00004
        st.dataframe(table, hide_index=True, width=TABLE_WIDTH, column_config=formats)
        st.caption(
            f"Corners as fractions of the picture's width and height. The mean of the four squared differences, "
            f"**{worked.box_loss:.5f}**, is this picture's box loss: the mean squared error the box head learns "
            "from. Squared, a corner a tenth of the picture off costs 0.01 and one half the picture off 0.25: "
            "far-off corners cost much more."
        )
        st.markdown(
            f"**IoU** = overlap / together = {worked.overlap_area:,.0f} / ({worked.true_area:,.0f} + "
            f"{worked.predicted_area:,.0f} − {worked.overlap_area:,.0f}) = {worked.overlap_area:,.0f} / "
            f"{worked.union_area:,.0f} = **{worked.iou:.2f}** (areas in pixels of the {width}x{height} picture)"
        )


def gallery(shown: Shown, threshold: float) -> None:
    """The test pictures in the chosen order, a dozen at a time, each with both boxes, its line, and
    (when asked) the heatmap of its predicted class with its peak."""
    count = len(shown.labels)
    order = st.session_state.get("localize_order") or "worst"
    ranked = shown.order(worst_first=order != "best")
    row = st.container(horizontal=True, gap="small", vertical_alignment="bottom")
    pages = list(range(0, count, GALLERY))
    start = 0
    if len(pages) > 1:  # one page of pictures needs no slider
        start = row.select_slider(
            "Pictures",
            pages,
            format_func=lambda first: f"{first + 1}-{min(first + GALLERY, count)}",
            key="localize_page",
            persist_state=KEEP,
            width=320,
        )
    with row:
        heatmaps = locked_widget(
            st.toggle,
            "cam",
            "Grad-CAM beside each",
            key="localize_cam",
            persist_state=KEEP,
            help="The heatmap of the predicted class (Grad-CAM on the last convolution), with its peak as a white "
            "cross: does the network look where the box is?",
        )
    chosen = ranked[start : start + GALLERY]
    right = shown.right(threshold)
    st.caption(
        f"{int(right.sum()):,} of {count:,} test pictures count as right at IoU ≥ {threshold:g} (class right and "
        f"the boxes overlapping at least that much). Shown: {ORDERS[order]}, {start + 1} to {start + len(chosen)}."
    )
    if heatmaps:
        legend(display.heat_colorbar(), caption="blue: no evidence for the class · red: the strongest evidence")
    inside = []
    columns = st.columns(3)
    for n, index in enumerate(chosen):
        tiles = [
            box_views.draw_boxes(
                shown.pictures[index], true_box=shown.true_boxes[index], predicted_box=shown.boxes[index], min_side=128
            )
        ]
        line = f"{start + n + 1}. {verdict(shown, index, threshold)}"
        if heatmaps:
            heat = heat_of(shown, index)
            tiles.append(
                box_views.draw_boxes(
                    display.overlay(shown.pictures[index], heat, opacity=0.45),
                    true_box=shown.true_boxes[index],
                    predicted_box=shown.boxes[index],
                    peak=box_views.heat_peak(heat),
                    min_side=128,
                )
            )
            found = box_views.peak_inside(heat, shown.true_boxes[index])
            inside.append(found)
            line += " · peak " + {True: "inside", False: "outside", None: "none (flat)"}[found] + " the true box"
        picture(display.tile(tiles, columns=2, gap=4), caption=line, container=columns[n % 3])
    if heatmaps and inside:
        hits = sum(1 for found in inside if found)
        st.caption(
            f"The heatmap's peak falls inside the true box on {hits} of these {len(inside)} pictures. A peak "
            "inside says the class head found its evidence on the object; one outside, that it found it elsewhere "
            "in the picture, whatever the box head made of it."
        )
