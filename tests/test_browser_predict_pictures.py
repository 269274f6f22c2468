"""Upload & predict in Chromium with the pictures people give: a bad upload after a good one puts its
error where the answer was (and nothing of the earlier picture stays), a 7 drawn with a thin pen is
read as a 7, and a smiley is called unfamiliar; screenshots at 1440x900 and 1024x640 in artifacts/.
"""

import io
import re

import numpy as np
import pytest

from tests.browser_helpers import draw_path, wait_for_new_image, wait_until_idle

pytestmark = pytest.mark.browser

SURE_7 = re.compile(r"^7, \d+\.\d% sure$")
UPLOADER = '[data-testid="stFileUploader"] input[type=file]'


def open_predict(browser, app_url: str, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(app_url + "/predict")
    page.locator("h1", has_text="Upload & predict").wait_for(timeout=60_000)
    wait_for_new_image(page, "Grad-CAM for 7", "", timeout=90_000)  # the default sample, answered
    wait_until_idle(page)
    return context, page


def png(picture: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


def seven_on_paper() -> np.ndarray:
    """A dark 7 on white paper, as a scan or a phone photo of one."""
    import cv2

    page = np.full((300, 300), 245, np.uint8)
    cv2.polylines(page, [np.array([[70, 60], [220, 58], [120, 250]], np.int32)], False, 20, 16, cv2.LINE_AA)
    return page


def upload(page, name: str, data: bytes) -> None:
    page.locator(UPLOADER).set_input_files(files=[{"name": name, "mimeType": "image/png", "buffer": data}])


def alerts(page):
    return page.locator('[data-testid="stAlert"]')


@pytest.mark.parametrize("width,height", [(1440, 900), (1024, 640)])
def test_a_bad_upload_after_a_good_one_shows_its_error_where_the_answer_was(browser, app_url, artifacts, width, height):
    context, page = open_predict(browser, app_url, width, height)
    try:
        page.get_by_text("Upload", exact=True).click()
        page.locator(UPLOADER).wait_for(state="attached")
        upload(page, "seven.png", png(seven_on_paper()))
        wait_for_new_image(page, "Grad-CAM for 7", "", timeout=30_000)
        alerts(page).filter(has_text=SURE_7).first.wait_for()

        upload(page, "dot.png", png(np.zeros((1, 1), np.uint8)))  # a 1x1 PNG
        error = alerts(page).filter(has_text="dot.png: The image is 1x1 pixels")
        error.wait_for()
        wait_until_idle(page)
        # The 7's answer and heatmap are gone: what is on screen belongs to the file given.
        assert alerts(page).filter(has_text=SURE_7).count() == 0
        assert page.locator('[data-testid="stImage"]').filter(has_text="Grad-CAM").count() == 0
        # Where the answer was: beside the controls in a wide window, right under them in a narrow one.
        error.scroll_into_view_if_needed()
        assert error.is_visible()
        if width >= 1440:
            assert error.bounding_box()["y"] < 300  # at the top of the results column, in the first screen
        page.screenshot(path=artifacts / f"predict_bad_upload_{width}x{height}.png")

        upload(page, "seven again.png", png(seven_on_paper()))
        wait_for_new_image(page, "Grad-CAM for 7", "", timeout=30_000)  # the heatmap was gone: any is new
        alerts(page).filter(has_text=SURE_7).first.wait_for()
        wait_until_idle(page)
        assert alerts(page).filter(has_text="dot.png").count() == 0
        alerts(page).filter(has_text=SURE_7).first.scroll_into_view_if_needed()
        page.screenshot(path=artifacts / f"predict_good_after_bad_{width}x{height}.png")
    finally:
        context.close()


def test_a_thin_pen_seven_is_a_seven_and_a_smiley_is_unfamiliar(browser, app_url, artifacts):
    context, page = open_predict(browser, app_url, 1440, 900)
    try:
        page.get_by_text("Draw", exact=True).click()
        page.get_by_text("Draw on the black square").wait_for()
        brush = page.locator('[data-testid="stSlider"]').filter(has_text="Brush size")
        thumb = brush.locator('input[type="range"]')
        thumb.focus()
        for _ in range(14):  # 18 -> 4 px, the thin pen that was called "Unfamiliar picture"
            thumb.press("ArrowLeft")
        brush.locator('[data-testid="stSliderThumbValue"]').filter(has_text=re.compile(r"^4$")).wait_for()
        wait_until_idle(page)
        draw_path(page, [(70, 60), (200, 58), (185, 100), (120, 235)])
        wait_for_new_image(page, "Grad-CAM for 7", "", timeout=30_000)
        alerts(page).filter(has_text=SURE_7).first.wait_for()
        page.get_by_text("thin strokes thickened").first.wait_for()
        wait_until_idle(page)
        page.screenshot(path=artifacts / "predict_thin_pen_seven.png", full_page=True)

        page.get_by_role("button", name="Clear drawing").click()
        page.get_by_text("Draw on the black square").wait_for()
        wait_until_idle(page)
        centre, radius = (140, 140), 100
        circle = [
            (int(centre[0] + radius * np.cos(a)), int(centre[1] + radius * np.sin(a)))
            for a in np.linspace(0, 2 * np.pi, 30)
        ]
        draw_path(page, circle)  # a face
        wait_until_idle(page)
        draw_path(page, [(105, 105), (108, 112), (102, 112), (105, 105)])  # eyes
        wait_until_idle(page)
        draw_path(page, [(175, 105), (178, 112), (172, 112), (175, 105)])
        wait_until_idle(page)
        smile = [(int(140 + 55 * np.cos(a)), int(150 + 40 * np.sin(a))) for a in np.linspace(0.3, np.pi - 0.3, 12)]
        draw_path(page, smile)
        alerts(page).filter(has_text="Unfamiliar picture.").first.wait_for(timeout=30_000)
        wait_until_idle(page)
        assert alerts(page).filter(has_text=re.compile(r"% sure$")).count() == 0
        page.screenshot(path=artifacts / "predict_smiley.png", full_page=True)
    finally:
        context.close()
