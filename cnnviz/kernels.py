"""A named gallery of classic convolution kernels, and parsing of custom ones.

Every kernel is a 2-D float32 array (kh, kw) used as `tf.nn.conv2d` uses it: cross-correlation,
the kernel laid over the image without flipping.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np

from cnnviz.errors import InvalidInput

MAX_KERNEL_SIDE = 15
MAX_KERNEL_VALUE = 1e6  # larger entries only overflow the display; nobody needs them to learn


def _k(rows) -> np.ndarray:
    return np.array(rows, dtype=np.float32)


def _gaussian(size: int, sigma: float) -> np.ndarray:
    axis = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(axis**2) / (2 * sigma**2))
    kernel = np.outer(g, g)
    return (kernel / kernel.sum()).astype(np.float32)


def _line(size: int, *, vertical: bool) -> np.ndarray:
    # The tf.nn.conv2d tutorial's line filter: ones down the middle column (or across the middle
    # row), zeros elsewhere, so pixels on a line in that direction add up to a strong response.
    kernel = np.zeros((size, size), dtype=np.float32)
    kernel[:, size // 2] = 1.0
    return kernel if vertical else kernel.T.copy()


# name -> (kernel, one line on what it detects)
GALLERY: dict[str, tuple[np.ndarray, str]] = {
    "identity": (_k([[0, 0, 0], [0, 1, 0], [0, 0, 0]]), "Copies the image: the output pixel is the input pixel."),
    "box blur": (np.full((3, 3), 1 / 9, dtype=np.float32), "Averages each 3x3 neighbourhood: smooths noise and edges."),
    "gaussian blur": (_gaussian(5, 1.0), "Weighted average that favours the centre: a softer, rounder blur."),
    "sharpen": (_k([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]), "Adds the difference from the neighbours: crisper edges."),
    "sobel x": (_k([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]), "Brightness rising left to right: vertical edges."),
    "sobel y": (_k([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]), "Brightness rising top to bottom: horizontal edges."),
    "prewitt x": (_k([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]), "Vertical edges, with equal weight on all three rows."),
    "prewitt y": (
        _k([[-1, -1, -1], [0, 0, 0], [1, 1, 1]]),
        "Horizontal edges, with equal weight on all three columns.",
    ),
    "scharr x": (_k([[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]]), "Vertical edges, rotation-accurate weights (Scharr)."),
    "scharr y": (_k([[-3, -10, -3], [0, 0, 0], [3, 10, 3]]), "Horizontal edges, rotation-accurate weights (Scharr)."),
    "laplacian 4": (
        _k([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
        "Second derivative: edges in every direction, 4 neighbours.",
    ),
    "laplacian 8": (_k([[1, 1, 1], [1, -8, 1], [1, 1, 1]]), "Second derivative with diagonals: edges and fine detail."),
    "emboss": (_k([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]), "Light from the top left: a raised, stamped look."),
    "outline": (_k([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]), "Keeps only where a pixel differs from its neighbours."),
    "tutorial horizontal": (_k([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]), "The tutorial's filter for horizontal lines."),
    "tutorial vertical": (_k([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]), "The tutorial's filter for vertical lines."),
    "tutorial mixed": (_k([[-1, 2, 1], [0, 0, 0], [-1, 0, 1]]), "The tutorial's odd one out: try it and see."),
    "tutorial laplacian": (
        _k([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
        "The tutorial's edge filter (Laplacian, 4 neighbours).",
    ),
    "vertical line 7x7": (_line(7, vertical=True), "Thin vertical lines (tf.nn.conv2d tutorial, 7x7)."),
    "horizontal line 7x7": (_line(7, vertical=False), "Thin horizontal lines (tf.nn.conv2d tutorial, 7x7)."),
}

KERNELS: dict[str, np.ndarray] = {name: kernel for name, (kernel, _) in GALLERY.items()}
DESCRIPTIONS: dict[str, str] = {name: text for name, (_, text) in GALLERY.items()}

_ROW_SPLIT = re.compile(r"[;\n]|\]\s*,?\s*\[")
_TOKEN_SPLIT = re.compile(r"[,\s]+")


def _parse_number(token: str) -> float:
    try:
        value = float(Fraction(token)) if "/" in token else float(token)
    except (ValueError, ZeroDivisionError):
        raise InvalidInput(
            f"{token!r} is not a number. Kernel entries are numbers such as 2, -0.5, 1e-2 or 1/9."
        ) from None
    return value


def parse_kernel(text: str) -> np.ndarray:
    """Parse a kernel written as text into a float32 (kh, kw) array.

    Rows are separated by `;` or new lines, entries by spaces or commas; numpy-style brackets and
    fractions are accepted: ``"1 2 1; 0 0 0; -1 -2 -1"``, ``"[[1, 0], [0, -1]]"``, ``"1/9 1/9 1/9; ..."``.

    Examples
    --------
    >>> parse_kernel("1 2 1; 0 0 0; -1 -2 -1").shape
    (3, 3)
    """
    if not isinstance(text, str):
        raise InvalidInput(f"A kernel must be given as text, got {type(text).__name__}.")
    body = text.strip()
    if body.startswith("[") or body.endswith("]"):
        body = body.strip("[] \t\n")
    rows = [row.strip(" \t[],") for row in _ROW_SPLIT.split(body)]
    rows = [row for row in rows if row]
    if not rows:
        raise InvalidInput("The kernel is empty. Write rows such as '1 2 1; 0 0 0; -1 -2 -1'.")
    if len(rows) > MAX_KERNEL_SIDE:
        raise InvalidInput(f"The kernel has {len(rows)} rows; at most {MAX_KERNEL_SIDE} are accepted.")
    values = [[_parse_number(token) for token in _TOKEN_SPLIT.split(row) if token] for row in rows]
    widths = sorted({len(row) for row in values})
    if len(widths) > 1:
        counts = ", ".join(str(len(row)) for row in values)
        raise InvalidInput(f"Every kernel row needs the same number of entries; the rows have {counts}.")
    return validate_kernel(np.array(values, dtype=np.float64))


def validate_kernel(kernel) -> np.ndarray:
    """Check a kernel (a 2-D array-like of finite numbers, 1..15 per side) and return it as float32."""
    try:
        array = np.asarray(kernel, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput("A kernel must be a rectangular grid of numbers (ragged rows are not).") from None
    if array.ndim != 2:
        raise InvalidInput(f"A kernel must be a 2-D grid of numbers, got {array.ndim} dimension(s).")
    rows, cols = array.shape
    if rows == 0 or cols == 0:
        raise InvalidInput("The kernel is empty. It needs at least one row and one column.")
    if rows > MAX_KERNEL_SIDE or cols > MAX_KERNEL_SIDE:
        raise InvalidInput(
            f"The kernel is {rows}x{cols}; sizes from 1x1 up to {MAX_KERNEL_SIDE}x{MAX_KERNEL_SIDE} are accepted."
        )
    if not np.all(np.isfinite(array)):
        raise InvalidInput("The kernel contains NaN or infinity; every entry must be a finite number.")
    if np.abs(array).max() > MAX_KERNEL_VALUE:
        raise InvalidInput(f"Kernel entries must lie between -{MAX_KERNEL_VALUE:g} and {MAX_KERNEL_VALUE:g}.")
    return array.astype(np.float32)


def scale_kernel(kernel: np.ndarray, *, weight: float = 1.0, normalize: bool = False) -> np.ndarray:
    """Return `kernel * weight`, optionally normalised first.

    `normalize` divides by the sum of the entries when it is not zero (a blur then keeps the
    brightness), and otherwise by the sum of the positive entries (an edge detector then gives at
    most 255 on a 0..255 image). `weight` is the tutorial's multiplier on the result.
    """
    kernel = validate_kernel(kernel).astype(np.float64)
    if not math.isfinite(weight) or abs(weight) > MAX_KERNEL_VALUE:
        raise InvalidInput(
            f"The weight must be a finite number between -{MAX_KERNEL_VALUE:g} and {MAX_KERNEL_VALUE:g}."
        )
    if normalize:
        total = kernel.sum()
        positive = kernel[kernel > 0].sum()
        if abs(total) > 1e-9:
            kernel = kernel / total
        elif positive > 0:
            kernel = kernel / positive
    return (kernel * weight).astype(np.float32)


def format_kernel(kernel: np.ndarray) -> str:
    """The text form `parse_kernel` reads back: rows joined by '; ', entries by spaces."""
    kernel = np.asarray(kernel, dtype=np.float64)
    return "; ".join(" ".join(f"{v:.6g}" for v in row) for row in kernel)
