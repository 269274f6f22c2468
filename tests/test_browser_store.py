"""Learners' work kept, in a real Chromium against a server of its own (its own data folder): a run
outlives its tab and a reload, two browsers see nothing of each other's, a made-up learner id sees
nothing, and a server killed with SIGKILL mid-run comes back with the finished run intact and the
interrupted one listed, which "Continue training" resumes from its last checkpoint."""

import re
import signal

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from harness.browser import free_port, start_app
from tests.browser_helpers import status_lines, wait_until_idle

pytestmark = pytest.mark.browser

# A quick run: a tiny dense network, one epoch on 60 scikit-learn digits per class.
QUICK = "/trainer?dataset=digits&per_class=60&preset=dense-only&aug=0&epochs=1"
# A long one (200 epochs of the digits' small CNN): still training when the test closes its tab and
# kills its server, whatever the machine's load.
LONG = "/trainer?dataset=digits&per_class=60&preset=mnist-fast&epochs=200"
STATUS = re.compile(r"Run (\d+): [^\n]*?(Training|Starting), epoch (\d+) of (\d+)")


def status_epoch(page, number: int) -> int:
    """The epoch the progress bar of run `number` shows (0 while it shows none)."""
    for found in STATUS.finditer(page.inner_text("body")):
        if int(found.group(1)) == number:
            return int(found.group(3))
    return 0


def wait_for_epoch(page, number: int, at_least: int, timeout: float = 240_000) -> int:
    try:
        page.wait_for_function(
            """([n, k]) => [...document.body.innerText.matchAll(/Run (\\d+): [^\\n]*?Training, epoch (\\d+) of/g)]
                .some(x => +x[1] === n && +x[2] >= k)""",
            arg=[number, at_least],
            timeout=timeout,
        )
    except PlaywrightTimeout:
        said = status_lines(page)
        raise AssertionError(f"run {number} never showed epoch {at_least}; the page said {said}") from None
    return status_epoch(page, number)


def wait_for_status(page, pattern: str, timeout: float = 120_000) -> None:
    """Wait for a status line that matches `pattern`; when it never comes, say what the page said."""
    try:
        page.get_by_text(re.compile(pattern)).first.wait_for(timeout=timeout)
    except PlaywrightTimeout:
        said = status_lines(page)
        raise AssertionError(f"no status matched {pattern!r}; the page said {said}") from None


def open_trainer(page, url: str, address: str = QUICK) -> None:
    page.goto(url + address)
    page.locator("h1", has_text="Trainer").wait_for(timeout=90_000)
    page.get_by_text("5. Your work").wait_for(timeout=90_000)
    wait_until_idle(page, 60_000)


def show_run(page, number: int) -> None:
    """Choose run `number` in the runs panel's list."""
    wait_until_idle(page, 60_000)
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Run").last
    box.scroll_into_view_if_needed()
    box.click()
    page.get_by_role("option", name=re.compile(rf"^Run {number}\b")).click()
    wait_until_idle(page, 60_000)


def train(page) -> None:
    page.get_by_role("button", name="Train", exact=True).click()
    wait_until_idle(page, 60_000)


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A server of this test's own, on a data folder of its own; `restart` kills it with SIGKILL and
    starts it again on the same folder."""
    monkeypatch.setenv("CNNVIZ_DATA", str(tmp_path / "data"))
    # One worker kept warm: it imports TensorFlow while the pages load, so neither the first Train nor
    # Continue training after the restart waits for a cold import (the rest of the suite runs none).
    monkeypatch.setenv("CNNVIZ_SPARES", "1")
    state = {}

    def start():
        state["process"], state["url"] = start_app(port=state.get("port") or free_port())
        state["port"] = int(state["url"].rsplit(":", 1)[1])
        return state["url"]

    def restart():
        state["process"].send_signal(signal.SIGKILL)
        state["process"].wait(30)
        return start()

    start()
    yield state, restart
    state["process"].terminate()
    state["process"].wait(30)


def test_runs_outlive_the_tab_stay_private_and_a_killed_server_continues_them(browser, server, artifacts):
    state, restart = server
    url = state["url"]
    learner = browser.new_context(viewport={"width": 1440, "height": 900})
    page = learner.new_page()

    # A short run that finishes, then a long one.
    open_trainer(page, url)
    train(page)
    wait_for_status(page, r"Run 1: [^\n]*Finished", 300_000)  # a worker starts first
    open_trainer(page, url, LONG)
    train(page)
    first = wait_for_epoch(page, 2, 2)

    # Close the tab and open a new one: the run is still training and its curve goes on.
    page.close()
    page = learner.new_page()
    open_trainer(page, url, LONG)
    later = wait_for_epoch(page, 2, first + 1)
    assert later > first
    curve = page.locator(".js-plotly-plot").filter(has_text="Loss").first
    curve.wait_for(timeout=30_000)
    # The picture shows the growing curve, not the page's top. In one step in the page: the chart is
    # redrawn every second while the run trains, and a located element can be gone before it scrolls.
    page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot')]
            .find(chart => chart.innerText.includes('Loss'))?.scrollIntoView({ block: 'center' })"""
    )
    page.screenshot(path=artifacts / "store_new_tab_1440.png")

    # Another browser sees nothing of it; nor does a made-up learner id, nor a value that is no id.
    strangers = []
    for cookie in (None, "A" * 43, "not-an-id"):
        other = browser.new_context(viewport={"width": 1024, "height": 640})
        if cookie:
            other.add_cookies([{"name": "cnnviz_learner", "value": cookie, "url": url}])
        stranger = other.new_page()
        stranger.goto(url + QUICK)  # the three open at once; the server draws them side by side
        strangers.append((cookie, other, stranger))
    for cookie, other, stranger in strangers:
        stranger.get_by_text("No runs yet: press Train.").wait_for(timeout=120_000)
        assert "Run 1" not in stranger.inner_text("body")
        given = {c["name"]: c["value"] for c in other.cookies()}.get("cnnviz_learner")
        if cookie == "not-an-id":  # replaced by a fresh id, never kept
            stranger.wait_for_function("() => /cnnviz_learner=[A-Za-z0-9_-]{43}/.test(document.cookie)")
        elif cookie:
            assert given == cookie
        other.close()

    # The server is killed mid-run and started again on the same data folder.
    interrupted_at = wait_for_epoch(page, 2, later + 1)
    url = restart()
    open_trainer(page, url, LONG)
    show_run(page, 1)  # the finished run, intact: its results
    wait_for_status(page, r"Run 1: [^\n]*Finished", 60_000)
    page.get_by_text("Test accuracy").first.wait_for(timeout=60_000)
    show_run(page, 2)
    notice = page.get_by_text(re.compile(r"Interrupted at epoch (\d+)")).first
    notice.wait_for(timeout=60_000)
    kept = int(re.search(r"Interrupted at epoch (\d+)", notice.inner_text()).group(1))
    assert kept >= interrupted_at - 1  # at most the epoch in progress is lost
    page.screenshot(path=artifacts / "store_interrupted_1440.png")
    page.get_by_role("button", name="Continue training").click()
    assert wait_for_epoch(page, 2, kept + 1) > kept  # it goes on from its checkpoint, not from the start
    page.get_by_role("button", name="Stop", exact=True).click()
    wait_for_status(page, r"Run 2: [^\n]*Stopped")
    learner.close()
