"""cnnviz.training, the exported script and the command line: real runs on bundled data."""

import subprocess
import sys

import numpy as np
import pytest

from cnnviz import datasets, jobs, models, training
from cnnviz.export import save_npz, training_script
from cnnviz.training import RunState, TrainJob
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def mnist():
    return datasets.mnist_bundled()


def model_for(data, preset="mnist-cnn", **options):
    return models.build_model(models.preset(preset, data.input_shape), data.input_shape, data.num_classes, **options)


def test_short_run_learns_real_digits(tf, mnist):
    events = []
    model = model_for(mnist)
    config = training.TrainConfig(epochs=3, batch_size=32, validation_split=0.1)
    result = training.train(model, mnist, config, on_event=events.append)
    assert result.status == RunState.DONE and result.epochs_run == 3
    evaluation = training.evaluate(model, mnist)
    assert evaluation.test_accuracy >= 0.92  # three epochs on 7,200 real digits: measured 0.93-0.97
    assert evaluation.confusion.sum() == 2000
    assert evaluation.per_class_accuracy.min() > 0.7
    epochs = [e for e in events if e["kind"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3] and "val_accuracy" in epochs[0]
    batches = [e for e in events if e["kind"] == "batch"]
    assert batches and all(np.isfinite(b["loss"]) for b in batches)
    assert len(batches) < 3 * 225  # throttled: not one point per batch


def test_stop_keeps_what_was_learned(tf, mnist, tmp_path):
    model = model_for(mnist)
    points = []
    result = training.train(
        model,
        mnist,
        training.TrainConfig(epochs=5),
        on_event=points.append,
        # Asked to stop once a curve point says 50 batches have trained: counted in batches, not in
        # points (a point comes every 0.25 s, and a busy machine trained 11 batches in three, too few).
        should_stop=lambda: any(point["kind"] == "batch" and point["step"] >= 50 for point in points),
        checkpoint_dir=tmp_path,
    )
    assert result.status == "stopped" and result.epochs_run <= 1
    assert training.evaluate(model, mnist).test_accuracy > 0.5  # what it learned so far is kept


def test_divergence_stops_with_advice_naming_the_epoch_the_curves_end_at(tf, mnist):
    events = []
    config = training.TrainConfig(epochs=3, learning_rate=10.0)
    result = training.train(model_for(mnist), mnist, config, on_event=events.append)
    assert result.status == "diverged"
    assert "learning rate 10 times smaller" in result.message and "The training loss became" in result.message
    drawn = [event["epoch"] for event in events if event["kind"] == "epoch"]
    if drawn:  # the message names the last epoch on the curves
        assert f"epoch {drawn[-1]}, the last point on the curves" in result.message, (drawn, result.message)
    else:
        assert "in the first epoch, before any point on the curves" in result.message, result.message


def quadrant_pictures(per_class: int, *, wrong=()) -> datasets.Dataset:
    """28x28 pictures of four classes: a bright quadrant (class k lights quadrant k). The pictures at
    `wrong` light the next class's quadrant but keep their label."""
    y = np.repeat(np.arange(4), per_class)
    x = np.zeros((len(y), 28, 28, 1), np.uint8)
    for i, label in enumerate(y):
        shown = (label + 1) % 4 if i in set(wrong) else label
        x[i, (shown // 2) * 14 : (shown // 2) * 14 + 14, (shown % 2) * 14 : (shown % 2) * 14 + 14] = 255
    return datasets.Dataset("quadrants", x, y, x[:4], y[:4], ("a", "b", "c", "d"))


def test_a_rising_validation_loss_is_overfitting_not_divergence(tf):
    """The training loss falls to nothing while the validation loss (on 8 pictures drawn as another class)
    climbs far past where a training loss would count as diverged: the run ends as trained, and says it
    overfitted and what early stopping does (the validation loss must never be read as the training's)."""
    from cnnviz.dataset_base import split_indices

    config = training.TrainConfig(epochs=30, batch_size=8, learning_rate=1e-2, validation_split=0.1)
    labels = np.repeat(np.arange(4), 20)
    _, held = split_indices(labels, fraction=config.validation_split, seed=config.seed)
    assert len(held) == 8 and set(np.bincount(labels[held])) == {2}  # 2 of each class, not 0.1 of 20
    data = quadrant_pictures(20, wrong=held)
    events = []
    result = training.train(model_for(data, "dense-only"), data, config, on_event=events.append)
    assert result.status == RunState.DONE, result.message
    losses, val_losses = result.history["loss"], result.history["val_loss"]
    assert losses[-1] < 0.05 and max(val_losses) > 4 * np.log(4) + 2  # beyond the divergence line
    assert "Overfitting: the validation loss on its 8 validation pictures was lowest at epoch" in result.message
    assert "Early stopping" in result.message
    found = training.overfitting(losses, val_losses)
    assert found.best_epoch == int(np.argmin(val_losses)) + 1 and found.last_epoch == 30


def test_overfitting_known_answers():
    assert training.overfitting([1.0, 0.5, 0.3, 0.2, 0.1], [0.9, 0.6, 0.7, 0.8, 0.9]) == training.Overfitting(
        2, 0.6, 5, 0.9, 0.5, 0.1
    )
    assert training.overfitting([1.0, 0.5, 0.3, 0.2], [0.9, 0.6, 0.5, 0.45]) is None  # still improving
    assert training.overfitting([1.0, 0.5, 0.3, 0.2, 0.1], [0.9, 0.6, 0.61, 0.6, 0.62]) is None  # flat, not rising
    assert training.overfitting([1.0, 0.5, 0.3, 0.4, 0.6], [0.9, 0.6, 0.7, 0.8, 0.9]) is None  # training rose too
    assert training.overfitting([1.0, 0.5], [0.9, 2.0]) is None  # too short to tell


def test_time_limit_and_target(tf):
    shapes = datasets.shapes(count=400)
    result = training.train(model_for(shapes, "tinyvgg"), shapes, training.TrainConfig(epochs=200, time_limit_s=2))
    assert result.status == "timed_out" and result.epochs_run < 200
    easy = training.TrainConfig(epochs=50, target_accuracy=0.3, learning_rate=3e-3)
    result = training.train(model_for(shapes, "tinyvgg"), shapes, easy)
    assert result.status == "target_reached" and result.epochs_run < 50


def test_checkpoints_every_epoch(tf, tmp_path):
    shapes = datasets.shapes(count=200)
    events = []
    training.train(
        model_for(shapes, "tinyvgg"),
        shapes,
        training.TrainConfig(epochs=2),
        on_event=events.append,
        checkpoint_dir=tmp_path,
    )
    # Epoch 0 too: the network before training, so that the epoch scrubbers start from chance.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_000.keras", "epoch_001.keras", "epoch_002.keras"]
    assert [e["epoch"] for e in events if e["kind"] == "checkpoint"] == [0, 1, 2]


def test_validation_pictures_are_held_out_per_class(tf):
    """The validation split takes its share of every class (at least 2 each where a class can spare a
    third), not the last part of the array: here the last 10 pictures are all of class d, so Keras's
    own split would never train on d and validate on d alone (accuracy 0)."""
    from cnnviz.dataset_base import held_out_counts

    data = quadrant_pictures(30)
    keep = np.r_[0:90, 90:100]  # 30 each of a, b, c, then 10 of d, last
    data = datasets.Dataset(
        "quadrants", data.x_train[keep], data.y_train[keep], data.x_test, data.y_test, data.class_names
    )
    assert held_out_counts(data.y_train, 0.1).tolist() == [3, 3, 3, 2]
    config = training.TrainConfig(epochs=15, batch_size=16, learning_rate=3e-3, validation_split=0.1)
    result = training.train(model_for(data, "dense-only"), data, config)
    assert result.history["val_accuracy"][-1] > 0.9  # d was trained on, and validated with the others


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"learning_rate": float("nan")}, "Learning rate"),
        ({"optimizer": "adagrad"}, "adagrad"),
        ({"batch_size": 0}, "Batch size"),
        ({"validation_split": 0.0, "early_stopping_patience": 2}, "validation split"),
        ({"augmentation": models.Augmentation(rotation=400)}, "rotation"),
    ],
)
def test_bad_settings_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        training.TrainConfig(**change).validate()


def test_batches_give_every_picture_once_an_epoch_with_its_targets_reshuffled(tf):
    """training.batches, what `fit` trains on: each epoch every picture once, in batches of the size
    asked (the last smaller), with its own targets (one array, or one per head), in a new order each
    epoch and the same orders for the same seed."""
    x = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
    targets = {"output": np.arange(10) * 10, "box": np.arange(40, dtype=np.float32).reshape(10, 4)}
    pipeline = training.batches(x, targets, 4, seed=3)

    def epoch(data):
        return [(np.asarray(a), tf.nest.map_structure(np.asarray, b)) for a, b in data]

    first, second = epoch(pipeline), epoch(pipeline)
    assert [len(a) for a, _ in first] == [4, 4, 2]
    for batches in (first, second):
        seen = np.concatenate([a.ravel() for a, _ in batches])
        assert sorted(seen) == list(range(10))
        for a, b in batches:
            np.testing.assert_array_equal(b["output"], a.ravel().astype(int) * 10)
            np.testing.assert_array_equal(b["box"], targets["box"][a.ravel()])
    order = [np.concatenate([a.ravel() for a, _ in batches]).tolist() for batches in (first, second)]
    assert order[0] != order[1]
    again = training.batches(x, targets, 4, seed=3)
    assert [np.concatenate([a.ravel() for a, _ in epoch(again)]).tolist() for _ in range(2)] == order
    [(pictures, labels)] = epoch(training.batches(x, np.arange(10), 10))  # one target array, one batch
    np.testing.assert_array_equal(labels, pictures.ravel())


def test_default_settings_for_bundled_mnist():
    preset, config = jobs.default_setup("mnist-bundled")
    assert preset == "mnist-fast" and config.augmentation.active
    config.validate()


def test_exported_script_runs_and_trains(tmp_path):
    shapes = datasets.shapes(count=120)
    save_npz(shapes, tmp_path / "dataset.npz")
    job = TrainJob(
        "shapes",
        tuple(models.preset("tinyvgg", shapes.input_shape)),
        training.TrainConfig(epochs=1, augmentation=models.Augmentation(rotation=10, flip=True)),
        first_conv_kernels=("sobel x", "sobel y"),
        title="an exported tinyvgg",
    )
    script = training_script(job, input_shape=shapes.input_shape, num_classes=4)
    (tmp_path / "train_cnn.py").write_text(script)
    result = subprocess.run(
        [sys.executable, "train_cnn.py", "--epochs", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test accuracy" in result.stdout and (tmp_path / "model.keras").exists()
    assert "cnnviz" not in script.split('"""', 2)[2].replace("saved by cnnviz", "")  # plain Keras: no cnnviz import


def test_command_line_trains_and_reports(tmp_path):
    out = tmp_path / "model.keras"
    command = [sys.executable, "-m", "cnnviz", "train", "--dataset", "shapes", "--preset", "tinyvgg", "--epochs", "2"]
    result = subprocess.run([*command, "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1].split()
    assert last[:2] == ["RESULT", "test_accuracy"] and 0 <= float(last[2]) <= 1
    assert out.exists()
    bad = subprocess.run([*command[:-2], "--epochs", "0"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "Epochs must be 1 to 500" in bad.stderr


def test_default_model_is_shipped_and_good(tf, mnist):
    import keras

    model = keras.models.load_model(ROOT / "cnnviz" / "data" / "models" / "mnist_default.keras")
    accuracy = training.evaluate(model, mnist).test_accuracy
    assert accuracy >= 0.985


def test_fewer_per_class_keeps_the_test_split_and_is_repeatable():
    shapes = datasets.shapes(count=200)
    few = jobs.fewer_per_class(shapes, 7, seed=1)
    assert np.bincount(few.y_train).tolist() == [7, 7, 7, 7]
    assert few.x_test is shapes.x_test and "7 images per class" in few.notes[-1]
    again = jobs.fewer_per_class(shapes, 7, seed=1)
    np.testing.assert_array_equal(few.x_train, again.x_train)
    with pytest.raises(ValueError, match="per class must be 1"):
        jobs.fewer_per_class(shapes, 0)


def test_fit_to_input_resizes_and_converts_channels():
    import cv2

    shapes = datasets.shapes(count=40)
    colour = jobs.fit_to_input(shapes, (32, 32, 3))
    assert colour.x_train.shape == (len(shapes.x_train), 32, 32, 3) and colour.x_train.dtype == np.uint8
    expected = cv2.resize(shapes.x_train[0], (32, 32), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(colour.x_train[0, :, :, 0], expected)
    np.testing.assert_array_equal(colour.x_train[0, :, :, 0], colour.x_train[0, :, :, 2])
    back = jobs.fit_to_input(colour, (28, 28, 1))
    assert back.x_test.shape[1:] == (28, 28, 1)
    assert jobs.fit_to_input(shapes, (None, None, 1)) is shapes  # a model that takes any size
    with pytest.raises(ValueError, match="MB at that size"):
        many = np.zeros((20_000, 28, 28, 1), np.uint8)
        labels = np.zeros(20_000, np.int64)
        jobs.fit_to_input(datasets.Dataset("many", many, labels, many, labels, ("a", "b")), (224, 224, 3))


def test_a_transfer_job_builds_on_the_shipped_model(tf, tmp_path):
    from cnnviz.predict import DEFAULT_MODEL

    shapes = datasets.shapes(count=200)
    job = TrainJob("shapes", (), training.TrainConfig(epochs=1), base_model=str(DEFAULT_MODEL), train_from="conv2")
    model, data = jobs.job_model(job, shapes)
    assert model.get_layer("base").get_layer("conv2").trainable
    assert not model.get_layer("base").get_layer("conv1").trainable
    assert training.first_conv_filters(model).shape == (3, 3, 1, 32)  # found inside the nested base
    assert data is shapes  # 28x28 gray, as the digits were
    gone = TrainJob("shapes", (), training.TrainConfig(), base_model=str(tmp_path / "missing.keras"))
    with pytest.raises(ValueError, match="no longer on this server"):
        jobs.job_model(gone, shapes)


def test_a_worker_trains_a_transfer_job_and_a_second_one_fine_tunes_it(tf, tmp_path):
    """What a worker runs (cnnviz.runs.run_job), in this process: a frozen transfer run, then a run
    that starts from its saved model and continues it (head kept, conv2 on learning)."""
    from cnnviz import model_files
    from cnnviz.predict import DEFAULT_MODEL
    from cnnviz.runs import run_job

    config = training.TrainConfig(epochs=1, batch_size=32)
    events = []
    job = TrainJob(
        "shapes", (), config, base_model=str(DEFAULT_MODEL), train_per_class=8, dataset_options=(("count", 200),)
    )
    (tmp_path / "a").mkdir()
    run_job(job, tmp_path / "a", events.append, lambda: False)
    result = events[-1]
    assert result["kind"] == "result" and result["status"] == RunState.DONE
    assert result["filters"].shape == (3, 3, 1, 32)  # the base's first layer, shown as learned filters
    first = model_files.load_model_file((tmp_path / "a" / "model.keras").read_bytes())
    assert models.nested_base(first) is not None
    assert not first.get_layer("base").get_layer("conv2").trainable
    second = TrainJob("shapes", (), config, base_model=result["model_path"], train_from="conv2", train_per_class=8)
    model, _ = jobs.job_model(second, datasets.shapes(count=200))
    assert (
        model.get_layer("base").get_layer("conv2").trainable
        and not model.get_layer("base").get_layer("conv1").trainable
    )
    for kept, trained in zip(model.get_weights(), first.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, trained)  # continued: the trained head and base, not a new head


class _Reading:
    """A model whose metrics are read from another thread while `fit` runs: each read gives the next set."""

    def __init__(self, *reads):
        self.reads = list(reads)

    def get_metrics_result(self):
        value = self.reads.pop(0)
        if isinstance(value, Exception):
            raise value
        return value


def test_running_metrics_skip_a_read_across_the_reset_at_an_epochs_start():
    old, reset = {"loss": 0.42, "accuracy": 0.9}, {"loss": 0.0, "accuracy": 0.0}
    assert training.running_metrics(_Reading(old, old)) == old
    # Read across the reset: the old loss, the new zero accuracy, then the loss again is 0 (the 0% spike).
    assert training.running_metrics(_Reading({"loss": 0.42, "accuracy": 0.0}, reset)) is None
    assert training.running_metrics(_Reading(reset, reset)) is None  # no batch counted yet
    assert training.running_metrics(_Reading(ValueError("not built"))) is None  # a model loaded to continue
