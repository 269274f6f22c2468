"""cnnviz.digit_check and cnnviz.sketches: is it a digit at all? The shipped check passes held-out
MNIST digits and digits drawn with thin and thick pens, and refuses the drawings the issue names
(a smiley, a house, a star, a letter A) and scribbles."""

import numpy as np
import pytest

from cnnviz import digit_check, images, sketches


def drawn(lines: list[list[tuple[int, int]]], brush: int) -> np.ndarray:
    """Polylines on the 280x280 canvas, white on black, as the app's canvas draws them."""
    import cv2

    canvas = np.zeros((280, 280), np.uint8)
    for line in lines:
        cv2.polylines(canvas, [np.array(line, np.int32)], False, 255, brush, cv2.LINE_AA)
    return canvas


def ellipse(cx, cy, rx, ry, start=0.0, end=2 * np.pi, n=40):
    t = np.linspace(start, end, n)
    return [(int(cx + rx * np.cos(a)), int(cy + ry * np.sin(a))) for a in t]


SMILEY = [
    ellipse(140, 140, 100, 100),
    ellipse(105, 110, 10, 10),
    ellipse(175, 110, 10, 10),
    ellipse(140, 160, 50, 35, 0.3, 2.8),
]
HOUSE = [
    [(60, 120), (60, 250), (220, 250), (220, 120), (60, 120)],
    [(40, 125), (140, 30), (240, 125)],
    [(120, 250), (120, 190), (160, 190), (160, 250)],
]
STAR = [[(140, 30), (205, 230), (35, 105), (245, 105), (75, 230), (140, 30)]]
LETTER_A = [[(60, 250), (140, 30), (220, 250)], [(90, 170), (190, 170)]]
SEVEN = [[(60, 50), (200, 48), (110, 230)]]


def prepared(picture: np.ndarray) -> np.ndarray:
    return images.prepare_digit(picture)[0][None, ..., None]


def test_the_network_reads_28x28_and_answers_ten_digits_and_not_a_digit():
    model = digit_check.load()
    assert tuple(model.inputs[0].shape[1:]) == (28, 28, 1) and tuple(model.outputs[0].shape[1:]) == (11,)
    assert digit_check.NOT_A_DIGIT == 10 and model.get_layer("digit").activation.__name__ == "softmax"
    assert len(model.get_weights()) == len(digit_check.build().get_weights())  # the network build() makes


@pytest.mark.parametrize("brush", [2, 4, 18, 30])
def test_a_seven_passes_with_any_pen(brush):
    assert digit_check.is_digit(prepared(drawn(SEVEN, brush))).tolist() == [True]


@pytest.mark.parametrize("name, lines", [("smiley", SMILEY), ("house", HOUSE), ("star", STAR), ("letter A", LETTER_A)])
@pytest.mark.parametrize("brush", [4, 18])
def test_the_drawings_that_were_called_digits_are_refused(name, lines, brush):
    assert digit_check.is_digit(prepared(drawn(lines, brush))).tolist() == [False], name


def test_held_out_mnist_digits_pass():
    """The 2,000 held-out digits (the check was tuned on the other 8,000): at least 98% pass."""
    from cnnviz import datasets

    held_out = datasets.load("mnist-bundled").x_test
    assert digit_check.is_digit(held_out).mean() >= 0.98


def test_where_a_digit_was_drawn_does_not_matter_and_blank_is_refused():
    """The check reads every picture centred, so a digit given where it was drawn (prepare_input's
    centre=False) is judged like the same digit centred; a picture with no ink is not a digit."""
    from cnnviz.predict import prepare_input

    picture = drawn([[(x + 120, y + 100) for x, y in line] for line in [[(0, 0), (90, 0), (40, 130)]]], 12)
    moved, _ = prepare_input(picture, (28, 28, 1), digit_like=True, centre=False)
    centred, _ = prepare_input(picture, (28, 28, 1), digit_like=True)
    both = digit_check.digit_probability(np.stack([moved, centred]))
    assert abs(both[0] - both[1]) < 0.05 and both.min() >= 0.5
    assert digit_check.digit_probability(np.zeros((1, 28, 28, 1), np.uint8)).tolist() == [0.0]


def test_sketches_draw_every_kind_white_on_black_on_the_canvas():
    rng = np.random.default_rng(0)
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 12:16] = 255  # a 1
    for kind in ("mnist", "hershey digit", *sketches.NOT_DIGITS):
        picture = sketches.drawing(kind, rng, source=digit if kind == "mnist" else 7, brush=6)
        assert picture.shape == (280, 280) and picture.dtype == np.uint8 and picture.max() > 200, kind
        assert (picture > 127).mean() < 0.5, kind  # strokes on a black canvas, not a filled square
    assert sketches.drawing("letter", rng, brush=3, side=140).shape == (140, 140)
    photo = sketches.photograph(picture, rng)
    assert photo.shape == (280, 280) and np.median(photo) > 100  # dark ink on a light page
    assert not set(sketches.LETTERS) & sketches.LIKE_DIGITS


def test_the_tuning_set_labels_digits_and_the_rest():
    x, y = digit_check.tuning_set(scale=0.002)
    assert x.shape[1:] == (28, 28, 1) and x.dtype == np.uint8
    kinds = len(digit_check.DIGITS) + len(digit_check.NOT_DIGITS)
    assert len(x) >= kinds - 2 and y.max() == digit_check.NOT_A_DIGIT
    assert set(np.unique(y)) <= set(range(11)) and (y < 10).sum() >= 3  # a digit's own class, or not a digit
