"""The Ray backend of the run manager: each worker is a Ray actor that trains runs in turn on
whichever node of the cluster has room, and sends everything back through Ray.

Chosen with `RunManager(backend="ray", backend_options={...})` (the app: `CNNVIZ_BACKEND=ray`). The
manager keeps the queue, positions, time limits and records exactly as with local processes; this
module only places workers and carries their events. Nothing assumes a shared filesystem: a job's
uploaded dataset travels to the actor as bytes, and checkpoints and the final model come back as
bytes in their events, which the manager writes into its own folder.

An actor asks Ray for `cpus_per_run` CPUs and, when the cluster has GPUs, `gpus_per_run` of a GPU
(a fraction lets several small runs share one card; TensorFlow then grows its memory instead of
taking the whole card, see `cnnviz.workers.prepare_worker`). How many runs train at once is what
the cluster's resources allow for those requests. Ray: Moritz et al., 2018, "Ray: A Distributed
Framework for Emerging AI Applications" (actors: stateful workers with methods called remotely).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from cnnviz.errors import InvalidInput
from cnnviz.workers import MAX_RSS_MB, MAX_RUNS, Worker, prepare_worker, reset_keras, should_retire, train_one

# The TrainJob fields that name a file on the app's machine: sent along with the job.
JOB_FILES = ("dataset_file", "base_model")
POLL_S = 0.2  # an actor answers a poll as soon as it has events, or after this long with none


def run_slots(resources: dict, *, cpus_per_run: float = 1, gpus_per_run: float = 1, accelerator: str = "GPU") -> int:
    """How many runs the cluster's `resources` (as `ray.cluster_resources()` gives them) train at
    once: its CPUs per run, and its accelerators per run when it has any.

    >>> run_slots({"CPU": 8.0, "GPU": 2.0}, cpus_per_run=1, gpus_per_run=0.5)
    4
    >>> run_slots({"CPU": 2.0})
    2
    """
    slots = math.floor(resources.get("CPU", 0) / cpus_per_run + 1e-9)
    if resources.get(accelerator, 0) > 0:
        slots = min(slots, math.floor(resources[accelerator] / gpus_per_run + 1e-9))
    return int(slots)


def actor_options(resources: dict, *, cpus_per_run: float = 1, gpus_per_run: float = 1, accelerator: str = "GPU"):
    """What one training actor asks Ray for: `cpus_per_run` CPUs, plus `gpus_per_run` of the
    accelerator when the cluster has one (a custom resource name works the same way, which is how
    the request is tested on machines without a GPU).

    >>> actor_options({"CPU": 4.0, "GPU": 1.0}, gpus_per_run=0.5)["num_gpus"]
    0.5
    >>> "num_gpus" in actor_options({"CPU": 4.0})
    False
    """
    options: dict = {"num_cpus": cpus_per_run, "max_concurrency": 4}  # train, poll and stop run side by side
    if resources.get(accelerator, 0) > 0:
        if accelerator == "GPU":
            options["num_gpus"] = gpus_per_run
        else:
            options["resources"] = {accelerator: gpus_per_run}
    return options


# --- inside the actor -------------------------------------------------------------------------------


class TrainerActor:
    """One training worker on the cluster (wrapped with `ray.remote` when the pool opens)."""

    def __init__(self, target, warm: tuple[str, ...], max_runs: int, max_rss_mb: float):
        prepare_worker(warm)
        self.target, self.max_runs, self.max_rss_mb = target, max_runs, max_rss_mb
        self._events: list[dict] = []
        self._arrived = threading.Condition()
        # Every job the manager sent, up to this number, has been asked to stop. A number, not a flag
        # cleared when a job starts: calls run on the actor's threads in no set order, so a stop sent
        # just after its job can run first, and a cleared flag would lose it (the run then trained on).
        self._stop_upto = 0
        self._runs = 0

    def _push(self, event: dict) -> None:
        with self._arrived:
            self._events.append(event)
            self._arrived.notify_all()

    def hello(self) -> list[dict]:
        """The first answer: warm, and which process it is."""
        return [{"kind": "ready", "pid": os.getpid()}]

    def train(self, job, files: dict[str, tuple[str, bytes]], number: int) -> None:
        """Train job `number` (the manager counts the jobs it sends) in a scratch folder; files leave as
        bytes in their events.

        `files` maps a job field naming a file on the app's machine (an uploaded dataset, a saved
        model to start from) to (suffix, bytes): no shared filesystem, so they come along."""
        folder = Path(tempfile.mkdtemp(prefix="cnnviz-ray-run-"))
        for name, (suffix, data) in files.items():
            (folder / f"{name}{suffix}").write_bytes(data)
            job = replace(job, **{name: str(folder / f"{name}{suffix}")})

        def send(event: dict) -> None:
            key = {"checkpoint": "path", "result": "model_path"}.get(event.get("kind"))
            if key and event.get(key):
                event = {**event, "data": Path(event[key]).read_bytes()}
            self._push(event)

        try:
            train_one(self.target, job, folder, send, lambda: self._stop_upto >= number)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        self._runs += 1
        reset_keras()
        if should_retire(self._runs, max_runs=self.max_runs, max_rss_mb=self.max_rss_mb):
            self._push({"kind": "retired", "runs": self._runs})
        else:
            self._push({"kind": "ready", "pid": os.getpid()})

    def poll(self, timeout: float) -> list[dict]:
        """Events since the last poll, as soon as there are some (at most `timeout` s of waiting)."""
        with self._arrived:
            self._arrived.wait_for(lambda: self._events, timeout=timeout)
            events, self._events = self._events, []
        return events

    def stop(self, number: int) -> None:
        """Ask job `number` to end after its batch (at once if it has not started yet)."""
        self._stop_upto = max(self._stop_upto, number)


# --- the manager's side -----------------------------------------------------------------------------


def _ray():
    import ray  # imported only when the Ray backend is chosen: the local default never loads it

    return ray


@dataclass(eq=False)
class RayWorker(Worker):
    """A training actor as the manager sees it (the methods are `Worker`'s)."""

    actor: object = None
    pending: object = None  # the outstanding hello or poll
    training: object = None  # the outstanding train call (kept so its result is not dropped early)
    dead: str = ""  # why the actor ended, once it has
    jobs: int = 0  # jobs sent to the actor: the number a stop request names

    def send_job(self, job, folder: Path) -> bool:
        files = {}
        for name in JOB_FILES:
            value = getattr(job, name, None)
            if value and Path(value).is_file():  # not "imagenet:MobileNetV2", which names weights
                files[name] = (Path(value).suffix, Path(value).read_bytes())
        self.jobs += 1
        self.training = self.actor.train.remote(job, files, self.jobs)
        return True

    def request_stop(self) -> None:
        self.actor.stop.remote(self.jobs)

    def kill(self) -> None:
        if not self.dead:
            _ray().kill(self.actor, no_restart=True)
            self.dead = "ended by the manager"

    def alive(self) -> bool:
        return not self.dead

    def exit_note(self) -> str:
        return self.dead


class RayPool:
    """Training actors on a Ray cluster.

    Parameters
    ----------
    address : "auto" (the cluster this machine belongs to, `ray start` having started it),
        "ray://host:10001" (a remote cluster through Ray Client), or "local" (start a cluster in
        this process, with `num_cpus` CPUs and no dashboard).
    cpus_per_run, gpus_per_run : what one run asks for; GPUs only when the cluster has some.
        A fraction of a GPU shares one card between runs.
    accelerator : the resource name asked for as `gpus_per_run` ("GPU"; tests use a custom one).
    num_cpus : CPUs of a cluster started here (None: all of this machine's).
    max_runs, max_rss_mb : when an actor is replaced by a fresh one.
    """

    name = "ray"
    reserves_slots = True  # an idle actor keeps its CPU/GPU share: spares come out of the slots
    idle_s = 15  # an idle actor frees its CPU/GPU share for other replicas after this long

    def __init__(
        self,
        *,
        target,
        warm: tuple[str, ...],
        address: str = "auto",
        cpus_per_run: float = 1,
        gpus_per_run: float = 1,
        accelerator: str = "GPU",
        num_cpus: int | None = None,
        max_runs: int = MAX_RUNS,
        max_rss_mb: float = MAX_RSS_MB,
    ):
        if not (cpus_per_run > 0 and 0 < gpus_per_run <= 8):
            raise InvalidInput("A Ray run asks for more than 0 CPUs and 0 to 8 GPUs (fractions share a GPU).")
        self.target, self.warm, self.address = target, tuple(warm), address
        self.cpus_per_run, self.gpus_per_run, self.accelerator = cpus_per_run, gpus_per_run, accelerator
        self.num_cpus, self.max_runs, self.max_rss_mb = num_cpus, max_runs, max_rss_mb
        self._started_here = False
        self._actor_class = None
        self._options: dict = {}

    def open(self) -> None:
        """Connect to the cluster (or start one here)."""
        ray = _ray()
        if not ray.is_initialized():
            quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
            if self.address == "local":
                # address="local": a new cluster even where a `ray start` one is running on this machine
                ray.init(address="local", num_cpus=self.num_cpus, include_dashboard=False, **quiet)
                self._started_here = True
            else:
                ray.init(address=self.address, **quiet)
        self._actor_class = ray.remote(TrainerActor)
        self.capacity()

    def capacity(self) -> int:
        """How many runs the cluster's resources train at once now (an autoscaling cluster grows:
        the manager asks again every half minute); also what a new worker asks for."""
        resources = _ray().cluster_resources()
        kind = dict(cpus_per_run=self.cpus_per_run, gpus_per_run=self.gpus_per_run, accelerator=self.accelerator)
        self._options = actor_options(resources, **kind)
        return run_slots(resources, **kind)

    def spawn(self) -> RayWorker:
        """Ask Ray for a training actor; it answers 'ready' once placed and warm."""
        actor = self._actor_class.options(**self._options).remote(
            self.target, self.warm, self.max_runs, self.max_rss_mb
        )
        return RayWorker(actor=actor, pending=actor.hello.remote())

    def gather(self, workers: list[RayWorker], timeout: float) -> None:
        """Wait up to `timeout` s for any actor's events, and collect every answer that has come."""
        ray = _ray()
        waiting = {}
        for worker in workers:
            if worker.dead:
                continue
            if worker.pending is None:
                worker.pending = worker.actor.poll.remote(POLL_S)
            waiting[worker.pending] = worker
        if not waiting:
            time.sleep(timeout)
            return
        ready, _ = ray.wait(list(waiting), num_returns=1, timeout=timeout)
        if ready:
            ready, _ = ray.wait(list(waiting), num_returns=len(waiting), timeout=0)
        for ref in ready:
            worker = waiting[ref]
            worker.pending = None
            try:
                worker.inbox.extend(ray.get(ref))
            except ray.exceptions.RayActorError as error:  # the actor's process died (or was killed)
                worker.dead = _death_note(error)
                continue
            # Ask again at once: events an actor sends just before its process dies reach us only
            # if a poll is already waiting for them.
            worker.pending = worker.actor.poll.remote(POLL_S)

    def close(self) -> None:
        """Stop the cluster if it was started here."""
        if self._started_here:
            _ray().shutdown()


def _death_note(error: Exception) -> str:
    """A short reason for a crash message, from Ray's (long) account of an actor's death."""
    text = str(error)
    for line in text.splitlines():
        if "exit code" in line.lower() or "exit_detail" in line.lower():
            return "the Ray worker " + line.strip().rstrip(".")
    return "the Ray worker's process died"
