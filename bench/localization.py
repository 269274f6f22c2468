"""Where is it? The two-headed network on the bundled pictures with boxes, with the app's default
settings (`cnnviz.jobs.default_setup`): trained by the worker's own functions in this process
(`jobs.job_model`, `box_model.train`, `box_model.evaluate`), then measured on the held-out pictures:

- loc_map50: COCO's mean average precision at IoU 0.5 (goal >= 0.9);
- loc_mean_iou: the mean IoU of the predicted boxes with the true ones (goal >= 0.7);
- loc_train_s: seconds of `fit` (goal <= 60 on the 2-core development machine); the load average
  before and after, and the processor seconds the training took, say how busy the machine was;
- loc_cam_in_box_rate: of the correctly classified test pictures (up to CAM_PICTURES of them, a fixed
  random choice), the share whose Grad-CAM peak (class head, last convolution) falls inside the true box.

Run: python bench/localization.py [dataset]   (mnist-boxes by default; prints tables, then RESULT lines)
"""

from __future__ import annotations

import os
import resource
import sys
import time

import numpy as np
from common import table

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cnnviz import box_data, box_model, cam, jobs, localization
from cnnviz.blocks import summarize
from cnnviz.estimates import estimate_time
from cnnviz.localization import LossWeights
from cnnviz.training import TrainJob

CAM_PICTURES = 500
SEED = 0


def processor_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cam_in_box_rate(model, data, evaluation) -> tuple[float, int]:
    """The share of correctly classified test pictures whose Grad-CAM peak is inside the true box."""
    classes = box_model.head(model, "class")
    right = np.flatnonzero(evaluation.predictions == data.y_test)
    chosen = np.random.default_rng(SEED).permutation(right)[:CAM_PICTURES]
    height, width = data.input_shape[:2]
    boxes = box_data.to_pixels(data.boxes_test[chosen], (height, width))
    inside = 0
    for index, box in zip(chosen, boxes, strict=True):
        heat = cam.grad_cam(classes, data.x_test[index], class_index=int(evaluation.predictions[index]))
        inside += localization.peak_in_box(heat, box)
    return inside / max(len(chosen), 1), len(chosen)


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "mnist-boxes"
    preset, config = jobs.default_setup(name)
    weights = LossWeights()
    load_before = os.getloadavg()[0]
    data = box_data.load(name)
    from cnnviz import models

    job = TrainJob(name, tuple(models.preset(preset, data.input_shape)), config, boxes=weights)
    model, data = jobs.job_model(job, data)
    cpu = processor_seconds()
    result = box_model.train(model, data, config, weights)
    cpu = processor_seconds() - cpu
    load_after = os.getloadavg()[0]
    started = time.monotonic()
    evaluation = box_model.evaluate(model, data)
    evaluate_s = time.monotonic() - started
    arrays = (data.boxes_test, data.y_test, evaluation.boxes, evaluation.predictions, evaluation.confidences)
    ap50 = localization.average_precisions(*arrays, num_classes=data.num_classes)
    curves = [localization.precision_recall(*arrays, class_index=k, iou_threshold=0.5) for k in range(data.num_classes)]
    print(
        f"{data.description}\n{len(data.y_train):,} training pictures ({config.validation_split:.0%} for validation), "
        f"{len(data.y_test):,} held out. Preset {preset} ({model.count_params():,} parameters), {config.epochs} "
        f"epochs, batch {config.batch_size}, {config.optimizer} at {config.learning_rate:g}, loss weights "
        f"{weights.class_weight} (class) / {weights.box_weight} (box).\n"
    )
    rows = []
    for k, label in enumerate(data.class_names):
        mine = data.y_test == k
        rows.append(
            [
                label,
                int(mine.sum()),
                float((evaluation.predictions[mine] == k).mean()),
                float(evaluation.ious[mine].mean()),
                float(ap50[k]),
                curves[k].eleven_point_ap,
            ]
        )
    rows.append(
        [
            "all",
            len(data.y_test),
            evaluation.test_accuracy,
            evaluation.mean_iou,
            evaluation.map50,
            float(np.mean([c.eleven_point_ap for c in curves if c.true_count])),
        ]
    )
    print("Held-out pictures, per class:")
    print(table(["class", "pictures", "accuracy", "mean IoU", "AP@0.5", "11-point AP@0.5"], rows))
    history = result.history
    print("\nPer epoch (validation pictures):")
    print(
        table(
            ["epoch", "loss", "class loss", "box loss", "val accuracy", "val mean IoU"],
            [
                [
                    i + 1,
                    history["val_loss"][i],
                    history["val_class_loss"][i],
                    history["val_box_loss"][i],
                    history["val_accuracy"][i],
                    history["val_mean_iou"][i],
                ]
                for i in range(result.epochs_run)
            ],
        )
    )
    rate, counted = cam_in_box_rate(model, data, evaluation)
    # What the project's cost model, fitted on the idle machine, expects of these epochs (the heads aside).
    rows = summarize(list(job.blocks), data.input_shape, data.num_classes)
    expected = estimate_time(rows, train_images=len(data.y_train), test_images=0, config=config)
    idle_fit_s = expected.first_epoch_s + expected.epoch_s * (config.epochs - 1)
    print(
        f"\n{result.status}: {result.message} Processor time {cpu:.0f} s on {os.cpu_count()} cores; load average "
        f"{load_before:.1f} before, {load_after:.1f} after (the cost model expects {idle_fit_s:.0f} s of fit on the "
        f"idle machine). Evaluation {evaluate_s:.1f} s. COCO AP@[.5:.95] "
        f"{evaluation.map:.3f}. Grad-CAM peak inside the true box on {rate:.1%} of {counted} correctly classified "
        "test pictures."
    )
    print()
    print(f"RESULT loc_map50 {evaluation.map50:.4f}")
    print(f"RESULT loc_mean_iou {evaluation.mean_iou:.4f}")
    print(f"RESULT loc_train_s {result.train_seconds:.1f}")
    print(f"RESULT loc_cam_in_box_rate {rate:.4f}")
    print(f"RESULT loc_map {evaluation.map:.4f}")
    print(f"RESULT loc_train_cpu_s {cpu:.1f}")
    print(f"RESULT loc_load_average {max(load_before, load_after):.1f}")


if __name__ == "__main__":
    main()
