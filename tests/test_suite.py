"""The suite's own bookkeeping: what tests/conftest.py marks slow still exists, so a renamed test does not
slip into the inner loop (`python -m pytest -m "not browser and not slow"`) unnoticed."""

import ast
import collections
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SLOW, group_of, slow_reason

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("entry", sorted(SLOW))
def test_every_slow_entry_names_a_test_module_or_test_that_exists(entry):
    path, _, name = entry.partition("::")
    module = ROOT / path
    assert module.is_file(), f"{path} is gone: update SLOW in tests/conftest.py"
    if name:
        tests = {node.name for node in ast.walk(ast.parse(module.read_text())) if isinstance(node, ast.FunctionDef)}
        assert name in tests, f"{path} has no {name}: update SLOW in tests/conftest.py"


def test_a_slow_entry_marks_its_tests_with_their_parameters_and_nothing_else():
    assert slow_reason("tests/test_runs.py::test_stop_within_two_seconds[local]")  # a whole module
    assert slow_reason("tests/test_training.py::test_checkpoints_every_epoch")
    assert slow_reason("tests/test_training.py::test_bad_settings_are_refused[epochs]") is None
    assert slow_reason("tests/test_ops.py::test_conv2d_known_answer") is None


def test_no_test_waits_a_fixed_time_in_the_browser():
    """A fixed wait is too short on a busy machine and too long on an idle one: wait for the event (an
    element, a text, `harness.browser.wait_until_idle`) instead."""
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("tests", "harness")
        for path in sorted((ROOT / folder).glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "wait_for_timeout(" in line and path.name != "test_suite.py"
    ]
    assert found == []


def test_the_suite_hands_out_a_test_module_at_a_time():
    """Two small modules on two processes, as the suite runs them (pyproject.toml's options): each module
    runs on one process (tests/conftest.py's scheduler). Grouping that breaks fails nothing else: it only
    builds every module's fixtures twice."""
    modules = ["tests/test_kernels.py", "tests/test_charts.py"]
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", "-n", "2", *modules],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
    workers = collections.defaultdict(set)
    for worker, module in re.findall(r"^\[(gw\d)\] .*? (tests/test_\w+\.py)::", ran.stdout, flags=re.M):
        workers[module].add(worker)
    assert sorted(workers) == sorted(modules), ran.stdout[-2000:]
    assert all(len(found) == 1 for found in workers.values()), dict(workers)


def test_the_two_ray_modules_are_one_unit_and_other_modules_their_own():
    assert group_of("tests/test_runs.py::test_stop_within_two_seconds[local]") == group_of(
        "tests/test_ray_runs.py::test_files_travel_as_bytes_both_ways"
    )
    assert group_of("tests/test_ops.py::test_conv2d_known_answer") == "tests/test_ops.py"
    assert group_of("cnnviz/ops.py::cnnviz.ops.conv2d") == "cnnviz/ops.py"


def test_each_test_process_keeps_learners_work_in_a_folder_of_its_own():
    """Not the folder of the process that started the workers (they inherit its environment): two
    processes' tests that make up a learner of the same name must not share what the store keeps."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or os.environ["CNNVIZ_DATA"] != os.environ.get("CNNVIZ_TEST_DATA"):
        pytest.skip("one process, or a CNNVIZ_DATA the caller chose")
    assert Path(os.environ["CNNVIZ_DATA"]).name.startswith(f"cnnviz-test-data-{worker}-")
