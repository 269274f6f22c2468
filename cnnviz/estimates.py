"""How long training should take: a cost model fitted on the development machine, the training images a
job really uses, runs trained side by side, the speed a finished run measured, and a busy server.

`estimate_time` is one run on an otherwise idle server; `estimate_together` is runs started together
(a pair: "Train and compare with"); `measured_speed` scales both by what a run measured here; `busy`
says how much longer the runs already training and the processor's load make it. bench/lessons.py
compares the estimates the Trainer shows with the time each lesson's runs take.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cnnviz.dataset_base import held_out_counts

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
# Tracing the training and validation graphs: the first `fit` of mnist-fast on 72 pictures (one epoch, the
# tracing included) took 1.2-1.4 s in a process that had imported Keras (2.1 s in the fourteen runs above,
# whose processes had not).
FIRST_EPOCH_S = 1.2
# From Train to the first batch (a warm worker loads the data and builds the model: bench/training.py's
# first_point_s is 1.67 s, the first batch included), plus saving the model and reporting after.
START_S = 1.5
# Saving a checkpoint (every epoch, and epoch 0 before training): a fixed part (writing the zip) and one
# per parameter (a .keras file holds them and Adam's two moments as float32). Timed with `model.save`
# on the 2-core machine: 0.032-0.036 s for the presets of 3,474 to 416,964 parameters, 0.047 s at 1.0
# million, 0.128 s at 4.0 million, 0.259 s at 9.0 million. (Fitted to whole runs before, these were
# 0.06 s and 0.25 s a million: five times a small network's real cost, which made short runs look long.)
CHECKPOINT_S = 0.03
CHECKPOINT_S_PER_MPARAM = 0.026
# Two runs started together on the 2-core machine share it: together they take this many times as long
# as one alone. Two equal runs in two processes at once: 1.23 times (mnist-fast, 72 pictures, 20 epochs),
# 1.42 (2,000 pictures, 5 epochs), 1.0 (dense-only). 1.6 was measured when `fit` stood idle in one epoch
# of three or four (see `cnnviz.training.batches`), which the other run filled. See `estimate_together`.
TOGETHER = 1.4


@dataclass(frozen=True)
class TimeEstimate:
    """How long a run should take on an otherwise idle server."""

    seconds: float  # from pressing Train to the results: start, every epoch, checkpoints, evaluation
    epoch_s: float  # one epoch after the first, its checkpoint included
    first_epoch_s: float  # the first epoch, which also traces the graphs
    values_per_image: int  # activation values one image's forward pass computes
    train_images: int  # the images it trains on (after the validation pictures are held out)
    validation_images: int


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
        elif row.kind == "stem":  # a 7x7/2 convolution (no bias), norm and ReLU at twice the pooled height and width
            height, width, filters = row.output_shape
            macs += 4 * height * width * (row.params - 4 * filters)
            values += 3 * 4 * height * width * filters
        values += int(np.prod(row.output_shape))
    return macs, values


def train_images(class_counts: Sequence[int], per_class: int | None = None) -> int:
    """How many images a run trains on (validation included) from a dataset with these training images
    per class, when it keeps at most `per_class` of each (None or 0: all)."""
    if not per_class:
        return int(sum(class_counts))
    return int(sum(min(int(count), int(per_class)) for count in class_counts))


def estimate_time(
    rows,
    *,
    train_images: int,
    test_images: int,
    config: TrainConfig,
    speed: float = 1.0,
    class_counts: Sequence[int] | None = None,
    frozen_rows: int = 0,
) -> TimeEstimate:
    """How long training `rows` (from `summarize`; the input row first) with `config` should take on
    `train_images` images (validation included) and testing it on `test_images`: the cost model above,
    times `speed` (1 on the development machine; a measured run's ratio elsewhere, see `measured_speed`).

    Training an image costs about 3 forward passes (forward, then the gradients for activations and for
    weights); validating or testing one, one. The first `frozen_rows` rows after the input (a frozen
    base) learn nothing, so they cost one pass. `class_counts` (the training images per class) makes
    the validation pictures count as `cnnviz.training.train` holds them out, per class."""
    _, values = forward_cost(rows)
    _, frozen = forward_cost(rows[: frozen_rows + 1]) if frozen_rows else (0, 0)
    if class_counts is not None and sum(class_counts) == train_images:
        validation = int(
            held_out_counts(np.repeat(np.arange(len(class_counts)), class_counts), config.validation_split).sum()
        )
    else:
        validation = int(train_images * config.validation_split)
    trained = train_images - validation
    passes = 3 * trained * (values - frozen) + trained * frozen + validation * values
    steps = math.ceil(trained / config.batch_size) + math.ceil(validation / config.batch_size)
    params = sum(row.params for row in rows)
    checkpoint = CHECKPOINT_S + CHECKPOINT_S_PER_MPARAM * params / 1e6
    epoch = speed * (SECONDS_PER_STEP * steps + SECONDS_PER_MVALUE * passes / 1e6 + checkpoint)
    evaluation = speed * SECONDS_PER_MVALUE * test_images * values / 1e6
    first = epoch + speed * FIRST_EPOCH_S
    total = START_S + speed * checkpoint + first + epoch * (config.epochs - 1) + evaluation
    return TimeEstimate(
        seconds=total,
        epoch_s=epoch,
        first_epoch_s=first,
        values_per_image=values,
        train_images=trained,
        validation_images=validation,
    )


def estimate_together(seconds: Sequence[float], *, together: float = TOGETHER) -> float:
    """Seconds until every run started at once is done, from each run's time alone (`estimate_time`):
    the longest, plus the others' share of the machine while they run beside it, `together - 1` of
    their time each. Two equal runs take `together` times one of them."""
    if not seconds:
        return 0.0
    longest = max(seconds)
    return float(longest + (together - 1) * (sum(seconds) - longest))


def measured_speed(estimate: TimeEstimate, epochs: Sequence[dict], *, alongside: int = 0) -> float | None:
    """How many times slower (above 1) or faster this server trained a run than `estimate` (made with
    speed 1 for that run) expected, from its epoch points (`{"epoch", "t"}`, t in seconds since training
    began): the epochs after the first (the first also traces the graphs, a cost that varies); a run of
    one epoch, from that epoch. `alongside`: how many other runs trained beside it, which slowed it
    down (`TOGETHER`), not the server. None without an epoch to go by; kept within 0.05 to 50 (a busy
    server is many times slower: take its load out with `load_factor` before bounding the speed)."""
    epochs = [epoch for epoch in epochs if "t" in epoch]
    if not epochs:
        return None
    if len(epochs) >= 2:
        measured = (epochs[-1]["t"] - epochs[0]["t"]) / (len(epochs) - 1)
        expected = estimate.epoch_s
    else:
        measured, expected = epochs[0]["t"], estimate.first_epoch_s
    if not (measured > 0 and expected > 0):
        return None
    ratio = measured / expected / (1 + (TOGETHER - 1) * max(0, alongside))
    return float(min(max(ratio, 0.05), 50.0))


# What one training run adds to the load average: TensorFlow keeps both cores' threads busy.
LOAD_PER_RUN = 2.0
# How a load beyond the runs' own slows a run: fitted to bench/lessons.py's steps on the 2-core
# development machine under other engineers' work (load averages 7 to 25; each step's time against its
# estimate on an idle server). A load up to twice the cores barely slowed the runs (most of what it
# counts waits: browsers, servers, test runners between tests); beyond that each unit of load added
# about 0.35 of the idle time. The runs' slowdown at one load still spread 2x either way (1.3x to 10x
# between loads of 8 and 25), since the load a run meets is the next minutes', not this one's.
LOAD_FREE_PER_CORE = 2.0
SLOWDOWN_PER_LOAD = 0.35


def load_factor(load: float, *, runs: int, cores: int) -> float:
    """How many times slower than on an idle server a run trains under a processor `load` (the load
    average: processes ready to run), beyond the `runs` training runs that explain part of it (their
    share is `TOGETHER`'s): see `SLOWDOWN_PER_LOAD`."""
    others = max(0.0, float(load) - LOAD_PER_RUN * runs)
    return float(1.0 + SLOWDOWN_PER_LOAD * max(0.0, others - LOAD_FREE_PER_CORE * max(cores, 1)))


@dataclass(frozen=True)
class Busy:
    """How busy the server is as a run starts, and how much longer that makes it."""

    training: int  # runs training now (every session's)
    queued: int  # runs waiting for a free trainer
    load: float  # the processor's load over the last minute (runnable processes), 0 where unknown
    cores: int

    @property
    def factor(self) -> float:
        """How many times longer a run takes than on an idle server: the runs training now share the
        machine as a pair does (`TOGETHER`), and the rest of the load takes its share (`load_factor`)."""
        sharing = 1 + (TOGETHER - 1) * self.training
        return float(sharing * load_factor(self.load, runs=self.training, cores=self.cores))

    @property
    def busy(self) -> bool:
        """Whether a learner should be told: noticeably slower than idle, or runs waiting."""
        return self.factor > 1.2 or self.queued > 0


def busy_now(training: int = 0, queued: int = 0) -> Busy:
    """The server's state now: the run manager's counts and this machine's load average."""
    return Busy(int(training), int(queued), load_now(), os.cpu_count() or 1)


def load_now() -> float:
    """This machine's load average over the last minute (0 where the platform has none)."""
    try:
        return float(os.getloadavg()[0])
    except OSError:
        return 0.0


def base_rows(base, num_classes: int) -> tuple[list, int]:
    """(summary rows for the cost model, how many of them are the frozen base) of `transfer_model` on the
    Keras network `base` with a new head for `num_classes`: the input, the base's kept layers
    (`models.feature_layers`: conv for Conv2D, else the layer's type) and the head's rows."""
    from cnnviz import models
    from cnnviz.blocks import LayerRow

    inner = models.nested_base(base) or base
    rows = [LayerRow("input", "Input", tuple(int(n) for n in base.inputs[0].shape[1:]), 0, "")]
    for name in models.feature_layers(base):
        layer = inner.get_layer(name)
        kind = "conv" if type(layer).__name__ == "Conv2D" else type(layer).__name__
        rows.append(LayerRow(name, kind, tuple(layer.output.shape[1:]), int(layer.count_params()), kind))
    frozen = len(rows) - 1
    return [*rows, *models.head_rows(rows[-1].output_shape, num_classes)], frozen
