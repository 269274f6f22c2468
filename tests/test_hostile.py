"""The hostile corpus (tests/hostile_corpus.py), replayed against the three public loaders: every file
is refused with the project's own error and a message that says what was wrong, quickly, and the
valid-but-odd images (animated GIF, 16-bit, CMYK, palette with transparency) still open."""

import io
import time

import numpy as np
import pytest
from PIL import Image

from cnnviz import image_folders, images, model_files
from cnnviz.blocks import summarize
from cnnviz.errors import InvalidInput
from harness.hostile_corpus import GOOD_FOLDERS, corpus, lie_about_size, zip_of

LOADERS = {"image": images.load_image, "zip": image_folders.load_image_folder_zip, "model": model_files.load_model_file}
CASES = [(target, name, data) for target, entries in corpus().items() for name, data in entries]


@pytest.mark.parametrize(("target", "name", "data"), CASES, ids=[f"{t}: {n}" for t, n, _ in CASES])
def test_every_hostile_file_is_refused_with_a_message(target, name, data):
    start = time.perf_counter()
    with pytest.raises(InvalidInput) as refusal:
        LOADERS[target](data)
    elapsed = time.perf_counter() - start
    message = str(refusal.value)
    assert isinstance(refusal.value, ValueError)
    assert len(message) > 20 and "Traceback" not in message, message
    assert elapsed < 2.0, f"{name}: {elapsed:.2f} s"


def test_the_corpus_covers_what_the_issue_names():
    names = " | ".join(name for _, name, _ in CASES)
    for needed in (
        "50000x50000",
        "truncated",
        "executable",
        "zero bytes",
        "absolute path",
        "dot-dot",
        "symlink",
        "nested zip",
        "zip bomb",
        "header lies",
        "Lambda",
        "TFSMLayer",
        "custom",
        ".h5",
    ):
        assert needed in names, needed


def test_zip_headers_are_not_trusted_either_way():
    """Sizes are counted as the bytes stream: a header claiming 4 GB for a small real image changes nothing
    (the image loads), and one claiming 10 bytes for it is caught by the CRC (see the corpus)."""
    lying = lie_about_size(zip_of(GOOD_FOLDERS), b"cats/c0.png", 2**32 - 1)
    data = image_folders.load_image_folder_zip(lying, image_size=16)
    assert data.class_names == ("cats", "dogs") and sum(a + b for a, b in data.counts().values()) == 6


def _encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def test_odd_but_valid_images_open():
    frames = [Image.new("P", (12, 10), i) for i in (1, 2, 3)]
    animated = io.BytesIO()
    frames[0].save(animated, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    palette = Image.new("P", (12, 10), 0)
    palette.putpalette([255, 0, 0] * 256)
    sixteen = Image.fromarray(np.full((10, 12), 40000, dtype=np.uint16))
    for data in (
        animated.getvalue(),
        _encoded(sixteen, "PNG"),
        _encoded(Image.new("CMYK", (12, 10), (0, 255, 0, 0)), "JPEG"),
        _encoded(palette, "PNG", transparency=0),
    ):
        image = images.load_image(data)
        assert image.dtype == np.uint8 and image.shape[:2] == (10, 12)


@pytest.mark.parametrize(
    "text",
    ["", "nan", "1 2 3; 4 inf 6; 7 8 9", "1e309", "1 2; 3", "[[1, 2], [3]]", "1e7", "; ; ;",
     "1 " * 16, "\n".join(["1"] * 16), "import os", "1/0"],
)  # fmt: skip
def test_hostile_kernels_are_refused(text):
    from cnnviz import kernels

    with pytest.raises(InvalidInput) as refusal:
        kernels.parse_kernel(text)
    assert len(str(refusal.value)) > 20


def test_networks_that_would_not_fit_are_refused_before_building():
    too_many_params = [{"type": "flatten"}, {"type": "dense", "units": 4096}, {"type": "dense", "units": 4096}]
    with pytest.raises(InvalidInput, match="parameters"):
        summarize(too_many_params, (256, 256, 3), 10)
    huge_maps = [{"type": "conv", "filters": 512, "kernel": 3, "padding": "same"}] * 3 + [{"type": "gap"}]
    with pytest.raises(InvalidInput, match="MB of activations"):
        summarize(huge_maps, (256, 256, 3), 10)


@pytest.mark.parametrize(
    "setting",
    [{"learning_rate": float("nan")}, {"learning_rate": float("inf")}, {"learning_rate": -1.0}, {"batch_size": 0},
     {"batch_size": 10**9}, {"epochs": 0}, {"epochs": 10**9}],
)  # fmt: skip
def test_hostile_training_settings_are_refused(setting):
    from cnnviz.training import TrainConfig

    with pytest.raises(InvalidInput):
        TrainConfig(**setting).validate()
