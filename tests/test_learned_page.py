"""What did it learn? in AppTest: every view on the shipped model with its known answers, settings
kept when switching views and pages, a teacher's link that fixes or hides settings, bad then good
values, and the embedding's epoch scrubber on a session run with checkpoints (clicks on pictures and
points are in tests/test_browser_learned.py)."""

from __future__ import annotations

import itertools

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz import cam
from tests.conftest import ROOT

LEARNED = "pages/learned.py"
OWNER = "learned-page-test"  # this test's session key to its runs (app_support.common.runs.owner)
_sessions = itertools.count()


def learned(**params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    # A learner of its own each time: the store keeps a learner's page settings, and a test must not
    # open on the view the test before it left (the runs of `tiny_run` are any such learner's).
    at.session_state["_cnnviz_owner"] = f"{OWNER}-{next(_sessions)}"
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    at.switch_page(LEARNED).run()
    ok(at)
    # A view that could not draw says why on the page (an error, or a warning that a module is missing),
    # not as an exception: a test that then misses a widget should name that message, not the widget.
    said = errors(at) + [w.value for w in at.warning if "installation lacks" in w.value]
    assert not said, said
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def show(at: AppTest, view: str) -> AppTest:
    at.session_state["learned_view"] = view
    at.run()
    ok(at)
    return at


def captions(at: AppTest) -> list[str]:
    """Captions of pictures, then of text."""
    return [i.caption for element in at.get("image") for i in element.proto.imgs] + [c.value for c in at.caption]


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_a_units_effective_field_is_computed_once_per_unit(monkeypatch):
    from app_support.learned import receptive as view
    from cnnviz import receptive

    computed = []
    original = receptive.effective_receptive_field

    def counted(model, image, layer, row, col):
        computed.append((layer, row, col))
        return original(model, image, layer, row, col)

    monkeypatch.setattr(receptive, "effective_receptive_field", counted)
    view._effective_field.clear()
    at = learned()
    assert computed == [("conv2", 5, 5)]
    at.number_input(key="learned_row").set_value(0).run()
    at.number_input(key="learned_row").set_value(5).run()  # back to a unit it has shown
    ok(at)
    assert computed == [("conv2", 5, 5), ("conv2", 0, 5)]
    assert "its receptive field: rows 10-17, columns 10-17" in captions(at)


def test_receptive_field_of_the_shipped_model_is_the_hand_worked_one():
    """conv1 (3x3) -> maxpool1 (2x2, stride 2) -> conv2 (3x3): a conv2 unit sees 3 + 1 + 2 * 2 = 8
    pixels, its neighbours 2 apart; the centre unit (5, 5) of the 11x11 map sees input rows 10-17."""
    at = learned()
    assert at.session_state["learned_view"] == "receptive"  # the first view a newcomer meets
    assert at.selectbox(key="learned_rf_layer").value == "conv2"
    assert at.number_input(key="learned_row").value == 5 and at.number_input(key="learned_col").value == 5
    text = captions(at)
    assert "its receptive field: rows 10-17, columns 10-17" in text
    assert any(c.startswith("Unit (5, 5) of conv2 sees a 8x8 window.") and "2 pixels apart" in c for c in text)
    table = at.dataframe[0].value
    assert list(table["layer"]) == ["conv1", "maxpool1", "conv2", "maxpool2"]
    assert list(table["window"]) == [3, 4, 8, 10] and list(table["jump"]) == [1, 2, 2, 4]
    assert list(table["kernel/stride"]) == ["3x3/1", "2x2/2", "3x3/1", "2x2/2"]
    at.number_input(key="learned_row").set_value(0).run()  # a corner unit: its window is clipped
    at.number_input(key="learned_col").set_value(10).run()
    ok(at)
    assert "its receptive field: rows 0-7, columns 20-27" in captions(at)
    at.selectbox(key="learned_rf_layer").set_value("conv1").run()  # 26x26: the pick is kept where it fits
    assert "its receptive field: rows 0-2, columns 10-12" in captions(at)


def test_every_view_renders_on_the_shipped_model():
    at = learned()
    show(at, "featurevis")
    assert at.selectbox(key="learned_fv_layer").value == "conv2"
    text = captions(at)
    assert "what excites channel 0 of conv2 most" in text
    assert any(c.startswith("the 8 test images it answers most: #") for c in text)
    assert "and the patch its strongest unit sees in each" in text
    show(at, "occlusion")
    text = captions(at)
    patch, stride = cam.default_occlusion((28, 28))  # the library's default, shown with its numbers
    assert patch == 9 and "a third of the picture's shorter side (9 of 28 pixels here)" in (
        at.number_input(key="learned_patch").help
    )
    assert any(c.startswith(f"occlusion, a {patch}x{patch} patch every {stride} px") for c in text)
    assert "Grad-CAM on conv2" in text
    assert "blue: no effect on the class · red: the most (each map to its own peak)" in text
    show(at, "embedding")
    assert any(c.startswith("2,000 test images,") and "misclassified (crosses)" in c for c in text + captions(at))
    assert len(at.get("plotly_chart")) == 1
    show(at, "adversarial")
    assert at.slider(key="learned_epsilon").value == 25  # a tenth of the range
    assert any(c.startswith("the change, amplified: red +25, blue -25") for c in captions(at))
    # What the text claims is what the screen shows: at 25 of 255 the speckle is plain to see on a digit.
    said = " ".join(m.value for m in at.markdown)
    assert "nobody would notice" not in said and "the change shows as speckle" in said
    visible = "At 25 of 255 (10% of the range) the change is plain to see as speckle"
    assert any(c.startswith(visible) for c in captions(at))
    assert not errors(at)


def test_switching_views_and_pages_keeps_every_setting():
    at = learned()
    at.number_input(key="learned_row").set_value(2).run()
    show(at, "featurevis")
    at.number_input(key="learned_channel").set_value(7).run()
    show(at, "occlusion")
    at.number_input(key="learned_patch").set_value(5).run()
    at.number_input(key="learned_stride").set_value(1).run()
    show(at, "adversarial")
    at.slider(key="learned_epsilon").set_value(51).run()
    for view in ("receptive", "embedding", "featurevis", "adversarial", "occlusion", "receptive"):
        show(at, view)
    at.switch_page("pages/home.py").run()
    at.switch_page(LEARNED).run()  # leave and come back
    ok(at)
    assert at.number_input(key="learned_row").value == 2
    show(at, "featurevis")
    assert "what excites channel 7 of conv2 most" in captions(at)
    show(at, "occlusion")
    assert any(c.startswith("occlusion, a 5x5 patch every 1 px") for c in captions(at))
    show(at, "adversarial")
    assert at.slider(key="learned_epsilon").value == 51
    assert at.query_params["eps"] == "51" and at.query_params["patch"] == "5"  # the link says it all


def test_a_bad_patch_says_what_fits_then_a_good_one_comes_back():
    at = show(learned(), "occlusion")
    at.number_input(key="learned_patch").set_value(40).run()
    ok(at)
    assert any("from 1 to 28" in e for e in errors(at)), errors(at)
    assert at.number_input(key="learned_stride").value == 0  # the rest is kept
    at.number_input(key="learned_patch").set_value(12).run()
    assert not errors(at)
    assert any(c.startswith("occlusion, a 12x12 patch every 4 px") for c in captions(at))  # a third of it


def test_a_teachers_link_opens_the_view_with_settings_fixed_or_hidden():
    at = learned(view="adversarial", eps="51", fix="eps,view", hide="method")
    assert at.session_state["learned_view"] == "adversarial"
    slider = at.slider(key="learned_epsilon")
    assert slider.value == 51 and slider.disabled
    assert not any(r.key == "learned_method" for r in at.radio)  # hidden, its value still used
    assert any("Your teacher's link sets some controls" in i.value for i in at.info)
    assert any(c.startswith("the change, amplified: red +51") for c in captions(at))


def test_the_adversarial_example_stays_within_epsilon_and_flips_a_digit():
    at = show(learned(), "adversarial")
    at.slider(key="learned_epsilon").set_value(0).run()
    assert any(s.value.startswith("Still **1**") for s in at.success)  # no change, no new answer
    at.slider(key="learned_epsilon").set_value(51).run()  # 0.2 x 255
    ok(at)
    flipped = [w.value for w in at.warning if "instead of **1**" in w.value]
    assert flipped and "no pixel moved more than 51 of 255" in flipped[0], [w.value for w in at.warning]
    at.radio(key="learned_method").set_value("targeted").run()
    at.selectbox(key="learned_target").set_value(7).run()
    ok(at)
    assert any("now says **7**" in w.value for w in at.warning), [w.value for w in at.warning]


@pytest.fixture
def tiny_run(tmp_path, monkeypatch):
    """A session run as the page sees it: three epoch checkpoints of a small CNN trained here on the
    scikit-learn digits (a few seconds; the Trainer's own worker path is tested in test_runs), listed by
    a stand-in for the server's run manager."""
    import keras

    from cnnviz import datasets
    from cnnviz.runs import Run
    from cnnviz.training import RunState, TrainConfig, TrainJob

    data = datasets.digits()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((28, 28, 1), name="image")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv1")(x)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(32, activation="relu", name="dense")(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="output")(x))
    model.compile("adam", "sparse_categorical_crossentropy")
    checkpoints = [(0, str(tmp_path / "epoch_000.keras"))]  # the untrained network, saved before training
    model.save(checkpoints[0][1])
    for epoch in (1, 2, 3):
        model.fit(data.x_train, data.y_train, epochs=1, batch_size=64, verbose=0)
        path = tmp_path / f"epoch_{epoch:03d}.keras"
        model.save(path)
        checkpoints.append((epoch, str(path)))
    job = TrainJob(dataset="digits", blocks=(), config=TrainConfig(epochs=3), title="tiny")
    run = Run(id="tiny-1", owner=OWNER, job=job, number=1, state=RunState.DONE, checkpoints=checkpoints)
    run.model_path = checkpoints[-1][1]

    class Runs:
        def runs_for(self, owner: str) -> list:
            return [run] if owner.startswith(OWNER) else []

    from app_support.common import model_source

    monkeypatch.setattr(model_source, "run_manager", lambda: Runs())
    return run


def test_the_epoch_scrubber_moves_through_one_projection(tiny_run):
    at = learned()
    at.selectbox(key="learned_model").set_value(f"run:{tiny_run.id}").run()
    show(at, "embedding")
    scrubber = at.select_slider(key="learned_emb_epoch")
    assert scrubber.options == ["0", "1", "2", "3"] and scrubber.value == 3
    last = next(c for c in captions(at) if "misclassified (crosses)" in c)
    assert last.startswith("359 test images after epoch 3")
    scrubber.set_value(0).run()
    ok(at)
    untrained = next(c for c in captions(at) if "misclassified (crosses)" in c)
    assert untrained.startswith("359 test images before training (epoch 0)")
    scrubber.set_value(1).run()
    ok(at)
    first = next(c for c in captions(at) if "misclassified (crosses)" in c)
    assert first.startswith("359 test images after epoch 1")
    wrong = [int(text.split(", ")[1].split()[0]) for text in (untrained, first, last)]
    assert wrong[0] > 250 and wrong[0] > wrong[1] > wrong[2]  # chance at first (9 in 10 wrong), then it learns
    show(at, "receptive")  # the other views take the epoch from the page's scrubber, epoch 0 among them
    assert at.select_slider(key="learned_epoch").options == ["0", "1", "2", "3"]
    at.select_slider(key="learned_epoch").set_value(0).run()
    ok(at)
    assert any("before training (epoch 0)" in c for c in captions(at))


def test_t_sne_moves_through_the_epochs_within_its_limit():
    from app_support.learned.embed import MAX_TSNE_EPOCHS, epochs_within_limit

    saved = [(epoch, f"epoch_{epoch:03d}.keras") for epoch in range(23)]  # 22 epochs and the untrained network
    picked = [epoch for epoch, _ in epochs_within_limit(saved, "tsne")]
    assert len(picked) == MAX_TSNE_EPOCHS == 10 and picked[0] == 0 and picked[-1] == 22
    assert picked == [0, 2, 5, 7, 10, 12, 15, 17, 20, 22]  # evenly spaced
    assert epochs_within_limit(saved, "pca") == saved  # PCA moves through every one
    assert epochs_within_limit(saved[:10], "tsne") == saved[:10]


def colour_views_script() -> None:
    """Every view on a small colour model (32x32 RGB, untrained) and a colour picture, as the page
    draws them for an ImageNet network: no test set, so no top examples and no embedding."""
    import keras
    import numpy as np
    import streamlit as st

    from app_support.common.model_source import ModelChoice
    from app_support.learned import context as learned_view
    from app_support.learned import views

    if "model" not in st.session_state:
        keras.utils.set_random_seed(0)
        inputs = keras.Input((32, 32, 3), name="image")
        x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
        x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1")(x)
        x = keras.layers.MaxPooling2D(2, name="pool1")(x)
        x = keras.layers.Conv2D(4, 3, activation="relu", name="conv2")(x)
        x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
        st.session_state.model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="output")(x))
    model = st.session_state.model
    picture = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    choice = ModelChoice(model, "colour test model", ("red", "green", "blue"))
    learned_view.state.restore(learned_view.SETTINGS)
    context = learned_view.Context(model, choice, picture, "noise", learned_view.model_key(choice, model))
    views.draw(st.session_state["learned_view"], context)


@pytest.mark.parametrize("view", ["receptive", "featurevis", "occlusion", "embedding", "adversarial"])
def test_every_view_takes_colour_pictures(view):
    at = AppTest.from_function(colour_views_script, default_timeout=120)
    at.session_state["learned_view"] = view
    at.run()
    ok(at)
    assert not errors(at), errors(at)
    text = captions(at)
    expected = {
        "receptive": "its receptive field: rows 13-20, columns 13-20",  # unit (7, 7): -1 + 7 * 2 = 13, 8 wide
        "featurevis": "what excites channel 0 of conv2 most",
        "occlusion": "Grad-CAM on conv2",
        "adversarial": "the change, amplified: red +25, blue -25",
    }
    if view == "embedding":
        assert any("labelled test set" in i.value for i in at.info)  # says why, computes nothing
    else:
        assert expected[view] in text, text


def test_shared_store_keeps_the_most_recently_used():
    """The views' results store (occlusion, embedding, feature pictures): bounded, least recently used
    goes first, and `put` hands back what it kept."""
    from app_support.learned.context import SharedStore

    store = SharedStore(2)
    assert store.put("a", 1) == 1 and store.put("b", 2) == 2
    assert store.get("a") == 1  # now the most recently used
    store.put("c", 3)
    assert "b" not in store and store.get("b") is None
    assert store.get("a") == 1 and store.get("c") == 3
