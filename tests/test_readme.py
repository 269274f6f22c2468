"""The README for people: its notebook example runs as written, and what it and bench/README.md
link to exists (a file, or a heading of the page)."""

from __future__ import annotations

import doctest
import re

import pytest

from tests.conftest import ROOT

LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_the_notebook_example_runs_as_written():
    result = doctest.testfile(
        str(ROOT / "README.md"),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.failed == 0  # doctest printed what differed
    assert result.attempted >= 8


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", ["README.md", "bench/README.md", "deploy/README.md"])
def test_every_link_leads_somewhere(page):
    path = ROOT / page
    text = path.read_text()
    anchors = {slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}
    broken = []
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://")):
            continue
        file, _, anchor = target.partition("#")
        if not (path.parent / file).exists() if file else anchor not in anchors:
            broken.append(target)
    assert broken == []
