"""Your own classes in a real Chromium, as a learner makes them: name three classes, draw examples of
each with the mouse, remove one, download the zip, add a classmate's drawings to it and load it back,
train, then draw a new shape and see its class. Screenshots land in artifacts/."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnviz import images
from cnnviz.own_classes import OwnClasses
from harness import drawn_shapes
from harness import own_classes_browser as own
from harness.drawn_shapes import SHAPES
from tests.browser_helpers import wait_until_idle

pytestmark = pytest.mark.browser


def test_draw_three_classes_train_and_predict_live(page, app_url, artifacts, tmp_path):
    rng = np.random.default_rng(7)
    own.open_own(page, app_url)
    own.name_classes(page, list(SHAPES))
    # Two examples of each by mouse (a class wants five: its tick comes then), one more
    # circle that goes again.
    for index, shape in enumerate(SHAPES):
        own.add_drawings(page, shape, index, 3 if shape == "circle" else 2, rng)
    assert [own.count_of(page, i) for i in range(3)] == ["3 examples", "2 examples", "2 examples"]
    page.screenshot(path=artifacts / "own_classes_made.png", full_page=True)

    # A bad example goes: its remove button under it in the class's grid.
    own.click(page, "own_remove_0_0")
    page.wait_for_function("() => document.querySelector('.st-key-own_count_0').innerText.startsWith('2\u00a0')")
    wait_until_idle(page)

    # The zip holds a folder per class; a classmate's drawings (three of each, drawn as the mouse draws
    # them) go into it, and loading it back gives the classes with all of them.
    with page.expect_download() as download:
        own.click(page, "own_zip_download")
    classes = OwnClasses.from_zip(Path(download.value.path()).read_bytes())
    assert classes.counts() == {"circle": 2, "cross": 2, "zigzag": 2}
    for shape in SHAPES:
        for _ in range(3):
            classes.add(shape, drawn_shapes.draw(shape, rng))
    data = classes.to_zip()
    own.keyed(page, "own_zip_0").locator("input[type=file]").set_input_files(
        files=[{"name": "my_classes.zip", "mimeType": "application/zip", "buffer": data}]
    )
    page.get_by_text("Loaded my_classes.zip: circle (5), cross (5), zigzag (5).").wait_for()
    wait_until_idle(page)

    seconds = own.train(page)
    assert seconds < 180
    wait_until_idle(page)
    answers = []
    for shape in ("circle", "cross"):
        label, _ = own.draw_and_read(page, own.live_strokes(page, shape, np.random.default_rng(3)))
        answers.append(label.splitlines()[0])
        own.clear_live(page)
    assert answers == ["circle", "cross"]
    own.draw_and_read(page, own.live_strokes(page, "zigzag", np.random.default_rng(3)))
    own.keyed(page, "own_live_answer").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "own_classes_live.png")

    # Take it home as a person does: the model and its script saved under the names the browser
    # offers, in one folder, then `python predict_keras.py picture.png` as the page says.
    for label in ("Model (.keras)", "predict_keras.py"):
        with page.expect_download() as download:
            page.get_by_role("button", name=label).first.click()
        download.value.save_as(tmp_path / download.value.suggested_filename)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.keras", "predict_keras.py"]
    (tmp_path / "picture.png").write_bytes(images.encode_png(drawn_shapes.draw("circle", np.random.default_rng(5))))
    command = [sys.executable, "predict_keras.py", "picture.png"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    name, share = result.stdout.strip().splitlines()[-1].split()
    assert name in SHAPES and share.startswith("(") and share.endswith("%)")

    # A reload finds every example (kept in the store for this learner) and the run with its live test.
    page.reload()
    own.keyed(page, "own_count_2").wait_for()
    assert [own.count_of(page, i) for i in range(3)] == ["5 examples ✓", "5 examples ✓", "5 examples ✓"]
    page.get_by_text("Try it: draw a new one").wait_for()
