"""Your own classes with boxes in Chromium: pictures uploaded to a class, a box dragged around the object
in each (the next example without a box comes up after each), a box chosen again from the grid shows
the corners that were dragged, at 1440x900 and on a 1024x640 projector. Screenshots land in artifacts/."""

import re

import numpy as np
import pytest

from cnnviz import images
from cnnviz.own_classes import KINDS
from harness import own_classes_browser as own
from tests.browser_helpers import wait_until_idle

pytestmark = pytest.mark.browser

PICTURE = ".st-key-own_box_picture .cnv-boxdraw"


def square_pictures(count: int) -> list[dict]:
    """64x64 pictures, each a bright square at its own place (the box a learner would draw is known)."""
    files = []
    for i in range(count):
        picture = np.zeros((64, 64), np.uint8)
        picture[8 + 4 * i : 40 + 4 * i, 12 + 2 * i : 36 + 2 * i] = 220
        files.append({"name": f"square{i}.png", "mimeType": "image/png", "buffer": images.encode_png(picture)})
    return files


def drag_box(page, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Press at `start`, drag to `end` (fractions of the picture) and let go, in steps as a hand does."""
    holder = page.locator(PICTURE)
    holder.scroll_into_view_if_needed()
    box = holder.bounding_box()
    page.mouse.move(box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1])
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1], steps=8)
    page.mouse.up()


def field(page, name: str) -> float:
    return float(own.keyed(page, f"own_box_{name}").locator("input").input_value())


@pytest.mark.parametrize("width, height", [(1440, 900), (1024, 640)])
def test_drag_a_box_on_each_example_and_find_it_again(browser, app_url, artifacts, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    own.open_own(page, app_url)
    page.get_by_text(KINDS["boxes"]).click()
    page.get_by_text("Box each example").wait_for()
    page.get_by_text("Upload pictures", exact=True).click()
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Pictures of class 1")
    uploader.locator("input[type=file]").set_input_files(files=square_pictures(3))
    page.get_by_text("Added 3 picture(s) to class 1.").wait_for()
    page.get_by_text("0 of 3 boxed").wait_for()
    wait_until_idle(page)
    page.screenshot(path=artifacts / f"own_boxes_before_{width}.png", full_page=True)

    # The first square fills columns 12-35 and rows 8-39 of 64: drag from corner to corner.
    drag_box(page, (12 / 64, 8 / 64), (36 / 64, 40 / 64))
    page.get_by_text("1 of 3 boxed").wait_for()
    page.get_by_text(re.compile(r"2 without a box yet, the next after this one: class 1 #3")).wait_for()
    # Dragged the other way round (bottom right to top left) it is the same kind of box.
    drag_box(page, (38 / 64, 44 / 64), (14 / 64, 12 / 64))
    page.get_by_text("2 of 3 boxed").wait_for()
    wait_until_idle(page)
    page.screenshot(path=artifacts / f"own_boxes_two_boxed_{width}.png", full_page=True)

    # Back to the first from its grid: the number inputs show the corners dragged, in pixels of 64.
    own.click(page, "own_choose_box_0_0")
    page.get_by_text("This one has its box (green)").wait_for()
    wait_until_idle(page)
    corners = [field(page, name) for name in ("x_min", "y_min", "x_max", "y_max")]
    assert all(abs(a - b) <= 1.5 for a, b in zip(corners, (12, 8, 36, 40), strict=True)), corners
    assert page.locator(f"{PICTURE} .cnv-box").is_visible()
    # A slip of the mouse (a click, no drag) is refused with what to do, and the box stays.
    drag_box(page, (0.5, 0.5), (0.5, 0.5))
    page.get_by_text(re.compile(r"That was a click, not a box")).wait_for()
    wait_until_idle(page)
    assert [field(page, name) for name in ("x_min", "y_min", "x_max", "y_max")] == corners
    page.locator(PICTURE).scroll_into_view_if_needed()
    page.screenshot(path=artifacts / f"own_boxes_chosen_again_{width}.png")
    context.close()
