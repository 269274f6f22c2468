"""What did it learn? in a real Chromium: a click on a unit of the feature map moves its receptive
field on the input; a run trained in the Trainer, then its embedding scrubbed through the epochs.
Screenshots at 1440x900 and 1024x640 (the projector) land in artifacts/ for a person to look at."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser_helpers import choose, image_src, settle_layout, wait_for_new_image, wait_until_idle

pytestmark = pytest.mark.browser

CLICKABLE = "img.cnv-clickable"  # app_support/common/component/clickable.js
WINDOW = "its receptive field:"
EMBEDDING = re.compile(r"test images after epoch (\d+)")


def open_learned(context, app_url, query: str = ""):
    page = context.new_page()
    page.goto(app_url + "/learned" + query)
    page.get_by_text("Prediction:").first.wait_for()
    wait_for_new_image(page, WINDOW, "")
    wait_until_idle(page)
    return page


def click_unit(page, row: int, col: int, side: int) -> None:
    """Click the middle of unit (row, col) of the `side` x `side` feature map, wherever it was drawn."""
    page.locator(CLICKABLE).first.scroll_into_view_if_needed()
    image = page.locator(CLICKABLE).first
    box = image.bounding_box()
    image.click(position={"x": (col + 0.5) * box["width"] / side, "y": (row + 0.5) * box["height"] / side})


def test_click_a_unit_and_its_window_moves(browser, app_url, artifacts):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = open_learned(context, app_url)
    page.screenshot(path=artifacts / "learned_first_screen_1440.png")
    before = image_src(page, WINDOW)
    page.get_by_text(f"{WINDOW} rows 10-17, columns 10-17").wait_for()  # conv2's centre unit (5, 5)
    click_unit(page, 2, 8, 11)  # conv2 is 11x11; unit (2, 8) sees rows 4-11, columns 16-23
    page.get_by_text(f"{WINDOW} rows 4-11, columns 16-23").wait_for()
    assert wait_for_new_image(page, WINDOW, before) != before
    # The keyboard path follows the click, and the link remembers it.
    assert page.get_by_label(re.compile(r"^Row")).input_value() == "2"
    page.wait_for_function("() => location.search.includes('row=2') && location.search.includes('col=8')")
    wait_until_idle(page)
    page.locator(CLICKABLE).first.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "learned_unit_clicked_1440.png")
    page.set_viewport_size({"width": 1024, "height": 640})
    settle_layout(page)
    page.screenshot(path=artifacts / "learned_unit_clicked_1024.png")
    context.close()


def test_train_a_run_then_scrub_its_embedding(browser, app_url, artifacts):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(app_url + "/trainer")
    page.locator("h1", has_text="Trainer").wait_for()
    choose(page, "Dataset", "Digits (scikit-learn, 8x8 scaled up)")
    page.get_by_text("1,438 train and 359 test images").wait_for()
    wait_until_idle(page)
    epochs = page.locator('[data-testid="stNumberInput"]').filter(has_text="Epochs").locator("input")
    epochs.fill("2")
    epochs.press("Enter")
    page.get_by_text(re.compile(r"Estimated time: about [\d.]+ (s|min) for 2 epoch")).wait_for()
    wait_until_idle(page)
    page.get_by_test_id("stBaseButton-primary").filter(has_text="Train").click()
    page.get_by_text(re.compile(r"Finished\. Trained 2 epochs")).wait_for(timeout=180_000)

    page.get_by_role("link", name="What did it learn?").click()  # in the same session: the run is there
    page.get_by_text("What did it learn?", exact=True).first.wait_for()
    choose(page, "Model", "Run 1: mnist-fast on digits (yours)")
    wait_until_idle(page)
    page.get_by_role("radio", name="Embedding").click()
    caption = page.get_by_text(EMBEDDING)
    caption.wait_for()
    assert EMBEDDING.search(caption.inner_text()).group(1) == "2"
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length === 1")
    wait_until_idle(page)
    first_x = "() => String(document.querySelector('.js-plotly-plot')._fullData[0].x[0])"
    last = page.evaluate(first_x)
    assert last not in ("undefined", "null"), last
    page.screenshot(path=artifacts / "learned_embedding_epoch2_1440.png")

    thumb = page.locator('[data-testid="stSlider"]').filter(has_text="Epoch").get_by_role("slider")
    thumb.focus()
    thumb.press("ArrowLeft")
    page.get_by_text(re.compile(r"test images after epoch 1")).wait_for()
    wait_until_idle(page)
    assert page.evaluate(first_x) != last  # the same image, where epoch 1's features put it
    page.screenshot(path=artifacts / "learned_embedding_epoch1_1440.png")
    page.set_viewport_size({"width": 1024, "height": 640})
    settle_layout(page)
    page.screenshot(path=artifacts / "learned_embedding_epoch1_1024.png")
    context.close()


def test_click_a_point_of_the_embedding_to_see_its_image(browser, app_url, artifacts):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(app_url + "/learned?view=embedding")
    page.get_by_text("misclassified (crosses)").first.wait_for()
    wait_until_idle(page)
    chart = page.locator(".js-plotly-plot").first
    chart.scroll_into_view_if_needed()
    # The mistake that lies farthest from any other point (a click there can only mean it), where Plotly
    # drew it, and which test image it is.
    where = chart.evaluate(
        """p => {
            const x = p._fullLayout.xaxis, y = p._fullLayout.yaxis;
            const at = (t, i) => [x._offset + x.l2p(t.x[i]), y._offset + y.l2p(t.y[i])];
            const all = p._fullData.flatMap(t => Array.from(t.x, (_, i) => at(t, i)));
            const d = p._fullData.find(t => t.name === 'misclassified');
            let best = null, room = -1;
            for (let i = 0; i < d.x.length; i++) {
                const [px, py] = at(d, i);
                const near = Math.min(...all.map(([qx, qy]) => Math.hypot(qx - px, qy - py) || Infinity));
                if (near > room) { room = near; best = [px, py, ...d.customdata[i]]; }
            }
            return best;
        }"""
    )
    box = chart.bounding_box()
    page.mouse.move(box["x"] + where[0], box["y"] + where[1])
    chart.locator(".hoverlayer .hovertext").filter(has_text=f"test #{where[2]}:").wait_for()  # Plotly picked it
    page.mouse.click(box["x"] + where[0], box["y"] + where[1])
    picked, label, predicted = where[2:]  # the point's test image: its picture and number are shown
    assert label != predicted
    page.get_by_text(f"test #{picked}: labelled {label}, predicted {predicted}").wait_for()
    wait_until_idle(page)  # until the run ends, the input of the run before can stand beside the new one
    expect(page.get_by_label("Test image", exact=True)).to_have_value(str(picked))  # the keyboard path follows
    page.wait_for_function(f"() => location.search.includes('image={picked}')")  # and the link
    wait_until_idle(page)
    page.screenshot(path=artifacts / "learned_embedding_point_clicked_1440.png")
    context.close()
