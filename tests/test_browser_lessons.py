"""Lessons in a real Chromium: from the Lessons page into a step, a step's link opened cold, Next, and a
teacher's locked link (on a fresh browser context: nothing in it but the link)."""

import re
from urllib.parse import urlencode

import pytest

from cnnviz import lessons
from tests.browser_helpers import wait_until_idle

pytestmark = pytest.mark.browser


def test_start_a_lesson_and_walk_on(page, app_url, artifacts):
    page.goto(app_url + "/lessons")
    page.locator("h1", has_text="Lessons").wait_for()
    page.locator(".st-key-lesson_card_by-hand").get_by_text("Start").click()
    page.wait_for_url("**/convolution_lab?lesson=by-hand&step=1**")
    banner = page.locator(".st-key-lesson_banner")
    banner.get_by_text("A kernel is nine numbers").wait_for()
    page.locator("text=Tutorial horizontal >> visible=true").first.wait_for()  # the kernel shown, not a list entry
    wait_until_idle(page)
    page.screenshot(path=artifacts / "lesson_step.png")

    banner.get_by_role("button", name="Next step").click()
    page.wait_for_url("**step=2**")
    banner.get_by_text("Three kernels, three pictures").wait_for()
    page.wait_for_function("() => /kernel=tutorial(\\+|%20)vertical/.test(location.search)")


@pytest.mark.parametrize(
    ("lesson_id", "index", "expect"),
    [("by-hand", 3, ("512x512", "512x512", "256x256")), ("filters-pooling", 1, ("342x512", "336x506"))],
)
def test_a_step_link_opens_the_same_view_on_a_fresh_browser(browser, app_url, lesson_id, index, expect):
    context = browser.new_context(viewport={"width": 1024, "height": 640})
    page = context.new_page()
    try:
        page.goto(f"{app_url}/{lessons.step_link(lesson_id, index)}")
        page.locator(".st-key-lesson_banner").get_by_text(lessons.step(lesson_id, index).title).wait_for()
        # The shapes: arrows in the server's lab, '->' in the lab the browser computes.
        chain = re.compile(r"\s*(?:→|->)\s*".join(map(re.escape, expect)))
        page.get_by_text(chain).first.wait_for(timeout=60_000)
    finally:
        context.close()


def test_a_locked_link_disables_and_hides_what_it_says(browser, app_url, artifacts):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{app_url}/{lessons.step_link('by-hand', 3, fixed=('pool',), hidden=('pad',))}")
        page.get_by_text("Your teacher's link sets some controls").wait_for()
        wait_until_idle(page)
        # The lab computed in the browser draws these controls itself (app_support/lab/component).
        page.locator('select[aria-label="Pooling"]').wait_for(timeout=30_000)
        assert page.locator('select[aria-label="Pooling"]').is_disabled()
        assert not page.locator('select[aria-label="Kernel"]').is_disabled()
        assert not page.locator('select[aria-label="Padding"]').is_visible()  # hidden: not drawn
        page.screenshot(path=artifacts / "lesson_locked.png")
    finally:
        context.close()


BANNER = ".st-key-lesson_banner"


def plain(text: str) -> str:
    """The start of a step's text as the page shows it: up to its first markdown mark."""
    return text.split("*")[0].split("`")[0][:40].strip()


def expander_open(page, label: str) -> bool:
    """Whether the lesson box's expander labelled `label` is open (its <details> element)."""
    details = page.locator(f'{BANNER} [data-testid="stExpander"]').filter(has_text=label).locator("details")
    return details.evaluate("d => d.open")


def open_cold(browser, link: str, *, width: int = 1440, height: int = 900):
    """A fresh browser context (nothing kept from another test) on a step's link, the lesson box drawn."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(link)
    page.locator(BANNER).wait_for(timeout=60_000)
    wait_until_idle(page, timeout=60_000)
    return context, page


@pytest.mark.parametrize("projector", [False, True])
def test_every_step_opens_with_its_answer_closed(browser, app_url, artifacts, projector):
    width, height = (1024, 640) if projector else (1440, 900)
    context, page = open_cold(
        browser, f"{app_url}/{lessons.step_link('by-hand', 1, projector=projector)}", width=width, height=height
    )
    try:
        banner = page.locator(BANNER)
        if projector:  # the step's text and the answer apart: opening one does not open the other
            banner.get_by_text("The step's text and what to try").click()
            banner.get_by_text(plain(lessons.step("by-hand", 1).try_this)).wait_for()
            assert not expander_open(page, "Answer (look first)")
        banner.get_by_text("Answer (look first)").click()
        banner.get_by_text(plain(lessons.step("by-hand", 1).answer)).wait_for()
        assert expander_open(page, "Answer (look first)")
        page.screenshot(path=artifacts / f"lesson_answer_open_{width}.png")
        banner.get_by_role("button", name="Next step").click()
        banner.get_by_text(lessons.step("by-hand", 2).title).wait_for(timeout=30_000)
        wait_until_idle(page, timeout=30_000)
        assert not expander_open(page, "Answer (look first)")  # the next step's answer stays hidden
        assert not banner.get_by_text(plain(lessons.step("by-hand", 2).answer)).is_visible()
        if projector:
            assert not expander_open(page, "The step's text and what to try")
        page.screenshot(path=artifacts / f"lesson_next_answer_closed_{width}.png")
    finally:
        context.close()


def test_the_back_button_takes_one_press_per_step(page, app_url):
    """A page that rewrote the step's address on arrival left two history entries per step."""
    page.goto(app_url + "/lessons")
    page.locator("h1", has_text="Lessons").wait_for()
    page.locator(".st-key-lesson_card_filters-pooling").get_by_text("Start").click()
    banner = page.locator(BANNER)
    banner.get_by_text(lessons.step("filters-pooling", 0).title).wait_for(timeout=60_000)
    wait_until_idle(page, timeout=60_000)
    entries = page.evaluate("history.length")
    for index in (1, 2):
        banner.get_by_role("button", name="Next step").click()
        banner.get_by_text(lessons.step("filters-pooling", index).title).wait_for(timeout=60_000)
        wait_until_idle(page, timeout=60_000)
    assert page.evaluate("history.length") == entries + 2  # one entry per step
    page.go_back()
    banner.get_by_text(lessons.step("filters-pooling", 1).title).wait_for(timeout=30_000)
    page.wait_for_url("**step=2**")
    page.go_back()
    banner.get_by_text(lessons.step("filters-pooling", 0).title).wait_for(timeout=30_000)
    page.wait_for_url("**step=1**")


def sidebar_to(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    page.locator("h1", has_text=title).wait_for(timeout=60_000)
    wait_until_idle(page, timeout=60_000)


def test_a_teachers_locks_and_the_lesson_box_hold_through_next_back_the_sidebar_and_a_reload(
    browser, app_url, artifacts
):
    link = f"{app_url}/{lessons.step_link('by-hand', 0, fixed=('sample',))}"
    context, page = open_cold(browser, link, width=1024, height=640)
    banner = page.locator(BANNER)

    def locked() -> bool:
        sample = page.locator('[data-testid="stSelectbox"]').filter(has_text="Sample").first.locator("input")
        source = page.locator('[data-testid="stRadio"]').filter(has_text="Image from").first.locator("input").first
        return sample.is_disabled() and source.is_disabled()

    try:
        assert locked()
        banner.get_by_role("button", name="Next step").click()
        page.wait_for_url("**step=2**fix=sample**")
        wait_until_idle(page, timeout=30_000)
        assert locked()
        banner.get_by_role("button", name="Back").click()
        page.wait_for_url("**step=1**fix=sample**")
        wait_until_idle(page, timeout=30_000)
        assert locked()
        sidebar_to(page, "Trainer")
        assert page.locator(BANNER).count() == 0
        sidebar_to(page, "Convolution lab")
        banner.get_by_text(lessons.step("by-hand", 0).title).wait_for(timeout=30_000)
        page.wait_for_function("() => /lesson=by-hand/.test(location.search) && /step=1/.test(location.search)")
        page.wait_for_function("() => /fix=sample/.test(location.search)")
        assert locked()
        assert "fixed: Sample" in banner.inner_text()  # the label the page shows, not the URL name
        page.screenshot(path=artifacts / "lesson_locks_after_sidebar_1024.png")
        page.reload()  # a new session on the same address: the locks are in it
        banner.get_by_text(lessons.step("by-hand", 0).title).wait_for(timeout=60_000)
        wait_until_idle(page, timeout=60_000)
        assert locked()
    finally:
        context.close()


CHART_BOXES = """p => {
    const box = s => { const e = p.querySelector(s); if (!e) return null; const r = e.getBoundingClientRect();
                       return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
    const sizes = s => [...p.querySelectorAll(s)].map(e => parseFloat(getComputedStyle(e).fontSize));
    return {figure: box('.main-svg'), title: box('.gtitle'), xtitle: box('.g-xtitle'), legend: box('.legend'),
            legend_text_box: [...p.querySelectorAll('.legendtext')].map(e => e.getBoundingClientRect().right),
            modebar: box('.modebar'),
            ticks: sizes('.xtick text').concat(sizes('.ytick text')), legend_text: sizes('.legendtext'),
            colours: [...p.querySelectorAll('.scatterlayer .trace .js-line')].map(e => e.style.stroke)};
}"""


def overlap(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def font_sizes(page, selector: str) -> list[float]:
    return page.locator(selector).evaluate_all("els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")


def test_on_a_projector_every_number_is_18_px_and_nothing_overlaps(browser, app_url, artifacts):
    """Lesson 3 step 1 on a 1024x640 projector: the parameter table, the captions, the comparison and its
    charts, read from the back of a room (one epoch each, to be quick)."""
    query = {**lessons.step_query("why-convolution", 0, projector=True), "epochs": "1"}
    context, page = open_cold(browser, f"{app_url}/trainer?{urlencode(query)}", width=1024, height=640)
    try:
        page.get_by_text("parameters in all").first.wait_for(timeout=60_000)
        page.locator('[data-testid="stTable"] td').first.wait_for(timeout=60_000)
        wait_until_idle(page, timeout=60_000)
        assert min(font_sizes(page, f"{BANNER} p")) >= 18
        assert min(font_sizes(page, '[data-testid="stTable"] td')) >= 18  # the parameter table
        caption = page.get_by_text("parameters in all").first
        assert float(caption.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 18
        opacity = caption.evaluate("e => getComputedStyle(e.closest('[data-testid=stCaptionContainer]')).opacity")
        assert float(opacity) == 1  # not Streamlit's faint grey
        caption.scroll_into_view_if_needed()
        page.screenshot(path=artifacts / "projector_parameters_1024.png")

        page.get_by_role("button", name="Train both").click()
        compare = page.locator(".js-plotly-plot").filter(has_text="Compare runs: accuracy")
        compare.wait_for(timeout=300_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.js-plotly-plot')].filter(p => /Compare runs: accuracy/"
            ".test(p.textContent)).some(p => p.querySelectorAll('.scatterlayer .trace').length == 2)",
            timeout=300_000,
        )
        wait_until_idle(page, timeout=60_000)
        compare.scroll_into_view_if_needed()
        page.screenshot(path=artifacts / "projector_compare_1024.png")
        for chart in (compare, page.locator(".js-plotly-plot").filter(has_text="Accuracy").first):
            found = chart.evaluate(CHART_BOXES)
            assert min(found["ticks"]) >= 18 and min(found["legend_text"]) >= 18, found
            assert not overlap(found["title"], found["modebar"]), found  # the buttons do not cover the title
            assert not overlap(found["xtitle"], found["legend"]), found  # "epoch" clear of the legend
            assert max(found["legend_text_box"]) <= found["figure"]["right"], found  # the names whole
        colours = compare.evaluate(CHART_BOXES)["colours"]
        assert len(colours) == 2 and colours[0] != colours[1]
        assert min(font_sizes(page, '[data-testid="stTable"] td')) >= 18  # the comparison table too
    finally:
        context.close()
