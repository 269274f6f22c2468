"""cnnviz.ray_runs: how many runs a Ray cluster trains at once and what each run asks for (GPUs tested
with a custom resource, CI has none), files travelling as bytes, and the settings that choose the
backend. The manager's behaviour on Ray is tested with the local one in tests/test_runs.py."""

import time

import numpy as np
import pytest

from cnnviz import models, training
from cnnviz.errors import InvalidInput
from cnnviz.ray_runs import actor_options, run_slots
from cnnviz.runs import BACKENDS, RunManager, settings_from_env
from cnnviz.training import TrainJob
from tests import fake_jobs

BLOCKS = tuple(models.preset("tinyvgg", (28, 28, 1)))
GPU = fake_jobs.TEST_ACCELERATOR


def job(epochs=1, dataset="fake", **fields):
    return TrainJob(dataset, BLOCKS, training.TrainConfig(epochs=epochs), title="test", **fields)


def wait(predicate, timeout=300.0):
    """Poll until `predicate()` holds; the deadline only ends a broken test (Ray is slow on a busy machine)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("resources", "cpus", "gpus", "slots"),
    [
        ({"CPU": 2.0}, 1, 1, 2),
        ({"CPU": 16.0}, 4, 1, 4),
        ({"CPU": 16.0, "GPU": 2.0}, 1, 1, 2),  # the GPUs bound it
        ({"CPU": 16.0, "GPU": 2.0}, 1, 0.25, 8),  # four runs share each card
        ({"CPU": 3.0, "GPU": 2.0}, 1, 0.25, 3),  # ... unless the CPUs run out first
        ({"CPU": 1.0}, 2, 1, 0),
    ],
)
def test_run_slots_come_from_the_clusters_resources(resources, cpus, gpus, slots):
    assert run_slots(resources, cpus_per_run=cpus, gpus_per_run=gpus) == slots


def test_a_run_asks_for_a_gpu_only_where_there_are_some():
    assert actor_options({"CPU": 8.0}, cpus_per_run=2) == {"num_cpus": 2, "max_concurrency": 4}
    assert actor_options({"CPU": 8.0, "GPU": 1.0}, gpus_per_run=0.5)["num_gpus"] == 0.5
    custom = actor_options({"CPU": 8.0, GPU: 1.0}, gpus_per_run=0.5, accelerator=GPU)
    assert custom["resources"] == {GPU: 0.5} and "num_gpus" not in custom


@pytest.mark.parametrize(("per_run", "slots"), [(0.5, 2), (1.0, 1)])
def test_runs_hold_their_share_of_the_accelerator_while_they_train(tmp_path, per_run, slots):
    ray = fake_jobs.ray_cluster()
    options = {"accelerator": GPU, "gpus_per_run": per_run}
    manager = RunManager(
        tmp_path, max_active=None, spares=0, target=fake_jobs.run, warm=(), backend="ray", backend_options=options
    )
    try:
        assert manager.wait_until_open(300) and manager.max_active == slots  # 1 TEST_GPU in the cluster
        run = manager.submit("ann", job(epochs=500))
        wait(lambda: len(run.batches) >= 1)
        # Ray's view of what is free follows its actors a moment later (its resource reports): wait for it.
        wait(lambda: ray.available_resources().get(GPU, 0) == pytest.approx(1 - per_run))
        manager.stop(run.id, "ann")
        wait(lambda: run.done)
    finally:
        manager.shutdown()


def test_files_travel_as_bytes_both_ways(tmp_path):
    fake_jobs.ray_cluster()
    upload = tmp_path / "upload.npz"
    np.savez(upload, x_train=np.zeros((5, 4, 4, 1), np.uint8))
    base = tmp_path / "earlier-run.keras"  # a saved model to go on from
    base.write_bytes(b"k" * 777)
    manager = RunManager(tmp_path / "runs", max_active=1, spares=0, target=fake_jobs.run, warm=(), backend="ray")
    try:
        assert manager.wait_until_open(300)
        run = manager.submit("bea", job(epochs=2, dataset="file", dataset_file=str(upload), base_model=str(base)))
        wait(lambda: run.done)
        assert run.state == "done" and run.params == upload.stat().st_size + 777  # both files' bytes arrived
        folder = manager.workdir / run.id  # ...and the files came back into the manager's own folder
        assert run.checkpoints == [(1, str(folder / "epoch_1.keras")), (2, str(folder / "epoch_2.keras"))]
        assert run.model_path == str(folder / "model.keras") and (folder / "model.keras").read_bytes() == b"fake"
    finally:
        manager.shutdown()


def test_a_stop_that_reaches_the_actor_before_its_job_still_stops_that_job(monkeypatch):
    """An actor runs its calls on several threads in no set order, so a stop sent just after its job
    can run first (a busy machine made it happen): it must stop that job, and not the next one."""
    from cnnviz import ray_runs

    # The actor as a plain object, in this process: without its start-up (a lower priority, imports)
    # and the Keras reset after each job, which are for a worker process, not the test's.
    monkeypatch.setattr(ray_runs, "prepare_worker", lambda warm: None)
    monkeypatch.setattr(ray_runs, "reset_keras", lambda: None)
    actor = ray_runs.TrainerActor(fake_jobs.run, (), max_runs=10, max_rss_mb=1e9)
    actor.stop(1)
    actor.train(job(epochs=500), {}, 1)
    actor.train(job(epochs=2), {}, 2)
    results = [event for event in actor.poll(0) if event["kind"] == "result"]
    assert [result["status"] for result in results] == ["stopped", "done"]


def test_an_unreachable_backend_is_explained_to_whoever_submits(tmp_path, monkeypatch):
    monkeypatch.setitem(BACKENDS, "broken", "tests.fake_jobs.BrokenPool")
    manager = RunManager(tmp_path, backend="broken", target=fake_jobs.run, warm=())
    try:
        assert manager.wait_until_open(10)
        with pytest.raises(InvalidInput, match=r"broken backend could not start \(no cluster at ray://"):
            manager.submit("cal", job())
    finally:
        manager.shutdown()


def test_settings_from_the_environment():
    assert settings_from_env({}) == {"backend": "local", "backend_options": {}, "max_active": 2}
    ray = settings_from_env(
        {
            "CNNVIZ_BACKEND": "ray",
            "CNNVIZ_RAY_ADDRESS": "ray://head:10001",
            "CNNVIZ_RAY_GPUS_PER_RUN": "0.25",
            "CNNVIZ_WORKER_RUNS": "5",
        }
    )
    assert ray == {
        "backend": "ray",
        "backend_options": {"address": "ray://head:10001", "gpus_per_run": 0.25, "max_runs": 5},
        "max_active": None,  # from the cluster's resources
    }
    local = settings_from_env({"CNNVIZ_RAY_ADDRESS": "local", "CNNVIZ_MAX_ACTIVE": "3", "CNNVIZ_WORKER_RSS_MB": "900"})
    assert local == {"backend": "local", "backend_options": {"max_rss_mb": 900.0}, "max_active": 3}
    assert settings_from_env({"CNNVIZ_SPARES": "0"})["spares"] == 0  # a RunManager keyword, not a backend option


def test_the_servers_manager_keeps_the_spares_it_is_told(monkeypatch):
    from app_support.common.runs import manager_options

    monkeypatch.delenv("CNNVIZ_SPARES", raising=False)
    assert manager_options()["spares"] == 1 and manager_options()["time_limit_s"] == 600
    monkeypatch.setenv("CNNVIZ_SPARES", "0")
    assert manager_options()["spares"] == 0 and manager_options()["time_limit_s"] == 600


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CNNVIZ_BACKEND": "dask"}, "CNNVIZ_BACKEND='dask' is not accepted: local or ray"),
        ({"CNNVIZ_MAX_ACTIVE": "two"}, "CNNVIZ_MAX_ACTIVE='two' is not accepted"),
        ({"CNNVIZ_MAX_ACTIVE": "0"}, "out of range: runs training at once, 1 to 64"),
        ({"CNNVIZ_SPARES": "-1"}, "CNNVIZ_SPARES='-1' is out of range: local workers kept started for the next run"),
        ({"CNNVIZ_RAY_GPUS_PER_RUN": "-1"}, "out of range"),
        ({"CNNVIZ_RAY_ADDRESS": "head"}, "auto, local (start a cluster here) or ray://host:port"),
    ],
)
def test_bad_settings_say_what_is_accepted(environ, message):
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings_from_env(environ)
