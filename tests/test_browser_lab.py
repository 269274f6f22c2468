"""The Convolution lab's server-side view (`compute=server`, the reference the live lab is tested against:
tests/test_lab_live.py) in Chromium: click a picture to choose the pixel, a 7x7 kernel's arithmetic
readable on a projector-sized window (no element overlapping another), and a camera picture (Chromium's
fake camera) as the image. Screenshots land in artifacts/."""

import re

import pytest

from tests.browser_helpers import wait_until_idle

pytestmark = pytest.mark.browser

COORDINATES = "img.cnv-clickable"  # app_support/common/component/clickable.js
OUTPUT_PIXEL = re.compile(r"Output pixel \((\d+), (\d+)\)")


def picked(page) -> tuple[int, int]:
    text = page.get_by_text(OUTPUT_PIXEL).first.inner_text()
    row, col = OUTPUT_PIXEL.search(text).groups()
    return int(row), int(col)


def click_picture(page, index: int, fx: float, fy: float) -> None:
    """Click the `index`-th clickable picture at a fraction (fx, fy) of its width and height."""
    image = page.locator(COORDINATES).nth(index)
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    image.click(position={"x": box["width"] * fx, "y": box["height"] * fy})


def test_click_the_output_then_the_input_to_choose_the_pixel(page, app_url, artifacts):
    page.goto(app_url + "/convolution_lab?compute=server")
    page.get_by_text(OUTPUT_PIXEL).first.wait_for(timeout=60_000)
    wait_until_idle(page)
    before = picked(page)
    click_picture(page, 1, 0.25, 0.75)  # the output, 510x510: near (382, 127)
    page.wait_for_function("() => /Output pixel \\((3[6-9]\\d), (1[0-4]\\d)\\)/.test(document.body.innerText)")
    row, col = picked(page)
    assert (row, col) != before and 370 <= row <= 395 and 115 <= col <= 140
    page.wait_for_function(f"() => location.search.includes('row={row}')")  # chosen: it goes into the link
    click_picture(page, 0, 0.5, 0.5)  # the input, 512x512: the window centred on (256, 256) is output (255, 255)
    page.wait_for_function("() => /Output pixel \\(25[4-6], 25[4-6]\\)/.test(document.body.innerText)")
    # The window's arithmetic follows: its first grid is the 3x3 input window at the new place.
    page.get_by_text(re.compile(r"Input: the window starts at \(25[3-5], 25[3-5]\)")).wait_for()
    # A change of stride keeps the pixel at the same place of the picture.
    stride = page.get_by_role("spinbutton", name="Stride", exact=True)
    stride.fill("2")
    stride.press("Enter")
    page.wait_for_function("() => /Output pixel \\(12[6-8], 12[6-8]\\)/.test(document.body.innerText)")
    wait_until_idle(page)
    page.screenshot(path=artifacts / "lab_pixel_clicked.png", full_page=True)


def test_pooled_pixel_click_shows_its_window(page, app_url, artifacts):
    page.goto(app_url + "/convolution_lab?pool=max&post=relu&compute=server")
    page.get_by_text("Pooling that pixel").wait_for(timeout=60_000)
    wait_until_idle(page)
    click_picture(page, 2, 0.5, 0.5)  # the pooled map, 255x255
    page.wait_for_function("() => /Pooled pixel \\(12[6-8], 12[6-8]\\)/.test(document.body.innerText)")
    # The conv pixel moves to the window's winner: inside the 2x2 window of (127, 127).
    row, col = picked(page)
    assert 252 <= row <= 257 and 252 <= col <= 257
    page.get_by_text(re.compile(r"Max of the window: \d")).wait_for()


def overlaps(boxes: list[dict]) -> list[tuple[int, int]]:
    pairs = []
    for i, a in enumerate(boxes):
        for j, b in enumerate(boxes[i + 1 :], start=i + 1):
            if (
                a["x"] < b["x"] + b["width"] - 1
                and b["x"] < a["x"] + a["width"] - 1
                and a["y"] < b["y"] + b["height"] - 1
                and b["y"] < a["y"] + a["height"] - 1
            ):
                pairs.append((i, j))
    return pairs


@pytest.mark.parametrize(("width", "height"), [(1024, 640), (1440, 900)])
@pytest.mark.parametrize("query", ["kernel=vertical+line+7x7", "kernel=vertical+line+7x7&colour=rgb&sample=astronaut"])
def test_seven_by_seven_arithmetic_is_readable(browser, app_url, artifacts, width, height, query):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{app_url}/convolution_lab?{query}&compute=server")
    page.locator("table.cnv-grid").first.wait_for(timeout=60_000)
    wait_until_idle(page)
    grids = page.locator("table.cnv-grid")
    count = grids.count()
    assert count in (3, 9)
    grids.first.scroll_into_view_if_needed()
    boxes = [grids.nth(i).bounding_box() for i in range(count)]
    assert overlaps(boxes) == []
    main = page.locator('[data-testid="stMain"]').bounding_box()
    for box in boxes:  # inside the page: nothing runs off the right edge
        assert box["x"] >= main["x"] and box["x"] + box["width"] <= main["x"] + main["width"] + 1
    # The numbers are shown (a 7x7 grid is read, not hovered) and each fits in its cell.
    spans = page.evaluate(
        """() => [...document.querySelectorAll('table.cnv-grid td span')].map(s => {
            const cell = s.parentElement.getBoundingClientRect(), text = s.getBoundingClientRect();
            return [getComputedStyle(s).display, text.width <= cell.width + 0.5, s.textContent]; })"""
    )
    assert spans and all(display == "inline" for display, _, _ in spans)
    assert all(fits for _, fits, _ in spans), [text for _, fits, text in spans if not fits][:5]
    name = "rgb" if "rgb" in query else "gray"
    page.screenshot(path=artifacts / f"lab_7x7_{name}_{width}.png")
    context.close()


TRANSPOSED_PIXEL = re.compile(r"output pixel \((\d+), (\d+)\)")


@pytest.mark.parametrize(("width", "height"), [(1024, 640), (1440, 900)])
def test_transposed_convolution_click_an_output_pixel(browser, app_url, artifacts, width, height):
    """The upsampled map is clickable: a click chooses the pixel whose window and sum are shown; the
    stages' grids lie side by side without overlapping and inside the page at a projector's size."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{app_url}/convolution_lab?op=transpose&kernel=box+blur")
    page.get_by_text("max difference").wait_for(timeout=60_000)
    wait_until_idle(page)
    assert page.get_by_text(TRANSPOSED_PIXEL).first.inner_text().endswith("(4, 4). Click another.")
    click_picture(page, 0, 0.95, 0.05)  # the 9x9 output's top-right corner: (0, 8)
    page.wait_for_function("() => /output pixel \\(0, 8\\)/.test(document.body.innerText)")
    page.get_by_text("Window at (0, 8)").wait_for()
    page.wait_for_function("() => location.search.includes('trow=0') && location.search.includes('tcol=8')")
    grids = page.locator("table.cnv-grid")
    boxes = [grids.nth(i).bounding_box() for i in range(grids.count())]
    assert len(boxes) == 9 and overlaps(boxes) == []  # six stages, then window, kernel and products
    main = page.locator('[data-testid="stMain"]').bounding_box()
    assert all(box["x"] + box["width"] <= main["x"] + main["width"] + 1 for box in boxes)
    page.screenshot(path=artifacts / f"lab_transposed_{width}.png")
    context.close()


# Streamlit's webcam asks for the stream twice: before it knows its width, then, a second later, at
# its measured width, which restarts the video (its time back to 0). A photo taken while it restarts
# is dropped (the webcam hands back no picture), and the fake camera's first frames are black: snap
# once the stream asked for at the widget's own width has played for half a second.
CAMERA_READY = """() => {
    const video = document.querySelector('[data-testid="stCameraInputWebcamComponent"] video');
    const track = video && video.srcObject && video.srcObject.getVideoTracks()[0];
    const asked = track && track.readyState === "live" ? track.getConstraints().width : undefined;
    const width = typeof asked === "object" ? asked.ideal : asked;  // {ideal: w}, or w as Chromium reports it
    return width > 0 && Math.abs(width - video.clientWidth) < 1 && video.videoWidth > 0 && video.currentTime > 0.5;
}"""


@pytest.mark.parametrize("size", [(1440, 900), (1024, 640)], ids=lambda s: f"{s[0]}-{s[1]}")
def test_a_camera_picture_is_the_image_and_stays_after_a_trip_to_a_sample(browser, app_url, artifacts, size):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, permissions=["camera"])
    page = context.new_page()
    try:
        page.goto(app_url + "/convolution_lab?src=camera&compute=server")
        wait_until_idle(page)  # the page laid out: the camera's width no longer changes
        page.wait_for_function(CAMERA_READY)
        page.get_by_role("button", name="Take Photo").click()
        page.locator('[data-testid="stCameraInput"] img[alt="Snapshot"]').wait_for()  # taken, then uploaded
        page.get_by_text(re.compile(r"^your camera picture, input, \d+x\d+$")).wait_for()
        page.get_by_text(re.compile(r"^convolution \(valid, stride 1\), \d+x\d+$")).first.wait_for()
        page.get_by_text(re.compile(r"^-\d+(\.\d+)?\s+·\s+0\s+·\s+\+\d+")).wait_for()  # edges found: not a flat picture
        wait_until_idle(page)
        page.get_by_text("Take a picture").scroll_into_view_if_needed()
        page.screenshot(path=artifacts / f"lab_camera_{size[0]}.png")
        # To a sample and back: the snapshot is still the image, not a blank camera.
        page.get_by_role("radiogroup").filter(has_text="Camera").get_by_text("Sample", exact=True).click()
        page.get_by_text(re.compile(r"^camera, input, ")).wait_for()  # skimage's camera man
        page.get_by_role("radiogroup").filter(has_text="Camera").get_by_text("Camera", exact=True).click()
        page.get_by_text(re.compile(r"^your camera picture, input, \d+x\d+$")).wait_for()
    finally:
        context.close()
