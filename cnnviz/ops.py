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
        from cnnviz.display import plain_number  # numbers written out: no '3.248e+04', no '-0'

        def text(value: float) -> str:
            return plain_number(value, 6)

        if self.kernel.ndim == 3:
            names = channel_names if len(channel_names) == self.kernel.shape[2] else "0123456789"
            shown = " + ".join(f"{names[c]} {text(s)}" for c, s in enumerate(self.channel_sums))
            return f"{shown} = {text(self.total)}"
        terms = [f"({text(k)})x{text(w)}" for k, w in zip(self.kernel.ravel(), self.window.ravel(), strict=True)]
        shown = " + ".join(terms[:max_terms])
        if len(terms) > max_terms:
            shown += f" + ... ({len(terms) - max_terms} more terms)"
        return f"{shown} = {text(self.total)}"


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


# --- transposed convolution ---------------------------------------------------------------------
# A transposed convolution ("deconvolution", Dumoulin & Visin, "A guide to convolution arithmetic for
# deep learning", 2016, section 4) runs a strided convolution backwards: each input pixel paints a copy
# of the kernel, scaled by its value, `stride` pixels from its neighbour's, and overlaps add up. The
# same numbers come from an ordinary convolution: put stride - 1 zeros between the pixels, pad with
# kernel - 1 zeros, and slide the flipped kernel (their relationship 8). The lab shows that way,
# stage by stage, and checks it against the painting (the definition).


def conv2d_transpose_size(n: int, k: int, *, stride: int = 2, padding: str = "valid") -> int:
    """Output length along one axis of a transposed convolution, as Keras's Conv2DTranspose gives it:
    VALID `(n - 1) * stride + k` (`n * stride` when the kernel is shorter than the stride: the last
    pixel's `stride - k` empty rows are kept), SAME `n * stride`."""
    stride, mode = _check_stride(stride), _check_padding(padding)
    if mode == "same":
        return n * stride
    return n * stride + max(k - stride, 0)


def conv2d_transpose_formula(shape, window, *, stride: int = 2, padding: str = "valid") -> str:
    """The output shape's formula with the numbers filled in, e.g. "H' = (4 - 1) * 2 + 3 = 9, W' = ..."."""
    parts = []
    for label, n, k in (("H'", shape[0], window[0]), ("W'", shape[1], window[1])):
        size = conv2d_transpose_size(n, k, stride=stride, padding=padding)
        if str(padding).lower() == "same":
            parts.append(f"{label} = {n} * {stride} = {size}")
        elif k >= stride:
            parts.append(f"{label} = ({n} - 1) * {stride} + {k} = {size}")
        else:  # Keras keeps room for the last pixel's stride: n * s + max(k - s, 0)
            parts.append(f"{label} = {n} * {stride} + max({k} - {stride}, 0) = {size}")
    return ", ".join(parts)


def _transpose_inputs(image, kernel, stride, padding) -> tuple[np.ndarray, np.ndarray, int, str]:
    image = _as_image(image)
    if image.ndim != 2:
        raise InvalidInput(
            f"A transposed convolution here takes one (H, W) map, got shape {image.shape}; pass one channel."
        )
    if not np.isfinite(image).all():
        raise InvalidInput("The map contains NaN or infinity; every value must be a finite number.")
    return image, validate_kernel(kernel), _check_stride(stride), _check_padding(padding)


def _transpose_crop(n: int, k: int, stride: int, mode: str) -> tuple[int, int]:
    """(first, length): where the output lies in the full painting of length (n - 1) * stride + k.

    SAME crops as TensorFlow pads the forward convolution of an (n * stride)-long map: the
    max(k - stride, 0) extra pixels are split with the odd one after, so the crop starts at half of
    them, rounded down. A length beyond the painting reads zeros."""
    length = conv2d_transpose_size(n, k, stride=stride, padding=mode)
    first = max(k - stride, 0) // 2 if mode == "same" else 0
    return first, length


def zero_insert(image, stride: int) -> np.ndarray:
    """`stride - 1` zeros between neighbouring pixels: (H, W) -> float32 ((H - 1) * s + 1, (W - 1) * s + 1).

    Examples
    --------
    >>> zero_insert(np.array([[1, 2], [3, 4]]), 2).tolist()
    [[1.0, 0.0, 2.0], [0.0, 0.0, 0.0], [3.0, 0.0, 4.0]]
    """
    image = _as_image(image)
    if image.ndim != 2:
        raise InvalidInput(f"Zeros are inserted into one (H, W) map, got shape {image.shape}.")
    stride = _check_stride(stride)
    height, width = image.shape
    out = np.zeros(((height - 1) * stride + 1, (width - 1) * stride + 1), dtype=np.float32)
    out[::stride, ::stride] = image
    return out


@dataclass(frozen=True)
class TransposeSteps:
    """A transposed convolution as an ordinary one, stage by stage (what the lab shows).

    `output` is the VALID cross-correlation of `padded` with `flipped`; `padded` is `inserted` with
    `pad` zeros around it: (top, bottom, left, right), kernel - 1 on each side less SAME's crop."""

    image: np.ndarray  # (H, W) float32: the small map
    inserted: np.ndarray  # ((H - 1) * s + 1, (W - 1) * s + 1): stride - 1 zeros between pixels
    pad: tuple[int, int, int, int]  # zeros added (top, bottom, left, right)
    padded: np.ndarray  # inserted with the padding
    kernel: np.ndarray  # (kh, kw) as given
    flipped: np.ndarray  # the kernel turned 180 degrees
    output: np.ndarray  # (H', W') float32
    stride: int
    padding: str

    def pixel(self, row: int, col: int) -> PixelArithmetic:
        """The window of `padded`, the flipped kernel and their products behind output (row, col)."""
        return pixel_arithmetic(self.padded, self.flipped, row, col)


def conv2d_transpose_steps(image, kernel, *, stride: int = 2, padding: str = "valid") -> TransposeSteps:
    """`conv2d_transpose` the way the tutorial proved it: insert zeros, pad, convolve with the flipped
    kernel. Returns every stage (`TransposeSteps`); `.output` equals `conv2d_transpose`."""
    image, kernel, stride, mode = _transpose_inputs(image, kernel, stride, padding)
    kh, kw = kernel.shape
    inserted = zero_insert(image, stride)
    pads = []
    for n, k, m in ((image.shape[0], kh, inserted.shape[0]), (image.shape[1], kw, inserted.shape[1])):
        first, length = _transpose_crop(n, k, stride, mode)
        before = k - 1 - first  # the full painting starts k - 1 before the first pixel
        pads += [before, length + k - 1 - before - m]  # so that a VALID slide gives `length` outputs
    top, bottom, left, right = pads
    padded = np.pad(inserted, ((top, bottom), (left, right)))
    flipped = np.ascontiguousarray(kernel[::-1, ::-1])
    output = np.ascontiguousarray(conv2d(padded, flipped))
    return TransposeSteps(image, inserted, (top, bottom, left, right), padded, kernel, flipped, output, stride, mode)


def conv2d_transpose(image, kernel, *, stride: int = 2, padding: str = "valid") -> np.ndarray:
    """Transposed convolution of one map with one kernel, as `tf.nn.conv2d_transpose` computes it.

    Parameters
    ----------
    image : (H, W) array of finite numbers.
    kernel : (kh, kw) array of finite numbers, up to 15x15 (TensorFlow's filter `kernel[:, :, None, None]`).
    stride : int
        How far apart, in the output, neighbouring input pixels paint their kernel.
    padding : {'valid', 'same'}
        The output size Keras's Conv2DTranspose gives: VALID `(H - 1) * s + k` (`H * s` when k < s),
        SAME `H * s`, cropped from the full painting as TensorFlow crops it (the odd pixel after).

    Returns
    -------
    float32 (H', W').

    Examples
    --------
    >>> conv2d_transpose(np.array([[1, 2], [3, 4]]), np.ones((2, 2))).tolist()
    [[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0], [3.0, 3.0, 4.0, 4.0], [3.0, 3.0, 4.0, 4.0]]
    """
    return conv2d_transpose_steps(image, kernel, stride=stride, padding=padding).output


def conv2d_transpose_scatter(image, kernel, *, stride: int = 2, padding: str = "valid") -> np.ndarray:
    """The definition, as a reference: every input pixel adds `pixel * kernel` at `stride` times its
    position, then the output is cropped (SAME) or taken whole (VALID). Float32, like `conv2d_transpose`.

    One strided add per kernel entry (kh * kw NumPy operations), not one per pixel."""
    image, kernel, stride, mode = _transpose_inputs(image, kernel, stride, padding)
    (height, width), (kh, kw) = image.shape, kernel.shape
    (top, out_h), (left, out_w) = _transpose_crop(height, kh, stride, mode), _transpose_crop(width, kw, stride, mode)
    full = np.zeros((max((height - 1) * stride + kh, top + out_h), max((width - 1) * stride + kw, left + out_w)))
    for u in range(kh):
        for v in range(kw):
            # input pixel (i, j) lands its kernel entry (u, v) at (i * s + u, j * s + v)
            full[u : u + (height - 1) * stride + 1 : stride, v : v + (width - 1) * stride + 1 : stride] += (
                image.astype(np.float64) * kernel[u, v]
            )
    return full[top : top + out_h, left : left + out_w].astype(np.float32)
