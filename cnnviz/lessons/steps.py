"""What a lesson is made of: a `Lesson` of `Step`s, each opening one page with its settings."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Step:
    """One step of a lesson: a few sentences, an instrument set up for them, something to try and a
    question that the instrument answers."""

    title: str
    page: str  # a key of PAGES
    settings: dict[str, str]  # the page's URL settings this step opens with (the rest keep defaults)
    text: str  # what the learner reads first (markdown, a few sentences)
    try_this: str  # what to do with the instrument
    question: str  # what the instrument answers
    answer: str  # shown on request, after the learner has looked
    focus: tuple[str, ...] = ()  # the settings this step is about: a teacher's link can lock the others


@dataclass(frozen=True)
class Lesson:
    """A lesson: its title, what it is about in a line, and its steps."""

    title: str
    summary: str
    minutes: int  # about how long a learner alone takes
    steps: tuple[Step, ...] = field(default_factory=tuple)


def lab(**settings: str) -> dict[str, str]:
    # Every lab step starts from the same known state, whatever the learner had chosen before.
    base = {"src": "sample", "view": "one", "size": "512"}
    return {**base, **settings}
