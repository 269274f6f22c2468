"""Training runs kept in the store (`cnnviz.store`): what `RunManager` writes as its runs change, and
the runs it reads back for a learner, from an earlier visit, another tab, another server or before a
restart.

A run's row is written whole (settings, state, curves, the files it has made), so a write that failed
(the database away for a moment) is simply written again later: the manager marks a run dirty when
something worth keeping happens (it started, an epoch ended, a checkpoint or the model was saved, it
finished) and `flush` writes the dirty ones. The running batch points are kept with each epoch: a
server that stops loses at most the epoch in progress.

A run that was training on a server that has stopped (no heartbeat for `STALE_S`, or its process gone
on this machine) is interrupted: it keeps its curves and checkpoints, and `resume_job` continues it
from its last checkpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import secrets
import threading
import time
import types
import typing
from pathlib import Path

import numpy as np

from cnnviz.errors import InvalidInput
from cnnviz.store import Store, StoreUnavailable
from cnnviz.training import RunState, TrainJob

HEARTBEAT_S = 5  # how often a server says it is alive
STALE_S = 30  # a server silent this long has stopped: its unfinished runs are interrupted
SWEEP_S = 6 * 3600  # how often old work is removed (`Store.remove_old`)
MAX_BATCH_POINTS = 2000  # running points kept per run (every other one dropped past this)
DATA_PREFIX = "data:"  # a path in a kept job, relative to the data folder (replicas mount it anywhere)
UNFINISHED = (RunState.QUEUED, RunState.STARTING, RunState.RUNNING, RunState.STOPPING)

log = logging.getLogger("cnnviz")


# --- a job as JSON ---------------------------------------------------------------------------------


def _plain(value, store: Store):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _plain(getattr(value, field.name), store) for field in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(item, store) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item, store) for key, item in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _typed(hint, value):
    """`value` (JSON) as the type `hint` names: dataclasses rebuilt, lists made tuples."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [option for option in typing.get_args(hint) if option is not type(None)]
        return _typed(options[0], value) if len(options) == 1 else value
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        hints = typing.get_type_hints(hint)
        known = {field.name for field in dataclasses.fields(hint)}
        return hint(**{key: _typed(hints.get(key), item) for key, item in value.items() if key in known})
    if hint is tuple or origin is tuple:
        return tuple(_tupled(item) for item in value)
    return value


def _tupled(value):
    # Inside a tuple field (blocks, dataset options, shapes): lists were tuples, dicts stay dicts.
    if isinstance(value, list):
        return tuple(_tupled(item) for item in value)
    return value


def job_to_json(job: TrainJob, store: Store) -> str:
    """A TrainJob as JSON, its file paths inside the data folder written relative to it."""
    plain = _plain(job, store)
    for name in ("dataset_file", "base_model", "resume_from"):
        path = plain.get(name)
        if isinstance(path, str) and not path.startswith("imagenet:"):
            relative = store.relative(path)
            if relative is not None:
                plain[name] = DATA_PREFIX + relative
    return json.dumps(plain)


def job_from_json(text: str, store: Store) -> TrainJob:
    """The TrainJob `job_to_json` wrote (fields added since are left at their defaults)."""
    plain = json.loads(text)
    for name, path in list(plain.items()):
        if isinstance(path, str) and path.startswith(DATA_PREFIX):
            plain[name] = str(store.data / path.removeprefix(DATA_PREFIX))
    return _typed(TrainJob, plain)


# --- results (evaluation and first-layer filters) as a file -----------------------------------------


def save_results(path: Path, evaluation, filters) -> None:
    """The evaluation (a dataclass of arrays and numbers) and the filters as one .npz."""
    arrays = {}
    if isinstance(evaluation, dict):  # plain numbers (a test's stand-in for a trained model's)
        arrays["evaluation_type"] = np.array("dict")
        arrays.update({f"evaluation.{key}": np.asarray(value) for key, value in evaluation.items()})
    elif evaluation is not None:
        arrays["evaluation_type"] = np.array(f"{type(evaluation).__module__}.{type(evaluation).__qualname__}")
        for field in dataclasses.fields(evaluation):
            arrays[f"evaluation.{field.name}"] = np.asarray(getattr(evaluation, field.name))
    if filters is not None:
        arrays["filters"] = np.asarray(filters)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez(partial, **arrays)
    partial.replace(path)  # never a half-written file under the real name


def load_results(path: Path):
    """(evaluation, filters) as `save_results` kept them; (None, None) for a missing file."""
    import importlib

    try:
        with np.load(path, allow_pickle=False) as data:
            filters = data.get("filters")
            evaluation = None
            if "evaluation_type" in data:
                module, _, name = str(data["evaluation_type"]).rpartition(".")
                if name == "dict":
                    evaluation = {
                        key.removeprefix("evaluation."): data[key].item()
                        for key in data.files
                        if key.startswith("evaluation.")
                    }
                elif module.startswith("cnnviz."):  # only the library's own types are rebuilt
                    kind = getattr(importlib.import_module(module), name)
                    values = {}
                    for field in dataclasses.fields(kind):
                        value = data[f"evaluation.{field.name}"]
                        values[field.name] = value.item() if value.ndim == 0 else value
                    evaluation = kind(**values)
            return evaluation, filters
    except (OSError, KeyError, ValueError):
        return None, None


def _interrupted_message(epochs: int) -> str:
    if epochs:
        return (
            f"Interrupted at epoch {epochs}: the server stopped while it trained. Its curves and checkpoints are "
            f"kept; Continue training goes on from epoch {epochs}."
        )
    return "Interrupted before its first epoch ended: the server stopped. Continue training starts it again."


def _thinned(batches: list[dict]) -> list[dict]:
    while len(batches) > MAX_BATCH_POINTS:
        batches = batches[::2]
    return batches


class RunJournal:
    """One manager's link to the store: keep its runs, read a learner's kept ones back.

    `problem` is '' while the store works, else the StoreUnavailable message of the last failure
    (pages show it); runs keep training meanwhile and are written once it works again.
    """

    def __init__(self, store: Store, *, record: type, server: str | None = None):
        self.store = store
        self._record = record  # cnnviz.runs.Run (handed over: this module is imported by cnnviz.runs)
        self.server = server or secrets.token_hex(8)
        self.problem = ""
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, object]] = {}  # run id -> (row version, Run)
        self._alive: tuple[float, set[str]] = (0.0, set())
        self._beat = 0.0
        self._swept = -float("inf")
        self._next_try = 0.0
        self.created_at: dict[str, float] = {}  # run id -> wall-clock time it was submitted

    # --- writing ---

    def mark(self, run_id: str) -> None:
        """Something worth keeping happened to this run: write it at the next flush."""
        with self._lock:
            self._dirty.add(run_id)

    def dirty(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._dirty

    def take_dirty(self) -> set[str]:
        """The runs to write now (none while a failed store waits before its next try)."""
        with self._lock:
            if time.monotonic() < self._next_try:
                return set()
            taken, self._dirty = self._dirty, set()
            return taken

    def snapshot(self, run) -> tuple[dict, list]:
        """A run's row and files as they stand (call under the manager's lock: fields are copied)."""
        store = self.store
        created = self.created_at.setdefault(run.id, time.time() - max(0.0, time.monotonic() - run.created))
        finished = time.time() if run.done else None
        evaluation = run.evaluation
        row = {
            "id": run.id,
            "learner": run.owner,
            "number": run.number,
            "title": run.job.title,
            "state": str(run.state),
            "message": run.message,
            "job": job_to_json(run.job, store),
            "created": created,
            "finished": finished,
            "params": run.params,
            "train_seconds": run.train_seconds,
            "test_accuracy": evaluation.get("test_accuracy")
            if isinstance(evaluation, dict)
            else getattr(evaluation, "test_accuracy", None),
            "epochs": json.dumps(_plain(list(run.epochs), store)),
            "batches": json.dumps(_plain(_thinned(list(run.batches)), store)),
            "server": None if run.done else self.server,
        }
        files = [("checkpoint", epoch, path) for epoch, path in list(run.checkpoints)]
        if run.model_path:
            files.append(("model", None, run.model_path))
        if run.job.dataset_file:
            files.append(("dataset", None, run.job.dataset_file))
        extra = {"evaluation": evaluation, "filters": run.filters} if evaluation is not None else None
        return row, [files, extra]

    def write(self, row: dict, files: list) -> None:
        """Write one snapshot (results file first, then the row naming it); raises StoreUnavailable."""
        paths, extra = files
        store = self.store
        if extra is not None:
            results = store.data / "runs" / row["id"] / "results.npz"
            if not results.exists():
                try:
                    save_results(results, extra["evaluation"], extra["filters"])
                except OSError as error:
                    raise store.explain(error) from error
            paths = [*paths, ("results", None, str(results))]
        kept = []
        for kind, epoch, path in paths:
            relative = store.relative(path)
            if relative is None:
                continue  # a file outside the data folder (the shipped model): nothing to account for
            with contextlib.suppress(OSError):
                kept.append((kind, epoch, relative, Path(path).stat().st_size))
        store.save_run(row, kept)

    def flush(self, snapshots: dict[str, tuple[dict, list]]) -> None:
        """Write these snapshots (outside the manager's lock); those that fail stay dirty."""
        failed = None
        for run_id, (row, files) in snapshots.items():
            try:
                self.write(row, files)
            except StoreUnavailable as error:
                failed = error
                self.mark(run_id)
            except Exception as error:  # a bug must not stop the others from being kept
                log.exception("Keeping run %s failed", run_id)
                failed = self.store.explain(error)
                self.mark(run_id)
        self._settle(failed)

    def _settle(self, failed: StoreUnavailable | None) -> None:
        with self._lock:
            if failed is None:
                self.problem = ""
                self._next_try = 0.0
            else:
                self.problem = str(failed)
                self._next_try = time.monotonic() + 2.0

    def heartbeat(self) -> None:
        """Every HEARTBEAT_S: tell the store this server is alive (a failure is noted, not raised)."""
        if time.monotonic() - self._beat < HEARTBEAT_S:
            return
        self._beat = time.monotonic()
        try:
            self.store.heartbeat(self.server)
            if time.monotonic() - self._swept > SWEEP_S:  # at start, then a few times a day
                self._swept = time.monotonic()
                self.store.remove_old()
        except StoreUnavailable as error:
            self._settle(error)

    def closed(self, unfinished: list) -> None:
        """This server is closing: its unfinished runs are interrupted now (their workers end with it)."""
        with contextlib.suppress(Exception):
            for run in unfinished:
                epochs = max([epoch for epoch, _ in run.checkpoints], default=0)
                self.store.interrupt(
                    run.id,
                    run.owner,
                    server=self.server,
                    state=RunState.INTERRUPTED,
                    message=_interrupted_message(epochs),
                )
            self.store.forget_server(self.server)

    # --- reading ---

    def number_for(self, owner: str) -> int:
        """The next run number of a learner, from the store (1 when it cannot be read)."""
        try:
            return self.store.next_number(owner)
        except StoreUnavailable as error:
            self._settle(error)
            return 1

    def _live_servers(self) -> set[str]:
        stamp, alive = self._alive
        if time.monotonic() - stamp > 2.0:
            alive = self.store.live_servers(stale_s=STALE_S) | {self.server}
            self._alive = (time.monotonic(), alive)
        return alive

    def stored(self, owner: str, *, exclude: set[str]) -> list:
        """The learner's kept runs not in `exclude` (the manager's own live ones), as Run records, oldest
        first. Runs of servers that stopped are marked interrupted. [] when the store cannot be read."""
        try:
            versions = self.store.run_versions(owner)
            wanted = [run_id for run_id in versions if run_id not in exclude]
            stale = [run_id for run_id in wanted if self._cache.get(run_id, (None,))[0] != versions[run_id]]
            if stale:
                alive = self._live_servers()
                for row in self.store.run_rows(owner, stale):
                    run = self._materialize(row, alive)
                    self._cache[row["id"]] = (row["updated"] if run.state == row["state"] else None, run)
            for run_id in [run_id for run_id in self._cache if run_id not in versions]:
                self._cache.pop(run_id, None)  # deleted (here or elsewhere)
        except StoreUnavailable as error:
            self._settle(error)
            return []
        runs = [self._cache[run_id][1] for run_id in wanted if run_id in self._cache]
        return [run for run in runs if run.owner == owner]

    def _materialize(self, row: dict, alive: set[str]):
        store = self.store
        job = job_from_json(row["job"], store)
        run = self._record(id=row["id"], owner=row["learner"], job=job, number=int(row["number"]))
        run.state, run.message = RunState(row["state"]), row["message"]
        run.params, run.train_seconds = row["params"], row["train_seconds"]
        run.epochs = json.loads(row["epochs"])
        run.batches = json.loads(row["batches"])
        run.created = 0.0
        for kind, epoch, path in row["files"]:
            absolute = str(store.data / path)
            if kind == "checkpoint":
                run.checkpoints.append((int(epoch), absolute))
            elif kind == "model":
                run.model_path = absolute
            elif kind == "results":
                run.evaluation, run.filters = load_results(Path(absolute))
        run.checkpoints.sort()
        if run.state in UNFINISHED and row["server"] not in alive:
            epochs = max([epoch for epoch, _ in run.checkpoints], default=0)
            message = _interrupted_message(epochs)
            store.interrupt(run.id, run.owner, server=row["server"], state=RunState.INTERRUPTED, message=message)
            run.state, run.message = RunState.INTERRUPTED, message
        if run.state in UNFINISHED:
            run.message = run.message or "Training on another server of this class; its curve grows with each epoch."
        if run.done:
            run.finished = row["finished"] or row["updated"]
        return run

    def resume_job(self, run) -> tuple[TrainJob, int, list, list, list]:
        """How an interrupted run goes on: (its job set to continue from the last checkpoint, that epoch,
        and its epochs, batches and checkpoints up to there). A run with no checkpoint starts again."""
        if run.state != RunState.INTERRUPTED:
            raise InvalidInput(f"{run.label} was not interrupted: only an interrupted run continues.")
        usable = [(epoch, path) for epoch, path in run.checkpoints if Path(path).exists()]
        epoch, path = max(usable, default=(0, None))
        job = dataclasses.replace(run.job, resume_from=path if epoch else None, initial_epoch=epoch)
        epochs = [point for point in run.epochs if point.get("epoch", 0) <= epoch]
        batches = [point for point in run.batches if point.get("epoch", 0) <= epoch]
        checkpoints = [(e, p) for e, p in usable if e <= epoch]
        return job, epoch, epochs, batches, checkpoints

    def forget_cached(self, run_id: str) -> None:
        self._cache.pop(run_id, None)
