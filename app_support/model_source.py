"""Which model to open: the shipped default, one of this session's runs (at any saved epoch), a
pretrained ImageNet network, or an uploaded .keras file; with its class names and what its
training images looked like."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from app_support.runs import dataset as cached_dataset
from app_support.runs import owner, run_dataset, run_manager
from cnnviz import models
from cnnviz.errors import InvalidInput
from cnnviz.predict import InputStats
from cnnviz.pretrained import ARCHITECTURES, ModelUnavailable

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "cnnviz" / "data" / "models" / "mnist_default.keras"


@dataclass
class ModelChoice:
    model: object
    title: str
    class_names: tuple[str, ...]
    dataset: object = None  # the Dataset it learned from, when known
    stats: InputStats | None = None
    checkpoints: list = field(default_factory=list)  # (epoch, path) of a session run
    digit_like: bool = False


@st.cache_resource(max_entries=16, show_spinner="Loading the model...")
def load_path(path: str):
    """A model file of the server's own (the default, a run's checkpoint), loaded once."""
    import keras

    return keras.models.load_model(path, compile=False)


@st.cache_resource(max_entries=3, show_spinner=False)
def load_pretrained(name: str):
    """A keras.applications network with ImageNet weights (downloaded once), shared by every session,
    with its class names and a note when they are numbers. Raises ModelUnavailable (not cached, so
    it is tried again once the machine is online)."""
    from cnnviz import pretrained

    net = pretrained.load(name)
    names, note = net.class_names()
    return net.model, names, note


@st.cache_resource(max_entries=8, show_spinner=False)
def training_stats(name: str, size: int = 28) -> InputStats:
    return InputStats.of(cached_dataset(name, size).x_train)


def choose_model(prefix: str) -> ModelChoice | None:
    """The model picker. Returns None (after saying why) when nothing usable is chosen."""
    runs = [run for run in run_manager().runs_for(owner()) if run.model_path]
    options = {"default": "Default: the shipped MNIST model (98.75% on held-out digits)"}
    options |= {f"run:{run.id}": f"{run.label} (this session)" for run in runs}
    options |= {
        f"imagenet:{name}": f"ImageNet: {name} (pretrained; downloads {spec[4]} once)"
        for name, spec in ARCHITECTURES.items()
    }
    options |= {"upload": "Upload a .keras model"}
    key = st.selectbox("Model", list(options), format_func=options.get, key=f"{prefix}_model")
    if key == "default":
        mnist = cached_dataset("mnist-bundled")
        return ModelChoice(
            load_path(str(DEFAULT_MODEL)),
            "default MNIST model",
            mnist.class_names,
            mnist,
            training_stats("mnist-bundled"),
            digit_like=True,
        )
    if key.startswith("imagenet:"):
        name = key.partition(":")[2]
        try:
            with st.spinner(f"Loading {name} (the first time downloads its ImageNet weights)..."):
                model, names, note = load_pretrained(name)
        except ModelUnavailable as error:
            st.error(str(error))
            return None
        if note:
            st.warning(f"Class numbers instead of names: {note}")
        return ModelChoice(model, f"{name} (ImageNet)", names)
    if key == "upload":
        uploaded = st.file_uploader("A .keras model (Keras 3 format)", type=["keras"], key=f"{prefix}_model_file")
        kept = st.session_state.get(f"{prefix}_model_kept")
        if uploaded is not None and (kept is None or kept[0] != uploaded.file_id):
            try:
                with st.spinner("Checking the model in a separate process, then loading it (a few seconds)..."):
                    model = models.load_model_file_isolated(uploaded.getvalue())
            except InvalidInput as error:
                st.error(f"{uploaded.name}: {error}")
            else:
                kept = (uploaded.file_id, uploaded.name, model)
                st.session_state[f"{prefix}_model_kept"] = kept
        if kept is None:
            st.info("Upload a model saved with model.save('name.keras').")
            return None
        model = kept[2]
        classes = int(model.output_shape[-1])
        return ModelChoice(model, kept[1], tuple(f"class {i}" for i in range(classes)))
    run = next(r for r in runs if f"run:{r.id}" == key)
    model, data = load_path(run.model_path), run_dataset(run)
    classes = data.class_names if data is not None else tuple(f"class {i}" for i in range(model.output_shape[-1]))
    stats = InputStats.of(data.x_train) if data is not None else None
    digit_like = run.job.dataset in ("mnist-bundled", "mnist", "digits")
    return ModelChoice(model, run.label, classes, data, stats, list(run.checkpoints), digit_like)
