"""The Trainer's architecture editor, time estimate and confusion-matrix picking, in AppTest and
on their own (fast: no training; a run's results are faked where one is needed)."""

from types import SimpleNamespace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app_support.common import charts
from app_support.trainer.runs import _clicked_cell
from cnnviz import estimates, models, training
from cnnviz.blocks import BLOCKS, summarize
from tests.conftest import ROOT
from tests.test_app import until_finished

TIMEOUT = 60
ARCH = "trainer_block_mnist-fast_28x28x1"  # widget keys of the default MNIST architecture's blocks


def trainer() -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "trainer.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def block_widgets(at: AppTest, block_id: int) -> list[str]:
    """The setting names shown for one block (its type selector aside)."""
    prefix = f"{ARCH}_{block_id}_"
    found = [*at.number_input, *at.selectbox]
    return sorted(w.label for w in found if (w.key or "").startswith(prefix) and not w.key.endswith("_type"))


def summary(at: AppTest):
    return next(frame.value for frame in at.dataframe if "how" in frame.value.columns)


def test_editor_shows_only_the_settings_of_each_block_type():
    at = trainer()
    types = [at.selectbox(key=f"{ARCH}_{i}_type").value for i in range(1, 9)]
    assert types == ["conv", "maxpool", "conv", "maxpool", "flatten", "dropout", "dense", "dropout"]
    assert block_widgets(at, 1) == ["activation", "filters", "kernel", "padding", "stride"]
    assert block_widgets(at, 2) == ["size"]
    assert block_widgets(at, 5) == []  # flatten: nothing to set
    assert block_widgets(at, 6) == ["rate"]
    assert block_widgets(at, 7) == ["activation", "units"]
    # Changing a block's type shows the new type's settings only, keeping what they share.
    at.selectbox(key=f"{ARCH}_7_type").set_value("batchnorm").run()
    assert block_widgets(at, 7) == []
    assert "batchnorm1" in summary(at)["layer"].tolist()
    at.selectbox(key=f"{ARCH}_2_type").set_value("avgpool").run()
    assert block_widgets(at, 2) == ["size"]
    assert at.number_input(key=f"{ARCH}_2_avgpool_size").value == 2


def test_editing_a_block_changes_the_summary():
    at = trainer()
    assert summary(at)["parameters"].sum() == 225_034
    at.number_input(key=f"{ARCH}_1_conv_filters").set_value(16).run()
    table = summary(at)
    assert "(3*3*1+1)*16 = 160" in table["how"].tolist()
    assert "(3*3*16+1)*64 = 9280" in table["how"].tolist()
    assert table["parameters"].sum() == 225_034 - 320 - 18_496 + 160 + 9_280
    at.selectbox(key=f"{ARCH}_3_conv_padding").set_value("same").run()
    assert "13x13x64" in summary(at)["output shape"].tolist()


def test_a_bad_value_is_explained_and_a_good_one_recovers():
    at = trainer()
    at.number_input(key=f"{ARCH}_3_conv_kernel").set_value(15).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("Block 3 (conv): a 15x15 kernel does not fit the 13x13 map" in e for e in errors), errors
    assert at.button(key="trainer_train").disabled
    assert not any("how" in frame.value.columns for frame in at.dataframe)  # no summary of a broken network
    at.number_input(key=f"{ARCH}_3_conv_kernel").set_value(5).run()
    assert not at.error
    assert "(5*5*32+1)*64 = 51264" in summary(at)["how"].tolist()
    assert not at.button(key="trainer_train").disabled


def test_add_move_remove_and_reset_blocks():
    at = trainer()
    at.selectbox(key="trainer_add_type").set_value("conv").run()
    at.selectbox(key="trainer_add_position").set_value(2).run()  # after block 2 (the first pool)
    at.button(key="trainer_add").click().run()
    types = [w.value for w in at.selectbox if (w.key or "").endswith("_type") and w.key.startswith(ARCH)]
    assert types == ["conv", "maxpool", "conv", "conv", "maxpool", "flatten", "dropout", "dense", "dropout"]
    assert summary(at)["layer"].tolist()[1:5] == ["conv1", "maxpool1", "conv2", "conv3"]
    at.button(key="trainer_up_mnist-fast_28x28x1_9").click().run()  # the new block (id 9) moves up, above the pool
    layers = summary(at)["layer"].tolist()
    assert layers[1:4] == ["conv1", "conv2", "maxpool1"], layers
    assert summary(at)["output shape"].tolist()[2] == "24x24x32"  # conv 3x3 on 26x26 gives 24x24
    at.button(key="trainer_remove_mnist-fast_28x28x1_9").click().run()
    assert summary(at)["parameters"].sum() == 225_034
    # Removing the flatten block breaks the network; the message names what to do; reset restores it.
    at.button(key="trainer_remove_mnist-fast_28x28x1_5").click().run()
    assert any("Dense needs a flat input" in e.value for e in at.error)
    at.button(key="trainer_reset_blocks").click().run()
    assert not at.error
    assert summary(at)["parameters"].sum() == 225_034


def test_edits_are_kept_per_preset_and_the_blocks_reach_the_job_as_before():
    from app_support.trainer.settings import job_for
    from cnnviz import datasets

    at = trainer()
    at.number_input(key=f"{ARCH}_7_dense_units").set_value(32).run()
    at.selectbox(key="trainer_preset_mnist-bundled").set_value("tinyvgg").run()
    assert "(3*3*10+1)*10 = 910" in summary(at)["how"].tolist()
    at.selectbox(key="trainer_preset_mnist-bundled").set_value("mnist-fast").run()
    assert at.number_input(key=f"{ARCH}_7_dense_units").value == 32  # back: the edit is still there
    arch = at.session_state["trainer_architectures"]["mnist-fast_28x28x1"]
    blocks = [{k: v for k, v in block.items() if k != "id"} for block in arch["blocks"]]
    expected = models.preset("mnist-fast", (28, 28, 1))
    expected[6]["units"] = 32
    assert blocks == expected  # the same dicts as a preset's, only the type's own settings
    job = job_for("digits", datasets.load("digits"), blocks, training.TrainConfig(), (), False)
    assert job.blocks == tuple(expected)


def test_every_setting_explains_itself():
    at = trainer()
    labels = ["Optimizer", "Learning rate", "Batch size", "Epochs", "Validation split"]
    widgets = [*at.selectbox, *at.number_input, *at.slider, *at.select_slider, *at.checkbox]
    for label in [*labels, "Stop at training accuracy (0 = off)", "Early stop patience (0 = off)", "Time limit (s)"]:
        widget = next(w for w in widgets if w.label == label)
        assert widget.help and len(widget.help) > 30, label
    for label in ["Rotation (degrees)", "Shift", "Zoom", "Flip left-right"]:
        assert next(w for w in widgets if w.label == label).help, label
    for kind in BLOCKS.values():
        assert kind.help and all(setting.help for setting in kind.settings)


def test_the_estimate_is_shown_and_follows_the_settings():
    at = trainer()
    text = next(c.value for c in at.caption if c.value.startswith("**Estimated time"))
    assert "for 22 epoch(s)" in text and "2-core server" in text
    at.number_input(key="trainer_epochs_mnist-bundled").set_value(2).run()
    short = next(c.value for c in at.caption if c.value.startswith("**Estimated time"))
    assert "for 2 epoch(s)" in short
    assert _seconds(short) < _seconds(text)


def _seconds(text: str) -> float:
    import re

    number, unit = re.search(r"about ([\d.]+) (s|min)\*\*", text).groups()
    return float(number) * (60 if unit == "min" else 1)


def test_estimate_known_answers():
    rows = summarize(models.preset("mnist-fast", (28, 28, 1)), (28, 28, 1), 10)
    macs, values = estimates.forward_cost(rows)
    # conv1: 26*26 positions * 3*3*1*32 weights; conv2: 11*11 * 3*3*32*64; dense: 1600*128 + 128*10
    assert macs == 26 * 26 * 288 + 11 * 11 * 18_432 + 1600 * 128 + 1280
    assert values == 26 * 26 * 32 + 13 * 13 * 32 + 11 * 11 * 64 + 5 * 5 * 64 + 1600 + 1600 + 128 + 128 + 10
    config = training.TrainConfig(epochs=10, batch_size=64, validation_split=0.1)
    one = estimates.estimate_time(rows, train_images=8000, test_images=2000, config=config)
    # 7,200 images trained in 113 steps and 800 validated in 13: 3 passes' work for each trained one.
    passes, steps = 3 * 7200 + 800, 113 + 13
    epoch = estimates.SECONDS_PER_STEP * steps + estimates.SECONDS_PER_MVALUE * passes * values / 1e6
    assert one.epoch_s == pytest.approx(epoch)
    evaluation = estimates.SECONDS_PER_MVALUE * 2000 * values / 1e6
    assert one.seconds == pytest.approx(estimates.START_S + estimates.FIRST_EPOCH_S + 10 * epoch + evaluation)
    twice = estimates.estimate_time(rows, train_images=8000, test_images=2000, config=config, speed=2.0)
    assert twice.epoch_s == pytest.approx(2 * one.epoch_s)
    # A run that took as long as estimated ran at speed 1; one that took twice as long, at 2.
    assert estimates.measured_speed(one, epochs_run=3, fit_seconds=one.first_epoch_s + 2 * one.epoch_s) == (
        pytest.approx(1.0)
    )
    assert estimates.measured_speed(one, epochs_run=1, fit_seconds=2 * one.first_epoch_s) == pytest.approx(2.0)
    assert estimates.measured_speed(one, epochs_run=0, fit_seconds=5.0) == 1.0


def test_confusion_matrix_names_every_class_and_marks_the_chosen_cell():
    names = tuple(str(d) for d in range(10))
    matrix = np.arange(100).reshape(10, 10)
    figure = charts.confusion(matrix, names, chosen=(3, 7))
    assert figure.layout.xaxis.type == "category" and list(figure.layout.xaxis.tickvals) == list(names)
    assert list(figure.layout.yaxis.ticktext) == list(names)
    assert figure.data[0].showscale is False  # the counts are written in the cells
    clickable = figure.data[1]
    assert len(clickable.x) == 100 and (clickable.y[37], clickable.x[37]) == ("3", "7")
    assert clickable.customdata[37] == 37
    shape = figure.layout.shapes[0]
    assert (shape.x0, shape.x1, shape.y0, shape.y1) == (6.5, 7.5, 2.5, 3.5)


def test_a_click_names_the_cell_by_its_classes():
    names = ("cat", "dog", "7")
    event = {"selection": {"points": [{"x": "7", "y": "dog", "curve_number": 1}]}}
    assert _clicked_cell(event, names) == (1, 2)
    assert _clicked_cell(SimpleNamespace(selection={"points": []}), names) is None
    assert _clicked_cell(None, names) is None
    assert _clicked_cell({"selection": {"points": [{"x": 3, "y": 9}]}}, names) is None


def test_leaving_the_page_and_coming_back_keeps_the_edits():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/trainer.py").run()
    at.number_input(key=f"{ARCH}_1_conv_filters").set_value(16).run()
    at.selectbox(key=f"{ARCH}_7_type").set_value("batchnorm").run()
    assert not at.error
    at.number_input(key="trainer_epochs_mnist-bundled").set_value(3).run()
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/trainer.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.number_input(key=f"{ARCH}_1_conv_filters").value == 16
    assert at.selectbox(key=f"{ARCH}_7_type").value == "batchnorm"
    assert "batchnorm1" in summary(at)["layer"].tolist()
    assert at.number_input(key="trainer_epochs_mnist-bundled").value == 3


def test_after_a_run_the_estimate_uses_its_speed_and_the_lists_pick_images():
    at = trainer()
    at.selectbox(key="trainer_dataset").set_value("shapes").run()
    at.number_input(key="trainer_epochs_shapes").set_value(1).run()
    at.button(key="trainer_train").click().run()
    until_finished(at)
    text = next(c.value for c in at.caption if c.value.startswith("**Estimated time"))
    assert "from the speed Run 1 trained at on this server" in text, text
    assert any("Why can validation accuracy be above training accuracy" in c.value for c in at.caption)
    # The lists start on the most frequent mistake; choosing the diagonal shows the right answers.
    run_id = at.selectbox(key="trainer_run").value
    true = at.selectbox(key=f"true_{run_id}")
    assert true.value != at.selectbox(key=f"pred_{run_id}").value  # off the diagonal, even for a perfect model
    at.selectbox(key=f"pred_{run_id}").set_value(true.value).run()
    assert not at.exception
    assert at.session_state[f"cm_lists_{run_id}"] == 1  # a fresh chart, so a click on any cell counts again


def opened(**params) -> AppTest:
    """The Trainer opened from a link with these URL settings."""
    at = AppTest.from_file(str(ROOT / "pages" / "trainer.py"), default_timeout=TIMEOUT)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_a_link_opens_the_trainer_as_it_says_and_honours_locks():
    at = opened(
        dataset="shapes",
        preset="dense-only",
        vs="mnist-fast",
        epochs="7",
        lr="0.0005",
        aug="1",
        fix="epochs",
        hide="vs",
    )
    assert at.selectbox(key="trainer_dataset").value == "shapes"
    assert at.selectbox(key="trainer_preset_shapes").value == "dense-only"
    assert summary(at)["layer"].tolist() == ["input", "flatten1", "dense1", "output"]
    epochs = at.number_input(key="trainer_epochs_shapes")
    assert epochs.value == 7 and epochs.disabled  # fixed by the teacher: shown, read-only
    assert not at.number_input(key="trainer_lr_shapes").disabled
    assert at.number_input(key="trainer_lr_shapes").value == 0.0005
    assert at.toggle(key="trainer_aug_shapes").value
    assert not [w for w in at.selectbox if w.key == "trainer_vs"]  # hidden, yet it applies:
    assert at.button(key="trainer_train").label == "Train both"
    # A learner's change goes into the URL, so their link opens what they see.
    at.number_input(key="trainer_lr_shapes").set_value(0.002).run()
    assert at.query_params["lr"] == "0.002" and at.query_params["preset"] == "dense-only"


def test_a_bad_link_value_falls_back_to_the_default():
    at = opened(dataset="shapes", preset="no-such-net", batch="7")
    assert at.selectbox(key="trainer_preset_shapes").value == "tinyvgg"  # the default for shapes
    assert at.select_slider(key="trainer_batch_shapes").value == 32


def test_train_both_starts_two_runs_with_the_same_data_and_settings():
    from app_support.common.runs import run_manager

    at = opened(dataset="shapes", preset="dense-only", vs="tinyvgg", epochs="1", per_class="20")
    at.button(key="trainer_train").click().run()
    assert not at.exception
    owner = at.session_state["_cnnviz_owner"]
    runs = run_manager().runs_for(owner)[-2:]
    try:
        assert [run.job.title for run in runs] == ["dense-only, 20 per class", "tinyvgg, 20 per class"]
        assert runs[0].job.blocks == tuple(models.preset("dense-only", (28, 28, 1)))
        assert runs[1].job.blocks == tuple(models.preset("tinyvgg", (28, 28, 1)))
        assert runs[0].job.config == runs[1].job.config and runs[0].job.config.epochs == 1
        assert runs[0].job.train_per_class == runs[1].job.train_per_class == 20
    finally:
        for run in runs:
            run_manager().stop(run.id, owner)


def test_starting_from_the_shipped_model_shows_what_learns():
    from app_support.trainer.settings import job_for
    from cnnviz import datasets
    from cnnviz.predict import DEFAULT_MODEL

    at = opened(dataset="shapes", base="shipped", **{"from": "conv2"})
    assert at.selectbox(key="trainer_train_from").value == "conv2"
    assert at.selectbox(key="trainer_train_from").options[:3] == [
        "none: keep the whole base frozen",
        "conv1 on",
        "maxpool1 on",
    ]
    table = next(frame.value for frame in at.dataframe if "learns" in frame.value.columns)
    learns = dict(zip(table["layer"], table["learns"], strict=True))
    assert learns["base/conv1"] == "no (frozen)" and learns["base/conv2"] == "yes"
    assert learns["output"] == "yes (new)"
    assert not [frame for frame in at.dataframe if "how" in frame.value.columns]  # no block editor
    # conv2's (3*3*32+1)*64 = 18,496 and the new head's (1600+1)*128 + (128+1)*4 = 205,444, of 224,260
    assert any("This run trains 223,940 of 224,260 parameters" in c.value for c in at.caption)
    assert not at.button(key="trainer_train").disabled
    at.selectbox(key="trainer_train_from").set_value("").run()
    assert any("This run trains 205,444 of 224,260 parameters" in c.value for c in at.caption)
    # The job carries the base as a file the worker opens, and no blocks.
    from app_support.trainer.transfer import Transfer

    transfer = Transfer(str(DEFAULT_MODEL), "conv2", (28, 28, 1), "the shipped MNIST model")
    job = job_for("shapes", datasets.load("shapes"), (), training.TrainConfig(), transfer=transfer)
    assert (job.base_model, job.train_from, job.blocks) == (str(DEFAULT_MODEL), "conv2", ())
    assert job.title == "transfer from the shipped MNIST model (from conv2 on)"


def test_a_link_can_fix_or_hide_the_dataset():
    at = opened(dataset="digits", fix="dataset")
    assert at.selectbox(key="trainer_dataset").value == "digits" and at.selectbox(key="trainer_dataset").disabled
    at = opened(dataset="digits", hide="dataset")
    assert not [w for w in at.selectbox if w.key == "trainer_dataset"]
    assert at.selectbox(key="trainer_preset_digits").value == "mnist-fast"  # digits' own default, so it applies
