"""Upload & predict in a real Chromium: it opens on a handwritten digit, recognised and sure; a 7
drawn with the default brush is recognised; a photo is called unfamiliar; screenshots at 1440x900
and 1024x640 land in artifacts/.
"""

import re

import pytest

from tests.browser_helpers import choose, draw_path, wait_for_new_image, wait_until_idle

pytestmark = pytest.mark.browser

SURE_7 = re.compile(r"^7, \d+\.\d% sure$")


def open_predict(page, app_url: str) -> None:
    page.goto(app_url + "/predict")
    page.locator("h1", has_text="Upload & predict").wait_for()


def verdict(page):
    return page.locator('[data-testid="stAlert"]')


@pytest.mark.parametrize("width,height", [(1440, 900), (1024, 640)])
def test_predict_opens_on_a_digit_and_reads_a_drawn_one(browser, app_url, artifacts, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        open_predict(page, app_url)
        # The default input suits the default model: a real handwritten 7, recognised and sure.
        first = wait_for_new_image(page, "Grad-CAM for 7", "")
        verdict(page).filter(has_text=SURE_7).first.wait_for()
        wait_until_idle(page)
        page.screenshot(path=artifacts / f"predict_default_{width}x{height}.png", full_page=True)
        # In a narrow window the results sit below the controls: scroll to them, as a person would.
        verdict(page).first.scroll_into_view_if_needed()
        page.screenshot(path=artifacts / f"predict_default_result_{width}x{height}.png")

        # A photo with the digit model: unfamiliar, said plainly.
        choose(page, "Sample", "Astronaut")
        page.get_by_text("This model only knows handwritten digits 0-9").wait_for()
        verdict(page).filter(has_text="Unfamiliar picture.").first.wait_for()
        wait_until_idle(page)
        verdict(page).first.scroll_into_view_if_needed()
        page.screenshot(path=artifacts / f"predict_photo_{width}x{height}.png", full_page=True)

        # Draw a 7 with the brush as it starts, the way a person would: a bar, then down to the left.
        page.get_by_text("Draw", exact=True).click()
        page.get_by_text("Draw on the black square").wait_for()
        brush = page.locator('[data-testid="stSlider"]').filter(has_text="Brush size")
        assert brush.locator('[data-testid="stSliderThumbValue"]').inner_text() == "18"
        draw_path(page, [(70, 60), (200, 58), (185, 100), (120, 235)])
        wait_for_new_image(page, "Grad-CAM for 7", first)
        verdict(page).filter(has_text=SURE_7).first.wait_for()
        page.get_by_text("cropped to the ink").first.wait_for()
        wait_until_idle(page)
        verdict(page).first.scroll_into_view_if_needed()
        page.screenshot(path=artifacts / f"predict_drawn_{width}x{height}.png", full_page=True)
    finally:
        context.close()


def test_predict_after_a_photo_and_a_trip_to_another_page(page, app_url, artifacts):
    """A learner's sequence: the default digit, a photo of their choice, away to Home and back."""
    open_predict(page, app_url)
    wait_for_new_image(page, "Grad-CAM for 7", "")
    choose(page, "Sample", "Coins")
    page.get_by_text("This model only knows handwritten digits 0-9").wait_for()
    page.get_by_role("link", name="Home").first.click()
    page.get_by_text("Open the Convolution lab").wait_for()
    page.get_by_role("link", name="Upload & predict").first.click()
    page.locator("h1", has_text="Upload & predict").wait_for()
    wait_for_new_image(page, "Grad-CAM for", "")
    wait_until_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=artifacts / "predict_back_again.png", full_page=True)


def test_a_labelled_zip_is_scored_per_class(page, app_url, artifacts):
    """Held-out MNIST digits in folders named after the model's classes: accuracy per class, as the
    Trainer's evaluation computes it."""
    import io
    import zipfile

    import numpy as np
    from PIL import Image

    from cnnviz import datasets

    mnist = datasets.load("mnist-bundled")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for digit in (3, 7):
            for n, i in enumerate(np.flatnonzero(mnist.y_test == digit)[:6]):
                png = io.BytesIO()
                Image.fromarray(mnist.x_test[i][..., 0]).save(png, format="PNG")
                archive.writestr(f"{digit}/{n}.png", png.getvalue())
    open_predict(page, app_url)
    page.get_by_text("A labelled zip (accuracy per class)").click()
    uploader = page.locator('[data-testid="stFileUploader"] input[type=file]')
    uploader.wait_for(state="attached")
    uploader.set_input_files(files=[{"name": "digits.zip", "mimeType": "application/zip", "buffer": buffer.getvalue()}])
    page.get_by_text("Accuracy on your labelled images").wait_for()
    wait_until_idle(page)
    metric = page.locator('[data-testid="stMetricValue"]').first.inner_text()
    assert float(metric.rstrip("%")) >= 90  # 12 held-out digits: the shipped model gets them right
    page.locator('[data-testid="stDataFrame"]').first.wait_for()  # drawn after the metric, on a canvas
    assert page.locator('[data-testid="stDataFrame"]').count() == 1  # the per-class table
    page.screenshot(path=artifacts / "predict_labelled_zip.png", full_page=True)
