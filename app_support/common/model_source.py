"""Which model to open: the shipped default, one of the learner's runs (at any saved epoch), a
pretrained ImageNet network, or an uploaded .keras file; with its class names, what its training
images looked like to it (a `Reference`, where they are known) and a bundled sample that suits it."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from app_support.common.runs import dataset as cached_dataset
from app_support.common.runs import owner, run_dataset, run_manager
from app_support.common.state import locked_widget
from cnnviz import model_files, predict
from cnnviz.errors import InvalidInput
from cnnviz.predict import Reference
from cnnviz.pretrained import ARCHITECTURES, ModelUnavailable

DEFAULT_MODEL = predict.DEFAULT_MODEL
KEEP = "session"
DIGIT_SAMPLE = "mnist digit"  # the bundled sample a digit model opens on: a real handwritten 7
PHOTO_SAMPLE = "chelsea"  # the one an ImageNet model opens on: a cat, one of its classes


@dataclass
class ModelChoice:
    model: object
    title: str
    class_names: tuple[str, ...]
    dataset: object = None  # the Dataset it learned from, when known
    reference: Reference | None = None  # its training pictures' features, to tell unfamiliar pictures
    checkpoints: list = field(default_factory=list)  # (epoch, path) of a session run
    digit_like: bool = False
    sample: str = ""  # the bundled sample (cnnviz.images.SAMPLES) that suits it, '' when none does


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


@st.cache_resource(show_spinner="Loading the model and measuring it on its training digits...")
def default_model():
    """The shipped model with its class names and reference, once per server (a few seconds)."""
    return predict.default_model()


@st.cache_resource(max_entries=16, show_spinner="Measuring the model on its training pictures...")
def run_reference(path: str, _model, _data) -> Reference | None:
    """A session run's reference, once per saved model file; None where the model cannot have one
    (it does not end in a Dense layer, too few pictures): then only hesitation is reported."""
    try:
        return Reference.of(_model, _data.x_train, labels=_data.y_train)
    except InvalidInput:
        return None


def choose_model(prefix: str) -> ModelChoice | None:
    """The model picker. Returns None (after saying why) when nothing usable is chosen."""
    runs = [run for run in run_manager().runs_for(owner()) if run.model_path]
    # Short labels: the picker sits in a narrow column, and a cut-off name hides which model is open.
    options = {"default": "Shipped MNIST model, 98.75%"}
    options |= {f"run:{run.id}": f"{run.label} (yours)" for run in runs}
    options |= {f"imagenet:{name}": f"ImageNet {name} ({spec[4]} download)" for name, spec in ARCHITECTURES.items()}
    options |= {"upload": "Upload a .keras model"}
    if st.session_state.get(f"{prefix}_model", "default") not in options:  # a link's run from another session
        st.session_state[f"{prefix}_model"] = "default"
    # A teacher's link can fix or hide it ("model", cnnviz.lessons.CONTROLS).
    chosen = locked_widget(
        st.selectbox,
        "model",
        "Model",
        list(options),
        format_func=options.get,
        key=f"{prefix}_model",
        persist_state=KEEP,
    )
    key = chosen or "default"
    if key == "default":
        model, names, reference = default_model()
        mnist = cached_dataset(predict.DEFAULT_DATASET)
        return ModelChoice(model, "default MNIST model", names, mnist, reference, digit_like=True, sample=DIGIT_SAMPLE)
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
        return ModelChoice(model, f"{name} (ImageNet)", names, sample=PHOTO_SAMPLE)
    if key == "upload":
        uploaded = st.file_uploader("A .keras model (Keras 3 format)", type=["keras"], key=f"{prefix}_model_file")
        kept = st.session_state.get(f"{prefix}_model_kept")
        if uploaded is not None and (kept is None or kept[0] != uploaded.file_id):
            try:
                with st.spinner("Checking the model in a separate process, then loading it (a few seconds)..."):
                    model = model_files.load_model_file_isolated(uploaded.getvalue())
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
    reference = run_reference(run.model_path, model, data) if data is not None else None
    digit_like = run.job.dataset in ("mnist-bundled", "mnist", "digits") or getattr(data, "name", "") == "own-drawings"
    sample = DIGIT_SAMPLE if digit_like else ""
    return ModelChoice(model, run.label, classes, data, reference, list(run.checkpoints), digit_like, sample)
