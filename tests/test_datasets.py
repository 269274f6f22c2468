"""cnnviz.datasets: bundled data, the zip loader's rules, and keras.datasets offline and cached."""

import gzip
import io
import struct
import urllib.request

import numpy as np
import pytest
from PIL import Image

from cnnviz import datasets, image_folders
from cnnviz.errors import InvalidInput
from harness.hostile_corpus import zip_of


def test_mnist_bundled_is_the_real_test_set_split_8000_2000():
    data = datasets.mnist_bundled()
    assert data.x_train.shape == (8000, 28, 28, 1) and data.x_test.shape == (2000, 28, 28, 1)
    assert data.x_train.dtype == np.uint8 and data.y_train.dtype == np.int64
    totals = [train + test for train, test in data.counts().values()]
    assert totals == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # the README's class counts
    again = datasets.mnist_bundled()
    np.testing.assert_array_equal(again.y_test, data.y_test)  # a fixed seed: the same split every time


def test_digits_and_shapes():
    digits = datasets.digits()
    assert digits.input_shape == (28, 28, 1) and digits.num_classes == 10
    shapes = datasets.shapes(size=32, count=200, seed=3)
    assert shapes.input_shape == (32, 32, 1) and shapes.class_names == datasets.SHAPES
    assert len(shapes.x_train) + len(shapes.x_test) == 200
    assert shapes.x_train.max() > 200  # the outlines are bright
    with pytest.raises(InvalidInput, match="28, 32 or 64"):
        datasets.shapes(size=30)
    with pytest.raises(InvalidInput, match="Unknown dataset"):
        datasets.load("imagenet")


def test_sample_grid_has_a_row_per_class():
    data = datasets.shapes(count=80)
    grid = datasets.sample_grid(data, per_class=5)
    assert grid.shape == (4 * 28 + 3 * 2, 5 * 28 + 4 * 2, 3)


# --- zips of class folders ------------------------------------------------------------------------


def png(value: int, size=(20, 16), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (value, 0, 0) if mode == "RGB" else value).save(buffer, format="PNG")
    return buffer.getvalue()


GOOD = {f"horses/h{i}.png": png(200) for i in range(5)} | {f"humans/p{i}.jpg": png(30) for i in range(5)}


def test_zip_of_class_folders():
    entries = {f"data/{name}": value for name, value in GOOD.items()} | {"data/.DS_Store": b"x", "__MACOSX/x": b"y"}
    data = image_folders.load_image_folder_zip(zip_of(entries), image_size=32)
    assert data.class_names == ("horses", "humans")
    assert data.input_shape == (32, 32, 3)
    assert sum(train + test for train, test in data.counts().values()) == 10
    horses = data.x_train[data.y_train == 0]
    assert horses[..., 0].mean() > 150  # red horses stayed red, resized
    gray = image_folders.load_image_folder_zip(zip_of(GOOD), image_size=16, grayscale=True)
    assert gray.input_shape == (16, 16, 1)


@pytest.mark.parametrize(
    ("entries", "symlink", "message"),
    [
        (GOOD | {"/etc/evil.png": png(1)}, None, "outside the archive"),
        (GOOD | {"horses/../../evil.png": png(1)}, None, "outside the archive"),
        (GOOD, "horses/link.png", "symbolic link"),
        (GOOD | {"horses/more.zip": b"PK\x03\x04"}, None, "another archive"),
        (GOOD | {"loose.png": png(1)}, None, "class folder"),
        ({f"horses/h{i}.png": png(9) for i in range(4)}, None, "at least 2 are needed"),
        (GOOD | {"zebras/z.png": png(1)}, None, r"zebras \(1\)"),
        (GOOD | {"horses/broken.png": png(1)[:30]}, None, "horses/broken.png"),
        (GOOD | {"horses/fake.png": b"MZ" + b"\0" * 100}, None, "not an image this app reads"),
    ],
)
def test_zip_refusals(entries, symlink, message):
    with pytest.raises(InvalidInput, match=message):
        image_folders.load_image_folder_zip(zip_of(entries, symlink=symlink))


def test_files_that_are_not_pictures_are_skipped_and_counted():
    entries = GOOD | {"horses/notes.txt": b"hello", "humans/list.csv": b"a,b", "README.md": b"# mine"}
    data = image_folders.load_image_folder_zip(zip_of(entries), image_size=16)
    assert sum(train + test for train, test in data.counts().values()) == 10  # every picture, nothing else
    assert data.notes[-1] == "Skipped 3 file(s) that are not pictures (notes.txt, list.csv, README.md)."
    plain = image_folders.load_image_folder_zip(zip_of(GOOD), image_size=16)
    assert not any("Skipped" in note for note in plain.notes)


def test_small_classes_keep_a_few_test_pictures_each():
    from cnnviz.dataset_base import held_out_count

    # A class's test share is its fraction, but at least 2 where a third of the class allows it.
    assert [held_out_count(n, 0.2) for n in (2, 3, 5, 6, 9, 10, 1000)] == [0, 1, 1, 2, 2, 2, 200]
    assert held_out_count(10, 0.1) == 2 and held_out_count(10, 0.0) == 0
    entries = {f"{name}/{i}.png": png(40 * k) for k, name in enumerate(("a", "b", "c")) for i in range(9)}
    data = image_folders.load_image_folder_zip(zip_of(entries), image_size=16)
    assert data.counts() == {"a": (7, 2), "b": (7, 2), "c": (7, 2)}  # 0.2 of 9 would leave one test picture


def test_sample_grid_ends_short_rows_with_background_not_black_pictures():
    entries = {f"big/{i}.png": png(200) for i in range(12)} | {f"small/{i}.png": png(90) for i in range(4)}
    data = image_folders.load_image_folder_zip(zip_of(entries), image_size=16)
    assert data.counts()["small"][0] == 3  # one of its four is a test picture
    grid = datasets.sample_grid(data, per_class=10)
    assert grid.shape == (2 * 16 + 2, 10 * 16 + 9 * 2, 3)  # 10 columns: the bigger class's 10 training pictures
    small_row = grid[18:34]
    for column in range(10):
        cell = small_row[:, column * 18 : column * 18 + 16]
        if column < 3:
            assert cell[..., 0].mean() == pytest.approx(90, abs=2)  # a picture (red 90)
        else:
            assert (cell == 255).all()  # the background, as between the pictures: no picture there
    assert not (grid == 0).all(axis=2).any()  # and nothing black anywhere


def test_zip_bomb_is_refused_while_streaming():
    # 50 MB of zeros compresses to ~50 KB: far past the ratio a real image has.
    bomb = zip_of(GOOD | {"horses/bomb.png": b"\0" * (50 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024
    with pytest.raises(InvalidInput, match="unpacks to more than"):
        image_folders.load_image_folder_zip(bomb)


def test_not_a_zip():
    for data in (b"", b"hello", png(3)):
        with pytest.raises(InvalidInput):
            image_folders.load_image_folder_zip(data)


# --- keras.datasets -----------------------------------------------------------------------------


def test_keras_dataset_offline_says_what_is_needed(tmp_path, monkeypatch):
    import keras.src.backend.config as keras_config

    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))

    def no_network(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(datasets.DatasetUnavailable, match="not downloaded yet") as error:
        datasets.keras_dataset("fashion-mnist")
    assert "bundled" in str(error.value) and "internet" in str(error.value)


def idx(array: np.ndarray) -> bytes:
    kind = 0x08
    header = struct.pack(">HBB", 0, kind, array.ndim) + b"".join(struct.pack(">I", n) for n in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def test_keras_dataset_reads_the_cache(tmp_path, monkeypatch):
    # Files we make, laid out as keras.datasets caches Fashion-MNIST: no network is touched.
    import keras.src.backend.config as keras_config

    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))  # KERAS_HOME, as read when keras loads
    folder = tmp_path / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, count in (("train", 30), ("t10k", 10)):
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(idx(rng.integers(0, 256, (count, 28, 28))))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(idx(np.arange(count) % 10))
    import keras.src.utils.file_utils as file_utils

    monkeypatch.setattr(file_utils, "urlretrieve", lambda *a, **k: pytest.fail("tried to download"))
    data = datasets.load("fashion-mnist")
    assert data.x_train.shape == (30, 28, 28, 1) and data.x_test.shape == (10, 28, 28, 1)
    assert data.class_names[9] == "Ankle boot"


def _class_folder_zip(path, classes=("horses", "humans"), per_class=6) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for c, name in enumerate(classes):
            for i in range(per_class):
                buffer = io.BytesIO()
                Image.fromarray(np.full((40, 30, 3), 40 * c + i, np.uint8)).save(buffer, format="PNG")
                archive.writestr(f"{name}/{name}{i}.png", buffer.getvalue())


def test_tutorial_photo_folders_are_read_from_the_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "datasets").mkdir()
    _class_folder_zip(tmp_path / "datasets" / "horses-humans.zip")
    data = datasets.load("horses-humans", size=32)
    assert data.name == "horses-humans" and data.class_names == ("horses", "humans")
    assert data.input_shape == (32, 32, 3) and len(data.x_train) + len(data.x_test) == 12
    assert "horses-humans" in datasets.NAMES and "download" in datasets.NAMES["cats-dogs"]


def test_tutorial_photo_folders_offline_say_what_to_do_and_do_not_hang(tmp_path, monkeypatch, tf):
    import keras

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        assert kwargs["cache_dir"] == str(tmp_path)  # the cache the message names
        raise OSError("no route to host")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(datasets.DatasetUnavailable, match="needs the internet once") as error:
        datasets.load("cats-dogs")
    assert str(tmp_path / "datasets" / "cats-dogs.zip") in str(error.value)
    assert "Your images" in str(error.value)
