"""The house's rooms (docs/architecture.md): a page imports its own room and `common`, never another
page's room; `common` imports no room; the library imports neither Streamlit nor the app side; and
neither side has an import circle. Imports inside functions count: a lazy import is still a door."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

# The page file -> the room it may use besides `common` (home uses `common` alone).
PAGE_ROOMS = {
    "home": None,
    "convolution_lab": "lab",
    "lessons": "lessons",
    "trainer": "trainer",
    "inside": "inside",
    "learned": "learned",
    "predict": "predict",
    "localize": "localize",
}
# Rooms that may use another room: own classes are a section of the Trainer.
ROOM_USES = {"trainer": {"own_classes"}}
ROOMS = {"common", "lab", "lessons", "trainer", "own_classes", "inside", "learned", "predict", "localize"}


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function, as a dotted name."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from app_support.lab import view` imports the module app_support.lab.view
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "app_support" and len(parts) > 1 else None


def test_every_room_is_listed_and_each_page_has_one():
    on_disk = {path.name for path in (ROOT / "app_support").iterdir() if (path / "__init__.py").exists()}
    assert on_disk == ROOMS
    assert {path.stem for path in (ROOT / "pages").glob("*.py")} == set(PAGE_ROOMS)
    loose = [path.name for path in (ROOT / "app_support").glob("*.py") if path.name != "__init__.py"]
    assert loose == [], "every app-side module lives in a room"


@pytest.mark.parametrize("page", sorted(PAGE_ROOMS))
def test_a_page_imports_its_own_room_and_common_only(page):
    allowed = {"common", PAGE_ROOMS[page]} - {None}
    used = {room_of(name) for name in imports(ROOT / "pages" / f"{page}.py")} - {None}
    assert used <= allowed, f"pages/{page}.py imports the rooms {sorted(used - allowed)}"


def test_a_room_imports_common_and_itself_only():
    wrong = []
    for path in (ROOT / "app_support").rglob("*.py"):
        room = room_of(module_name(path))
        if room is None:
            continue
        allowed = {room, "common"} | ROOM_USES.get(room, set())
        if room == "common":
            allowed = {"common"}
        allowed.add(None)  # the library, Streamlit, the standard library
        wrong += [(str(path.relative_to(ROOT)), name) for name in imports(path) if room_of(name) not in allowed]
    assert wrong == []


def test_the_library_imports_neither_streamlit_nor_the_app_side():
    wrong = [
        (str(path.relative_to(ROOT)), name)
        for path in (ROOT / "cnnviz").rglob("*.py")
        for name in imports(path)
        if name.split(".")[0] in {"streamlit", "app_support", "pages"}
    ]
    assert wrong == []


def _cycles(package: str) -> list[list[str]]:
    """Import circles among the modules of `package` (depth-first search over the import graph)."""
    paths = {module_name(path): path for path in (ROOT / package).rglob("*.py") if "data" not in path.parts}
    graph = {name: {other for other in imports(p) if other in paths and other != name} for name, p in paths.items()}
    # A package's __init__ is imported on the way to its modules: not a circle of the modules' own.
    graph = {name: {other for other in targets if not name.startswith(other + ".")} for name, targets in graph.items()}
    found, state = [], {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for other in sorted(graph[name]):
            if state.get(other) == "open":
                found.append([*trail[trail.index(other) :], other])
            elif other not in state:
                visit(other, [*trail, other])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return found


@pytest.mark.parametrize("package", ["app_support", "cnnviz"])
def test_no_import_circles(package):
    assert _cycles(package) == []


def test_the_circle_finder_finds_one(tmp_path, monkeypatch):
    """The checker itself: two modules that import each other are reported."""
    import tests.test_architecture as checker

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("def f():\n    from pkg import b\n")
    (tmp_path / "pkg" / "b.py").write_text("from pkg.a import f\n")
    monkeypatch.setattr(checker, "ROOT", tmp_path)
    assert checker._cycles("pkg") == [["pkg.a", "pkg.b", "pkg.a"]]
