"""A seeded random walk over every widget of every page (issue 10): any widget, any allowed value, views
switched back and forth, bad text then good, pages left and come back to. The rules it checks and how
it drives AppTest like a browser are in tests/walk.py.

One fixed seed per page keeps CI reproducible. To explore:
    CNNVIZ_WALK_SEED=7 CNNVIZ_WALK_STEPS=400 python -m pytest tests/test_random_walk.py -k lab -s -n 0
"""

from __future__ import annotations

import os
import time

import pytest
from streamlit.testing.v1.util import patch_config_options

from tests import walk

SEEDS = {
    "home": 1010,
    "lab": 1011,
    "trainer": 1012,
    "inside": 1013,
    "predict": 1014,
    "lessons": 1015,
    "learned": 1016,
    "localize": 1017,
}
STEPS = int(os.environ.get("CNNVIZ_WALK_STEPS", "100"))
# Pages whose settings are promised to survive a trip to another page (the lab's URL settings, every
# page's widgets with persist_state="session"): there a lost setting fails the walk (rule 4).
KEEPS_SETTINGS = set(SEEDS)
TRAIN_SECONDS = 15  # a run started by the walk trains this long at most, on the server's own manager


def stop_training() -> None:
    """End whatever the walk started on the server's run manager (the Trainer's warm worker, runs it
    pressed Train for): the manager kills its processes, and the next test gets a fresh one."""
    from app_support.common.runs import run_manager

    manager = run_manager()
    manager.shutdown()
    run_manager.clear()
    assert not any(worker.process.is_alive() for worker in manager._workers)


@pytest.fixture
def browser_like(monkeypatch, tmp_path):
    """AppTest driven as a browser on an offline server; yields the set of pages the walk visits."""
    walk.install(monkeypatch, tmp_path)
    visited: set[str] = set()
    # The whole message, not the redacted one, in a failure report.
    with patch_config_options({"client.showErrorDetails": "full"}):
        yield visited
    if "trainer" in visited:
        stop_training()


@pytest.mark.parametrize("page", list(SEEDS))
def test_random_walk(page, browser_like, monkeypatch):
    if page == "trainer":
        from app_support.common.runs import run_manager

        monkeypatch.setattr(run_manager(), "time_limit_s", TRAIN_SECONDS)
    seed = int(os.environ.get("CNNVIZ_WALK_SEED", SEEDS[page]))
    keeps = page in KEEPS_SETTINGS or os.environ.get("CNNVIZ_WALK_KEEP") == "all"
    walker = walk.Walk(page, seed, STEPS, keeps_settings=keeps)
    started = time.perf_counter()
    try:
        walker.walk()
    finally:
        browser_like.update(walker.visited)
        took = time.perf_counter() - started
        slowest = [(round(t, 2), what) for t, what in sorted(walker.times, reverse=True)[:3]]
        print(f"\n{page}: {walker.now} steps in {took:.1f} s; slowest runs: {slowest}")
