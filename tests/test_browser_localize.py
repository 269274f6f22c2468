"""Where is it? in a real Chromium: a run trained on the digits with boxes in the Trainer (its four
curves drawn), then its page: the pictures carry both boxes in their colours (read back from the PNG
the browser shows), the heatmap beside each, the precision-recall chart, and the IoU slider moved with
the keyboard redraws the verdicts. Screenshots at 1440x900 and 1024x640 land in artifacts/."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from cnnviz.box_views import PREDICTED_COLOUR, TRUE_COLOUR
from tests.browser_helpers import choose, wait_until_idle

pytestmark = pytest.mark.browser

# Every chart's title as the learner reads it (Streamlit wraps them in <b>).
TITLES = (
    "() => Array.from(document.querySelectorAll('.js-plotly-plot'), "
    "p => p._fullLayout.title.text.replace(/<[^>]+>/g, ''))"
)
RIGHT_AT = re.compile(r"of 2,000 test pictures count as right at IoU ≥ ([0-9.]+)")


def number(page, label: str, value: int) -> None:
    field = page.locator('[data-testid="stNumberInput"]').filter(has_text=label).locator("input")
    field.fill(str(value))
    field.press("Enter")
    wait_until_idle(page)


def shown_png(page, caption_start: str) -> np.ndarray:
    """The picture whose caption starts so, as the browser received it (RGB)."""
    figure = page.locator('[data-testid="stImage"]').filter(has_text=caption_start).first
    figure.scroll_into_view_if_needed()
    source = figure.locator("img").get_attribute("src")
    body = page.request.get(source if source.startswith("http") else page.url.split("/localize")[0] + source).body()
    return cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]


def has_colour(picture: np.ndarray, colour: tuple[int, int, int]) -> bool:
    return bool(np.all(picture == np.array(colour, np.uint8), axis=-1).sum() > 20)


def test_a_box_run_on_where_is_it(browser, app_url, artifacts):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(app_url + "/trainer")
    page.locator("h1", has_text="Trainer").wait_for()
    choose(page, "Dataset", "MNIST digits with boxes (bundled, 64x64)")
    page.get_by_text("8,000 train and 2,000 test images").wait_for()
    wait_until_idle(page)
    number(page, "Training images per class", 10)
    number(page, "Epochs", 1)
    augmentation = page.locator('[data-testid="stCheckbox"]').filter(has_text="Augmentation").first
    if augmentation.locator("input").is_checked():
        augmentation.click()
        wait_until_idle(page)
    page.get_by_test_id("stBaseButton-primary").filter(has_text="Train").click()
    page.get_by_text(re.compile(r"Finished\. Trained 1 epoch")).wait_for(timeout=400_000)
    wait_until_idle(page)
    titles = page.evaluate(TITLES)
    assert {"Loss", "Accuracy", "Class loss and box loss", "Mean IoU of the boxes"} <= set(titles), titles
    page.get_by_text("Test mean IoU").first.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "trainer_box_run_1440.png")

    page.get_by_role("link", name=re.compile("^Where is it\\? Its test pictures")).click()
    page.get_by_text("One picture, worked out").wait_for()
    page.get_by_text(RIGHT_AT).wait_for()
    wait_until_idle(page)
    page.screenshot(path=artifacts / "localize_top_1440.png")
    worked = shown_png(page, "Test picture")
    assert has_colour(worked, TRUE_COLOUR) and has_colour(worked, PREDICTED_COLOUR)
    heat = shown_png(page, "Grad-CAM of")
    assert has_colour(heat, TRUE_COLOUR)

    page.get_by_text("The test pictures", exact=True).scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "localize_pictures_1440.png")
    thumb = page.locator('[data-testid="stSlider"]').filter(has_text="IoU threshold").get_by_role("slider")
    thumb.focus()
    thumb.press("ArrowRight")
    page.get_by_text(re.compile(r"count as right at IoU ≥ 0\.55")).wait_for()
    wait_until_idle(page)
    assert page.locator('[data-testid="stMetricLabel"]').filter(has_text="AP@0.55").count() == 1

    chart = page.locator(".js-plotly-plot").last
    chart.scroll_into_view_if_needed()
    assert chart.evaluate("p => p._fullLayout.title.text.replace(/<[^>]+>/g, '')") == "Max precision of each class"
    page.screenshot(path=artifacts / "localize_curves_1440.png")

    page.set_viewport_size({"width": 1024, "height": 640})
    page.get_by_text("One picture, worked out").scroll_into_view_if_needed()
    wait_until_idle(page)
    page.screenshot(path=artifacts / "localize_top_1024.png")
    page.get_by_text("The test pictures", exact=True).scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "localize_pictures_1024.png")
    page.locator(".js-plotly-plot").last.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "localize_curves_1024.png")
    context.close()


def zip_with_boxes(line: str) -> bytes:
    """Two class folders of four 48x40 pictures each (a bright square on black) with a boxes.csv;
    `line` is the last line of the second folder's."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for folder, (x0, y0) in (("squares", (4, 6)), ("corners", (20, 16))):
            lines = ["file,x_min,y_min,x_max,y_max"]
            for n in range(4):
                picture = np.zeros((40, 48, 3), np.uint8)
                picture[y0 : y0 + 16, x0 + n : x0 + n + 16] = 255
                archive.writestr(f"{folder}/{n}.png", cv2.imencode(".png", picture)[1].tobytes())
                lines.append(f"{n}.png,{x0 + n},{y0},{x0 + n + 16},{y0 + 16}")
            if folder == "corners":
                lines[-1] = line
            archive.writestr(f"{folder}/boxes.csv", "\n".join(lines) + "\n")
    return buffer.getvalue()


def test_a_zip_with_boxes_in_the_trainer(browser, app_url, artifacts):
    context = browser.new_context(viewport={"width": 1024, "height": 640})
    page = context.new_page()
    page.goto(app_url + "/trainer")
    page.locator("h1", has_text="Trainer").wait_for()
    choose(page, "Dataset", "Your images with boxes (a zip of class folders, a boxes.csv in each)")
    page.get_by_text("Each folder also holds a").wait_for()
    uploader = page.locator('[data-testid="stFileUploader"] input[type=file]')
    bad = zip_with_boxes("3.png,23,16,60,32")  # reaches past the 48-pixel-wide picture
    uploader.set_input_files(files=[{"name": "boxes.zip", "mimeType": "application/zip", "buffer": bad}])
    page.get_by_text(re.compile(r"corners/boxes\.csv, line 5 \(3\.png\).*reaches outside the 48x40 picture")).wait_for()
    good = zip_with_boxes("3.png,23,16,39,32")
    uploader.set_input_files(files=[{"name": "boxes.zip", "mimeType": "application/zip", "buffer": good}])
    page.get_by_text("Training samples with their boxes (green)").wait_for()
    wait_until_idle(page)
    figure = page.locator('[data-testid="stImage"]').filter(has_text="Training samples with their boxes").first
    figure.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "trainer_zip_with_boxes_1024.png")
    context.close()
