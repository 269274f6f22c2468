"""Inside-the-network benchmarks: all feature maps plus Grad-CAM for one image against one plain
`model.predict`, and the page's response in the browser after choosing another layer or class; then
the "What did it learn?" page: the browser response of each interactive view on the shipped model (a
click on a unit, another occlusion patch, another epsilon) and of the embedding's epoch scrubber on a
run trained in the Trainer, a whole layer's feature-visualisation grid, and how often FGSM changes the
shipped model's answer.

RESULT views_p95_ms: the slowest of the four views' p95 (each printed as views_p95_ms_<view>): from the
input (click, number, slider key) to the new picture or chart shown. Goal < 300 ms each.
RESULT featurevis_layer_s: the toggle to the grid of conv2's 64 channels shown (progress bar on the way).
Goal < 10 s.
RESULT fgsm_flip_rate: the share of the correctly classified bundled MNIST test digits (all 2,000
held out) whose prediction FGSM changes at epsilon 0.2 x 255 = 51.

Run: python bench/inside.py   (prints tables, then RESULT lines)
    python bench/inside.py --views   (only the What did it learn? part)
"""

from __future__ import annotations

import os
import re
import sys
import time

from common import CHROMIUM, CHROMIUM_ARGS, median_time, percentile, start_app, table

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CHANGES = 24


def compute() -> float:
    import keras

    from app_support.common.model_source import DEFAULT_MODEL
    from cnnviz import cam, datasets, features

    model = keras.models.load_model(DEFAULT_MODEL, compile=False)
    image = datasets.mnist_bundled().x_test[0]
    predict = median_time(lambda: model.predict(image[None], verbose=0), repeat=20)
    maps = median_time(lambda: features.feature_maps(model, image), repeat=20)
    heat = median_time(lambda: cam.grad_cam(model, image), repeat=20)
    both = median_time(lambda: (features.feature_maps(model, image), cam.grad_cam(model, image)), repeat=20)
    print("Default MNIST model, one 28x28 test digit (median ms)")
    rows = [
        ["model.predict", predict * 1e3, 1.0],
        ["feature_maps (all layers)", maps * 1e3, maps / predict],
        ["grad_cam", heat * 1e3, heat / predict],
        ["feature_maps + grad_cam", both * 1e3, both / predict],
    ]
    print(table(["work", "ms", "x predict"], rows))
    return both / predict


def browser() -> list[float]:
    from playwright.sync_api import sync_playwright

    from harness.browser import wait_for_new_image

    latencies = []
    process, url = start_app("app.py")
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = chromium.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url + "/inside")
            previous = wait_for_new_image(page, "test #0", "", timeout=90_000)

            def pick(label: str, option: str, caption: str, before: str) -> str:
                page.wait_for_timeout(250)
                box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
                box.click()
                choice = page.get_by_role("option", name=option, exact=True)
                choice.wait_for()
                start = time.perf_counter()
                choice.click()
                after = wait_for_new_image(page, caption, before, timeout=30_000)
                latencies.append((time.perf_counter() - start) * 1e3)
                return after

            layers = ["conv2", "maxpool1", "maxpool2", "conv1"]
            for n in range(CHANGES // 2 + 2):
                previous = pick("Layer", layers[n % len(layers)], "test #0", previous)
            del latencies[:2]  # warm-up
            page.get_by_text("Heatmaps (why this class?)").click()
            heat = wait_for_new_image(page, "Grad-CAM", "", timeout=60_000)
            for n in range(CHANGES // 2):
                heat = pick("Class", str((n + 2) % 10), "Grad-CAM", heat)
            chromium.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"\nBrowser: choose another layer ({CHANGES // 2}) or class ({CHANGES // 2}) -> new picture shown (ms)")
    half = len(latencies) - CHANGES // 2
    parts = (("layer", latencies[:half]), ("class", latencies[half:]), ("all", latencies))
    rows = [[name, len(part), percentile(part, 50), percentile(part, 95), max(part)] for name, part in parts]
    print(table(["change", "count", "p50 ms", "p95 ms", "max ms"], rows))
    return latencies


VIEW_CHANGES = 12
CLICKABLE = "img.cnv-clickable"  # app_support/common/component/clickable.js


def fgsm_flip_rate(epsilon: float = 0.2 * 255) -> float:
    import keras

    from app_support.common.model_source import DEFAULT_MODEL
    from cnnviz import adversarial, datasets

    model = keras.models.load_model(DEFAULT_MODEL, compile=False)
    data = datasets.mnist_bundled()
    start = time.perf_counter()
    rate, correct = adversarial.flip_rate(model, data.x_test, data.y_test, epsilon=epsilon)
    seconds = time.perf_counter() - start
    print(f"\nFGSM at epsilon {epsilon:g} of 255 on the {len(data.x_test):,} bundled MNIST test digits:")
    print(f"{correct:,} correctly classified, {rate:.1%} of them change class ({seconds:.1f} s in all)")
    return rate


def views() -> tuple[dict[str, list[float]], float]:
    """The browser response of each view of What did it learn?, and the feature-visualisation grid."""
    from playwright.sync_api import sync_playwright

    from harness.browser import choose, wait_for_new_image, wait_until_idle

    timings: dict[str, list[float]] = {}
    process, url = start_app("app.py")
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = chromium.new_page(viewport={"width": 1440, "height": 900})

            def timed(name: str, act, caption: str, before: str) -> str:
                wait_until_idle(page)
                page.wait_for_timeout(200)
                start = time.perf_counter()
                act()
                after = wait_for_new_image(page, caption, before, timeout=30_000)
                timings.setdefault(name, []).append((time.perf_counter() - start) * 1e3)
                return after

            page.goto(url + "/learned")
            window = wait_for_new_image(page, "its receptive field:", "", timeout=90_000)

            def click_unit(row: int, col: int):
                def act():
                    image = page.locator(CLICKABLE).first
                    box = image.bounding_box()
                    image.click(position={"x": (col + 0.5) * box["width"] / 11, "y": (row + 0.5) * box["height"] / 11})

                return act

            page.locator(CLICKABLE).first.scroll_into_view_if_needed()
            for n in range(VIEW_CHANGES + 2):
                window = timed("receptive", click_unit(n % 11, (3 * n + 1) % 11), "its receptive field:", window)

            def section(name: str, caption: str) -> str:
                page.get_by_role("radio", name=name, exact=True).click()
                return wait_for_new_image(page, caption, "", timeout=90_000)

            def number(label: str, value: int):
                def act():
                    box = page.locator('[data-testid="stNumberInput"]').filter(has_text=label).locator("input")
                    box.fill(str(value))
                    box.press("Enter")

                return act

            occluded = section("Occlusion", "occlusion, ")
            for patch in range(3, 3 + VIEW_CHANGES + 2):  # each patch new: nothing cached
                occluded = timed("occlusion", number("Patch", patch), "occlusion, ", occluded)

            changed = section("Adversarial", "changed:")
            thumb = page.locator('[data-testid="stSlider"]').filter(has_text="Epsilon").get_by_role("slider")
            for _ in range(VIEW_CHANGES + 2):
                changed = timed("adversarial", lambda: (thumb.focus(), thumb.press("ArrowRight")), "changed:", changed)

            section("Feature visualisation", "what excites channel")
            wait_until_idle(page)
            start = time.perf_counter()
            page.get_by_text(re.compile(r"^Compute all \d+ channels")).click()
            page.locator('[data-testid="stProgress"]').first.wait_for(timeout=30_000)  # progress is shown
            wait_for_new_image(page, "64 of 64 channels of conv2", "", timeout=120_000)
            layer_s = time.perf_counter() - start

            # The embedding's scrubber needs a run with checkpoints: train one as a learner does.
            page.goto(url + "/trainer")
            page.locator("h1", has_text="Trainer").wait_for(timeout=60_000)
            choose(page, "Dataset", "Digits (scikit-learn, 8x8 scaled up)")
            page.get_by_text("1,438 train and 359 test images").wait_for(timeout=60_000)
            wait_until_idle(page)
            epochs = page.locator('[data-testid="stNumberInput"]').filter(has_text="Epochs").locator("input")
            epochs.fill("5")
            epochs.press("Enter")
            page.get_by_text(re.compile(r"for 5 epoch")).wait_for(timeout=15_000)
            wait_until_idle(page)
            page.get_by_test_id("stBaseButton-primary").filter(has_text="Train").click()
            page.get_by_text(re.compile(r"Finished\. Trained 5 epochs")).wait_for(timeout=300_000)
            page.get_by_role("link", name="What did it learn?").click()
            page.get_by_text("What did it learn?", exact=True).first.wait_for(timeout=60_000)
            choose(page, "Model", "Run 1: mnist-fast (this session)")
            wait_until_idle(page)
            page.get_by_role("radio", name="Embedding", exact=True).click()
            page.get_by_text(re.compile(r"test images after epoch 5")).wait_for(timeout=180_000)
            wait_until_idle(page)
            slider = page.locator('[data-testid="stSlider"]').filter(has_text="Epoch").get_by_role("slider")
            # The chart is replaced while it redraws: read it null-safe.
            first_x = "() => String(document.querySelector('.js-plotly-plot')?._fullData?.[0]?.x?.[0])"
            epoch = 5
            for target in [4, 3, 2, 1, 2, 3, 4, 5, 4, 3, 2, 1, 2, 3][: VIEW_CHANGES + 2]:
                step, epoch = target - epoch, target
                before = page.evaluate(first_x)
                wait_until_idle(page)
                page.wait_for_timeout(200)
                start = time.perf_counter()
                slider.focus()
                slider.press("ArrowLeft" if step < 0 else "ArrowRight")
                page.wait_for_function(
                    "([e, old]) => /after epoch (\\d+)/.exec(document.body.innerText)?.[1] === e"
                    " && String(document.querySelector('.js-plotly-plot')?._fullData?.[0]?.x?.[0]) !== old",
                    arg=[str(epoch), before],
                    timeout=30_000,
                )
                timings.setdefault("embedding", []).append((time.perf_counter() - start) * 1e3)
            chromium.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    for name in timings:
        del timings[name][:2]  # warm-up
    print("\nWhat did it learn? in the browser: input -> new picture (or chart) shown, ms")
    rows = [[name, len(t), percentile(t, 50), percentile(t, 95), max(t)] for name, t in timings.items()]
    print(table(["view", "count", "p50 ms", "p95 ms", "max ms"], rows))
    print(f"\nFeature visualisation, conv2's 64 channels: {layer_s:.1f} s from the toggle to the grid")
    return timings, layer_s


def main() -> None:
    if "--views" not in sys.argv:
        ratio = compute()
        latencies = browser()
    rate = fgsm_flip_rate()
    timings, layer_s = views()
    print()
    if "--views" not in sys.argv:
        print(f"RESULT explain_vs_predict_ratio {ratio:.3f}")
        print(f"RESULT inside_p95_ms {percentile(latencies, 95):.0f}")
    for name, values in timings.items():
        print(f"RESULT views_p95_ms_{name} {percentile(values, 95):.0f}")
    print(f"RESULT views_p95_ms {max(percentile(values, 95) for values in timings.values()):.0f}")
    print(f"RESULT featurevis_layer_s {layer_s:.2f}")
    print(f"RESULT fgsm_flip_rate {rate:.3f}")


if __name__ == "__main__":
    main()
