"""The lessons that train, run as a learner runs them here: through the app's run manager (worker
processes, two runs at once), with the settings the lesson steps set, side by side where a step
trains two networks together. Prints each lesson's training time and the figure it teaches.

  3. Why convolution? A dense-only network against a small CNN on bundled MNIST, trained together;
     then overfitting: a CNN trained long on 50 bundled digits per class.
  5. Real photos: augmentation off against on, on a zip of class folders made here from the bundled
     shapes drawn as colour pictures (offline), trained together.
  6. Transfer learning: the shipped MNIST model's convolutional base, frozen, with a new head, against
     the same network from scratch, on 30 shapes per class, trained together; then fine-tuning the
     frozen run (its head kept) from conv2 on with a low learning rate.

Run: python bench/lessons.py   (tables, then RESULT lines)
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from dataclasses import dataclass

import numpy as np
from common import table

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cnnviz import datasets, image_folders, images, models
from cnnviz.export import save_npz
from cnnviz.predict import DEFAULT_MODEL
from cnnviz.runs import RunManager
from cnnviz.training import TrainConfig, TrainJob

OWNER = "bench-lessons"
DENSE_CNN = "3 dense-only vs mnist-cnn (bundled MNIST)"
OVERFIT = "3 overfitting: 50 digits per class, 30 epochs"
AUGMENTATION = "5 augmentation off vs on (zip of 400 colour shapes, 48 px)"
TRANSFER = "6 transfer (frozen) vs scratch, 30 shapes per class"
FINE_TUNING = "6 fine-tuning the frozen run from conv2, lr 0.0003"


@dataclass(frozen=True)
class Lesson:
    """One step that trains: its runs start together (as 'Train both' starts them)."""

    name: str
    jobs: tuple[TrainJob, ...]
    settings: str  # what the step sets, as the lead writes it into the step's URL


def colour_shapes_zip(*, per_class: int = 60, size: int = 64, seed: int = 0) -> bytes:
    """A zip of class folders (circle/, square/, ...) of colour PNGs: the bundled shapes, each drawn in a
    random colour on a random dark background, as a learner's own photos would arrive."""
    shapes = datasets.shapes(size=size, count=per_class * len(datasets.SHAPES), noise=0.05, seed=seed)
    rng = np.random.default_rng(seed)
    x = np.concatenate([shapes.x_train, shapes.x_test])[..., 0].astype(np.float32) / 255
    y = np.concatenate([shapes.y_train, shapes.y_test])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i, (outline, label) in enumerate(zip(x, y, strict=True)):
            ink, paper = rng.uniform(120, 255, 3), rng.uniform(0, 90, 3)
            picture = (paper + outline[..., None] * (ink - paper)).clip(0, 255).astype(np.uint8)
            archive.writestr(f"{datasets.SHAPES[label]}/{i:04d}.png", images.encode_png(picture))
    return buffer.getvalue()


def lessons(workdir) -> list[Lesson]:
    mnist = datasets.mnist_bundled()
    plain = TrainConfig(epochs=5, batch_size=64, learning_rate=1e-3)  # aug off, validation 0.1
    dense_cnn = Lesson(
        DENSE_CNN,
        (
            TrainJob("mnist-bundled", tuple(models.preset("dense-only", mnist.input_shape)), plain, title="dense-only"),
            TrainJob("mnist-bundled", tuple(models.preset("mnist-cnn", mnist.input_shape)), plain, title="mnist-cnn"),
        ),
        "dataset=mnist-bundled preset=dense-only vs=mnist-cnn epochs=5 lr=0.001 batch=64 aug=0",
    )
    long = TrainConfig(epochs=30, batch_size=32, learning_rate=1e-3, validation_split=0.2)
    overfit = Lesson(
        "3 overfitting: 50 digits per class, 30 epochs",
        (
            TrainJob(
                "mnist-bundled",
                tuple(models.preset("fashion-cnn", mnist.input_shape)),
                long,
                train_per_class=50,
                title="long",
            ),
        ),
        "dataset=mnist-bundled preset=fashion-cnn per_class=50 epochs=30 lr=0.001 batch=32 val=0.2 aug=0",
    )
    folders = image_folders.load_image_folder_zip(colour_shapes_zip(per_class=100), image_size=48)
    path = workdir / "colour_shapes.npz"
    save_npz(folders, path)
    blocks = tuple(models.preset("horses-humans", folders.input_shape))
    off = TrainConfig(epochs=20, batch_size=32, learning_rate=1e-3)
    turned = models.Augmentation(rotation=15, shift=0.1, zoom=0.1, flip=True)
    on = TrainConfig(epochs=20, batch_size=32, learning_rate=1e-3, augmentation=turned)
    augmentation = Lesson(
        AUGMENTATION,
        (
            TrainJob("file", blocks, off, dataset_file=str(path), title="augmentation off"),
            TrainJob("file", blocks, on, dataset_file=str(path), title="augmentation on"),
        ),
        "dataset=upload (the zip, image size 48) preset=horses-humans epochs=20 lr=0.001 batch=32 aug=0 "
        "vs itself with aug=1 (rotation 15, shift 0.1, zoom 0.1, flip)",
    )
    few = TrainConfig(epochs=20, batch_size=16, learning_rate=3e-3)
    scratch_blocks = tuple(models.preset("mnist-fast", (28, 28, 1)))
    transfer = Lesson(
        TRANSFER,
        (
            TrainJob(
                "shapes",
                (),
                few,
                base_model=str(DEFAULT_MODEL),
                train_per_class=30,
                base_input=(28, 28, 1),
                title="transfer, frozen",
            ),
            TrainJob("shapes", scratch_blocks, few, train_per_class=30, title="mnist-fast from scratch"),
        ),
        "dataset=shapes base=shipped from= per_class=30 vs=mnist-fast epochs=20 lr=0.003 batch=16 aug=0",
    )
    return [dense_cnn, overfit, augmentation, transfer]


def fine_tuning(transfer_run) -> Lesson:
    """The step after the frozen transfer run: that run's model, its base learning from conv2 on."""
    tune = TrainConfig(epochs=10, batch_size=16, learning_rate=3e-4)
    job = TrainJob(
        "shapes",
        (),
        tune,
        base_model=transfer_run.model_path,
        train_from="conv2",
        train_per_class=30,
        base_input=(28, 28, 1),
        title="fine-tuning, from conv2",
    )
    return Lesson(
        FINE_TUNING,
        (job,),
        "dataset=shapes base=run:<the frozen run> from=conv2 per_class=30 epochs=10 lr=0.0003 batch=16 aug=0",
    )


def wait(runs, timeout=600) -> None:
    deadline = time.monotonic() + timeout
    while not all(run.done for run in runs):
        if time.monotonic() > deadline:
            raise TimeoutError(", ".join(run.label for run in runs))
        time.sleep(0.1)


def final(run, key: str) -> float:
    return float(run.epochs[-1][key]) if run.epochs and key in run.epochs[-1] else float("nan")


def main() -> None:
    manager = RunManager(max_active=2, spares=1)
    results = {}
    try:
        warm = TrainJob("shapes", tuple(models.preset("tinyvgg", (28, 28, 1))), TrainConfig(epochs=1), title="warm-up")
        wait([manager.submit(OWNER, warm)])  # workers started and Keras imported, as on a server in use
        rows, settings = [], []
        queue = lessons(manager.workdir)
        while queue:
            lesson = queue.pop(0)
            started = time.monotonic()
            runs = [manager.submit(OWNER, job) for job in lesson.jobs]
            wait(runs)
            seconds = time.monotonic() - started
            results[lesson.name] = (runs, seconds)
            for run in runs:
                if not run.state.good:
                    raise RuntimeError(f"{lesson.name}: {run.label} {run.state}: {run.message}")
                best = min(range(len(run.epochs)), key=lambda i: run.epochs[i]["val_loss"]) + 1
                rows.append(
                    [
                        lesson.name,
                        run.job.title,
                        f"{run.params:,}",
                        seconds,
                        final(run, "accuracy"),
                        final(run, "val_accuracy"),
                        run.evaluation.test_accuracy,
                        f"{best} of {len(run.epochs)}",
                    ]
                )
            settings.append([lesson.name, lesson.settings])
            if lesson.name == TRANSFER:
                queue.append(fine_tuning(runs[0]))
    finally:
        manager.shutdown()
    print("Each lesson's runs start together (two train at once on the two cores); time is Train to both done.")
    headers = ["lesson", "run", "params", "lesson s", "train acc", "val acc", "test acc", "best val loss at"]
    print(table(headers, rows))
    print()
    print(table(["lesson", "step settings (URL)"], settings))

    (dense, cnn), _ = results[DENSE_CNN]
    (long,), _ = results[OVERFIT]
    (off, on), _ = results[AUGMENTATION]
    (transfer, scratch), _ = results[TRANSFER]
    (tuned,), _ = results[FINE_TUNING]
    losses = [epoch["val_loss"] for epoch in long.epochs]
    print()
    print(
        f"Overfitting: validation loss lowest at epoch {int(np.argmin(losses)) + 1} ({min(losses):.3f}), "
        f"{losses[-1]:.3f} at epoch {len(losses)}; training accuracy {final(long, 'accuracy'):.3f}, "
        f"validation {final(long, 'val_accuracy'):.3f}."
    )
    gap_off = final(off, "accuracy") - final(off, "val_accuracy")
    gap_on = final(on, "accuracy") - final(on, "val_accuracy")
    print(f"Augmentation: train-validation accuracy gap {gap_off:.3f} off, {gap_on:.3f} on.")
    print()
    print(f"RESULT lesson_max_train_s {max(seconds for _, seconds in results.values()):.1f}")
    print(f"RESULT cnn_minus_dense_accuracy {cnn.evaluation.test_accuracy - dense.evaluation.test_accuracy:.4f}")
    print(f"RESULT cnn_minus_dense_params {cnn.params - dense.params}")
    print(f"RESULT overfit_val_loss_rise {losses[-1] - min(losses):.4f}")
    print(f"RESULT augmentation_gap_off_minus_on {gap_off - gap_on:.4f}")
    print(f"RESULT augmentation_test_on_minus_off {on.evaluation.test_accuracy - off.evaluation.test_accuracy:.4f}")
    print(
        "RESULT transfer_minus_scratch_accuracy "
        f"{transfer.evaluation.test_accuracy - scratch.evaluation.test_accuracy:.4f}"
    )
    tuned_gain = tuned.evaluation.test_accuracy - transfer.evaluation.test_accuracy
    print(f"RESULT finetune_minus_frozen_accuracy {tuned_gain:.4f}")


if __name__ == "__main__":
    main()
