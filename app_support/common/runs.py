"""The server's training runs, its store of learners' work and its datasets, shared by every session
(cached resources), and the learner's identity for them (`identity`: a cookie, no login)."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import streamlit as st

from app_support.common import compat, identity
from cnnviz import datasets
from cnnviz.errors import InvalidInput
from cnnviz.runs import RunManager, load_job_dataset, settings_from_env
from cnnviz.store import Store, StoreUnavailable


@st.cache_resource(show_spinner=False)
def kept_store() -> Store:
    """The store of learners' work, as the environment says (`cnnviz.run_settings.STORE_SETTINGS`; by
    default SQLite in ~/.local/share/cnnviz). Opened when first used: a fault shows where it matters."""
    return Store.from_env()


@st.cache_resource(show_spinner=False)
def run_manager() -> RunManager:
    """One manager per server: one worker waits warm (unless CNNVIZ_SPARES says otherwise), no run trains
    longer than ten minutes, the backend is the environment's (`cnnviz.run_settings.SETTINGS`; by default
    local workers, two at a time), and every run is kept in the store (its files in the data folder; in a
    temporary folder when the data folder cannot be written, so that training still works)."""
    store = kept_store()
    workdir = None
    try:
        (store.data / "runs").mkdir(parents=True, exist_ok=True)
        probe = store.data / "runs" / ".write-check"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        workdir = tempfile.mkdtemp(prefix="cnnviz-runs-")
    return RunManager(**manager_options(), store=store, workdir=workdir)


def manager_options() -> dict:
    """The server's RunManager keywords: one spare and ten minutes, then whatever the environment sets."""
    return {"spares": 1, "time_limit_s": 600, **settings_from_env()}


class Departures:
    """Notices sessions that have left (tab closed, no reconnect within Streamlit's window) and tells
    the run manager to forget their runs, so a class's runs do not pile up in the server for ever.

    A thread looks every `every_s` seconds; it only reads Streamlit's runtime, never calls `st.*`.
    """

    def __init__(self, manager: RunManager, *, grace_s: float, every_s: float = 10.0):
        self.manager, self.grace_s = manager, grace_s
        self._seen: dict[str, tuple[str, float]] = {}  # owner -> (session id, when last active)
        self._lock = threading.Lock()
        self._started = time.monotonic()
        thread = threading.Thread(target=self._loop, args=(every_s,), daemon=True, name="cnnviz-departures")
        thread.start()

    def touch(self, owner_key: str, session_id: str) -> None:
        with self._lock:
            self._seen[owner_key] = (session_id, time.monotonic())

    def sweep(self) -> int:
        """Forget the runs of every owner whose session is gone; returns how many owners were forgotten."""
        if compat.is_active_session("") is None:  # not in a running server
            return 0
        now, gone = time.monotonic(), 0
        for owner_key in self.manager.owners():
            with self._lock:
                session_id, seen = self._seen.get(owner_key, ("", self._started))
            if session_id and compat.is_active_session(session_id):
                self.touch(owner_key, session_id)
            elif now - seen > self.grace_s and self.manager.forget(owner_key) == 0:
                with self._lock:
                    self._seen.pop(owner_key, None)
                gone += 1
        if gone:
            # What they left (sessions, models, pictures) is mostly reference cycles; with Streamlit's
            # collection after every run turned off (.streamlit/config.toml), collect once here.
            gc.collect()
        return gone

    def _loop(self, every_s: float) -> None:
        while True:
            time.sleep(every_s)
            try:
                self.sweep()
            except Exception:  # a failed sweep must not end the thread (the next one retries), nor go unseen
                logging.getLogger("cnnviz").exception("Forgetting the runs of departed sessions failed")


@st.cache_resource(show_spinner=False)
def departures() -> Departures:
    # Longer than Streamlit keeps a disconnected session for its reconnection (a flaky school network).
    grace = float(st.get_option("server.disconnectedSessionTTL")) + 30.0
    return Departures(run_manager(), grace_s=grace)


def owner() -> str:
    """This learner's key to their own runs and work (`identity.key`: their id's hash), the same in
    every tab of their browser and on every visit."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    key = st.session_state.get("_cnnviz_owner")
    if key is None:
        key = st.session_state["_cnnviz_owner"] = identity.key()
        # Noted as seen (old work is removed so many days after the last visit), without holding up the page.
        threading.Thread(target=_seen, args=(key,), daemon=True, name="cnnviz-seen").start()
    context = get_script_run_ctx()
    if context is not None:
        departures().touch(key, context.session_id)
    return key


def _seen(key: str) -> None:
    with contextlib.suppress(StoreUnavailable):  # the Trainer names the problem
        kept_store().touch_learner(key)


def upload_folder() -> Path:
    """Where this learner's uploaded datasets and models are kept: the data folder (a temporary one when
    it cannot be written)."""
    folder = kept_store().data / "uploads" / owner()[:16]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir()) / "cnnviz-uploads" / owner()[:16]
        folder.mkdir(parents=True, exist_ok=True)
    return folder


@st.cache_resource(max_entries=8, show_spinner="Loading the dataset...")
def dataset(name: str, size: int = 28) -> datasets.Dataset:
    """A named dataset, loaded once per server (read-only arrays shared by every session); the
    bundled sets with boxes (`cnnviz.box_data.NAMES`) too."""
    from cnnviz import box_data

    options = {"size": size} if name == "shapes" else {}
    loaded = box_data.load(name) if name in box_data.NAMES else datasets.load(name, **options)
    for array in (loaded.x_train, loaded.y_train, loaded.x_test, loaded.y_test):
        array.setflags(write=False)
    return loaded


def saved_upload(data: datasets.Dataset) -> str:
    """Save an uploaded dataset where worker processes can read it; returns the .npz path."""
    from cnnviz.export import save_npz

    digest = hashlib.blake2b(np.ascontiguousarray(data.x_train).data, digest_size=12).hexdigest()
    path = upload_folder() / f"{digest}.npz"
    if not path.exists():
        partial = path.with_suffix(".partial.npz")
        save_npz(data, partial)
        partial.replace(path)  # a reader never finds half a file
    return str(path)


def run_dataset(run) -> datasets.Dataset | None:
    """The dataset a run trained on, as it trained on it (fewer images per class, resized to a transfer
    base's input), or None if it is no longer at hand (e.g. a zip from another visit)."""
    data = _stored_dataset(run)
    if data is None or not (run.job.train_per_class or run.job.base_input):
        return data
    return _as_trained(run.id, run.job, data)


@st.cache_resource(max_entries=8, show_spinner="Preparing the pictures as the run saw them...")
def _as_trained(run_id: str, _job, _data: datasets.Dataset) -> datasets.Dataset:
    from cnnviz import jobs

    return jobs.job_dataset(_job, _data, _job.base_input)


def _stored_dataset(run) -> datasets.Dataset | None:
    """The dataset a run names, as stored (None if it is no longer at hand)."""
    if run.job.dataset == "file":
        own = st.session_state.get("own_datasets", {}).get(run.job.dataset_file)  # classes made in the Trainer
        if own is not None:
            return own
        return _kept_dataset(run.job.dataset_file, run.job)  # as kept in the data folder (any visit, any tab)
    try:
        return dataset(run.job.dataset, dict(run.job.dataset_options).get("size", 28))
    except InvalidInput:
        return None


@st.cache_resource(max_entries=8, show_spinner="Loading the pictures the run trained on...")
def _kept_dataset(path: str, _job) -> datasets.Dataset | None:
    """An uploaded dataset as kept in the data folder (None once it is gone)."""
    try:
        return load_job_dataset(_job)
    except (OSError, ValueError, KeyError):
        return None
