"""Inside the network in a real Chromium: clicking a channel tile enlarges that channel, three test
images get three predictions, heatmaps say which layer they use; screenshots at 1440x900 and
1024x640 (the projector) land in artifacts/ for a person to look at."""

import re

import pytest

from tests.browser_helpers import image_src, wait_for_new_image, wait_until_idle

pytestmark = pytest.mark.browser

GRID = "img.cnv-clickable"  # app_support/common/component/clickable.js
HOLDER = '[data-testid="stBidiComponentRegular"]'  # the element Streamlit mounts it in
CONV1 = {"side": 26, "channels": 32, "columns": 8, "gap": 1}  # the shipped model's conv1 and the grid's layout


def open_inside(browser, app_url, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(app_url + "/inside")
    page.get_by_text("Prediction:").first.wait_for()
    page.get_by_text(re.compile("every channel of conv1")).first.wait_for()
    wait_for_new_image(page, "test #0", "")
    wait_until_idle(page)
    return context, page


def click_tile(page, channel: int, *, grid: int = 0) -> None:
    """Click the middle of `channel`'s tile on the `grid`-th channel grid, wherever the browser put it."""
    image = page.locator(GRID).nth(grid)
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    side, gap, columns = CONV1["side"], CONV1["gap"], CONV1["columns"]
    rows = -(-CONV1["channels"] // columns)
    natural = (columns * (side + gap) - gap, rows * (side + gap) - gap)  # (width, height) of the grid
    row, col = divmod(channel, columns)
    x = (col * (side + gap) + side / 2) * box["width"] / natural[0]
    y = (row * (side + gap) + side / 2) * box["height"] / natural[1]
    image.click(position={"x": x, "y": y})


def enlarged_caption(page) -> str:
    return page.locator('[data-testid="stImage"]').filter(has_text="enlarged").first.inner_text()


def enlarged_sources(page) -> list[str]:
    """The src of every enlarged channel of the three-image view (captioned 'channel N')."""
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stImage"]')]
            .filter(f => /^channel \\d+$/.test((f.innerText || '').trim()))
            .map(f => f.querySelector('img').src)"""
    )


def test_clicking_a_channel_tile_enlarges_it(browser, app_url, artifacts):
    context, page = open_inside(browser, app_url, 1440, 900)
    page.screenshot(path=artifacts / "inside_first_screen_1440.png")
    before = image_src(page, "test #0")
    assert "channel 0 of conv1" in enlarged_caption(page)
    click_tile(page, 11)
    after = wait_for_new_image(page, "test #0", before)
    assert after != before
    page.get_by_text("channel 11 of conv1, enlarged").wait_for()
    assert page.get_by_label("Channel", exact=True).input_value() == "11"  # the fallback input follows the click
    wait_until_idle(page)
    page.locator(GRID).first.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "inside_tile_clicked_1440.png")

    # The keyboard path still works after a click, and a later click wins over it.
    field = page.get_by_label("Channel", exact=True)
    field.fill("5")
    field.press("Enter")
    typed = wait_for_new_image(page, "test #0", after)
    page.get_by_text("channel 5 of conv1, enlarged").wait_for()
    click_tile(page, 31)
    wait_for_new_image(page, "test #0", typed)
    page.get_by_text("channel 31 of conv1, enlarged").wait_for()
    context.close()


def test_three_images_and_the_heatmaps_at_projector_size(browser, app_url, artifacts):
    context, page = open_inside(browser, app_url, 1024, 640)
    page.screenshot(path=artifacts / "inside_first_screen_1024.png")
    picker = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Test images")
    for number in (1, 2):
        picker.click()
        page.get_by_role("option", name=re.compile(rf"^#{number}: ")).click()
        wait_until_idle(page)
    page.keyboard.press("Escape")
    page.get_by_text(re.compile(r"test #2 \(labelled \w+\): every channel of conv1")).wait_for()
    assert page.get_by_text("Prediction:").count() == 3
    wait_until_idle(page)
    before = enlarged_sources(page)
    assert len(before) == 3
    click_tile(page, 3, grid=2)  # a click on the third image's grid enlarges that channel for all three
    page.get_by_text("channel 3", exact=True).nth(2).wait_for()
    after = enlarged_sources(page)
    assert len(after) == 3 and all(new != old for new, old in zip(after, before, strict=True))
    page.locator(GRID).first.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "inside_three_images_1024.png")

    page.get_by_text("Heatmaps (why this class?)").click()
    wait_for_new_image(page, "Grad-CAM on conv2 (11x11)", "")
    page.get_by_text("blue: no evidence for the class").wait_for()
    wait_until_idle(page)
    page.get_by_text("blue: no evidence for the class").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "inside_heatmaps_1024.png")
    context.close()


def holder_and_picture_heights(page) -> list[tuple[float, float]]:
    """(height of the element holding it, picture height) of every channel grid, in CSS pixels."""
    return page.evaluate(
        """([grid, holder]) => [...document.querySelectorAll(grid)].map(image =>
            [image.closest(holder).getBoundingClientRect().height, image.getBoundingClientRect().height])""",
        [GRID, HOLDER],
    )


def test_test_images_added_one_at_a_time_keep_whole_grids_and_a_reload_keeps_them(browser, app_url, artifacts):
    """Each grid's element is as tall as its picture after every image added (grids in iframes
    used to keep their old height across a new layout, clipped or padded); the images and the
    channel are in the address, so a reload opens the same view."""
    context, page = open_inside(browser, app_url, 1440, 900)
    picker = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Test images")
    for number in (1, 2):
        picker.click()
        page.get_by_role("option", name=re.compile(rf"^#{number}: ")).click()
        page.keyboard.press("Escape")
        page.get_by_text(re.compile(rf"test #{number} \(labelled \w+\): every channel of conv1")).wait_for()
        wait_until_idle(page)
        # Every grid's picture has loaded in its new column.
        page.wait_for_function(
            """([selector, count]) => {
                const images = [...document.querySelectorAll(selector)];
                return images.length === count && images.every(image => image.complete && image.naturalWidth > 0);
            }""",
            arg=[GRID, number + 1],
        )
        heights = holder_and_picture_heights(page)
        assert len(heights) == number + 1 and all(h > 100 and abs(h - i) <= 1 for h, i in heights), heights
    field = page.get_by_label("Channel", exact=True)
    field.fill("7")
    field.press("Enter")
    page.get_by_text("channel 7", exact=True).nth(2).wait_for()
    page.wait_for_url(re.compile(r"imgs=0%2C1%2C2|imgs=0,1,2"))
    page.wait_for_url(re.compile(r"channel=7"))
    wait_until_idle(page)
    page.locator(GRID).first.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "inside_three_added_1440.png")

    page.reload()
    page.get_by_text(re.compile(r"test #2 \(labelled \w+\): every channel of conv1")).wait_for()
    page.get_by_text("channel 7", exact=True).nth(2).wait_for()
    assert page.get_by_text("Prediction:").count() == 3
    context.close()
