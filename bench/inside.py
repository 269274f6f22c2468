"""Inside-the-network benchmarks: all feature maps plus Grad-CAM for one image against one plain
`model.predict`, and the page's response in the browser after choosing another layer or class.

Run: python bench/inside.py   (prints tables, then RESULT lines)
"""

from __future__ import annotations

import os
import time

from common import CHROMIUM, CHROMIUM_ARGS, median_time, percentile, start_app, table

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CHANGES = 24


def compute() -> float:
    import keras

    from app_support.model_source import DEFAULT_MODEL
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


def main() -> None:
    ratio = compute()
    latencies = browser()
    print()
    print(f"RESULT explain_vs_predict_ratio {ratio:.3f}")
    print(f"RESULT inside_p95_ms {percentile(latencies, 95):.0f}")


if __name__ == "__main__":
    main()
