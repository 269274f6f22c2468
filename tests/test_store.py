"""cnnviz.store and cnnviz.kept_runs: learners' work kept in a database and a data folder, private to
each learner, on SQLite and on a real PostgreSQL server (harness/postgres.py: Debian's binaries, a
throwaway cluster; skipped where PostgreSQL is not installed, except in CI, CNNVIZ_REQUIRE_POSTGRES=1).

Runs are kept through a RunManager whose worker trains nothing (tests/fake_jobs.py), so keeping,
reading back, interruption by SIGKILL and "Continue training" are tested in seconds.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from cnnviz import images, models, training
from cnnviz.errors import InvalidInput
from cnnviz.kept_runs import job_from_json, job_to_json
from cnnviz.own_classes import OwnClasses
from cnnviz.runs import RunManager
from cnnviz.store import SCHEMA_REVISION, Store, StoreUnavailable, learner_key, new_learner_id, schema
from cnnviz.training import RunState, TrainJob
from harness import postgres
from tests import fake_jobs
from tests.conftest import ROOT

BLOCKS = tuple(models.preset("tinyvgg", (28, 28, 1)))


@pytest.fixture(scope="module")
def pg_server():
    if postgres.binaries() is None:
        if os.environ.get("CNNVIZ_REQUIRE_POSTGRES"):
            pytest.fail("CNNVIZ_REQUIRE_POSTGRES is set but PostgreSQL is missing (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    server = postgres.Postgres()
    yield server
    server.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """An empty store on each database (a new PostgreSQL database per test)."""
    url = None
    if request.param == "postgresql":
        server = request.getfixturevalue("pg_server")
        url = server.url(f"t{hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12]}")
    kept = Store(url, data=tmp_path / "data", runs=3, megabytes=1)
    yield kept
    kept.close()


def learner() -> str:
    return learner_key(new_learner_id())


def row(key: str, number: int, **extra) -> dict:
    return {
        "id": f"{key[:8]}-{number}",
        "learner": key,
        "number": number,
        "title": f"run {number}",
        "state": "done",
        "message": "",
        "job": "{}",
        "created": time.time(),
        "epochs": "[]",
        "batches": "[]",
        **extra,
    }


def test_the_schema_is_the_migrations_and_they_are_at_the_newest_revision(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    store.open()
    with store._engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), schema()) == []
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_REVISION
    scripts = ScriptDirectory(str(ROOT / "cnnviz" / "migrations"))
    assert scripts.get_current_head() == SCHEMA_REVISION


def test_learner_ids_are_random_and_only_their_hash_is_kept(store):
    ids = {new_learner_id() for _ in range(100)}
    assert len(ids) == 100 and all(len(i) == 43 for i in ids)  # 32 random bytes each
    first = next(iter(ids))
    assert learner_key(first) == hashlib.sha256(first.encode()).hexdigest()
    for bad in ("", "short", "x" * 31, "a b" * 20, "../" * 20, None):
        with pytest.raises(InvalidInput):
            learner_key(bad)
    key = learner_key(first)
    store.touch_learner(key)
    store.save_run(row(key, 1))
    with store._engine.connect() as connection:
        from sqlalchemy import text

        dumped = " ".join(str(r) for r in connection.execute(text("SELECT * FROM learners")).all())
        dumped += " ".join(str(r) for r in connection.execute(text("SELECT * FROM runs")).all())
    assert key in dumped and first not in dumped


def test_a_learner_sees_only_their_own_runs_and_a_made_up_id_sees_nothing(store):
    alice, bob = learner(), learner()
    store.save_run(row(alice, 1), [("model", None, "runs/a/model.keras", 10)])
    store.save_run(row(bob, 1))
    assert [r["number"] for r in store.run_rows(alice)] == [1]
    assert store.run_rows(alice)[0]["files"] == [("model", None, "runs/a/model.keras")]
    assert store.run_rows(bob, [f"{alice[:8]}-1"]) == []  # another's run, asked for by id: nothing
    assert store.delete_run(f"{alice[:8]}-1", bob) is False  # nor can it be deleted by them
    assert len(store.run_rows(alice)) == 1
    made_up = learner_key("A" * 43)
    assert store.run_rows(made_up) == [] and store.load_own_classes(made_up) is None
    assert store.get_state(made_up, "lesson") is None and store.next_number(made_up) == 1


def test_a_run_row_is_replaced_whole_and_its_files_added_once(store):
    key = learner()
    store.save_run(row(key, 1, state="running", epochs="[1]"), [("checkpoint", 1, "runs/x/epoch_001.keras", 5)])
    store.save_run(
        row(key, 1, state="done", epochs="[1, 2]"),
        [("checkpoint", 1, "runs/x/epoch_001.keras", 5), ("checkpoint", 2, "runs/x/epoch_002.keras", 6)],
    )
    (kept,) = store.run_rows(key)
    assert kept["state"] == "done" and kept["epochs"] == "[1, 2]"
    assert [f[1] for f in kept["files"]] == [1, 2]
    assert store.usage(key).bytes == 11 and store.next_number(key) == 2


def test_own_classes_come_back_example_for_example(store):
    key = learner()
    own = OwnClasses()
    own.add_class("circle")
    own.add_class("line")
    rng = np.random.default_rng(0)
    for index in range(6):
        picture = np.zeros((60, 60), np.uint8)
        picture[rng.integers(5, 25) :, rng.integers(5, 25) : 40 + index] = 255
        own.add("circle" if index % 2 else "line", picture)
    own.add("line", np.where(own.examples["line"][0][..., 0] > 0, 255, 0).astype(np.uint8))  # a twin
    store.save_own_classes(key, own)
    back = store.load_own_classes(key)
    assert back.kind == own.kind and back.class_names == own.class_names and back.counts() == own.counts()
    for name in own.class_names:
        for mine, kept in zip(own.examples[name], back.examples[name], strict=True):
            assert kept.dtype == np.uint8 and kept.shape == (28, 28, 1) and np.array_equal(mine, kept)
    own.remove("line", 0)
    own.rename_class("circle", "ring")
    store.save_own_classes(key, own)
    again = store.load_own_classes(key)
    assert again.class_names == ("ring", "line") and again.counts() == {"ring": 3, "line": 3}
    assert store.load_own_classes(learner()) is None


def test_pictures_with_boxes_come_back_with_each_box(store):
    """Boxes are kept by example: two identical pictures keep their own boxes, one not yet boxed stays
    unboxed, and a removed example takes its box with it."""
    key = learner()
    own = OwnClasses(kind="boxes")
    own.add_class("square")
    picture = np.zeros((64, 64, 3), np.uint8)
    picture[10:30, 20:50] = 200
    for _ in range(3):
        own.add("square", picture)  # the same picture three times
    own.set_box("square", 0, (20, 10, 50, 30))
    own.set_box("square", 2, (0, 0, 64, 64))
    store.save_own_classes(key, own)
    back = store.load_own_classes(key)
    assert back.kind == "boxes" and back.boxes_of("square") == [
        (20 / 64, 10 / 64, 50 / 64, 30 / 64),
        None,
        (0, 0, 1, 1),
    ]
    assert back.examples["square"][0].shape == (64, 64, 3)
    own.remove("square", 0)
    store.save_own_classes(key, own)
    assert store.load_own_classes(key).boxes_of("square") == [None, (0, 0, 1, 1)]


def bar_drawn() -> tuple[OwnClasses, np.ndarray]:
    """Own classes with one class, "bar", and the drawing added to it: a bar on the 280x280 canvas."""
    canvas = np.zeros((280, 280), np.uint8)
    canvas[40:240, 120:160] = 255
    own = OwnClasses()
    own.add_class("bar")
    own.add("bar", canvas)
    return own, canvas


def test_examples_come_back_as_drawn_or_uploaded_and_count_against_the_learners_room(store):
    """Every example is kept twice: as the network gets it, and as drawn or uploaded (the file byte for
    byte), so a switch of kind after a reload prepares from the original, not from the 28x28 copy."""
    key = learner()
    own, canvas = bar_drawn()
    upload = images.encode_png(np.dstack([canvas, canvas // 2, canvas]))
    own.add_file("bar", upload)
    before = store.usage(key).bytes
    store.save_own_classes(key, own)
    back = store.load_own_classes(key)
    assert back.originals_of("bar")[1] == upload
    assert np.array_equal(back.original("bar", 0), canvas)
    assert store.usage(key).bytes - before >= len(upload) + len(back.originals_of("bar")[0])
    back.set_kind("photos")
    own.set_kind("photos")
    assert all(np.array_equal(a, b) for a, b in zip(back.examples["bar"], own.examples["bar"], strict=True))
    own.remove("bar", 1)
    store.save_own_classes(key, own)
    assert store.load_own_classes(key).originals_of("bar") == own.originals_of("bar")
    assert store.report()["originals"] >= 1
    store.delete_learner(key)
    assert store.usage(key).bytes == 0


def test_own_classes_kept_before_originals_were_kept_still_load(store):
    """A layout written without the originals' column (an older store) loads, each example's original
    being its picture."""
    import json

    key = learner()
    own, _ = bar_drawn()
    store.save_own_classes(key, own)
    table = schema().tables["own_classes"]
    store.open()
    with store._engine.begin() as connection:
        layout = json.loads(connection.execute(table.select().where(table.c.learner == key)).mappings().one()["layout"])
        old = json.dumps([[name, digests] for name, digests, *_ in layout])
        connection.execute(table.update().where(table.c.learner == key).values(layout=old))
    back = store.load_own_classes(key)
    assert back.originals_of("bar") == [None] and back.original("bar", 0).shape == (28, 28, 1)


def test_a_store_at_the_first_revision_is_upgraded_in_place_and_keeps_its_classes(tmp_path):
    """A server that finds a store written before originals were kept (revision 0001) upgrades it on
    opening, and the classes in it load; the next save keeps originals too."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    (tmp_path / "data").mkdir()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'store.sqlite'}")
    config = Config()
    config.set_main_option("script_location", str(ROOT / "cnnviz" / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        key = learner()
        png = images.encode_png(np.full((28, 28), 255, np.uint8))
        connection.execute(
            sa.text("INSERT INTO own_classes VALUES (:k, 'drawings', :layout, 0)"),
            {"k": key, "layout": '[["bar", ["d1"]]]'},
        )
        connection.execute(sa.text("INSERT INTO own_examples VALUES (:k, 'd1', :png)"), {"k": key, "png": png})
    engine.dispose()
    kept = Store(None, data=tmp_path / "data")
    try:
        own = kept.load_own_classes(key)
        assert own.counts() == {"bar": 1} and own.originals_of("bar") == [None]
        own.add("bar", bar_drawn()[1])
        kept.save_own_classes(key, own)
        assert kept.load_own_classes(key).originals_of("bar")[1] is not None
    finally:
        kept.close()


def test_a_room_filled_by_own_classes_says_so(store):
    """The limit names the own classes when their pictures are what fills the learner's room."""
    key = learner()
    own = OwnClasses(kind="photos")
    own.add_class("noise")
    rng = np.random.default_rng(5)
    for _ in range(8):  # each kept as a JPEG of about 150 KB (noise does not compress)
        own.add_file("noise", images.encode_png(rng.integers(0, 256, (700, 700, 3), dtype=np.uint8)))
    store.save_own_classes(key, own)
    assert store.usage(key).own_classes > 2**20
    with pytest.raises(InvalidInput, match=r"Your own classes take \d+ MB of it: remove examples"):
        store.check_room(key)  # 1 MB allowed here


def test_settings_and_the_lesson_in_progress_are_kept(store):
    key = learner()
    store.put_state(key, "lesson", {"lesson": "transfer", "step": 2})
    store.put_state(key, "lesson", {"lesson": "transfer", "step": 3})
    assert store.get_state(key, "lesson") == {"lesson": "transfer", "step": 3}
    assert store.get_state(learner(), "lesson", "none") == "none"


def test_limits_say_what_to_delete_and_old_work_goes(store):
    key = learner()
    store.save_run(row(key, 1), [("model", None, "runs/1/model.keras", 700_000)])
    store.save_run(row(key, 2), [("model", None, "runs/2/model.keras", 400_000)])
    with pytest.raises(InvalidInput, match=r"takes 1 MB.*largest are run 1 \(1 MB\), run 2 \(0 MB\)"):
        store.check_room(key)  # 1 MB allowed here
    small = learner()
    for number in (1, 2, 3):
        store.save_run(row(small, number))
    with pytest.raises(InvalidInput, match=r"You keep 3 runs.*Delete runs you no longer need"):
        store.check_room(small)
    old, recent = learner(), learner()
    now = time.time()
    store.touch_learner(old, now=now - 91 * 86400)
    store.touch_learner(recent, now=now - 89 * 86400)
    store.save_run(row(old, 1))
    store.save_run(row(recent, 1))
    store.keep_days = 90
    assert store.remove_old(now=now) == 1
    assert store.run_rows(old) == [] and len(store.run_rows(recent)) == 1


def test_forty_sessions_writing_at_once_lose_no_row(store):
    keys = [learner() for _ in range(40)]

    def save(key: str) -> None:
        files = [("checkpoint", epoch, f"runs/{key[:8]}/epoch_{epoch:03d}.keras", 100) for epoch in range(1, 21)]
        for epoch in range(1, 21):  # a row written at each epoch, as the manager does
            store.save_run(row(key, 1, state="running", epochs=str(list(range(epoch)))), files[:epoch])
        store.save_run(row(key, 1, state="done"), [*files, ("model", None, f"runs/{key[:8]}/model.keras", 1)])

    with concurrent.futures.ThreadPoolExecutor(40) as pool:
        list(pool.map(save, keys))
    report = store.report()
    assert report["runs"] == 40 and report["files"] == 40 * 21
    assert all(store.run_rows(key)[0]["state"] == "done" for key in keys)


def test_a_job_is_kept_as_json_and_read_back_the_same(store):
    store.open()
    upload = store.data / "uploads" / "x.npz"
    job = TrainJob(
        "file",
        BLOCKS,
        training.TrainConfig(epochs=3, augmentation=models.Augmentation(rotation=10, flip=True)),
        dataset_options=(("size", 32),),
        dataset_file=str(upload),
        first_conv_kernels=("sobel x",),
        title="mine",
        base_input=(28, 28, 1),
    )
    text = job_to_json(job, store)
    assert str(store.data) not in text and '"dataset_file": "data:uploads/x.npz"' in text
    assert job_from_json(text, store) == job


# --- the store's faults -----------------------------------------------------------------------------


def test_a_damaged_database_file_is_named_and_left_as_it_was(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    damaged = b"this is not a database" * 100
    (data / "store.sqlite").write_bytes(damaged)
    kept = Store(data=data)
    with pytest.raises(StoreUnavailable, match=r"store\.sqlite is not an SQLite database.*move that file aside"):
        kept.run_rows(learner())
    assert (data / "store.sqlite").read_bytes() == damaged


def test_a_locked_database_file_is_named(tmp_path):
    import sqlite3

    kept = Store(data=tmp_path / "data", busy_timeout_s=0.2)
    kept.touch_learner(learner())
    holder = sqlite3.connect(tmp_path / "data" / "store.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable, match="locked by another program"):
            kept.touch_learner(learner())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    kept.touch_learner(learner())  # free again: it works


def _mount(kind: str, path, options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", kind, "-o", options, kind, str(path)], capture_output=True)
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs as the data folder (a full or read-only disk); skipped where mounting is not allowed."""
    folder = tmp_path / "disk"
    if os.geteuid() != 0 or not _mount("tmpfs", folder, "size=2m"):
        pytest.skip("mounting a small tmpfs needs root")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_data_folder_is_named_and_what_was_kept_stays(small_disk):
    kept = Store(data=small_disk)
    key = learner()
    kept.save_run(row(key, 1))
    filler = small_disk / "filler"
    with open(filler, "wb") as handle, pytest.raises(OSError):
        while True:
            handle.write(b"\0" * 65536)
            handle.flush()
    with pytest.raises(StoreUnavailable, match=r"is full: your work cannot be saved now.*free some space"):
        for number in range(2, 200):
            kept.save_run(row(key, number, batches="[" + "0.5, " * 20000 + "0]"))
        kept.check()
    assert kept.run_rows(key)[0]["number"] == 1
    filler.unlink()
    kept.save_run(row(key, 500))  # space again: it works
    assert 500 in [r["number"] for r in kept.run_rows(key)]


def test_a_read_only_data_folder_is_named(small_disk):
    kept = Store(data=small_disk)
    key = learner()
    kept.save_run(row(key, 1))
    kept.close()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    again = Store(data=small_disk)
    with pytest.raises(StoreUnavailable, match=r"cannot be written.*set CNNVIZ_DATA"):
        again.save_run(row(key, 2))
    with pytest.raises(StoreUnavailable, match="cannot be written"):
        again.check()


def test_a_postgresql_server_that_goes_away_is_named_and_its_rows_stay(pg_server):
    kept = Store(pg_server.url("goes_away"), data=pg_server.root / "files")
    key = learner()
    kept.save_run(row(key, 1))
    pg_server.stop()
    try:
        with pytest.raises(StoreUnavailable, match=r"does not answer.*start PostgreSQL again"):
            kept.save_run(row(key, 2))
    finally:
        pg_server.start()
    kept.save_run(row(key, 2))  # back: the same store reconnects by itself
    assert [r["number"] for r in kept.run_rows(key)] == [1, 2]


# --- runs kept through the manager ------------------------------------------------------------------


def fake_job(epochs: int = 3, dataset: str = "fake") -> TrainJob:
    return TrainJob(dataset, BLOCKS, training.TrainConfig(epochs=epochs), title="kept")


def wait(predicate, timeout: float = 180.0):  # generous: a spawned worker starts slowly on a busy machine
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)
    return value


def manager_on(store: Store) -> RunManager:
    manager = RunManager(max_active=1, spares=0, time_limit_s=60, grace_s=1, target=fake_jobs.run, warm=(), store=store)
    assert manager.wait_until_open(30)
    return manager


def test_runs_are_kept_and_listed_by_a_new_manager_with_their_curves_and_files(store):
    key = learner()
    first = manager_on(store)
    try:
        run = first.submit(key, fake_job(3))
        wait(lambda: first.get(run.id, key).done)
        assert run.state == RunState.DONE
        wait(lambda: not first.journal.dirty(run.id))
    finally:
        first.shutdown()
    assert (store.data / "runs" / run.id / "model.keras").exists()  # a store's files outlive the manager
    second = manager_on(store)
    try:
        (back,) = second.runs_for(key)
        assert back.id == run.id and back.number == 1 and back.state == RunState.DONE
        assert [e["epoch"] for e in back.epochs] == [1, 2, 3] and len(back.batches) == 12
        assert [epoch for epoch, _ in back.checkpoints] == [1, 2, 3]
        assert back.model_path == str(store.data / "runs" / run.id / "model.keras")
        assert back.evaluation == {"test_accuracy": 0.5} and back.job == run.job
        assert second.runs_for(learner()) == []  # nobody else sees it
        assert second.submit(key, fake_job(1)).number == 2  # numbers go on
    finally:
        second.shutdown()


SIGKILLED = """
import sys, time
sys.path.insert(0, {root!r})
from cnnviz.runs import RunManager
from cnnviz.store import Store
from tests import fake_jobs
from tests.test_store import fake_job
store = Store({url!r}, data={data!r})
manager = RunManager(max_active=1, spares=0, time_limit_s=600, target=fake_jobs.run, warm=(), store=store)
manager.wait_until_open(30)
done = manager.submit({key!r}, fake_job(1))
while not manager.get(done.id, {key!r}).done:
    time.sleep(0.02)
long = manager.submit({key!r}, fake_job(400))
while len(manager.get(long.id, {key!r}).checkpoints) < 4 or manager.journal.dirty(long.id):  # epochs 0-3
    time.sleep(0.02)
print("ready", flush=True)
time.sleep(600)
"""


def test_a_server_killed_mid_run_keeps_finished_runs_and_the_interrupted_one_continues(store, monkeypatch):
    monkeypatch.setattr(fake_jobs, "EPOCH_S", 0.05)
    key = learner()
    script = SIGKILLED.format(root=str(ROOT), url=store.url, data=str(store.data), key=key)
    server = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE, cwd=ROOT)
    try:
        assert server.stdout.readline().strip() == b"ready"
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(30)
    manager = manager_on(store)
    try:
        finished, interrupted = manager.runs_for(key)  # at once: the killed server's process is gone
        assert finished.state == RunState.DONE and finished.model_path
        assert interrupted.state == RunState.INTERRUPTED
        kept = max(epoch for epoch, _ in interrupted.checkpoints)
        assert kept >= 3 and f"Interrupted at epoch {kept}" in interrupted.message
        assert store.run_rows(key)[1]["state"] == "interrupted"  # written down for every server
        again = manager.resume(interrupted.id, key)
        assert again.id == interrupted.id and again.number == 2 and again.job.initial_epoch == kept
        wait(lambda: len(manager.get(again.id, key).epochs) > kept + 2)
        epochs = [e["epoch"] for e in manager.get(again.id, key).epochs]
        assert epochs[: kept + 3] == list(range(1, kept + 4))  # the curve goes on where it was
        manager.stop(again.id, key)
        wait(lambda: manager.get(again.id, key).done)
        with pytest.raises(InvalidInput, match="was not interrupted"):
            manager.resume(again.id, key)
    finally:
        manager.shutdown()


def test_deleting_a_run_and_all_of_a_learners_work(store):
    key, other = learner(), learner()
    manager = manager_on(store)
    try:
        runs = [manager.submit(key, fake_job(1)) for _ in range(2)]
        theirs = manager.submit(other, fake_job(1))
        wait(lambda: all(manager.get(r.id, r.owner).done for r in [*runs, theirs]))
        store.put_state(key, "settings:trainer", {"epochs": "3"})
        assert manager.delete(runs[0].id, other) is False  # not theirs
        assert manager.delete(runs[0].id, key) is True
        assert [r.id for r in manager.runs_for(key)] == [runs[1].id]
        assert not (store.data / "runs" / runs[0].id).exists()
        long = manager.submit(key, fake_job(400))
        wait(lambda: manager.get(long.id, key).epochs)
        assert manager.delete_owner(key) >= 2
        assert manager.runs_for(key) == [] and store.get_state(key, "settings:trainer") is None

        def let_go() -> bool:  # the stopped run's row never comes back, until the manager lets the run go
            assert store.run_rows(key) == []
            return long.done and manager.get(long.id, key) is None and not (store.data / "runs" / long.id).exists()

        wait(let_go)
        assert [r.id for r in manager.runs_for(other)] == [theirs.id]  # nobody else's work is touched
    finally:
        manager.shutdown()


def test_a_store_that_fails_mid_run_keeps_the_run_training_and_writes_it_once_back(pg_server):
    kept = Store(pg_server.url("mid_run"), data=pg_server.root / "mid_run")
    key = learner()
    manager = manager_on(kept)
    try:
        run = manager.submit(key, fake_job(400))
        wait(lambda: run.epochs)
        pg_server.stop()
        try:
            wait(lambda: manager.store_problem, 30)
            assert "does not answer" in manager.store_problem
            assert not run.done  # training goes on
            assert [r.id for r in manager.runs_for(key)] == [run.id]  # and the page still lists it
        finally:
            pg_server.start()
        manager.stop(run.id, key)
        wait(lambda: run.done)
        wait(lambda: not manager.store_problem and not manager.journal.dirty(run.id), 30)
        (row_kept,) = kept.run_rows(key)
        assert row_kept["state"] == "stopped" and row_kept["epochs"] != "[]"
    finally:
        manager.shutdown()
