"""Our Components v2 modules (the live lab, the live chart, the clickable picture, the box drawer) under
the orders in which Streamlit calls them and runs their cleanups, in Chromium.

Streamlit runs a call's cleanup when the element leaves the page, and also when newer data arrived while
the call was starting (its module still loading): the element stays, and the next call comes just after
the cleanup, or a moment later. The lab removed itself at once and left its elements behind, so the next
call built a second lab beside them (CI: two kernel lists on the lab page, `strict mode violation`).
Each module is called on <div>s of its own: the lab's as the page imported it (from the file route),
the others imported again from their text. Then the lab's files are made to fail as a lost connection
would: the page says so (never 'Computing…' for ever) and loads them at the next change."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser_helpers import choose

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
COMMON = ROOT / "app_support" / "common" / "component"
PIXEL = "data:image/gif;base64,R0lGODlhAQABAAAAACw="

# Imports the module at `url` (or `source` as a new module), then calls it on a new <div> in three orders:
# "at once": the next call comes before the overtaken call's cleanup has done anything;
# "later": it comes after a task (the cleanup has run); "first": it comes before the overtaken call's
# cleanup is run; "gone": the element leaves (no next call).
# Returns how many views (`selector`) each order left in its <div>, and how many labs the page lists.
PLAY = """async ({source, url, data, selector}) => {
    const module = await import(url || URL.createObjectURL(new Blob([source], {type: "text/javascript"})));
    const task = () => new Promise((resolve) => setTimeout(resolve, 20));
    const registry = () => (window.__cnnvizLab ? window.__cnnvizLab.labs.size : 0);
    const before = registry();
    const found = {};
    for (const order of ["at once", "later", "first", "gone"]) {
        const host = document.createElement("div");
        document.body.append(host);
        const call = () => module.default({name: "x", key: "x", data, parentElement: host, setStateValue: () => {}});
        const overtaken = call();
        let current = order === "first" ? call() : null;
        if (overtaken) overtaken();
        if (order === "later") await task();
        if (order === "at once" || order === "later") current = call();
        await task();
        found[order] = host.querySelectorAll(selector).length;
        found[order + ", labs"] = registry() - before;
        if (current) current();
        await task();
        found[order + ", after it left"] = host.querySelectorAll(selector).length;
        found[order + ", labs after it left"] = registry() - before;
        host.remove();
    }
    return found;
}"""

EXPECTED = {
    "at once": 1,
    "later": 1,
    "first": 1,
    "gone": 0,
    "at once, after it left": 0,
    "later, after it left": 0,
    "first, after it left": 0,
    "gone, after it left": 0,
}


def play(page, data, selector: str, *, source: str = "", url: str = "") -> dict:
    return page.evaluate(PLAY, {"source": source, "url": url, "data": data, "selector": selector})


def test_the_lab_called_again_while_it_started_is_one_lab(page, app_url):
    page.goto(f"{app_url}/convolution_lab")
    page.wait_for_function("() => window.__cnnvizLab && [...window.__cnnvizLab.labs][0]?.result", timeout=60_000)
    data = page.evaluate("() => [...window.__cnnvizLab.labs][0].data")
    served = page.evaluate("() => window.__cnnvizLab.module")
    assert served.startswith(app_url + "/component/") and served.endswith("/lab.js")  # from the file route
    found = play(page, data, ".cnv-lab", url=served)
    orders = ("at once", "later", "first", "gone")
    labs = {order: found.pop(f"{order}, labs") for order in orders}
    left = {order: found.pop(f"{order}, labs after it left") for order in orders}
    assert found == EXPECTED
    assert labs == {"at once": 1, "later": 1, "first": 1, "gone": 0}
    assert left == dict.fromkeys(orders, 0)
    assert page.locator('select[aria-label="Kernel"]').count() == 1  # the page's own lab, untouched


@pytest.mark.parametrize(
    ("script", "data", "selector"),
    [
        ("clickable.js", {"src": PIXEL}, "img.cnv-clickable"),
        ("boxdraw.js", {"src": PIXEL}, "img"),
        ("livechart.js", {"figure": {"data": [], "layout": {"height": 100}}, "src": "/nowhere.js"}, ".cnv-live-chart"),
    ],
)
def test_a_picture_or_chart_called_again_while_it_started_is_one_view(page, app_url, script, data, selector):
    page.goto(f"{app_url}/_stcore/health")
    found = play(page, data, selector, source=(COMMON / script).read_text())
    assert {order: n for order, n in found.items() if "labs" not in order} == EXPECTED


# --- the lab's code served as files: what the learner sees when a file does not arrive -------------------

LAB = "[...window.__cnnvizLab.labs][0]"


def open_lab_without(page, app_url: str, name: str):
    """Open the lab with the file `name` (lab.js, arith.js, worker.js) failing as a lost connection would."""
    page.route(f"**/{name}", lambda route: route.abort())
    page.goto(f"{app_url}/convolution_lab")


def load_error(page):
    """The note a lab that could not load stands in for, once it is shown."""
    note = page.locator(".cnv-load-error")
    note.wait_for(timeout=60_000)
    return note


def test_a_lab_whose_code_did_not_load_says_so_and_loads_it_at_the_next_change(page, app_url):
    open_lab_without(page, app_url, "lab.js")
    assert "reload the page" in load_error(page).inner_text()
    page.unroute("**/lab.js")
    choose(page, "Working size", "256")  # new data for the lab: the loader tries again, under another URL
    page.wait_for_function(f"() => window.__cnnvizLab && {LAB}?.result?.stages[0].h === 256", timeout=60_000)
    assert page.locator(".cnv-load-error").count() == 0
    assert page.locator('select[aria-label="Kernel"]').count() == 1


def test_a_lab_whose_worker_did_not_load_says_so_instead_of_computing_for_ever(page, app_url):
    open_lab_without(page, app_url, "worker.js")
    page.wait_for_function(f"() => window.__cnnvizLab && {LAB}?.result", timeout=60_000)  # 3x3: on the page
    page.locator('select[aria-label="Kernel"]').select_option("vertical line 7x7")  # 12.7 million: the worker's
    error = page.locator(".cnv-error")
    error.wait_for()
    assert "did not load from the server" in error.inner_text()
    assert not page.evaluate(f"() => {LAB}.nodes.status.classList.contains('working')")


def test_a_lab_whose_arithmetic_did_not_load_says_so(page, app_url):
    open_lab_without(page, app_url, "arith.js")
    assert "did not load from the server" in load_error(page).inner_text()
    assert not page.locator('select[aria-label="Kernel"]').is_visible()  # no controls that do nothing
