"""The Convolution Lab's sections: its settings, kernel controls, and the output views.

The page draws the outputs *before* the kernel and convolution controls (which sit beside them in
the left column): every setting is already in session state when a run starts, so the picture a
person is waiting for reaches the browser first and the widgets follow.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from app_support.render import matrix_markdown, output_picture, picture
from app_support.state import Setting
from cnnviz import display, images, kernels, ops
from cnnviz.errors import InvalidInput
from cnnviz.lab import POOLS, LabConfig, LabResult, run_lab

CUSTOM = "custom"
KERNEL_NAMES = [*kernels.KERNELS, CUSTOM]
POST_LABELS = {"none": "None (raw sums)", "relu": "ReLU", "clip": "Clip to 0..255", "abs": "Absolute value"}
DISPLAY_LABELS = {"signed": "Signed (colour bar)", "clipped": "Clipped 0..255", "minmax": "Stretched min..max"}
POOL_LABELS = {"none": "No pooling", "max": "Max pooling", "avg": "Average pooling"}
VIEWS = {"one": "One kernel in detail", "gallery": "Every kernel side by side"}

SETTINGS = [
    Setting("lab_source", "src", "sample", choices=("sample", "draw", "upload", "camera")),
    Setting("lab_sample", "sample", "camera", choices=tuple(images.SAMPLES)),
    Setting("lab_colour", "colour", "gray", choices=("gray", "rgb")),
    Setting("lab_size", "size", 512, choices=(64, 128, 256, 512)),
    Setting("lab_brush", "brush", 18, bounds=(2, 40)),
    Setting("lab_view", "view", "one", choices=tuple(VIEWS)),
    Setting("lab_kernel", "kernel", "sobel x", choices=tuple(KERNEL_NAMES)),
    Setting("lab_custom", "custom", "1 2 1; 0 0 0; -1 -2 -1"),
    Setting("lab_weight", "weight", 1.0, bounds=(-1e6, 1e6)),
    Setting("lab_normalize", "norm", False),
    Setting("lab_stride", "stride", 1, bounds=(1, 8)),
    Setting("lab_padding", "pad", "valid", choices=ops.PADDINGS),
    Setting("lab_post", "post", "none", choices=ops.POSTPROCESS),
    Setting("lab_pool", "pool", "none", choices=POOLS),
    Setting("lab_pool_size", "psize", 2, bounds=(2, 8)),
    Setting("lab_pool_stride", "pstride", 0, bounds=(0, 8)),
    Setting("lab_display", "display", "signed", choices=tuple(DISPLAY_LABELS)),
    Setting("lab_row", "row", -1, bounds=(-1, 100_000)),  # -1: the centre of the output
    Setting("lab_col", "col", -1, bounds=(-1, 100_000)),
    Setting("lab_channel", "channel", 0, bounds=(0, 2)),
]


def image_options() -> None:
    columns = st.columns(2)
    labels = {"gray": "Grayscale", "rgb": "RGB"}
    columns[0].radio("Channels", list(labels), format_func=labels.get, key="lab_colour", horizontal=True)
    columns[1].selectbox("Working size", [64, 128, 256, 512], key="lab_size", help="Longest side, in pixels")


def prepared(image: np.ndarray | None) -> np.ndarray | None:
    """The input in the chosen channels: (H, W) grayscale or (H, W, 3) RGB."""
    if image is None:
        return None
    return images.to_grayscale(image) if st.session_state["lab_colour"] == "gray" else images.to_rgb(image)


def current_kernel() -> tuple[np.ndarray | None, str]:
    """The chosen kernel from session state, or (None, message) when the custom text is invalid."""
    name = st.session_state["lab_kernel"]
    if name != CUSTOM:
        return kernels.KERNELS[name], ""
    try:
        return kernels.parse_kernel(st.session_state["lab_custom"]), ""
    except InvalidInput as error:
        return None, str(error)


def current_config() -> LabConfig:
    state = st.session_state
    return LabConfig(
        stride=state["lab_stride"],
        padding=state["lab_padding"],
        postprocess=state["lab_post"],
        weight=float(state["lab_weight"]),
        normalize=state["lab_normalize"],
        pool=state["lab_pool"],
        pool_size=state["lab_pool_size"],
        pool_stride=state["lab_pool_stride"] or None,
    )


def _apply_grid_edit() -> None:
    """Grid edits become the kernel's text: one source of truth, in the URL like every setting."""
    kernel, _ = current_kernel()
    edits = st.session_state.get(f"lab_grid_{st.session_state.get('lab_grid_generation', 0)}", {})
    if kernel is None or not edits.get("edited_rows"):
        return
    kernel = kernel.astype(np.float64)
    for row, changes in edits["edited_rows"].items():
        for col, value in changes.items():
            kernel[int(row), int(col)] = np.nan if value is None else float(value)
    try:
        st.session_state["lab_custom"] = kernels.format_kernel(kernels.validate_kernel(kernel))
    except InvalidInput as error:
        st.session_state["lab_grid_error"] = str(error)
    st.session_state["lab_grid_generation"] = st.session_state.get("lab_grid_generation", 0) + 1


def kernel_controls() -> None:
    top = st.columns([1.3, 1.4, 0.8, 1.0], vertical_alignment="bottom")
    top[0].radio("View", list(VIEWS), format_func=VIEWS.get, key="lab_view")
    one = st.session_state["lab_view"] == "one"
    name = top[1].selectbox("Kernel", KERNEL_NAMES, key="lab_kernel", format_func=str.capitalize, disabled=not one)
    top[2].number_input("Weight", key="lab_weight", step=0.1, format="%g", help="Multiplies the kernel")
    top[3].checkbox("Normalise", key="lab_normalize", help="Divide by the sum of the entries (or the positive ones)")
    if not one:
        return
    if name != CUSTOM:
        st.caption(f"**{name.capitalize()}**: {kernels.DESCRIPTIONS[name]}")
        return
    text, grid = st.columns(2)
    text.text_area(
        "Your kernel: rows separated by ';' or new lines, numbers by spaces (fractions like 1/9 work)",
        key="lab_custom",
    )
    if "lab_grid_error" in st.session_state:
        text.error(f"Kernel grid: {st.session_state.pop('lab_grid_error')}")
    kernel, _ = current_kernel()
    if kernel is not None:
        with grid:
            st.caption("Or edit it as a grid")
            st.data_editor(
                kernel,
                key=f"lab_grid_{st.session_state.get('lab_grid_generation', 0)}",
                on_change=_apply_grid_edit,
                width="stretch",
            )


def conv_controls() -> None:
    columns = st.columns(2)
    columns[0].number_input("Stride", min_value=1, max_value=8, key="lab_stride")
    columns[1].selectbox("Padding", ops.PADDINGS, key="lab_padding", format_func=str.upper)
    st.selectbox("Activation", ops.POSTPROCESS, key="lab_post", format_func=POST_LABELS.get)
    st.selectbox("Pooling", POOLS, key="lab_pool", format_func=POOL_LABELS.get)
    off = st.session_state["lab_pool"] == "none"
    columns = st.columns(2)
    columns[0].number_input("Pool size", min_value=2, max_value=8, key="lab_pool_size", disabled=off)
    columns[1].number_input("Pool stride (0 = size)", min_value=0, max_value=8, key="lab_pool_stride", disabled=off)
    st.radio("Show outputs", list(DISPLAY_LABELS), format_func=DISPLAY_LABELS.get, key="lab_display", horizontal=True)


def gallery_view(image: np.ndarray, config: LabConfig, mode: str) -> None:
    st.subheader("Every kernel on the same image")
    st.caption("Same stride, padding, activation and pooling for all. Which ones find edges? Which blur?")
    small = images.resize(image, max_side=256)
    names = list(kernels.KERNELS)
    for start in range(0, len(names), 4):
        for column, name in zip(st.columns(4), names[start : start + 4], strict=False):
            with column:
                try:
                    result = run_lab(small, kernels.KERNELS[name], config)
                except InvalidInput as error:
                    st.warning(f"{name}: {error}")
                    continue
                picture(display.render_png(result.output.values, mode), caption=name)
                st.caption(kernels.DESCRIPTIONS[name])


def stages_view(image: np.ndarray, image_name: str, result: LabResult, mode: str) -> None:
    for index, (column, stage) in enumerate(zip(st.columns(len(result.stages)), result.stages, strict=True)):
        with column:
            caption = f"{stage.name}, {stage.shape_text}"
            if index == 0:
                picture(display.enlarge(image, min_side=200), caption=f"{image_name}, {caption}")
            else:
                file_name = stage.name.split(" (")[0].replace(" ", "_").replace(",", "") + ".png"
                output_picture(stage.values, mode, caption=caption, file_name=file_name, key=f"lab_download_{index}")
    if mode == "signed" and image.ndim == 3:
        st.caption(
            "The signed view of a colour output shows the mean of its R, G and B responses; "
            "choose 'Clipped 0..255' to see the three channels as colour."
        )
    # Below the pictures, so that the pictures reach the browser first.
    st.markdown(f"**Shapes:** {result.shape_chain()}")
    st.caption("  \n".join(f"{stage.name}: {stage.formula}" for stage in result.stages if stage.formula))


def pixel_view(image: np.ndarray, result: LabResult, config: LabConfig) -> dict[str, int]:
    """The arithmetic of one output pixel. Returns the centre pixel, which the URL leaves implicit."""
    st.subheader("The arithmetic of one output pixel")
    out_h, out_w = result.convolved.values.shape[:2]
    centre = {"lab_row": out_h // 2, "lab_col": out_w // 2}
    for key, size in (("lab_row", out_h), ("lab_col", out_w)):
        value = st.session_state[key]
        st.session_state[key] = centre[key] if value < 0 else min(value, size - 1)
    pick = st.columns(3)
    row = pick[0].number_input("Output row", min_value=0, max_value=out_h - 1, key="lab_row")
    col = pick[1].number_input("Output column", min_value=0, max_value=out_w - 1, key="lab_col")
    channel = 0
    if image.ndim == 3:
        channel = pick[2].selectbox("Channel", [0, 1, 2], format_func="RGB".__getitem__, key="lab_channel")
    plane = image[..., channel] if image.ndim == 3 else image
    sums = ops.pixel_arithmetic(plane, result.kernel, row, col, stride=config.stride, padding=config.padding)
    kh, kw = result.kernel.shape
    where, zoom = st.columns(2)
    picture(
        display.highlight_window(image, sums.top, sums.left, kh, kw),
        caption=f"The window for output ({row}, {col}) starts at input ({sums.top}, {sums.left})",
        container=where,
    )
    picture(
        display.zoom_window(image, sums.top, sums.left, kh, kw),
        caption="Zoomed in; the checkerboard is zero padding",
        container=zoom,
    )
    tables = st.columns(3)
    tables[0].markdown("**Input window**\n\n" + matrix_markdown(sums.window))
    tables[1].markdown("**Kernel (after weight)**\n\n" + matrix_markdown(sums.kernel))
    tables[2].markdown("**Products**\n\n" + matrix_markdown(sums.products))
    st.markdown(f"Sum of the products: `{sums.equation()}`")
    if config.postprocess != "none":
        activated = float(ops.postprocess(sums.total, config.postprocess))
        st.markdown(f"After {POST_LABELS[config.postprocess]}: **{activated:g}**")
    return centre
