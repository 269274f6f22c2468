"""What a training worker is, on any backend: the steps every worker takes (set up, train a job,
clear Keras, retire), and the local backend's workers, which are processes on this machine.

A worker trains several runs in turn: the TensorFlow import and Keras's first graph cost about
4.6 s of CPU, as much as a small run's training, so paying it once per worker instead of once per
run shortens a class's queue. Between runs the worker clears Keras's state (`clear_session` is
process-wide, which is why it happens here and never in the web server), and it retires after
`max_runs` runs or once its resident memory passes `max_rss_mb` (TensorFlow's allocator keeps what
it took; a fresh process gives it back).

Local workers are forked from a server process that imported Keras once (multiprocessing's
"forkserver", where the platform has it; "spawn" elsewhere): a new worker is ready in about a second
instead of importing TensorFlow again (8 s on a busy 2-core machine), which is what a class waits for
when every spare is taken, and what a server that replaces retired workers pays each time.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing as mp
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from cnnviz.errors import InvalidInput

MAX_RUNS = 20  # runs a worker trains before it is replaced by a fresh one
MAX_RSS_MB = 2500  # a worker whose resident memory grew past this retires after its run


# --- inside a worker, whatever the backend ----------------------------------------------------------


def prepare_worker(warm: tuple[str, ...]) -> None:
    """A worker's first steps: quiet TensorFlow, grow GPU memory instead of taking it all (a GPU is
    shared by the runs on its node), run below the web server, and do the slow imports now."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # TensorFlow reads this when it starts: each process takes GPU memory as it needs it, so several
    # runs (or a fraction of a GPU each, on Ray) fit on one card. Set before the import below.
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    # Below the web server: on a machine with few cores a class's clicks come before the training
    # runs (which take whatever the server leaves, so they are as fast as before when nobody clicks).
    with contextlib.suppress(OSError):
        os.nice(10)
    for module in warm:  # the slow imports (Keras: seconds) happen while the worker waits as a spare
        importlib.import_module(module)


def train_one(target, job, workdir: Path, send, should_stop) -> None:
    """Run `target` for one job, turning an exception into the 'error' event the manager reports."""
    try:
        target(job, workdir, send, should_stop)
    except InvalidInput as error:
        send({"kind": "error", "message": str(error)})
    except Exception as error:
        send({"kind": "error", "message": f"{type(error).__name__}: {error}", "trace": traceback.format_exc()})


def reset_keras() -> None:
    """Forget the last run's models and graphs, so the next run starts as in a fresh process (same
    layer names, same seeds). Only inside a worker: `clear_session` is process-wide."""
    import gc

    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session(free_memory=True)
    gc.collect()


def rss_mb() -> float:
    """This process's resident memory in MB (Linux's /proc; the peak where /proc is missing)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def should_retire(runs: int, *, max_runs: int, max_rss_mb: float) -> bool:
    """Whether a worker that has trained `runs` runs should make way for a fresh process."""
    return runs >= max_runs or rss_mb() > max_rss_mb


# --- the manager's view of one worker ---------------------------------------------------------------


@dataclass(eq=False)
class Worker:
    """One worker as the manager sees it, on any backend. Backends fill `inbox` in `Pool.gather`;
    the manager reads it under its lock."""

    ready: bool = False  # warm and waiting for a job
    run_id: str | None = None  # the run it trains
    pid: int | None = None  # its process id, as it reported it
    runs: int = 0  # jobs handed to it so far
    idle_since: float | None = None  # monotonic time it last became ready
    retired: bool = False  # it said it will train no more (runs or memory): let go once idle
    inbox: list[dict] = field(default_factory=list)

    def send_job(self, job, folder: Path) -> bool:
        """Hand a job over; False when the worker can no longer take it."""
        raise NotImplementedError

    def request_stop(self) -> None:
        """Ask the current run to end after its batch, keeping what it learned."""
        raise NotImplementedError

    def kill(self) -> None:
        """End the worker at once (a run past its time limit, shutdown)."""
        raise NotImplementedError

    def alive(self) -> bool:
        """Whether its process is still there."""
        raise NotImplementedError

    def exit_note(self) -> str:
        """How it ended, for a crash message: 'exit code 3'."""
        raise NotImplementedError

    def close(self) -> None:
        """Let go of a worker that has ended or retired."""

    def drain(self) -> None:
        """Collect into the inbox anything it sent that `Pool.gather` has not picked up yet."""


# --- the local backend: processes on this machine ---------------------------------------------------


# What the fork server imports once for every local worker it starts (the slow part of a worker's start).
FORK_PRELOAD = ("keras",)


def start_context():
    """How local workers start: forked from a server that imported `FORK_PRELOAD` once
    (multiprocessing's "forkserver"; it starts with the first worker and lives as long as this
    process), or spawned (a fresh interpreter each) where the platform has no fork server."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    context = mp.get_context("forkserver")
    context.set_forkserver_preload(list(FORK_PRELOAD))  # read when the server starts; a missing module is skipped
    return context


def _local_worker_main(
    conn, stop_event, target, warm: tuple[str, ...], max_runs: int, max_rss_mb: float, environ: dict
) -> None:
    os.environ.clear()  # the pool's environment when it started this worker, not the fork server's
    os.environ.update(environ)
    prepare_worker(warm)
    lock = threading.Lock()  # Keras calls the batch hook from a helper thread

    def send(event: dict) -> None:
        with lock:
            conn.send(event)

    runs = 0
    try:
        while True:
            send({"kind": "ready", "pid": os.getpid()})
            try:
                message = conn.recv()
            except EOFError:
                return
            if message is None:
                return
            job, workdir = message
            train_one(target, job, Path(workdir), send, stop_event.is_set)
            runs += 1
            reset_keras()
            if should_retire(runs, max_runs=max_runs, max_rss_mb=max_rss_mb):
                send({"kind": "retired", "runs": runs})
                return
    finally:
        conn.close()


@dataclass(eq=False)
class LocalWorker(Worker):
    """A worker process on this machine, spoken to through a pipe (the methods are `Worker`'s)."""

    process: mp.Process | None = None
    conn: object = None
    stop_event: object = None

    def send_job(self, job, folder: Path) -> bool:
        self.stop_event.clear()
        try:
            self.conn.send((job, str(folder)))
        except (BrokenPipeError, OSError):
            return False
        return True

    def request_stop(self) -> None:
        self.stop_event.set()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)

    def alive(self) -> bool:
        return self.process.is_alive()

    def exit_note(self) -> str:
        return f"exit code {self.process.exitcode}"

    def close(self) -> None:
        self.conn.close()

    def drain(self) -> None:
        """Move what the process sent into the inbox (only the dispatcher thread reads the pipe)."""
        while True:
            try:
                if not self.conn.poll():
                    return
                self.inbox.append(self.conn.recv())
            except (EOFError, OSError):
                return


class LocalPool:
    """Worker processes on this machine (the default backend: nothing to start).

    `capacity` is None: how many train at once is the manager's `max_active`, sized for the machine.
    """

    name = "local"
    reserves_slots = False  # an idle process holds no share of the machine: spares come on top
    idle_s = 120  # an extra warm process gives its memory back after this long unused

    def __init__(self, *, target, warm: tuple[str, ...], max_runs: int = MAX_RUNS, max_rss_mb: float = MAX_RSS_MB):
        self.target, self.warm, self.max_runs, self.max_rss_mb = target, tuple(warm), max_runs, max_rss_mb
        self._context = start_context()

    def open(self) -> None:
        """Nothing to connect to."""

    def capacity(self) -> int | None:
        """The most runs the resources allow at once: no bound known here (the manager's max_active)."""
        return None

    def spawn(self) -> LocalWorker:
        """Start a worker process (it imports `warm` and says 'ready')."""
        parent, child = self._context.Pipe()
        stop_event = self._context.Event()
        process = self._context.Process(
            target=_local_worker_main,
            args=(child, stop_event, self.target, self.warm, self.max_runs, self.max_rss_mb, dict(os.environ)),
            daemon=True,
        )
        process.start()
        child.close()
        return LocalWorker(process=process, conn=parent, stop_event=stop_event)

    def gather(self, workers: list[LocalWorker], timeout: float) -> None:
        """Wait up to `timeout` s for any worker to send something, and collect it into the inboxes."""
        if not workers:
            time.sleep(timeout)
            return
        wait([worker.conn for worker in workers], timeout=timeout)
        for worker in workers:
            worker.drain()

    def close(self) -> None:
        """Nothing to let go of beyond the workers themselves."""
