"""Turn arrays into pictures: clipped or signed (diverging colormap) views, colour bars, window
highlights and grids. Computation lives in `cnnviz.ops`; this module only draws.

Every function returns uint8 (H, W) or (H, W, 3) RGB arrays ready for `st.image` or PNG encoding.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from cnnviz.errors import InvalidInput

DISPLAY_MODES = ("signed", "clipped", "minmax")


@functools.cache
def plain_number(value: float, digits: int = 4) -> str:
    """`value` to `digits` significant digits written out, never in scientific notation: what a
    learner reads ('32481', not '3.248e+04'; '0.00012'). Whole digits are never cut: 32481.3 -> '32481'.

    Examples
    --------
    >>> plain_number(32480.7), plain_number(-0.000123456), plain_number(-0.0), plain_number(2.5e-7, 2)
    ('32481', '-0.0001235', '0', '0.00000025')
    """
    value = float(value) + 0.0  # -0.0 reads as 0
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    if decimals > 20:
        return "0"
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def colormap_lut(name: str = "RdBu_r") -> np.ndarray:
    """A matplotlib colormap as a (256, 3) uint8 lookup table."""
    from matplotlib import colormaps

    if name not in colormaps:
        raise InvalidInput(f"Unknown colormap {name!r}.")
    return (colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def signed_limit(values: np.ndarray, *, percentile: float = 99.5) -> float:
    """Symmetric colour limit for signed data: the `percentile` of the magnitudes (at least 1e-6).

    A few extreme responses would otherwise wash every other value out to white; the top 0.5%
    saturate instead, and the colour bar says where.
    """
    values = np.asarray(values, dtype=np.float32)
    magnitudes = np.abs(values[np.isfinite(values)])
    if magnitudes.size == 0:
        return 1e-6
    return float(max(np.percentile(magnitudes, percentile), magnitudes.max() * 1e-3, 1e-6))


def signed_index(values: np.ndarray, *, limit: float | None = None) -> np.ndarray:
    """Signed values -> uint8 positions in a diverging colormap: -limit -> 0, 0 -> 127.5, +limit -> 255.

    Channels of (H, W, C) are averaged first; show channels one by one to see each.
    """
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 3:
        values = values.mean(axis=2)
    limit = signed_limit(values) if limit is None else float(limit)
    return np.clip((np.nan_to_num(values) / limit + 1.0) * 127.5, 0, 255).astype(np.uint8)


def to_signed(values: np.ndarray, *, limit: float | None = None, cmap: str = "RdBu_r") -> np.ndarray:
    """Signed values -> RGB with a diverging colormap: 0 is white, negatives blue, positives red,
    both scaled by `limit` (default: `signed_limit`, values beyond it saturate)."""
    return colormap_lut(cmap)[signed_index(values, limit=limit)]


def to_clipped(values: np.ndarray) -> np.ndarray:
    """Values clipped to 0..255 and rounded, as the tutorials showed their outputs."""
    return np.clip(np.round(np.nan_to_num(np.asarray(values, dtype=np.float32))), 0, 255).astype(np.uint8)


def to_minmax(values: np.ndarray) -> np.ndarray:
    """Values stretched so their minimum is 0 and maximum 255 (per whole array)."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float32))
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-12:
        return np.full(values.shape, 128, dtype=np.uint8)
    return np.round((values - low) * (255.0 / (high - low))).astype(np.uint8)


def render(values: np.ndarray, mode: str = "signed", *, limit: float | None = None) -> np.ndarray:
    """Draw an op's output in one of `DISPLAY_MODES`: 'signed', 'clipped' (0..255), 'minmax'."""
    if mode == "signed":
        return to_signed(values, limit=limit)
    if mode == "clipped":
        return to_clipped(values)
    if mode == "minmax":
        return to_minmax(values)
    raise InvalidInput(f"Display mode {mode!r} is not supported; use one of {', '.join(DISPLAY_MODES)}.")


@functools.cache
def colorbar(*, width: int = 256, height: int = 12, cmap: str = "RdBu_r") -> np.ndarray:
    """A horizontal colour bar, negative on the left, zero in the middle; its values go in the
    caption beside it (read-only: shared by every caller)."""
    bar = np.repeat(colormap_lut(cmap)[np.linspace(0, 255, width).astype(np.uint8)][None], height, axis=0)
    bar.setflags(write=False)
    return bar


def render_png(
    values: np.ndarray, mode: str = "signed", *, min_side: int = 0, limit: float | None = None, cmap: str = "RdBu_r"
) -> bytes:
    """`render` straight to PNG bytes, enlarged (nearest neighbour) to at least `min_side`.

    Signed views are written as 8-bit palette PNGs of the colormap: lossless, about a third of
    the size of RGB, and several times faster to encode.
    """
    from cnnviz.images import encode_png

    if mode == "signed":
        return encode_png(enlarge(signed_index(values, limit=limit), min_side=min_side), palette=colormap_lut(cmap))
    return encode_png(enlarge(render(values, mode), min_side=min_side))


def enlarge(image: np.ndarray, *, min_side: int = 256) -> np.ndarray:
    """Scale a small image up by a whole factor with nearest neighbour, so pixels stay crisp."""
    image = np.asarray(image)
    factor = max(1, min_side // max(1, min(image.shape[:2])))
    if factor == 1:
        return image
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def enlarge_to(image: np.ndarray, *, width: int) -> np.ndarray:
    """`enlarge` by the smallest whole factor that makes `image` at least `width` pixels wide: a
    grid the browser then shrinks to its column stays crisp, where one it stretched would blur."""
    image = np.asarray(image)
    factor = max(1, -(-int(width) // max(1, image.shape[1])))
    return enlarge(image, min_side=factor * min(image.shape[:2]))


def highlight_window(image: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """An RGB copy of `image` with the (top, left, height, width) window outlined in yellow and the
    rest dimmed; the window may hang over the edge (padding)."""
    import cv2

    rgb = np.asarray(image)
    rgb = np.repeat(rgb[..., None], 3, axis=2) if rgb.ndim == 2 else rgb.copy()
    factor = max(1, 256 // max(1, min(rgb.shape[:2])))
    if factor > 1:
        rgb = np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)
    dim = (rgb.astype(np.float32) * 0.55).astype(np.uint8)
    r0, c0 = max(top, 0) * factor, max(left, 0) * factor
    r1, c1 = min(top + height, image.shape[0]) * factor, min(left + width, image.shape[1]) * factor
    dim[r0:r1, c0:c1] = rgb[r0:r1, c0:c1]
    thickness = max(2, min(rgb.shape[:2]) // 150)
    x0, y0 = left * factor, top * factor
    x1, y1 = (left + width) * factor - 1, (top + height) * factor - 1
    cv2.rectangle(dim, (x0, y0), (x1, y1), (255, 210, 0), thickness)
    # A 3x3 window on a 512x512 photo is a speck: ring it so the eye finds it.
    radius = max(12, min(rgb.shape[:2]) // 20)
    centre = ((x0 + x1) // 2, (y0 + y1) // 2)
    cv2.circle(dim, centre, radius + max((x1 - x0), (y1 - y0)) // 2, (255, 210, 0), thickness, cv2.LINE_AA)
    return dim


def tile(images: list[np.ndarray], *, columns: int = 4, gap: int = 4, fill: int = 255) -> np.ndarray:
    """Lay equal-sized uint8 images out in a grid (RGB), `columns` wide."""
    if not images:
        raise InvalidInput("There are no images to lay out.")
    rgb = [np.repeat(i[..., None], 3, axis=2) if i.ndim == 2 else i for i in images]
    height, width = rgb[0].shape[:2]
    rows = -(-len(rgb) // columns)
    cols = min(columns, len(rgb))
    grid = np.full((rows * (height + gap) - gap, cols * (width + gap) - gap, 3), fill, dtype=np.uint8)
    for n, image in enumerate(rgb):
        r, c = divmod(n, columns)
        grid[r * (height + gap) : r * (height + gap) + height, c * (width + gap) : c * (width + gap) + width] = image
    return grid


def tile_at(
    x: float, y: float, *, shown: tuple[float, float], tile_shape: tuple[int, int], count: int, columns: int, gap: int
) -> int | None:
    """Which tile of a `tile` grid a click at (x, y) fell on, or None (past the last tile, off the grid).

    (x, y) are pixels of the grid as shown, `shown` its (width, height) on screen: whatever it was
    enlarged or scaled by, the click is first taken back to the grid's own pixels. `tile_shape` is
    one tile's (height, width); `count`, `columns` and `gap` are those `tile` laid out. A click on
    the gap after a tile counts as that tile (a 1-pixel gap is narrower than a finger).
    """
    height, width = tile_shape
    cols = min(columns, count)
    rows = -(-count // columns)
    grid_width, grid_height = cols * (width + gap) - gap, rows * (height + gap) - gap
    if shown[0] <= 0 or shown[1] <= 0 or count <= 0:
        return None
    gx, gy = x * grid_width / shown[0], y * grid_height / shown[1]  # (column, row) in grid pixels
    if not (0 <= gx < grid_width and 0 <= gy < grid_height):
        return None
    index = int(gy // (height + gap)) * columns + int(gx // (width + gap))
    return index if index < count else None


def outline_tile(
    grid: np.ndarray,
    index: int,
    *,
    tile_shape: tuple[int, int],
    columns: int,
    gap: int,
    scale: int = 1,
    colour: tuple[int, int, int] = (255, 210, 0),
) -> np.ndarray:
    """A copy of a `tile` grid (RGB) with tile `index` framed in `colour`, drawn on the tile's own
    outer pixels so the frame shows at the grid's edges too. `scale`: the whole factor the grid
    was enlarged by since `tile` made it."""
    height, width = tile_shape
    row, col = divmod(index, columns)
    top, left = row * (height + gap) * scale, col * (width + gap) * scale
    bottom, right = top + height * scale, left + width * scale
    thickness = max(1, scale // 2)
    framed = np.array(grid, copy=True)
    for rows, cols in (
        (slice(top, top + thickness), slice(left, right)),
        (slice(bottom - thickness, bottom), slice(left, right)),
        (slice(top, bottom), slice(left, left + thickness)),
        (slice(top, bottom), slice(right - thickness, right)),
    ):
        framed[rows, cols] = colour
    return framed


def zoom_window(image: np.ndarray, top: int, left: int, height: int, width: int, *, margin: int = 4) -> np.ndarray:
    """An enlarged crop around a kernel window, with the window outlined; positions outside the
    image (padding) are drawn as a grey checkerboard so they read as 'not part of the picture'."""
    import cv2

    rgb = np.asarray(image)
    rgb = np.repeat(rgb[..., None], 3, axis=2) if rgb.ndim == 2 else rgb
    rows = np.arange(top - margin, top + height + margin)
    cols = np.arange(left - margin, left + width + margin)
    inside = (rows[:, None] >= 0) & (rows[:, None] < rgb.shape[0]) & (cols[None] >= 0) & (cols[None] < rgb.shape[1])
    checker = np.where((rows[:, None] + cols[None]) % 2 == 0, 90, 120).astype(np.uint8)
    crop = np.repeat(checker[..., None], 3, axis=2)
    crop[inside] = rgb[np.clip(rows, 0, rgb.shape[0] - 1)[:, None], np.clip(cols, 0, rgb.shape[1] - 1)[None]][inside]
    factor = max(1, 240 // max(crop.shape[:2]))
    big = np.repeat(np.repeat(crop, factor, axis=0), factor, axis=1)
    y0, x0 = margin * factor, margin * factor
    cv2.rectangle(big, (x0, y0), (x0 + width * factor - 1, y0 + height * factor - 1), (255, 210, 0), 2)
    return big


# --- heatmaps (cnnviz.cam computes them) ---------------------------------------------------------


def overlay(image: np.ndarray, heatmap: np.ndarray, *, opacity: float = 0.4) -> np.ndarray:
    """The heatmap in OpenCV's JET colours blended onto the image, as the tutorials did (uint8 RGB)."""
    import cv2

    image = np.asarray(image)
    rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]
    if rgb.shape[-1] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    heat = cv2.resize(np.asarray(heatmap, dtype=np.float32), (rgb.shape[1], rgb.shape[0]))
    colours = cv2.applyColorMap(np.uint8(255 * np.clip(heat, 0, 1)), cv2.COLORMAP_JET)[..., ::-1]
    blended = rgb.astype(np.float32) * (1 - opacity) + colours.astype(np.float32) * opacity
    return np.clip(blended, 0, 255).astype(np.uint8)


def heat_colorbar(*, width: int = 256, height: int = 12) -> np.ndarray:
    """The colours `overlay` paints, as a bar: 0 (blue, no evidence for the class) on the left to
    1 (red, the most) on the right. (height, width, 3) uint8."""
    import cv2

    ramp = np.linspace(0, 255, width).round().astype(np.uint8)[None]  # (1, width)
    return np.repeat(cv2.applyColorMap(ramp, cv2.COLORMAP_JET)[..., ::-1], height, axis=0)
