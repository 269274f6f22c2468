"""Shared fixtures: a free port and a running app for browser tests, and TensorFlow on demand."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from harness.browser import CHROMIUM, CHROMIUM_ARGS, prepare_context, start_app

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"

# No warm spare worker in the tests' servers and AppTests: a spare imports TensorFlow (about 6 s of
# CPU) for a run that most tests never start, and the suite made dozens. A run still starts a worker
# when it is submitted; tests/test_runs.py keeps its spares (RunManager(spares=1)) to test them.
os.environ.setdefault("CNNVIZ_SPARES", "0")
# The tests' servers and AppTests keep learners' work in a folder of their own, never in the user's home
# (~/.local/share/cnnviz): a fresh temporary folder per test process.
os.environ.setdefault("CNNVIZ_DATA", tempfile.mkdtemp(prefix="cnnviz-test-data-"))


@pytest.fixture(scope="session")
def tf():
    """TensorFlow, imported once and only by the tests that compare against it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow

    return tensorflow


@pytest.fixture(scope="session")
def tiny_model(tf):
    """A small Functional model for the model, CAM, feature and prediction tests, seeded (untrained):
    8x8x1 pixels -> rescale -> Conv2D(4, 3) 'conv' -> MaxPool 'pool' -> Flatten -> Dense(6) 'hidden' ->
    Dense(3, softmax) 'output'. Tests must not change it."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1), name="image")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(x)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Flatten(name="flat")(x)
    x = keras.layers.Dense(6, activation="relu", name="hidden")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="session")
def app_url():
    process, url = start_app()
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CNNVIZ_REQUIRE_BROWSER"):
            pytest.fail("CNNVIZ_REQUIRE_BROWSER is set but /usr/bin/chromium is missing")
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # A camera that shows Chromium's test pattern, allowed without asking (camera input tests).
        camera = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *camera], headless=True)
        # Every context a test opens waits as the suite does: a generous default deadline, and the
        # run counter that wait_until_idle reads (harness.browser.prepare_context).
        new_context = chromium.new_context
        chromium.new_context = lambda **options: prepare_context(new_context(**options))
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def as_a_running_server(monkeypatch):
    """AppTest sets Streamlit's pages/-folder flag again before every run, so every page's
    `run_through_navigation` reruns it and a button click is lost; a running server clears the flag
    once, at its first `st.navigation`. Do the same (as tests/walk.py does)."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def cleared(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", cleared)


# --- running the suite on two processes (pytest-xdist: `-n 2 --dist loadgroup` in pyproject.toml) ---
#
# Work is handed out a test module at a time, as `--dist loadfile` would, so a module's fixtures (a
# run manager, a trained model) are built once, on one worker (session ones, the Streamlit server and
# Chromium, once per worker); and the two modules that start Ray (tests/fake_jobs.ray_cluster) go to
# the same worker, so only one local cluster starts.
SHARED_GROUPS = {"tests/test_runs.py": "ray", "tests/test_ray_runs.py": "ray"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(SHARED_GROUPS.get(path, path)))
