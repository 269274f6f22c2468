"""The server's training runs and datasets, shared by every session (cached resources), and the
session's identity for them."""

from __future__ import annotations

import hashlib
import uuid

import numpy as np
import streamlit as st

from cnnviz import datasets
from cnnviz.errors import InvalidInput
from cnnviz.runs import RunManager


@st.cache_resource(show_spinner=False)
def run_manager() -> RunManager:
    """One manager per server: at most two runs train at once on this class of machine, one
    worker waits warm, and no run trains longer than ten minutes."""
    return RunManager(max_active=2, spares=1, time_limit_s=600)


def owner() -> str:
    """This browser session's key to its own runs."""
    return st.session_state.setdefault("_cnnviz_owner", uuid.uuid4().hex)


@st.cache_resource(max_entries=8, show_spinner="Loading the dataset...")
def dataset(name: str, size: int = 28) -> datasets.Dataset:
    """A named dataset, loaded once per server (read-only arrays shared by every session)."""
    options = {"size": size} if name == "shapes" else {}
    loaded = datasets.load(name, **options)
    for array in (loaded.x_train, loaded.y_train, loaded.x_test, loaded.y_test):
        array.setflags(write=False)
    return loaded


def saved_upload(data: datasets.Dataset) -> str:
    """Save an uploaded dataset where worker processes can read it; returns the .npz path."""
    from cnnviz.export import save_npz

    digest = hashlib.blake2b(np.ascontiguousarray(data.x_train).data, digest_size=12).hexdigest()
    folder = run_manager().workdir / "uploads"
    folder.mkdir(exist_ok=True)
    path = folder / f"{digest}.npz"
    if not path.exists():
        save_npz(data, path)
    return str(path)


def run_dataset(run) -> datasets.Dataset | None:
    """The dataset a run trained on (None if it is no longer at hand, e.g. a zip from another visit)."""
    if run.job.dataset == "file":
        kept = st.session_state.get("trainer_zip_kept")
        return kept[1] if kept else None
    try:
        return dataset(run.job.dataset, dict(run.job.dataset_options).get("size", 28))
    except InvalidInput:
        return None
