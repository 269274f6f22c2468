"""Your own classes with boxes: what a learner's few boxed pictures teach the two-headed network, with
the app's plan (`cnnviz.own_classes.training_plan("boxes")`) trained in this process as a worker trains
it, and the same plan without the moved copies (`own_classes.BOX_COPIES`) as the baseline.

Pictures: the three drawn shapes (harness/drawn_shapes.py, as a hand draws them) each placed at a
random place and size (16 to 40 pixels) on a black 64x64 picture, boxed exactly; 6 and 10 per class
made (one in five kept back, as the app does), then measured on 50 new pictures per class.

- own_boxes_mean_iou, own_boxes_accuracy: 6 per class, with the copies (the app's default);
- own_boxes_iou_gain: that mean IoU minus the baseline's (the copies' worth);
- own_boxes_train_s: seconds of training (6 per class).

Run: python bench/own_boxes.py   (prints a table, then RESULT lines; about 2 minutes on 2 cores)
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in (HERE, "")] + [HERE]

import numpy as np  # noqa: E402
from common import table  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cnnviz import box_model, images, own_classes  # noqa: E402
from cnnviz.localization import LossWeights, iou  # noqa: E402
from cnnviz.own_classes import OwnClasses  # noqa: E402
from harness.drawn_shapes import SHAPES, draw  # noqa: E402


def placed(per_class: int, seed: int) -> OwnClasses:
    rng = np.random.default_rng(seed)
    own = OwnClasses(kind="boxes")
    for shape in SHAPES:
        own.add_class(shape)
        for index in range(per_class):
            side = int(rng.integers(16, 41))
            x, y = (int(v) for v in rng.integers(0, 64 - side + 1, size=2))
            ground = np.zeros((64, 64), np.uint8)
            ground[y : y + side, x : x + side] = images.resize(draw(shape, rng), size=(side, side))
            own.add(shape, ground)
            own.set_box(shape, index, (x, y, x + side, y + side))
    return own


def measured(own: OwnClasses, test: OwnClasses, *, copies: bool) -> tuple[float, float, float]:
    """(accuracy, mean IoU, seconds of training) of the app's plan on `own`, tested on `test`."""
    import keras

    data = own.to_dataset()
    if not copies:  # the pictures themselves: the part of the training set before the copies
        kept = len(data.y_train) // (1 + own_classes.BOX_COPIES)
        data = replace(
            data, x_train=data.x_train[:kept], y_train=data.y_train[:kept], boxes_train=data.boxes_train[:kept]
        )
    plan = own_classes.training_plan("boxes")
    keras.utils.set_random_seed(0)
    model = box_model.from_blocks(list(plan.blocks), own.input_shape, len(own.class_names))
    start = time.perf_counter()
    box_model.train(model, data, plan.config, LossWeights())
    seconds = time.perf_counter() - start
    x = np.concatenate([test.examples[name] for name in test.class_names])
    y = np.concatenate([np.full(len(test.examples[name]), i) for i, name in enumerate(test.class_names)])
    truth = np.array([box for name in test.class_names for box in test.boxes_of(name)])
    probabilities, boxes = box_model.predict(model, x)
    return float((probabilities.argmax(1) == y).mean()), float(np.mean(iou(boxes * 64, truth * 64))), seconds


def main() -> None:
    test = placed(50, seed=99)
    rows, found = [], {}
    for per_class in (6, 10):
        own = placed(per_class, seed=per_class)
        for copies in (False, True):
            accuracy, mean_iou, seconds = measured(own, test, copies=copies)
            found[per_class, copies] = (accuracy, mean_iou, seconds)
            label = f"{own_classes.BOX_COPIES} moved copies each" if copies else "the pictures only (baseline)"
            rows.append([per_class, label, f"{accuracy:.2f}", f"{mean_iou:.2f}", f"{seconds:.1f}"])
            print(rows[-1], flush=True)
    print("\nYour own classes with boxes: 3 drawn shapes, tested on 50 new pictures of each")
    print(table(["per class", "training set", "accuracy", "mean IoU", "train s"], rows))
    accuracy, mean_iou, seconds = found[6, True]
    print(f"RESULT own_boxes_accuracy {accuracy:.4f}")
    print(f"RESULT own_boxes_mean_iou {mean_iou:.4f}")
    print(f"RESULT own_boxes_iou_gain {mean_iou - found[6, False][1]:.4f}")
    print(f"RESULT own_boxes_train_s {seconds:.2f}")


if __name__ == "__main__":
    main()
