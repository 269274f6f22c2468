"""cnnviz.runs: runs live in workers, queue when the server is busy, stop on request, and a crashed
or runaway worker never takes the manager down; on both backends (local processes and Ray actors,
on one local Ray cluster for the session: 2 CPUs, no dashboard), with the same tests.

The bookkeeping is tested with a worker target that trains nothing (tests/fake_jobs.py: seconds, not
minutes); end-to-end runs train real Keras models through the same manager code.
"""

import time

import numpy as np
import pytest

from cnnviz import models, training
from cnnviz.errors import InvalidInput
from cnnviz.runs import RunManager
from cnnviz.training import TrainJob
from tests import fake_jobs

BLOCKS = tuple(models.preset("tinyvgg", (28, 28, 1)))


def job(epochs=2, dataset="fake", **config):
    return TrainJob(dataset, BLOCKS, training.TrainConfig(epochs=epochs, **config), title="test")


def wait(predicate, timeout=300.0):
    """Poll until `predicate()` holds. The deadline only ends a test that is broken: on a busy machine
    a Keras run here takes a minute or more."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


BACKENDS = ["local", "ray"]


def backend_manager(backend: str, workdir, **options) -> RunManager:
    """A RunManager on `backend`, opened (on Ray: connected to the session's local cluster)."""
    if backend == "ray":
        fake_jobs.ray_cluster()
    manager = RunManager(workdir, backend=backend, **options)
    assert manager.wait_until_open(300) and not manager.backend_error, manager.backend_error
    return manager


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def manager(backend, tmp_path_factory):
    # A fake run is killed only when it ignores its own time limit by `grace_s`: generous, so a busy
    # machine's late start never turns a run that keeps its limit into a killed one.
    options = dict(max_active=1, spares=1, time_limit_s=60, grace_s=30, target=fake_jobs.run, warm=())
    manager = backend_manager(backend, tmp_path_factory.mktemp("runs"), **options)
    yield manager
    manager.shutdown()


@pytest.fixture(scope="module")
def keras_manager(backend, tmp_path_factory):
    # The server's time limits (a busy machine trains slowly), and no idle worker let go: the reuse
    # test counts two workers after a run that can take minutes on a loaded machine.
    options = dict(max_active=1, spares=1, idle_s=3600)
    manager = backend_manager(backend, tmp_path_factory.mktemp("keras-runs"), **options)
    yield manager
    manager.shutdown()


def test_a_run_reports_its_curves_checkpoints_and_result(manager):
    run = manager.submit("alice", job(epochs=3))
    wait(lambda: run.done)
    assert run.state == "done", run.message
    assert run.params == 1234 and run.first_point is not None
    assert [e["epoch"] for e in run.epochs] == [1, 2, 3] and len(run.batches) == 12
    assert [epoch for epoch, _ in run.checkpoints] == [1, 2, 3]
    assert run.model_path.endswith("model.keras") and run.train_seconds > 0


def test_sessions_see_only_their_own_runs_and_queue(manager):
    first = manager.submit("bob", job(epochs=500))  # trains until it is stopped: the others must wait
    wait(lambda: manager.position(first) == 0)  # dispatched: the one trainer is busy
    second = manager.submit("carol", job(epochs=1))
    third = manager.submit("carol", job(epochs=1))
    assert manager.position(second) == 1 and manager.position(third) == 2  # one trains at a time here
    assert [r.id for r in manager.runs_for("carol")] == [second.id, third.id]
    assert all(r.owner == "bob" for r in manager.runs_for("bob"))
    assert manager.get(first.id, "carol") is None and not manager.stop(first.id, "carol")
    assert manager.stop(first.id, "bob")
    wait(lambda: first.done and second.done and third.done)
    assert first.state == "stopped" and second.state == third.state == "done"
    assert first.finished <= second.started and second.finished <= third.started  # in order, one at a time


def test_stop_within_two_seconds(manager):
    run = manager.submit("dave", job(epochs=500))
    wait(lambda: len(run.batches) >= 2)
    asked = time.monotonic()
    assert manager.stop(run.id, "dave")
    assert run.state == "stopping"
    wait(lambda: run.done)
    # When the manager had the result, not when this thread looked: the stop's path (the request, the
    # worker's next batch, its result) needs little CPU, so this holds on a busy machine too.
    assert run.state == "stopped" and run.finished - asked < 2.0
    assert run.model_path


def test_cancel_a_queued_run(manager):
    running = manager.submit("erin", job(epochs=500))
    queued = manager.submit("erin", job(epochs=1))
    assert manager.stop(queued.id, "erin") and queued.state == "stopped"
    assert "before it started" in queued.message and manager.position(queued) == 0
    manager.stop(running.id, "erin")
    wait(lambda: running.done)
    assert not manager.stop(queued.id, "erin")  # already finished


def test_forgetting_someone_who_left_stops_and_drops_their_runs(manager):
    training_run = manager.submit("frank", job(epochs=500))
    queued = manager.submit("frank", job(epochs=1))
    kept = manager.submit("grace", job(epochs=1))
    wait(lambda: len(training_run.batches) >= 1)
    assert manager.forget("frank") >= 1  # the training one is still stopping
    assert queued.state == "stopped"
    wait(lambda: manager.forget("frank") == 0)
    assert manager.runs_for("frank") == [] and "frank" not in manager.owners()
    assert not (manager.workdir / training_run.id).exists()
    assert [r.id for r in manager.runs_for("grace")] == [kept.id]  # nobody else's runs are touched
    wait(lambda: kept.done)


def test_departures_forget_sessions_that_are_gone(manager, monkeypatch):
    from streamlit.runtime import Runtime

    from app_support.common.runs import Departures

    class FakeRuntime:
        @staticmethod
        def is_active_session(session_id):
            return session_id == "s-here"

    monkeypatch.setattr(Runtime, "exists", staticmethod(lambda: True))
    monkeypatch.setattr(Runtime, "instance", staticmethod(lambda: FakeRuntime))
    here, gone = manager.submit("heidi", job(epochs=1)), manager.submit("ivan", job(epochs=1))
    wait(lambda: here.done and gone.done)
    departures = Departures(manager, grace_s=0.0, every_s=3600)
    for name in manager.owners():  # everyone from the other tests is still here
        departures.touch(name, "s-here")
    departures.touch("ivan", "s-left")
    assert departures.sweep() == 1
    assert manager.runs_for("ivan") == [] and [r.id for r in manager.runs_for("heidi")] == [here.id]


def test_a_crashed_worker_is_reported_and_the_manager_goes_on(manager, backend):
    run = manager.submit("judy", job(epochs=5, dataset="crash"))
    wait(lambda: run.done)
    assert run.state == "crashed" and "ended unexpectedly" in run.message
    assert "(exit code 3)" in run.message if backend == "local" else "Ray worker" in run.message
    # What it reported just before it died is kept: a local worker's pipe still holds it. A Ray actor
    # hands its events over when polled, and a busy machine can end it before the poll: those die with it.
    assert len(run.epochs) == 1 if backend == "local" else len(run.epochs) <= 1
    after = manager.submit("judy", job(epochs=1))
    wait(lambda: after.done)
    assert after.state == "done"


def test_failures_are_explained(manager):
    run = manager.submit("gina", job(dataset="fail"))
    wait(lambda: run.done)
    assert run.state == "failed" and "Unknown dataset" in run.message
    with pytest.raises(InvalidInput, match="Epochs"):
        manager.submit("gina", job(epochs=0))


def test_the_time_limit_ends_a_run_and_keeps_its_model(manager):
    run = manager.submit("hank", job(epochs=500, time_limit_s=1))
    wait(lambda: run.done)
    assert run.state == "timed_out" and run.model_path


def test_a_run_that_ignores_its_time_limit_is_killed(backend, tmp_path):
    options = dict(max_active=1, spares=0, time_limit_s=0.5, grace_s=0.5, target=fake_jobs.run, warm=())
    strict = backend_manager(backend, tmp_path, **options)
    try:
        run = strict.submit("ivy", job(dataset="hang"))
        wait(lambda: run.done)
        assert run.state == "timed_out" and "Killed after 1 s" in run.message
    finally:
        strict.shutdown()


def test_a_full_queue_refuses_with_a_message(backend, tmp_path):
    small = backend_manager(backend, tmp_path, max_active=1, max_queued=2, spares=0, target=fake_jobs.run, warm=())
    try:
        small.submit("kim", job(epochs=500))
        small.submit("kim", job())
        wait(lambda: small.position(small.runs_for("kim")[0]) == 0)  # the first has left the queue
        small.submit("kim", job())
        with pytest.raises(InvalidInput, match="queue is full"):
            small.submit("kim", job())
    finally:
        small.shutdown()


def test_a_worker_trains_runs_in_turn_and_is_replaced_after_max_runs(backend, tmp_path):
    options = dict(max_active=1, spares=0, target=fake_jobs.run, warm=(), backend_options={"max_runs": 2})
    reusing = backend_manager(backend, tmp_path, **options)
    try:
        runs = []
        for _ in range(3):
            runs.append(reusing.submit("lee", job(epochs=1)))
            wait(lambda: runs[-1].done)
        assert [run.state for run in runs] == ["done"] * 3
        first, second, third = (run.worker_pid for run in runs)
        assert first == second and third not in (None, first)  # two runs in one process, then a fresh one
    finally:
        reusing.shutdown()


def test_a_worker_whose_memory_grew_past_the_limit_is_replaced(backend, tmp_path):
    options = dict(max_active=1, spares=0, target=fake_jobs.run, warm=(), backend_options={"max_rss_mb": 1})
    strict = backend_manager(backend, tmp_path, **options)  # every worker is over 1 MB after a run
    try:
        first = strict.submit("max", job(epochs=1))
        wait(lambda: first.done)
        second = strict.submit("max", job(epochs=1))
        wait(lambda: second.done)
        assert first.state == second.state == "done" and first.worker_pid != second.worker_pid
    finally:
        strict.shutdown()


# --- end to end, with Keras ------------------------------------------------------------------------


def test_a_keras_run_trains_and_reports(keras_manager):
    run = keras_manager.submit("alice", job(dataset="shapes"))
    wait(lambda: run.done)
    assert run.state == "done", run.message
    assert run.first_point is not None and len(run.epochs) == 2
    assert [epoch for epoch, _ in run.checkpoints] == [0, 1, 2]  # the untrained network first, for the scrubbers
    assert 0 <= run.evaluation.test_accuracy <= 1 and run.filters.shape == (3, 3, 1, 10)
    assert run.model_path.endswith("model.keras")


# Stopping and reuse with Keras are the same code on Ray (its fake-job tests above cover them): local
# only, to keep the Ray part of the suite short.
@pytest.mark.parametrize("backend", ["local"], indirect=True)
def test_a_keras_run_stops_on_request_and_keeps_the_model(keras_manager):
    run = keras_manager.submit("dave", job(epochs=50, dataset="shapes"))
    wait(lambda: len(run.batches) >= 2)
    assert keras_manager.stop(run.id, "dave")
    wait(lambda: run.done)
    # Stopped where it was, not after its 50 epochs. How fast a stop reaches a worker is timed by
    # test_stop_within_two_seconds; here the rest is Keras's evaluation and saving, CPU work that a
    # busy machine stretches (a second or two idle, 6 s at a load of 20 on 2 cores): no clock is read.
    assert run.state == "stopped" and len(run.epochs) < 50, (run.state, len(run.epochs))
    assert run.model_path and run.evaluation is not None


@pytest.mark.parametrize("backend", ["local"], indirect=True)
def test_a_reused_worker_trains_as_a_fresh_one(keras_manager):
    # Every worker idle first (one may still be clearing Keras after the test before): the run then
    # goes to the worker that has trained most, and so does the next one.
    wait(lambda: (c := keras_manager.counts())["processes"] and c["ready"] == c["processes"] and not c["training"])
    first = keras_manager.submit("olga", job(epochs=1, dataset="shapes"))
    wait(lambda: first.done)
    wait(lambda: keras_manager.counts()["ready"] == 2)  # it has cleared Keras, beside the spare
    again = keras_manager.submit("olga", job(epochs=1, dataset="shapes"))
    wait(lambda: again.done)
    assert first.worker_pid == again.worker_pid  # the same process, TensorFlow imported once
    # Keras was cleared between the runs: same seed, same layer names, same learned filters.
    np.testing.assert_allclose(first.filters, again.filters, atol=1e-5)
    assert first.evaluation.test_accuracy == pytest.approx(again.evaluation.test_accuracy)


def test_local_workers_start_with_keras_imported_and_the_environment_of_their_start(tmp_path, monkeypatch):
    """Local workers are forked from a server that imported Keras once (no worker imports it again),
    yet each has the pool's environment when it starts, not the server's when it started."""
    from cnnviz.workers import LocalPool

    pool = LocalPool(target=fake_jobs.report_process, warm=())
    answers = []
    for value in ("first", "second"):
        monkeypatch.setenv("CNNVIZ_TEST_WORKER_VALUE", value)
        worker = pool.spawn()
        try:
            assert worker.send_job("CNNVIZ_TEST_WORKER_VALUE", tmp_path)

            def answered(worker=worker):
                pool.gather([worker], 0.1)
                return any(event["kind"] == "process" for event in worker.inbox)

            wait(answered, timeout=120)
            answers.append(next(event for event in worker.inbox if event["kind"] == "process"))
        finally:
            worker.kill()
            worker.close()
    assert [answer["value"] for answer in answers] == ["first", "second"]
    assert all(answer["keras"] for answer in answers)
