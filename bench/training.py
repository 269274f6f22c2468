"""Trainer benchmarks: throughput of the app's path (worker process, live streaming, checkpoints)
against bare `model.fit`, time from Train to the first curve point, and the default settings'
accuracy on bundled MNIST.

Run: python bench/training.py   (prints tables, then RESULT lines)
"""

from __future__ import annotations

import os
import statistics
import time

from common import table

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cnnviz import datasets, jobs, models, training
from cnnviz.runs import RunManager
from cnnviz.training import TrainJob

EPOCHS = 3


def wait_done(run, timeout=600):
    deadline = time.monotonic() + timeout
    while not run.done:
        if time.monotonic() > deadline:
            raise TimeoutError(run.label)
        time.sleep(0.05)


def bare_fit_seconds(data, blocks, config) -> float:
    """`model.fit` as a tutorial writes it: no callbacks, no streaming, no checkpoints."""
    model = models.build_model(blocks, data.input_shape, data.num_classes, seed=config.seed)
    training.compile_model(model, config)
    start = time.monotonic()
    model.fit(data.x_train, data.y_train, batch_size=config.batch_size, epochs=config.epochs, verbose=0)
    return time.monotonic() - start


def main() -> None:
    data = datasets.mnist_bundled()
    blocks = models.preset("mnist-cnn", data.input_shape)
    config = training.TrainConfig(epochs=EPOCHS, batch_size=64, validation_split=0.0)
    manager = RunManager(max_active=1, spares=1)
    try:
        while not any(w.ready for w in manager._workers):
            time.sleep(0.1)

        rows, bare, app = [], [], []
        for attempt in range(3):
            bare.append(bare_fit_seconds(data, blocks, config))
            run = manager.submit("bench", TrainJob("mnist-bundled", tuple(blocks), config, title="throughput"))
            wait_done(run)
            app.append(run.train_seconds)
            images = len(data.x_train) * EPOCHS
            rows.append([attempt + 1, bare[-1], images / bare[-1], app[-1], images / app[-1], bare[-1] / app[-1]])
        print(f"Throughput: mnist-cnn on bundled MNIST, {EPOCHS} epochs of 8,000 images, batch 64")
        print(table(["try", "bare fit s", "bare img/s", "app s", "app img/s", "app/bare"], rows))
        ratio = min(bare) / min(app)

        first_points = []
        for _ in range(3):
            while not any(w.ready and w.run_id is None for w in manager._workers):
                time.sleep(0.1)
            run = manager.submit("bench", TrainJob("mnist-bundled", tuple(blocks), config, title="first point"))
            while run.first_point is None and not run.done:
                time.sleep(0.01)
            first_points.append(run.first_point)
            manager.stop(run.id, "bench")
            wait_done(run)
        print("\nFrom Train (submit) to the first curve point, a warm worker waiting:")
        print(table(["try", "seconds"], [[i + 1, s] for i, s in enumerate(first_points)]))

        preset, defaults = jobs.default_setup("mnist-bundled")
        job = TrainJob("mnist-bundled", tuple(models.preset(preset, data.input_shape)), defaults, title="default")
        run = manager.submit("bench", job)
        wait_done(run, timeout=900)
        print(
            f"\nDefault settings on bundled MNIST ({preset}, {defaults.epochs} epochs, batch {defaults.batch_size}, "
            f"lr {defaults.learning_rate:g}, augmentation {defaults.augmentation}):"
        )
        print(
            table(
                ["status", "train s", "test accuracy", "test loss"],
                [[run.state, run.train_seconds, run.evaluation.test_accuracy, run.evaluation.test_loss]],
            )
        )
    finally:
        manager.shutdown()
    print()
    print(f"RESULT stream_throughput_ratio {ratio:.3f}")
    print(f"RESULT first_point_s {statistics.median(first_points):.2f}")
    print(f"RESULT mnist_bundled_accuracy {run.evaluation.test_accuracy:.4f}")
    print(f"RESULT mnist_bundled_train_s {run.train_seconds:.1f}")


if __name__ == "__main__":
    main()
