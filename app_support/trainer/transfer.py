"""The Trainer's "Start from a trained network": transfer learning for anyone. A base (the shipped MNIST
model, a run of this session, an uploaded .keras file, an ImageNet network whose weights are on this
server), frozen or learning from a chosen layer on, under a new head (`cnnviz.models.transfer_model`).

The worker trains it like any run: the job carries the base as a file path on this server (or
"imagenet:<name>"), since workers are separate processes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from app_support.common import lesson_view
from app_support.common.runs import owner, run_manager, upload_folder
from app_support.common.state import Setting, is_fixed
from app_support.trainer.data import KEEP
from app_support.trainer.state import BASE, NO_BASE, TRAIN_FROM, locked
from cnnviz import datasets, jobs, model_files, models, predict, pretrained
from cnnviz.blocks import LayerRow
from cnnviz.errors import InvalidInput

SHIPPED, UPLOADED, RUN_PREFIX = "shipped", "upload", "run:"
LATEST_RUN = "run:last"  # in a link: this session's latest finished run
FROZEN = ""


@dataclass(frozen=True)
class Transfer:
    """A chosen base: what the job carries and what the page shows."""

    base_model: str  # a .keras path on this server, or "imagenet:<name>"
    train_from: str | None
    input_shape: tuple[int, int, int]  # the base's input: the dataset is resized to it
    title: str  # e.g. "shipped MNIST model"
    continues: bool = False  # a trained transfer model with these classes: fine-tuned, its head kept


def imagenet_cached(name: str) -> bool:
    """Whether an ImageNet network's weights are in the Keras cache (no download needed)."""
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return (home / "models" / pretrained.WEIGHTS_FILES[name].rpartition("/")[2]).exists()


def _options() -> dict[str, str]:
    options = {NO_BASE: "Nothing: build the network from blocks below", SHIPPED: "The shipped MNIST model (digits)"}
    for run in run_manager().runs_for(owner()):
        if run.model_path and run.state.good:
            options[f"{RUN_PREFIX}{run.number}"] = f"{run.label} (yours)"
    options[UPLOADED] = "A .keras model you upload"
    for name in pretrained.ARCHITECTURES:
        if imagenet_cached(name):
            options[f"{jobs.IMAGENET_PREFIX}{name}"] = f"ImageNet {name}"
    return options


@st.cache_resource(max_entries=8, show_spinner="Reading the network's layers...")
def base_layers(base_model: str) -> tuple[tuple[int, int, int], tuple[LayerRow, ...], int | None]:
    """(the base's input shape, one row per kept layer: name, type, output shape, parameters, and the
    number of classes when it is itself a transfer model, else None), loaded once."""
    base = jobs.load_base(base_model)
    inner = models.nested_base(base)
    inner = base if inner is None else inner
    rows = tuple(
        LayerRow(
            name,
            "conv" if type(inner.get_layer(name)).__name__ == "Conv2D" else type(inner.get_layer(name)).__name__,
            tuple(inner.get_layer(name).output.shape[1:]),
            int(inner.get_layer(name).count_params()),
            type(inner.get_layer(name)).__name__,
        )
        for name in models.feature_layers(base)
    )
    classes = int(base.outputs[0].shape[-1]) if inner is not base else None
    return tuple(base.inputs[0].shape[1:]), rows, classes


def _uploaded_base() -> str | None:
    uploaded = st.file_uploader(
        "A .keras model (Keras 3 format)", type=["keras"], key="trainer_base_file", disabled=is_fixed(BASE)
    )
    kept = st.session_state.get("trainer_base_kept")
    if uploaded is not None and (kept is None or kept[0] != uploaded.file_id):
        data = uploaded.getvalue()
        try:
            with st.spinner("Checking the model in a separate process (a few seconds)..."):
                model_files.load_model_file_isolated(data)
        except InvalidInput as error:
            st.error(f"{uploaded.name}: {error}")
            return kept[1] if kept else None
        path = upload_folder() / f"{hashlib.blake2b(data, digest_size=12).hexdigest()}.keras"
        path.write_bytes(data)
        kept = (uploaded.file_id, str(path), uploaded.name)
        st.session_state["trainer_base_kept"] = kept
    if kept is None:
        st.info("Upload a model saved with model.save('name.keras'): its convolutional layers become the base.")
        return None
    return kept[1]


def _base_path(choice: str) -> tuple[str, str] | None:
    """(what the job carries, a title) for a choice of the list, or None while there is none yet."""
    if choice == SHIPPED:
        return str(predict.DEFAULT_MODEL), "the shipped MNIST model"
    if choice == UPLOADED:
        path = _uploaded_base()
        return (path, "an uploaded model") if path else None
    if choice.startswith(jobs.IMAGENET_PREFIX):
        return choice, f"ImageNet {choice.removeprefix(jobs.IMAGENET_PREFIX)}"
    number = int(choice.removeprefix(RUN_PREFIX))
    run = next((r for r in run_manager().runs_for(owner()) if r.number == number), None)
    return (run.model_path, f"run {number}") if run is not None else None


def choose_base(data: datasets.Dataset, url: list[Setting]) -> Transfer | None:
    """The "start from a trained network" choice, and for a base its layers and the layer it learns
    from; None when the network is built from blocks."""
    options = _options()
    if st.session_state.get(BASE.key) == LATEST_RUN:  # a lesson's "the run you just trained"
        done = [run for run in run_manager().runs_for(owner()) if f"{RUN_PREFIX}{run.number}" in options]
        # The latest transfer run (a side-by-side partner trained from scratch comes after it), else the latest.
        runs = [run for run in done if run.job.base_model] or done
        st.session_state[BASE.key] = f"{RUN_PREFIX}{runs[-1].number}" if runs else NO_BASE
        if not runs:
            st.warning("This step starts from the run you trained in the step before: train that one first.")
    if st.session_state.get(BASE.key) not in options:  # a run of another visit, or weights gone: say so
        missing = st.session_state.get(BASE.key)
        if missing:
            st.warning(f"The network {missing!r} this link starts from is not on this server; choose another.")
        st.session_state[BASE.key] = NO_BASE
    choice = locked(
        st.selectbox,
        BASE,
        "Start from a trained network",
        list(options),
        format_func=options.get,
        persist_state=KEEP,
        help="Transfer learning: keep a trained network's convolutional layers with what they learned, put a new "
        "classifier on top, and train on your dataset. It needs far fewer pictures than learning from scratch.",
    )
    if not any(name.startswith(jobs.IMAGENET_PREFIX) for name in options):
        st.caption(
            "ImageNet networks appear in this list once their weights are on this server (open one in "
            "*Inside the network* while online)."
        )
    if choice == NO_BASE:
        return None
    found = _base_path(choice)
    if found is None:
        return None
    base_model, title = found
    try:
        input_shape, rows, classes = base_layers(base_model)
    except InvalidInput as error:
        st.error(f"Start from {title}: {error}")
        return None
    names = [row.name for row in rows]
    if st.session_state.get(TRAIN_FROM.key, FROZEN) not in (FROZEN, *names):
        st.session_state[TRAIN_FROM.key] = FROZEN
    train_from = locked(
        st.selectbox,
        TRAIN_FROM,
        "Train the base from layer",
        [FROZEN, *names],
        format_func=lambda name: "none: keep the whole base frozen" if name == FROZEN else f"{name} on",
        persist_state=KEEP,
        help="Frozen layers keep what they learned; the chosen layer and those after it keep learning "
        "(fine-tuning). Train the new head frozen first, then fine-tune the top layers.",
    )
    continues = classes == data.num_classes
    _show_base(rows, train_from, data, input_shape, title, continues=continues)
    return Transfer(base_model, train_from or None, input_shape, title, continues)


def _show_base(
    rows, train_from: str, data: datasets.Dataset, input_shape: tuple, title: str, *, continues: bool
) -> None:
    names = [row.name for row in rows]
    learning = set(names[names.index(train_from) :]) if train_from else set()
    head = models.head_rows(rows[-1].output_shape, data.num_classes)
    table = pd.DataFrame(
        {
            "layer": [f"base/{row.name}" for row in rows] + [row.name for row in head],
            "output shape": ["x".join(map(str, row.output_shape)) for row in [*rows, *head]],
            "parameters": [row.params for row in [*rows, *head]],
            "learns": ["yes" if row.name in learning else "no (frozen)" for row in rows]
            + [("yes (trained)" if continues else "yes (new)") if row.params else "" for row in head],
        }
    )
    lesson_view.table(table, hide_index=True, width="stretch", height=min(36 * (len(table) + 1), 420))
    new = sum(row.params for row in head)
    trained = new + sum(row.params for row in rows if row.name in learning)
    total = new + sum(row.params for row in rows)
    reads = "flattens" if head[0].kind == "flatten" else "averages each channel of"
    if continues:
        text = (
            f"{title[0].upper()}{title[1:]} already learned these classes with a new head: this run continues it, "
            f"head and base as trained, and trains {trained:,} of {total:,} parameters (fine-tuning)."
        )
    else:
        text = (
            f"The base is {title}'s layers up to its last feature map. A new head {reads} that map, then "
            f"Dense({models.HEAD_UNITS}, relu), dropout and Dense({data.num_classes}, softmax). This run trains "
            f"{trained:,} of {total:,} parameters."
        )
    if tuple(input_shape) != tuple(data.input_shape):
        h, w, c = input_shape
        converted = " and converted" if c != data.input_shape[-1] else ""
        text += f" The base takes {h}x{w}x{c} pictures: the dataset is resized{converted} to that."
    if train_from and continues:
        text += (
            " Use a learning rate about ten times lower than before (0.0003 with adam): small steps keep what the "
            "base learned."
        )
    elif train_from:
        text += (
            " Fine-tuning works best in two steps: first train the new head with the base frozen, then start from "
            "that run (it appears in the list above) and train from a layer on with a learning rate ten times lower."
        )
    st.caption(text)


def transfer_rows(transfer: Transfer, data: datasets.Dataset) -> list[LayerRow]:
    """Summary-like rows of the transfer model (for the time estimate)."""
    _, rows, _ = base_layers(transfer.base_model)
    inputs = LayerRow("input", "Input", tuple(transfer.input_shape), 0, "")
    return [inputs, *rows, *models.head_rows(rows[-1].output_shape, data.num_classes)]


def images_used(data: datasets.Dataset, per_class: int) -> int:
    """How many pictures (train and test) a run keeps with `per_class` training images per class (0: all)."""
    if not per_class:
        return len(data.x_train) + len(data.x_test)
    counts = [train for train, _ in data.counts().values()]
    return sum(min(count, per_class) for count in counts) + len(data.x_test)
