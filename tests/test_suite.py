"""The suite's own bookkeeping: what tests/conftest.py marks slow still exists, so a renamed test does not
slip into the inner loop (`python -m pytest -m "not browser and not slow"`) unnoticed."""

import ast
from pathlib import Path

import pytest

from tests.conftest import SLOW, slow_reason

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
