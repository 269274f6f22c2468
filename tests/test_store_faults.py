"""The store's faults as the pages show them (AppTest): a damaged database file, a read-only or full
data folder, a PostgreSQL server that does not answer. The Trainer names the cause and what to do;
the lab and the lessons, which need no store, work as before; nothing kept is touched."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.store import Store
from tests.conftest import ROOT

TIMEOUT = 120


def fresh_caches() -> None:
    """The next page run builds the store and the run manager from the environment as it is now."""
    from app_support.common import kept
    from app_support.common.runs import kept_store, run_manager

    run_manager().shutdown()
    run_manager.clear()
    kept_store.clear()
    kept._checked["at"] = -1e9


def page(name: str) -> AppTest:
    """The app opened on page `name` (through app.py and its navigation, as a browser does)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def said(at: AppTest) -> str:
    return " ".join(box.value for box in [*at.warning, *at.error])


def mounted(folder, options: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return (
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True).returncode
        == 0
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=["damaged", "read-only", "full", "postgresql down"])
def fault(request, tmp_path, monkeypatch):
    """(the fault's words in the message, the folder whose files must stay as they were)"""
    data = tmp_path / "data"
    expected = {
        "damaged": "is not an SQLite database",
        "read-only": "cannot be written",
        "full": "is full",
        "postgresql down": "does not answer",
    }[request.param]
    if request.param == "damaged":
        data.mkdir()
        (data / "store.sqlite").write_bytes(b"not a database " * 1000)
    elif request.param in ("read-only", "full"):
        if not mounted(data, "size=2m"):
            pytest.skip("mounting a small tmpfs needs root")
        request.addfinalizer(lambda: subprocess.run(["umount", "-l", str(data)], check=False))
        kept = Store(data=data)
        kept.touch_learner("a" * 64)  # something kept before the fault
        kept.close()
        if request.param == "read-only":
            subprocess.run(["mount", "-o", "remount,ro", str(data)], check=True)
        else:
            with open(data / "filler", "wb") as handle, pytest.raises(OSError):
                while True:
                    handle.write(b"\0" * 65536)
                    handle.flush()
    else:
        data.mkdir()
        monkeypatch.setenv("CNNVIZ_DATABASE_URL", f"postgresql://cnnviz@127.0.0.1:{closed_port()}/cnnviz")
    monkeypatch.setenv("CNNVIZ_DATA", str(data))
    before = {path.name: path.read_bytes() for path in data.iterdir() if path.is_file() and path.name != "filler"}
    fresh_caches()
    yield expected, data, before
    fresh_caches()


def test_each_fault_is_named_on_the_trainer_and_the_lab_and_lessons_still_work(fault):
    expected, data, before = fault
    trainer = page("trainer")
    message = said(trainer)
    assert expected in message and "Whoever runs the server" in message, message
    assert trainer.button(key="trainer_train")  # training itself is still offered
    lab = page("convolution_lab")
    assert not said(lab) and "Convolution" in " ".join(t.value for t in lab.title)
    lessons = page("lessons")
    assert (
        not said(lessons) and "each lesson is a few short steps" in " ".join(m.value for m in lessons.markdown).lower()
    )
    after = {path.name: path.read_bytes() for path in data.iterdir() if path.name in before}
    assert after == before  # nothing kept was rewritten or removed
