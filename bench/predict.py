"""Unfamiliar pictures: does the shipped MNIST model say "this is not a digit" for photos, and not
for digits it never saw?

Digits: the held-out MNIST test split (never trained on), scikit-learn's 8x8 digits (other writers,
scaled up), and digits drawn as people draw them on the app's 280x280 canvas (white ink on black,
brush 10-40 px, small and large, off-centre): hand-made stroke templates with random slant, shape
and jitter, Hershey stroke-font digits, and held-out MNIST digits traced to their skeleton and
redrawn with a canvas brush. Photos: every natural photo in scikit-image and scikit-learn, whole,
cropped and at half size, plus the 200 small patches of scikit-image's lfw_subset (faces and not).
Each goes through `cnnviz.predict.classify` as the app does (crop, invert, centre for the digit
model); a photo in which preparation finds no ink at all is left out (the app says "No digit found").
"drawn_digit_accuracy" counts a drawn digit as recognised when its top class is right and it is not
flagged; "digit_flagged_rate" is over every digit above; "photo_flagged_rate" over every photo.

Run: python bench/predict.py   (prints tables, then RESULT lines)
"""

from __future__ import annotations

import os
import time

import numpy as np
from common import table

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CANVAS = 280  # the app's drawing canvas, pixels
SEED = 0

# Stroke templates of digits as people draw them: (points in a unit box, x right and y down; smooth?).
# Several variants per digit (a 1 with or without a flag, a 7 with or without a bar, an open or a closed 4).
TEMPLATES: dict[int, list[list[tuple[list[tuple[float, float]], bool]]]] = {
    0: [
        [([(0.5, 0.0), (0.15, 0.2), (0.1, 0.6), (0.4, 1.0), (0.8, 0.85), (0.9, 0.4), (0.7, 0.05), (0.45, 0.02)], True)],
        [([(0.55, 0.02), (0.2, 0.15), (0.15, 0.7), (0.5, 1.0), (0.85, 0.7), (0.8, 0.2), (0.5, 0.0)], True)],
    ],
    1: [
        [([(0.5, 0.0), (0.5, 1.0)], False)],
        [([(0.3, 0.2), (0.55, 0.0), (0.55, 1.0)], False)],
        [([(0.6, 0.0), (0.4, 1.0)], False)],
    ],
    2: [
        [
            ([(0.1, 0.25), (0.35, 0.02), (0.75, 0.05), (0.85, 0.35), (0.5, 0.65), (0.05, 1.0)], True),
            ([(0.05, 1.0), (0.95, 0.98)], False),
        ],
        [([(0.15, 0.2), (0.5, 0.0), (0.85, 0.25), (0.6, 0.6), (0.1, 0.95), (0.5, 0.9), (0.95, 1.0)], True)],
    ],
    3: [
        [
            (
                [
                    (0.15, 0.1),
                    (0.5, 0.0),
                    (0.85, 0.2),
                    (0.75, 0.42),
                    (0.4, 0.5),
                    (0.8, 0.6),
                    (0.9, 0.85),
                    (0.5, 1.0),
                    (0.1, 0.9),
                ],
                True,
            )
        ],
        [([(0.1, 0.05), (0.85, 0.05), (0.45, 0.45), (0.85, 0.65), (0.75, 0.95), (0.1, 0.9)], True)],
    ],
    4: [
        [([(0.65, 0.0), (0.05, 0.68), (0.95, 0.68)], False), ([(0.7, 0.3), (0.7, 1.0)], False)],
        [([(0.2, 0.0), (0.1, 0.6), (0.9, 0.6)], False), ([(0.75, 0.1), (0.72, 1.0)], False)],
    ],
    5: [
        [
            ([(0.85, 0.0), (0.25, 0.02), (0.18, 0.45)], False),
            ([(0.18, 0.45), (0.5, 0.38), (0.85, 0.55), (0.85, 0.85), (0.5, 1.0), (0.1, 0.9)], True),
        ],
        [
            ([(0.2, 0.0), (0.15, 0.45), (0.6, 0.4), (0.9, 0.7), (0.6, 1.0), (0.1, 0.9)], True),
            ([(0.2, 0.0), (0.85, 0.0)], False),
        ],
    ],
    6: [
        [
            (
                [
                    (0.75, 0.0),
                    (0.4, 0.15),
                    (0.18, 0.5),
                    (0.2, 0.85),
                    (0.5, 1.0),
                    (0.8, 0.85),
                    (0.75, 0.6),
                    (0.45, 0.52),
                    (0.2, 0.7),
                ],
                True,
            )
        ],
        [([(0.6, 0.0), (0.25, 0.45), (0.2, 0.8), (0.5, 1.0), (0.8, 0.8), (0.6, 0.55), (0.25, 0.65)], True)],
    ],
    7: [
        [([(0.05, 0.0), (0.95, 0.0), (0.35, 1.0)], False)],
        [([(0.05, 0.05), (0.9, 0.0), (0.4, 1.0)], False), ([(0.3, 0.5), (0.8, 0.5)], False)],
        [([(0.05, 0.15), (0.1, 0.0), (0.95, 0.02), (0.45, 1.0)], False)],
    ],
    8: [
        [
            (
                [
                    (0.6, 0.45),
                    (0.25, 0.3),
                    (0.3, 0.05),
                    (0.7, 0.05),
                    (0.75, 0.3),
                    (0.4, 0.55),
                    (0.2, 0.8),
                    (0.45, 1.0),
                    (0.8, 0.9),
                    (0.8, 0.65),
                    (0.6, 0.45),
                ],
                True,
            )
        ],
        [
            (
                [
                    (0.5, 0.5),
                    (0.8, 0.25),
                    (0.55, 0.0),
                    (0.2, 0.2),
                    (0.5, 0.5),
                    (0.85, 0.75),
                    (0.5, 1.0),
                    (0.15, 0.75),
                    (0.5, 0.5),
                ],
                True,
            )
        ],
    ],
    9: [
        [
            ([(0.8, 0.3), (0.6, 0.05), (0.3, 0.05), (0.15, 0.3), (0.35, 0.5), (0.7, 0.45), (0.82, 0.25)], True),
            ([(0.82, 0.2), (0.75, 1.0)], False),
        ],
        [
            ([(0.8, 0.15), (0.5, 0.0), (0.2, 0.2), (0.3, 0.45), (0.75, 0.35), (0.8, 0.1)], True),
            ([(0.8, 0.1), (0.8, 0.55), (0.6, 1.0)], True),
        ],
    ],
}


def _chaikin(points: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Corner cutting (Chaikin, 1974): a polyline becomes a smooth curve through its middle, as a hand draws."""
    for _ in range(rounds):
        q = 0.75 * points[:-1] + 0.25 * points[1:]
        r = 0.25 * points[:-1] + 0.75 * points[1:]
        points = np.concatenate([points[:1], np.stack([q, r], axis=1).reshape(-1, 2), points[-1:]])
    return points


def _place(rng: np.random.Generator, brush: int, aspect: float | None = None) -> tuple[float, float, float, float]:
    """A digit box (left, top, width, height) for the pen's path on the canvas: small to large, anywhere
    that fits with the brush's width around it. `aspect` is width / height (random when not given)."""
    margin = brush / 2 + 2
    height = rng.uniform(max(90, 3.3 * brush), CANVAS - 2 * margin)
    width = height * (rng.uniform(0.55, 0.95) if aspect is None else aspect)
    if width > CANVAS - 2 * margin:  # a wide digit: shrink both sides until it fits
        height, width = height * (CANVAS - 2 * margin) / width, CANVAS - 2 * margin
    left = rng.uniform(margin, CANVAS - margin - width)
    top = rng.uniform(margin, CANVAS - margin - height)
    return left, top, width, height


def _brush(rng: np.random.Generator) -> int:
    return int(rng.integers(10, 41))


def drawn_templates(count: int, rng: np.random.Generator) -> tuple[list[np.ndarray], list[int]]:
    """Digits drawn from the stroke templates: slanted, rotated, jittered, any brush and place."""
    import cv2

    pictures, labels = [], []
    for n in range(count):
        digit = n % 10
        strokes = TEMPLATES[digit][rng.integers(len(TEMPLATES[digit]))]
        brush = _brush(rng)
        left, top, width, height = _place(rng, brush)
        slant, angle = rng.uniform(-0.35, 0.2), np.radians(rng.uniform(-10, 10))
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        canvas = np.zeros((CANVAS, CANVAS), np.uint8)
        for points, smooth in strokes:
            unit = np.array(points, dtype=np.float64) + rng.normal(0, 0.03, (len(points), 2))
            unit[:, 0] += slant * (0.5 - unit[:, 1])  # a forward slant leans the top to the right
            unit = (unit - 0.5) @ rotation.T + 0.5
            if smooth:
                unit = _chaikin(unit)
            xy = np.stack([left + unit[:, 0] * width, top + unit[:, 1] * height], axis=1)
            cv2.polylines(canvas, [np.round(xy * 16).astype(np.int32)], False, 255, brush, cv2.LINE_AA, shift=4)
        pictures.append(canvas)
        labels.append(digit)
    return pictures, labels


def drawn_hershey(count: int, rng: np.random.Generator) -> tuple[list[np.ndarray], list[int]]:
    """OpenCV's Hershey stroke-font digits 1-9 (its 0 is slashed, which people rarely draw), upright
    or italic, with a canvas brush's width."""
    import cv2

    fonts = [cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SIMPLEX | cv2.FONT_ITALIC]
    pictures, labels = [], []
    for n in range(count):
        digit = 1 + n % 9
        brush = _brush(rng)
        font = fonts[rng.integers(len(fonts))]
        path = _ink_box(_hershey(str(digit), font, 4.0, 1))  # the pen's path at a known scale
        left, top, _, height = _place(rng, brush, aspect=path.shape[1] / path.shape[0])
        glyph = _ink_box(_hershey(str(digit), font, 4.0 * height / path.shape[0], brush))
        canvas = np.zeros((CANVAS, CANVAS), np.uint8)
        y, x = int(top - brush / 2), int(left - brush / 2)
        glyph = glyph[: CANVAS - y, : CANVAS - x]
        canvas[y : y + glyph.shape[0], x : x + glyph.shape[1]] = glyph
        pictures.append(canvas)
        labels.append(digit)
    return pictures, labels


def _hershey(text: str, font: int, scale: float, thickness: int) -> np.ndarray:
    import cv2

    scratch = np.zeros((3 * CANVAS, 3 * CANVAS), np.uint8)
    cv2.putText(scratch, text, (CANVAS // 2, 2 * CANVAS), font, scale, 255, thickness, cv2.LINE_AA)
    return scratch


def _ink_box(picture: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(picture.any(axis=1)), np.flatnonzero(picture.any(axis=0))
    return picture[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def drawn_from_mnist(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> tuple[list, list[int]]:
    """Held-out MNIST digits traced to their skeleton (the path of the pen) and redrawn with a canvas brush."""
    import cv2
    from skimage.morphology import skeletonize

    pictures = []
    for image in images:
        big = cv2.resize(image.reshape(28, 28), (CANVAS, CANVAS), interpolation=cv2.INTER_CUBIC)
        ys, xs = np.nonzero(skeletonize(big > 110))
        brush = _brush(rng)
        span_y, span_x = max(ys.max() - ys.min(), 1), max(xs.max() - xs.min(), 1)
        left, top, _, height = _place(rng, brush, aspect=span_x / span_y)
        scale = height / span_y
        canvas = np.zeros((CANVAS, CANVAS), np.uint8)
        x = np.clip(np.round(left + (xs - xs.min()) * scale).astype(int), 0, CANVAS - 1)
        y = np.clip(np.round(top + (ys - ys.min()) * scale).astype(int), 0, CANVAS - 1)
        canvas[y, x] = 255
        pen = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (brush, brush))
        canvas = cv2.GaussianBlur(cv2.dilate(canvas, pen), (3, 3), 0)  # a soft edge, as the canvas draws
        pictures.append(canvas)
    return pictures, [int(label) for label in labels]


def sklearn_digits() -> tuple[list[np.ndarray], list[int]]:
    """scikit-learn's 1,797 8x8 digits (other writers than MNIST's), scaled up to 160 px on the canvas."""
    import cv2
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pictures = []
    for small in bunch.images:
        big = cv2.resize((small * (255 / 16)).astype(np.uint8), (160, 160), interpolation=cv2.INTER_CUBIC)
        canvas = np.zeros((CANVAS, CANVAS), np.uint8)
        canvas[60:220, 60:220] = big
        pictures.append(canvas)
    return pictures, [int(t) for t in bunch.target]


NATURAL = (
    "astronaut",
    "brick",
    "camera",
    "cell",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "hubble_deep_field",
    "immunohistochemistry",
    "microaneurysms",
    "moon",
    "retina",
    "rocket",
)


def photos(rng: np.random.Generator, *, crops: int = 10) -> dict[str, list[np.ndarray]]:
    """Natural photos: whole, `crops` random crops (20-90% of the side) and a half-size copy of
    each; scikit-image's lfw_subset (100 faces and 100 other patches of the same photos, 25x25,
    scaled to 100)."""
    import cv2
    import skimage.data
    from sklearn.datasets import load_sample_images

    sources = {name: getattr(skimage.data, name)() for name in NATURAL}
    left, right = skimage.data.stereo_motorcycle()[:2]
    sources |= {"motorcycle (left)": left, "motorcycle (right)": right}
    sources |= dict(zip(("china", "flower"), load_sample_images().images, strict=True))
    groups: dict[str, list[np.ndarray]] = {}
    for name, image in sources.items():
        image = np.asarray(image, dtype=np.uint8)
        height, width = image.shape[:2]
        pictures = [image, cv2.resize(image, (width // 2, height // 2), interpolation=cv2.INTER_AREA)]
        for _ in range(crops):
            side = int(min(height, width) * rng.uniform(0.2, 0.9))
            top, left = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
            pictures.append(np.ascontiguousarray(image[top : top + side, left : left + side]))
        groups[name] = pictures
    patches = skimage.data.lfw_subset()
    groups["lfw: faces and patches"] = [
        cv2.resize((face * 255).astype(np.uint8), (100, 100), interpolation=cv2.INTER_CUBIC) for face in patches
    ]
    return groups


def evaluate(model, class_names, reference, pictures, labels=None) -> tuple[float, float, int]:
    """(flagged rate, accuracy among all, count): flagged = 'unfamiliar'; accuracy counts a picture as
    recognised when the top class is right and it is not flagged as unfamiliar."""
    from cnnviz.errors import InvalidInput
    from cnnviz.predict import classify

    flagged = right = done = 0
    for n, picture in enumerate(pictures):
        try:
            verdict = classify(model, picture, class_names=class_names, digit_like=True, reference=reference)
        except InvalidInput:  # a blank crop: the app says "no digit found", which is not a wrong answer
            continue
        done += 1
        flagged += verdict.unfamiliar
        if labels is not None:
            right += verdict.label == class_names[labels[n]] and not verdict.unfamiliar
    return flagged / max(done, 1), right / max(done, 1), done


def main() -> None:
    from cnnviz import datasets
    from cnnviz.predict import default_model

    rng = np.random.default_rng(SEED)
    start = time.perf_counter()
    model, class_names, reference = default_model()
    print(
        f"Model and reference ready in {time.perf_counter() - start:.1f} s ({reference.count} training "
        f"pictures, limit {reference.limit:.2f} standard deviations summed)\n"
    )
    held_out = datasets.load("mnist-bundled")
    digits = {
        "drawn: stroke templates": drawn_templates(600, rng),
        "drawn: Hershey stroke font": drawn_hershey(270, rng),
        "drawn: held-out MNIST, redrawn": drawn_from_mnist(held_out.x_test[:600], held_out.y_test[:600], rng),
        "scikit-learn 8x8 digits": sklearn_digits(),
        "MNIST held-out test split": (list(held_out.x_test[..., 0]), [int(y) for y in held_out.y_test]),
    }
    rows, drawn = [], [0, 0]
    total_flagged = total_digits = 0
    for name, (pictures, labels) in digits.items():
        flagged, accuracy, done = evaluate(model, class_names, reference, pictures, labels)
        rows.append([name, done, flagged, accuracy])
        total_flagged += flagged * done
        total_digits += done
        if name.startswith("drawn"):
            drawn[0] += accuracy * done
            drawn[1] += done
    print("Digits the model never saw (flagged: called unfamiliar; recognised: right and not flagged)")
    print(table(["digits", "images", "flagged", "recognised"], rows))
    photo_rows = []
    photo_flagged = photo_total = 0
    for name, pictures in photos(rng).items():
        flagged, _, done = evaluate(model, class_names, reference, pictures)
        photo_rows.append([name, done, len(pictures) - done, flagged])
        photo_flagged += flagged * done
        photo_total += done
    print("\nNatural photos (whole, cropped, half size)")
    print(table(["photo", "images", "blank (no digit found)", "flagged"], photo_rows))
    print(f"\n{drawn[1]} drawn digits, {total_digits} digits in all, {photo_total} photos")
    print(f"RESULT drawn_digit_accuracy {drawn[0] / drawn[1]:.4f}")
    print(f"RESULT digit_flagged_rate {total_flagged / total_digits:.4f}")
    print(f"RESULT photo_flagged_rate {photo_flagged / photo_total:.4f}")


if __name__ == "__main__":
    main()
