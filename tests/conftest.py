"""Shared fixtures: a free port and a running app for browser tests, and TensorFlow on demand."""

from __future__ import annotations

import collections
import os
import tempfile
from pathlib import Path

import pytest

from harness.browser import CHROMIUM_ARGS, prepare_context, start_app, suite_browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"

# No warm spare worker in the tests' servers and AppTests: a spare imports TensorFlow (about 6 s of
# CPU) for a run that most tests never start, and the suite made dozens. A run still starts a worker
# when it is submitted; tests/test_runs.py keeps its spares (RunManager(spares=1)) to test them.
os.environ.setdefault("CNNVIZ_SPARES", "0")
# The tests' servers and AppTests keep learners' work in a folder of their own, never in the user's home
# (~/.local/share/cnnviz): a fresh temporary folder per test process. Made here, in each process: xdist's
# workers inherit the environment of the process that starts them, and a folder made there was shared by
# both (two tests' made-up learners of the same name could see each other's saved settings). A CNNVIZ_DATA the
# caller set is used as it is.
if os.environ.get("CNNVIZ_DATA") in (None, os.environ.get("CNNVIZ_TEST_DATA")):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    os.environ["CNNVIZ_DATA"] = os.environ["CNNVIZ_TEST_DATA"] = tempfile.mkdtemp(prefix=f"cnnviz-test-data-{worker}-")


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
    executable = suite_browser()
    if not Path(executable).exists():
        if os.environ.get("CNNVIZ_REQUIRE_BROWSER"):
            pytest.fail(f"CNNVIZ_REQUIRE_BROWSER is set but {executable} is missing")
        pytest.skip(f"{executable} is missing (apt-get install chromium-headless-shell)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # A camera that shows Chromium's test pattern, allowed without asking (camera input tests).
        camera = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
        chromium = playwright.chromium.launch(executable_path=executable, args=[*CHROMIUM_ARGS, *camera], headless=True)
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


# --- running the suite on two processes (pytest-xdist: `-n 2 --dist loadfile` in pyproject.toml) ---
#
# Work is handed out a test module at a time, so a module's fixtures (a run manager, a trained model, a
# PostgreSQL cluster, two servers behind HAProxy) are built once, on one worker (session ones, the
# Streamlit server and Chromium, once per worker); and the two modules that start Ray
# (tests/fake_jobs.ray_cluster) go to the same worker, so only one local cluster starts.
SHARED_GROUPS = {"tests/test_runs.py": "ray", "tests/test_ray_runs.py": "ray"}


def group_of(nodeid: str) -> str:
    """The unit of work the test `nodeid` is handed out in: its module, or its SHARED_GROUPS name."""
    path = nodeid.split("::")[0]
    return SHARED_GROUPS.get(path, path)


def pytest_xdist_make_scheduler(config, log):
    """xdist's loadfile with SHARED_GROUPS. Not `--dist loadgroup` with xdist_group marks: with pytest
    9.2 those marks no longer reach the scheduler (xdist 3.8 renames the test ids to carry them, and
    pytest 9.2 ignores the rename: pytest-xdist issue 1386), so every test was a unit of its own and
    each worker built a module's fixtures, Ray included, for itself."""
    if config.getvalue("dist") != "loadfile":
        return None  # another --dist on the command line: xdist's own
    from xdist.scheduler import LoadFileScheduling

    class ModuleScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    return ModuleScheduling(config, log)


# --- the inner loop: `python -m pytest -m "not browser and not slow"` -------------------------------
#
# The slow tests, by module or by test (module::name, without parameters), and what makes them slow:
# real trainings, worker processes that import TensorFlow, a Ray cluster, servers. They run in CI and in
# the full suite; the inner loop leaves them out (and the browser tests, marked in their modules).
SLOW = {
    "tests/test_runs.py": "worker processes and a Ray cluster, Keras runs on both backends",
    "tests/test_replicas.py": "two servers behind HAProxy and a training run",
    "tests/test_random_walk.py": "walks every page for 100 steps",
    "tests/test_ray_runs.py::test_runs_hold_their_share_of_the_accelerator_while_they_train": "a Ray cluster",
    "tests/test_ray_runs.py::test_files_travel_as_bytes_both_ways": "a Ray cluster",
    "tests/test_training.py::test_short_run_learns_real_digits": "three epochs on MNIST",
    "tests/test_training.py::test_stop_keeps_what_was_learned": "trains on MNIST",
    "tests/test_training.py::test_divergence_stops_with_advice_naming_the_epoch_the_curves_end_at": "trains on MNIST",
    "tests/test_training.py::test_time_limit_and_target": "trains to a time limit and a target",
    "tests/test_training.py::test_checkpoints_every_epoch": "trains on MNIST",
    "tests/test_training.py::test_exported_script_runs_and_trains": "a script that imports TensorFlow and trains",
    "tests/test_training.py::test_command_line_trains_and_reports": "python -m cnnviz train, twice",
    "tests/test_training.py::test_a_worker_trains_a_transfer_job_and_a_second_one_fine_tunes_it": "two trainings",
    "tests/test_app.py::test_trainer_run_survives_reruns_and_finishes": "a training run",
    "tests/test_app.py::test_trainer_queued_run_shows_its_place_without_charts_then_trains": "two training runs",
    "tests/test_trainer_page.py::test_after_a_run_the_estimate_uses_its_speed_and_the_lists_pick_images": "a run",
    "tests/test_own_classes_page.py::test_three_uploaded_classes_train_and_predict": "a training run",
    "tests/test_own_classes_page.py::test_pictures_with_boxes_are_boxed_by_typing_and_train_two_heads": "a run",
    "tests/test_lessons.py::test_the_moved_digit_is_shown_to_the_dense_network_of_step_one_as_it_is": "a run",
    "tests/test_localize_page.py::test_a_box_run_from_the_trainer_to_where_is_it": "a training run",
    "tests/test_pretrained.py::test_mobilenet_from_a_weights_file_takes_pixels_and_explains": "builds MobileNetV2",
    "tests/test_transfer.py::test_an_imagenet_network_as_base_from_a_weights_file": "builds MobileNetV2",
    "tests/test_model_files.py::test_isolated_loading_loads_good_files_and_refuses_bad_ones": "two TF processes",
    "tests/test_model_files.py::test_isolated_loading_has_a_time_limit": "a process started and stopped",
    "tests/test_training.py::test_a_rising_validation_loss_is_overfitting_not_divergence": "30 epochs",
    "tests/test_training.py::test_validation_pictures_are_held_out_per_class": "trains",
    "tests/test_lab_page.py::test_every_lab_setting_can_be_fixed_or_hidden_and_still_applies": "the lab once a setting",
    "tests/test_cam.py::test_cams_reach_inside_a_nested_base_model": "builds and trains a nested network",
    "tests/test_receptive.py::test_imagenet_networks_known_answers": "builds ImageNet networks",
    "tests/test_models.py::test_residual_blocks_are_exported_as_the_app_builds_them": "builds ResNets",
    "tests/test_models.py::test_resnet34_is_the_tutorials": "builds ResNet-34",
    "tests/test_box_export.py::test_the_box_script_builds_box_models_network_and_trains": "a script that trains",
    "tests/test_box_model.py::test_a_short_run_through_the_workers_path": "a run in a worker",
    "tests/test_package.py::test_training_without_keras_names_the_extra_to_install": "a fresh interpreter",
    "tests/test_replicas_store.py": "two servers behind HAProxy, a store and a training run",
    "tests/test_store.py::test_runs_are_kept_and_listed_by_a_new_manager_with_their_curves_and_files": "runs",
    "tests/test_store.py::test_a_server_killed_mid_run_keeps_finished_runs_and_the_interrupted_one_continues": "runs",
    "tests/test_store.py::test_deleting_a_run_and_all_of_a_learners_work": "runs in workers",
    "tests/test_store.py::test_a_store_that_fails_mid_run_keeps_the_run_training_and_writes_it_once_back": "a run",
}


def slow_reason(nodeid: str) -> str | None:
    """Why the test `nodeid` is slow (its SLOW entry), or None."""
    path, _, name = nodeid.split("[")[0].partition("::")
    return SLOW.get(path) or SLOW.get(f"{path}::{name}")


def pytest_collection_modifyitems(config, items):
    groups = {}
    for item in items:
        groups[item] = group_of(item.nodeid)
        if slow_reason(item.nodeid):
            item.add_marker(pytest.mark.slow)
    # The long groups first: xdist hands groups out in this order (--no-loadscope-reorder; by default it
    # orders them by how many tests they have, and a slow group of two tests went last), each to the
    # process that is free, so the two finish together instead of one waiting on a long last group.
    # Long: a slow module, then the more slow tests the longer, then the browser ones; each group's
    # own order stays.
    whole, slow, browser = set(), collections.Counter(), set()
    for item in items:
        path = item.nodeid.split("::")[0]
        if path in SLOW:
            whole.add(groups[item])
        slow[groups[item]] += bool(item.get_closest_marker("slow"))
        if item.get_closest_marker("browser"):
            browser.add(groups[item])
    order = {item: index for index, item in enumerate(items)}
    items.sort(
        key=lambda item: (groups[item] not in whole, -slow[groups[item]], groups[item] not in browser, order[item])
    )
