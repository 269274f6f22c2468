"""Every private name of Keras that cnnviz relies on, in one place, each checked where it is used.

Keras has no public way to ask where a Functional model calls a layer (`layer.output` belongs to the
layer's first call, which for a pretrained network re-called on preprocessed input is the wrong
graph), so `nodes_of` reads `Functional._nodes_by_depth`. Were a Keras release to rename it, the
feature maps and heatmaps of every model would quietly come from the wrong graph; instead
`KerasCompatibilityError` names what moved and the version this was written for. `check_keras`
runs every assumption at once (the tests call it; so can a deployment after an upgrade).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: importing Keras costs seconds
    import keras

KERAS_PINNED = "3.15.1"  # requirements.txt


class KerasCompatibilityError(RuntimeError):
    """A private Keras name cnnviz uses has moved: the installed Keras differs from the pinned one."""

    def __init__(self, what: str):
        import keras

        super().__init__(
            f"cnnviz relies on {what}, which Keras {keras.__version__} does not have; cnnviz was written for "
            f"Keras {KERAS_PINNED} (pinned in requirements.txt). Install that version, or update cnnviz/compat.py."
        )


def nodes_of(model: keras.Model) -> list:
    """Every call of a layer inside Functional `model` (Keras nodes: `.operation`, `.input_tensors`,
    `.output_tensors`); [] for a model that is not a Functional graph (Sequential, subclassed), whose
    layers' own `.output` is the only one."""
    by_depth = getattr(model, "_nodes_by_depth", None)
    if by_depth is None:
        if type(model).__name__ == "Functional":
            raise KerasCompatibilityError("Functional._nodes_by_depth (where a model calls each layer)")
        return []
    nodes = [node for depth in by_depth.values() for node in depth]
    if nodes and not all(hasattr(nodes[0], name) for name in ("operation", "input_tensors", "output_tensors")):
        raise KerasCompatibilityError("Node.operation, Node.input_tensors and Node.output_tensors")
    return nodes


def check_keras() -> None:
    """Try every assumption on a two-layer model; raise KerasCompatibilityError on the first that fails."""
    import keras

    inputs = keras.Input((4, 4, 1))
    outputs = keras.layers.Conv2D(1, 3, name="probe")(inputs)
    model = keras.Model(inputs, outputs)
    nodes = [node for node in nodes_of(model) if node.operation is model.get_layer("probe")]
    if len(nodes) != 1 or tuple(nodes[0].output_tensors[0].shape[1:]) != (2, 2, 1):
        raise KerasCompatibilityError("one node per layer call, with its output tensors")
