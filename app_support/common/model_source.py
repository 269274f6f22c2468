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
    # A two-headed (box) run: `model` is the head explained ("class" or "box", `box_model.head`), and
    # `box_model` the whole network, which also says where the object is.
    head: str = ""
    box_model: object = None


# The box head's four numbers, as its heatmaps name them (in place of class names).
CORNER_NAMES = ("left edge (x_min)", "top edge (y_min)", "right edge (x_max)", "bottom edge (y_max)")
HEADS = {"class": "Class head: what it is", "box": "Box head: where it is"}
# Networks too large to train on a server without a GPU, offered untrained at the size they were made for.
UNTRAINED = {"resnet-34": ((224, 224, 3), 10)}
UNTRAINED_TITLES = {"resnet-34": "ResNet-34"}  # as the picker names them


@st.cache_resource(max_entries=16, show_spinner="Loading the model...")
def load_path(path: str):
    """A model file of the server's own (the default, a run's checkpoint), loaded once."""
    import keras

    return keras.models.load_model(path, compile=False)


@st.cache_resource(max_entries=16, show_spinner=False)
def box_head(path: str, which: str = "class"):
    """One head of a two-headed (box) model file (`cnnviz.box_model.head`: the layers shared), once per file."""
    from cnnviz import box_model

    return box_model.head(load_path(path), which)


@st.cache_resource(max_entries=1, show_spinner="Building the network (untrained)...")
def untrained_model(preset: str):
    """A preset built with random weights at the size it was made for (`UNTRAINED`), once per server."""
    from cnnviz import models

    shape, classes = UNTRAINED[preset]
    return models.build_model(models.preset(preset, shape), shape, classes)


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
    # A network of MNIST's digits also gets the digit check, which tells a drawn house from a digit.
    digits = _data.name in ("mnist-bundled", "mnist") and tuple(_data.x_train.shape[1:]) == (28, 28, 1)
    try:
        return Reference.of(_model, _data.x_train, labels=_data.y_train, digit_check=digits)
    except InvalidInput:
        return None


def choose_model(prefix: str, *, heads: bool = False, untrained: bool = False) -> ModelChoice | None:
    """The model picker. Returns None (after saying why) when nothing usable is chosen. For a run that
    learned boxes, `heads` offers the head to explain (Inside the network); else the class head is
    the model (What did it learn?'s views and Upload & predict are about classes). `untrained` offers
    the networks too large to train here (`UNTRAINED`), where looking at one untrained means something
    and costs seconds: its layers, its receptive fields."""
    runs = [run for run in run_manager().runs_for(owner()) if run.model_path]
    # Short labels: the picker sits in a narrow column, and a cut-off name hides which model is open.
    options = {"default": "Shipped MNIST model, 98.75%"}
    options |= {f"run:{run.id}": f"{run.label} (yours)" for run in runs}
    options |= {f"imagenet:{name}": f"ImageNet {name} ({spec[4]} download)" for name, spec in ARCHITECTURES.items()}
    if untrained:
        options |= {
            f"untrained:{name}": f"{UNTRAINED_TITLES[name]}, untrained ({'x'.join(map(str, shape[:2]))})"
            for name, (shape, _) in UNTRAINED.items()
        }
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
    if key.startswith("untrained:"):
        name = key.partition(":")[2]
        model = untrained_model(name)
        classes = tuple(f"class {i}" for i in range(UNTRAINED[name][1]))
        return ModelChoice(model, f"{name} (untrained, random weights)", classes, sample=PHOTO_SAMPLE)
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
    if run.job.boxes is not None:
        return _box_run(run, prefix, heads=heads)
    model, data = load_path(run.model_path), run_dataset(run)
    classes = data.class_names if data is not None else tuple(f"class {i}" for i in range(model.output_shape[-1]))
    reference = run_reference(run.model_path, model, data) if data is not None else None
    digit_like = run.job.dataset in ("mnist-bundled", "mnist", "digits") or getattr(data, "name", "") == "own-drawings"
    sample = DIGIT_SAMPLE if digit_like else ""
    return ModelChoice(model, run.label, classes, data, reference, list(run.checkpoints), digit_like, sample)


def _box_run(run, prefix: str, *, heads: bool) -> ModelChoice:
    """A run that learned boxes: the head chosen (the class head unless `heads` offers the box head)."""
    which = "class"
    if heads:
        which = st.radio(
            "Head to explain",
            list(HEADS),
            format_func=HEADS.get,
            horizontal=True,
            key=f"{prefix}_head",
            persist_state=KEEP,
            help="The network has two heads on the same layers: a softmax for the class and four numbers for "
            "the box. Its feature maps are the same for both; heatmaps and predictions explain the head chosen.",
        )
    data = run_dataset(run)
    model = box_head(run.model_path, which)
    if which == "box":
        classes = CORNER_NAMES
    else:
        classes = data.class_names if data is not None else tuple(f"class {i}" for i in range(model.output_shape[-1]))
    digit_like = False  # a digit placed anywhere on a larger canvas: not centred as MNIST's
    return ModelChoice(
        model,
        run.label,
        classes,
        data,
        None,  # no reference: the head's features are the pooled map, not what Reference measures
        list(run.checkpoints),
        digit_like,
        head=which,
        box_model=load_path(run.model_path),
    )
