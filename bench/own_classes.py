"""Your own classes, end to end in Chromium, as a class would use it.

The script draws three classes of shapes as a hand draws them on the canvas (circles, zigzags and
crosses with random size, position and brush, harness/drawn_shapes.py), ten of each, and gives them
to the Trainer's "your own classes" as the zip a learner would load to continue. Then:

- own_train_s: Train pressed until the live test is ready (its canvas drawn), warm worker.
- own_accuracy: the model the app trained (downloaded through its "Model (.keras)" button) on fifty new
  drawings per class, prepared as the app prepares them.
- live_predict_p95_ms: strokes drawn with the mouse on the live canvas, from each mouse-up until the
  new answer and heatmap are on screen; the 95th percentile over all strokes.

Run: python bench/own_classes.py [--strokes-shapes 12] [--scratch]   (tables, then RESULT lines)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# This folder last on the path: bench/queue.py would otherwise hide the standard library's queue
# (which TensorFlow imports).
HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in (HERE, "")] + [HERE]

import numpy as np  # noqa: E402
from common import CHROMIUM, CHROMIUM_ARGS, percentile, start_app, table  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cnnviz.own_classes import OwnClasses, prepare_example  # noqa: E402
from harness import own_classes_browser as own  # noqa: E402
from harness.browser import wait_until_idle  # noqa: E402
from harness.drawn_shapes import SHAPES, draw  # noqa: E402

GOALS = {"own_train_s": "< 20", "own_accuracy": ">= 0.9", "live_predict_p95_ms": "< 300"}


def made_classes(per_class: int, seed: int) -> OwnClasses:
    rng = np.random.default_rng(seed)
    made = OwnClasses()
    for shape in SHAPES:
        made.add_class(shape)
        for _ in range(per_class):
            made.add(shape, draw(shape, rng))
    return made


def accuracy(model_file: Path, class_names, per_class: int, seed: int) -> tuple[float, dict[str, float]]:
    """The model's accuracy on `per_class` new drawings of each shape; `class_names` in its output order."""
    import keras

    model = keras.models.load_model(model_file, compile=False)
    rng = np.random.default_rng(seed)
    per_shape = {}
    for shape in SHAPES:
        label = class_names.index(shape)
        batch = np.stack([prepare_example(draw(shape, rng), kind="drawings") for _ in range(per_class)])
        predicted = np.asarray(model.predict(batch.astype(np.float32), verbose=0)).argmax(axis=1)
        per_shape[shape] = float((predicted == label).mean())
    return statistics.mean(per_shape.values()), per_shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strokes-shapes", type=int, default=12, help="shapes drawn on the live canvas")
    parser.add_argument("--scratch", action="store_true", help="train from scratch instead of the digit network")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="own-bench-"))
    zipped = folder / "shapes.zip"
    zipped.write_bytes(made_classes(10, seed=1).to_zip())
    class_names = OwnClasses.from_zip(zipped.read_bytes()).class_names  # as the app reads the zip back: sorted
    process, url = start_app()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            own.open_own(page, url)
            own.keyed(page, "own_zip_0").locator("input[type=file]").set_input_files(str(zipped))
            page.get_by_text("Loaded shapes.zip").wait_for(timeout=30_000)
            wait_until_idle(page)
            if args.scratch:
                own.keyed(page, "own_scratch").locator("label").first.click()
                wait_until_idle(page)
            time.sleep(30)  # the spare worker has imported TensorFlow (as in a class, minutes after the start)
            phases: dict[str, float] = {}
            train_s = own.train(page, phases=phases)
            wait_until_idle(page)
            with page.expect_download() as download:
                page.get_by_role("button", name="Model (.keras)").first.click()
            model_file = folder / "model.keras"
            Path(download.value.path()).replace(model_file)
            times, answers = [], []
            rng = np.random.default_rng(5)
            for number in range(args.strokes_shapes):
                shape = SHAPES[number % 3]
                label, stroke_ms = own.draw_and_read(page, own.live_strokes(page, shape, rng))
                times += stroke_ms
                answers.append((shape, label.splitlines()[0]))
                own.clear_live(page)
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    mean_accuracy, per_shape = accuracy(model_file, class_names, 50, seed=99)
    print(table(["shape", "accuracy on 50 new drawings"], [[s, a] for s, a in per_shape.items()]))
    print()
    rows = [
        *[[f"  {name} (s after Train)", seconds, ""] for name, seconds in phases.items()],
        ["own_train_s", train_s, GOALS["own_train_s"]],
        ["own_accuracy", mean_accuracy, GOALS["own_accuracy"]],
        ["live answers right (drawn in the browser)", sum(s == a for s, a in answers) / len(answers), ""],
        ["live_predict_p50_ms", percentile(times, 50), ""],
        ["live_predict_p95_ms", percentile(times, 95), GOALS["live_predict_p95_ms"]],
        ["strokes timed", len(times), ""],
    ]
    print(table(["measure", "value", "goal"], rows))
    print(f"(load average over the last minute at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"RESULT own_train_s {train_s:.2f}")
    print(f"RESULT own_accuracy {mean_accuracy:.4f}")
    print(f"RESULT live_predict_p95_ms {percentile(times, 95):.1f}")


if __name__ == "__main__":
    main()
