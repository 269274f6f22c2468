"""A worker target for RunManager tests that trains nothing: it reports epochs as `run_job` does, in
milliseconds, so the queue, stop, crash and time-limit bookkeeping is tested without Keras.

`job.dataset` says how it behaves: "fake" trains `epochs` short epochs; "crash" ends its process
mid-run; "hang" ignores stop requests and its time limit; "fail" raises the message a bad dataset
gives. Spawned workers import this module by name, so it lives at module level.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from cnnviz.errors import InvalidInput

EPOCH_S = 0.05  # one fake epoch; 'stop within 2 s' and the queue are tested at this pace


def run(job, workdir: Path, send, should_stop) -> None:
    if job.dataset == "fail":
        raise InvalidInput("Unknown dataset 'fail'.")
    # The files a job names (an uploaded dataset, a model to start from) report their sizes as the
    # parameter count: the tests see that their bytes arrived.
    files = [name for name in (job.dataset_file, getattr(job, "base_model", None)) if name]
    size = sum(Path(name).stat().st_size for name in files) if files else 1234
    send({"kind": "started", "params": size})
    start, status, message = time.monotonic(), "done", ""
    for epoch in range(getattr(job, "initial_epoch", 0) + 1, job.config.epochs + 1):  # on from a checkpoint
        for batch in range(4):
            if job.dataset == "hang":
                time.sleep(3600)
            time.sleep(EPOCH_S / 4)
            if job.dataset == "crash" and epoch == 2:
                os._exit(3)  # mid-batch, as a segfault or the OOM killer would end it
            send({"kind": "batch", "progress": epoch - 1 + (batch + 1) / 4, "loss": 1.0 / epoch, "accuracy": 0.5})
            if should_stop():
                status, message = "stopped", "Stopped on request."
                break
        if status == "done" and job.config.time_limit_s and time.monotonic() - start > job.config.time_limit_s:
            status, message = "timed_out", f"Stopped at the time limit ({job.config.time_limit_s:g} s)."
        path = workdir / f"epoch_{epoch}.keras"
        path.write_bytes(b"fake")
        send({"kind": "epoch", "epoch": epoch, "loss": 1.0 / epoch, "accuracy": 0.5})
        send({"kind": "checkpoint", "epoch": epoch, "path": str(path)})
        if status != "done":
            break
    model = workdir / "model.keras"
    model.write_bytes(b"fake")
    send(
        {
            "kind": "result",
            "status": status,
            "message": message,
            "model_path": str(model),
            "train_seconds": time.monotonic() - start,
            "evaluation": {"test_accuracy": 0.5},
            "filters": None,
        }
    )


# --- one Ray cluster for the whole test session ----------------------------------------------------

TEST_ACCELERATOR = "TEST_GPU"  # a custom resource standing in for GPUs: CI has none
_ray_started = False


def ray_cluster():
    """Start (once per test session, in the main thread) a local Ray cluster with 2 CPUs, no
    dashboard, and 1 `TEST_ACCELERATOR`; return the `ray` module. Ray's start-up is the slow part
    (about 5-10 s here), so every Ray test shares this one."""
    global _ray_started
    import atexit
    import logging

    import ray

    if not ray.is_initialized():
        ray.init(
            address="local",  # our own, even if someone's `ray start` cluster runs on this machine
            num_cpus=2,
            resources={TEST_ACCELERATOR: 1},
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
        _ray_started = True
        atexit.register(ray.shutdown)
    return ray


class BrokenPool:
    """A backend whose cluster cannot be reached (for the manager's message when that happens)."""

    name = "broken"
    reserves_slots = True
    idle_s = 15

    def __init__(self, **options):
        pass

    def open(self):
        raise ConnectionError("no cluster at ray://10.0.0.9:10001")

    def capacity(self):
        return 1

    def close(self):
        pass


def report_process(job, workdir: Path, send, should_stop) -> None:
    """What the worker's process has: whether Keras was there before its job (the fork server's
    import: this target imports none) and the value of the variable `job` names."""
    import sys

    send({"kind": "process", "keras": "keras" in sys.modules, "value": os.environ.get(job)})
