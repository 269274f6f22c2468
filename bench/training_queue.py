"""How long a class waits for its runs: forty small runs submitted at once to the run manager, on
this machine's cores, with each training backend. (The issue's `bench/queue.py`: named otherwise so
as not to hide the standard library's `queue` from the benchmarks, which run with bench/ on the
import path.)

- local, fresh: a new worker process per run (what the app did before workers were reused): every
  run pays for a process and a TensorFlow import (seconds of CPU) next to the runs training.
- local, reused: workers train runs in turn (the default).
- ray: actors on a Ray cluster started here with the machine's CPUs (no dashboard).

A run is the load bench's: the Trainer's tiny VGG on the synthetic shapes, two epochs. Its wait is
the time from submission until a worker takes it. The floor is what a perfect scheduler would give
the same runs on the same cores: each run takes as long as it took with reused workers (build,
train, evaluate, save; no start-up), first come first served on as many slots as the manager runs,
with nothing lost between runs. The Ray path's memory is the process tree's (Ray's own processes
are children of this one) measured against the reused local workers'.

Run: python bench/training_queue.py [--runs 40] [--epochs 2] [--backends local-fresh,local-reuse,ray]
"""

from __future__ import annotations

import argparse
import heapq
import os
import tempfile
import threading
import time

from common import percentile, table

from cnnviz import models
from cnnviz.runs import RunManager
from cnnviz.training import TrainConfig, TrainJob
from harness.procs import tree_rss_mb as process_tree_mb

SLOTS = 2  # runs training at once: the app's default on this class of machine (two cores)


def tree_rss_mb(pid: int) -> float:
    """RSS of `pid` and all its descendants (workers, Ray's processes), in MB."""
    return process_tree_mb(pid)[1]


class Peak(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.running = 0.0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, tree_rss_mb(os.getpid()))
            time.sleep(0.25)


def small_job(epochs: int, index: int) -> TrainJob:
    config = TrainConfig(epochs=epochs, batch_size=32, learning_rate=3e-3, seed=index)
    return TrainJob("shapes", tuple(models.preset("tinyvgg", (28, 28, 1))), config, title=f"student {index}")


def floor_waits(durations: list[float], slots: int) -> list[float]:
    """Waits under a perfect first-come-first-served scheduler: all submitted at 0, no start-up."""
    free = [0.0] * slots
    waits = []
    for duration in durations:
        start = heapq.heappop(free)
        waits.append(start)
        heapq.heappush(free, start + duration)
    return waits


def one_phase(name: str, runs: int, epochs: int, **options) -> dict:
    manager = RunManager(tempfile.mkdtemp(prefix="cnnviz-queue-"), spares=1, max_queued=runs, **options)
    try:
        assert manager.wait_until_open(180), "the backend did not open"
        assert not manager.backend_error, manager.backend_error
        deadline = time.monotonic() + 180
        # The server has been up a while: locally a warm spare waits. (On Ray actors start for
        # waiting runs only, since an idle one holds a share of the cluster: none to wait for.)
        while options.get("backend") != "ray" and manager.counts()["ready"] < 1:
            assert time.monotonic() < deadline, "no worker became ready"
            time.sleep(0.1)
        time.sleep(1)
        base = tree_rss_mb(os.getpid())
        peak = Peak()
        peak.start()
        began = time.monotonic()
        submitted = [manager.submit(f"student{i}", small_job(epochs, i)) for i in range(runs)]
        while not all(run.done for run in submitted):
            time.sleep(0.2)
        makespan = time.monotonic() - began
        peak.running = False
        bad = [run for run in submitted if not run.state.good]
        assert not bad, f"{name}: {bad[0].state}: {bad[0].message}"
        return {
            "name": name,
            "waits": [run.started - run.created for run in submitted],
            "durations": [run.finished - run.started for run in submitted],
            "makespan": makespan,
            "workers": len({run.worker_pid for run in submitted}),
            "slots": manager.max_active,
            "base_mb": base,
            "peak_mb": peak.peak,
        }
    finally:
        manager.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--backends", default="local-fresh,local-reuse,ray")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    chosen = args.backends.split(",")
    phases = []
    if "local-fresh" in chosen:
        options = {"max_runs": 1}
        phases.append(one_phase("local-fresh", args.runs, args.epochs, max_active=SLOTS, backend_options=options))
        print(f"local-fresh: {phases[-1]['makespan']:.0f} s", flush=True)
    if "local-reuse" in chosen:
        phases.append(one_phase("local-reuse", args.runs, args.epochs, max_active=SLOTS))
        print(f"local-reuse: {phases[-1]['makespan']:.0f} s", flush=True)
    ray_idle_mb = float("nan")
    if "ray" in chosen:
        import logging

        import ray

        before = tree_rss_mb(os.getpid())
        quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
        ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False, **quiet)
        time.sleep(5)
        ray_idle_mb = tree_rss_mb(os.getpid()) - before  # Ray's own processes, no actors yet
        phases.append(one_phase("ray", args.runs, args.epochs, max_active=None, backend="ray"))
        print(f"ray: {phases[-1]['makespan']:.0f} s", flush=True)
        ray.shutdown()

    reference = next((p for p in phases if p["name"] == "local-reuse"), phases[0])
    floor = floor_waits(reference["durations"], reference["slots"])
    # With no more runs than slots a perfect scheduler has no wait at all: count a tenth of a second.
    floor_p95 = max(percentile(floor, 95), 0.1)
    rows = []
    for phase in phases:
        waits = phase["waits"]
        rows.append([
            phase["name"], phase["slots"], phase["workers"], percentile(waits, 50), percentile(waits, 95),
            percentile(waits, 95) / floor_p95, percentile(phase["durations"], 50), phase["makespan"],
            phase["peak_mb"],
        ])  # fmt: skip
    headers = ["backend", "slots", "worker processes", "wait p50 s", "wait p95 s", "p95 / floor", "run p50 s",
               "all done s", "peak RSS MB (tree)"]  # fmt: skip
    print(table(headers, rows))
    print(f"floor (perfect FIFO on {reference['slots']} slots, no start-up): p50 {percentile(floor, 50):.1f} s, "
          f"p95 {floor_p95:.1f} s")  # fmt: skip
    print()
    by_name = {phase["name"]: phase for phase in phases}
    for phase in phases:
        key = phase["name"].replace("-", "_")
        print(f"RESULT queue_wait_p95_s_{key} {percentile(phase['waits'], 95):.1f}")
        print(f"RESULT queue_vs_floor_ratio_{key} {percentile(phase['waits'], 95) / floor_p95:.2f}")
    default = by_name.get("local-reuse", phases[0])
    print(f"RESULT queue_wait_p95_s {percentile(default['waits'], 95):.1f}")
    print(f"RESULT queue_vs_floor_ratio {percentile(default['waits'], 95) / floor_p95:.2f}")
    if "local-fresh" in by_name and "local-reuse" in by_name:
        saved = (by_name["local-fresh"]["makespan"] - by_name["local-reuse"]["makespan"]) * SLOTS / args.runs
        print(f"RESULT startup_saved_core_s_per_run {saved:.1f}")
    if "ray" in by_name:
        print(f"RESULT ray_idle_rss_mb {ray_idle_mb:.0f}")
        if "local-reuse" in by_name:
            added = by_name["ray"]["peak_mb"] - by_name["local-reuse"]["peak_mb"]
            print(f"RESULT ray_added_rss_mb {added:.0f}")


if __name__ == "__main__":
    main()
