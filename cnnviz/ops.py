"""Convolution and pooling with exactly the semantics of `tf.nn.conv2d`, `tf.nn.max_pool2d` and
`tf.nn.avg_pool2d`, computed with NumPy and OpenCV (no TensorFlow, no per-pixel Python loops).

Images are (H, W) or (H, W, C). A 2-D kernel is applied to each channel on its own (a per-channel,
"depthwise" convolution); a (kh, kw, C) kernel is one Conv2D filter: one slice per input channel, the
C products summed into a single output map. Outputs are float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cnnviz.errors import InvalidInput
from cnnviz.kernels import validate_kernel

PADDINGS = ("valid", "same")
ACTIVATIONS = ("none", "relu", "clip", "abs")
MAX_STRIDE = 64


# --- shapes -------------------------------------------------------------------------------------


def _check_padding(padding: str) -> str:
    mode = str(padding).lower()
    if mode not in PADDINGS:
        raise InvalidInput(f"Padding {padding!r} is not supported; use 'valid' or 'same'.")
    return mode


def _check_stride(stride) -> int:
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or not 1 <= stride <= MAX_STRIDE:
        raise InvalidInput(f"Stride must be a whole number from 1 to {MAX_STRIDE}, got {stride!r}.")
    return int(stride)


def output_size(n: int, k: int, *, stride: int = 1, padding: str = "valid") -> int:
    """Output length along one axis of input length `n`, window `k` (TensorFlow's rule)."""
    stride, mode = _check_stride(stride), _check_padding(padding)
    if mode == "same":
        return math.ceil(n / stride)
    return max(0, (n - k) // stride + 1) if n >= k else 0


def same_padding(n: int, k: int, stride: int) -> tuple[int, int]:
    """TensorFlow's SAME split along one axis: (before, after), the extra pixel going after."""
    out = math.ceil(n / stride)
    total = max((out - 1) * stride + k - n, 0)
    return total // 2, total - total // 2


def output_shape(shape, window, *, stride: int = 1, padding: str = "valid") -> tuple[tuple[int, ...], str]:
    """Output shape of a convolution or pooling, and the formula that gives it, as text.

    `shape` is (H, W) or (H, W, C); `window` is (kh, kw). Returns e.g.
    ``((510, 510), "H' = floor((512 - 3) / 1) + 1 = 510, W' = floor((512 - 3) / 1) + 1 = 510")``.
    """
    stride, mode = _check_stride(stride), _check_padding(padding)
    height, width = shape[:2]
    out = []
    parts = []
    for label, n, k in (("H'", height, window[0]), ("W'", width, window[1])):
        size = output_size(n, k, stride=stride, padding=mode)
        out.append(size)
        if mode == "same":
            parts.append(f"{label} = ceil({n} / {stride}) = {size}")
        else:
            parts.append(f"{label} = floor(({n} - {k}) / {stride}) + 1 = {size}")
    return tuple(out) + tuple(shape[2:]), ", ".join(parts)


def _pad_amounts(shape, window, stride: int, mode: str) -> tuple[tuple[int, int], tuple[int, int]]:
    if mode == "valid":
        return (0, 0), (0, 0)
    return same_padding(shape[0], window[0], stride), same_padding(shape[1], window[1], stride)


def _as_image(image) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim not in (2, 3) or array.size == 0:
        raise InvalidInput(f"An image must be (H, W) or (H, W, C) with pixels, got shape {array.shape}.")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise InvalidInput(f"Image pixels must be real numbers, got dtype {array.dtype}.")
    return array.astype(np.float32, copy=False)


def _check_fits(shape, window, stride: int, mode: str, what: str) -> None:
    out, _ = output_shape(shape, window, stride=stride, padding=mode)
    if out[0] < 1 or out[1] < 1:
        raise InvalidInput(
            f"A {window[0]}x{window[1]} {what} does not fit in a {shape[0]}x{shape[1]} image with 'valid' "
            "padding; use a smaller window, a larger image, or 'same' padding."
        )


# --- convolution --------------------------------------------------------------------------------


def conv2d(image, kernel, *, stride: int = 1, padding: str = "valid") -> np.ndarray:
    """Cross-correlate `image` with `kernel` as `tf.nn.conv2d` does.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array of numbers (uint8 0..255 or float).
    kernel : (kh, kw) or (kh, kw, C) array of finite numbers, up to 15x15.
        A 2-D kernel is applied to every channel on its own (`tf.nn.conv2d` with the image's channels
        as a batch). A 3-D kernel is one filter of a Conv2D layer: slice c meets channel c and the C
        products are summed into one map (`tf.nn.conv2d` with the filter as (kh, kw, C, 1)).
    stride : int
        Step between windows, the same along both axes.
    padding : {'valid', 'same'}
        'valid': windows lie wholly inside the image. 'same': zero padding split as TensorFlow does
        (the odd pixel after), giving ceil(H / stride) x ceil(W / stride) outputs.

    Returns
    -------
    float32 (H', W') or (H', W', C) for a 2-D kernel (possibly a strided view of a larger buffer);
    float32 (H', W') for a 3-D kernel.

    Examples
    --------
    >>> conv2d(np.arange(9.0).reshape(3, 3), np.ones((2, 2))).tolist()
    [[8.0, 12.0], [20.0, 24.0]]
    >>> rgb = np.stack([np.arange(9.0).reshape(3, 3)] * 3, axis=-1)
    >>> conv2d(rgb, np.ones((2, 2, 3))).tolist()  # the three channels' sums added up
    [[24.0, 36.0], [60.0, 72.0]]
    """
    import cv2

    image = _as_image(image)
    if np.ndim(kernel) == 3:
        return _conv2d_filter(image, kernel, stride=stride, padding=padding)
    kernel = validate_kernel(kernel)
    stride, mode = _check_stride(stride), _check_padding(padding)
    kh, kw = kernel.shape
    _check_fits(image.shape, (kh, kw), stride, mode, "kernel")
    if image.ndim == 3 and image.shape[2] == 1:  # OpenCV drops a single channel axis
        return conv2d(image[..., 0], kernel, stride=stride, padding=mode)[..., None]
    if image.ndim == 3 and image.shape[2] > 4:  # OpenCV filters at most 4 channels at once
        planes = [conv2d(image[..., c], kernel, stride=stride, padding=mode) for c in range(image.shape[2])]
        return np.stack(planes, axis=-1)
    (out_h, out_w, *_), _ = output_shape(image.shape, (kh, kw), stride=stride, padding=mode)
    (top, _), (left, _) = _pad_amounts(image.shape, (kh, kw), stride, mode)
    # filter2D correlates (no flip) and reads zeros outside the image (BORDER_CONSTANT). Placing
    # its anchor at TensorFlow's (top, left) padding makes dst[y, x] the window whose top-left
    # corner is input (y - top, x - left): dst[r * stride, c * stride] is TensorFlow's output
    # (r, c). TensorFlow's padding before is at most kh - 1, so the anchor stays inside the kernel.
    full = cv2.filter2D(image, cv2.CV_32F, kernel, anchor=(left, top), borderType=cv2.BORDER_CONSTANT)
    # A strided view, not a copy: copying a fresh multi-megabyte array costs more in page faults
    # than the convolution itself.
    return full[: out_h * stride : stride, : out_w * stride : stride]


def check_filter(kernel, channels: int) -> np.ndarray:
    """Check a (kh, kw, C) Conv2D filter for an image of `channels` channels; return it as float32."""
    array = np.asarray(kernel)
    if array.ndim != 3 or array.shape[2] != channels:
        raise InvalidInput(
            f"A filter for a {channels}-channel image must be (kh, kw, {channels}): one kernel slice per "
            f"channel; got shape {array.shape}."
        )
    return np.stack([validate_kernel(array[..., c]) for c in range(channels)], axis=-1)


def _conv2d_filter(image: np.ndarray, kernel, *, stride: int, padding: str) -> np.ndarray:
    """One Conv2D filter: each channel with its own slice, then the C maps summed."""
    if image.ndim != 3:
        raise InvalidInput(
            f"A (kh, kw, C) filter needs an (H, W, C) image, got shape {image.shape}; use a 2-D kernel on a "
            "grayscale image."
        )
    kernel = check_filter(kernel, image.shape[2])
    total = None
    for c in range(image.shape[2]):
        plane = conv2d(image[..., c], kernel[..., c], stride=stride, padding=padding)
        total = np.array(plane) if total is None else np.add(total, plane, out=total)
    return total


def activation(values: np.ndarray, mode: str = "none") -> np.ndarray:
    """Apply an activation to a convolution output: 'none', 'relu', 'clip' (to 0..255, as the
    tutorial did before showing the result) or 'abs' (edge strength whatever its sign)."""
    if mode not in ACTIVATIONS:
        raise InvalidInput(f"Activation {mode!r} is not supported; use one of {', '.join(ACTIVATIONS)}.")
    values = np.asarray(values, dtype=np.float32)
    if mode == "relu":
        return np.maximum(values, 0)
    if mode == "clip":
        return np.clip(values, 0, 255)
    if mode == "abs":
        return np.abs(values)
    return values


# --- pooling ------------------------------------------------------------------------------------


def _windows(image: np.ndarray, size: int, stride: int, fill: float, mode: str) -> np.ndarray:
    """All pooling windows as a strided view: (H', W', C, size, size)."""
    (top, bottom), (left, right) = _pad_amounts(image.shape, (size, size), stride, mode)
    if top or bottom or left or right:
        image = np.pad(image, ((top, bottom), (left, right), (0, 0)), constant_values=fill)
    view = np.lib.stride_tricks.sliding_window_view(image, (size, size), axis=(0, 1))
    return view[::stride, ::stride]


def _pool(image, size, stride, padding, reduce: str) -> np.ndarray:
    array = _as_image(image)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= size <= MAX_STRIDE:
        raise InvalidInput(f"Pool size must be a whole number from 1 to {MAX_STRIDE}, got {size!r}.")
    size = int(size)
    stride = _check_stride(size if stride is None else stride)
    mode = _check_padding(padding)
    _check_fits(array.shape, (size, size), stride, mode, "pooling window")
    squeeze = array.ndim == 2
    if squeeze:
        array = array[..., None]  # (H, W, 1)
    if reduce == "max":
        # Padding never wins a max: TensorFlow ignores padded positions.
        out = _windows(array, size, stride, -np.inf, mode).max(axis=(-2, -1))
    else:
        sums = _windows(array, size, stride, 0.0, mode).sum(axis=(-2, -1), dtype=np.float32)
        if mode == "same":
            # TensorFlow averages over the real pixels of each window only, not the padding.
            ones = np.ones((*array.shape[:2], 1), dtype=np.float32)
            counts = _windows(ones, size, stride, 0.0, mode).sum(axis=(-2, -1))
        else:
            counts = np.float32(size * size)
        out = sums / counts
    out = out.astype(np.float32, copy=False)
    return out[..., 0] if squeeze else out


def max_pool2d(image, size: int = 2, *, stride: int | None = None, padding: str = "valid") -> np.ndarray:
    """Max pooling with `tf.nn.max_pool2d` semantics; `stride` defaults to `size`.

    image (H, W) or (H, W, C) -> float32 (H', W') or (H', W', C).

    Examples
    --------
    >>> max_pool2d(np.arange(16.0).reshape(4, 4)).tolist()
    [[5.0, 7.0], [13.0, 15.0]]
    """
    return _pool(image, size, stride, padding, "max")


def avg_pool2d(image, size: int = 2, *, stride: int | None = None, padding: str = "valid") -> np.ndarray:
    """Average pooling with `tf.nn.avg_pool2d` semantics (SAME averages real pixels only)."""
    return _pool(image, size, stride, padding, "avg")


def global_avg_pool2d(image) -> np.ndarray:
    """Mean of each channel over the whole image: (H, W, C) -> (C,), (H, W) -> () (Keras
    GlobalAveragePooling2D)."""
    return _as_image(image).mean(axis=(0, 1), dtype=np.float64).astype(np.float32)


# --- the arithmetic of one output pixel ---------------------------------------------------------


@dataclass(frozen=True)
class PixelArithmetic:
    """How one convolution output pixel is computed, for display.

    The window is in input coordinates and may hang over the edge with 'same' padding; those
    positions read as the zeros TensorFlow pads with. For a (kh, kw, C) filter on an (H, W, C)
    image, `window`, `kernel` and `products` carry the channel axis last and `total` sums all three.
    """

    row: int  # output pixel
    col: int
    top: int  # input coordinates of the window's top-left corner (negative: padding)
    left: int
    window: np.ndarray  # (kh, kw) or (kh, kw, C) input values under the kernel, zeros where padded
    kernel: np.ndarray  # (kh, kw) or (kh, kw, C)
    products: np.ndarray  # window * kernel, the same shape
    total: float  # the sum of the products: the output value before bias and activation

    @property
    def channel_sums(self) -> list[float]:
        """The sum of the products of each channel (one entry for a 2-D kernel)."""
        products = self.products if self.products.ndim == 3 else self.products[..., None]
        return [float(products[..., c].sum(dtype=np.float64)) for c in range(products.shape[2])]

    def equation(self, max_terms: int = 9, *, channel_names: str = "RGB") -> str:
        """The sum written out, e.g. '(-1)x12 + 0x40 + ... = 87'; for a filter, per channel:
        'R 12 + G -3 + B 40 = 49'."""
        if self.kernel.ndim == 3:
            names = channel_names if len(channel_names) == self.kernel.shape[2] else "0123456789"
            shown = " + ".join(f"{names[c]} {s + 0.0:g}" for c, s in enumerate(self.channel_sums))
            return f"{shown} = {self.total:g}"
        terms = [f"({k:g})x{w:g}" for k, w in zip(self.kernel.ravel(), self.window.ravel(), strict=True)]
        shown = " + ".join(terms[:max_terms])
        if len(terms) > max_terms:
            shown += f" + ... ({len(terms) - max_terms} more terms)"
        return f"{shown} = {self.total:g}"


def pixel_arithmetic(image, kernel, row: int, col: int, *, stride: int = 1, padding: str = "valid") -> PixelArithmetic:
    """The window, kernel, products and sum behind output pixel (`row`, `col`) of `conv2d`.

    A 2-D kernel takes a 2-D image (pass `image[..., c]` for channel c of a colour image); a
    (kh, kw, C) filter takes the whole (H, W, C) image, as one Conv2D filter sees it.
    """
    image = _as_image(image)
    filter_mode = np.ndim(kernel) == 3
    if filter_mode:
        if image.ndim != 3:
            raise InvalidInput(f"A (kh, kw, C) filter needs an (H, W, C) image, got shape {image.shape}.")
        kernel = check_filter(kernel, image.shape[2])
    elif image.ndim != 2:
        raise InvalidInput("The arithmetic of one pixel is shown for one channel: pass an (H, W) image.")
    else:
        kernel = validate_kernel(kernel)
    stride, mode = _check_stride(stride), _check_padding(padding)
    kh, kw = kernel.shape[:2]
    (out_h, out_w, *_), _ = output_shape(image.shape, (kh, kw), stride=stride, padding=mode)
    if not (0 <= row < out_h and 0 <= col < out_w):
        raise InvalidInput(f"Output pixel ({row}, {col}) is outside the {out_h}x{out_w} output.")
    (pad_top, _), (pad_left, _) = _pad_amounts(image.shape, (kh, kw), stride, mode)
    top, left = row * stride - pad_top, col * stride - pad_left
    window = np.zeros(kernel.shape, dtype=np.float32)
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + kh, image.shape[0]), min(left + kw, image.shape[1])
    window[r0 - top : r1 - top, c0 - left : c1 - left] = image[r0:r1, c0:c1]
    products = window * kernel
    total = float(products.sum(dtype=np.float64))
    return PixelArithmetic(row, col, top, left, window, kernel, products, total)


@dataclass(frozen=True)
class PoolArithmetic:
    """How one pooling output pixel is computed: its window of the input and the max or mean."""

    row: int  # pooled output pixel
    col: int
    top: int  # input coordinates of the window's top-left corner
    left: int
    window: np.ndarray  # (size, size) input values, for one channel
    kind: str  # 'max' or 'avg'
    value: float  # what came out

    @property
    def winner(self) -> tuple[int, int] | None:
        """For max pooling, the (row, col) inside the window that won; None for average pooling."""
        if self.kind != "max":
            return None
        flat = int(np.argmax(self.window))
        return divmod(flat, self.window.shape[1])


def pool_arithmetic(image, size: int, row: int, col: int, *, stride: int | None = None, kind: str = "max"):
    """The window and result behind output pixel (`row`, `col`) of VALID `max_pool2d` / `avg_pool2d`
    on a 2-D `image` (one channel).

    Examples
    --------
    >>> sums = pool_arithmetic(np.arange(16.0).reshape(4, 4), 2, 1, 0)
    >>> sums.window.tolist(), sums.value, sums.winner
    ([[8.0, 9.0], [12.0, 13.0]], 13.0, (1, 1))
    """
    image = _as_image(image)
    if image.ndim != 2:
        raise InvalidInput("The arithmetic of one pooled pixel is shown for one channel: pass an (H, W) image.")
    if kind not in ("max", "avg"):
        raise InvalidInput(f"Pooling {kind!r} is not supported; use 'max' or 'avg'.")
    stride = _check_stride(size if stride is None else stride)
    (out_h, out_w), _ = output_shape(image.shape, (size, size), stride=stride)
    if not (0 <= row < out_h and 0 <= col < out_w):
        raise InvalidInput(f"Pooled pixel ({row}, {col}) is outside the {out_h}x{out_w} output.")
    top, left = row * stride, col * stride
    window = image[top : top + size, left : left + size]
    value = float(window.max()) if kind == "max" else float(window.mean(dtype=np.float64))
    return PoolArithmetic(row, col, top, left, window.copy(), kind, value)
