"""The Trainer in a real Chromium: the block editor, a one-epoch run on digits, and a click on a
confusion-matrix cell that shows that cell's test images (at 1440x900 and 1024x640).

Screenshots land in artifacts/ for a person to look at.
"""

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser_helpers import choose, settle_layout, status_lines, wait_until_idle
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

CAPTION = '[data-testid="stCaptionContainer"]'  # under the grid of test images


def images_caption(page) -> str:
    """The caption of the misclassified-images picture ('' while there is none)."""
    found = page.locator(CAPTION).filter(has_text=re.compile(r"^\d+ test images? of "))
    return found.first.inner_text().strip() if found.count() else ""


def click_cell(page, true: int, predicted: int, classes: int) -> None:
    """Click the centre of the confusion-matrix cell (true, predicted) of a dataset whose classes are
    named by their numbers (digits)."""
    chart = page.locator(".js-plotly-plot").filter(has_text="Confusion matrix")
    chart.scroll_into_view_if_needed()
    area = chart.locator(".nsewdrag").first.bounding_box()  # the plotting area, between the axes
    x = area["x"] + area["width"] * (predicted + 0.5) / classes
    y = area["y"] + area["height"] * (true + 0.5) / classes
    page.mouse.move(x, y)  # Plotly picks the point under the pointer on hover, then the click selects it
    chart.locator(".hoverlayer .hovertext").filter(has_text=f"true {true}, predicted {predicted}").wait_for()
    page.mouse.click(x, y)


def selected(page, label: str) -> str:
    """The option shown in the selectbox labelled `label` (its combobox input's value)."""
    return page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first.locator("input").input_value()


def click_and_see(page, true: int, predicted: int, classes: int, pattern: str) -> None:
    """Click a cell once and wait for the images caption to match `pattern`. Once, not until it works:
    a first click that was lost (the chart kept the id of the fragment that drew it first) was the bug."""
    wait_until_idle(page)
    click_cell(page, true, predicted, classes)
    check = f"() => [...document.querySelectorAll('{CAPTION}')].some(f => /{pattern}/.test(f.innerText))"
    try:
        page.wait_for_function(check)
    except Exception:
        page.screenshot(path=ARTIFACTS / "trainer_click_missed.png", full_page=True)
        raise


def set_number(page, label: str, value: str) -> None:
    box = page.locator('[data-testid="stNumberInput"]').filter(has_text=label).locator("input")
    for _ in range(3):  # a rerun that lands while typing can reset the field: type again
        box.fill(value)
        box.press("Enter")
        wait_until_idle(page)  # the run the Enter asked for
        if box.input_value() == value:
            return
    assert box.input_value() == value


def test_trainer_editor_run_and_confusion_click(browser, app_url, artifacts):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(app_url + "/trainer")
    page.locator("h1", has_text="Trainer").wait_for()
    choose(page, "Dataset", "Digits (scikit-learn, 8x8 scaled up)")
    page.get_by_text("1,438 train and 359 test images").wait_for()  # not the stale MNIST page
    wait_until_idle(page)
    page.get_by_text("225,034 parameters in all.").wait_for()
    page.get_by_text(re.compile(r"Estimated time: about \d")).wait_for()
    editor = page.get_by_text("Start from a preset")
    editor.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "trainer_editor_1440.png")
    page.set_viewport_size({"width": 1024, "height": 640})
    editor.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "trainer_editor_1024.png")
    page.set_viewport_size({"width": 1440, "height": 900})

    # A bad value, then a good one: the message names the block, then the network is back.
    kernel = page.locator('[data-testid="stNumberInput"]').filter(has_text="kernel").nth(1).locator("input")
    kernel.fill("15")
    kernel.press("Enter")
    error = page.get_by_text("Block 3 (conv): a 15x15 kernel does not fit the 13x13 map")
    error.wait_for()
    wait_until_idle(page)
    error.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "trainer_editor_error_1440.png")
    kernel.fill("3")
    kernel.press("Enter")
    page.get_by_text("225,034 parameters in all.").wait_for()
    assert page.get_by_text("does not fit").count() == 0
    wait_until_idle(page)
    page.get_by_text("225,034 parameters in all.").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "trainer_editor_summary_1440.png")

    set_number(page, "Epochs", "1")
    page.get_by_text(re.compile(r"Estimated time: about [\d.]+ (s|min) for 1 epoch\(s\)")).wait_for()
    page.get_by_test_id("stBaseButton-primary").filter(has_text="Train").click()
    page.get_by_text("Test accuracy", exact=True).wait_for(timeout=300_000)  # a worker starts first
    page.get_by_text(re.compile(r"Finished\. Trained 1 epochs")).wait_for()
    page.get_by_text("Why can validation accuracy be above training accuracy").wait_for()
    wait_until_idle(page)
    page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].length >= 4")
    before = images_caption(page)
    assert re.match(r"\d+ test images? of \d predicted as \d", before), before  # the most frequent mistake

    # Every class is named on both axes of the confusion matrix.
    chart = page.locator(".js-plotly-plot").filter(has_text="Confusion matrix")
    ticks = chart.evaluate(
        "p => [p._fullLayout.xaxis._vals.map(v => v.text), p._fullLayout.yaxis._vals.map(v => v.text)]"
    )
    assert ticks[0] == [str(d) for d in range(10)] and sorted(ticks[1]) == [str(d) for d in range(10)], ticks

    click_and_see(page, 4, 4, 10, "test images? of 4 correctly")  # the diagonal: the 4s it got right
    wait_until_idle(page)
    after = images_caption(page)
    assert after != before and re.match(r"\d+ test images? of 4 correctly recognised", after), after
    # The lists follow the click: they are the way to choose without a mouse.
    assert selected(page, "True class") == "4" and selected(page, "Predicted as") == "4"
    chart.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "trainer_confusion_click_1440.png")

    # The other way: choose in a list, then click the same cell again.
    choose(page, "Predicted as", "9")
    page.wait_for_function(
        f"() => [...document.querySelectorAll('{CAPTION}')].some(f => /of 4 predicted as 9/.test(f.innerText))"
        f" || [...document.querySelectorAll('{CAPTION}')].some(c => /No test image of 4 was predicted as 9/"
        ".test(c.innerText))",
    )
    wait_until_idle(page)
    click_and_see(page, 4, 4, 10, "test images? of 4 correctly")
    wait_until_idle(page)
    page.set_viewport_size({"width": 1024, "height": 640})
    page.locator(".js-plotly-plot").filter(has_text="Confusion matrix").scroll_into_view_if_needed()
    settle_layout(page)
    page.screenshot(path=artifacts / "trainer_confusion_click_1024.png")
    # Back up to the settings: the estimate now comes from this run's measured speed.
    page.get_by_text(re.compile(r"from the speed Run 1 trained at on this server")).scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "trainer_estimate_after_run_1024.png")

    # "Train and compare with": the pair, side by side, lands under Compare runs (the help says so), in a
    # table that names each run and its data in full and fits the 1024-pixel projector.
    choose(page, "Train and compare with", "dense-only, from scratch")
    page.get_by_text(re.compile(r"Estimated time: about [\d.]+ (s|min) for both runs")).wait_for()
    page.get_by_role("button", name="Train both").click()
    # Until both have an epoch, the table shows what it showed (the latest runs with one, Run 1 among
    # them); then the pair, once each row's last column, the training time, is filled in.
    try:
        page.wait_for_function(  # a second worker starts (TensorFlow's import) and both train an epoch
            """() => { const t = [...document.querySelectorAll('[data-testid="stTable"]')]
                .find(t => t.innerText.includes('Run 3: dense-only on digits'));
                return t && t.innerText.includes('Run 2: mnist-fast on digits') && !t.innerText.includes('Run 1:')
                    && [...t.querySelectorAll('tbody tr')].every(r => / s$/.test(r.lastElementChild.innerText)); }""",
            timeout=600_000,
        )
    except PlaywrightTimeout:  # say what the page showed instead: the runs' states, the compared runs
        said = status_lines(page)
        tables = page.get_by_test_id("stTable").all_inner_texts()
        raise AssertionError(f"the pair never filled the table; the page said {said}, tables {tables}") from None
    table = page.get_by_test_id("stTable").filter(has_text="Run 3: dense-only on digits")
    wait_until_idle(page)
    rows = table.locator("tbody tr")
    assert rows.count() == 2 and "Run 2: mnist-fast on digits" in rows.nth(0).inner_text()
    assert "digits: 1,438 training, 359 test pictures" in rows.nth(1).inner_text()
    box = table.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 1024, box  # inside the window: nothing cut off
    assert table.evaluate("t => t.scrollWidth <= t.clientWidth + 1")  # and no sideways scrolling in it
    table.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "trainer_compare_pair_1024.png")
    context.close()


def test_a_lesson_link_opens_the_trainer_as_set_on_a_fresh_server(page, app_url):
    """What a lesson's link sets reaches a new browser session: a transfer base and the layer it learns
    from; a dense network with its side-by-side partner (and a teacher's lock on the partner)."""
    page.goto(f"{app_url}/trainer?dataset=shapes&base=shipped&from=conv2&per_class=30")
    page.get_by_text("This run trains 223,940 of 224,260 parameters").wait_for()
    assert selected(page, "Start from a trained network") == "The shipped MNIST model (digits)"
    assert selected(page, "Train the base from layer") == "conv2 on"
    page.goto(f"{app_url}/trainer?dataset=shapes&preset=dense-only&vs=mnist-cnn&fix=vs")
    page.get_by_role("button", name="Train both").wait_for()
    partner = page.locator('[data-testid="stSelectbox"]').filter(has_text="Train and compare with")
    assert partner.locator("input").input_value() == "mnist-cnn, from scratch"
    assert partner.locator("input").is_disabled()  # fixed by the link: shown, not changeable
