"""Lessons in a real Chromium: from the Lessons page into a step, a step's link opened cold, Next, and a
teacher's locked link (on a fresh browser context: nothing in it but the link)."""

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
    page.get_by_text("Tutorial horizontal", exact=False).first.wait_for()
    wait_until_idle(page, timeout=30_000)
    page.screenshot(path=artifacts / "lesson_step.png")

    banner.get_by_role("button", name="Next step").click()
    page.wait_for_url("**step=2**")
    banner.get_by_text("Three kernels, three pictures").wait_for()
    page.wait_for_function("() => /kernel=tutorial(\\+|%20)vertical/.test(location.search)")


@pytest.mark.parametrize(
    ("lesson_id", "index", "expect"),
    [("by-hand", 3, "512x512 → 512x512 → 256x256"), ("filters-pooling", 1, "342x512 → 336x506")],
)
def test_a_step_link_opens_the_same_view_on_a_fresh_browser(browser, app_url, lesson_id, index, expect):
    context = browser.new_context(viewport={"width": 1024, "height": 640})
    page = context.new_page()
    try:
        page.goto(f"{app_url}/{lessons.step_link(lesson_id, index)}")
        page.locator(".st-key-lesson_banner").get_by_text(lessons.step(lesson_id, index).title).wait_for()
        page.get_by_text(expect).first.wait_for(timeout=30_000)
    finally:
        context.close()


def test_a_locked_link_disables_and_hides_what_it_says(browser, app_url, artifacts):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{app_url}/{lessons.step_link('by-hand', 3, fixed=('pool',), hidden=('pad',))}")
        page.get_by_text("Your teacher's link sets some controls").wait_for(timeout=30_000)
        wait_until_idle(page, timeout=30_000)
        pooling = page.locator('[data-testid="stSelectbox"]').filter(has_text="Pooling").first
        assert pooling.locator("input").is_disabled()
        kernel = page.locator('[data-testid="stSelectbox"]').filter(has_text="Kernel").first
        assert not kernel.locator("input").is_disabled()
        assert page.locator('[data-testid="stSelectbox"]').filter(has_text="Padding").count() == 0
        assert page.locator('[data-testid="stRadio"]').filter(has_text="Padding").count() == 0
        page.screenshot(path=artifacts / "lesson_locked.png")
    finally:
        context.close()
