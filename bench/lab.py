"""Convolution Lab benchmarks: compute against TensorFlow and a per-pixel loop, browser latency of a
kernel change against a minimal one-widget page (the server-side view, `compute=server`), the live
lab in the browser (hover, a kernel cell dragged, its equality with the server, the messages it sends
while a button is held), and cold start.

Run: python bench/lab.py   (prints tables, then RESULT lines)
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
from common import CHROMIUM, CHROMIUM_ARGS, ROOT, median_time, percentile, start_app, table

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cnnviz import images, kernels, ops

CHANGES = 24  # kernel changes timed per page (issue: at least 20)
PICKS = 24  # clicks on the output picture timed
COORDINATES = "img.cnv-clickable"  # app_support/common/component/clickable.js


def naive_conv(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The tutorial's way: two Python loops over every output pixel, per channel, VALID, stride 1."""
    kh, kw = kernel.shape
    rows, cols = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.zeros((rows, cols, image.shape[2]), dtype=np.float32)
    for c in range(image.shape[2]):
        plane = image[..., c]
        for r in range(rows):
            for q in range(cols):
                out[r, q, c] = float((plane[r : r + kh, q : q + kw] * kernel).sum())
    return out


def compute() -> dict[str, float]:
    import tensorflow as tf

    image = images.load_sample("astronaut").astype(np.float32)  # 512x512x3
    batch = tf.constant(np.transpose(image, (2, 0, 1))[..., None])  # per-channel: channels as a batch
    rows, results = [], {}
    for kernel_name in ("sobel x", "vertical line 7x7"):
        kernel = kernels.KERNELS[kernel_name]
        tf_kernel = tf.constant(kernel[..., None, None])
        for stride in (1, 2):
            for padding in ("valid", "same"):
                ours = median_time(lambda k=kernel, s=stride, p=padding: ops.conv2d(image, k, stride=s, padding=p))
                theirs = median_time(
                    lambda k=tf_kernel, s=stride, p=padding: tf.nn.conv2d(batch, k, s, p.upper()).numpy()
                )
                size = f"{kernel.shape[0]}x{kernel.shape[1]}"
                rows.append([size, stride, padding, ours * 1e3, theirs * 1e3, ours / theirs])
                results[f"{size}_s{stride}_{padding}"] = ours / theirs
    print("Compute, 512x512 RGB, per-channel convolution (median ms)")
    print(table(["kernel", "stride", "padding", "cnnviz ms", "tf.nn.conv2d ms", "ratio"], rows))

    small = image[:128, :128]
    start = time.perf_counter()
    naive_conv(small, kernels.KERNELS["sobel x"])
    naive_128 = time.perf_counter() - start
    naive_512 = naive_128 * (510 * 510) / (126 * 126)  # the loop's cost grows with the output pixels
    ours = median_time(lambda: ops.conv2d(image, kernels.KERNELS["sobel x"]))
    print(
        f"\nPer-pixel Python loop (tutorial style), 3x3 VALID: {naive_128:.2f} s measured on 128x128x3, "
        f"{naive_512:.1f} s scaled to 512x512x3; cnnviz is {naive_512 / ours:,.0f}x faster."
    )
    results["naive_vs_ours"] = naive_512 / ours
    results.update(transposed())
    return results


def transposed() -> dict[str, float]:
    """ops.conv2d_transpose (zeros inserted, padded, flipped kernel: the lab's stages) and the
    scatter-add definition against tf.nn.conv2d_transpose, 3x3 kernel, stride 2."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    kernel = kernels.KERNELS["box blur"]
    rows, results = [], {}
    for side in (8, 128):
        small = rng.uniform(0, 255, (side, side)).astype(np.float32)
        for padding in ("valid", "same"):
            out = ops.conv2d_transpose(small, kernel, padding=padding)
            x, f = tf.constant(small[None, ..., None]), tf.constant(kernel[:, :, None, None])
            shape = [1, *out.shape, 1]
            ours = median_time(lambda m=small, p=padding: ops.conv2d_transpose(m, kernel, padding=p))
            scatter = median_time(lambda m=small, p=padding: ops.conv2d_transpose_scatter(m, kernel, padding=p))
            theirs = median_time(
                lambda x=x, f=f, shape=shape, p=padding: tf.nn.conv2d_transpose(x, f, shape, 2, p.upper()).numpy()
            )
            worst = float(
                np.abs(out - tf.nn.conv2d_transpose(x, f, shape, 2, padding.upper()).numpy()[0, ..., 0]).max()
            )
            rows.append([f"{side}x{side}", padding, ours * 1e3, scatter * 1e3, theirs * 1e3, worst])
            results[f"transpose_{side}_{padding}"] = ours / theirs
            results["transpose_max_difference"] = max(results.get("transpose_max_difference", 0.0), worst)
    print("\nTransposed convolution, 3x3, stride 2 (median ms)")
    print(table(["map", "padding", "cnnviz ms", "scatter-add ms", "tf ms", "max |difference|"], rows))
    return results


def kernel_change_latency(page, url: str, options: list[str]) -> list[float]:
    """ms from picking another kernel to the new output image shown, over CHANGES changes."""
    from harness.browser import image_src, wait_for_new_image

    page.goto(url)
    previous = wait_for_new_image(page, "convolution", "", timeout=60_000)
    latencies = []
    for n in range(CHANGES + 2):
        option = options[(n + 1) % len(options)]
        page.wait_for_timeout(250)  # let the last run settle: each change starts from an idle page
        box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Kernel").first
        box.click()
        choice = page.get_by_role("option", name=option, exact=True)
        choice.wait_for()
        start = time.perf_counter()
        choice.click()
        previous = wait_for_new_image(page, "convolution", previous)
        elapsed = (time.perf_counter() - start) * 1e3
        if n >= 2:  # the first two warm caches up
            latencies.append(elapsed)
        assert image_src(page, "convolution") == previous
    return latencies


def pick_latency(page, url: str) -> list[float]:
    """ms from a click on the output picture to the new pixel's arithmetic shown (its caption and sum)."""
    from harness.browser import wait_until_idle

    page.goto(url)
    page.locator("table.cnv-grid").first.wait_for(timeout=60_000)
    wait_until_idle(page)
    picture = page.locator(COORDINATES).nth(1)
    picture.scroll_into_view_if_needed()
    rng = np.random.default_rng(0)
    latencies = []
    for n in range(PICKS + 2):
        page.wait_for_timeout(250)
        box = picture.bounding_box()  # mouse.click skips locator checks
        x, y = rng.uniform(0.1, 0.9, size=2)
        before = page.locator("code").filter(has_text="=").last.inner_text()
        start = time.perf_counter()
        page.mouse.click(box["x"] + box["width"] * x, box["y"] + box["height"] * y)
        # The sum below the grids has changed: the whole arithmetic has arrived.
        page.wait_for_function(
            "([old]) => { const codes = [...document.querySelectorAll('code')].filter(c => c.innerText.includes('='));"
            " return codes.length && codes[codes.length - 1].innerText !== old; }",
            arg=[before],
        )
        elapsed = (time.perf_counter() - start) * 1e3
        if n >= 2:
            latencies.append(elapsed)
    return latencies


LIVE_EVENTS = 60  # pointer events timed per live measurement, after WARMUP
WARMUP = 8
LAB = "[...window.__cnnvizLab.labs][0]"


def open_live(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function(f"() => window.__cnnvizLab && window.__cnnvizLab.labs.size && {LAB}.result", timeout=90_000)


def hover_latency(page, url: str) -> list[float]:
    """ms from a pointer event over the output to the next animation frame after that pixel's
    arithmetic is drawn (measured in the page: the event's timeStamp to requestAnimationFrame)."""
    open_live(page, url)
    canvas = page.locator('figure[data-stage="1"] canvas.cnv-picture')
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    rng = np.random.default_rng(1)
    for _ in range(WARMUP + LIVE_EVENTS):
        count = page.evaluate(f"() => {LAB}.timings.hover.length")
        x, y = rng.uniform(0.05, 0.95, size=2)
        page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * y)
        page.wait_for_function(f"() => {LAB}.timings.hover.length > {count}")
    return page.evaluate(f"() => {LAB}.timings.hover.slice({WARMUP})")


def scrub_latency(page, url: str) -> tuple[list[float], int]:
    """ms from each step of a drag on a kernel cell to the next animation frame after the new output is
    drawn (each step waits for its picture), and the WebSocket frames the page sent while the button
    was held (50 steps)."""
    from harness.browser import wait_until_idle

    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(frame)))  # before it opens
    open_live(page, url)
    assert sent, "the page's WebSocket was not watched"
    wait_until_idle(page)  # the first run's own messages are over
    cell = page.locator(".cnv-kcell").first
    cell.scroll_into_view_if_needed()
    box = cell.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    before = len(sent)
    held_frames = 0
    for n in range(WARMUP + LIVE_EVENTS):
        count = page.evaluate(f"() => {LAB}.timings.scrub.length")
        k = n % 50
        page.mouse.move(x, y - 6 * (k + 1 if k < 25 else 49 - k))  # up 25 steps, down again: each one a change
        page.wait_for_function(f"() => {LAB}.timings.scrub.length > {count}")
        if n == WARMUP + 49:
            held_frames = len(sent) - before
    page.mouse.up()
    return page.evaluate(f"() => {LAB}.timings.scrub.slice({WARMUP})"), held_frames


def live() -> dict[str, float]:
    """The live lab (app_support/lab/live.py) in Chromium: hover, scrub, equality, round trips."""
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))
    from tests.test_lab_live import browser_max_diff

    results, rows = {}, []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        process, url = start_app("app.py")
        try:
            page = chromium.new_page(viewport={"width": 1440, "height": 900})
            hovers = hover_latency(page, url + "/convolution_lab")
            scrubs, trips = scrub_latency(page, url + "/convolution_lab")
            rgb, _ = scrub_latency(
                page,
                url + "/convolution_lab?colour=rgb&sample=astronaut&kernel=vertical+line+7x7&post=relu&pool=max",
            )
            worst_value, worst_level = browser_max_diff(page, cases=40, seed=1)
            compute = page.evaluate(f"() => {LAB}.timings.compute.slice(-{LIVE_EVENTS})")
            page.close()
        finally:
            process.terminate()
            process.wait(timeout=10)
        chromium.close()
    for label, values in (
        ("hover over the output -> its arithmetic drawn", hovers),
        ("drag a kernel cell, 512x512 gray 3x3 -> output drawn", scrubs),
        ("drag a kernel cell, 512x512 RGB 7x7 ReLU max pool -> drawn", rgb),
        ("  of which the worker's pipeline (RGB 7x7)", compute),
    ):
        rows.append([label, len(values), percentile(values, 50), percentile(values, 95), max(values)])
    print("\nLive lab in Chromium: input event -> next animation frame after the drawing (ms)")
    print(table(["event", "n", "p50 ms", "p95 ms", "max ms"], rows))
    print(
        f"\nEquality with run_lab over 40 random cases: values {worst_value:.2e} of the range, "
        f"pictures {worst_level} grey level(s)"
    )
    print(f"WebSocket frames the page sent during 50 steps of a held drag: {trips}")
    results.update(
        hover=percentile(hovers, 95),
        scrub=percentile(scrubs, 95),
        scrub_rgb7=percentile(rgb, 95),
        max_diff=worst_value,
        round_trips=trips,
    )
    return results


def browser() -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    options = [name.capitalize() for name in kernels.KERNELS if kernels.KERNELS[name].shape == (3, 3)]
    results = {}
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        rows = []
        for label, script, path in (
            ("minimal page", "bench/minimal_page.py", ""),
            ("lab", "app.py", "/convolution_lab?compute=server"),
        ):
            process, url = start_app(script)
            try:
                page = chromium.new_page(viewport={"width": 1400, "height": 1000})
                latencies = kernel_change_latency(page, url + path, options)
                page.close()
            finally:
                process.terminate()
                process.wait(timeout=10)
            p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
            rows.append([label, len(latencies), p50, p95, max(latencies)])
            results[label] = p95
        print("\nBrowser: pick another kernel -> new output image shown (ms)")
        print(table(["page", "changes", "p50 ms", "p95 ms", "max ms"], rows))

        process, url = start_app("app.py")
        try:
            page = chromium.new_page(viewport={"width": 1400, "height": 1000})
            picks = pick_latency(page, url + "/convolution_lab?compute=server")
            page.close()
        finally:
            process.terminate()
            process.wait(timeout=10)
        print("\nBrowser: click the output picture -> that pixel's arithmetic shown (ms)")
        print(
            table(
                ["clicks", "p50 ms", "p95 ms", "max ms"],
                [[len(picks), percentile(picks, 50), percentile(picks, 95), max(picks)]],
            )
        )
        results["pick"] = percentile(picks, 95)

        cold = []
        for _ in range(3):
            page = chromium.new_page()
            start = time.perf_counter()
            process, url = start_app("app.py")
            try:
                page.goto(url)
                page.locator("h1", has_text="see how convolutional neural networks work").wait_for(timeout=60_000)
                cold.append(time.perf_counter() - start)
            finally:
                page.close()
                process.terminate()
                process.wait(timeout=10)
        print(f"\nCold start, `streamlit run app.py` to the home page painted: {', '.join(f'{c:.2f}' for c in cold)} s")
        results["cold_start_s"] = float(np.median(cold))
        chromium.close()
    return results


def main() -> None:
    if "--browser-only" in sys.argv:  # for iterating on the page; the RESULT lines need the full run
        browser()
        return
    if "--live-only" in sys.argv:
        live_results = live()
        for name in ("hover", "scrub", "scrub_rgb7"):
            print(f"RESULT {name}_p95_ms {live_results[name]:.1f}")
        return
    compute_results = compute()
    live_results = live()
    browser_results = browser()
    print()
    print(f"RESULT hover_p95_ms {live_results['hover']:.1f}")
    print(f"RESULT scrub_p95_ms {live_results['scrub']:.1f}")
    print(f"RESULT scrub_rgb7_p95_ms {live_results['scrub_rgb7']:.1f}")
    print(f"RESULT browser_max_diff {live_results['max_diff']:.3g}")
    print(f"RESULT scrub_round_trips {live_results['round_trips']}")
    print(f"RESULT conv_vs_tf_ratio {compute_results['3x3_s1_valid']:.3f}")
    print(f"RESULT lab_p95_ms {browser_results['lab']:.0f}")
    print(f"RESULT lab_vs_minimal_p95_ratio {browser_results['lab'] / browser_results['minimal page']:.3f}")
    print(f"RESULT cold_start_s {browser_results['cold_start_s']:.2f}")
    print(f"RESULT pick_p95_ms {browser_results['pick']:.0f}")
    print(f"RESULT transpose_max_difference {compute_results['transpose_max_difference']:.3g}")


if __name__ == "__main__":
    main()
