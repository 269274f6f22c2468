"""How long a training run should take: a cost model fitted on the development machine, scaled by the
speed a finished run measured."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from cnnviz.training import TrainConfig


# The cost model of `estimate_time`, fitted (non-negative least squares) to the fastest of three
# tries of epochs 2-3 of fourteen runs on the 2-core development machine (in-process `train`, other
# work running alongside): presets tinyvgg to horses-humans, 28x28 and 64x64 inputs, batches of 16
# to 256, with and without augmentation. Two terms explain it: a cost per batch (Keras's and
# TensorFlow's own work) and a cost per activation value computed. Multiply-adds and augmentation
# got weights of 0 once those two were in (these small networks are bound by memory traffic and
# per-batch overhead, not arithmetic); 12 of the 14 epochs came within 30% of the model, a batch of
# 256 took 1.5x and tinyvgg on 64x64 images 2.9x what it says.
SECONDS_PER_STEP = 0.0111
SECONDS_PER_MVALUE = 0.00161  # per 10^6 activation values, forward pass equivalents
FIRST_EPOCH_S = 2.0  # tracing the training and validation graphs (median of the fourteen: 2.1 s)
# From Train to the first batch (a warm worker builds the model: bench/training.py's first_point_s
# is 1.67 s, the first batch included), plus saving the model after; evaluating is counted apart.
START_S = 1.5


@dataclass(frozen=True)
class TimeEstimate:
    """How long a run should take on an otherwise idle machine."""

    seconds: float  # from pressing Train to the results: start, every epoch, evaluation
    epoch_s: float  # one epoch after the first
    first_epoch_s: float  # the first epoch, which also traces the graphs
    values_per_image: int  # activation values one image's forward pass computes


def forward_cost(rows) -> tuple[int, int]:
    """(multiply-adds, activation values) of one image's forward pass, from `summarize` rows:
    a conv layer does one multiply-add per weight (bias aside) at each output position, a Dense
    layer one per weight; every layer writes its output shape's worth of values."""
    macs = values = 0
    for row in rows[1:]:
        if row.kind == "conv":
            height, width, filters = row.output_shape
            macs += height * width * (row.params - filters)
        elif row.kind == "dense":
            macs += row.params - row.output_shape[0]
        elif row.kind == "residual":  # two 3x3 convolutions (and maybe a 1x1 one) at each output position
            height, width, filters = row.output_shape
            macs += height * width * row.params
            values += 6 * height * width * filters  # conv, norm, ReLU, conv, norm, add before the output
        values += int(np.prod(row.output_shape))
    return macs, values


def estimate_time(
    rows, *, train_images: int, test_images: int, config: TrainConfig, speed: float = 1.0
) -> TimeEstimate:
    """How long training `rows` (from `summarize`) with `config` should take: the cost model
    above, times `speed` (1 on the development machine; a measured run's ratio elsewhere, see
    `measured_speed`). Training an image costs about 3 forward passes (forward, then the gradients
    for activations and for weights); validating or testing one, one."""
    _, values = forward_cost(rows)
    validation = int(train_images * config.validation_split)
    trained = train_images - validation
    passes = 3 * trained + validation
    steps = math.ceil(trained / config.batch_size) + math.ceil(validation / config.batch_size)
    epoch = speed * (SECONDS_PER_STEP * steps + SECONDS_PER_MVALUE * passes * values / 1e6)
    evaluation = speed * SECONDS_PER_MVALUE * test_images * values / 1e6
    first = epoch + speed * FIRST_EPOCH_S
    total = START_S + first + epoch * (config.epochs - 1) + evaluation
    return TimeEstimate(seconds=total, epoch_s=epoch, first_epoch_s=first, values_per_image=values)


def measured_speed(estimate: TimeEstimate, *, epochs_run: int, fit_seconds: float) -> float:
    """How many times slower (above 1) or faster this machine trained a run than `estimate` (made
    with speed 1) expected for its `epochs_run` epochs in `fit_seconds`; kept within 0.1 to 10."""
    if epochs_run < 1 or not fit_seconds > 0:
        return 1.0
    expected = estimate.first_epoch_s + estimate.epoch_s * (epochs_run - 1)
    return float(min(max(fit_seconds / max(expected, 1e-6), 0.1), 10.0))
