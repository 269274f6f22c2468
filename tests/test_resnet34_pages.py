"""ResNet-34 in the app (AppTest): the Trainer lists it with every row of its summary explained and says,
before Train, what training it would take on a server without a GPU; Inside the network and the
receptive-field table of What did it learn? open it untrained at ImageNet's 224x224."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz import models
from cnnviz.blocks import summarize, total_params
from tests.conftest import ROOT

TIMEOUT = 180
pytestmark = pytest.mark.usefixtures("as_a_running_server")


def opened(page: str, **state) -> AppTest:
    """The app, then `page`, with `state` in the session before the page first draws."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_trainer_explains_every_row_and_names_what_training_it_would_take():
    at = opened("pages/trainer.py")
    at.selectbox(key="trainer_preset_mnist-bundled").set_value("resnet-34").run()
    assert not at.exception, [e.message for e in at.exception]
    summary = next(frame.value for frame in at.dataframe if "how" in frame.value.columns)
    expected = summarize(models.preset("resnet-34", (28, 28, 1)), (28, 28, 1), 10)
    assert summary["layer"].tolist() == [row.name for row in expected]
    assert all(how.strip() for how in summary["how"].tolist()[1:])  # every row after the input says how
    total = total_params(expected)
    assert f"{total:,} parameters in all." in " ".join(c.value for c in at.caption)
    warning = " ".join(w.value for w in at.warning)
    assert f"{total:,} parameters, more than the 5,000,000" in warning and "GPU" in warning


def test_inside_and_the_receptive_fields_open_it_untrained():
    at = opened("pages/learned.py", learned_model="untrained:resnet-34")
    assert "resnet-34 (untrained, random weights): input 224x224x3, 10 classes." in " ".join(
        c.value for c in at.caption
    )
    table = at.dataframe[-1].value
    last = table[table["layer"] == "residual16"].iloc[0]
    assert last["jump"] == 32 and last["map"] == "7x7x512"  # five halvings: 224 / 32 = 7

    at.session_state["inside_model"] = "untrained:resnet-34"
    at.switch_page("pages/inside.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "resnet-34 (untrained, random weights): input 224x224x3, 10 classes." in " ".join(
        c.value for c in at.caption
    )
