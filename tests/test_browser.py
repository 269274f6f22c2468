"""The app in a real Chromium (Debian's), driven by Playwright: draw, upload, change kernels, share links.

Screenshots land in artifacts/ for a person to look at.
"""

import io
import re

import numpy as np
import pytest
from PIL import Image

from tests.browser_helpers import choose, draw_stroke, image_src, wait_for_new_image, wait_until_idle
from tests.conftest import start_app

pytestmark = pytest.mark.browser


def test_home_to_lab_draw_and_change_kernel(page, app_url, artifacts):
    page.goto(app_url)
    page.get_by_text("Open the Convolution lab").click()
    page.locator("h1", has_text="Convolution lab").wait_for()
    page.wait_for_url("**/convolution_lab**")
    # The rest exercises the server-side view (its pictures are <img>s); the live lab has its own tests.
    page.goto(app_url + "/convolution_lab?compute=server")
    page.locator("h1", has_text="Convolution lab").wait_for()

    page.get_by_text("Draw", exact=True).click()
    page.locator("canvas").last.wait_for()
    page.get_by_text("Draw on the black square").wait_for()
    draw_stroke(page, (30, 30), (110, 100))  # the lab's canvas is 140 px, to fit a projector's column
    first = wait_for_new_image(page, "convolution", "")
    page.screenshot(path=artifacts / "lab_drawn.png", full_page=True)

    draw_stroke(page, (100, 20), (20, 120))  # a second stroke changes the output
    second = wait_for_new_image(page, "convolution", first)

    choose(page, "Kernel", "Laplacian 4")
    third = wait_for_new_image(page, "convolution", second)
    assert len({first, second, third}) == 3
    page.get_by_text("Second derivative").first.wait_for()

    # Away to the home page and back: the drawing is still there.
    page.get_by_role("link", name="Home").first.click()
    page.get_by_text("Open the Convolution lab").wait_for()
    page.get_by_role("link", name="Convolution lab").first.click()
    page.get_by_text("your drawing").first.wait_for()
    wait_until_idle(page)
    page.screenshot(path=artifacts / "lab_after_kernel_change.png", full_page=True)


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_upload_good_then_bad_file(page, app_url, artifacts):
    page.goto(app_url + "/convolution_lab?src=upload&compute=server")
    uploader = page.locator('[data-testid="stFileUploader"] input[type=file]')
    uploader.wait_for(state="attached")
    checker = (np.indices((96, 128)).sum(axis=0) // 16 % 2 * 255).astype(np.uint8)
    uploader.set_input_files(files=[{"name": "checker.png", "mimeType": "image/png", "buffer": png_bytes(checker)}])
    good = wait_for_new_image(page, "convolution", "")
    page.get_by_text(re.compile(r"96x128 (->|→) 94x126")).wait_for()

    uploader.set_input_files(files=[{"name": "evil.png", "mimeType": "image/png", "buffer": b"MZ\x90\x00 not a png"}])
    page.get_by_text("not an image this app reads").wait_for()
    page.get_by_text("Still showing your last good image, checker.png").wait_for()
    assert image_src(page, "convolution") == good  # the last good upload stays on screen
    page.screenshot(path=artifacts / "lab_bad_upload.png", full_page=True)


def test_shared_link_opens_the_same_view_on_a_fresh_server(browser, artifacts):
    # The first session of a fresh server opens a page's URL directly: the classic shared link.
    process, url = start_app()
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1600})
        page = context.new_page()
        query = "kernel=emboss&colour=rgb&sample=coffee&pool=max&display=clipped&compute=server"
        page.goto(url + "/convolution_lab?" + query)
        page.get_by_text("A raised, stamped look").first.wait_for()
        page.get_by_text(re.compile(r"341x512x3 (->|→) 339x510 (->|→) 169x255")).wait_for()  # one Conv2D filter
        wait_for_new_image(page, "max pool", "")
        sidebar = page.locator('[data-testid="stSidebar"]')
        assert sidebar.get_by_text("Home", exact=True).count() == 1  # app.py's navigation, not pages/ names
        assert "row=" not in page.url  # a pixel nobody chose stays out of the link
        assert page.get_by_text("Page not found").count() == 0
        wait_until_idle(page)
        page.screenshot(path=artifacts / "lab_shared_link.png", full_page=True)
        context.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_gallery_view(page, app_url, artifacts):
    page.goto(app_url + "/convolution_lab?view=gallery&sample=chelsea")
    page.get_by_text("Every kernel on the same image").wait_for()
    wait_for_new_image(page, "horizontal line 7x7", "")
    wait_until_idle(page)
    page.screenshot(path=artifacts / "lab_gallery.png", full_page=True)


def test_trainer_streams_curves_and_stops(page, app_url, artifacts):
    page.goto(app_url + "/trainer")
    page.locator("h1", has_text="Trainer").wait_for()
    choose(page, "Dataset", "Shapes (synthetic)")
    wait_until_idle(page)
    page.get_by_text("3,474 parameters in all.").wait_for()  # the shapes page is drawn (tinyvgg, 4 classes)
    epochs = page.locator('[data-testid="stNumberInput"]').filter(has_text="Epochs").locator("input")
    for _ in range(3):  # a rerun that lands while typing can reset the field: type again
        epochs.fill("100")
        epochs.press("Enter")
        wait_until_idle(page)  # the run the Enter asked for
        if epochs.input_value() == "100":
            break
    assert epochs.input_value() == "100"
    page.get_by_test_id("stBaseButton-primary").filter(has_text="Train").click()
    # The panel refreshes every second and an epoch takes about half of one: any epoch past the first.
    # A worker starts first (it imports TensorFlow: slow on a loaded machine).
    page.get_by_text(re.compile(r"Training, epoch ([2-9]|\d\d) of 100")).wait_for(timeout=300_000)
    page.wait_for_function(  # batch and epoch points have reached the charts
        "() => [...document.querySelectorAll('.js-plotly-plot')]"
        ".some(p => (p.data || []).reduce((n, t) => n + (t.x || []).length, 0) >= 3)",
    )
    page.evaluate("() => document.querySelector('.js-plotly-plot')?.scrollIntoView()")
    page.screenshot(path=artifacts / "trainer_live.png", full_page=True)
    # A learner zooms into the loss curve while the run goes on: new epochs arrive and the chart is
    # updated in place (the same element), the zoom kept. It used to be rebuilt every second, zoom lost.
    loss = "[...document.querySelectorAll('.js-plotly-plot')].find(p => p.innerText.includes('Loss'))"
    zoom = "{'xaxis.range': [1, 2]}"
    page.evaluate(f"() => {{ const chart = {loss}; chart.__zoomed = true; return Plotly.relayout(chart, {zoom}); }}")
    points = page.evaluate(f"() => {loss}.data.reduce((n, t) => n + t.x.length, 0)")
    page.wait_for_function(f"n => {loss}.data.reduce((k, t) => k + t.x.length, 0) > n + 1", arg=points)
    assert page.evaluate(f"() => [{loss}.__zoomed, {loss}._fullLayout.xaxis.range]") == [True, [1, 2]]
    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text(re.compile(r"Stopped\. Stopped on request")).wait_for()
    page.get_by_text("Test accuracy", exact=True).wait_for()
    wait_until_idle(page)
    page.get_by_text("Test accuracy", exact=True).scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "trainer_stopped.png", full_page=True)


def test_upload_and_predict_shows_the_class_and_the_overlay(page, app_url, artifacts):
    import cv2

    drawing = np.full((280, 280), 255, np.uint8)  # a 7 in thick strokes, dark on white
    cv2.line(drawing, (70, 60), (210, 60), 0, 22)
    cv2.line(drawing, (210, 60), (120, 240), 0, 22)
    page.goto(app_url + "/predict")
    page.locator("h1", has_text="Upload & predict").wait_for()
    page.get_by_text("Upload", exact=True).click()
    uploader = page.locator('[data-testid="stFileUploader"] input[type=file]')
    uploader.wait_for(state="attached")
    uploader.set_input_files(files=[{"name": "seven.png", "mimeType": "image/png", "buffer": png_bytes(drawing)}])
    wait_for_new_image(page, "Grad-CAM for 7", "")
    page.get_by_text("100.0% sure").or_(page.get_by_text("% sure")).first.wait_for()
    wait_until_idle(page)
    page.screenshot(path=artifacts / "predict_upload.png", full_page=True)


def test_inside_the_network_feature_maps_of_another_layer(page, app_url, artifacts):
    page.goto(app_url + "/inside")
    page.get_by_text("Prediction:").wait_for()
    first = wait_for_new_image(page, "test #0", "")
    choose(page, "Layer", "conv2")
    wait_for_new_image(page, "test #0", first)
    page.get_by_text(re.compile(r"conv2: 11x11 map, 64 channels")).wait_for()
    wait_until_idle(page)
    page.screenshot(path=artifacts / "inside_feature_maps.png", full_page=True)
    page.get_by_text("Heatmaps (why this class?)").click()
    wait_for_new_image(page, "Score-CAM", "")
    page.screenshot(path=artifacts / "inside_heatmaps.png", full_page=True)
