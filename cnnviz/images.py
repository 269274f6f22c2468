"""Decode user images safely, convert canvas drawings, resize, and load bundled samples.

Every function returns uint8 arrays: (H, W) for grayscale, (H, W, 3) for RGB.
"""

from __future__ import annotations

import gzip
import io
import re
import struct
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from cnnviz.errors import InvalidInput

MAX_BYTES = 20 * 1024 * 1024  # an upload larger than this is refused before decoding
MAX_PIXELS = 40_000_000  # width * height, checked from the header before any pixel is decoded
MIN_SIDE = 3  # a 3x3 kernel needs at least this much image
ALLOWED_FORMATS = ("PNG", "JPEG", "BMP", "WEBP", "GIF")
ACCEPTED_TEXT = "PNG, JPEG, BMP, WebP or GIF"

DATA_DIR = Path(__file__).parent / "data"
MNIST_DIR = DATA_DIR / "mnist"

# Magic bytes of the accepted formats: content is judged by its bytes, never by a file name.
# Pillow checks width * height from the header before decoding: past this it warns, past twice this
# it raises. Both become InvalidInput below (the warning is turned into an error).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"BM", "BMP"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)


def sniff_format(data: bytes) -> str | None:
    """The image format named by the first bytes of `data`, or None if it is not an accepted one."""
    for magic, name in _SIGNATURES:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def load_image(data: bytes) -> np.ndarray:
    """Decode an uploaded image into uint8 (H, W) grayscale or (H, W, 3) RGB.

    Accepts PNG, JPEG, BMP, WebP and GIF (first frame). EXIF orientation is applied; transparent
    pixels are composited onto white; 16-bit images are scaled to 8 bits; palette, CMYK and other
    modes are converted. Size limits (`MAX_BYTES`, `MAX_PIXELS`) are checked before decoding.

    Raises
    ------
    InvalidInput
        For anything else, with a message naming the problem and what is accepted.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidInput(f"Expected the bytes of an image file, got {type(data).__name__}.")
    data = bytes(data)
    if not data:
        raise InvalidInput(f"The file is empty. Upload a {ACCEPTED_TEXT} image.")
    if len(data) > MAX_BYTES:
        raise InvalidInput(
            f"The file is {len(data) / 2**20:.1f} MB; images up to {MAX_BYTES // 2**20} MB are accepted."
        )
    kind = sniff_format(data)
    if kind is None:
        raise InvalidInput(f"This file is not an image this app reads. Upload a {ACCEPTED_TEXT} image.")
    try:
        with warnings.catch_warnings():
            # Pillow only warns about a decompression bomb below twice its limit: make it an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise InvalidInput(
                    f"The image claims {width}x{height} pixels; at most {MAX_PIXELS // 1_000_000} "
                    "megapixels are accepted."
                )
            if min(width, height) < MIN_SIDE:
                raise InvalidInput(f"The image is {width}x{height} pixels; at least {MIN_SIDE}x{MIN_SIDE} is needed.")
            image.load()  # decodes the first frame of an animated GIF or WebP
            image = ImageOps.exif_transpose(image)
            return _to_array(image)
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        claimed = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(claimed.group(1)):,} pixels" if claimed else "too many pixels"
        raise InvalidInput(
            f"The image claims {size}, too many to decode safely; at most {MAX_PIXELS // 1_000_000} "
            "megapixels are accepted."
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, MemoryError) as exc:
        raise InvalidInput(
            f"The {kind} file could not be decoded (it may be truncated or damaged: {exc}). "
            f"Upload a complete {ACCEPTED_TEXT} image."
        ) from None


def _to_array(image: Image.Image) -> np.ndarray:
    """Pillow image of any mode -> uint8 (H, W) or (H, W, 3)."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode.startswith("I") and values.max(initial=0) > 255 else 255.0
        if mode == "F":
            low, top = values.min(initial=0), values.max(initial=1)
            values = (values - low) / max(top - low, 1e-12) * 255.0
            top = 255.0
        return np.clip(np.round(values * (255.0 / top)), 0, 255).astype(np.uint8)
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        image = image.convert("RGB")
    elif mode == "1":
        image = image.convert("L")
    elif mode == "PA":
        image = image.convert("RGBA")
    mode = image.mode
    if mode in ("RGBA", "LA", "La", "RGBa"):
        # Transparent areas become white, as they look in a browser on a white page.
        base = "L" if mode.startswith("L") else "RGB"
        background = Image.new(base + "A", image.size, (255,) * len(base + "A"))
        image = Image.alpha_composite(background, image.convert(base + "A")).convert(base)
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    return np.array(image, dtype=np.uint8)


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) RGB -> uint8 (H, W) luma (ITU-R 601, as Pillow and OpenCV); (H, W) passes."""
    image = np.asarray(image)
    if image.ndim == 2:
        return image
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W) -> (H, W, 3) by repeating the channel; RGB passes unchanged."""
    image = np.asarray(image)
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image


def canvas_to_gray(rgba: np.ndarray, *, background: int = 0) -> np.ndarray:
    """Canvas pixels (H, W, 4) uint8 RGBA -> (H, W) uint8 grayscale over a solid background.

    The drawing canvas returns only the strokes, with alpha 0 where nothing was drawn; this
    composites them onto `background` (0 = black, 255 = white) the way the canvas displays them.
    """
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise InvalidInput(f"Canvas data must be (H, W, 4) RGBA, got shape {rgba.shape}.")
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    colour = rgba[..., :3].astype(np.float32)
    rgb = colour * alpha + float(background) * (1.0 - alpha)
    return to_grayscale(np.clip(np.round(rgb), 0, 255).astype(np.uint8))


def resize(image: np.ndarray, *, max_side: int | None = None, size: tuple[int, int] | None = None) -> np.ndarray:
    """Resize uint8 (H, W) or (H, W, 3): to `size=(height, width)`, or down so the longer side is at
    most `max_side` (never up). Area interpolation when shrinking, bilinear when growing."""
    import cv2

    image = np.asarray(image)
    height, width = image.shape[:2]
    if size is None:
        if max_side is None or max(height, width) <= max_side:
            return image
        scale = max_side / max(height, width)
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
    new_h, new_w = size
    if new_h < 1 or new_w < 1:
        raise InvalidInput(f"Cannot resize to {new_h}x{new_w}: both sides must be at least 1 pixel.")
    shrinking = new_h * new_w < height * width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (new_w, new_h), interpolation=interpolation)


def encode_png(image: np.ndarray, *, palette: np.ndarray | None = None) -> bytes:
    """uint8 (H, W) or (H, W, 3) RGB -> PNG bytes, with light compression (fast to write).

    With `palette` ((256, 3) uint8), a 2-D `image` holds palette indices and is written as an
    8-bit palette PNG.
    """
    image = np.ascontiguousarray(image)
    if palette is not None:
        if image.ndim != 2:
            raise InvalidInput(f"A palette image must be 2-D indices, got shape {image.shape}.")
        picture = Image.frombytes("P", (image.shape[1], image.shape[0]), image.astype(np.uint8).tobytes())
        picture.putpalette(np.asarray(palette, dtype=np.uint8).ravel().tolist())
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()
    import cv2

    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buffer = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:  # pragma: no cover - OpenCV only fails on shapes we never pass
        raise InvalidInput(f"Could not encode an image of shape {image.shape} as PNG.")
    return buffer.tobytes()


# --- bundled samples ---------------------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """Read a gzip IDX file (the MNIST format): big-endian header, then uint8 data."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def _mnist_digit() -> np.ndarray:
    images = read_idx(MNIST_DIR / "t10k-images-idx3-ubyte.gz")
    return images[0].copy()  # a real handwritten 7, 28x28, white on black


def _mnist_digit_moved() -> np.ndarray:
    # The same 7 moved 4 pixels right: still whole (its ink ends at column 21 of 28), but no longer where
    # a network trained on centred digits expects its strokes (the lesson "Why convolution?").
    return np.roll(_mnist_digit(), 4, axis=1)


def _sklearn(name: str):
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_image

        return load_sample_image(name)

    return load


def _skimage(name: str):
    def load() -> np.ndarray:
        import skimage.data

        return getattr(skimage.data, name)()

    return load


# name -> (loader, one line of what it is and where it comes from)
SAMPLES = {
    "camera": (_skimage("camera"), "Cameraman, 512x512 grayscale (scikit-image)"),
    "astronaut": (_skimage("astronaut"), "Astronaut Eileen Collins, 512x512 colour (scikit-image, NASA)"),
    "coins": (_skimage("coins"), "Greek coins, 303x384 grayscale (scikit-image)"),
    "coffee": (_skimage("coffee"), "A cup of coffee, 400x600 colour (scikit-image)"),
    "chelsea": (_skimage("chelsea"), "Chelsea the cat, 300x451 colour (scikit-image)"),
    "china": (_sklearn("china.jpg"), "A temple in China, 427x640 colour (scikit-learn)"),
    "flower": (_sklearn("flower.jpg"), "A flower, 427x640 colour (scikit-learn)"),
    "mnist digit": (_mnist_digit, "A real handwritten 7 from MNIST, 28x28 (LeCun, Cortes, Burges)"),
    "mnist digit, moved": (_mnist_digit_moved, "The same handwritten 7, moved 4 pixels to the right, 28x28"),
}


def load_sample(name: str) -> np.ndarray:
    """A bundled sample image by name (see `SAMPLES`), uint8 (H, W) or (H, W, 3)."""
    if name not in SAMPLES:
        raise InvalidInput(f"Unknown sample {name!r}; choose one of: {', '.join(SAMPLES)}.")
    image = np.asarray(SAMPLES[name][0]())
    return image.astype(np.uint8, copy=False)


# MNIST's strokes, measured on the 8,000 training digits of mnist-bundled (ink pixels over skeleton
# pixels, at 28x28 with the digit in its 20x20 box): median 2.9 px, 5th percentile 1.9, 95th 4.7.
# As fractions of the box, so that any `box` gets the same proportions.
MNIST_STROKE = 0.145  # the median width over the box side
THIN_STROKE = 0.11  # thinner than this (a thin pen on a big drawing) is thickened to MNIST_STROKE
SPECK = 0.02  # ink blobs under this share of the largest blob's area are dust or noise, not strokes


def even_background(gray: np.ndarray) -> np.ndarray:
    """The smooth background under bright ink on a dark page, (H, W) float32: a quadratic surface
    fitted to the page with the ink left out (a robust fit: pixels far above the fit are ink and are
    dropped, five times over). A light gradient or a vignette across a photographed page is such a
    surface; a drawing on the black canvas gives 0 everywhere."""
    import cv2

    height, width = gray.shape
    scale = 64 / max(height, width)
    small_size = (max(2, round(width * scale)), max(2, round(height * scale)))
    small = cv2.resize(gray.astype(np.float32), small_size, interpolation=cv2.INTER_AREA)

    def terms(h: int, w: int) -> np.ndarray:
        y, x = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
        return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1).reshape(-1, 6)

    design, values = terms(*small.shape), small.ravel()
    keep = values <= np.percentile(values, 60)  # start from the darker part: ink is rarely most of a page
    for _ in range(5):
        kept = design[keep]  # the normal equations: 6x6, thirty times faster than lstsq on a busy CPU
        coefficients = np.linalg.solve(kept.T @ kept + 1e-6 * np.eye(6), kept.T @ values[keep])
        residual = values - design @ coefficients
        spread = 1.4826 * np.median(np.abs(residual[keep] - np.median(residual[keep]))) + 1.0
        keep = residual < 2.5 * spread  # ink sits far above the page
        if keep.sum() < 12:
            break
    c = coefficients  # the surface at full size, by broadcasting a row and a column (no (H*W, 6) matrix)
    y, x = np.linspace(-1, 1, height)[:, None], np.linspace(-1, 1, width)[None, :]
    return (c[0] + c[1] * x + c[2] * y + c[3] * x * x + c[4] * x * y + c[5] * y * y).astype(np.float32)


def _strokes_only(gray: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """`ink` without the specks (blobs smaller than SPECK of the largest): dust, noise, paper grain."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    if count <= 2:
        return ink
    areas = stats[1:, cv2.CC_STAT_AREA]
    kept = np.flatnonzero(areas >= SPECK * areas.max()) + 1
    return np.isin(labels, kept)


def stroke_width(ink: np.ndarray) -> float:
    """The mean width of the strokes of a (H, W) bool ink mask, in pixels: ink pixels over skeleton
    pixels (a stroke of width w and length l covers about w * l pixels, its skeleton l)."""
    from skimage.morphology import skeletonize

    length = int(skeletonize(ink).sum())
    return float(ink.sum()) / max(length, 1)


def prepare_digit(
    image: np.ndarray, *, size: int = 28, box: int = 20, centre: bool = True
) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """Turn a drawing or photo of one digit into an MNIST-like `size` x `size` uint8 image: white
    ink on black, the ink scaled to fit a `box` square and centred by its centre of mass (how the
    MNIST digits were made). Returns the result and the steps, as (title, image) pairs to show.

    On the way, an unevenly lit page is evened out (`even_background`), so a light gradient does not
    count as ink; specks of dust and noise are dropped; and strokes thinner than MNIST's (a thin pen,
    THIN_STROKE of the box) are thickened to MNIST's median width (MNIST_STROKE), since the model
    has never seen hairlines. With `centre` False the whole picture is kept, only shrunk to `size`
    (a digit off-centre stays off-centre: what a network that was only shown centred digits meets).
    """
    import cv2

    steps = []
    gray = to_grayscale(np.asarray(image))
    steps.append(("grayscale", gray))
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    # Dark ink on a light page (MNIST is light ink on black): most of the edge is light. Most, not
    # half: a phone's photo of a page can be dark in its corners.
    if np.percentile(border, 75) > 127:
        gray = 255 - gray
        steps.append(("inverted", gray))
    # A drawing on the black canvas (or a clean scan, inverted) is black wherever there is no ink:
    # there is no light to even out, and a fit could only mistake a large drawing for the page.
    black = float(np.mean(gray <= 2)) > 0.25
    background = np.zeros(gray.shape, np.float32) if black else even_background(gray)
    evened = gray.astype(np.float32) - background
    if float(background.max()) > 12:  # a lit page, not the black canvas: say so and show the result
        # The paper's grain and the camera's noise, measured where most of the page is (not ink),
        # lifted off with a little blur so that it cannot pass for faint strokes.
        grain = 1.4826 * float(np.median(np.abs(evened - np.median(evened))))
        evened = cv2.GaussianBlur(evened, (0, 0), max(evened.shape) / 400)
        evened = np.clip(evened - float(np.median(evened)) - 3 * grain, 0, None)
        peak = float(np.percentile(evened, 99.9))
        evened = evened * (255.0 / peak) if 0 < peak < 255 else evened
    evened = np.clip(np.round(evened), 0, 255).astype(np.uint8)
    ink = evened > max(40, int(evened.max()) // 4)
    if float(background.max()) > 12 and ink.any():
        steps.append(("background evened out", evened))
    if ink.any():
        gray = evened
    else:  # all texture, no strokes (a photo of fur or grass): the picture as it was, not "blank"
        ink = gray > max(40, int(gray.max()) // 4)
    if not ink.any():
        raise InvalidInput(
            "No digit found: the image is blank. Draw or upload one digit, dark on light or light on dark."
        )
    strokes = _strokes_only(gray, ink)
    if strokes.sum() < ink.sum():  # specks dropped: keep the strokes and their soft edges only
        near = cv2.dilate(strokes.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        gray, ink = np.where(near, gray, 0).astype(np.uint8), strokes
    if centre:
        rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        crop = gray[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        steps.append(("cropped to the ink", crop))
        fit = box
    else:
        crop, fit = gray, size
    scale = fit / max(crop.shape)
    width = stroke_width(ink) * scale  # in pixels of the result
    if width < THIN_STROKE * box:
        # A max filter over a disc widens every stroke by the disc's diameter less one.
        grow = max(1, round((MNIST_STROKE * box - width) / scale))
        pen = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow + 1, grow + 1))
        if centre:  # room for the wider strokes, then crop again
            crop = cv2.copyMakeBorder(crop, grow, grow, grow, grow, cv2.BORDER_CONSTANT, value=0)
        crop = cv2.dilate(crop, pen)
        if centre:
            rows, cols = np.flatnonzero(crop.any(axis=1)), np.flatnonzero(crop.any(axis=0))
            crop = crop[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
            scale = fit / max(crop.shape)
        steps.append(("thin strokes thickened", crop))
    if 0 < int(crop.max()) < 255:  # faint ink (a thin pen's soft edge, a pencil): as bright as MNIST's
        crop = np.round(crop.astype(np.float32) * (255.0 / float(crop.max()))).astype(np.uint8)
    new_h, new_w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    small = cv2.resize(crop, (new_w, new_h), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((size, size), dtype=np.float32)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = small
    if not centre:
        result = np.clip(np.round(canvas), 0, 255).astype(np.uint8)
        steps.append((f"shrunk to {size}x{size}, where it was drawn", result))
        return result, steps
    mass = canvas.sum()
    if mass > 0:  # shift so the centre of mass sits in the middle, as MNIST's preparation did
        ys, xs = np.indices(canvas.shape)
        dy, dx = size / 2 - 0.5 - (ys * canvas).sum() / mass, size / 2 - 0.5 - (xs * canvas).sum() / mass
        shift = np.float32([[1, 0, np.clip(dx, -4, 4)], [0, 1, np.clip(dy, -4, 4)]])
        canvas = cv2.warpAffine(canvas, shift, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)
    result = np.clip(np.round(canvas), 0, 255).astype(np.uint8)
    steps.append((f"{box}x{box} box in {size}x{size}, centred by mass", result))
    return result, steps
