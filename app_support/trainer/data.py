"""The Trainer's first section: choosing a dataset (bundled, downloadable, a zip of class folders, or
classes made here, see own_classes_view) and showing it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_support.common import state
from app_support.common.render import picture
from app_support.common.runs import dataset as cached_dataset
from app_support.own_classes import view as own_classes_view
from app_support.trainer.state import UPLOAD_BOXES
from cnnviz import box_data, box_views, datasets, display, image_folders
from cnnviz.errors import InvalidInput

UPLOAD = "upload"
OWN = "own"  # classes the learner makes here: the section trains them itself, with defaults for few examples
KEEP = "session"  # widgets keep their values when the learner visits another page and comes back


# --- 1. dataset ---------------------------------------------------------------------------------


def choose_dataset() -> tuple[str, datasets.Dataset | None]:
    """The dataset picker: returns the chosen name and the dataset (None while unavailable, and for
    your own classes, whose section makes and trains its dataset itself)."""
    names = {
        **datasets.NAMES,
        UPLOAD: "Your images (a zip of class folders)",
        OWN: "Your own classes (draw, snap or upload)",
        **box_data.NAMES,  # pictures with boxes: the run learns what and where
        UPLOAD_BOXES: "Your images with boxes (a zip of class folders, a boxes.csv in each)",
    }
    name = state.locked_widget(  # a teacher's link can fix or hide it (URL name "dataset", app_support.trainer.state)
        st.selectbox,
        "dataset",
        "Dataset",
        list(names),
        format_func=names.get,
        key="trainer_dataset",
        persist_state=KEEP,
    )
    if name == OWN:
        own_classes_view.section()
        return name, None
    if name in (UPLOAD, UPLOAD_BOXES):
        return name, _uploaded_dataset(boxes=name == UPLOAD_BOXES)
    size = 28
    if name == "shapes":
        size = state.locked_widget(  # part of the dataset: a lock on the dataset covers it
            st.select_slider, "dataset", "Shape image size", [28, 32, 64], key="trainer_shape_size", persist_state=KEEP
        )
    try:
        return name, cached_dataset(name, size)
    except InvalidInput as error:
        st.error(str(error))
        return name, None


def upload_limit_mb() -> int:
    """The largest zip accepted, in MB: the smaller of the uploader's limit (.streamlit/config.toml's
    maxUploadSize, which Streamlit enforces first) and the zip reader's own."""
    return int(min(st.get_option("server.maxUploadSize"), image_folders.ZIP_MAX_BYTES // 2**20))


def _uploaded_dataset(*, boxes: bool = False) -> datasets.Dataset | None:
    """A zip of class folders, read as the learner set it (`boxes`: with a boxes.csv in each folder)."""
    st.caption(
        "Zip a folder per class, e.g. `horses/001.jpg ... humans/042.png`. Images are resized to a square; "
        f"up to {image_folders.ZIP_MAX_ENTRIES:,} files, {upload_limit_mb()} MB. Other files (a notes.txt) are "
        "skipped."
    )
    if boxes:
        st.caption(
            f"Each folder also holds a `{box_data.BOXES_FILE}`: the line `{','.join(box_data.BOXES_HEADER)}`, then "
            "one line per picture with its object's box in pixels of the picture as it is in the zip, e.g. "
            "`cat1.jpg,12,30,140,118`."
        )
    read = box_data.load_boxes_zip if boxes else image_folders.load_image_folder_zip
    columns = st.columns(2)
    fixed = state.is_fixed("dataset")  # a lock on the dataset covers the zip and how it is read
    size = columns[0].select_slider(
        "Image size", [32, 48, 64, 96, 128], value=64, key="trainer_zip_size", persist_state=KEEP, disabled=fixed
    )
    gray = columns[1].toggle("Grayscale", key="trainer_zip_gray", persist_state=KEEP, disabled=fixed)
    uploaded = st.file_uploader("Image folders (.zip)", type=["zip"], key="trainer_zip", disabled=fixed)
    kept = st.session_state.get("trainer_zip_kept")
    if uploaded is not None:
        marker = (uploaded.file_id, size, gray, boxes)
        if kept is None or kept[0] != marker:
            try:
                with st.spinner("Reading the zip..."):
                    data = read(uploaded.getvalue(), image_size=size, grayscale=gray)
            except InvalidInput as error:
                # The last zip's pictures go too: what is on screen, and what Train would use, must
                # be the file the learner just gave, and that one was refused.
                st.session_state.pop("trainer_zip_kept", None)
                st.error(f"{uploaded.name}: {error}")
                return None
            kept = (marker, data)
            st.session_state["trainer_zip_kept"] = kept
    return kept[1] if kept and kept[0][3] == boxes else None


def show_dataset(data: datasets.Dataset) -> None:
    st.caption(data.description + (" " + " ".join(data.notes) if data.notes else ""))
    counts = data.counts()
    table = pd.DataFrame(
        {"class": list(counts), "train": [c[0] for c in counts.values()], "test": [c[1] for c in counts.values()]}
    )
    left, right = st.columns([1, 2])
    left.dataframe(table, hide_index=True, height=min(38 * (len(table) + 1), 400))
    h, w, c = data.input_shape
    left.caption(f"{len(data.x_train):,} train and {len(data.x_test):,} test images of {h}x{w}, {c} channel(s).")
    if isinstance(data, box_data.BoxDataset):  # each picture with its object's box
        grid = box_views.boxes_grid(data, per_class=3, classes_per_row=2)
        caption = "Training samples with their boxes (green): three of each class, two classes to a row"
        picture(grid, caption=caption, container=right)
        return
    grid = datasets.sample_grid(data, per_class=10)
    picture(display.enlarge(grid, min_side=300), caption="Training samples, one row per class", container=right)
