"""The frameworks' private names the app relies on: each assumption holds on the pinned versions, and
a release that moved one is named loudly (with the pinned version) instead of failing silently."""

import pytest

from app_support.common import compat as app_compat
from cnnviz import compat


def test_streamlit_assumptions_hold_on_the_pinned_version():
    import streamlit

    assert streamlit.__version__ == app_compat.STREAMLIT_PINNED
    app_compat.check_streamlit()


@pytest.mark.parametrize(
    ("module", "name", "words"),
    [
        ("streamlit.runtime.scriptrunner.script_runner", "_clean_problem_modules", "clears Keras"),
        ("streamlit.runtime.pages_manager.PagesManager", "uses_pages_directory", "pages/-folder flag"),
        ("streamlit.runtime.Runtime", "is_active_session", "still there"),
    ],
)
def test_a_moved_streamlit_name_is_named_with_the_pinned_version(monkeypatch, module, name, words):
    import importlib

    path, _, attribute = module.rpartition(".")
    try:
        target = importlib.import_module(module)
    except ModuleNotFoundError:
        target = getattr(importlib.import_module(path), attribute)
    monkeypatch.delattr(target, name)
    with pytest.raises(app_compat.StreamlitCompatibilityError, match=words) as error:
        app_compat.check_streamlit()
    assert "1.67.0" in str(error.value) and name in str(error.value)


def test_is_active_session_outside_a_server_is_none():
    assert app_compat.is_active_session("anything") is None


def test_keras_assumptions_hold_on_the_pinned_version(tf):
    import keras

    assert keras.__version__ == compat.KERAS_PINNED
    compat.check_keras()


def test_nodes_of_finds_the_call_of_a_shared_layer_in_each_model(tf):
    import keras

    from cnnviz.features import layer_output

    inner_in = keras.Input((6, 6, 1))
    conv = keras.layers.Conv2D(2, 3, name="shared")
    inner = keras.Model(inner_in, conv(inner_in))
    outer_in = keras.Input((8, 8, 1))
    outer = keras.Model(outer_in, inner.call(keras.layers.Rescaling(2.0)(outer_in)))  # re-called: a second node
    assert len([n for n in compat.nodes_of(outer) if n.operation is conv]) == 1
    assert tuple(layer_output(outer, conv).shape[1:]) == (6, 6, 2)  # outer's call, on 8x8 input
    assert tuple(conv.output.shape[1:]) == (4, 4, 2)  # the layer's own .output: the inner graph


def test_sequential_models_have_no_nodes_to_look_up(tf):
    import keras

    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(1, 3)])
    assert compat.nodes_of(model) == []


def test_a_functional_model_without_nodes_is_refused_loudly(tf):
    class Functional:  # what a renamed private attribute would look like
        pass

    with pytest.raises(compat.KerasCompatibilityError, match=r"3\.15\.1") as error:
        compat.nodes_of(Functional())
    assert "_nodes_by_depth" in str(error.value)
