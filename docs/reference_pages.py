"""MkDocs hook: one reference page per module of the library, and an index of them, made at build
time from the package's files, so a new module is documented without editing the docs.

The pages are `::: cnnviz.<module>` directives that mkdocstrings fills from the docstrings; the
index's one-line summaries are read with `ast`, so nothing here imports cnnviz (or TensorFlow).
"""

from __future__ import annotations

import ast
from pathlib import Path

from mkdocs.structure.files import File, Files

PACKAGE = Path(__file__).resolve().parent.parent / "cnnviz"
INTERNAL = {"__init__", "__main__", "migrations"}  # the package's door, the command line, database migrations


def modules() -> list[tuple[str, Path]]:
    """(name, source file) for each public module and subpackage of cnnviz, by name."""
    found = [(path.stem, path) for path in PACKAGE.glob("*.py")]
    found += [(path.parent.name, path) for path in PACKAGE.glob("*/__init__.py")]
    return sorted((name, path) for name, path in found if name not in INTERNAL and not name.startswith("_"))


def summary(path: Path) -> str:
    """The first sentence-paragraph of the module's docstring, on one line."""
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return " ".join(docstring.split("\n\n")[0].split())


def on_files(files: Files, config) -> Files:
    rows = []
    for name, path in modules():
        files.append(
            File.generated(
                config, f"reference/{name}.md", content=f"---\ntitle: cnnviz.{name}\n---\n\n::: cnnviz.{name}\n"
            )
        )
        rows.append(f"- [**cnnviz.{name}**]({name}.md): {summary(path)}")
    index = [
        "# Reference",
        "",
        "The library's modules, generated from their docstrings. `import cnnviz` imports none of them;",
        "each imports TensorFlow only where it needs it.",
        "",
        *rows,
        "",
    ]
    files.append(File.generated(config, "reference/index.md", content="\n".join(index)))
    return files
