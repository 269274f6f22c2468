"""Training runs that live outside the web server's script runs: a bounded pool of workers, a
queue, stop requests, time limits, and crash isolation, on this machine or on a Ray cluster.

Runs train in worker processes (Keras keeps process-wide state; a crash or a runaway run takes only
its worker down). A worker trains several runs in turn, clearing Keras between them, and is replaced
after a number of runs or once its memory has grown (`cnnviz.workers`); one spare is kept started
with TensorFlow imported, so a run's first curve point does not wait for the import. Where the
workers live is the backend (`BACKENDS`: "local" processes, the default, or "ray" actors,
`cnnviz.ray_runs`); the queue, positions, limits and records are the same for both. A dispatcher
thread moves events from the workers into `Run` records, which the app reads; nothing here touches
Streamlit.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import secrets
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cnnviz.errors import InvalidInput
from cnnviz.run_settings import BACKENDS, SETTINGS, settings_from_env
from cnnviz.training import RunState, TrainConfig, TrainJob

if TYPE_CHECKING:
    from cnnviz.store import Store

# BACKENDS, SETTINGS and settings_from_env live in cnnviz.run_settings (no NumPy) and keep their names here.
__all__ = [
    "BACKENDS",
    "RESIZE_S",
    "SETTINGS",
    "Run",
    "RunManager",
    "Target",
    "load_job_dataset",
    "run_job",
    "settings_from_env",
]


@dataclass
class Run:
    """One training run as the app sees it. Fields change under the manager's lock."""

    id: str
    owner: str
    job: TrainJob
    number: int  # 1, 2, 3... per owner, for labels
    state: RunState = RunState.QUEUED
    message: str = ""
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    first_point: float | None = None  # seconds from submission to the first curve point
    finished: float | None = None
    params: int | None = None
    batches: list[dict] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)
    checkpoints: list[tuple[int, str]] = field(default_factory=list)
    evaluation: object = None  # cnnviz.training.Evaluation
    filters: np.ndarray | None = None
    model_path: str | None = None
    train_seconds: float | None = None
    worker_pid: int | None = None  # the process that trains it (a reused worker trains several runs)

    @property
    def done(self) -> bool:
        """Whether the run has finished, well or not."""
        return self.state.finished

    @property
    def label(self) -> str:
        """'Run 3: mnist-fast', as the pages list it."""
        return f"Run {self.number}: {self.job.title}" if self.job.title else f"Run {self.number}"


# --- the worker process ---------------------------------------------------------------------------


def load_job_dataset(job: TrainJob):
    """The Dataset a job trains on: by name, or from its .npz (an upload saved by the app)."""
    from cnnviz import box_data, datasets

    if job.dataset == "file":
        with np.load(job.dataset_file, allow_pickle=False) as data:
            name = str(data["name"]) if "name" in data.files else "uploaded"
            parts = [data[key] for key in ("x_train", "y_train", "x_test", "y_test")]
            names = tuple(str(label) for label in data["class_names"])
            if "boxes_train" in data.files:  # pictures with boxes (`export.save_npz` of a box dataset)
                boxes = {"boxes_train": data["boxes_train"], "boxes_test": data["boxes_test"]}
                return box_data.BoxDataset(name, *parts, names, **boxes)
            return datasets.Dataset(name, *parts, names)
    if job.dataset in box_data.NAMES:
        return box_data.load(job.dataset, **dict(job.dataset_options))
    return datasets.load(job.dataset, **dict(job.dataset_options))


def run_job(job: TrainJob, workdir: Path, send, should_stop) -> None:
    """Build, train, save and evaluate: what a worker does with one job (also usable in-process)."""
    from cnnviz import jobs, training

    if job.resume_from:  # an interrupted run: its checkpoint, compiled, with the optimizer's state
        import keras

        model = keras.models.load_model(job.resume_from)
        dataset = jobs.job_dataset(job, load_job_dataset(job), job.base_input)
        resume = {"compiled": True, "initial_epoch": job.initial_epoch}
    else:
        # The blocks built from scratch, or a transfer model on the job's base (and the dataset resized to it)
        model, dataset = jobs.job_model(job, load_job_dataset(job))
        resume = {}
    send({"kind": "started", "params": int(model.count_params())})
    trainer, options = training, resume
    if job.boxes is not None:  # a box head beside the class head (cnnviz.box_model): two losses, boxes tested
        from cnnviz import box_model as trainer

        options = {**resume, "weights": job.boxes}
    result = trainer.train(
        model, dataset, job.config, on_event=send, should_stop=should_stop, checkpoint_dir=workdir, **options
    )
    path = workdir / "model.keras"
    model.save(path)
    send(
        {
            "kind": "result",
            "status": result.status,
            "message": result.message,
            "model_path": str(path),
            "train_seconds": result.train_seconds,
            "evaluation": trainer.evaluate(model, dataset),
            "filters": training.first_conv_filters(model),
        }
    )


# What a worker runs for a job: target(job, workdir, send, should_stop). `send(event)` reports to the
# manager (events as `run_job` sends them); `should_stop()` turns true when the run is asked to stop.
Target = Callable[[TrainJob, Path, Callable[[dict], None], Callable[[], bool]], None]


# --- the manager, one per server --------------------------------------------------------------------


def _pool(backend: str, *, target: Target, warm: tuple[str, ...], options: dict):
    """The worker pool of a backend named in BACKENDS (Ray's module is imported only when chosen)."""
    if backend not in BACKENDS:
        raise InvalidInput(f"Training backend {backend!r} is not offered; choose one of {', '.join(BACKENDS)}.")
    module, name = BACKENDS[backend].rsplit(".", 1)
    import importlib

    return getattr(importlib.import_module(module), name)(target=target, warm=warm, **options)


RESIZE_S = 30  # how often the backend's resources are read again (an autoscaling cluster grows)


class RunManager:
    """Queue, run and watch training jobs for every session of one server.

    Parameters
    ----------
    workdir : where runs keep checkpoints and models (a temporary folder by default). With a remote
        backend the files come back as bytes and are written here, so `Run.model_path` and
        `Run.checkpoints` are local paths whatever trained them.
    max_active : runs training at once; more wait in the queue. None: as many as the backend's
        resources allow now (Ray: the cluster's CPUs, or GPUs, per run; read again every 30 s). On
        Ray an int is the most asked for: runs past the cluster's room wait for Ray to place them
        (that waiting is what makes an autoscaling cluster add nodes).
    max_queued : runs waiting at once; past it, `submit` refuses with a message.
    spares : workers kept started (TensorFlow imported) for the next run.
    time_limit_s : no run trains longer; a worker that does not end by then plus `grace_s` is killed.
    keep_per_owner : finished runs kept per session; older ones and their files are removed.
    target : what a worker runs for each job (`run_job`: build, train, evaluate); a module-level
        function, since workers are spawned. Tests give one that trains nothing.
    warm : modules a spare worker imports before its job arrives.
    backend : a name in `BACKENDS`: "local" (worker processes here) or "ray".
    backend_options : the backend's own settings (`cnnviz.ray_runs.RayPool`: address, cpus_per_run,
        gpus_per_run, accelerator...; both: max_runs and max_rss_mb, when a worker is replaced).
    idle_s : a worker beyond the spares that has waited this long without a job is let go (None: the
        backend's choice; local 120 s, Ray 15 s since there an idle worker holds a share of the cluster).
    store : where runs are kept (`cnnviz.store.Store`): each run is written as it goes (`cnnviz.kept_runs`),
        `runs_for` also lists a learner's kept runs (other tabs, servers, visits), and files live in the
        store's data folder (`workdir` defaults to its runs/ folder and is never removed). Owners are then
        learner keys. None: runs live in memory and go with the server, as before.
    """

    def __init__(
        self,
        workdir: str | Path | None = None,
        *,
        max_active: int | None = 2,
        max_queued: int = 100,
        spares: int = 1,
        time_limit_s: float = 600,
        grace_s: float = 60,
        keep_per_owner: int = 10,
        target: Target = run_job,
        warm: tuple[str, ...] = ("keras",),
        backend: str = "local",
        backend_options: dict | None = None,
        idle_s: float | None = None,
        store: Store | None = None,
    ):
        self.journal = None
        if store is not None:
            from cnnviz.kept_runs import RunJournal

            self.journal = RunJournal(store, record=Run)
            workdir = workdir or store.data / "runs"
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="cnnviz-runs-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.requested_active = max_active
        self.max_active = max_active or 1  # until the backend says what its resources allow
        self.max_queued, self.spares = max_queued, spares
        self.time_limit_s, self.grace_s, self.keep_per_owner = time_limit_s, grace_s, keep_per_owner
        self.target, self.warm = target, tuple(warm)
        self.backend = backend
        self._pool = _pool(backend, target=target, warm=self.warm, options=dict(backend_options or {}))
        self.idle_s = self._pool.idle_s if idle_s is None else idle_s
        self.backend_error = ""  # why the backend could not be reached, shown to whoever submits
        self._lock = threading.RLock()
        self._runs: dict[str, Run] = {}
        self._queue: deque[str] = deque()
        self._workers: list = []  # cnnviz.workers.Worker of the backend
        self._numbers: dict[str, itertools.count] = {}
        self._closed = False
        self._doomed: set[str] = set()  # runs deleted while they trained: removed once they end
        self._keeping = threading.Lock()  # one writer of snapshots at a time: never an older one last
        self._opened = threading.Event()
        # The dispatcher thread lives as long as the manager; the backend is opened in it (a Ray
        # cluster started here dies with the thread that started it: Linux's parent-death signal).
        self._thread = threading.Thread(target=self._loop, name="cnnviz-runs", daemon=True)
        self._thread.start()
        atexit.register(self.shutdown)

    def wait_until_open(self, timeout: float | None = None) -> bool:
        """Block until the backend has answered (connected, or failed with `backend_error`)."""
        return self._opened.wait(timeout)

    # --- what sessions call ---

    def submit(self, owner: str, job: TrainJob) -> Run:
        """Queue `job` for `owner`'s session and return its Run; refused with a message when the queue
        is full, the backend cannot be reached, or the server is closing."""
        job.config.validate()
        kept_number = 1
        if self.journal is not None:  # asked before taking the lock: a slow database holds up nobody else
            self._check_room(owner)
            kept_number = self.journal.number_for(owner)
        with self._lock:
            if self._closed:
                raise InvalidInput("The server is shutting down; try again in a moment.")
            if self.backend_error:
                raise InvalidInput(self.backend_error)
            if len(self._queue) >= self.max_queued:
                raise InvalidInput(
                    f"The server's training queue is full ({self.max_queued} runs waiting). Try again in a minute."
                )
            limit = min(job.config.time_limit_s or self.time_limit_s, self.time_limit_s)
            config = TrainConfig(**{**job.config.__dict__, "time_limit_s": limit})
            job = TrainJob(**{**job.__dict__, "config": config})
            number = next(self._numbers.setdefault(owner, itertools.count(1)))
            if self.journal is not None:  # numbers go on from the learner's kept runs
                number = max(number, kept_number, *(r.number + 1 for r in self._runs.values() if r.owner == owner))
                self._numbers[owner] = itertools.count(number + 1)
            run = Run(id=f"{owner[:8]}-{number}-{secrets.token_hex(6)}", owner=owner, job=job, number=number)
            self._runs[run.id] = run
            self._queue.append(run.id)
            self._prune(owner)
            self._mark(run)
        self._keep()  # written at once: another tab, or another server, lists it
        return run

    def _check_room(self, owner: str) -> None:
        """Refuse a run past the learner's limits (the message says what to delete); a store that cannot
        be read refuses nothing (the run trains, and is kept once it is back)."""
        from cnnviz.store import StoreUnavailable

        try:
            self.journal.store.check_room(owner)
        except StoreUnavailable as error:
            self.journal.problem = str(error)

    def runs_for(self, owner: str) -> list[Run]:
        """This session's runs, oldest first: nobody sees another session's runs."""
        with self._lock:
            live = [run for run in self._runs.values() if run.owner == owner and run.id not in self._doomed]
        if self.journal is None:
            return live
        kept = self.journal.stored(owner, exclude={run.id for run in live} | self._doomed)
        return sorted([*kept, *live], key=lambda run: run.number)

    def get(self, run_id: str, owner: str) -> Run | None:
        """The run with this id if it is `owner`'s, else None."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None and run.owner == owner:
                return run
        if self.journal is not None and run is None:
            return next((kept for kept in self.runs_for(owner) if kept.id == run_id), None)
        return None

    @property
    def store_problem(self) -> str:
        """Why runs cannot be kept now ('' while the store works, or without one)."""
        return self.journal.problem if self.journal is not None else ""

    def resume(self, run_id: str, owner: str) -> Run:
        """Continue an interrupted run of `owner`'s from its last checkpoint: the same run (number, curves
        so far) queued again. Raises InvalidInput when it cannot."""
        if self.journal is None:
            raise InvalidInput("Runs are not kept on this server, so none can continue.")
        run = self.get(run_id, owner)
        if run is None:
            raise InvalidInput("That run is not among yours (deleted, or from another learner).")
        job, _, epochs, batches, checkpoints = self.journal.resume_job(run)
        # A run that continues is already counted among the learner's: no limit refuses finishing it.
        with self._lock:
            if self._closed:
                raise InvalidInput("The server is shutting down; try again in a moment.")
            if run_id in self._runs:
                raise InvalidInput(f"{run.label} is already training again.")
            again = Run(id=run.id, owner=owner, job=job, number=run.number, epochs=epochs, batches=batches)
            again.checkpoints = checkpoints
            again.message = "Continuing from its last checkpoint..."
            self._runs[again.id] = again
            self._queue.append(again.id)
            self.journal.forget_cached(run.id)
            self._mark(again)
        self._keep()
        return again

    def delete(self, run_id: str, owner: str) -> bool:
        """Delete one of `owner`'s finished runs: its record, curves and files. A run still training is
        stopped first (then removed once it ends). False when it is not theirs."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None and run.owner == owner:
                if not run.done:
                    self.stop(run_id, owner)
                if not run.done:
                    self._doomed.add(run_id)
                    return True
                del self._runs[run_id]
        if self.journal is None:
            shutil.rmtree(self.workdir / run_id, ignore_errors=True)
            return run is not None and run.owner == owner
        self.journal.forget_cached(run_id)
        return self.journal.store.delete_run(run_id, owner) or (run is not None and run.owner == owner)

    def delete_owner(self, owner: str) -> int:
        """Delete everything `owner` keeps: runs (training ones are stopped and removed once they end),
        and with a store their own classes and settings. Returns the number of runs deleted."""
        # Not while runs are being written to the store: a training run's snapshot taken before this
        # delete, written after the learner's rows went, put its row back (until the run ended).
        with self._keeping:
            with self._lock:
                mine = [run for run in self._runs.values() if run.owner == owner]
            for run in mine:
                self.delete(run.id, owner)
            if self.journal is None:
                return len(mine)
            return max(len(mine), self.journal.store.delete_learner(owner))

    def position(self, run: Run) -> int:
        """1-based place in the queue, 0 once it has left the queue."""
        with self._lock:
            return self._queue.index(run.id) + 1 if run.id in self._queue else 0

    def stop(self, run_id: str, owner: str) -> bool:
        """Ask a run to stop: a queued one is cancelled, a training one ends within a batch or two
        and keeps what it learned."""
        with self._lock:
            run = self.get(run_id, owner)
            if run is None or run.done:
                return False
            if run.id in self._queue:
                self._queue.remove(run.id)
                self._finish(run, RunState.STOPPED, "Cancelled before it started.")
                return True
            worker = next((w for w in self._workers if w.run_id == run.id), None)
            if worker is not None:
                worker.request_stop()
                run.state, run.message = RunState.STOPPING, "Stopping after the current batch..."
                self._mark(run)
            return True

    def owners(self) -> set[str]:
        """Every session that has runs here."""
        with self._lock:
            return {run.owner for run in self._runs.values()}

    def forget(self, owner: str) -> int:
        """Someone left: stop their training runs, cancel their queued ones, and drop every run of
        theirs (curves, evaluation, checkpoint files) once it is no longer training. Returns how many
        runs remain to be dropped (still stopping); call again later for those."""
        with self._lock:
            if self.journal is not None:
                # Kept runs outlive the page: training ones go on, finished ones (written) leave memory.
                for run in [run for run in self._runs.values() if run.owner == owner]:
                    if run.done and not self.journal.dirty(run.id) and run.id not in self._doomed:
                        del self._runs[run.id]
                return 0
            remaining = 0
            for run in [run for run in self._runs.values() if run.owner == owner]:
                if not run.done:
                    self.stop(run.id, owner)
                if run.done:
                    del self._runs[run.id]
                    shutil.rmtree(self.workdir / run.id, ignore_errors=True)
                else:
                    remaining += 1
            if not remaining:
                self._numbers.pop(owner, None)
            return remaining

    def counts(self) -> dict[str, int]:
        """How many runs train and wait, how many workers are up, and how many of those wait warm."""
        with self._lock:
            busy = sum(1 for w in self._workers if w.run_id is not None)
            ready = sum(1 for w in self._workers if w.ready and w.run_id is None)
            return {"training": busy, "queued": len(self._queue), "processes": len(self._workers), "ready": ready}

    def shutdown(self) -> None:
        """End every worker and remove the runs' files (at exit, or in tests)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers = list(self._workers)
            unfinished = [run for run in self._runs.values() if not run.done]
        for worker in workers:
            with contextlib.suppress(Exception):
                worker.kill()
                worker.close()
        with contextlib.suppress(Exception):
            self._pool.close()
        if self.journal is not None:  # the files are the learners' work: they stay
            with contextlib.suppress(Exception):
                self._keep(force=True)
            self.journal.closed(unfinished)
            return
        shutil.rmtree(self.workdir, ignore_errors=True)

    # --- the dispatcher thread ---

    def _loop(self) -> None:
        try:
            self._pool.open()
            self._resize()
        except Exception as error:  # no cluster at that address, Ray not installed...
            with self._lock:
                self.backend_error = f"Training is unavailable: the {self.backend} backend could not start ({error})."
                for run_id in list(self._queue):
                    self._finish(self._runs[run_id], RunState.FAILED, self.backend_error)
                self._queue.clear()
            self._opened.set()
            return
        self._opened.set()
        resized = time.monotonic()
        while True:
            if time.monotonic() - resized > RESIZE_S:
                resized = time.monotonic()
                with contextlib.suppress(Exception):  # a cluster that does not answer keeps its last size
                    self._resize()
            try:
                with self._lock:
                    if self._closed:
                        return
                    self._start_spares()
                    self._dispatch()
                    workers = list(self._workers)
                self._pool.gather(workers, 0.2)  # outside the lock: sessions keep reading their runs
                with self._lock:
                    if self._closed:
                        return
                    for worker in workers:
                        self._take_events(worker)
                    self._reap()
                self._keep()
            except Exception:  # a cluster that went away for a moment must not end the dispatcher for good
                logging.getLogger("cnnviz").exception("The run manager's dispatcher failed; retrying")
                time.sleep(1)

    def _resize(self) -> None:
        """How many runs train at once: `max_active` as asked; None asks the backend's resources
        (Ray: CPUs or GPUs per run; 2 where no bound is known)."""
        capacity = self._pool.capacity() if self.requested_active is None else None
        with self._lock:
            if self.requested_active is None:
                self.max_active = max(1, capacity) if capacity is not None else 2

    def _start_spares(self) -> None:
        busy = sum(1 for w in self._workers if w.run_id is not None)
        idle = [w for w in self._workers if w.run_id is None]
        waiting = min(len(self._queue), self.max_active - busy)  # runs a free worker would start now
        if self._pool.reserves_slots:
            # On Ray an idle actor holds its CPU (or GPU) share, which another replica's waiting run
            # could use: actors start for waiting runs only, and are let go `idle_s` after their last.
            wanted = waiting
        else:
            wanted = min(self.spares + waiting, self.max_active + self.spares - busy)
        for _ in range(max(0, wanted - len(idle))):
            self._workers.append(self._pool.spawn())
        now = time.monotonic()
        for worker in idle[max(0, wanted) :]:  # extra warm workers give their memory (and slot) back
            if worker.ready and worker.idle_since and now - worker.idle_since > self.idle_s:
                worker.kill()
                worker.close()
                self._workers.remove(worker)

    def _dispatch(self) -> None:
        busy = sum(1 for w in self._workers if w.run_id is not None)
        # A worker that has trained before goes first: TensorFlow's kernels and Keras's functions are
        # warm there, and the spare stays a spare.
        for worker in sorted(self._workers, key=lambda w: -w.runs):
            if busy >= self.max_active or not self._queue:
                return
            if worker.ready and worker.run_id is None:
                run = self._runs[self._queue.popleft()]
                folder = self.workdir / run.id
                folder.mkdir(parents=True, exist_ok=True)
                if not worker.send_job(run.job, folder):
                    self._queue.appendleft(run.id)
                    continue
                worker.run_id, worker.ready = run.id, False
                worker.runs += 1
                run.state, run.started, run.message = RunState.STARTING, time.monotonic(), "Building the model..."
                run.worker_pid = worker.pid
                busy += 1

    def _take_events(self, worker) -> None:
        events, worker.inbox = worker.inbox, []
        for event in events:
            kind = event.get("kind")
            run = self._runs.get(worker.run_id) if worker.run_id else None
            if kind == "ready":
                if run is not None and not run.done:  # the job ended without a result: say so
                    self._finish(run, RunState.FAILED, "Training failed: the worker ended the run without a result.")
                worker.ready, worker.run_id, worker.pid = True, None, event.get("pid", worker.pid)
                worker.idle_since = time.monotonic()
            elif kind == "retired":
                worker.ready = False  # it exits (local) or is let go (Ray) in _reap
                worker.retired = True
            elif run is not None:
                self._apply(run, event)
                if kind in ("result", "error"):
                    worker.run_id = None

    def _apply(self, run: Run, event: dict) -> None:
        kind = event.get("kind")
        if kind in ("started", "epoch", "checkpoint", "result", "error"):
            self._mark(run)  # worth keeping now (batch points go with the next epoch)
        if kind == "started":
            run.state, run.params, run.message = RunState.RUNNING, event["params"], ""
        elif kind in ("batch", "epoch"):
            (run.batches if kind == "batch" else run.epochs).append(event)
            if run.first_point is None:
                run.first_point = time.monotonic() - run.created
        elif kind == "checkpoint":
            run.checkpoints.append((event["epoch"], self._local_file(run, event, "path")))
        elif kind == "result":
            run.evaluation, run.filters = event["evaluation"], event["filters"]
            run.model_path, run.train_seconds = self._local_file(run, event, "model_path"), event["train_seconds"]
            self._finish(run, RunState(event["status"]), event["message"])
        elif kind == "error":
            self._finish(run, RunState.FAILED, f"Training failed: {event['message']}")

    def _local_file(self, run: Run, event: dict, key: str) -> str:
        """The event's file as a path here: a remote worker sends the bytes (no shared filesystem is
        assumed), which are written into the run's folder."""
        if "data" not in event:
            return event[key]
        path = self.workdir / run.id / Path(event[key]).name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(event["data"])
        return str(path)

    def _finish(self, run: Run, state: RunState, message: str) -> None:
        run.state, run.message, run.finished = state, message, time.monotonic()
        self._mark(run)

    # --- keeping runs in the store ---

    def _mark(self, run: Run) -> None:
        if self.journal is not None:
            self.journal.mark(run.id)

    def _keep(self, *, force: bool = False) -> None:
        """Write the runs that changed to the store (outside the lock: sessions keep reading), say this
        server is alive, and remove the runs deleted while they trained once they have ended."""
        journal = self.journal
        if journal is None:
            return
        with self._keeping:
            journal.heartbeat()
            ids = journal.take_dirty()
            with self._lock:
                ended = [self._runs.pop(i) for i in list(self._doomed) if i in self._runs and self._runs[i].done]
                self._doomed.difference_update(run.id for run in ended)
                snapshots = {
                    run_id: journal.snapshot(self._runs[run_id])
                    for run_id in ids
                    if run_id in self._runs and run_id not in self._doomed
                }
            if snapshots or force:
                journal.flush(snapshots)
        for run in ended:
            with contextlib.suppress(Exception):
                journal.store.delete_run(run.id, run.owner)
            shutil.rmtree(self.workdir / run.id, ignore_errors=True)

    def _reap(self) -> None:
        now = time.monotonic()
        for worker in list(self._workers):
            run = self._runs.get(worker.run_id) if worker.run_id else None
            alive = worker.alive()
            if alive and run is not None and run.started and now - run.started > self.time_limit_s + self.grace_s:
                worker.kill()  # a run that ignores its time limit (a hung op) is ended by force
                alive = False
                if not run.done:
                    self._finish(
                        run,
                        RunState.TIMED_OUT,
                        f"Killed after {self.time_limit_s + self.grace_s:.0f} s without ending.",
                    )
            if alive and worker.retired and worker.run_id is None:
                worker.kill()  # retired after its last run: a fresh one takes its place
                alive = False
            if alive:
                continue
            worker.drain()  # what it sent just before it ended
            self._take_events(worker)
            run = self._runs.get(worker.run_id) if worker.run_id else None
            if run is not None and not run.done:
                self._finish(
                    run,
                    RunState.CRASHED,
                    f"The training process ended unexpectedly ({worker.exit_note()}); the app is fine. A smaller "
                    "model or batch size may help.",
                )
            worker.close()
            self._workers.remove(worker)

    def _prune(self, owner: str) -> None:
        finished = [run for run in self._runs.values() if run.owner == owner and run.done]
        for run in finished[: max(0, len(finished) - self.keep_per_owner)]:
            if self.journal is not None:  # kept in the store: only the copy in memory goes
                if not self.journal.dirty(run.id):
                    del self._runs[run.id]
                continue
            del self._runs[run.id]
            shutil.rmtree(self.workdir / run.id, ignore_errors=True)
