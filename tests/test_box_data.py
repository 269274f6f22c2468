"""cnnviz.box_data: the bundled pictures with boxes (each box is its object's extent, the same every
time with a seed) and the zip of class folders with boxes.csv, each kind of bad box refused by name."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from cnnviz import box_data
from cnnviz.box_data import BoxDataset, place_objects, to_normalised, to_pixels
from cnnviz.errors import InvalidInput
from harness.hostile_corpus import zip_of


def test_place_objects_puts_each_object_inside_its_box():
    rng = np.random.default_rng(0)
    pictures = np.zeros((30, 28, 28, 1), np.uint8)
    for picture in pictures:  # a bright rectangle somewhere in each small picture
        y, x = rng.integers(0, 14, 2)
        picture[y : y + int(rng.integers(5, 14)), x : x + int(rng.integers(5, 14))] = 255
    images, boxes = place_objects(pictures, canvas=64, sizes=(14, 48), seed=1)
    assert images.shape == (30, 64, 64, 1) and images.dtype == np.uint8 and boxes.dtype == np.float32
    for image, (x0, y0, x1, y1) in zip(images[..., 0], boxes.astype(int), strict=True):
        assert max(x1 - x0, y1 - y0) in range(14, 49)
        bright = np.argwhere(image > 128)  # (row, column) of the object's pixels
        assert bright[:, 0].min() >= y0 and bright[:, 0].max() < y1
        assert bright[:, 1].min() >= x0 and bright[:, 1].max() < x1
        assert image[y0:y1, x0:x1].sum() == image.sum()  # nothing outside the box without clutter
    again, same = place_objects(pictures, canvas=64, seed=1)
    np.testing.assert_array_equal(again, images)
    np.testing.assert_array_equal(same, boxes)


def test_clutter_stays_off_the_object():
    pictures = np.zeros((20, 28, 28, 1), np.uint8)
    pictures[:, 10:18, 10:18] = 255
    images, boxes = place_objects(pictures, clutter=4, seed=2)
    outside = sum(
        int((image[..., 0] > 0).sum() - (image[y0:y1, x0:x1, 0] > 0).sum())
        for image, (x0, y0, x1, y1) in zip(images, boxes.astype(int), strict=True)
    )
    assert outside > 0  # the pieces are there, beside the objects (the check above: never on them)


def test_mnist_boxes_is_seeded_split_and_normalised():
    data = box_data.mnist_boxes(count=400, seed=3)
    assert isinstance(data, BoxDataset) and data.input_shape == (64, 64, 1) and data.num_classes == 10
    assert len(data.x_train) + len(data.x_test) == 400 and data.boxes_train.shape == (len(data.y_train), 4)
    assert data.boxes_train.min() >= 0 and data.boxes_train.max() <= 1
    sides = to_pixels(data.boxes_train, (64, 64))
    assert (np.maximum(sides[:, 2] - sides[:, 0], sides[:, 3] - sides[:, 1]) >= 14).all()
    again = box_data.load("mnist-boxes", count=400, seed=3)
    np.testing.assert_array_equal(again.boxes_test, data.boxes_test)
    shapes = box_data.shapes_boxes(count=80)
    assert shapes.class_names == ("circle", "square", "triangle", "cross") and shapes.input_shape == (64, 64, 1)
    with pytest.raises(InvalidInput, match="40 to 10,000"):
        box_data.mnist_boxes(count=5)
    with pytest.raises(InvalidInput, match="Unknown box dataset"):
        box_data.load("coco")


def test_pixels_and_normalised_round_trip():
    boxes = np.array([[3, 4, 11, 20]], np.float32)
    normalised = to_normalised(boxes, (40, 20))  # 40 high, 20 wide
    np.testing.assert_allclose(normalised, [[0.15, 0.1, 0.55, 0.5]])
    np.testing.assert_allclose(to_pixels(normalised, (40, 20)), boxes)


def test_a_box_dataset_needs_a_box_per_picture():
    with pytest.raises(InvalidInput, match="one box per train picture"):
        BoxDataset(
            "x",
            np.zeros((2, 8, 8, 1), np.uint8),
            np.zeros(2, np.int64),
            np.zeros((1, 8, 8, 1), np.uint8),
            np.zeros(1, np.int64),
            ("a", "b"),
            boxes_train=np.zeros((3, 4)),
            boxes_test=np.zeros((1, 4)),
        )


# --- zips with boxes ------------------------------------------------------------------------------


def png(size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, format="PNG")  # 40 wide, 30 high
    return buffer.getvalue()


def box_zip(cats="file,x_min,y_min,x_max,y_max\na.png,0,0,40,30\nb.png,10,5,20,25\n", extra=None) -> bytes:
    entries = {"cats/a.png": png(), "cats/b.png": png(), "dogs/c.png": png(), "dogs/d.png": png()}
    entries["dogs/boxes.csv"] = b"file,x_min,y_min,x_max,y_max\nc.png,1,2,3,4\nd.png,4,3,40,30\n"
    if cats is not None:
        entries["cats/boxes.csv"] = cats.encode()
    return zip_of(entries | (extra or {}))


def test_zip_with_boxes_reads_them_normalised():
    data = box_data.load_boxes_zip(box_zip(), image_size=32, test_fraction=0.0)
    assert data.class_names == ("cats", "dogs") and data.input_shape == (32, 32, 3)
    got = {
        (int(label), tuple(round(float(v), 4) for v in box))
        for label, box in zip(data.y_train, data.boxes_train, strict=True)
    }
    assert got == {
        (0, (0.0, 0.0, 1.0, 1.0)),
        (0, (0.25, 0.1667, 0.5, 0.8333)),  # (10, 5, 20, 25) in a 40x30 picture
        (1, (0.025, 0.0667, 0.075, 0.1333)),
        (1, (0.1, 0.1, 1.0, 1.0)),
    }


HEADER = "file,x_min,y_min,x_max,y_max\n"


@pytest.mark.parametrize(
    ("cats", "message"),
    [
        (None, r"cats/ has no boxes.csv"),
        ("a.png,0,0,40,30\n", r"cats/boxes.csv must start with the line file,x_min,y_min,x_max,y_max"),
        (HEADER + "a.png,0,0,40,30\n", r"No box for cats/b.png"),  # a picture without a box
        (HEADER + "a.png,0,0,40,30\nb.png,0,0,4,4\nz.png,0,0,4,4\n", r"line 4 names 'z.png', which is not a picture"),
        (HEADER + "a.png,0,0,40,30\nb.png,0,zero,4,4\n", r"line 3 \(b.png\): y_min 'zero' is not a number"),
        (HEADER + "a.png,0,0,40,30\nb.png,0,0,4,nan\n", r"line 3 \(b.png\): y_max 'nan' is not a finite number"),
        (HEADER + "a.png,0,0,40,30\nb.png,10,0,5,4\n", r"\(10, 0, 5, 4\) is not a box: x_max must be more than x_min"),
        (HEADER + "a.png,0,0,40,30\nb.png,0,9,5,9\n", r"line 3 \(b.png\): \(0, 9, 5, 9\) is not a box"),
        (HEADER + "a.png,0,0,41,30\nb.png,0,0,4,4\n", r"line 2 \(a.png\): the box .* reaches outside the 40x30"),
        (HEADER + "a.png,-1,0,4,4\nb.png,0,0,4,4\n", r"reaches outside the 40x30 picture"),
        (HEADER + "a.png,0,0,4,4\nb.png,0,0,4\n", r"line 3 has 4 values"),
        (HEADER + "a.png,0,0,4,4\nb.png,0,0,4,4\na.png,0,0,5,5\n", r"cats/a.png already has a box on line 2"),
    ],
)
def test_each_bad_box_is_refused_by_name(cats, message):
    with pytest.raises(InvalidInput, match=message):
        box_data.load_boxes_zip(box_zip(cats))


def test_a_boxes_file_beside_no_pictures_must_name_none():
    with pytest.raises(InvalidInput, match=r"birds/boxes.csv, line 2 names 'x\.png'"):
        box_data.load_boxes_zip(box_zip(extra={"birds/boxes.csv": (HEADER + "x.png,0,0,1,1\n").encode()}))


def test_moved_copies_keep_their_object_inside_their_box():
    """Each copy's box is where its object went (to within the pixel that interpolation blurs), mirrored
    copies included, and stays inside the picture; the originals come first, unchanged."""
    from cnnviz.box_data import augment_with_boxes

    pictures = np.zeros((2, 64, 64, 1), np.uint8)
    boxes = np.array([[0.1, 0.2, 0.5, 0.6], [0.3, 0.05, 0.95, 0.4]], np.float32)
    for picture, box in zip(pictures, boxes, strict=True):
        x0, y0, x1, y1 = np.round(box * 64).astype(int)
        picture[y0:y1, x0:x1] = 255
    x, y, moved = augment_with_boxes(pictures, np.array([3, 7]), boxes, copies=40, seed=1)
    assert x.shape == (82, 64, 64, 1) and y.tolist() == [3, 7] * 41 and np.array_equal(x[:2], pictures)
    assert ((moved >= 0) & (moved <= 1)).all() and (moved[:, 2] > moved[:, 0]).all()
    for picture, box in zip(x, moved, strict=True):
        rows, cols = np.nonzero(picture[..., 0] > 127)
        found = np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]) / 64
        assert np.abs(found - box).max() * 64 <= 1.0, (found * 64, box * 64)
    assert len({tuple(np.round(box, 3)) for box in moved}) > 60  # moved, not copied
