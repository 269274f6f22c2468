"""The package (pyproject.toml): its dependency ranges admit the exact pins the app is tested with,
and the command line names the extra to install when training finds no Keras. CI (.ci/package)
builds the wheel and runs it from a fresh virtual environment."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from packaging.requirements import Requirement

from tests.conftest import ROOT


def pins() -> dict[str, str]:
    """requirements.txt as {name: version}."""
    found = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            found[requirement.name.lower()] = next(iter(requirement.specifier)).version
    return found


def test_every_dependency_range_admits_the_tested_pin():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    pinned = pins()
    refused = []
    for text in declared:
        requirement = Requirement(text)
        if requirement.name == "cnnviz":  # an extra naming another extra
            continue
        version = pinned.get(requirement.name.lower())
        if version is None or not requirement.specifier.contains(version):
            refused.append(f"{text} (requirements.txt: {version})")
    assert refused == []


def test_training_without_keras_names_the_extra_to_install():
    script = (
        "import sys; sys.modules['keras'] = None  # as if Keras were not installed\n"
        "from cnnviz.__main__ import main\n"
        "sys.exit(main(['train', '--dataset', 'digits']))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "error: train needs keras: pip install 'cnnviz[tensorflow]'" in result.stderr
