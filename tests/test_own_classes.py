"""cnnviz.own_classes: names refused with their rule, examples prepared as the network gets them,
the minimum per class, the split, and the zip round trip through the class-folder loader."""

import io
import zipfile

import numpy as np
import pytest

from cnnviz import images
from cnnviz.errors import InvalidInput
from cnnviz.image_folders import load_image_folder_zip
from cnnviz.own_classes import MIN_PER_CLASS, OwnClasses, check_class_name, prepare_example
from harness import drawn_shapes


def made(per_class: int = 5, kind: str = "drawings") -> OwnClasses:
    rng = np.random.default_rng(0)
    own = OwnClasses(kind=kind)
    for shape in drawn_shapes.SHAPES:
        own.add_class(shape)
        for _ in range(per_class):
            picture = drawn_shapes.draw(shape, rng)
            own.add(shape, picture if kind == "drawings" else np.dstack([picture, picture // 2, 255 - picture]))
    return own


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "cannot be empty"),
        ("   ", "cannot be empty"),
        ("x" * 31, "at most 30"),
        ("../x", "folder path"),
        ("a/b", "folder path"),
        (".hidden", "folder path"),
        ("cat?", "letters, digits, spaces, - or _"),
        ("Circle", "already a class called"),
    ],
)
def test_bad_class_names_are_refused_naming_the_rule(name, rule):
    with pytest.raises(InvalidInput, match=rule):
        check_class_name(name, taken=("circle",))


def test_good_names_are_stripped_and_kept_in_order():
    own = OwnClasses()
    assert own.add_class("  thumbs up ") == "thumbs up"
    own.add_class("thumbs-down_2")
    assert own.class_names == ("thumbs up", "thumbs-down_2")
    assert own.rename_class("thumbs up", "yes") == "yes"
    assert own.class_names == ("yes", "thumbs-down_2")


def test_an_eleventh_class_is_refused_and_nothing_else_changes():
    own = OwnClasses()
    for i in range(10):
        own.add_class(f"c{i}")
    with pytest.raises(InvalidInput, match="At most 10 classes"):
        own.add_class("c10")
    assert len(own.class_names) == 10


def test_a_drawing_is_prepared_like_an_mnist_digit():
    picture = np.zeros((280, 280), np.uint8)
    picture[20:60, 200:260] = 255  # a small blob in a corner
    prepared = prepare_example(picture, kind="drawings")
    assert prepared.shape == (28, 28, 1) and prepared.dtype == np.uint8
    expected, _ = images.prepare_digit(picture)
    np.testing.assert_array_equal(prepared[..., 0], expected)
    ys, xs = np.nonzero(prepared[..., 0] > 40)
    assert abs(ys.mean() - 13.5) < 1.5 and abs(xs.mean() - 13.5) < 1.5  # centred, whatever its place
    assert ys.max() - ys.min() <= 20 and xs.max() - xs.min() == 19  # fitted to the 20x20 box


def test_a_photo_keeps_its_colour_and_centre_square():
    photo = np.zeros((100, 200, 3), np.uint8)
    photo[:, 50:150] = (200, 10, 10)  # the centre square is red, the sides black
    prepared = prepare_example(photo, kind="photos")
    assert prepared.shape == (64, 64, 3)
    np.testing.assert_allclose(prepared.reshape(-1, 3).mean(axis=0), (200, 10, 10), atol=1)


def test_blank_and_broken_pictures_are_refused_and_nothing_is_lost():
    own = made(per_class=2)
    before = own.counts()
    with pytest.raises(InvalidInput, match="blank"):
        own.add("circle", np.zeros((280, 280), np.uint8))
    with pytest.raises(InvalidInput, match="PNG, JPEG"):
        own.add_file("circle", b"this is not a picture")
    with pytest.raises(InvalidInput, match="no class 'square'"):
        own.add("square", np.full((10, 10), 255, np.uint8))
    assert own.counts() == before


def test_problems_name_the_minimum_and_why():
    own = OwnClasses()
    own.add_class("only")
    problems = own.problems()
    assert any("at least 2 classes" in p for p in problems)
    assert any(f"'only' has 0 example(s); each class needs at least {MIN_PER_CLASS}" in p for p in problems)
    with pytest.raises(InvalidInput, match="kept back to test"):
        own.to_dataset()
    assert made(per_class=MIN_PER_CLASS).problems() == []


def test_remove_takes_out_exactly_that_example():
    own = made(per_class=5)
    third = own.examples["zigzag"][2].copy()
    own.remove("zigzag", 1)
    assert own.counts()["zigzag"] == 4
    np.testing.assert_array_equal(own.examples["zigzag"][1], third)
    with pytest.raises(InvalidInput, match="no example 9"):
        own.remove("zigzag", 8)


def test_dataset_holds_one_in_five_back_per_class():
    data = made(per_class=10).to_dataset()
    assert data.input_shape == (28, 28, 1) and data.class_names == drawn_shapes.SHAPES
    assert data.counts() == {shape: (8, 2) for shape in drawn_shapes.SHAPES}
    assert data.x_train.dtype == np.uint8 and data.y_train.dtype == np.int64


@pytest.mark.parametrize("kind", ["drawings", "photos"])
def test_zip_round_trips_through_the_class_folder_loader(kind):
    own = made(per_class=5, kind=kind)
    data = own.to_zip()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "circle/001.png" in names and "cross/005.png" in names
    side, channels = own.input_shape[0], own.input_shape[2]
    loaded = load_image_folder_zip(data, image_size=side, grayscale=channels == 1, test_fraction=0.0)
    assert loaded.class_names == tuple(sorted(drawn_shapes.SHAPES))
    again = OwnClasses.from_zip(data)
    assert again.kind == kind and again.counts() == own.counts()
    for shape in drawn_shapes.SHAPES:  # the same pictures, byte for byte (their order aside)
        key = lambda p: p.tobytes()  # noqa: E731
        assert sorted(map(key, again.examples[shape])) == sorted(map(key, own.examples[shape]))


def test_switching_kind_prepares_every_example_again():
    own = made(per_class=3)
    own.set_kind("photos")
    assert {p.shape for ps in own.examples.values() for p in ps} == {(64, 64, 3)}
    own.set_kind("drawings")
    assert own.counts() == {shape: 3 for shape in drawn_shapes.SHAPES}
    assert {p.shape for ps in own.examples.values() for p in ps} == {(28, 28, 1)}


def test_training_plan_starts_from_a_trained_network_where_one_fits():
    from cnnviz.own_classes import training_plan
    from cnnviz.predict import DEFAULT_MODEL

    drawings = training_plan("drawings")
    assert drawings.base_model == str(DEFAULT_MODEL) and "shipped digit network" in drawings.summary
    assert drawings.config.augmentation.active and not drawings.config.augmentation.flip
    assert drawings.config.validation_split == 0.0 and drawings.config.epochs == 15
    cached = training_plan("photos", photo_weights_cached=True)
    assert cached.base_model == "imagenet:MobileNetV2" and cached.config.augmentation.flip
    offline = training_plan("photos", photo_weights_cached=False)
    assert offline.base_model is None and "not in this server's Keras cache" in offline.summary
    scratch = training_plan("drawings", pretrained_start=False, epochs=7)
    assert scratch.base_model is None and scratch.config.epochs == 7 and scratch.blocks[0]["filters"] == 16
