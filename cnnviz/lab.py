"""The Convolution Lab's pipeline as one call: kernel -> convolution -> activation -> pooling.

Pages pass widget values in and get every stage back, with shapes and the formulas behind them,
so the page itself does no arithmetic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from cnnviz import ops
from cnnviz.errors import InvalidInput
from cnnviz.kernels import MAX_KERNEL_VALUE, parse_kernel, scale_kernel

POOLS = ("none", "max", "avg", "gap")  # gap: global average pooling, one number per map
CONV_MODES = ("filter", "depthwise")  # how a colour image meets the kernel; see LabConfig.conv_mode


@dataclass(frozen=True)
class LabConfig:
    """Settings of one Convolution Lab view."""

    stride: int = 1  # convolution stride, both axes
    padding: str = "valid"  # 'valid' or 'same' (TensorFlow's split)
    activation: str = "none"  # 'none', 'relu', 'clip' (0..255) or 'abs'
    weight: float = 1.0  # the tutorial's multiplier on the kernel
    normalize: bool = False  # divide the kernel by its sum (or its positive sum) first
    pool: str = "none"  # 'none', 'max', 'avg' or 'gap' (global average: the mean of each whole map)
    pool_size: int = 2
    pool_stride: int | None = None  # None: the same as pool_size, as in TensorFlow
    # On a colour image: 'filter' is what a Conv2D layer does (one kernel slice per channel, the three
    # products summed into one map); 'depthwise' convolves each channel alone (three output maps).
    conv_mode: str = "filter"
    bias: float = 0.0  # added to every convolution output, as a Conv2D layer's bias

    def __post_init__(self):
        if self.pool not in POOLS:
            raise InvalidInput(f"Pooling {self.pool!r} is not supported; use one of {', '.join(POOLS)}.")
        if self.conv_mode not in CONV_MODES:
            raise InvalidInput(f"Mode {self.conv_mode!r} is not supported; use one of {', '.join(CONV_MODES)}.")
        if not np.isfinite(self.bias) or abs(self.bias) > 1e6:
            raise InvalidInput("The bias must be a finite number between -1e6 and 1e6.")


@dataclass(frozen=True)
class Stage:
    """One picture in the pipeline: its values and how its shape came about."""

    name: str
    values: np.ndarray  # float32 (H, W) or (H, W, C)
    formula: str  # how the shape was computed, '' for the input

    @property
    def shape_text(self) -> str:
        """E.g. '510x510' or '512x512x3'."""
        return "x".join(str(n) for n in self.values.shape)


@dataclass(frozen=True)
class LabResult:
    kernel: np.ndarray  # the kernel actually applied (after weight and normalisation)
    stages: tuple[Stage, ...]  # input, convolution, activation (if any), pooling (if any)
    has_activation: bool = False

    @property
    def convolved(self) -> Stage:
        """The convolution's stage (before activation and pooling)."""
        return self.stages[1]

    @property
    def activated(self) -> Stage:
        """The convolution after its activation (the convolution itself when there is none): what pooling reads."""
        return self.stages[2] if self.has_activation else self.stages[1]

    @property
    def output(self) -> Stage:
        """The last stage: what the pipeline gives."""
        return self.stages[-1]

    def shape_chain(self) -> str:
        """E.g. '512x512 -> 510x510 -> 255x255'."""
        chain = [self.stages[0].shape_text]
        for stage in self.stages[1:]:
            if stage.shape_text != chain[-1] or stage.formula:
                chain.append(stage.shape_text)
        return " -> ".join(chain)


def as_filter(kernel: np.ndarray, channels: int) -> np.ndarray:
    """A 2-D kernel repeated on every channel, or a (kh, kw, C) filter as it is: (kh, kw, C)."""
    kernel = np.asarray(kernel, dtype=np.float32)
    return kernel if kernel.ndim == 3 else np.repeat(kernel[..., None], channels, axis=2)


def run_lab(image: np.ndarray, kernel: np.ndarray, config: LabConfig = LabConfig()) -> LabResult:
    """Apply the whole Convolution Lab pipeline to uint8 (H, W) or (H, W, 3) `image`.

    `kernel` is (kh, kw), or (kh, kw, 3) on a colour image: one slice per channel. On a colour
    image in 'filter' mode the convolution is one map, as one filter of a Conv2D layer makes.
    """
    source = np.asarray(image, dtype=np.float32)
    kernel = np.asarray(kernel)
    if kernel.ndim == 3 and source.ndim != 3:
        raise InvalidInput("One kernel slice per channel needs a colour image; choose RGB or one kernel.")
    if kernel.ndim == 3:
        slices = [scale_kernel(kernel[..., c], weight=config.weight, normalize=False) for c in range(kernel.shape[2])]
        applied = np.stack(slices, axis=-1)
        if config.normalize:  # one filter, normalised as a whole
            applied = _normalized(applied)
    else:
        applied = scale_kernel(kernel, weight=config.weight, normalize=config.normalize)
    _check_weighted(applied, config.weight)
    colour_filter = source.ndim == 3 and config.conv_mode == "filter"
    stages = [Stage("input", source, "")]
    if colour_filter:
        applied = as_filter(applied, source.shape[2])
        convolved = ops.conv2d(source, applied, stride=config.stride, padding=config.padding)
    elif applied.ndim == 3:  # depthwise with a slice per channel
        planes = [
            ops.conv2d(source[..., c], applied[..., c], stride=config.stride, padding=config.padding)
            for c in range(source.shape[2])
        ]
        convolved = np.stack(planes, axis=-1)
    else:
        convolved = ops.conv2d(source, applied, stride=config.stride, padding=config.padding)
    if config.bias:
        convolved = convolved + np.float32(config.bias)
    _, formula = ops.output_shape(source.shape, applied.shape[:2], stride=config.stride, padding=config.padding)
    if colour_filter:
        formula += f", one map: the {source.shape[2]} channels' products are summed"
    name = "convolution" if source.ndim == 2 else f"convolution ({'one filter' if colour_filter else 'per channel'})"
    stages.append(Stage(f"{name} ({config.padding}, stride {config.stride})", convolved, formula))
    current = convolved
    if config.activation != "none":
        current = ops.activation(convolved, config.activation)
        stages.append(Stage(f"{config.activation}", current, ""))
    if config.pool == "gap":
        # Kept as a 1x1 map (1x1xC) so it is drawn and shaped like the other stages.
        pooled = ops.global_avg_pool2d(current).reshape((1, 1, *current.shape[2:]))
        height, width = current.shape[:2]
        formula = f"one number per map: the sum of its {height}x{width} values / {height * width}"
        stages.append(Stage("global average pool", pooled, formula))
    elif config.pool != "none":
        pool = ops.max_pool2d if config.pool == "max" else ops.avg_pool2d
        stride = config.pool_stride or config.pool_size
        pooled = pool(current, config.pool_size, stride=stride)
        size = (config.pool_size, config.pool_size)
        _, formula = ops.output_shape(current.shape, size, stride=stride, padding="valid")
        stages.append(
            Stage(f"{config.pool} pool {config.pool_size}x{config.pool_size}, stride {stride}", pooled, formula)
        )
    return LabResult(applied, tuple(stages), has_activation=config.activation != "none")


def _check_weighted(applied: np.ndarray, weight: float) -> None:
    """The weight times the kernel stays a kernel (entries within +-MAX_KERNEL_VALUE); a learner who
    typed a weight is told about the weight, not about kernel entries they never typed."""
    from cnnviz.display import plain_number

    largest = float(np.abs(applied).max())
    if largest > MAX_KERNEL_VALUE:
        raise InvalidInput(
            f"The weight {plain_number(weight)} times the kernel's largest entry is {plain_number(largest)}; it "
            f"must stay between -{MAX_KERNEL_VALUE:.0f} and {MAX_KERNEL_VALUE:.0f}: choose a smaller weight."
        )


def _normalized(kernel: np.ndarray) -> np.ndarray:
    """`scale_kernel`'s normalisation for a whole (kh, kw, C) filter: by its sum, else its positive sum."""
    total, positive = float(kernel.sum()), float(kernel[kernel > 0].sum())
    if abs(total) > 1e-9:
        return (kernel / total).astype(np.float32)
    return (kernel / positive).astype(np.float32) if positive > 0 else kernel


def suggested_display(kernel: np.ndarray, *, summed_channels: int = 1) -> str:
    """How to show what `kernel` gives: 'signed' when its weights sum to about 0 (an edge or line
    detector answers with positive and negative values around 0); 'clipped' 0..255 when they sum to
    about 1 on one channel (blur, sharpen, identity keep the picture's brightness); else 'minmax'
    (the 7x7 line kernels sum to 7, a filter summing three channels of a blur reaches 765: clipped,
    both would be a white wash).

    Examples
    --------
    >>> suggested_display(np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]))  # Sobel x
    'signed'
    >>> suggested_display(np.full((3, 3), 1 / 9))  # a box blur
    'clipped'
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    total = kernel.sum()
    if abs(total) <= 0.05 * np.abs(kernel).sum():
        return "signed"
    return "clipped" if summed_channels == 1 and abs(total - 1) <= 0.1 else "minmax"


def informative_pixel(image: np.ndarray, result: LabResult) -> tuple[int, int]:
    """An output pixel worth explaining: in the middle half of the output, where the kernel responds
    most (edge detectors) or, for kernels that keep the picture (sum not about 0), where the input
    under the window varies most: an edge, not a flat patch whose products are all alike."""
    import cv2

    # What the next stage sees: after a ReLU, a strong negative answer is a 0 and explains nothing.
    values = result.activated.values
    score = np.abs(values) if values.ndim == 2 else np.abs(values).sum(axis=2)
    if suggested_display(result.kernel) != "signed":
        gray = np.asarray(image, dtype=np.float32)
        gray = gray.mean(axis=2) if gray.ndim == 3 else gray
        kh, kw = result.kernel.shape[:2]
        mean = cv2.blur(gray, (kw, kh))
        spread = cv2.blur(gray * gray, (kw, kh)) - mean * mean  # the variance under each window
        score = cv2.resize(spread, (score.shape[1], score.shape[0]), interpolation=cv2.INTER_AREA)
    height, width = score.shape
    r0, r1, c0, c1 = height // 4, max(height // 4 + 1, 3 * height // 4), width // 4, max(width // 4 + 1, 3 * width // 4)
    middle = score[r0:r1, c0:c1]
    if not np.isfinite(middle).all() or middle.max() <= middle.min():
        return height // 2, width // 2
    # Of the strongest answers (within 10% of the best), the one nearest the centre: an edge runs
    # along many pixels, and its middle is where a learner looks.
    rows, cols = np.nonzero(middle >= middle.max() - 0.1 * (middle.max() - middle.min()))
    nearest = np.argmin((rows + r0 - height / 2) ** 2 + (cols + c0 - width / 2) ** 2)
    return int(rows[nearest] + r0), int(cols[nearest] + c0)


def rescaled_pixel(pixel: tuple[int, int], old_shape: tuple[int, int], new_shape: tuple[int, int]) -> tuple[int, int]:
    """The same place in an output whose shape changed (another stride, size or padding), inside it.

    Examples
    --------
    >>> rescaled_pixel((300, 100), (510, 510), (255, 255))  # stride 1 -> 2
    (150, 50)
    """
    return tuple(
        min(max(int((p + 0.5) * new / max(old, 1)), 0), new - 1)
        for p, old, new in zip(pixel, old_shape, new_shape, strict=True)
    )


# --- invariance: what pooling keeps when the picture moves ---------------------------------------


def shift_image(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """`image` moved `dx` pixels right and `dy` down (negative: left, up), same shape and dtype; the
    uncovered border repeats the edge pixels (a black or white band would be a new edge to find)."""
    array = np.asarray(image)
    dx, dy = int(dx), int(dy)
    height, width = array.shape[:2]
    if abs(dx) >= width or abs(dy) >= height:
        raise InvalidInput(f"A shift of ({dx}, {dy}) pixels moves a {height}x{width} picture out of view.")
    pad = ((max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0))) + ((0, 0),) * (array.ndim - 2)
    padded = np.pad(array, pad, mode="edge")
    top, left = max(-dy, 0), max(-dx, 0)
    return padded[top : top + height, left : left + width]


@dataclass(frozen=True)
class ShiftComparison:
    """The same pipeline on a picture and on the picture shifted: how much of each stage stays put,
    and how much moved with the picture (the same answer, found where the shift took it)."""

    dx: int
    dy: int
    original: LabResult
    shifted: LabResult
    config: LabConfig = LabConfig()

    NO_ANSWER, SAME, CHANGED, MOVED = 0, 1, 2, 3  # what `agreement` and `placement` say of each place

    @staticmethod
    def agreement(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per place of two maps of one shape: NO_ANSWER (neither answers), SAME (both agree to a
        thousandth of their largest value) or CHANGED; uint8 of the maps' shape."""
        tolerance = 1e-3 * max(float(np.abs(a).max()), float(np.abs(b).max()), 1e-6)
        answered = (np.abs(a) > tolerance) | (np.abs(b) > tolerance)
        same = np.abs(a - b) <= tolerance
        codes = np.where(same, ShiftComparison.SAME, ShiftComparison.CHANGED).astype(np.uint8)
        codes[~answered] = ShiftComparison.NO_ANSWER
        return codes

    @staticmethod
    def unchanged(a: np.ndarray, b: np.ndarray) -> float:
        """Of the places where either map answers, the fraction where both agree (`agreement`). Places
        where neither answers are left out: a flat sky that stays 0 would otherwise make any map look
        unchanged. 1.0 when neither answers anywhere."""
        codes = ShiftComparison.agreement(a, b)
        answered = codes != ShiftComparison.NO_ANSWER
        if not answered.any():
            return 1.0
        return float(np.mean(codes[answered] == ShiftComparison.SAME))

    def step(self, stage: str) -> tuple[int, int] | None:
        """The shift in pixels of the convolution's map ('convolution') or the pooled map ('output'), or
        None when the picture's shift is not a whole number of that map's pixels (or there is no map)."""
        scale = self.config.stride
        if stage == "output":
            if self.config.pool == "gap":
                return None
            if self.config.pool != "none":
                scale *= self.config.pool_stride or self.config.pool_size
        if self.dx % scale or self.dy % scale:
            return None
        return self.dy // scale, self.dx // scale

    @staticmethod
    def placement(a: np.ndarray, b: np.ndarray, step: tuple[int, int] | None) -> np.ndarray:
        """`agreement`, with CHANGED places whose answer is the original's moved by `step` (rows, cols)
        marked MOVED: the same answer, carried along with the picture."""
        codes = ShiftComparison.agreement(a, b)
        if step is None:
            return codes
        dy, dx = step
        height, width = a.shape[:2]
        moved = np.zeros(a.shape, dtype=bool)
        rows = slice(max(dy, 0), height + min(dy, 0))
        cols = slice(max(dx, 0), width + min(dx, 0))
        source = a[max(-dy, 0) : height - max(dy, 0), max(-dx, 0) : width - max(dx, 0)]
        tolerance = 1e-3 * max(float(np.abs(a).max()), float(np.abs(b).max()), 1e-6)
        moved[rows, cols] = np.abs(b[rows, cols] - source) <= tolerance
        codes[(codes == ShiftComparison.CHANGED) & moved] = ShiftComparison.MOVED
        return codes

    def shares(self, stage: str) -> dict[str, float]:
        """Of the places where either map of `stage` ('convolution': what pooling reads; 'output') answers,
        the fractions that stayed ('same'), moved with the picture ('moved') and changed ('changed')."""
        results = (self.original, self.shifted)
        a, b = ((r.activated if stage == "convolution" else r.output).values for r in results)
        codes = self.placement(a, b, self.step(stage))
        answered = codes != self.NO_ANSWER
        total = max(int(answered.sum()), 1)
        return {
            name: float((codes == code).sum()) / total if answered.any() else (1.0 if name == "same" else 0.0)
            for name, code in (("same", self.SAME), ("moved", self.MOVED), ("changed", self.CHANGED))
        }

    @property
    def convolution_unchanged(self) -> float:
        """Of the activated convolution (what pooling reads): the fraction of its answers that stayed."""
        return self.unchanged(self.original.activated.values, self.shifted.activated.values)

    @property
    def output_unchanged(self) -> float:
        """Of the last stage (the pooled map when there is pooling)."""
        return self.unchanged(self.original.output.values, self.shifted.output.values)


def compare_shift(image: np.ndarray, kernel: np.ndarray, config: LabConfig, *, dx: int, dy: int) -> ShiftComparison:
    """Run the lab on `image` and on `image` shifted by (dx, dy), to compare their stages place by place.

    Why: pooling keeps the strongest (max) or mean answer of a window wherever in the window it lies,
    so a shift smaller than the window changes fewer pooled values than convolution values: a small
    built-in tolerance to where a feature is (LeCun et al., 1998, section II)."""
    return ShiftComparison(
        int(dx), int(dy), run_lab(image, kernel, config), run_lab(shift_image(image, dx, dy), kernel, config), config
    )


# --- transposed convolution: upsampling a small map ------------------------------------------------

MAP_SIDES = (2, 3, 4, 6, 8)  # small enough that every stage's numbers can be read


def small_map(image: np.ndarray, side: int) -> np.ndarray:
    """The picture shrunk to `side` pixels on its longer side (area average), grayscale, rounded:
    float32 (h, w) with values 0..255."""
    import cv2

    if side not in MAP_SIDES:
        raise InvalidInput(f"A small map is {', '.join(map(str, MAP_SIDES))} pixels on a side, got {side!r}.")
    gray = np.asarray(image, dtype=np.float32)
    gray = gray.mean(axis=2) if gray.ndim == 3 else gray
    height, width = gray.shape
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.round(cv2.resize(gray, size, interpolation=cv2.INTER_AREA)).astype(np.float32)


def parse_map(text: str) -> np.ndarray:
    """A small map typed as text, like a kernel (`'1 2; 3 4'`): float32 (h, w), 1..8 per side.

    Examples
    --------
    >>> parse_map("1 2; 3 4").shape
    (2, 2)
    """
    side = max(MAP_SIDES)
    if isinstance(text, str):  # too many rows or numbers: the map's limit, whatever else is wrong
        rows = [row for row in re.split(r"[;\n]", text.strip().strip("[]")) if row.strip(" \t[],")]
        widest = max((len([t for t in re.split(r"[,\s]+", row.strip(" \t[],")) if t]) for row in rows), default=0)
        if len(rows) > side or widest > side:
            raise InvalidInput(f"The map is {len(rows)}x{widest}; type at most {side}x{side} numbers.")
    try:
        values = parse_kernel(text)
    except InvalidInput as error:
        raise InvalidInput(str(error).replace("kernel", "map").replace("Kernel", "Map")) from None
    if max(values.shape) > side:
        raise InvalidInput(f"The map is {values.shape[0]}x{values.shape[1]}; type at most {side}x{side} numbers.")
    return values


@dataclass(frozen=True)
class TransposeResult:
    """A transposed convolution shown stage by stage, its shape formula, and its check."""

    steps: ops.TransposeSteps
    formula: str  # "H' = (4 - 1) * 2 + 3 = 9, W' = ..."
    max_difference: float  # between the stages' result and the scatter-add definition


def run_transpose(
    small: np.ndarray,
    kernel: np.ndarray,
    *,
    stride: int = 2,
    padding: str = "valid",
    weight: float = 1.0,
    normalize: bool = False,
) -> TransposeResult:
    """Upsample (h, w) `small` with `kernel` (scaled by `weight`, normalised if asked) as a transposed
    convolution, through its stages; the result is checked against `ops.conv2d_transpose_scatter`,
    the definition (each input pixel paints the kernel), so the equality the lab states is computed."""
    applied = scale_kernel(kernel, weight=weight, normalize=normalize)
    _check_weighted(applied, weight)
    steps = ops.conv2d_transpose_steps(small, applied, stride=stride, padding=padding)
    reference = ops.conv2d_transpose_scatter(small, applied, stride=stride, padding=padding)
    difference = float(np.abs(steps.output.astype(np.float64) - reference).max())
    formula = ops.conv2d_transpose_formula(small.shape, applied.shape, stride=stride, padding=padding)
    return TransposeResult(steps, formula, difference)
