"""What the pages that show a model share: the epoch scrubber of a run, the one-line verdict on an
input, an input as a picture, and how a picture was prepared for the model (Inside, What did it
learn?, Upload & predict)."""

from __future__ import annotations

import itertools
import threading
import weakref

import numpy as np
import streamlit as st

from app_support.common.model_source import ModelChoice, box_head, load_path
from app_support.common.render import picture
from cnnviz import cam, display
from cnnviz.predict import class_probabilities, verdict

_TOKENS: dict[int, tuple[weakref.ref, str]] = {}
_TOKENS_LOCK = threading.Lock()
_COUNTER = itertools.count(1)


def model_token(thing) -> str:
    """A name for a loaded model (or its reference) in the caches of what it computes: the same
    object, the same name in every session; another object, another name, even one that Python
    placed where a dropped model was (an `id` alone would then name both)."""
    with _TOKENS_LOCK:
        kept = _TOKENS.get(id(thing))
        if kept is not None and kept[0]() is thing:
            return kept[1]
        token = f"m{next(_COUNTER)}"
        address = id(thing)
        _TOKENS[address] = (weakref.ref(thing, lambda _, address=address: _TOKENS.pop(address, None)), token)
        return token


@st.cache_data(max_entries=256, show_spinner=False)
def _checked(key: tuple, _model, _reference, image: np.ndarray):
    """(probabilities, unfamiliar) of one input, computed once per model, reference and picture: a
    rerun for a slider elsewhere on the page does not run the network again."""
    if _reference is None:
        return class_probabilities(_model, image[None]), [False]
    return _reference.check(_model, image[None])


@st.cache_data(max_entries=256, show_spinner=False)
def _heatmap(key: str, _model, image: np.ndarray, method: str, class_index: int, layer: str) -> np.ndarray:
    return cam.class_activation_map(_model, image, method, class_index=class_index, layer=layer)


def heatmap(model, image, method: str, *, class_index: int, layer: str) -> np.ndarray:
    """`cnnviz.cam.class_activation_map`, computed once per model, picture, method, class and layer
    (Inside's heatmaps, What did it learn?'s Grad-CAM beside occlusion): moving a slider elsewhere on
    the page, or adding a method, does not compute the others again."""
    return _heatmap(model_token(model), model, np.asarray(image), method, int(class_index), layer)


def at_epoch(choice: ModelChoice, prefix: str):
    """The epoch scrubber: for a session run, the model as it was after any saved epoch."""
    if len(choice.checkpoints) < 2:
        return choice.model, ""
    epochs = [epoch for epoch, _ in choice.checkpoints]
    epoch = st.select_slider("Epoch (watch the network learn)", epochs, value=epochs[-1], key=f"{prefix}_epoch")
    path = dict(choice.checkpoints)[epoch]
    model = box_head(path, choice.head) if choice.head else load_path(path)  # a box run: the head chosen
    return model, f" after epoch {epoch}" if epoch else " before training (epoch 0)"


def show_steps(steps) -> None:
    if len(steps) < 2:
        return
    st.caption("How the picture was prepared for the model:")
    for column, (title, image) in zip(st.columns(len(steps)), steps, strict=True):
        picture(display.enlarge(image, min_side=96), caption=title, container=column)


def as_picture(image: np.ndarray) -> np.ndarray:
    """An input as the model takes it, (H, W, 1 or 3) uint8, as a picture to show."""
    image = np.asarray(image)
    return image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image


def prediction_line(model, choice: ModelChoice, image) -> int:
    # The verdict of Upload & predict, the unfamiliar check included. The reference was measured on
    # the final model, so an earlier epoch's model gets only the hesitation check.
    if choice.head == "box":  # four numbers, not probabilities
        return _box_line(model, image)
    reference = choice.reference if model is choice.model else None
    key = (model_token(model), None if reference is None else model_token(reference))
    probabilities, unfamiliar = _checked(key, model, reference, np.asarray(image))
    said = verdict(probabilities[0], choice.class_names, unfamiliar=bool(unfamiliar[0]), digit_like=choice.digit_like)
    top = ", ".join(f"{name}: {p:.0%}" for name, p in said.top)
    doubt = f". **Unfamiliar picture.** {said.reason}" if said.unfamiliar else f". Not sure: {said.reason}"
    (st.success if said.sure else st.warning)(f"Prediction: **{said.label}** ({top})" + ("" if said.sure else doubt))
    return said.indices[0]


def _box_line(model, image) -> int:
    """What the box head says of an input: its four numbers. Returns 0, the left edge, as the corner
    its heatmaps explain first."""
    corners = np.asarray(model.predict(np.asarray(image)[None], verbose=0))[0]
    left, top, right, bottom = (f"{value:.2f}" for value in corners)
    st.info(
        f"Box head: left edge {left}, top edge {top}, right edge {right}, bottom edge {bottom} (fractions of the "
        "picture's width and height). Its heatmaps show where the evidence for a larger value of a corner is: "
        "the left edge first ('predicted class' under Heatmaps), any corner under Class."
    )
    return 0
