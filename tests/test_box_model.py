"""cnnviz.box_model: the two-headed network's shapes, its weighted losses against a hand computation,
the mean-IoU metric against cnnviz.localization, a short run through the worker's path with both
losses and mean IoU in its curves and boxes in its evaluation; and what a CPU server refuses to train."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cnnviz import box_data, box_model, jobs, localization, models
from cnnviz.dataset_base import Dataset
from cnnviz.errors import InvalidInput
from cnnviz.localization import LossWeights
from cnnviz.training import RunState, TrainConfig, TrainJob

BLOCKS = [
    {"type": "conv", "filters": 8, "kernel": 3, "stride": 2, "padding": "same"},
    {"type": "maxpool", "size": 2},
    {"type": "conv", "filters": 16, "kernel": 3, "padding": "same"},
    {"type": "flatten"},  # left out: the heads read the pooled last map
    {"type": "dense", "units": 8},
]


@pytest.fixture(scope="module")
def small():
    return box_data.mnist_boxes(count=300, seed=1)


@pytest.fixture(scope="module")
def model(tf, small):
    return box_model.from_blocks(BLOCKS, small.input_shape, small.num_classes, seed=0)


def test_two_heads_on_the_pooled_map(model, small):
    names = [layer.name for layer in model.layers]
    assert names[:3] == ["image", "rescale", "conv1"] and "flatten1" not in names and "dense1" not in names
    assert box_model.is_box_model(model) and model.get_layer("pool").output.shape[1:] == (16,)
    probabilities, boxes = model.predict(small.x_test[:5], verbose=0)
    assert probabilities.shape == (5, 10) and boxes.shape == (5, 4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    assert boxes.min() > 0 and boxes.max() < 1  # sigmoid: inside the picture
    where = 16 * 16 * 16  # one weight per place of the 16x16 map and channel
    class_head, box_head = (16 + 1) * 10, (2 * 16 + 1) * 64 + (64 + 1) * 4
    assert model.count_params() == (9 * 1 + 1) * 8 + (9 * 8 + 1) * 16 + class_head + where + box_head
    assert model.get_layer("box").input.shape[1:] == (64,)  # the box head's hidden layer
    assert model.get_layer("box_hidden").input.shape[1:] == (32,)  # the 16 averages and the 16 weighted sums
    classes = box_model.head(model, "class")
    assert classes.outputs[0].shape[1:] == (10,) and classes.get_layer("conv1") is model.get_layer("conv1")
    np.testing.assert_allclose(classes.predict(small.x_test[:5], verbose=0), probabilities, rtol=1e-5)
    assert box_model.head(model, "box").outputs[0].shape[1:] == (4,)
    with pytest.raises(InvalidInput, match="'class' or the 'box'"):
        box_model.head(model, "where")


def test_the_box_head_reads_where_a_feature_is_which_the_average_forgets(model):
    """One feature in the top left corner of the last map, or the same in the bottom right: global
    average pooling gives the class head the same numbers, the 'where' sums give the box head others."""
    corner, opposite = np.zeros((1, 16, 16, 16), np.float32), np.zeros((1, 16, 16, 16), np.float32)
    corner[0, 0, 0, 3] = opposite[0, 15, 15, 3] = 1.0
    pool, where = model.get_layer(box_model.POOL), model.get_layer(box_model.WHERE)
    np.testing.assert_array_equal(np.asarray(pool(corner)), np.asarray(pool(opposite)))
    kernel = np.asarray(where.kernel)  # (16, 16, 16): place and channel
    np.testing.assert_allclose(np.asarray(where(corner))[0, 3], kernel[0, 0, 3], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(where(opposite))[0, 3], kernel[15, 15, 3], rtol=1e-6)
    assert kernel[0, 0, 3] != kernel[15, 15, 3]


def test_a_saved_box_model_passes_the_model_file_check(model, tmp_path):
    """A box run's file (its 'where' layer is Keras's own EinsumDense) loads where model files are
    checked before loading: a kept run after a restart, or the file uploaded to Upload & predict."""
    from cnnviz import model_files

    model.save(tmp_path / "boxes.keras")
    loaded = model_files.load_model_file((tmp_path / "boxes.keras").read_bytes())
    assert box_model.is_box_model(loaded) and loaded.count_params() == model.count_params()


def test_the_loss_is_the_weighted_sum_of_crossentropy_and_squared_error(model, small):
    config = TrainConfig(learning_rate=1e-3)
    box_model.compile_box_model(model, config, LossWeights(0.7, 0.3))
    x, y, truth = small.x_test[:32], small.y_test[:32], small.boxes_test[:32]
    probabilities, boxes = model.predict(x, verbose=0)
    crossentropy = -np.log(probabilities[np.arange(len(y)), y]).mean()
    squared = ((boxes - truth) ** 2).mean()
    results = model.evaluate(x, {"output": y, "box": truth}, verbose=0, return_dict=True)
    assert results["output_loss"] == pytest.approx(crossentropy, rel=1e-4)
    assert results["box_loss"] == pytest.approx(squared, rel=1e-4)
    assert results["loss"] == pytest.approx(0.7 * crossentropy + 0.3 * squared, rel=1e-4)
    ordered = np.sort(boxes.reshape(-1, 2, 2), axis=1).reshape(-1, 4)  # (min x, min y, max x, max y)
    assert results["box_mean_iou"] == pytest.approx(localization.iou(truth, ordered).mean(), rel=1e-4)


def test_the_mean_iou_metric_is_localizations_iou(tf):
    rng = np.random.default_rng(0)
    truth = np.sort(rng.random((50, 2, 2)), axis=1).reshape(50, 4)  # (min x, min y, max x, max y)
    guess = rng.random((50, 4))  # any order, as a sigmoid head gives them
    ordered = np.stack(
        [
            np.minimum(guess[:, 0], guess[:, 2]),
            np.minimum(guess[:, 1], guess[:, 3]),
            np.maximum(guess[:, 0], guess[:, 2]),
            np.maximum(guess[:, 1], guess[:, 3]),
        ],
        axis=1,
    )
    ours = np.asarray(box_model.box_iou(truth.astype(np.float32), guess.astype(np.float32)))
    np.testing.assert_allclose(ours, localization.iou(truth, ordered), atol=1e-5)


def test_predict_gives_ordered_boxes(model, small):
    probabilities, boxes = box_model.predict(model, small.x_test[:20])
    assert probabilities.shape == (20, 10) and boxes.dtype == np.float32
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()


def test_a_short_run_through_the_workers_path(tf, small, tmp_path, monkeypatch):
    """runs.run_job, in this process: the job's blocks get two heads, both losses and the mean IoU
    reach the curves under the names the Trainer reads, and the evaluation holds the test boxes."""
    from cnnviz import runs

    monkeypatch.setattr(runs, "load_job_dataset", lambda job: small)
    config = TrainConfig(epochs=2, batch_size=32, learning_rate=3e-3, validation_split=0.2)
    job = TrainJob("mnist-boxes", tuple(BLOCKS), config, boxes=LossWeights(0.5, 0.5))
    events = []
    runs.run_job(job, Path(tmp_path), events.append, lambda: False)
    epochs = [e for e in events if e["kind"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    for key in ("loss", "class_loss", "box_loss", "accuracy", "mean_iou"):
        assert np.isfinite(epochs[-1][key]) and np.isfinite(epochs[-1][f"val_{key}"]), key
    assert epochs[-1]["loss"] == pytest.approx(0.5 * epochs[-1]["class_loss"] + 0.5 * epochs[-1]["box_loss"], 1e-3)
    batches = [e for e in events if e["kind"] == "batch"]
    assert all(np.isfinite(b["accuracy"]) for b in batches)
    (result,) = [e for e in events if e["kind"] == "result"]
    assert result["status"] == RunState.DONE
    evaluation = result["evaluation"]
    assert isinstance(evaluation, box_model.BoxEvaluation) and evaluation.boxes.shape == (len(small.y_test), 4)
    np.testing.assert_allclose(evaluation.ious, localization.iou(small.boxes_test, evaluation.boxes))
    assert evaluation.mean_iou == pytest.approx(evaluation.ious.mean())
    arrays = (small.boxes_test, small.y_test, evaluation.boxes, evaluation.predictions, evaluation.confidences)
    assert evaluation.map50 == localization.mean_average_precision(*arrays)
    assert evaluation.map == localization.coco_ap(*arrays)
    order = evaluation.worst_first(small.y_test)
    right = evaluation.predictions[order] == small.y_test[order]
    assert (np.diff(right.astype(int)) >= 0).all()  # the wrong classes first
    import keras

    saved = keras.models.load_model(result["model_path"], compile=False)
    assert box_model.is_box_model(saved)


def test_heads_on_a_trained_base(tf, small, tiny_model):
    resized = jobs.fit_to_input(small, (8, 8, 1))
    model = box_model.from_base(tiny_model, small.num_classes)
    assert box_model.is_box_model(model) and not model.get_layer("base").trainable_weights
    learning = {w.path: tuple(w.shape) for w in model.trainable_weights}  # the heads only: the base is frozen
    # the base's last map is 3x3x4: 'where' has a weight per place and channel, the box head reads 4 + 4
    assert sorted(learning.values()) == [(3, 3, 4), (4,), (4, 10), (8, 64), (10,), (64,), (64, 4)]
    plain = box_model.from_base(tiny_model, small.num_classes, box_hidden=0)  # the tutorial's single Dense(4)
    assert sorted(tuple(w.shape) for w in plain.trainable_weights) == [(3, 3, 4), (4,), (4, 10), (8, 4), (10,)]
    _, boxes = box_model.predict(model, resized.x_test[:3])
    assert boxes.shape == (3, 4)


def test_what_a_box_run_refuses(model, small):
    with pytest.raises(InvalidInput, match="Augmentation moves"):
        box_model.train(model, small, TrainConfig(augmentation=models.Augmentation(shift=0.1)))
    digits = Dataset("digits", small.x_train, small.y_train, small.x_test, small.y_test, small.class_names)
    with pytest.raises(InvalidInput, match="digits has no boxes"):
        box_model.train(model, digits, TrainConfig())
    with pytest.raises(InvalidInput, match="box weight"):
        box_model.compile_box_model(model, TrainConfig(), LossWeights(box_weight=float("nan")))


def test_a_few_pictures_per_class_keep_their_boxes(small):
    fewer = jobs.fewer_per_class(small, 3)
    assert len(fewer.y_train) == 30 and fewer.boxes_train.shape == (30, 4)
    for picture, box in zip(fewer.x_train, fewer.boxes_train, strict=True):
        index = next(i for i, x in enumerate(small.x_train) if np.array_equal(x, picture))
        np.testing.assert_array_equal(small.boxes_train[index], box)


def test_resnet34_is_refused_on_a_cpu_server_saying_what_it_would_take():
    pictures = np.broadcast_to(np.zeros((1, 224, 224, 3), np.uint8), (8000, 224, 224, 3))  # no memory taken
    labels = np.arange(8000) % 10
    data = Dataset("imagenet-like", pictures, labels, pictures[:10], labels[:10], tuple("abcdefghij"))
    job = TrainJob("file", tuple(models.preset("resnet-34", (224, 224, 3))), TrainConfig())
    with pytest.raises(InvalidInput, match=r"21,306,826 parameters, more than the 5,000,000 .* GPU"):
        jobs.check_trainable(job, data, accelerated=False)
    jobs.check_trainable(job, data, accelerated=True)  # a GPU trains it
    small = TrainJob("file", tuple(models.preset("resnet-mini", (224, 224, 3))), TrainConfig())
    jobs.check_trainable(small, data, accelerated=False)  # resnet-mini stays the one a class trains
