"""Training runs that live outside the web server's script runs: a bounded pool of worker
processes, a queue, stop requests, time limits, and crash isolation.

Each run trains in its own process (Keras keeps process-wide state, and a process that ends gives
all its memory back); one spare process is kept started with TensorFlow imported, so a run's
first curve point does not wait for the import. A dispatcher thread moves events from the
workers into `Run` records, which the app reads; nothing here touches Streamlit.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import multiprocessing as mp
import shutil
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

import numpy as np

from cnnviz.errors import InvalidInput
from cnnviz.training import RunState, TrainConfig, TrainJob


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
    from cnnviz import datasets

    if job.dataset == "file":
        with np.load(job.dataset_file, allow_pickle=False) as data:
            return datasets.Dataset(
                "uploaded",
                data["x_train"],
                data["y_train"],
                data["x_test"],
                data["y_test"],
                tuple(str(name) for name in data["class_names"]),
            )
    return datasets.load(job.dataset, **dict(job.dataset_options))


def run_job(job: TrainJob, workdir: Path, send, should_stop) -> None:
    """Build, train, save and evaluate: what a worker does with one job (also usable in-process)."""
    from cnnviz import training

    # The blocks built from scratch, or a transfer model on the job's base (and the dataset resized to it)
    model, dataset = training.job_model(job, load_job_dataset(job))
    send({"kind": "started", "params": int(model.count_params())})
    result = training.train(model, dataset, job.config, on_event=send, should_stop=should_stop, checkpoint_dir=workdir)
    path = workdir / "model.keras"
    model.save(path)
    send(
        {
            "kind": "result",
            "status": result.status,
            "message": result.message,
            "model_path": str(path),
            "train_seconds": result.train_seconds,
            "evaluation": training.evaluate(model, dataset),
            "filters": training.first_conv_filters(model),
        }
    )


# What a worker runs for a job: target(job, workdir, send, should_stop). `send(event)` reports to the
# manager (events as `run_job` sends them); `should_stop()` turns true when the run is asked to stop.
Target = Callable[[TrainJob, Path, Callable[[dict], None], Callable[[], bool]], None]


def _worker_main(conn, stop_event, target: Target, warm: tuple[str, ...]) -> None:
    import importlib
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Below the web server: on a machine with few cores a class's clicks come before the training
    # runs (which take whatever the server leaves, so they are as fast as before when nobody clicks).
    with contextlib.suppress(OSError):
        os.nice(10)
    for module in warm:  # the slow imports (Keras: seconds) happen while the worker waits as a spare
        importlib.import_module(module)

    conn.send({"kind": "ready"})
    try:
        message = conn.recv()
    except EOFError:
        return
    if message is None:
        return
    job, workdir = message
    lock = threading.Lock()  # Keras calls the batch hook from a helper thread

    def send(event: dict) -> None:
        with lock:
            conn.send(event)

    try:
        target(job, Path(workdir), send, stop_event.is_set)
    except InvalidInput as error:
        send({"kind": "error", "message": str(error)})
    except Exception as error:
        send({"kind": "error", "message": f"{type(error).__name__}: {error}", "trace": traceback.format_exc()})
    finally:
        conn.close()


@dataclass
class _Worker:
    process: mp.Process
    conn: object
    stop_event: object
    ready: bool = False
    run_id: str | None = None


# --- the manager, one per server --------------------------------------------------------------------


class RunManager:
    """Queue, run and watch training jobs for every session of one server.

    Parameters
    ----------
    workdir : where runs keep checkpoints and models (a temporary folder by default).
    max_active : runs training at once; more wait in the queue (the machine has few cores).
    max_queued : runs waiting at once; past it, `submit` refuses with a message.
    spares : worker processes kept started (TensorFlow imported) for the next run.
    time_limit_s : no run trains longer; a worker that does not end by then plus `grace_s` is killed.
    keep_per_owner : finished runs kept per session; older ones and their files are removed.
    target : what a worker runs for each job (`run_job`: build, train, evaluate); a module-level
        function, since workers are spawned. Tests give one that trains nothing.
    warm : modules a spare worker imports before its job arrives.
    """

    def __init__(
        self,
        workdir: str | Path | None = None,
        *,
        max_active: int = 2,
        max_queued: int = 100,
        spares: int = 1,
        time_limit_s: float = 600,
        grace_s: float = 60,
        keep_per_owner: int = 10,
        target: Target = run_job,
        warm: tuple[str, ...] = ("keras",),
    ):
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="cnnviz-runs-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.max_active, self.max_queued, self.spares = max_active, max_queued, spares
        self.time_limit_s, self.grace_s, self.keep_per_owner = time_limit_s, grace_s, keep_per_owner
        self.target, self.warm = target, tuple(warm)
        self._context = mp.get_context("spawn")
        self._lock = threading.RLock()
        self._runs: dict[str, Run] = {}
        self._queue: deque[str] = deque()
        self._workers: list[_Worker] = []
        self._numbers: dict[str, itertools.count] = {}
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="cnnviz-runs", daemon=True)
        self._thread.start()
        atexit.register(self.shutdown)

    # --- what sessions call ---

    def submit(self, owner: str, job: TrainJob) -> Run:
        """Queue `job` for `owner`'s session and return its Run; refused with a message when the queue
        is full or the server is closing."""
        job.config.validate()
        with self._lock:
            if self._closed:
                raise InvalidInput("The server is shutting down; try again in a moment.")
            if len(self._queue) >= self.max_queued:
                raise InvalidInput(
                    f"The server's training queue is full ({self.max_queued} runs waiting). Try again in a minute."
                )
            limit = min(job.config.time_limit_s or self.time_limit_s, self.time_limit_s)
            config = TrainConfig(**{**job.config.__dict__, "time_limit_s": limit})
            job = TrainJob(**{**job.__dict__, "config": config})
            number = next(self._numbers.setdefault(owner, itertools.count(1)))
            run = Run(id=f"{owner[:8]}-{number}-{time.time_ns() % 10**9}", owner=owner, job=job, number=number)
            self._runs[run.id] = run
            self._queue.append(run.id)
            self._prune(owner)
        return run

    def runs_for(self, owner: str) -> list[Run]:
        """This session's runs, oldest first: nobody sees another session's runs."""
        with self._lock:
            return [run for run in self._runs.values() if run.owner == owner]

    def get(self, run_id: str, owner: str) -> Run | None:
        """The run with this id if it is `owner`'s, else None."""
        with self._lock:
            run = self._runs.get(run_id)
            return run if run is not None and run.owner == owner else None

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
                worker.stop_event.set()
                run.state, run.message = RunState.STOPPING, "Stopping after the current batch..."
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
        """How many runs train and wait, and how many worker processes are up."""
        with self._lock:
            busy = sum(1 for w in self._workers if w.run_id is not None)
            return {"training": busy, "queued": len(self._queue), "processes": len(self._workers)}

    def shutdown(self) -> None:
        """Kill every worker and remove the runs' files (at exit, or in tests)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers = list(self._workers)
        for worker in workers:
            if worker.process.is_alive():
                worker.process.kill()
            worker.process.join(timeout=5)
        shutil.rmtree(self.workdir, ignore_errors=True)

    # --- the dispatcher thread ---

    def _loop(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                self._start_spares()
                self._dispatch()
                connections = {w.conn: w for w in self._workers}
            ready = wait(list(connections), timeout=0.2) if connections else time.sleep(0.2) or []
            with self._lock:
                for conn in ready:
                    self._drain(connections[conn])
                self._reap()

    def _start_spares(self) -> None:
        busy = sum(1 for w in self._workers if w.run_id is not None)
        idle = len(self._workers) - busy
        wanted = min(self.spares + min(len(self._queue), self.max_active - busy), self.max_active + self.spares - busy)
        for _ in range(max(0, wanted - idle)):
            parent, child = self._context.Pipe()
            stop_event = self._context.Event()
            process = self._context.Process(
                target=_worker_main, args=(child, stop_event, self.target, self.warm), daemon=True
            )
            process.start()
            child.close()
            self._workers.append(_Worker(process, parent, stop_event))

    def _dispatch(self) -> None:
        busy = sum(1 for w in self._workers if w.run_id is not None)
        for worker in self._workers:
            if busy >= self.max_active or not self._queue:
                return
            if worker.ready and worker.run_id is None:
                run = self._runs[self._queue.popleft()]
                folder = self.workdir / run.id
                folder.mkdir(parents=True, exist_ok=True)
                try:
                    worker.conn.send((run.job, str(folder)))
                except (BrokenPipeError, OSError):
                    self._queue.appendleft(run.id)
                    continue
                worker.run_id = run.id
                run.state, run.started, run.message = RunState.STARTING, time.monotonic(), "Building the model..."
                busy += 1

    def _drain(self, worker: _Worker) -> None:
        while True:
            try:
                if not worker.conn.poll():
                    return
                event = worker.conn.recv()
            except (EOFError, OSError):
                return
            if event.get("kind") == "ready":
                worker.ready = True
                continue
            run = self._runs.get(worker.run_id)
            if run is not None:
                self._apply(run, event)

    def _apply(self, run: Run, event: dict) -> None:
        kind = event.get("kind")
        if kind == "started":
            run.state, run.params, run.message = RunState.RUNNING, event["params"], ""
        elif kind in ("batch", "epoch"):
            (run.batches if kind == "batch" else run.epochs).append(event)
            if run.first_point is None:
                run.first_point = time.monotonic() - run.created
        elif kind == "checkpoint":
            run.checkpoints.append((event["epoch"], event["path"]))
        elif kind == "result":
            run.evaluation, run.filters = event["evaluation"], event["filters"]
            run.model_path, run.train_seconds = event["model_path"], event["train_seconds"]
            self._finish(run, RunState(event["status"]), event["message"])
        elif kind == "error":
            self._finish(run, RunState.FAILED, f"Training failed: {event['message']}")

    def _finish(self, run: Run, state: RunState, message: str) -> None:
        run.state, run.message, run.finished = state, message, time.monotonic()

    def _reap(self) -> None:
        now = time.monotonic()
        for worker in list(self._workers):
            run = self._runs.get(worker.run_id) if worker.run_id else None
            alive = worker.process.is_alive()
            if alive and run is not None and run.started and now - run.started > self.time_limit_s + self.grace_s:
                worker.process.kill()  # a run that ignores its time limit (a hung op) is ended by force
                worker.process.join(timeout=5)
                alive = False
                if not run.done:
                    self._finish(
                        run,
                        RunState.TIMED_OUT,
                        f"Killed after {self.time_limit_s + self.grace_s:.0f} s without ending.",
                    )
            if alive:
                continue
            self._drain(worker)
            if run is not None and not run.done:
                code = worker.process.exitcode
                self._finish(
                    run,
                    RunState.CRASHED,
                    f"The training process ended unexpectedly (exit code {code}); the app is fine. A smaller model "
                    "or batch size may help.",
                )
            worker.conn.close()
            self._workers.remove(worker)

    def _prune(self, owner: str) -> None:
        finished = [run for run in self._runs.values() if run.owner == owner and run.done]
        for run in finished[: max(0, len(finished) - self.keep_per_owner)]:
            del self._runs[run.id]
            shutil.rmtree(self.workdir / run.id, ignore_errors=True)
