"""The Trainer's architecture editor, time estimate and confusion-matrix picking, in AppTest and
on their own (fast: no training; a run's results are faked where one is needed)."""

import time
import tomllib
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
    assert "for 18 epoch(s)" in text and "2-core server" in text
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
    counts = [800] * 10
    one = estimates.estimate_time(rows, train_images=8000, test_images=2000, config=config, class_counts=counts)
    # 80 of each class's 800 held out: 7,200 images trained in 113 steps and 800 validated in 13, 3 passes'
    # work for each trained one; a checkpoint of the 225,034 parameters every epoch and one before.
    assert (one.train_images, one.validation_images) == (7200, 800)
    passes, steps = 3 * 7200 + 800, 113 + 13
    checkpoint = estimates.CHECKPOINT_S + estimates.CHECKPOINT_S_PER_MPARAM * 225_034 / 1e6
    epoch = estimates.SECONDS_PER_STEP * steps + estimates.SECONDS_PER_MVALUE * passes * values / 1e6 + checkpoint
    assert one.epoch_s == pytest.approx(epoch)
    evaluation = estimates.SECONDS_PER_MVALUE * 2000 * values / 1e6
    fixed = estimates.START_S + checkpoint + estimates.FIRST_EPOCH_S + evaluation
    assert one.seconds == pytest.approx(fixed + 10 * epoch)
    twice = estimates.estimate_time(rows, train_images=8000, test_images=2000, config=config, speed=2.0)
    assert twice.epoch_s == pytest.approx(2 * one.epoch_s)
    # Fewer images per class: 50 of each, 5 held out, 450 trained in 8 steps.
    few = estimates.estimate_time(
        rows, train_images=estimates.train_images(counts, 50), test_images=2000, config=config, class_counts=[50] * 10
    )
    assert (few.train_images, few.validation_images) == (450, 50)
    assert few.epoch_s < one.epoch_s / 8  # (the fixed costs stay: start, tracing, testing)
    # A frozen base (conv1 to flatten1 here) costs one pass per trained image, not three.
    frozen = estimates.estimate_time(rows, train_images=8000, test_images=2000, config=config, frozen_rows=5)
    _, base = estimates.forward_cost(rows[:6])
    assert frozen.epoch_s == pytest.approx(epoch - estimates.SECONDS_PER_MVALUE * 2 * 7200 * base / 1e6)


def test_measured_speed_and_runs_side_by_side():
    rows = summarize(models.preset("mnist-fast", (28, 28, 1)), (28, 28, 1), 10)
    one = estimates.estimate_time(rows, train_images=8000, test_images=2000, config=training.TrainConfig(epochs=5))
    # Epochs after the first, each as long as estimated: speed 1; twice as long: 2.
    on_time = [{"epoch": n, "t": one.first_epoch_s + (n - 1) * one.epoch_s} for n in (1, 2, 3)]
    assert estimates.measured_speed(one, on_time) == pytest.approx(1.0)
    slow = [{"epoch": n, "t": 2 * one.first_epoch_s + 2 * (n - 1) * one.epoch_s} for n in (1, 2, 3)]
    assert estimates.measured_speed(one, slow) == pytest.approx(2.0)
    # Beside another run it was slowed by sharing the machine, not by the machine.
    assert estimates.measured_speed(one, slow, alongside=1) == pytest.approx(2.0 / estimates.TOGETHER)
    assert estimates.measured_speed(one, [{"epoch": 1, "t": one.first_epoch_s * 3}]) == pytest.approx(3.0)
    assert estimates.measured_speed(one, []) is None
    # Two runs started together: the longer, plus the other's share; two equal ones take TOGETHER times one.
    assert estimates.estimate_together([10.0, 10.0]) == pytest.approx(10 * estimates.TOGETHER)
    assert estimates.estimate_together([30.0, 10.0]) == pytest.approx(30 + (estimates.TOGETHER - 1) * 10)
    assert estimates.estimate_together([12.0]) == 12.0
    # A busy server: the runs training now share it; a load beyond theirs takes its share of the cores.
    assert estimates.Busy(0, 0, 0.5, 2).factor == estimates.Busy(0, 0, 4.0, 2).factor == 1.0  # twice the cores
    assert estimates.Busy(1, 0, 2.0, 2).factor == pytest.approx(estimates.TOGETHER)
    assert estimates.Busy(0, 0, 9.0, 2).factor == pytest.approx(1 + 5 * estimates.SLOWDOWN_PER_LOAD)
    assert estimates.Busy(0, 0, 9.0, 2).busy and not estimates.Busy(0, 0, 0.3, 2).busy


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
    # The figures say how many pictures they rest on.
    assert any(c.value.startswith("The test figures rest on 400 test pictures") for c in at.caption)

    # "Train and compare with": the pair goes under Compare runs, in place of what it showed, once both
    # have an epoch; the table names each run's data in full.
    from app_support.common.runs import run_manager

    at.selectbox(key="trainer_vs").set_value("dense-only").run()
    at.number_input(key="trainer_per_class_shapes").set_value(20).run()
    at.button(key="trainer_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    runs = run_manager().runs_for(at.session_state["_cnnviz_owner"])
    assert len(runs) == 3
    deadline = time.monotonic() + 240
    while not all(run.done for run in runs):
        assert time.monotonic() < deadline, [run.state for run in runs]
        time.sleep(0.5)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.multiselect(key="trainer_cmp").value == [runs[1].id, runs[2].id]
    table = at.table[0].value
    assert table["run"].tolist() == [
        "Run 2: tinyvgg on shapes, 20 per class",
        "Run 3: dense-only on shapes, 20 per class",
    ]
    assert set(table["dataset"]) == {"shapes: 80 training, 400 test pictures"}


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
        titles = [run.job.title for run in runs]
        assert titles == ["dense-only on shapes, 20 per class", "tinyvgg on shapes, 20 per class"]
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
    assert job.title == "transfer from the shipped MNIST model (from conv2 on) on shapes"


def test_a_link_can_fix_or_hide_the_dataset():
    at = opened(dataset="digits", fix="dataset")
    assert at.selectbox(key="trainer_dataset").value == "digits" and at.selectbox(key="trainer_dataset").disabled
    at = opened(dataset="digits", hide="dataset")
    assert not [w for w in at.selectbox if w.key == "trainer_dataset"]
    assert at.selectbox(key="trainer_preset_digits").value == "mnist-fast"  # digits' own default, so it applies


def test_a_refused_zip_takes_the_last_zips_pictures_and_train_away():
    """A good zip (one stray notes.txt skipped and counted), then a broken one: the error, and nothing
    left of the first (no samples, no Train); the limit the page states is the uploader's."""
    import io

    from harness.hostile_corpus import zip_of

    def png(value: int) -> bytes:
        from PIL import Image

        buffer = io.BytesIO()
        Image.new("RGB", (20, 20), (value, 0, 0)).save(buffer, format="PNG")
        return buffer.getvalue()

    good = {f"red/{i}.png": png(200) for i in range(6)} | {f"dark/{i}.png": png(40) for i in range(6)}
    at = opened(dataset="upload")
    limit = next(c.value for c in at.caption if c.value.startswith("Zip a folder per class"))
    configured = int(tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"])
    assert f"{configured} MB" in limit  # the uploader refuses past this too
    uploader = at.file_uploader(key="trainer_zip")
    uploader.set_value([("mine.zip", zip_of(good | {"red/notes.txt": b"hello"}), "application/zip")]).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("Skipped 1 file(s) that are not pictures (notes.txt)." in c.value for c in at.caption)
    assert not at.button(key="trainer_train").disabled and at.get("image")
    truncated = zip_of(good)[:-60]
    for broken in (truncated, b"this is not a zip at all"):
        at.file_uploader(key="trainer_zip").set_value([("broken.zip", broken, "application/zip")]).run()
        assert not at.exception, [e.message for e in at.exception]
        assert any(e.value.startswith("broken.zip: ") for e in at.error), [e.value for e in at.error]
        assert not [b for b in at.button if b.key == "trainer_train"]  # nothing to train on
        assert not at.get("image") and "trainer_zip_kept" not in at.session_state  # the old pictures are gone


def test_the_estimate_counts_images_per_class_a_pair_and_a_busy_server(monkeypatch):
    from cnnviz import estimates as estimates_module

    monkeypatch.setattr(estimates_module, "load_now", lambda: 0.0)  # an idle server
    counted = estimates_module.busy_now  # and no runs: one an earlier test left training is not counted
    monkeypatch.setattr(estimates_module, "busy_now", lambda training=0, queued=0: counted(0, 0))
    query = {"dataset": "mnist-bundled", "preset": "fashion-cnn", "epochs": "30", "batch": "32", "val": "0.2"}
    whole = opened(**query)
    few = opened(**query, per_class="50")  # lesson 3 step 3: 50 of each digit
    text = next(c.value for c in few.caption if c.value.startswith("**Estimated time"))
    # 50 of each of the ten digits, 10 of each held out for validation.
    assert "for 30 epoch(s) on 400 training and 100 validation images" in text, text
    assert _seconds(text) < _seconds(next(c.value for c in whole.caption if c.value.startswith("**Estimated"))) / 5
    pair = opened(**query, per_class="50", vs="mnist-cnn")
    both = next(c.value for c in pair.caption if c.value.startswith("**Estimated time"))
    assert "for both runs, side by side, 30 epoch(s) each" in both
    assert _seconds(both) > _seconds(text)  # two networks, not one
    assert "server is busy" not in both
    monkeypatch.setattr(estimates_module, "load_now", lambda: 12.0)  # others' work keeps the 2 cores busy
    busy = next(c.value for c in opened(**query, per_class="50").caption if c.value.startswith("**Estimated"))
    assert "**The server is busy**" in busy and "a processor load of 12.0" in busy
    assert _seconds(busy) > 2 * _seconds(text)


def test_few_validation_pictures_are_warned_about():
    at = opened(dataset="shapes", per_class="5")
    warnings = [w.value for w in at.warning]
    # 5 of each of the 4 shapes: a 0.1 split holds 1 of each out (at least 2 only where a third allows).
    assert any(w.startswith("The validation figures rest on 4 pictures (1 of each class)") for w in warnings)
    assert not any(w.startswith("The test figures") for w in warnings)  # the shapes' test set is large
    at = opened(dataset="shapes", per_class="100")
    assert not any("figures rest on" in w.value for w in at.warning)


def test_run_labels_say_what_data_they_trained_on():
    from app_support.trainer.settings import data_label, job_for
    from cnnviz import datasets

    # A zip of 5 pictures a class (one of each held out for testing) asked for 10 a class trains on 4.
    x = np.zeros((15, 28, 28, 1), np.uint8)
    zipped = datasets.split_dataset("uploaded", x, np.repeat(np.arange(3), 5), ("a", "b", "c"), "Your images.")
    assert data_label("upload", zipped, 10) == "your zip, 4 per class"
    shapes = datasets.load("shapes")
    job = job_for(
        "shapes", shapes, models.preset("mnist-fast", (28, 28, 1)), training.TrainConfig(), title="mnist-fast"
    )
    assert job.title == "mnist-fast on shapes"  # not "mnist-fast" alone, as if on digits
    assert data_label("mnist-bundled", datasets.load("mnist-bundled"), 50) == "mnist-bundled, 50 per class"


def overfitted_run_script() -> None:
    """The runs panel's status for a finished run whose validation loss rose while training's fell."""
    import streamlit as st

    from app_support.trainer import runs as trainer_runs
    from cnnviz.runs import Run
    from cnnviz.training import RunState, TrainConfig, TrainJob

    losses, val_losses = [1.0, 0.5, 0.3, 0.2, 0.1, 0.05], [0.9, 0.6, 0.7, 0.8, 0.9, 1.1]
    run = Run(
        id="over-1",
        owner="me",
        job=TrainJob("shapes", (), TrainConfig(epochs=6), title="long"),
        number=1,
        state=RunState.DONE,
        message="Trained 6 epochs in 3.0 s.",
        epochs=[
            {"epoch": n + 1, "loss": a, "val_loss": b} for n, (a, b) in enumerate(zip(losses, val_losses, strict=True))
        ],
    )
    st.session_state.setdefault("trainer_dataset", "shapes")
    trainer_runs.run_status(run)


def test_an_overfitted_run_offers_early_stopping():
    at = AppTest.from_function(overfitted_run_script, default_timeout=TIMEOUT).run()
    assert not at.exception, [e.message for e in at.exception]
    offer = at.button(key="trainer_early_over-1")
    assert offer.label == "Turn on early stopping (patience 3) for the next run"
    offer.click().run()
    assert at.session_state["trainer_patience_shapes"] == 3
    assert any("Early stopping is on for your next run (patience 3)" in c.value for c in at.caption)


def test_work_over_a_limit_is_said_under_your_work(monkeypatch):
    """A long run's checkpoints can take a learner past the megabytes this server keeps (540 of 500 MB, said
    nowhere until the next Train was refused): "5. Your work" says it, and what to delete."""
    from app_support.common.runs import kept_store
    from cnnviz.errors import InvalidInput

    store = kept_store()

    def full(learner, usage=None):
        raise InvalidInput("Your work takes 540 MB, the most this server keeps for one learner (500 MB).")

    monkeypatch.setattr(store, "check_room", full)
    at = trainer()
    warned = [box.value for box in at.warning if "540 MB" in box.value]
    assert warned and "trains nothing new for you" in warned[0], [box.value for box in at.warning]
    monkeypatch.undo()
    at.run()
    assert not [box.value for box in at.warning if "540 MB" in box.value]


def test_a_few_wrong_images_are_shown_at_their_size_not_across_the_page():
    from app_support.trainer.runs import TILE_PX, grid_width

    assert grid_width(1) == TILE_PX and grid_width(3) == 3 * TILE_PX  # one image was 800 px wide
    assert grid_width(8) == grid_width(24) == "stretch"  # a full row of 8 fills the column
