"""The two-headed network of the tutorials: one head says what is in the picture, the other where.

A convolutional base (blocks from the builder, or a trained network's base: the shipped MNIST
model, a run's model, a cached ImageNet network) ends in global average pooling, then two Dense
heads read the pooled features:

- 'output': Dense(num_classes, softmax), the class, learned with crossentropy;
- 'box': Dense(4, sigmoid), the box (x_min, y_min, x_max, y_max) as fractions of the picture's
  width and height, learned with the mean squared error of its four numbers (after a hidden
  Dense(64, relu) 'box_hidden', `BOX_HIDDEN`; 0 gives the tutorial's single layer). Besides the
  pooled features it reads 'where' (`WHERE`): each channel summed over the map with a learned weight
  for every position, because an average says what is in the map but not where it is.

The two losses are weighted (`cnnviz.localization.LossWeights`, 0.8 / 0.2 as in the tutorial) and
added: training lowers the sum. A mean-IoU metric watches the boxes on the validation pictures.

Training goes through `cnnviz.training.train` (stop, time limit, divergence, checkpoints, live
curves). Its epoch events carry ``loss, class_loss, box_loss, accuracy, mean_iou`` and the same with
``val_`` in front; `evaluate` gives the classifier's `Evaluation` plus the predicted test boxes,
their IoUs, mean IoU and COCO's AP@0.5 and AP@[.5:.95] (`BoxEvaluation`). For the CAM, feature and
prediction views that take one output, `head` gives the same network with one head.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cnnviz import localization
from cnnviz.box_data import BoxDataset
from cnnviz.errors import InvalidInput
from cnnviz.localization import LossWeights
from cnnviz.training import Evaluation, TrainConfig

if TYPE_CHECKING:  # annotations only: importing Keras costs seconds
    import keras

CLASS_OUTPUT = "output"  # the class head's layer: the name every classifier of cnnviz gives its output
BOX_OUTPUT = "box"
POOL = "pool"  # the global average pooling both heads read (the box head with `WHERE`)
# The box head's own pooling: each channel of the last map summed with one learned weight per position
# (an EinsumDense, 'bhwc,hwc->bc'). Global average pooling gives a digit in the top left corner and the
# same digit in the bottom right the same numbers; these sums differ. On the bundled MNIST boxes it
# lifted the held-out AP@0.5 from 0.87 to 0.90-0.91 (bench/localization.py, same time per epoch).
WHERE = "where"
BOX_HIDDEN_LAYER = "box_hidden"
# Units of the box head's hidden layer (0: the tutorial's single Dense(4)). Where an edge is, is not a
# straight-line function of the pooled features (a corner is where the object's evidence starts), and
# one ReLU layer lets the head bend: on the bundled MNIST boxes it lifted the held-out mean IoU from
# 0.64 to 0.69 after 15 epochs (bench/localization.py's network, same time per epoch).
BOX_HIDDEN = 64
MIN_SIDE = 1e-3  # a predicted box is at least this wide and tall (fraction of the picture)
# What Keras calls each head's logs -> what the curves call them (and `val_` + each).
LOG_NAMES = {"output_loss": "class_loss", "output_accuracy": "accuracy", "box_mean_iou": "mean_iou"}


def _keras():
    from cnnviz.models import _keras

    return _keras()


def is_box_model(model) -> bool:
    """Whether `model` is a two-headed network of this module (a class output and a box output)."""
    names = [layer.name for layer in model.layers]
    return len(model.outputs) == 2 and CLASS_OUTPUT in names and BOX_OUTPUT in names


def _heads(inputs, features, num_classes: int, name: str, box_hidden: int):
    keras = _keras()
    if not 2 <= num_classes <= 1000:
        raise InvalidInput(f"A classifier needs 2 to 1000 classes, got {num_classes}.")
    if not 0 <= box_hidden <= 1024:
        raise InvalidInput(f"The box head's hidden layer has 0 to 1024 units, not {box_hidden}.")
    pooled = keras.layers.GlobalAveragePooling2D(name=POOL)(features)
    label = keras.layers.Dense(num_classes, activation="softmax", name=CLASS_OUTPUT)(pooled)
    channels = int(features.shape[-1])
    where = keras.layers.EinsumDense("bhwc,hwc->bc", output_shape=(channels,), name=WHERE)(features)
    x = keras.layers.Concatenate(name="what_and_where")([pooled, where])
    if box_hidden:
        x = keras.layers.Dense(box_hidden, activation="relu", name=BOX_HIDDEN_LAYER)(x)
    # sigmoid: each corner lands between 0 and 1, the picture's edges.
    box = keras.layers.Dense(4, activation="sigmoid", name=BOX_OUTPUT)(x)
    return keras.Model(inputs, [label, box], name=name)


def from_blocks(
    blocks: list[dict],
    input_shape: tuple[int, int, int],
    num_classes: int,
    *,
    box_hidden: int = BOX_HIDDEN,
    seed: int = 0,
):
    """The two-headed network on the builder's blocks (checked by `cnnviz.blocks.summarize`):
    their layers up to the last feature map (blocks after it, Flatten or Dense, are left out: the
    heads read the last map), then `POOL`, `WHERE` and the two heads (the box head with a hidden ReLU
    layer of `box_hidden` units, 0 for none). Takes uint8 pixels 0..255."""
    from cnnviz import models
    from cnnviz.features import layer_output

    classifier = models.build_model(blocks, input_shape, num_classes, seed=seed)
    last = models.feature_layers(classifier)[-1]
    features = layer_output(classifier, classifier.get_layer(last))
    return _heads(classifier.inputs, features, num_classes, "cnnviz_boxes", box_hidden)


def from_base(
    base: keras.Model, num_classes: int, *, train_from: str | None = None, box_hidden: int = BOX_HIDDEN, seed: int = 0
):
    """The two-headed network on a trained network's convolutional base (`models.feature_base`:
    a copy named 'base', frozen unless `train_from` names the layer from which on it learns), as the
    tutorial put its heads on Xception. Takes what `base` takes."""
    from cnnviz import models

    keras = _keras()
    keras.utils.set_random_seed(seed)
    nested = models.feature_base(base, train_from=train_from)
    inputs = keras.Input(shape=tuple(nested.inputs[0].shape[1:]), name="image")
    # training=False: the base's batch normalization keeps what it learned (as in transfer_model)
    return _heads(inputs, nested(inputs, training=False), num_classes, "cnnviz_boxes_transfer", box_hidden)


def head(model: keras.Model, which: str = "class"):
    """The same network (its layers shared, not copied) with one output: 'class' (probabilities,
    (N, K)) or 'box' ((N, 4), unordered corners): what the CAM, feature and prediction views take."""
    keras = _keras()
    if which not in ("class", "box"):
        raise InvalidInput(f"Choose the 'class' or the 'box' head, not {which!r}.")
    if not is_box_model(model):
        raise InvalidInput("This model has one head; only a two-headed (box) model has a box head to choose.")
    layer = model.get_layer(CLASS_OUTPUT if which == "class" else BOX_OUTPUT)
    from cnnviz.features import layer_output

    return keras.Model(model.inputs, layer_output(model, layer), name=f"{model.name}_{which}")


# --- training -------------------------------------------------------------------------------------


def box_iou(y_true, y_pred):
    """The mean-IoU metric's per-picture value, in Keras ops: the true box against the predicted one
    (whose corners may come in either order: nothing makes the sigmoid outputs ordered)."""
    from keras import ops

    x0, x1 = ops.minimum(y_pred[:, 0], y_pred[:, 2]), ops.maximum(y_pred[:, 0], y_pred[:, 2])
    y0, y1 = ops.minimum(y_pred[:, 1], y_pred[:, 3]), ops.maximum(y_pred[:, 1], y_pred[:, 3])
    width = ops.maximum(ops.minimum(x1, y_true[:, 2]) - ops.maximum(x0, y_true[:, 0]), 0.0)
    height = ops.maximum(ops.minimum(y1, y_true[:, 3]) - ops.maximum(y0, y_true[:, 1]), 0.0)
    overlap = width * height
    union = (x1 - x0) * (y1 - y0) + (y_true[:, 2] - y_true[:, 0]) * (y_true[:, 3] - y_true[:, 1]) - overlap
    return overlap / ops.maximum(union, 1e-7)


def compile_box_model(
    model: keras.Model, config: TrainConfig, weights: LossWeights | None = None, *, steps: int | None = None
) -> None:
    """Compile with crossentropy on the class, mean squared error on the box, weighted by `weights`
    (default `LossWeights()`: 0.8 / 0.2), and `config`'s optimizer; metrics: the class's accuracy,
    the boxes' mean IoU. With `steps` (the batches the whole run will take) the learning rate falls
    from `config.learning_rate` to 0 along a half cosine over them (`keras.optimizers.schedules.
    CosineDecay`): the boxes settle at the end instead of jumping about with the last batches."""
    from cnnviz.training import make_optimizer

    keras = _keras()
    weights = (weights or LossWeights()).validate()
    rate = config.learning_rate
    if steps is not None:
        if steps < 1:
            raise InvalidInput(f"A learning rate schedule needs at least one training step, not {steps}.")
        rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=int(steps))
    model.compile(
        optimizer=make_optimizer(config.optimizer, rate),
        loss={CLASS_OUTPUT: "sparse_categorical_crossentropy", BOX_OUTPUT: "mse"},
        loss_weights={CLASS_OUTPUT: float(weights.class_weight), BOX_OUTPUT: float(weights.box_weight)},
        metrics={CLASS_OUTPUT: ["accuracy"], BOX_OUTPUT: [keras.metrics.MeanMetricWrapper(box_iou, name="mean_iou")]},
    )


def _renamer():
    keras = _keras()

    class RenameLogs(keras.callbacks.Callback):
        """Each head's logs under the names the curves read (`LOG_NAMES`), before anything else reads
        them (the streaming callback, the history): Keras names them after the output layers."""

        def on_epoch_end(self, epoch, logs=None):
            if logs is None:
                return
            for old, new in LOG_NAMES.items():
                for prefix in ("", "val_"):
                    if prefix + old in logs:
                        logs[prefix + new] = logs.pop(prefix + old)

    return RenameLogs()


def check_dataset(dataset) -> BoxDataset:
    """`dataset` if it has a box for every picture, else InvalidInput saying where boxes come from."""
    if not isinstance(dataset, BoxDataset):
        raise InvalidInput(
            f"{dataset.name} has no boxes. A box head learns from pictures with boxes: the bundled MNIST or "
            "shapes with boxes, or a zip of class folders with a boxes.csv in each."
        )
    return dataset


def train(
    model: keras.Model,
    dataset: BoxDataset,
    config: TrainConfig,
    weights: LossWeights | None = None,
    *,
    compiled: bool = False,
    **kw,
):
    """`cnnviz.training.train` for a two-headed network: compiled here (`compile_box_model`; not when
    `compiled`, a checkpoint that goes on), fitted on the classes and the boxes, its logs renamed
    (`LOG_NAMES`). Keyword arguments go to `training.train` (on_event, should_stop, checkpoint_dir,
    initial_epoch). Returns its `TrainResult`."""
    from cnnviz import training

    check_dataset(dataset)
    if config.augmentation.active:
        raise InvalidInput(
            "Augmentation moves and turns the pictures but not their boxes: switch it off for a network that "
            "learns boxes."
        )
    if not compiled:
        compile_box_model(model, config, weights, steps=config.epochs * training.steps_per_epoch(dataset, config))
    targets = {CLASS_OUTPUT: dataset.y_train, BOX_OUTPUT: np.asarray(dataset.boxes_train, dtype=np.float32)}
    return training.train(model, dataset, config, targets=targets, compiled=True, callbacks=(_renamer(),), **kw)


# --- results --------------------------------------------------------------------------------------


def predict(model: keras.Model, images: np.ndarray, *, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities float32 (N, K), boxes float32 (N, 4)) for uint8 pictures (N, H, W, C). Each box
    is (x_min, y_min, x_max, y_max), normalised: the corners put in order and at least `MIN_SIDE`
    apart, so every predicted box is a box."""
    if not is_box_model(model):
        raise InvalidInput("This model has no box head: it predicts classes only.")
    probabilities, raw = model.predict(np.asarray(images), batch_size=batch_size, verbose=0)
    raw = np.asarray(raw, dtype=np.float32)
    x0, x1 = np.minimum(raw[:, 0], raw[:, 2]), np.maximum(raw[:, 0], raw[:, 2])
    y0, y1 = np.minimum(raw[:, 1], raw[:, 3]), np.maximum(raw[:, 1], raw[:, 3])
    boxes = np.stack([x0, y0, np.maximum(x1, x0 + MIN_SIDE), np.maximum(y1, y0 + MIN_SIDE)], axis=1)
    return np.asarray(probabilities, dtype=np.float32), boxes


@dataclass(frozen=True)
class BoxEvaluation(Evaluation):
    """How a two-headed network does on the held-out test pictures: the class head's `Evaluation`,
    and the boxes. Indices follow the dataset's test split (`x_test`, `boxes_test`)."""

    boxes: np.ndarray  # float32 (N, 4) predicted boxes, normalised (x_min, y_min, x_max, y_max)
    ious: np.ndarray  # float64 (N,) each predicted box's IoU with the true one
    mean_iou: float  # their mean
    map50: float  # COCO's AP at IoU 0.5, averaged over classes (`localization.mean_average_precision`)
    map: float  # COCO's AP@[.5:.95]

    def worst_first(self, y_true: np.ndarray) -> np.ndarray:
        """Test picture indices, worst first: the wrong classes (lowest IoU first), then the right
        ones by IoU, lowest first. `y_true`: the test split's true classes."""
        return np.lexsort((self.ious, self.predictions == np.asarray(y_true)))


def evaluate(model: keras.Model, dataset: BoxDataset, *, batch_size: int = 256) -> BoxEvaluation:
    """The class head's test loss, accuracy and confusion matrix (`training.evaluate`), and each
    test picture's predicted box, its IoU with the true box, the mean IoU and COCO's mean average
    precision at IoU 0.5 and over 0.5 to 0.95 (scores: the predicted class's probability)."""
    from cnnviz import training

    check_dataset(dataset)
    probabilities, boxes = predict(model, dataset.x_test, batch_size=batch_size)
    classes = training.evaluation_of(probabilities, dataset.y_test, dataset.num_classes)
    truth = np.asarray(dataset.boxes_test, dtype=np.float64)
    ious = localization.iou(truth, boxes)
    arrays = (truth, dataset.y_test, boxes, classes.predictions, classes.confidences)
    return BoxEvaluation(
        **classes.__dict__,
        boxes=boxes,
        ious=ious,
        mean_iou=float(ious.mean()),
        map50=localization.mean_average_precision(*arrays),
        map=localization.coco_ap(*arrays),
    )
