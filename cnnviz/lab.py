"""The Convolution Lab's pipeline as one call: kernel -> convolution -> activation -> pooling.

Pages pass widget values in and get every stage back, with shapes and the formulas behind them,
so the page itself does no arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz import ops
from cnnviz.errors import InvalidInput
from cnnviz.kernels import scale_kernel

POOLS = ("none", "max", "avg")


@dataclass(frozen=True)
class LabConfig:
    """Settings of one Convolution Lab view."""

    stride: int = 1  # convolution stride, both axes
    padding: str = "valid"  # 'valid' or 'same' (TensorFlow's split)
    postprocess: str = "none"  # 'none', 'relu', 'clip' (0..255) or 'abs'
    weight: float = 1.0  # the tutorial's multiplier on the kernel
    normalize: bool = False  # divide the kernel by its sum (or its positive sum) first
    pool: str = "none"  # 'none', 'max' or 'avg'
    pool_size: int = 2
    pool_stride: int | None = None  # None: the same as pool_size, as in TensorFlow

    def __post_init__(self):
        if self.pool not in POOLS:
            raise InvalidInput(f"Pooling {self.pool!r} is not supported; use one of {', '.join(POOLS)}.")


@dataclass(frozen=True)
class Stage:
    """One picture in the pipeline: its values and how its shape came about."""

    name: str
    values: np.ndarray  # float32 (H, W) or (H, W, C)
    formula: str  # how the shape was computed, '' for the input

    @property
    def shape_text(self) -> str:
        return "x".join(str(n) for n in self.values.shape)


@dataclass(frozen=True)
class LabResult:
    kernel: np.ndarray  # the kernel actually applied (after weight and normalisation)
    stages: tuple[Stage, ...]  # input, convolution, activation (if any), pooling (if any)

    @property
    def convolved(self) -> Stage:
        return self.stages[1]

    @property
    def output(self) -> Stage:
        return self.stages[-1]

    def shape_chain(self) -> str:
        """E.g. '512x512 -> 510x510 -> 255x255'."""
        chain = [self.stages[0].shape_text]
        for stage in self.stages[1:]:
            if stage.shape_text != chain[-1] or stage.formula:
                chain.append(stage.shape_text)
        return " -> ".join(chain)


def run_lab(image: np.ndarray, kernel: np.ndarray, config: LabConfig = LabConfig()) -> LabResult:
    """Apply the whole Convolution Lab pipeline to uint8 (H, W) or (H, W, 3) `image`."""
    applied = scale_kernel(kernel, weight=config.weight, normalize=config.normalize)
    source = np.asarray(image, dtype=np.float32)
    stages = [Stage("input", source, "")]
    convolved = ops.conv2d(source, applied, stride=config.stride, padding=config.padding)
    _, formula = ops.output_shape(source.shape, applied.shape, stride=config.stride, padding=config.padding)
    stages.append(Stage(f"convolution ({config.padding}, stride {config.stride})", convolved, formula))
    current = convolved
    if config.postprocess != "none":
        current = ops.postprocess(convolved, config.postprocess)
        stages.append(Stage(f"{config.postprocess}", current, ""))
    if config.pool != "none":
        pool = ops.max_pool2d if config.pool == "max" else ops.avg_pool2d
        stride = config.pool_stride or config.pool_size
        pooled = pool(current, config.pool_size, stride=stride)
        size = (config.pool_size, config.pool_size)
        _, formula = ops.output_shape(current.shape, size, stride=stride, padding="valid")
        stages.append(
            Stage(f"{config.pool} pool {config.pool_size}x{config.pool_size}, stride {stride}", pooled, formula)
        )
    return LabResult(applied, tuple(stages))
