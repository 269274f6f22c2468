"""The Trainer's second section: the architecture editor (one row per block, only the settings its type
has), its per-layer summary, and the lab-kernels experiment."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_support.common import lesson_view
from app_support.common.state import Setting, is_fixed, is_hidden, locked_widget
from app_support.trainer.data import KEEP
from app_support.trainer.state import by_param, locked
from cnnviz import datasets, kernels, models
from cnnviz.blocks import BLOCK_TYPES, BLOCKS, BlockSetting, LayerRow, block_defaults, summarize, total_params
from cnnviz.errors import InvalidInput

# --- 2. architecture ----------------------------------------------------------------------------


MAX_BLOCKS = 40  # as many as `summarize` accepts
# The lock names (cnnviz.lessons.CONTROLS) of the controls here that are not URL settings: a teacher's
# "fix everything but this step" must cover every control that changes the network.
BLOCKS_LOCK, LAB_KERNELS_LOCK = "blocks", "labkernels"


def _architecture_store(preset: str, input_shape: tuple[int, int, int]) -> dict:
    """The blocks being edited for this preset and input shape, kept in the session. Each block
    carries an "id" that names its widgets, so a block moved up or down keeps its own values."""
    store = st.session_state.setdefault("trainer_architectures", {})
    name = f"{preset}_{'x'.join(map(str, input_shape))}"
    if name not in store:
        store[name] = {"name": name, "preset": preset, "shape": tuple(input_shape), "blocks": [], "next": 0}
        _load_preset(store[name])
    return store[name]


def _new_block(arch: dict, block: dict) -> dict:
    arch["next"] += 1  # ids are never reused, so a new block never inherits an old widget's value
    return {**block, "id": arch["next"]}


def _load_preset(arch: dict) -> None:
    arch["blocks"] = [_new_block(arch, block) for block in models.preset(arch["preset"], arch["shape"])]


def _move(arch: dict, block_id: int, step: int) -> None:
    blocks = arch["blocks"]
    index = next(i for i, block in enumerate(blocks) if block["id"] == block_id)
    other = index + step
    if 0 <= other < len(blocks):
        blocks[index], blocks[other] = blocks[other], blocks[index]


def _remove(arch: dict, block_id: int) -> None:
    arch["blocks"] = [block for block in arch["blocks"] if block["id"] != block_id]


def _add(arch: dict) -> None:
    kind = st.session_state.get("trainer_add_type", "conv")
    position = st.session_state.get("trainer_add_position")
    position = len(arch["blocks"]) if position is None else min(int(position), len(arch["blocks"]))
    arch["blocks"].insert(position, _new_block(arch, block_defaults(kind)))


def _widget_key(arch: dict, block: dict, setting: str) -> str:
    return f"trainer_block_{arch['name']}_{block['id']}_{setting}"


SETTING_WIDTH = {"activation": 120, "padding": 110}  # pixels; numbers get 105


def _setting_widget(container, arch: dict, block: dict, setting: BlockSetting):
    """One setting of one block: a number box with the accepted range, or a choice."""
    key = _widget_key(arch, block, f"{block['type']}_{setting.name}")
    st.session_state.setdefault(key, block.get(setting.name, setting.default))
    width = SETTING_WIDTH.get(setting.name, 105)
    locked = is_fixed(BLOCKS_LOCK)
    if setting.options:
        return container.selectbox(
            setting.name,
            setting.options,
            key=key,
            persist_state=KEEP,
            help=setting.help,
            width=width,
            disabled=locked,
        )
    if setting.step is None:  # whole numbers
        return int(
            container.number_input(
                setting.name,
                int(setting.low),
                int(setting.high),
                step=1,
                key=key,
                persist_state=KEEP,
                help=setting.help,
                width=width,
                disabled=locked,
            )
        )
    return float(
        container.number_input(
            setting.name,
            float(setting.low),
            float(setting.high),
            step=setting.step,
            format="%.2f",
            key=key,
            persist_state=KEEP,
            help=setting.help,
            width=width,
            disabled=locked,
        )
    )


def _block_row(arch: dict, index: int, block: dict) -> dict:
    """One block as a row: its type, only the settings that type has, and move / remove buttons.
    The row wraps onto a second line where the page is narrow. Returns the block as left (with its id)."""
    count = len(arch["blocks"])
    locked = is_fixed(BLOCKS_LOCK)
    type_key = _widget_key(arch, block, "type")
    st.session_state.setdefault(type_key, block["type"])
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    kind = row.selectbox(
        f"Block {index + 1}",
        BLOCK_TYPES,
        key=type_key,
        persist_state=KEEP,
        format_func=lambda k: BLOCKS[k].label,
        help=BLOCKS[st.session_state[type_key]].help,
        width=190,
        disabled=locked,
    )
    if kind != block["type"]:  # a new type: its own settings, keeping those the old one shared (activation...)
        kept = {key: value for key, value in block.items() if key in block_defaults(kind)}
        block = {**block_defaults(kind), **kept, "type": kind, "id": block["id"]}
    edited = {"type": kind, "id": block["id"]}
    for setting in BLOCKS[kind].settings:
        edited[setting.name] = _setting_widget(row, arch, block, setting)
    buttons = row.container(horizontal=True, wrap=False, gap=None, width="content")
    name, block_id = arch["name"], block["id"]
    buttons.button(
        "",
        icon=":material/arrow_upward:",
        key=f"trainer_up_{name}_{block_id}",
        help="Move this block up",
        type="tertiary",
        disabled=locked or index == 0,
        on_click=_move,
        args=(arch, block_id, -1),
    )
    buttons.button(
        "",
        icon=":material/arrow_downward:",
        key=f"trainer_down_{name}_{block_id}",
        help="Move this block down",
        type="tertiary",
        disabled=locked or index == count - 1,
        on_click=_move,
        args=(arch, block_id, 1),
    )
    buttons.button(
        "",
        icon=":material/delete:",
        key=f"trainer_remove_{name}_{block_id}",
        help="Remove this block",
        type="tertiary",
        disabled=locked,
        on_click=_remove,
        args=(arch, block_id),
    )
    return edited


def _block_editor(arch: dict) -> None:
    """One row per block, then the row that adds a block or resets to the preset."""
    locked = is_fixed(BLOCKS_LOCK)
    arch["blocks"] = [_block_row(arch, index, block) for index, block in enumerate(arch["blocks"])]
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    row.selectbox(
        "Add a block",
        BLOCK_TYPES,
        key="trainer_add_type",
        persist_state=KEEP,
        format_func=lambda k: BLOCKS[k].label,
        width=190,
        disabled=locked,
        help="\n".join(f"- **{kind.label}**: {kind.help}" for kind in BLOCKS.values()),
    )
    count = len(arch["blocks"])
    row.selectbox(
        "Where",
        range(count + 1),
        index=count,
        key="trainer_add_position",
        persist_state=KEEP,
        format_func=lambda i: "at the start" if i == 0 else ("at the end" if i == count else f"after block {i}"),
        width=150,
        disabled=locked,
    )
    row.button(
        "Add",
        icon=":material/add:",
        key="trainer_add",
        on_click=_add,
        args=(arch,),
        disabled=locked or count >= MAX_BLOCKS,
    )
    row.button(
        "Reset to the preset",
        key="trainer_reset_blocks",
        on_click=_load_preset,
        args=(arch,),
        help="Throw away the changes above and start again from the preset.",
        disabled=locked,
    )


def architecture(
    dataset_name: str, data: datasets.Dataset, url: list[Setting]
) -> tuple[list[dict] | None, list[LayerRow] | None]:
    """Preset picker and block editor; returns the validated blocks and summary, or (None, None)."""
    names = list(models.PRESETS)
    preset = locked(
        st.selectbox,
        by_param(url, "preset"),  # one choice per dataset, each starting at its default
        "Start from a preset",
        names,
        persist_state=KEEP,
        format_func=lambda n: f"{n}: {models.PRESETS[n][0]}",
        help="A network from a tutorial, to train as it is or to change below.",
    )
    st.session_state["trainer_preset"] = preset
    arch = _architecture_store(preset, data.input_shape)
    st.caption(
        "Each row is one layer, applied top to bottom to the image; the (?) next to a block says what it does. "
        "The classifier (Dense, one unit per class, softmax) is added at the end for you."
    )
    if not is_hidden(BLOCKS_LOCK):  # hidden by a teacher's link: the preset's blocks, as they are
        _block_editor(arch)
    blocks = [{key: value for key, value in block.items() if key != "id"} for block in arch["blocks"]]
    try:
        rows = summarize(blocks, data.input_shape, data.num_classes)
    except InvalidInput as error:
        st.error(f"Architecture: {error}")
        return None, None
    summary = pd.DataFrame(
        {
            "layer": [r.name for r in rows],
            "output shape": ["x".join(map(str, r.output_shape)) for r in rows],
            "parameters": [r.params for r in rows],
            "how": [r.formula for r in rows],
        }
    )
    lesson_view.table(summary, hide_index=True, width="stretch")  # big on a projector
    st.caption(f"{total_params(rows):,} parameters in all.")
    return blocks, rows


def lab_kernels_experiment() -> tuple[tuple[str, ...], bool]:
    with st.expander("Experiment: start the first conv layer from Convolution Lab kernels"):
        st.caption(
            "The first conv layer gets exactly these kernels (one filter each). Freeze them to see how far fixed, "
            "hand-made edge detectors go, then compare with a run that learns its own."
        )
        square = [name for name, k in kernels.KERNELS.items() if k.shape == (3, 3) and name != "identity"]
        chosen = locked_widget(
            st.multiselect,
            LAB_KERNELS_LOCK,
            "Kernels",
            square,
            key="trainer_lab_kernels",
            persist_state=KEEP,
            placeholder="None: learn from scratch",
        )
        freeze = locked_widget(
            st.checkbox,
            LAB_KERNELS_LOCK,
            "Freeze them (do not train the first layer)",
            key="trainer_freeze",
            persist_state=KEEP,
            disabled=not chosen,
        )
    return tuple(chosen or ()), bool(freeze and chosen)
