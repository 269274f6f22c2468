"""Drawings made with code, to tune the digit check (`cnnviz.digit_check`) on: digits and things that
are not digits, as people draw them on the app's 280x280 canvas (thin and thick pens, small and large,
anywhere) or photograph them on paper, and photo-like pictures.

- Digits: the pen's path of MNIST's training digits (the 8,000 of mnist-bundled's training split,
  traced to their skeleton) and of OpenCV's Hershey stroke fonts (Hershey, 1967).
- Not digits: Hershey letters (leaving out those written like digits: O, I, l, S, Z, ...), pairs of
  letters, polygons, arrows, spirals, hatching, waves and smooth scribbles.
- Photo-like: dead-leaves pictures (overlapping discs and boxes, the model of natural images of Lee,
  Mumford and Huang, 2001) with noise and gradients, 1/f noise, and scenes of a few shaded, textured
  solid objects (discs, boxes, blobs, crescents).

bench/predict.py measures on other generators (TrueType letters, faces, houses, stars, random-walk
scribbles, MNIST's held-out split, other lighting), other seeds and the real photos of scikit-image
and scikit-learn, none of which is used here.
"""

from __future__ import annotations

import numpy as np

SIDE = 280  # app_support.common.inputs.CANVAS_SIDE
# Hershey letters that people write the way they write a digit: left out of the non-digits.
LIKE_DIGITS = set("OoQDIilJjSsZzbGgqBT")
LETTERS = "".join(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in LIKE_DIGITS)
NOT_DIGITS = ("letter", "letters", "polygon", "arrow", "spiral", "hatching", "wave", "scribble")


def _hershey_fonts():
    import cv2

    plain = [
        cv2.FONT_HERSHEY_SIMPLEX,
        cv2.FONT_HERSHEY_PLAIN,
        cv2.FONT_HERSHEY_DUPLEX,
        cv2.FONT_HERSHEY_COMPLEX,
        cv2.FONT_HERSHEY_TRIPLEX,
        cv2.FONT_HERSHEY_COMPLEX_SMALL,
        cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
        cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
    ]
    return plain + [font | cv2.FONT_ITALIC for font in plain]


def _affine(rng: np.random.Generator, source: tuple[float, float], *, brush: int, wide: float, side: int) -> np.ndarray:
    """A 2x3 map from a (width, height) source box onto a `side` canvas: small to large, anywhere it
    fits, slanted and turned a little, as hands do. `wide` is the source's width over its height."""
    margin = brush / 2 + 3 * side / SIDE
    height = rng.uniform(max(60.0 * side / SIDE, 3.0 * brush), side - 2 * margin)
    width = height * wide
    if width > side - 2 * margin:
        height, width = height * (side - 2 * margin) / width, side - 2 * margin
    left = rng.uniform(margin, side - margin - width)
    top = rng.uniform(margin, side - margin - height)
    slant, angle = rng.uniform(-0.3, 0.3), np.radians(rng.uniform(-12, 12))
    # unit box -> slanted, turned about its middle -> placed
    to_unit = np.array([[1 / source[0], 0, 0], [0, 1 / source[1], 0], [0, 0, 1]])
    centre = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]])
    shear = np.array([[1, -slant, 0], [0, 1, 0], [0, 0, 1]])
    turn = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    place = np.array([[width, 0, left + width / 2], [0, height, top + height / 2], [0, 0, 1]])
    return (place @ turn @ shear @ centre @ to_unit)[:2]


def _skeleton_on_canvas(picture: np.ndarray, rng: np.random.Generator, *, brush: int, side: int) -> np.ndarray:
    """Bright strokes of any thickness, (h, w) uint8 -> the pen's path placed on the canvas, (side, side) bool."""
    import cv2
    from skimage.morphology import skeletonize

    rows, cols = np.flatnonzero(picture.max(axis=1) > 60), np.flatnonzero(picture.max(axis=0) > 60)
    picture = picture[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)
    picture = cv2.copyMakeBorder(picture, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=0)
    height, width = picture.shape
    matrix = _affine(rng, (width, height), brush=brush, wide=width / height, side=side)
    placed = cv2.warpAffine(picture, matrix, (side, side), flags=cv2.INTER_CUBIC, borderValue=0)
    return skeletonize(placed > 0.45 * placed.max())


def mnist_path(digit: np.ndarray, rng: np.random.Generator, *, brush: int, side: int = SIDE) -> np.ndarray:
    """An MNIST digit (28, 28) uint8 as the pen's path on the canvas, (side, side) bool."""
    return _skeleton_on_canvas(np.asarray(digit).reshape(28, 28), rng, brush=brush, side=side)


def hershey_path(text: str, rng: np.random.Generator, *, brush: int, side: int = SIDE) -> np.ndarray:
    """`text` in a random Hershey stroke font as the pen's path on the canvas, (side, side) bool."""
    import cv2

    fonts = _hershey_fonts()
    scratch = np.zeros((400, 200 + 160 * len(text)), np.uint8)
    cv2.putText(scratch, text, (40, 300), fonts[rng.integers(len(fonts))], 6.0, 255, 3, cv2.LINE_AA)
    return _skeleton_on_canvas(scratch, rng, brush=brush, side=side)


def _lines_on_canvas(lines: list[np.ndarray], rng: np.random.Generator, *, brush: int, side: int) -> np.ndarray:
    """Polylines in a unit box, (n, 2) arrays of (x, y) -> the pen's path on the canvas."""
    import cv2

    points = np.concatenate(lines)
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.maximum(high - low, 1e-3)
    matrix = _affine(rng, (1.0, 1.0), brush=brush, wide=float(np.clip(span[0] / span[1], 0.4, 2.5)), side=side)
    canvas = np.zeros((side, side), np.uint8)
    for line in lines:
        unit = (line - low) / span
        xy = unit @ matrix[:, :2].T + matrix[:, 2]
        cv2.polylines(canvas, [np.round(xy * 16).astype(np.int32)], False, 255, 1, cv2.LINE_8, shift=4)
    return canvas > 0


def shape_lines(kind: str, rng: np.random.Generator) -> list[np.ndarray]:
    """A non-digit shape (one of NOT_DIGITS except the letters) as polylines in a unit box."""
    wobble = lambda n: rng.normal(0, 0.015, (n, 2))  # noqa: E731  a hand is not a ruler
    if kind == "polygon":
        sides = int(rng.integers(3, 9))
        angles = (
            np.sort(rng.uniform(0, 2 * np.pi, sides))
            if rng.random() < 0.4
            else np.linspace(0, 2 * np.pi, sides + 1)[:-1]
        )
        angles = angles + rng.uniform(0, 2 * np.pi)
        ring = np.stack([np.cos(angles), np.sin(angles)], axis=1)
        ring = np.concatenate([ring, ring[:1]])
        return [ring + wobble(len(ring))]
    if kind == "arrow":
        tail, head = np.array([0.0, 0.5]), np.array([1.0, 0.5])
        barb = rng.uniform(0.15, 0.35)
        lines = [np.stack([tail, head]), np.array([[1 - barb, 0.5 - barb], [1.0, 0.5], [1 - barb, 0.5 + barb]])]
        turn = rng.uniform(0, 2 * np.pi)
        rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
        return [(line - 0.5) @ rotation.T + wobble(len(line)) for line in lines]
    if kind == "spiral":
        turns = rng.uniform(1.5, 3.5)
        t = np.linspace(0, turns * 2 * np.pi, 120)
        radius = 0.1 + t / t[-1]
        return [np.stack([radius * np.cos(t), radius * np.sin(t) * rng.uniform(0.7, 1.0)], axis=1)]
    if kind == "hatching":
        count = int(rng.integers(3, 7))
        tilt = rng.uniform(-0.6, 0.6)
        return [np.array([[i / count + tilt * 0, 0.0], [i / count + tilt, 1.0]]) + wobble(2) for i in range(count + 1)]
    if kind == "wave":
        t = np.linspace(0, 1, 80)
        cycles = rng.uniform(1.5, 4)
        rows = int(rng.integers(1, 4))
        return [
            np.stack([t, 0.3 * r + 0.12 * np.sin(2 * np.pi * cycles * t + rng.uniform(0, 6))], axis=1)
            for r in range(rows)
        ]
    if kind == "scribble":
        points = rng.uniform(0, 1, (int(rng.integers(5, 12)), 2))
        for _ in range(3):  # corner cutting (Chaikin, 1974): a smooth curve through the jumps
            q, r = 0.75 * points[:-1] + 0.25 * points[1:], 0.25 * points[:-1] + 0.75 * points[1:]
            points = np.concatenate([points[:1], np.stack([q, r], axis=1).reshape(-1, 2), points[-1:]])
        return [points]
    raise ValueError(f"unknown shape {kind!r}; one of {NOT_DIGITS}")


def ink(path: np.ndarray, brush: int) -> np.ndarray:
    """The pen's path (SIDE, SIDE) bool drawn with a round pen `brush` px wide: white on black uint8,
    with the soft edge of the canvas's strokes."""
    import cv2

    canvas = path.astype(np.uint8) * 255
    if brush > 1:
        canvas = cv2.dilate(canvas, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (brush, brush)))
    return cv2.GaussianBlur(canvas, (3, 3), 0)


def brush_width(rng: np.random.Generator, *, side: int = SIDE) -> int:
    """Pens from a hairline to a marker: 1-40 px on the 280 px canvas (a third of them under 6 px),
    in proportion on a `side` canvas."""
    width = int(rng.integers(1, 6)) if rng.random() < 0.35 else int(rng.integers(6, 41))
    return max(1, round(width * side / SIDE))


def photograph(drawing: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A white-on-black drawing as a photo of dark ink on paper: uneven light (a slope and a bowl),
    grey paper, grey ink, a little blur, perspective and sensor noise. Same shape, uint8."""
    import cv2

    side = drawing.shape[0]
    y, x = np.mgrid[0:side, 0:side] / side - 0.5
    direction = rng.uniform(0, 2 * np.pi)
    light = 1 + rng.uniform(0, 0.6) * (np.cos(direction) * x + np.sin(direction) * y)
    light -= rng.uniform(0, 0.8) * (x**2 + y**2)
    paper = rng.uniform(150, 245) * light
    ink_level = rng.uniform(0, 90)
    alpha = drawing.astype(np.float32) / 255
    photo = paper * (1 - alpha) + ink_level * light * alpha
    corners = np.float32([[0, 0], [side, 0], [side, side], [0, side]])
    moved = corners + rng.uniform(-0.06, 0.06, (4, 2)).astype(np.float32) * side
    # The picture a phone takes: the page fills it (the paper's edge is out of the frame).
    photo = cv2.warpPerspective(
        photo.astype(np.float32),
        cv2.getPerspectiveTransform(corners, moved),
        (side, side),
        borderMode=cv2.BORDER_REFLECT,
    )
    sigma = rng.uniform(0, 1.5) * side / SIDE
    if sigma > 0.3 * side / SIDE:
        photo = cv2.GaussianBlur(photo, (0, 0), sigma)
    photo += rng.normal(0, rng.uniform(0, 8), photo.shape)
    return np.clip(np.round(photo), 0, 255).astype(np.uint8)


def dead_leaves(rng: np.random.Generator, *, side: int = SIDE) -> np.ndarray:
    """A photo-like picture: overlapping discs and boxes of random grey (sizes from a power law, as
    in natural images), a light gradient and noise. (side, side) uint8."""
    import cv2

    picture = np.full((side, side), rng.uniform(0, 255), np.float32)
    for _ in range(int(rng.integers(20, 200))):
        radius = int(side * 0.02 / rng.uniform(0.02, 1.0) ** 0.7)
        centre = (int(rng.integers(0, side)), int(rng.integers(0, side)))
        value = float(rng.uniform(0, 255))
        if rng.random() < 0.5:
            cv2.circle(picture, centre, radius, value, -1, cv2.LINE_AA)
        else:
            cv2.rectangle(
                picture, centre, (centre[0] + radius, centre[1] + int(radius * rng.uniform(0.3, 2))), value, -1
            )
    y, x = np.mgrid[0:side, 0:side] / side - 0.5
    picture *= 1 + rng.uniform(-0.4, 0.4) * x + rng.uniform(-0.4, 0.4) * y
    picture = cv2.GaussianBlur(picture, (0, 0), rng.uniform(0.3, 2.0))
    picture += rng.normal(0, rng.uniform(0, 10), picture.shape)
    return np.clip(np.round(picture), 0, 255).astype(np.uint8)


def pink_noise(rng: np.random.Generator, *, side: int = SIDE) -> np.ndarray:
    """Noise with the 1/f amplitude spectrum of natural photos (Field, 1987): clouds, foliage, rock.
    (side, side) uint8."""
    fy, fx = np.fft.fftfreq(side)[:, None], np.fft.fftfreq(side)[None, :]
    radius = np.hypot(fx, fy)
    radius[0, 0] = 1.0
    spectrum = (rng.normal(size=(side, side)) + 1j * rng.normal(size=(side, side))) / radius ** rng.uniform(0.8, 1.6)
    field = np.fft.ifft2(spectrum).real
    field = (field - field.mean()) / (field.std() + 1e-9)
    return np.clip(np.round(128 + rng.uniform(25, 70) * field), 0, 255).astype(np.uint8)


def objects(rng: np.random.Generator, *, side: int = SIDE) -> np.ndarray:
    """A photo-like scene: a few solid objects (discs, boxes, blobs, crescents) shaded with a
    light gradient and textured, on a textured background, slightly blurred. (side, side) uint8."""
    import cv2

    scene = pink_noise(rng, side=side).astype(np.float32) * rng.uniform(0.2, 0.6) + rng.uniform(0, 160)
    y, x = np.mgrid[0:side, 0:side] / side - 0.5
    for _ in range(int(rng.integers(1, 5))):
        mask = np.zeros((side, side), np.uint8)
        centre = (int(rng.integers(side // 5, 4 * side // 5)), int(rng.integers(side // 5, 4 * side // 5)))
        size = int(side * rng.uniform(0.1, 0.4))
        # Filled shapes only: a ring is a 0 and a bar is a 1, whatever else they are in a photo.
        shape = rng.integers(4)
        if shape == 0:
            cv2.ellipse(mask, centre, (size, int(size * rng.uniform(0.4, 1))), rng.uniform(0, 180), 0, 360, 1, -1)
        elif shape == 1:
            cv2.rectangle(mask, centre, (centre[0] + size, centre[1] + int(size * rng.uniform(0.5, 1.5))), 1, -1)
        elif shape == 2:
            corners = rng.uniform(-size, size, (int(rng.integers(4, 9)), 2)) + centre
            cv2.fillPoly(mask, [cv2.convexHull(corners.astype(np.int32))], 1)
        else:
            cv2.circle(mask, centre, size, 1, -1)
            cv2.circle(mask, (centre[0] + size // 2, centre[1] - size // 3), size, 0, -1)
        direction = rng.uniform(0, 2 * np.pi)
        shade = rng.uniform(40, 255) * (1 + rng.uniform(0, 0.8) * (np.cos(direction) * x + np.sin(direction) * y))
        texture = (pink_noise(rng, side=side).astype(np.float32) - 128) * rng.uniform(0, 0.5)
        scene = np.where(mask > 0, shade + texture, scene)
    scene = cv2.GaussianBlur(scene.astype(np.float32), (0, 0), rng.uniform(0.5, 2.0) * side / SIDE)
    return np.clip(np.round(scene), 0, 255).astype(np.uint8)


def drawing(
    kind: str,
    rng: np.random.Generator,
    *,
    source: np.ndarray | int | None = None,
    brush: int | None = None,
    side: int = SIDE,
) -> np.ndarray:
    """One drawing white on black on a `side` canvas, (side, side) uint8: `kind` 'mnist' (with
    `source`, a (28, 28) digit), 'hershey digit' (with `source`, the digit 0-9), or one of NOT_DIGITS.
    `brush` is in the canvas's pixels (a random pen when not given)."""
    brush = brush_width(rng, side=side) if brush is None else brush
    if kind == "mnist":
        path = mnist_path(source, rng, brush=brush, side=side)
    elif kind == "hershey digit":
        path = hershey_path(str(int(source)), rng, brush=brush, side=side)
    elif kind == "letter":
        path = hershey_path(LETTERS[rng.integers(len(LETTERS))], rng, brush=brush, side=side)
    elif kind == "letters":
        text = "".join(LETTERS[i] for i in rng.integers(len(LETTERS), size=2))
        path = hershey_path(text, rng, brush=brush, side=side)
    else:
        path = _lines_on_canvas(shape_lines(kind, rng), rng, brush=brush, side=side)
    return ink(path, brush)
