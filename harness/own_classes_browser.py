"""Driving the Trainer's "your own classes" in Chromium as a person does (name classes, draw examples
with the mouse, train, draw a new one and read the answer): shared by the browser test and
bench/own_classes.py."""

from __future__ import annotations

import itertools
import time

from harness.browser import INK, NEXT_FRAME, WAIT_MS, choose, settled_box, wait_until_idle
from harness.drawn_shapes import strokes

OWN_LABEL = "Your own classes (draw, snap or upload)"


def open_own(page, url: str) -> None:
    page.goto(url + "/trainer")
    page.locator("h1", has_text="Trainer").wait_for(timeout=WAIT_MS)
    choose(page, "Dataset", OWN_LABEL)
    page.get_by_text("Add examples to").wait_for(timeout=WAIT_MS)
    wait_until_idle(page)


def keyed(page, key: str):
    """The element Streamlit drew for the widget with this key."""
    return page.locator(f".st-key-{key}")


def click(page, key: str) -> None:
    """Click the button with this key (a rerun can briefly show the old one beside the new)."""
    keyed(page, key).locator("button").first.click()


def type_into(page, key: str, text: str) -> None:
    box = keyed(page, key).locator("input")
    box.fill(text)
    box.press("Enter")
    wait_until_idle(page)


def name_classes(page, names: list[str]) -> None:
    """Rename the two starting classes and add the rest."""
    for index, name in enumerate(names[:2]):
        type_into(page, f"own_name_{index}", name)
    for name in names[2:]:
        keyed(page, "own_new_name").locator("input").fill(name)
        click(page, "own_add_class")
        wait_until_idle(page)
        keyed(page, f"own_name_{names.index(name)}").wait_for()


def _stroke(page, box, line, *, release: bool = True) -> None:
    page.mouse.move(box["x"] + line[0][0], box["y"] + line[0][1])
    page.mouse.down()
    for (x0, y0), (x1, y1) in itertools.pairwise(line):
        for step in range(1, 4):
            page.mouse.move(box["x"] + x0 + (x1 - x0) * step / 3, box["y"] + y0 + (y1 - y0) * step / 3)
    if release:
        page.mouse.up()


def draw(page, lines, *, canvas) -> None:
    """Draw polylines (canvas pixels) on `canvas` (a locator), each as one mouse stroke."""
    canvas.scroll_into_view_if_needed()
    box = settled_box(page, canvas)
    # In through the middle first, as a hand comes in: a press that arrives with the pointer's first
    # move into the canvas's frame can be dropped (the sixth circle's first stroke was, every time).
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.evaluate(NEXT_FRAME)  # the move has reached the canvas's frame
    for line in lines:
        _stroke(page, box, line)


def build_canvas(page):
    return keyed(page, "own_draw_box").locator("canvas").first


def count_of(page, index: int) -> str:
    return keyed(page, f"own_count_{index}").inner_text().replace("\xa0", " ")  # kept on one line by no-break spaces


def runs_asked(page) -> int | None:
    """How many script runs the page has asked for (harness.browser.TRACK_RUNS), None without the counter."""
    return page.evaluate("() => window.__cnnvizRuns ? window.__cnnvizRuns.asked : null")


def add_drawings(page, shape: str, index: int, count: int, rng) -> None:
    """Draw `count` examples of `shape` and add each to class number `index` (0-based), chosen first."""
    choose(page, "Add examples to", shape)
    wait_until_idle(page)
    for _ in range(count):
        before = count_of(page, index)
        # A blank canvas, mounted (after an example is added a fresh one replaces the old).
        page.get_by_text("Draw one example with the mouse").wait_for(timeout=WAIT_MS)
        lines = strokes(shape, rng)
        for attempt in range(4):  # a stroke made while a loaded machine is still mounting the canvas is lost
            wait_until_idle(page)  # no run under way that could move or remount the canvas
            build_canvas(page).wait_for(timeout=WAIT_MS)
            asked = runs_asked(page)
            try:
                draw(page, lines, canvas=build_canvas(page))
                if asked is not None:
                    # The canvas sends its drawing when the mouse is let go and the page asks for a run
                    # at once: none asked within 10 s (the browser's own work, not the server's) means
                    # the strokes were lost. Without the counter, the picture below says it.
                    page.wait_for_function("n => window.__cnnvizRuns.asked > n", arg=asked, timeout=10_000)
                page.get_by_text("The network gets this").wait_for(timeout=WAIT_MS)
                break
            except Exception:
                if attempt == 3:
                    raise
        wait_until_idle(page)
        click(page, "own_add_drawing")
        page.wait_for_function(
            "([key, old]) => { const e = document.querySelector('.st-key-' + key); return e && e.innerText !== old; }",
            arg=[f"own_count_{index}", before],
            timeout=WAIT_MS,
        )
        wait_until_idle(page)


def train(page, *, timeout_s: float = 180, phases: dict | None = None) -> float:
    """Press Train; seconds until the live test is ready (its canvas drawn). `phases`, when given,
    gets the seconds until the run's progress bar and its 'Finished' message showed."""
    started = time.monotonic()
    click(page, "own_train")
    if phases is not None:
        page.locator('[data-testid="stProgress"]').first.wait_for(timeout=timeout_s * 1000)
        phases["training shown"] = time.monotonic() - started
        page.get_by_text("Finished").first.wait_for(timeout=timeout_s * 1000)
        phases["finished shown"] = time.monotonic() - started
    page.get_by_text("Try it: draw a new one").wait_for(timeout=timeout_s * 1000)
    live_canvas(page).wait_for(timeout=WAIT_MS)
    return time.monotonic() - started


def live_canvas(page):
    return keyed(page, "own_live_box").locator("canvas").first


def answer(page) -> str:
    return keyed(page, "own_live_answer").inner_text().strip()


HEAT_SRC = """() => { const img = document.querySelector('.st-key-own_live_heat img');
    return img && img.complete && img.naturalWidth > 0 ? img.src : ''; }"""


def live_strokes(page, kind: str, rng):
    """`kind`'s strokes sized for the live canvas (smaller than the one examples are drawn on)."""
    box = live_canvas(page).bounding_box()
    return strokes(kind, rng, side=int(box["width"]))


def draw_and_read(page, lines) -> tuple[str, list[float]]:
    """Draw on the live canvas, stroke by stroke: (the answer shown at the end, for each stroke the
    milliseconds from its mouse-up until the heatmap and answer for the new drawing are on screen)."""
    canvas = live_canvas(page)
    canvas.scroll_into_view_if_needed()
    box = settled_box(page, canvas)
    times = []
    for line in lines:  # each stroke updates the answer: no button to press
        before, ink = page.evaluate(HEAT_SRC), canvas.evaluate(INK)
        for _ in range(5):  # a press that comes with the pointer's first moves into the canvas can be dropped
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.evaluate(NEXT_FRAME)
            _stroke(page, box, line, release=False)
            started = time.monotonic()
            page.mouse.up()
            page.evaluate(NEXT_FRAME)  # the stroke is painted on the canvas's frame after the release
            if canvas.evaluate(INK) > ink:
                break
        page.wait_for_function(f"old => ({HEAT_SRC})() !== old", arg=before, timeout=WAIT_MS, polling=10)
        times.append((time.monotonic() - started) * 1000)
    wait_until_idle(page)
    return answer(page), times


def clear_live(page) -> None:
    page.locator("[class*='st-key-own_live_'][class*='_clear'] button").first.click()
    wait_until_idle(page)
