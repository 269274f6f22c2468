"""Training a CNN with live progress: a configuration, a Keras callback that streams throttled
batch and epoch points without slowing `fit` down, stop / target / divergence / time-limit
handling, per-epoch checkpoints, and the evaluation afterwards.

`train` runs in the calling process. The app runs it in worker processes (`cnnviz.runs`), so that
Keras's process-wide state and memory never touch the server.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cnnviz.dataset_base import split_indices
from cnnviz.datasets import Dataset
from cnnviz.errors import InvalidInput
from cnnviz.localization import LossWeights
from cnnviz.models import Augmentation

if TYPE_CHECKING:  # annotations only: importing Keras costs seconds
    import keras

OPTIMIZERS = ("adam", "sgd", "rmsprop", "nadam")
STREAM_INTERVAL_S = 0.25  # four batch points a second reach the chart


@dataclass(frozen=True)
class TrainConfig:
    """How to train."""

    optimizer: str = "adam"  # adam, sgd (with momentum 0.9), rmsprop or nadam
    learning_rate: float = 1e-3
    batch_size: int = 64
    epochs: int = 5
    validation_split: float = 0.1  # a share of each class's training images, held out for the val curves
    augmentation: Augmentation = field(default_factory=Augmentation)
    target_accuracy: float | None = None  # stop once training accuracy reaches it (the tutorial's callback)
    early_stopping_patience: int | None = None  # stop after this many epochs without a better val_loss
    time_limit_s: float | None = 600.0  # a run never trains longer than this
    seed: int = 0

    def validate(self) -> TrainConfig:
        """Raise InvalidInput naming the first setting out of range; return self."""
        if self.optimizer not in OPTIMIZERS:
            raise InvalidInput(f"Optimizer {self.optimizer!r} is not offered; choose one of {', '.join(OPTIMIZERS)}.")
        if not (math.isfinite(self.learning_rate) and 0 < self.learning_rate <= 100):
            raise InvalidInput(f"Learning rate must be above 0 and at most 100, got {self.learning_rate!r}.")
        if not 1 <= self.batch_size <= 4096:
            raise InvalidInput(f"Batch size must be 1 to 4096, got {self.batch_size}.")
        if not 1 <= self.epochs <= 500:
            raise InvalidInput(f"Epochs must be 1 to 500, got {self.epochs}.")
        if not 0 <= self.validation_split < 0.9:
            raise InvalidInput(f"Validation split must be at least 0 and below 0.9, got {self.validation_split}.")
        if self.target_accuracy is not None and not 0 < self.target_accuracy <= 1:
            raise InvalidInput(f"Target accuracy is a fraction above 0 and at most 1, got {self.target_accuracy}.")
        if self.early_stopping_patience is not None and not 1 <= self.early_stopping_patience <= 100:
            raise InvalidInput("Early-stopping patience must be 1 to 100 epochs.")
        if self.early_stopping_patience is not None and self.validation_split == 0:
            raise InvalidInput("Early stopping watches the validation loss: set a validation split above 0.")
        if self.time_limit_s is not None and not 1 <= self.time_limit_s <= 24 * 3600:
            raise InvalidInput("The time limit must be 1 s to 24 h.")
        augmentation = self.augmentation
        if not (0 <= augmentation.rotation <= 180 and 0 <= augmentation.shift <= 0.5 and 0 <= augmentation.zoom <= 0.5):
            raise InvalidInput("Augmentation: rotation 0-180 degrees, shift and zoom 0-0.5 are accepted.")
        return self


class RunState(StrEnum):
    """Where a training run is, one spelling everywhere: the run manager's records, training's result,
    the Trainer's labels. (A StrEnum: it equals its string, which is what travels between processes.)"""

    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    DONE = "done"  # every epoch trained
    STOPPED = "stopped"  # on request, or cancelled before it started
    TARGET_REACHED = "target_reached"
    EARLY_STOPPED = "early_stopped"
    DIVERGED = "diverged"
    TIMED_OUT = "timed_out"
    FAILED = "failed"  # an error before or during training, explained
    CRASHED = "crashed"  # the worker process died
    INTERRUPTED = "interrupted"  # its server stopped while it trained: it can continue from a checkpoint

    @property
    def finished(self) -> bool:
        """Whether the run has ended (well or not)."""
        return self not in (RunState.QUEUED, RunState.STARTING, RunState.RUNNING, RunState.STOPPING)

    @property
    def good(self) -> bool:
        """Finished with a model worth looking at (not a failure, crash or divergence)."""
        return self in (RunState.DONE, RunState.STOPPED, RunState.TARGET_REACHED, RunState.EARLY_STOPPED)

    @property
    def label(self) -> str:
        """What a learner reads."""
        return _STATE_LABELS[self]


_STATE_LABELS = {
    RunState.QUEUED: "Waiting in the queue",
    RunState.STARTING: "Starting",
    RunState.RUNNING: "Training",
    RunState.STOPPING: "Stopping",
    RunState.DONE: "Finished",
    RunState.STOPPED: "Stopped",
    RunState.TARGET_REACHED: "Reached the target",
    RunState.EARLY_STOPPED: "Stopped early",
    RunState.DIVERGED: "Diverged",
    RunState.TIMED_OUT: "Time limit",
    RunState.FAILED: "Failed",
    RunState.CRASHED: "Crashed",
    RunState.INTERRUPTED: "Interrupted",
}


@dataclass(frozen=True)
class TrainJob:
    """Everything a worker needs to build, train and evaluate one model."""

    dataset: str  # a name from cnnviz.datasets.NAMES, or "file" with dataset_file
    blocks: tuple  # the architecture (dicts, see cnnviz.blocks)
    config: TrainConfig
    dataset_options: tuple = ()  # (key, value) pairs for the dataset loader
    dataset_file: str | None = None  # an .npz with x_train, y_train, x_test, y_test, class_names
    first_conv_kernels: tuple[str, ...] = ()  # Convolution Lab kernel names for the first conv layer
    freeze_first_conv: bool = False
    title: str = ""
    # Transfer learning: start from a trained network's convolutional base (`models.transfer_model`).
    base_model: str | None = None  # a .keras file's path, or "imagenet:MobileNetV2" (weights in the cache)
    train_from: str | None = None  # the base's layer from which on it learns; None: the base stays frozen
    train_per_class: int | None = None  # train on only this many images per class (few-shot lessons)
    base_input: tuple | None = None  # the base's (H, W, C) as the app read it: the dataset as the run saw it
    # Localization: a box head beside the class head, its loss weighted against the class's
    # (`cnnviz.box_model`; the dataset must have boxes, `cnnviz.box_data`). None: a classifier.
    boxes: LossWeights | None = None
    # Continuing an interrupted run: the checkpoint (a compiled .keras, optimizer state included) and
    # the epochs it had trained; training goes on from there to `config.epochs`.
    resume_from: str | None = None
    initial_epoch: int = 0


@dataclass
class TrainResult:
    status: RunState  # DONE, STOPPED, TARGET_REACHED, EARLY_STOPPED, DIVERGED or TIMED_OUT
    message: str
    epochs_run: int
    train_seconds: float
    history: dict[str, list[float]]


@dataclass(frozen=True)
class Evaluation:
    """How a trained model does on the held-out test split."""

    test_loss: float
    test_accuracy: float
    per_class_accuracy: np.ndarray  # (K,)
    confusion: np.ndarray  # (K, K) counts, rows = true class, columns = predicted
    predictions: np.ndarray  # (N,) predicted class per test image
    confidences: np.ndarray  # (N,) probability of the predicted class

    def misclassified(self, y_true: np.ndarray, true_class: int, predicted_class: int) -> np.ndarray:
        """Indices of test images of `true_class` predicted as `predicted_class`."""
        return np.flatnonzero((y_true == true_class) & (self.predictions == predicted_class))


def make_optimizer(name: str, learning_rate):
    """A Keras optimizer by name ('adam', 'sgd' with momentum 0.9, 'rmsprop', 'nadam'); `learning_rate`
    is a number or a Keras learning rate schedule."""
    import keras

    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    return {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop, "nadam": keras.optimizers.Nadam}[name](
        learning_rate
    )


def compile_model(model: keras.Model, config: TrainConfig) -> None:
    """Compile `model` for integer labels with `config`'s optimizer and learning rate."""
    model.compile(
        optimizer=make_optimizer(config.optimizer, config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def running_metrics(model: keras.Model) -> dict[str, float] | None:
    """The running means of the epoch's metrics so far (what Keras's progress bar shows), read from another
    thread while `fit` runs; None when they are not one consistent set. Keras resets every metric at an
    epoch's start: read before the first batch, the loss is 0; read across the reset, the loss is the old
    epoch's and the accuracy the new one's 0 (a batch point at 0% was drawn once), so the loss is read
    again after the rest. A model loaded to continue builds its metrics in its first batch: None too."""
    try:
        values = {key: float(value) for key, value in model.get_metrics_result().items()}
        loss_after = float(model.get_metrics_result().get("loss", 0.0))
    except ValueError:  # not built yet
        return None
    if values.get("loss", 0.0) == 0.0 or loss_after == 0.0:
        return None
    return values


def _stream_callback(
    on_event, should_stop, config: TrainConfig, steps_per_epoch: int, checkpoint_dir, state: dict, num_classes: int
):
    import keras

    # Keras clips probabilities, so an exploding network often shows a huge but finite loss rather
    # than NaN: far above chance level (ln K) after the first batches means the same thing.
    runaway = 4 * math.log(num_classes) + 2

    class Stream(keras.callbacks.Callback):
        """Stream points and enforce stop / divergence / time limit without a per-batch hook.

        Any batch hook makes `fit` hand every batch's loss to Python (a naive per-batch callback
        costs about 20% of the throughput). Instead a sampler thread reads Keras's running
        metrics a few times a second while the training loop runs at full speed; setting
        `model.stop_training` from it ends `fit` after the current batch.
        """

        def __init__(self):
            super().__init__()
            self.started = time.monotonic()
            self.epoch = 0
            # fit validates at each epoch's end with the same metric objects: from then until the next
            # epoch resets them, the running "loss" is the validation loss, which says nothing about
            # divergence. Each validation pass moves `phase` on, so a value read across one is thrown away.
            self.testing = False
            self.phase = 0
            self.finished = threading.Event()
            self.sampler = threading.Thread(target=self._sample, name="cnnviz-sampler", daemon=True)

        def _stop(self, status: str, message: str) -> None:
            if state["status"] == RunState.DONE:
                state["status"], state["message"] = status, message
            self.model.stop_training = True

        def _check(self) -> None:
            if should_stop is not None and should_stop():
                self._stop(RunState.STOPPED, "Stopped on request; the model keeps what it learned so far.")
            elif config.time_limit_s is not None and time.monotonic() - self.started > config.time_limit_s:
                self._stop(
                    RunState.TIMED_OUT, f"Reached the time limit of {config.time_limit_s:g} s; the model is kept."
                )

        def _diverged(self, loss: float, epoch: int, *, drawn: bool) -> None:
            # Named by the curves' epochs: `drawn` when this epoch's point is on them, else the last one is.
            other = ", or Adam instead of SGD" if config.optimizer == "sgd" else ""
            last = state["drawn"]
            if drawn:
                where = f"at epoch {epoch}, the last point on the curves"
            elif last:
                where = f"in epoch {epoch}, after epoch {last}, the last point on the curves"
            else:
                where = "in the first epoch, before any point on the curves"
            self._stop(
                RunState.DIVERGED,
                f"The training loss became {loss:.4g} {where}: training diverged. Try a learning rate 10 times "
                f"smaller (now {config.learning_rate:g}){other}.",
            )

        def _sample(self) -> None:
            step_in_run = 0
            while not self.finished.wait(STREAM_INTERVAL_S):
                self._check()
                step = int(self.model.optimizer.iterations.numpy())
                if step == step_in_run or self.testing:  # no new batch (or the first still tracing), or validating
                    continue
                step_in_run, phase = step, self.phase
                values = running_metrics(self.model)
                if values is None:  # just reset for a new epoch, or not built yet: the next sample will do
                    continue
                if self.testing or self.phase != phase:  # validation began while reading: not training's figures
                    continue
                loss = values.get("loss", float("nan"))
                if not math.isfinite(loss) or (step > 20 and loss > runaway):
                    self._diverged(loss, self.epoch + 1, drawn=False)
                    continue
                on_event(
                    {
                        "kind": "batch",
                        "epoch": self.epoch + 1,
                        "step": step,
                        "progress": min(step / steps_per_epoch, self.epoch + 1),
                        "loss": loss,  # the running mean over this epoch so far, as Keras's progress bar shows
                        # a model with a box head (cnnviz.box_model) names its class head's accuracy after it
                        "accuracy": values.get("accuracy", values.get("output_accuracy", float("nan"))),
                        "t": time.monotonic() - self.started,
                    }
                )

        def on_train_begin(self, logs=None):
            if checkpoint_dir is not None and state["drawn"] == 0:
                # Epoch 0: the network before any training, so that a scrubber can start from chance.
                path = Path(checkpoint_dir) / "epoch_000.keras"
                self.model.save(path)
                on_event({"kind": "checkpoint", "epoch": 0, "path": str(path)})
            self.started = time.monotonic()
            self.sampler.start()

        def on_test_begin(self, logs=None):
            self.testing = True
            self.phase += 1

        def on_train_end(self, logs=None):
            self.finished.set()
            self.sampler.join()

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            self.testing = False  # fit has reset the metrics: they are the training's again

        def on_epoch_end(self, epoch, logs=None):
            logs = {key: float(value) for key, value in (logs or {}).items()}
            state["epochs_run"] = epoch + 1
            loss = logs.get("loss", 0.0)  # the training loss: fit names the validation loss val_loss
            if state["status"] == RunState.DIVERGED:
                return
            if not math.isfinite(loss):
                self._diverged(loss, epoch + 1, drawn=False)
                return
            # The load average it trained under: a time estimate tells a slow server from a busy one.
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
            on_event({"kind": "epoch", "epoch": epoch + 1, "t": time.monotonic() - self.started, "load": load, **logs})
            state["drawn"] = epoch + 1
            if loss > runaway:
                self._diverged(loss, epoch + 1, drawn=True)
                return
            if checkpoint_dir is not None:
                path = Path(checkpoint_dir) / f"epoch_{epoch + 1:03d}.keras"
                self.model.save(path)
                on_event({"kind": "checkpoint", "epoch": epoch + 1, "path": str(path)})
            target = config.target_accuracy
            if target is not None and logs.get("accuracy", 0.0) >= target:
                self._stop(
                    RunState.TARGET_REACHED, f"Reached {logs['accuracy']:.2%} training accuracy (target {target:.0%})."
                )
            self._check()

    return Stream()


def train(
    model: keras.Model,
    dataset: Dataset,
    config: TrainConfig,
    *,
    on_event: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    checkpoint_dir: str | Path | None = None,
    targets=None,
    compiled: bool = False,
    callbacks: tuple = (),
    initial_epoch: int = 0,
) -> TrainResult:
    """Compile and fit `model` on `dataset`'s training split, streaming events to `on_event`:
    ``{"kind": "batch" | "epoch" | "checkpoint", ...}``. Never raises for a diverging run: the
    result's status says what happened.

    For a model with more than one output (`cnnviz.box_model`): `targets` are what `fit` learns
    (default `dataset.y_train`), `compiled` says the caller compiled it with its own losses, and
    `callbacks` run before the streaming one at each epoch's end (e.g. to rename its logs).
    `initial_epoch` continues a run that trained that many epochs (a compiled checkpoint: pass
    `compiled=True` to keep its optimizer's state); epochs are numbered on from there."""
    import keras

    config.validate()
    if tuple(model.inputs[0].shape[1:]) != tuple(dataset.input_shape):
        raise InvalidInput(
            f"The model takes {tuple(model.inputs[0].shape[1:])} images but the dataset has {dataset.input_shape}."
        )
    if not compiled:
        compile_model(model, config)
    on_event = on_event or (lambda event: None)
    # Validation pictures held out per class (at least a few of each where the class can spare them),
    # not Keras's last fraction of the array, which can miss a class altogether.
    kept, held = split_indices(dataset.y_train, fraction=config.validation_split, seed=config.seed)
    learned = dataset.y_train if targets is None else targets
    validation = (dataset.x_train[held], _take(learned, held)) if len(held) else None
    steps = _steps(len(kept), config.batch_size)
    state = {"status": RunState.DONE, "message": "", "epochs_run": initial_epoch, "drawn": initial_epoch}
    callbacks = [
        *callbacks,
        _stream_callback(on_event, should_stop, config, steps, checkpoint_dir, state, dataset.num_classes),
    ]
    if config.early_stopping_patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=config.early_stopping_patience, restore_best_weights=True
            )
        )
    started = time.monotonic()
    history = model.fit(
        batches(dataset.x_train[kept], _take(learned, kept), config.batch_size, seed=config.seed),
        epochs=config.epochs,
        initial_epoch=initial_epoch,
        validation_data=validation,
        shuffle=False,  # the pipeline shuffles
        verbose=0,
        callbacks=callbacks,
    )
    seconds = time.monotonic() - started
    status, message = state["status"], state["message"]
    if status == RunState.DONE and state["epochs_run"] < config.epochs:
        status = RunState.EARLY_STOPPED
        message = f"Stopped after {state['epochs_run']} epochs: the validation loss stopped improving."
    if status == RunState.DONE:
        message = f"Trained {state['epochs_run']} epochs in {seconds:.1f} s."
    history_lists = {key: [float(v) for v in values] for key, values in history.history.items()}
    found = overfitting(history_lists.get("loss", []), history_lists.get("val_loss", []), first_epoch=initial_epoch + 1)
    if found is not None and status != RunState.DIVERGED:
        message += " " + found.message(validation_pictures=len(held), early_stopping=config.early_stopping_patience)
    return TrainResult(status, message, state["epochs_run"], seconds, history_lists)


def steps_per_epoch(dataset: Dataset, config: TrainConfig) -> int:
    """The batches `train` takes in one epoch: the training pictures left after the validation ones
    are held out, `config.batch_size` at a time."""
    kept, _ = split_indices(dataset.y_train, fraction=config.validation_split, seed=config.seed)
    return _steps(len(kept), config.batch_size)


def _steps(pictures: int, batch_size: int) -> int:
    return max(1, math.ceil(pictures / batch_size))


def batches(x: np.ndarray, targets, batch_size: int, *, seed: int = 0):
    """The training pictures and their targets (an array, or a dict, list or tuple of arrays) as a
    tf.data pipeline of batches, shuffled again every epoch (the last batch may be smaller), with
    tf.data's autotuning off.

    What `fit` makes of NumPy arrays is the same pipeline with autotuning on; on the 2-core machine
    its tuner left the processor idle for about 2.5 s in one epoch of every three or four (the same
    work, twice the time: 18 epochs of the digits with boxes took 59-77 s instead of 45). A fixed
    two-batch prefetch keeps the processor busy."""
    import tensorflow as tf

    pictures = tf.constant(x)
    wanted = tf.nest.map_structure(tf.constant, targets)

    def gather(index):
        return tf.gather(pictures, index), tf.nest.map_structure(lambda target: tf.gather(target, index), wanted)

    order = tf.data.Dataset.range(len(x)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    options = tf.data.Options()
    options.autotune.enabled = False
    return order.batch(batch_size).map(gather).prefetch(2).with_options(options)


def _take(targets, index: np.ndarray):
    """`targets` (an array, or a dict, list or tuple of arrays: one per output) at `index`."""
    if isinstance(targets, dict):
        return {key: _take(value, index) for key, value in targets.items()}
    if isinstance(targets, (list, tuple)):
        return type(targets)(_take(value, index) for value in targets)
    return np.asarray(targets)[index]


@dataclass(frozen=True)
class Overfitting:
    """A run whose validation loss rose while its training loss kept falling: it learned its training
    pictures rather than the classes (`overfitting` finds it). Epochs are numbered as the curves are."""

    best_epoch: int  # where the validation loss was lowest
    best_val_loss: float
    last_epoch: int
    last_val_loss: float
    first_loss: float  # the training loss at best_epoch ...
    last_loss: float  # ... and at the last epoch, lower

    def message(self, *, validation_pictures: int | None = None, early_stopping: int | None = None) -> str:
        """What a learner reads: what happened, and what early stopping does about it."""
        on = f" on its {validation_pictures} validation pictures" if validation_pictures else ""
        text = (
            f"Overfitting: the validation loss{on} was lowest at epoch {self.best_epoch} ({self.best_val_loss:.3g}) "
            f"and rose to {self.last_val_loss:.3g} by epoch {self.last_epoch}, while the training loss kept falling "
            f"({self.first_loss:.3g} to {self.last_loss:.3g}): the network learned its training pictures rather "
            "than the classes."
        )
        if early_stopping:
            return text
        return text + (
            " Early stopping (a patience of a few epochs) ends such a run once the validation loss stops "
            "improving, and keeps the weights of its best epoch."
        )


def overfitting(loss: list[float], val_loss: list[float], *, first_epoch: int = 1) -> Overfitting | None:
    """The run's overfitting, from its per-epoch training and validation losses (epoch `first_epoch`
    first), or None: the validation loss ended at least 20% (and 0.02) above its lowest, reached two or
    more epochs before the end, while the training loss ended below where it was then. A rising
    validation loss is not divergence: that is the training loss blowing up."""
    if len(val_loss) < 4 or len(loss) != len(val_loss):
        return None
    values = np.asarray(val_loss, dtype=np.float64)
    if not np.isfinite(values).all():
        return None
    best = int(values.argmin())
    last = len(values) - 1
    rose = values[last] > 1.2 * values[best] and values[last] - values[best] > 0.02
    if last - best < 2 or not rose or not loss[last] < loss[best]:
        return None
    return Overfitting(
        best + first_epoch,
        float(values[best]),
        last + first_epoch,
        float(values[last]),
        float(loss[best]),
        float(loss[last]),
    )


def evaluate(model: keras.Model, dataset: Dataset, *, batch_size: int = 256) -> Evaluation:
    """Test loss and accuracy, per-class accuracy and the confusion matrix on the test split."""
    probabilities = model.predict(dataset.x_test, batch_size=batch_size, verbose=0)
    return evaluation_of(probabilities, dataset.y_test, dataset.num_classes)


def evaluation_of(probabilities: np.ndarray, y: np.ndarray, k: int) -> Evaluation:
    """The `Evaluation` of class probabilities (N, k) against the true classes `y` (N,)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    predictions = probabilities.argmax(axis=1)
    picked = np.clip(probabilities[np.arange(len(y)), y], 1e-12, 1.0)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (y, predictions), 1)
    totals = confusion.sum(axis=1)
    per_class = np.divide(np.diag(confusion), totals, out=np.zeros(k), where=totals > 0)
    return Evaluation(
        test_loss=float(-np.log(picked).mean()),
        test_accuracy=float((predictions == y).mean()),
        per_class_accuracy=per_class,
        confusion=confusion,
        predictions=predictions,
        confidences=probabilities.max(axis=1),
    )


def first_conv_filters(model: keras.Model) -> np.ndarray | None:
    """The first conv layer's kernels (kh, kw, c_in, filters), also inside a nested base model (transfer
    learning), or None if it has none."""
    for layer in model.layers:
        if layer.__class__.__name__ == "Conv2D" and layer.name != "preprocess":  # pretrained.py's colour step
            return np.asarray(layer.get_weights()[0])
        if hasattr(layer, "layers"):
            inner = first_conv_filters(layer)
            if inner is not None:
                return inner
    return None
