"""The live Convolution lab (app_support/lab/live.py, component/*.js) in Chromium: its numbers and pictures
against the server's reference (cnnviz.lab.run_lab, cnnviz.display), the arithmetic under the pointer
against ops.pixel_arithmetic, a kernel cell dragged (the output follows while the button is held, the
link learns the kernel on release), a teacher's locks inside the component, large work that keeps the
page answering, and screenshots at 1440x900 and 1024x640 (in artifacts/)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from cnnviz import display, images, kernels, ops
from cnnviz.lab import LabConfig, run_lab, suggested_display
from harness.browser import settled_box
from tests.browser_helpers import wait_until_idle

pytestmark = pytest.mark.browser

LAB = "[...window.__cnnvizLab.labs][0]"
READY = f"() => window.__cnnvizLab && window.__cnnvizLab.labs.size && {LAB}.result"


def open_lab(page, app_url, query: str = "") -> None:
    page.goto(f"{app_url}/convolution_lab{'?' + query if query else ''}")
    page.wait_for_function(READY, timeout=60_000)


# --- equality with the server ---------------------------------------------------------------------------


def random_case(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, LabConfig, dict, str]:
    """A picture, a kernel, the lab's settings and a display, drawn at random (case n: both colours)."""
    colour = n % 2 == 1
    height, width = int(rng.integers(16, 48)), int(rng.integers(16, 48))
    image = rng.integers(0, 256, (height, width, 3) if colour else (height, width), dtype=np.uint8)
    side = int(rng.choice([1, 2, 3, 4, 5, 7, 9, 11, 15]))
    kh, kw = side, int(rng.choice([side, max(1, side - 2)]))
    each = colour and rng.random() < 0.4
    shape = (kh, kw, 3) if each else (kh, kw)
    kernel = np.round(rng.normal(0, 2, shape), 2).astype(np.float32)
    if rng.random() < 0.3:  # one that keeps the picture (sum about 1)
        kernel = np.full(shape, 1 / (kh * kw * (3 if each else 1)), dtype=np.float32)
    pool = str(rng.choice(["none", "max", "avg", "gap"]))
    config = LabConfig(
        stride=int(rng.integers(1, 4)),
        padding=str(rng.choice(["valid", "same"])),
        activation=str(rng.choice(["none", "relu", "clip", "abs"])),
        weight=float(rng.choice([1.0, 0.5, -2.0])),
        normalize=bool(rng.random() < 0.3),
        pool=pool,
        pool_size=int(rng.integers(2, 4)),
        pool_stride=int(rng.integers(1, 4)) if rng.random() < 0.4 else None,
        conv_mode=str(rng.choice(["filter", "depthwise"])),
        bias=float(rng.choice([0.0, 10.0, -25.5])),
    )
    return image, kernel, config, {"each": each}, str(rng.choice(["auto", "signed", "clipped", "minmax"]))


def request(image: np.ndarray, kernel: np.ndarray, config: LabConfig, chosen: str) -> dict:
    """What the component's worker is asked (lab.js `compute`)."""
    kc = 3 if kernel.ndim == 3 else 1
    return {
        "id": "case",
        "kernel": {
            "base": kernel.astype(np.float64).reshape(-1).tolist(),
            "kh": kernel.shape[0],
            "kw": kernel.shape[1],
            "kc": kc,
        },
        "weight": config.weight,
        "normalize": config.normalize,
        "settings": {
            "stride": config.stride,
            "padding": config.padding,
            "activation": config.activation,
            "bias": config.bias,
            "pool": config.pool,
            "pool_size": config.pool_size,
            "pool_stride": config.pool_stride or 0,
            "mode": config.conv_mode,
        },
        "display": chosen,
        "sharedScale": False,
        "lut": display.colormap_lut().reshape(-1).tolist(),
    }


RUN = """async ([picture, request]) => {
    const answer = await window.__cnnvizLab.run(
        { ...picture, pixels: new Uint8Array(picture.pixels) }, request);
    if (!answer.ok) return answer;
    answer.stages = answer.stages.map(
        s => s.values ? { ...s, values: Array.from(s.values), rgba: Array.from(s.rgba) } : s);
    answer.applied = Array.from(answer.applied);
    return answer;
}"""


def server_modes(result, image: np.ndarray, chosen: str) -> list[str]:
    """The display of each stage after the input, as app_support.lab.outputs draws it."""
    summed = image.shape[2] if image.ndim == 3 and result.convolved.values.ndim == 2 else 1
    mode = chosen if chosen != "auto" else suggested_display(result.kernel, summed_channels=summed)
    after = "clipped" if result.has_activation and result.activated.name == "clip" and chosen == "auto" else mode
    return [mode] + [after] * (len(result.stages) - 2)


def browser_max_diff(page, cases: int = 24, seed: int = 0) -> tuple[float, int]:
    """The largest difference of any stage's values over the random cases, as a fraction of that stage's
    range, and of any picture: in grey levels per channel, or in levels of the colour map (signed)."""
    rng = np.random.default_rng(seed)
    worst_value, worst_level = 0.0, 0
    for n in range(cases):
        image, kernel, config, _, chosen = random_case(rng, n)
        try:
            result = run_lab(image, kernel, config)
        except Exception as error:  # a window that does not fit: the browser must say so too
            answer = page.evaluate(RUN, [picture_of(image), request(image, kernel, config, chosen)])
            assert not answer["ok"] and answer["problem"], (n, str(error))
            continue
        answer = page.evaluate(RUN, [picture_of(image), request(image, kernel, config, chosen)])
        assert answer["ok"], (n, answer.get("problem"))
        assert len(answer["stages"]) == len(result.stages), n
        for stage, theirs, mode in zip(
            result.stages[1:], answer["stages"][1:], server_modes(result, image, chosen), strict=True
        ):
            values = stage.values.astype(np.float64)
            ours = np.array(theirs["values"]).reshape(values.shape)
            spread = max(float(values.max() - values.min()), float(np.abs(values).max()), 1e-6)
            worst_value = max(worst_value, float(np.abs(ours - values).max()) / spread)
            assert theirs["name"] == stage.name and theirs["mode"] == mode, (n, theirs["name"], stage.name, mode)
            rgba = np.array(theirs["rgba"], dtype=np.int32).reshape(*values.shape[:2], 4)[..., :3]
            if mode == "signed":
                # One level of the colour map: a value on the boundary between two levels may fall on
                # either side (float32 sums in another order), and neighbouring colours differ by more
                # than one grey level in a channel.
                levels = display.signed_index(stage.values, limit=display.signed_limit(stage.values))
                difference = np.abs(level_of(rgba) - levels.astype(np.int32))
            else:
                picture = display.render(stage.values, mode)
                picture = np.repeat(picture[..., None], 3, axis=2) if picture.ndim == 2 else picture
                difference = np.abs(rgba - picture.astype(np.int32))
            worst_level = max(worst_level, int(difference.max()))
    return worst_value, worst_level


def level_of(rgb: np.ndarray) -> np.ndarray:
    """The colour map's level (0..255) of each (..., 3) colour the browser drew."""
    lut = display.colormap_lut().astype(np.int32)
    distance = np.abs(rgb[..., None, :] - lut).sum(axis=-1)  # (..., 256)
    return distance.argmin(axis=-1)


def picture_of(image: np.ndarray) -> dict:
    return {
        "id": "case",
        "h": image.shape[0],
        "w": image.shape[1],
        "c": 1 if image.ndim == 2 else 3,
        "pixels": image.reshape(-1).tolist(),
    }


def test_the_browser_computes_what_the_server_computes(page, app_url):
    open_lab(page, app_url)
    worst_value, worst_level = browser_max_diff(page)
    assert worst_value <= 1e-3
    assert worst_level <= 1


# --- the arithmetic under the pointer -------------------------------------------------------------------

TITLE = re.compile(r"The arithmetic of output pixel \((\d+), (\d+)\)")


def arithmetic(page) -> tuple[tuple[int, int], str]:
    text = page.evaluate(f"() => {LAB}.nodes.arithTitle.textContent + '|' + {LAB}.nodes.sums.textContent")
    title, sums = text.split("|", 1)
    row, col = TITLE.search(title).groups()
    return (int(row), int(col)), sums


def stage_box(page, index: int) -> dict:
    """Where stage `index`'s picture is on screen, once it stays put: the page can still be laying out
    what it drew last (in CI the pointer, aimed at row 112 of the output, once landed on row 64: the picture
    had moved after its place was read)."""
    canvas = page.locator(f'figure[data-stage="{index}"] canvas.cnv-picture')
    canvas.scroll_into_view_if_needed()
    return settled_box(page, canvas)


def test_hover_shows_the_arithmetic_of_the_pixel_under_the_pointer(page, app_url):
    open_lab(page, app_url)
    camera = images.load_sample("camera")
    for fx, fy in ((0.3, 0.6), (0.71, 0.22)):
        box = stage_box(page, 1)  # the convolution, 510x510; read again: the page may have moved
        page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        page.wait_for_function(f"() => {LAB}.hover")
        (row, col), sums = arithmetic(page)
        assert abs(row - 510 * fy) <= 2 and abs(col - 510 * fx) <= 2
        expected = ops.pixel_arithmetic(camera, kernels.KERNELS["sobel x"], row, col)
        assert sums.endswith(f"= {display.plain_number(expected.total, 6)}"), sums
        window = page.evaluate(f"() => Array.from({LAB}.gridViews[0][0].cells, td => td.textContent)")
        assert window == [str(int(v)) for v in expected.window.ravel()]
    # the pointer leaves: the chosen pixel is explained again, and nothing was sent to the server
    page.mouse.move(5, 5)
    page.wait_for_function(f"() => !{LAB}.hover")
    assert "row=" not in page.evaluate("() => location.search")


def test_a_click_pins_the_pixel_and_arrow_keys_move_it(page, app_url):
    open_lab(page, app_url)
    box = stage_box(page, 1)
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)
    page.wait_for_function("() => /row=3\\d\\d/.test(location.search)")
    # The pointer leaves, so the arithmetic is the pinned pixel's (under the pointer it is the hovered
    # one, which is another when the picture moved a pixel since the click).
    page.mouse.move(5, 5)
    page.wait_for_function(f"() => !{LAB}.hover")
    (row, col), _ = arithmetic(page)
    assert f"row={row}" in page.evaluate("() => location.search") and f"col={col}" in page.evaluate(
        "() => location.search"
    )
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    page.wait_for_function(
        f"() => location.search.includes('col={col + 1}') && location.search.includes('row={row + 1}')"
    )


# --- editing the kernel where it is drawn -----------------------------------------------------------------

OUTPUT_SUM = f"""() => {{ const c = {LAB}.figures[1].canvas;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let s = 0; for (let i = 0; i < d.length; i += 97) s = (s * 31 + d[i]) % 1000000007; return s; }}"""


def test_dragging_a_kernel_cell_changes_the_output_while_held_and_the_link_on_release(page, app_url):
    sent, received = [], []

    def watch(ws):  # Streamlit's one WebSocket: what the page sends and receives
        ws.on("framesent", lambda frame: sent.append(frame))
        ws.on("framereceived", lambda frame: received.append(len(frame)))

    page.on("websocket", watch)
    open_lab(page, app_url)
    wait_until_idle(page)
    assert sent and received  # watched from the start
    sent.clear()
    received.clear()
    before = page.evaluate(OUTPUT_SUM)
    cell = page.locator('.cnv-kcell[data-row="1"][data-col="1"]')  # the centre of Sobel x: 0
    cell.scroll_into_view_if_needed()
    box = cell.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x, y - 6 * step)  # up: larger, one step every 6 px
    page.wait_for_function(f"() => ({OUTPUT_SUM})() !== {before}")
    held = page.evaluate(f"() => Array.from({LAB}.base.values)")
    assert held[4] == 10  # 0 + 10 steps of 1
    assert "custom=" not in page.evaluate("() => location.search")  # nothing reaches Python while held
    assert sent == []
    page.mouse.up()
    page.wait_for_function("() => location.search.includes('kernel=custom')")
    search = page.evaluate("() => decodeURIComponent(location.search.replace(/\\+/g, ' '))")
    assert "custom=-1 0 1; -2 10 2; -1 0 1" in search
    # The rerun that followed did not send the 512x512 picture again (262,144 bytes): Streamlit sent
    # the unchanged picture element as a reference to what the browser had. The largest frame is the
    # lab's own element, about 15 KB (its settings, the kernels' list, the CSS): its JavaScript is a
    # file the page fetched once, not 86 KB sent again with every change (102 KB frames).
    wait_until_idle(page)
    assert received and max(received) < 30_000, max(received)


def test_a_locked_kernel_cannot_be_changed_in_the_component(page, app_url):
    open_lab(page, app_url, "fix=kernel,custom,stride&stride=2")
    before = page.evaluate(OUTPUT_SUM)
    cell = page.locator('.cnv-kcell[data-row="0"][data-col="0"]')
    cell.scroll_into_view_if_needed()
    box = cell.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.down()
    page.mouse.move(box["x"] + 5, box["y"] - 60)
    page.mouse.up()
    page.mouse.wheel(0, -200)
    assert page.evaluate(f"() => Array.from({LAB}.base.values)")[0] == -1
    assert page.evaluate(OUTPUT_SUM) == before
    assert page.locator('select[aria-label="Stride"]').is_disabled()
    assert page.locator('select[aria-label="Kernel"]').is_disabled()
    assert page.locator('select[aria-label="Padding"]').is_enabled()
    assert "custom=" not in page.evaluate("() => location.search")


# --- large work and the look of it ------------------------------------------------------------------------

BIG = "; ".join(" ".join("1" for _ in range(15)) for _ in range(15))


def test_a_15x15_kernel_on_a_512_rgb_picture_keeps_the_page_answering(page, app_url):
    # One slice per channel (red and blue the kernel, green zeros): two 15x15 convolutions of a 512x512
    # plane, about 75 million multiply-adds, in the worker.
    open_lab(page, app_url, f"colour=rgb&sample=astronaut&kernel=custom&custom={BIG}&slices=each&sb=kernel")
    page.wait_for_function(f"() => {LAB}.result && {LAB}.result.stages[1].h === 498")
    # The weight scrubbed: while the worker computes, the page keeps drawing frames and says it is working.
    # The worker's answer is held 0.6 s more: the 'Computing…' badge comes after 150 ms, and on a loaded
    # machine an answer just past that could arrive before the badge's timer ran (it did once in CI).
    seen = page.evaluate(
        f"""async () => {{
        const lab = {LAB};
        const received = lab.received.bind(lab);
        lab.received = (answer) => setTimeout(() => {{ delete lab.received; received(answer); }}, 600);
        const start = performance.now();
        lab.change('weight', '2', {{ commit: false }});
        const gaps = []; let last = performance.now(); let working = false;
        while (lab.busy || lab.pending) {{
            await new Promise(r => requestAnimationFrame(r));
            const now = performance.now(); gaps.push(now - last); last = now;
            working = working || lab.nodes.status.classList.contains('working');
        }}
        return {{ gaps, working, total: performance.now() - start }}; }}"""
    )
    assert seen["working"]  # 'Computing…' was shown
    # Frames kept coming while the worker computed: the page did not freeze. (How long each frame took
    # is a measurement for bench/lab.py: on a machine with a load of 30 one frame waited 0.7 s.)
    assert len(seen["gaps"]) >= 3, seen
    page.wait_for_function(f"() => !{LAB}.nodes.status.classList.contains('working')")


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (1024, 640)])
@pytest.mark.parametrize("query", ["", "kernel=vertical+line+7x7&colour=rgb&sample=astronaut&post=relu&pool=max"])
def test_screenshots_and_nothing_runs_off_the_page(browser, app_url, artifacts, width, height, query):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    open_lab(page, app_url, query)
    wait_until_idle(page)
    main = page.locator('[data-testid="stMain"]').bounding_box()
    right = main["x"] + main["width"] + 1
    for selector in (".cnv-kernel-grid", ".cnv-stages", ".cnv-grids", ".cnv-settings"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= main["x"] and box["x"] + box["width"] <= right, selector
    name = "rgb7" if query else "gray"
    page.screenshot(path=artifacts / f"lab_live_{name}_{width}.png")
    page.locator(".cnv-arith").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / f"lab_live_{name}_{width}_arithmetic.png")
    context.close()


def test_lesson_one_clipped_output_is_grey_and_can_be_clicked(page, app_url):
    """Lesson 1 step 1 asks for a bright pixel of the output: the clipped picture is grey (not red and
    blue), and clicking it chooses that pixel."""
    open_lab(page, app_url, "sample=camera&kernel=tutorial+horizontal&post=clip")
    modes = page.evaluate(f"() => {LAB}.result.stages.slice(1).map(s => s.mode)")
    assert modes == ["signed", "clipped"]
    box = stage_box(page, 2)
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.4)
    page.wait_for_function("() => /row=20\\d/.test(location.search)")


def test_a_stage_downloads_as_the_servers_png(page, app_url, tmp_path):
    """The PNG a learner downloads is the picture the server's download gives: display.render at full size."""
    open_lab(page, app_url, "post=relu")
    with page.expect_download() as download:
        page.locator('figure[data-stage="2"] .cnv-download').click()
    assert download.value.suggested_filename == "relu.png"
    path = tmp_path / "relu.png"
    download.value.save_as(path)
    ours = np.asarray(Image.open(path).convert("RGB")).astype(np.int32)
    camera = images.load_sample("camera")
    values = run_lab(camera, kernels.KERNELS["sobel x"], LabConfig(activation="relu")).output.values
    assert ours.shape == (510, 510, 3)
    levels = display.signed_index(values, limit=display.signed_limit(values)).astype(np.int32)
    assert np.abs(level_of(ours) - levels).max() <= 1


def test_scrolling_on_the_weight_changes_the_output_and_then_the_link(page, app_url):
    open_lab(page, app_url)
    # (a signed picture looks the same at any weight: its colour bar's numbers are what change)
    bar = f"() => {LAB}.figures[1].barCaption.textContent"
    before = page.evaluate(bar)
    weight = page.locator('input[aria-label="Weight"]')
    weight.scroll_into_view_if_needed()
    weight.hover()
    page.mouse.wheel(0, -100)  # one notch up: 1 -> 1.1
    page.wait_for_function(f"([old]) => ({bar})() !== old", arg=[before])
    assert "red +531.9 " in page.evaluate(bar)  # 483.5 * 1.1, to 4 digits
    page.wait_for_function("() => location.search.includes('weight=1.1')")
    assert weight.input_value() == "1.1"


def test_another_picture_starts_where_the_kernel_answers_again(page, app_url):
    open_lab(page, app_url, "row=5&col=5")
    assert page.evaluate(f"() => {LAB}.nodes.arithTitle.textContent").endswith("(5, 5)")
    camera = page.evaluate(f"() => {LAB}.picture.id")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Sample").first.click()
    page.get_by_role("option", name="Coins", exact=True).click()
    page.wait_for_function(f"([old]) => {LAB}.picture.id !== old && {LAB}.result", arg=[camera])
    page.wait_for_function(f"() => !{LAB}.nodes.arithTitle.textContent.endsWith('(5, 5)')")
    assert "row=" not in page.evaluate("() => location.search")


def test_a_second_drag_while_python_answers_the_first_still_follows_the_pointer(page, app_url):
    """Python's reply to a released drag redraws the lab's controls: a cell held at that moment is not
    rebuilt under the pointer, and its moves and release still arrive."""
    open_lab(page, app_url)
    wait_until_idle(page)
    cells = [page.locator(f'.cnv-kcell[data-row="1"][data-col="{col}"]') for col in (0, 2)]
    cells[0].scroll_into_view_if_needed()
    first, second = (cell.bounding_box() for cell in cells)
    page.mouse.move(first["x"] + first["width"] / 2, first["y"] + first["height"] / 2)
    page.mouse.down()
    page.mouse.move(first["x"] + first["width"] / 2, first["y"] + first["height"] / 2 - 12)  # -2 -> 0
    page.mouse.up()
    x, y = second["x"] + second["width"] / 2, second["y"] + second["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.wait_for_function("() => location.search.includes('kernel=custom')")  # Python has answered
    wait_until_idle(page)
    for step in range(1, 4):
        page.mouse.move(x, y - 6 * step)  # 2 -> 5
    page.wait_for_function(f"() => {LAB}.base.values[5] === 5")
    page.mouse.up()
    page.wait_for_function(f"() => !{LAB}.dragging")
    page.wait_for_function("() => decodeURIComponent(location.search.replace(/\\+/g, ' ')).includes('-1 0 1; 0 0 5')")
    wait_until_idle(page)
    assert page.evaluate(f"() => Array.from({LAB}.base.values)") == [-1, 0, 1, 0, 0, 5, -1, 0, 1]


def test_a_pinned_pixel_comes_back_to_itself_after_a_larger_kernel_and_back(page, app_url):
    open_lab(page, app_url)
    box = stage_box(page, 1)
    page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.4)
    page.wait_for_function("() => /row=\\d+/.test(location.search)")
    page.mouse.move(1, 1)  # off the pictures: the pinned pixel is explained, not the one under the pointer
    page.wait_for_function(f"() => !{LAB}.hover")
    wait_until_idle(page)
    pinned = arithmetic(page)[0]
    kernel = page.locator('select[aria-label="Kernel"]')
    for _ in range(2):  # 510x510 -> 506x506 -> 510x510, twice
        for name, size in (("vertical line 7x7", 506), ("sobel x", 510)):
            kernel.select_option(name)
            # Until the output of that shape is on screen: the 7x7 one is computed in the worker, and the
            # arithmetic was once read while its answer was still on its way (the 506x506 output's pixel).
            page.wait_for_function(
                f"""() => {LAB}.settings.kernel === '{name}' && !{LAB}.dirty && !{LAB}.busy
                    && {LAB}.shownSeq === {LAB}.seq && {LAB}.result.stages[1].h === {size}"""
            )
            wait_until_idle(page)
        assert arithmetic(page)[0] == pinned
    assert f"row={pinned[0]}" in page.evaluate("() => location.search")


@pytest.mark.parametrize("where", [0.8, 0.3])
def test_a_pointer_that_stays_put_explains_the_pixel_under_it_in_a_new_output(browser, app_url, where):
    """A 7x7 kernel makes the output 4 pixels smaller, and its taller grid moves the pictures down (152 px
    at 1440x900): the pixel under a mouse that did not move is another one, or none when the picture slid
    from under it. The lab kept explaining the old output's pixel (CI once read it as the pinned one's)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    open_lab(page, app_url)
    box = stage_box(page, 1)
    pointer = (box["x"] + box["width"] * where, box["y"] + box["height"] * where)
    page.mouse.move(*pointer)
    page.wait_for_function(f"() => {LAB}.hover !== null")
    (row, col), _ = arithmetic(page)
    assert abs(row - where * 510) <= 1 and abs(col - where * 510) <= 1
    page.locator('select[aria-label="Kernel"]').select_option("vertical line 7x7")
    # Once the 506x506 output is shown and laid out, the lab explains the pixel under the pointer where the
    # picture now is (read at each check: the page can still move while Python answers), or none.
    found = page.wait_for_function(
        f"""([x, y]) => {{
            const lab = {LAB};
            if (lab.settings.kernel !== 'vertical line 7x7' || lab.result.stages[1].h !== 506) return false;
            const box = lab.figures[1].canvas.getBoundingClientRect();
            const under = [(y - box.top) / box.height * 506, (x - box.left) / box.width * 506];
            if (!(under.every(v => v >= 0 && v < 506))) return lab.hover === null && {{under: null}};
            const near = lab.hover && lab.hover.every((v, i) => Math.abs(v - under[i]) <= 1.5);
            return near && {{under}};
        }}""",
        arg=list(pointer),
    ).json_value()
    if found["under"]:
        (row, col), _ = arithmetic(page)
        assert abs(row - found["under"][0]) <= 1.5 and abs(col - found["under"][1]) <= 1.5, (row, col, found)
    else:  # the picture slid from under the pointer: nothing is under it, the lab explains its own pixel
        assert "Under the pointer" not in page.evaluate(f"() => {LAB}.nodes.arithTitle.parentElement.innerText")
    context.close()


def test_a_pinned_pixel_carried_to_a_new_output_is_in_the_link_and_survives_a_reload(page, app_url):
    """A 7x7 kernel is computed in the page's worker: the link kept the 3x3 output's row and column,
    and a reload put the pin elsewhere. After a reload the pin is carried again when the output changes."""
    open_lab(page, app_url)
    box = stage_box(page, 1)
    page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.8)
    page.wait_for_function("() => /row=\\d+/.test(location.search)")
    page.mouse.move(1, 1)
    (row, col), _ = arithmetic(page)
    page.locator('select[aria-label="Kernel"]').select_option("vertical line 7x7")
    page.wait_for_function(f"() => {LAB}.result.stages[1].h === 506 && !{LAB}.dirty")
    carried, _ = arithmetic(page)
    assert carried == tuple(int((p + 0.5) * 506 / 510) for p in (row, col))  # the same place on the picture
    page.wait_for_function("r => new RegExp('[?&]row=' + r + '(&|$)').test(location.search)", arg=carried[0])
    wait_until_idle(page)
    page.reload()
    page.wait_for_function(READY, timeout=60_000)
    page.wait_for_function(f"() => {LAB}.result.stages[1].h === 506")
    assert arithmetic(page)[0] == carried
    page.locator('select[aria-label="Kernel"]').select_option("sobel x")
    page.wait_for_function(f"() => {LAB}.result.stages[1].h === 510")
    assert arithmetic(page)[0] == (row, col)  # back where it was pinned, across the reload


def test_a_kernel_cell_clicked_and_left_as_it_was_changes_nothing(page, app_url):
    """Clicking a cell opens it for typing; leaving it as shown must not turn box blur into a custom kernel
    of rounded numbers (1/9 shows as 0.111)."""
    open_lab(page, app_url, "kernel=box+blur")
    cell = page.locator('.cnv-kcell[data-row="1"][data-col="1"]')
    cell.scroll_into_view_if_needed()
    cell.click()
    page.wait_for_function(f"() => {LAB}.typingIn({LAB}.nodes.kernelGrid)")  # its box is open for typing
    page.keyboard.press("Enter")
    page.locator("h1").first.click()  # and away
    wait_until_idle(page)
    assert page.evaluate(f"() => {LAB}.settings.kernel") == "box blur"
    assert "custom" not in page.evaluate("() => location.search")
    assert abs(page.evaluate(f"() => {LAB}.base.values[4]") - 1 / 9) < 1e-6  # the gallery sends 7 decimals


def test_a_typed_fraction_is_a_weight_and_a_word_is_refused_with_a_message(page, app_url):
    open_lab(page, app_url)
    cell = page.locator('.cnv-kcell[data-row="0"][data-col="1"]')
    cell.scroll_into_view_if_needed()
    cell.click()  # a click without a drag: type into the cell
    page.keyboard.type("1/8")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => {LAB}.base.values[1] === 0.125")
    cell.click()
    cell.locator("input").wait_for()
    # Python's reply to the first edit can come while the learner types: the cell keeps its field.
    page.evaluate(f"() => {LAB}.update({LAB}.data)")
    page.keyboard.type("abc")
    page.keyboard.press("Enter")
    error = page.locator(".cnv-error")
    error.wait_for()
    said = error.inner_text()
    assert '"abc" is not a kernel weight' in said and "1/9" in said
    # A reply from Python to the earlier edit, drawn after the refusal, does not wipe what was said.
    page.evaluate(f"() => {LAB}.update({LAB}.data)")
    page.wait_for_function(f"() => {LAB}.shownSeq === {LAB}.seq && !{LAB}.busy")
    assert error.is_visible() and error.inner_text() == said
    assert page.evaluate(f"() => {LAB}.base.values[1]") == 0.125  # kept what it had
    wait_until_idle(page)
    weight = page.get_by_label("Weight", exact=True)
    weight.fill("two")
    weight.press("Enter")
    page.wait_for_function(f"() => {LAB}.nodes.error.textContent.includes('\"two\"')")
    assert weight.input_value() == "1"  # the field shows the weight the pictures use
    weight.fill("1/2")
    weight.press("Enter")
    page.wait_for_function("() => location.search.includes('weight=0.5')")
    page.wait_for_function(f"() => {LAB}.nodes.error.hidden")
