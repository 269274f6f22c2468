"""The app in a browser: start `streamlit run` on a free loopback port, and drive Debian's Chromium
(Playwright, `executable_path=CHROMIUM`) through Streamlit's pages."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
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
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, url
        except OSError:
            time.sleep(0.05)
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


def wait_for_new_image(page, prefix: str, previous: str, timeout: float = 15_000) -> str:
    page.wait_for_function(
        f"([p, old]) => {{ const s = ({IMAGE_SRC})(p); return s && s !== old; }}",
        arg=[prefix, previous],
        timeout=timeout,
    )
    return image_src(page, prefix)


def wait_until_idle(page, timeout: float = 20_000) -> None:
    """Wait for Streamlit's script run to finish (the 'running' indicator gone)."""
    page.wait_for_timeout(150)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`."""
    wait_until_idle(page)
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.scroll_into_view_if_needed()
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def draw_stroke(page, start: tuple[int, int], end: tuple[int, int]) -> None:
    canvas = page.locator("canvas").last
    box = canvas.bounding_box()
    x0, y0 = box["x"] + start[0], box["y"] + start[1]
    page.mouse.move(x0, y0)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(x0 + (end[0] - start[0]) * step / 20, y0 + (end[1] - start[1]) * step / 20)
    page.mouse.up()
