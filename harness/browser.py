"""The app in a browser: start `streamlit run` on a free loopback port, and drive Debian's Chromium
(Playwright, `executable_path=CHROMIUM`) through Streamlit's pages."""

from __future__ import annotations

import itertools
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"  # Debian's browser, as learners run it: the benchmarks and screenshots
# The suite's browser: Debian's headless build of the same Chromium (package chromium-headless-shell; the
# same Blink, V8 and Skia, without the desktop browser around them), which Playwright also uses for its
# headless runs. Chromium took most of the suite's CPU, and on the shell the whole suite takes about a
# tenth less time (its browser, GPU and utility processes do less; the pages' renderers do the same work).
# CNNVIZ_TEST_BROWSER names another (/usr/bin/chromium to run the suite in the full browser).
HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"


def suite_browser() -> str:
    """The Chromium the tests drive: CNNVIZ_TEST_BROWSER, else the headless shell when it is installed,
    else the full browser."""
    chosen = os.environ.get("CNNVIZ_TEST_BROWSER")
    if chosen:
        return chosen
    return HEADLESS_SHELL if Path(HEADLESS_SHELL).exists() else CHROMIUM


# How long a test waits for something the app does (a script run, a picture, a page) before it fails.
# A wait ends as soon as its event happens, so a long deadline costs time only when something is
# broken, while a short one fails a correct app on a busy machine (the suite runs two processes, each
# with a server, a browser and TensorFlow, on 2 cores that other work shares).
WAIT_MS = 120_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    # Streamlit's live refresh runs on page timers: keep them running in an unfocused test page.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(script: str = "app.py", *, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """Start `streamlit run` on a free loopback port; return the process and its URL once it answers."""
    port = port or free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.headless=true",
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--browser.gatherUsageStats=false",
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, url
        except OSError:
            time.sleep(0.05)
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited (code {process.returncode}) before it answered on port {port}")
    process.kill()
    raise RuntimeError(f"streamlit did not start on port {port}")


# The src of the image whose caption starts with `prefix`, or '' while there is none.
IMAGE_SRC = """prefix => {
    for (const figure of document.querySelectorAll('[data-testid="stImage"]')) {
        const caption = figure.innerText || '';
        const img = figure.querySelector('img');
        if (img && caption.trim().startsWith(prefix) && img.complete && img.naturalWidth > 0) return img.src;
    }
    return '';
}"""


def image_src(page, prefix: str) -> str:
    return page.evaluate(IMAGE_SRC, prefix)


def wait_for_new_image(page, prefix: str, previous: str, timeout: float = WAIT_MS) -> str:
    page.wait_for_function(
        f"([p, old]) => {{ const s = ({IMAGE_SRC})(p); return s && s !== old; }}",
        arg=[prefix, previous],
        timeout=timeout,
    )
    return image_src(page, prefix)


# Run before the app's own scripts (`prepare_context`): counts, on the app's websocket, the runs the
# page asks for and the runs the server finishes, so a test can wait for the run its click asked for.
# Streamlit's messages are protobuf (streamlit/proto): BackMsg field 11 is `rerun_script`, ForwardMsg
# field 6 is `script_finished` (a varint: 2 means ended early because another run was asked for).
TRACK_RUNS = """(() => {
    if (window.__cnnvizRuns) return;
    const runs = (window.__cnnvizRuns = { asked: 0, settled: 0 });
    const field = (bytes, wanted) => {  // a top-level field's varint value (or length), or undefined
        let i = 0;
        const varint = () => {
            let value = 0, scale = 1, byte;
            do {
                byte = bytes[i++];
                value += (byte & 0x7f) * scale;
                scale *= 128;
            } while (byte & 0x80 && i < bytes.length);
            return value;
        };
        while (i < bytes.length) {
            const key = varint(), number = Math.floor(key / 8), type = key & 7;
            if (type === 0) { const value = varint(); if (number === wanted) return value; }
            else if (type === 2) { const length = varint(); if (number === wanted) return length; i += length; }
            else if (type === 1) i += 8;
            else if (type === 5) i += 4;
            else return undefined;
        }
        return undefined;
    };
    const bytesOf = data => data instanceof ArrayBuffer ? new Uint8Array(data)
        : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
        constructor(...args) {
            super(...args);
            this.addEventListener("message", event => {
                const bytes = bytesOf(event.data);
                const status = bytes && field(bytes, 6);
                if (status !== undefined && status !== null && status !== 2) runs.settled = runs.asked;
            });
        }
        send(data) {
            const bytes = bytesOf(data);
            if (bytes && field(bytes, 11) !== undefined) runs.asked += 1;
            return super.send(data);
        }
    };
})();"""

# Idle: Streamlit's app element says the script is not running (its own `data-test-script-state`)
# and, where TRACK_RUNS is installed, every run the page asked for has finished.
IDLE = """() => {
    const app = document.querySelector('[data-testid="stApp"]'), runs = window.__cnnvizRuns;
    return !!app && app.dataset.testScriptState === "notRunning" && app.dataset.testConnectionState === "CONNECTED"
        && (!runs || runs.settled >= runs.asked);
}"""
NEXT_FRAME = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


def prepare_context(context, *, timeout: float = WAIT_MS):
    """Give a browser context the suite's waits: `timeout` for every Playwright action and wait that
    names none, and the run counter `wait_until_idle` reads. Returns the context."""
    context.set_default_timeout(timeout)
    context.add_init_script(TRACK_RUNS)
    return context


def status_lines(page) -> list[str]:
    """The page's run status lines ("Run 2: ...") and errors: what a test that timed out waiting for a
    run says the page showed instead."""
    return [line for line in page.inner_text("body").splitlines() if re.match(r"Run \d+:|.*(Error|error)", line)]


def wait_until_idle(page, timeout: float = WAIT_MS) -> None:
    """Wait until Streamlit has finished every script run the page asked for, then for the page to
    paint. A click, a chosen option or an Enter asks at once, so this waits for its run; a change sent
    later (an upload, a component's value) is not asked for yet: wait for what it changes first."""
    page.evaluate(NEXT_FRAME)  # the click's handlers have sent their message
    page.wait_for_function(IDLE, timeout=timeout)
    page.evaluate(NEXT_FRAME)  # the finished run is on the screen


# Every Plotly chart drawn at the width of its box (a resized window redraws them a moment later).
CHARTS_FIT = """() => [...document.querySelectorAll(".js-plotly-plot")].every(plot => {
    const width = plot.getBoundingClientRect().width;
    return !plot._fullLayout || width === 0 || Math.abs(plot._fullLayout.width - width) < 2;
})"""


def settle_layout(page, timeout: float = WAIT_MS) -> None:
    """After the window is resized, before a screenshot: every chart redrawn at its new width, painted."""
    page.wait_for_function(CHARTS_FIT, timeout=timeout)
    page.evaluate(NEXT_FRAME)


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`."""
    wait_until_idle(page)
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.scroll_into_view_if_needed()
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def settled_box(page, locator, *, tries: int = 30) -> dict:
    """`locator`'s bounding box once two reads two painted frames apart agree: just after a rerun the
    canvas can still be moving or remounting, and strokes aimed at its old place miss it."""
    box = locator.bounding_box()
    for _ in range(tries):
        page.evaluate(NEXT_FRAME)
        again = locator.bounding_box()
        if again is not None and again == box:
            break
        box = again
    if box is None:
        raise TimeoutError("the canvas is not on the page")  # add_drawings tries again
    return box


# How many bright pixels the drawable canvas (its lower, painted layer) holds.
INK = """canvas => {
    const painted = canvas.parentElement.querySelector('canvas.lower-canvas') || canvas;
    const data = painted.getContext('2d').getImageData(0, 0, painted.width, painted.height).data;
    let ink = 0;
    for (let i = 0; i < data.length; i += 4) ink += data[i] > 128;
    return ink;
}"""


def draw_path(page, points: list[tuple[float, float]], *, tries: int = 5) -> None:
    """One stroke through `points` (canvas pixels) on the last canvas of the page, as a hand moves the
    mouse, made again until the canvas shows more ink: a press that comes with the pointer's first
    moves into the canvas can be dropped while the component mounts its toolbar."""
    canvas = page.locator("canvas").last
    canvas.scroll_into_view_if_needed()
    before = canvas.evaluate(INK)
    for _ in range(tries):
        box = settled_box(page, canvas)
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.evaluate(NEXT_FRAME)
        page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
        page.mouse.down()
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            for step in range(1, 16):
                page.mouse.move(box["x"] + x0 + (x1 - x0) * step / 15, box["y"] + y0 + (y1 - y0) * step / 15)
        page.mouse.up()
        page.evaluate(NEXT_FRAME)
        if canvas.evaluate(INK) > before:
            return
    raise TimeoutError(f"{tries} strokes through {points[:3]}... left no ink on the canvas")


def draw_stroke(page, start: tuple[int, int], end: tuple[int, int]) -> None:
    """One straight stroke on the last canvas of the page, from `start` to `end` (canvas pixels)."""
    draw_path(page, [start, end])
