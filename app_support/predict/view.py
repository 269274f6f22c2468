"""Sections of Upload & Predict: one image explained, many images in a table, a labelled zip scored."""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app_support.common.model_source import ModelChoice
from app_support.common.model_views import show_steps
from app_support.common.render import picture
from cnnviz import cam, datasets, display, image_folders, images, training
from cnnviz.errors import InvalidInput
from cnnviz.predict import classify_prepared, prepare_input


def top_chart(verdict) -> go.Figure:
    names = [name for name, _ in verdict.top][::-1]
    values = [p for _, p in verdict.top][::-1]
    figure = go.Figure(
        go.Bar(x=values, y=names, orientation="h", text=[f"{v:.1%}" for v in values], textangle=0, cliponaxis=False)
    )
    figure.update_layout(height=60 + 40 * len(names), margin={"l": 10, "r": 10, "t": 10, "b": 10})
    figure.update_xaxes(range=[0, 1], tickformat=".0%")
    figure.update_yaxes(type="category")  # class names such as "7" are labels, not numbers
    return figure


def suggest_sample(choice: ModelChoice, prefix: str) -> None:
    """Open on a sample that suits the model: a handwritten digit for a digit model, a photo for an
    ImageNet one. The suggestion follows the model until the user picks a sample of their own."""
    if not choice.sample:
        return
    key, suggested = f"{prefix}_sample", f"{prefix}_sample_suggested"
    if st.session_state.get(key) in (None, st.session_state.get(suggested)):
        st.session_state[key] = st.session_state[suggested] = choice.sample


def verdict_of(model, choice: ModelChoice, prepared: np.ndarray, *, k: int = 3):
    return classify_prepared(
        model,
        prepared,
        class_names=choice.class_names,
        digit_like=choice.digit_like,
        reference=choice.reference,
        k=k,
    )


def explain_one(
    model, choice: ModelChoice, image: np.ndarray, name: str, *, k: int, opacity: float, centre: bool = True
) -> None:
    """The answer for one picture. `centre` False gives a digit model the picture as it is, not cropped
    and centred as MNIST's digits were (to see what a network makes of a digit that moved)."""
    try:
        shape = tuple(model.inputs[0].shape[1:])
        prepared, steps = prepare_input(image, shape, digit_like=choice.digit_like and centre)
    except InvalidInput as error:
        st.error(f"{name}: {error}")
        return
    show_steps(steps)
    verdict = verdict_of(model, choice, prepared, k=k)
    left, right = st.columns(2)
    with left:
        if verdict.sure:
            st.success(f"**{verdict.label}**, {verdict.top[0][1]:.1%} sure")
        elif verdict.unfamiliar:
            st.warning(f"**Unfamiliar picture.** {verdict.reason}")
            st.caption("Its guesses anyway: the probabilities always add up to 100%, whatever the picture.")
        else:
            st.warning(f"Not sure. {verdict.reason}")
        if choice.reference is None:
            st.caption(
                "Its training pictures are not known here, so it can say when it hesitates, "
                "but not when a picture is unlike everything it learned."
            )
        st.plotly_chart(top_chart(verdict), key=f"top_{name}")
    with right:
        shown = prepared[..., 0] if prepared.shape[-1] == 1 else prepared
        try:
            heat = cam.grad_cam(model, prepared)
        except InvalidInput:  # a network of Dense layers only: no feature map to say where it looked
            picture(display.enlarge(shown, min_side=240), caption=f"What the network saw (it answered {verdict.label})")
            st.caption("No heatmap: this network has no convolution, so no map of where it found the evidence.")
            return
        if choice.box_model is not None:  # a network that learned boxes: where it says the object is
            box_picture(choice, prepared, heat, verdict.label, opacity=opacity)
            return
        picture(
            display.enlarge(display.overlay(shown, heat, opacity=opacity), min_side=240),
            caption=f"Grad-CAM for {verdict.label}: where the evidence was",
        )


def box_picture(choice: ModelChoice, prepared: np.ndarray, heat: np.ndarray, label: str, *, opacity: float) -> None:
    """The picture with the box the box head predicts (dashed), over the heatmap of the class."""
    from cnnviz import box_model, box_views

    _, boxes = box_model.predict(choice.box_model, prepared[None])
    inside = box_views.peak_inside(heat, boxes[0])
    where = {True: "inside", False: "outside", None: "nowhere (a flat heatmap)"}[inside]
    picture(
        box_views.draw_boxes(
            display.overlay(prepared, heat, opacity=opacity),
            predicted_box=boxes[0],
            peak=box_views.heat_peak(heat),
            min_side=240,
        ),
        caption=f"Where it is: the predicted box (orange, dashed), over the Grad-CAM for {label}. The heatmap's "
        f"peak (white cross) is {where} the box.",
    )


def _thumbnail(image: np.ndarray) -> str:
    small = images.resize(image, max_side=64)
    return "data:image/png;base64," + base64.b64encode(images.encode_png(small)).decode()


def many(model, choice: ModelChoice, files) -> None:
    rows = []
    for file in files:
        try:
            image = images.load_image(file.getvalue())
            prepared, _ = prepare_input(image, tuple(model.inputs[0].shape[1:]), digit_like=choice.digit_like)
        except InvalidInput as error:
            rows.append({"image": None, "file": file.name, "prediction": "", "confidence": None, "note": str(error)})
            continue
        verdict = verdict_of(model, choice, prepared)
        rows.append(
            {
                "image": _thumbnail(image),
                "file": file.name,
                "prediction": verdict.label,
                "confidence": round(verdict.top[0][1], 4),
                "note": ""
                if verdict.sure
                else f"{'unfamiliar' if verdict.unfamiliar else 'not sure'}: {verdict.reason}",
            }
        )
    table = pd.DataFrame(rows)
    st.dataframe(table, column_config={"image": st.column_config.ImageColumn("image")}, hide_index=True)
    st.download_button(
        "Predictions (.csv)",
        table.drop(columns="image").to_csv(index=False),
        file_name="predictions.csv",
        mime="text/csv",
        on_click="ignore",
        key="predict_csv",
    )


def labelled_zip(model, choice: ModelChoice, data: bytes) -> None:
    height, _, channels = (int(n) for n in model.inputs[0].shape[1:])
    try:
        labelled = image_folders.load_image_folder_zip(
            data, image_size=height, grayscale=channels == 1, test_fraction=0.0
        )
    except InvalidInput as error:
        st.error(str(error))
        return
    unknown = [name for name in labelled.class_names if name not in choice.class_names]
    if unknown:
        st.error(
            f"These folders are not classes of this model: {', '.join(unknown)}. Its classes are: "
            f"{', '.join(choice.class_names)}. Name the folders after them."
        )
        return
    x = np.concatenate([labelled.x_train, labelled.x_test])
    y = np.concatenate([labelled.y_train, labelled.y_test])
    truth = np.array([choice.class_names.index(labelled.class_names[i]) for i in y], dtype=np.int64)
    # All of them as a test split in the model's own class numbering: the Trainer's evaluation, once.
    scored = datasets.Dataset("labelled", x[:0], truth[:0], x, truth, tuple(choice.class_names))
    evaluation = training.evaluate(model, scored, batch_size=128)
    counts = evaluation.confusion.sum(axis=1)
    rows = [
        {"class": name, "images": int(counts[i]), "accuracy": float(evaluation.per_class_accuracy[i])}
        for i, name in enumerate(choice.class_names)
        if counts[i]
    ]
    st.metric("Accuracy on your labelled images", f"{evaluation.test_accuracy:.1%}", help=f"{len(y)} images")
    st.dataframe(
        pd.DataFrame(rows), hide_index=True, column_config={"accuracy": st.column_config.NumberColumn(format="percent")}
    )
