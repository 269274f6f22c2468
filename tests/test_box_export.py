"""cnnviz.export for a run that learned boxes: the .npz keeps the boxes (and the worker reads them
back), and the plain-Keras script builds the same two-headed network as cnnviz.box_model, with the
weighted losses, and trains it."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np

from cnnviz import box_data, box_model, models
from cnnviz.export import save_npz, training_script
from cnnviz.localization import LossWeights
from cnnviz.runs import load_job_dataset
from cnnviz.training import TrainConfig, TrainJob


def test_the_npz_keeps_the_boxes_and_the_worker_reads_them(tmp_path):
    data = box_data.shapes_boxes(count=60, seed=2)
    save_npz(data, tmp_path / "boxes.npz")
    job = TrainJob("file", (), TrainConfig(), dataset_file=str(tmp_path / "boxes.npz"), boxes=LossWeights())
    back = load_job_dataset(job)
    assert isinstance(back, box_data.BoxDataset)
    np.testing.assert_array_equal(back.boxes_train, data.boxes_train)
    np.testing.assert_array_equal(back.boxes_test, data.boxes_test)
    np.testing.assert_array_equal(back.x_test, data.x_test)


def test_the_box_script_builds_box_models_network_and_trains(tf, tmp_path, monkeypatch, capsys):
    data = box_data.mnist_boxes(count=200, seed=1)
    save_npz(data, tmp_path / "dataset.npz")
    blocks = models.preset("tinyvgg", data.input_shape)  # ends in Flatten: the heads read the last map
    job = TrainJob(
        "mnist-boxes", tuple(blocks), TrainConfig(epochs=1, batch_size=32), boxes=LossWeights(0.7, 0.3), title="t"
    )
    script = training_script(job, input_shape=data.input_shape, num_classes=data.num_classes)
    assert '"output": 0.7, "box": 0.3' in script and "keras.layers.Flatten" not in script
    (tmp_path / "train_cnn.py").write_text(script)
    spec = importlib.util.spec_from_file_location("take_home_boxes", tmp_path / "train_cnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    theirs = module.build_model()
    ours = box_model.from_blocks(list(blocks), data.input_shape, data.num_classes)
    assert [layer.name for layer in theirs.layers] == [layer.name for layer in ours.layers]
    assert [tuple(o.shape) for o in theirs.outputs] == [tuple(o.shape) for o in ours.outputs]
    assert theirs.count_params() == ours.count_params()
    # Run as `python train_cnn.py --epochs 1` would, in this process (TensorFlow is loaded already).
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["train_cnn.py", "--epochs", "1"])
    module.main()
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and "test mean IoU" in printed
    assert (tmp_path / "model.keras").exists()
    # the learning rate falls to 0 over the run's batches, as box_model.train lets it
    import keras

    schedule = keras.models.load_model(tmp_path / "model.keras").optimizer.learning_rate
    assert "CosineDecay" in script and float(schedule) < 0.01 * job.config.learning_rate
    assert "cnnviz" not in script.split('"""', 2)[2].replace("saved by cnnviz", "")  # plain Keras


def test_a_box_run_is_kept_and_read_back_with_its_boxes(tmp_path):
    """What the store keeps of a run that learned boxes (cnnviz.kept_runs): its job with the loss
    weights, and its evaluation with the predicted boxes, IoUs and APs, rebuilt as a BoxEvaluation."""
    from cnnviz.kept_runs import job_from_json, job_to_json, load_results, save_results
    from cnnviz.store import Store

    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}", data=tmp_path / "data")
    job = TrainJob("mnist-boxes", (), TrainConfig(epochs=2), boxes=LossWeights(0.7, 0.3), title="boxes")
    assert job_from_json(job_to_json(job, store), store) == job
    rng = np.random.default_rng(0)
    evaluation = box_model.BoxEvaluation(
        test_loss=0.5,
        test_accuracy=0.9,
        per_class_accuracy=rng.random(3),
        confusion=rng.integers(0, 9, (3, 3)),
        predictions=rng.integers(0, 3, 20),
        confidences=rng.random(20),
        boxes=rng.random((20, 4)).astype(np.float32),
        ious=rng.random(20),
        mean_iou=0.42,
        map50=0.6,
        map=0.3,
    )
    save_results(tmp_path / "results.npz", evaluation, None)
    back, filters = load_results(tmp_path / "results.npz")
    assert isinstance(back, box_model.BoxEvaluation) and filters is None
    np.testing.assert_array_equal(back.boxes, evaluation.boxes)
    np.testing.assert_array_equal(back.ious, evaluation.ious)
    assert (back.mean_iou, back.map50, back.map) == (0.42, 0.6, 0.3)
