"""cnnviz.own_classes: names refused with their rule, examples prepared as the network gets them,
the minimum per class, the split, and the zip round trip through the class-folder loader."""

import io
import re
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
    with pytest.raises(InvalidInput, match=r"looks blank as a drawing.*upload one with clear"):  # not "draw"
        own.add_file("circle", images.encode_png(np.full((50, 50), 255, np.uint8)))
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


def test_each_example_is_kept_as_drawn_or_uploaded_and_a_switch_there_and_back_loses_nothing():
    """The network gets 28x28 drawings; the drawing as made (280x280) and an uploaded file (its bytes)
    are kept too, so drawings -> photos -> drawings gives back the very same pictures, and photos made
    from drawings are the whole canvas, not an enlarged 28x28 copy."""
    rng = np.random.default_rng(3)
    own = OwnClasses()
    own.add_class("ring")
    canvas = np.zeros((280, 280), np.uint8)
    canvas[60:220, 60:220] = images.resize(drawn_shapes.draw("circle", rng), size=(160, 160))
    own.add("ring", canvas)
    upload = images.encode_png(np.dstack([canvas, canvas, canvas]))
    own.add_file("ring", upload)
    assert own.originals_of("ring")[1] == upload  # the file byte for byte
    assert np.array_equal(own.original("ring", 0), canvas)  # the drawing at the canvas's size
    drawings = [p.copy() for p in own.examples["ring"]]
    own.set_kind("photos")
    assert np.array_equal(own.examples["ring"][0], prepare_example(canvas, kind="photos"))
    own.set_kind("drawings")
    assert all(np.array_equal(a, b) for a, b in zip(own.examples["ring"], drawings, strict=True))
    own.rename_class("ring", "circle")
    own.remove("circle", 0)
    assert own.originals_of("circle") == [upload]


def test_a_large_upload_is_kept_as_a_smaller_jpeg_and_a_zip_example_keeps_the_zips_picture():
    from cnnviz.own_classes import ORIGINAL_MAX_BYTES, ORIGINAL_MAX_SIDE

    rng = np.random.default_rng(4)
    noise = rng.integers(0, 256, size=(1600, 1600, 3), dtype=np.uint8)  # noise: a PNG that does not compress
    data = images.encode_png(noise)
    assert len(data) > ORIGINAL_MAX_BYTES
    own = OwnClasses(kind="photos")
    own.add_class("noise")
    own.add_file("noise", data)
    kept = own.originals_of("noise")[0]
    assert kept[:3] == b"\xff\xd8\xff" and len(kept) < len(data)  # a JPEG
    assert max(own.original("noise", 0).shape[:2]) <= ORIGINAL_MAX_SIDE
    first = own.examples["noise"][0].copy()  # made from the kept JPEG: a switch there and back is exact
    own.set_kind("drawings")
    own.set_kind("photos")
    assert np.array_equal(own.examples["noise"][0], first)
    back = OwnClasses.from_zip(made(per_class=2, kind="photos").to_zip())
    name = back.class_names[0]
    assert back.originals_of(name) == [None, None]
    assert np.array_equal(back.original(name, 0), back.examples[name][0])


def test_the_picture_to_box_is_the_original_framed_as_the_networks_so_a_box_fits_both():
    """A wide upload (200x100) is padded to a square for the network; the box drawer shows the same
    frame at 320 pixels from the file, so the white block sits at the same fractions in both."""
    wide = np.zeros((100, 200, 3), np.uint8)
    wide[20:60, 150:190] = 255  # rows 20-60 of 100, columns 150-190 of 200
    own = OwnClasses(kind="boxes")
    own.add_class("block")
    own.add_file("block", images.encode_png(wide))
    big, small = own.to_box("block", 0), own.examples["block"][0]
    assert big.shape == (320, 320, 3) and small.shape == (64, 64, 3)
    for picture in (big, small):
        side = picture.shape[0]
        rows, cols = np.nonzero(picture[..., 0] > 127)
        # padded to 200x200: the block at x 150-190 and y 70-110 of 200
        assert abs(cols.min() / side - 0.75) < 0.03 and abs(cols.max() / side - 0.95) < 0.03
        assert abs(rows.min() / side - 0.35) < 0.03 and abs(rows.max() / side - 0.55) < 0.03
    # Photos are the centre square (of the original); back with boxes the whole picture and its box.
    own.set_box("block", 0, (48, 22, 61, 35))
    own.set_kind("photos")
    assert np.array_equal(own.examples["block"][0], prepare_example(wide, kind="photos"))
    own.set_kind("boxes")
    assert np.array_equal(own.examples["block"][0], small) and own.boxes_of("block")[0] is not None
    own.add_file("block", images.encode_png(wide[::-1]))
    own.add_class("other")
    for _ in range(2):
        own.add_file("other", images.encode_png(wide[:, ::-1]))
    back = OwnClasses.from_zip(own.to_zip())
    assert back.originals_of("block") == [None, None]
    assert back.to_box("block", 0).shape == (320, 320, 3)  # no original: the network's picture, enlarged


def test_a_sliver_of_a_picture_is_kept_and_boxed_without_a_giant_square():
    """A 4x30000 upload (larger than ORIGINAL_MAX_BYTES, too thin to shrink) is kept at its size; padding
    it to a square works on a smaller copy (30000x30000 pixels would be 2.7 GB)."""
    rng = np.random.default_rng(6)
    sliver = rng.integers(0, 256, (4, 30000, 3), dtype=np.uint8)
    own = OwnClasses(kind="boxes")
    own.add_class("line")
    own.add_file("line", images.encode_png(sliver))
    assert own.original("line", 0).shape[:2] == (4, 30000)
    assert own.to_box("line", 0).shape == (320, 320, 3) and own.examples["line"][0].shape == (64, 64, 3)


def boxed(per_class: int = 5) -> tuple[OwnClasses, dict[str, list[tuple]]]:
    """Pictures with boxes: a shape drawn at a known place on a dark 64x64 ground, its box set."""
    rng = np.random.default_rng(1)
    own, truth = OwnClasses(kind="boxes"), {}
    for shape in drawn_shapes.SHAPES:
        own.add_class(shape)
        truth[shape] = []
        for index in range(per_class):
            side = int(rng.integers(16, 40))
            x, y = (int(v) for v in rng.integers(0, 64 - side, size=2))
            ground = np.zeros((64, 64), np.uint8)
            ground[y : y + side, x : x + side] = images.resize(drawn_shapes.draw(shape, rng), size=(side, side))
            own.add(shape, ground)
            own.set_box(shape, index, (x, y, x + side, y + side))
            truth[shape].append((x / 64, y / 64, (x + side) / 64, (y + side) / 64))
    return own, truth


def test_pictures_with_boxes_keep_the_whole_picture_and_a_box_each():
    own, truth = boxed()
    assert own.input_shape == (64, 64, 3) and own.unboxed() == [] and own.problems() == []
    assert own.boxes_of("circle") == truth["circle"]
    data = own.to_dataset()
    assert type(data).__name__ == "BoxDataset" and data.name == "own-boxes"
    assert data.x_train.shape[1:] == (64, 64, 3) and data.boxes_train.shape == (len(data.y_train), 4)
    pictures = {
        picture.tobytes(): box
        for shape in own.class_names
        for picture, box in zip(own.examples[shape], truth[shape], strict=True)
    }
    for picture, box in zip(data.x_test, data.boxes_test, strict=True):  # each picture keeps its own box
        assert np.allclose(pictures[picture.tobytes()], box)


def test_a_new_example_waits_for_its_box_and_training_says_so():
    own, _ = boxed()
    own.add("cross", np.full((64, 64), 200, np.uint8))
    assert own.unboxed() == [("cross", 5)]
    assert any("1 example(s) of 'cross' have no box yet" in problem for problem in own.problems())
    with pytest.raises(InvalidInput, match="no box yet"):
        own.to_dataset()


@pytest.mark.parametrize(
    ("box", "rule"),
    [
        ((40, 10, 20, 30), "x_max <= x_min"),
        ((10, 30, 20, 30), "y_max <= y_min"),
        ((1, 2, 3), "four numbers"),
        (("a", 2, 3, 4), "four numbers"),
        ((float("nan"), 0, 3, 3), "are numbers"),
        ((70, 70, 90, 90), "outside the 64x64 picture"),
        ((10, 10, 11, 30), "at least 2x2"),
    ],
)
def test_bad_boxes_are_refused_naming_the_rule_and_the_old_box_stays(box, rule):
    own, truth = boxed()
    with pytest.raises(InvalidInput, match=re.escape(rule)):
        own.set_box("circle", 0, box)
    assert own.boxes_of("circle")[0] == truth["circle"][0]


def test_a_box_reaching_past_the_edge_is_kept_inside_the_picture():
    own, _ = boxed()
    assert own.set_box("circle", 0, (-5, 50, 30, 80)) == (0.0, 50 / 64, 30 / 64, 1.0)


def test_boxes_follow_their_examples_through_remove_and_rename_and_go_with_another_kind():
    own, truth = boxed()
    own.remove("circle", 1)
    assert own.boxes_of("circle") == truth["circle"][:1] + truth["circle"][2:]
    own.rename_class("circle", "ring")
    assert own.boxes_of("ring") == truth["circle"][:1] + truth["circle"][2:] and "circle" not in own.boxes
    own.remove_class("ring")
    assert "ring" not in own.boxes
    boxes = {name: list(own.boxes_of(name)) for name in own.class_names}
    assert own.set_kind("photos") == 0 and own.set_kind("boxes") == 0  # the same 64x64 pictures: boxes stay
    assert {name: own.boxes_of(name) for name in own.class_names} == boxes
    assert own.set_kind("drawings") == 5 + 5  # cropped to their ink: no box fits any more, and it says how many
    own.set_kind("boxes")
    assert own.unboxed() == [(name, i) for name in own.class_names for i in range(own.counts()[name])]


def test_a_picture_with_a_box_is_kept_whole_padded_to_a_square():
    wide = np.zeros((80, 160, 3), np.uint8)
    wide[:, :8] = (255, 0, 0)  # a red strip at the left edge: a centre square would cut it off
    prepared = prepare_example(wide, kind="boxes")
    assert prepared.shape == (64, 64, 3) and prepared[32, 1, 0] > 200 and prepared[32, 1, 1] < 50
    assert not prepared[:14].any() and not prepared[-14:].any()  # black above and below: padded, not stretched


def test_a_zip_of_pictures_with_boxes_round_trips_and_the_trainer_reads_it():
    from cnnviz.box_data import load_boxes_zip

    own, _ = boxed()
    own.add("cross", np.full((64, 64), 200, np.uint8))  # not boxed yet: in the zip, without a line
    data = own.to_zip()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "circle/boxes.csv" in names and "cross/006.png" in names
    again = OwnClasses.from_zip(data)
    assert again.kind == "boxes" and again.counts() == own.counts()
    for shape in own.class_names:  # the boxes as they were, to the 6 digits the file keeps
        kept = [box for box in own.boxes_of(shape) if box is not None]
        back = [box for box in again.boxes_of(shape) if box is not None]
        assert np.allclose(back, kept, atol=1e-6)
    assert again.boxes_of("cross")[5] is None
    own.remove("cross", 5)  # every picture boxed: the Trainer's "your images with boxes" reads the same zip
    loaded = load_boxes_zip(own.to_zip(), image_size=64, test_fraction=0.0)
    assert loaded.class_names == tuple(sorted(own.class_names)) and len(loaded.x_train) == sum(own.counts().values())


def test_training_plan_for_boxes_is_the_two_headed_network_without_augmentation():
    from cnnviz.own_classes import training_plan

    plan = training_plan("boxes")
    assert plan.base_model is None and not plan.config.augmentation.active
    assert plan.blocks[0]["type"] == "conv" and "box" in plan.summary


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
