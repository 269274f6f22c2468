"""Convolution lab: an image, a kernel, and every step of convolution and pooling made visible."""

import streamlit as st

from app_support.boot import run_through_navigation
from app_support.inputs import image_input
from app_support.render import matrix_markdown, output_picture
from app_support.state import Setting, publish, restore
from cnnviz import display, images, kernels, ops
from cnnviz.errors import InvalidInput
from cnnviz.lab import POOLS, LabConfig, run_lab

run_through_navigation()

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
restore(SETTINGS)

st.title("Convolution lab")
st.caption(
    "A kernel is a small grid of numbers. Slide it over the image; at each position multiply the pixels "
    "under it by its numbers and add the products: that sum is one output pixel."
)

controls, outputs = st.columns([1.25, 2.2], gap="large")

with controls:
    st.subheader("1. Image")
    size = st.session_state["lab_size"]
    image, image_name = image_input("lab", max_side=size)
    colour_cols = st.columns(2)
    colour_cols[0].radio(
        "Channels", ["gray", "rgb"], format_func={"gray": "Grayscale", "rgb": "RGB"}.get, key="lab_colour"
    )
    colour_cols[1].selectbox("Working size (longest side)", [64, 128, 256, 512], key="lab_size")

    st.subheader("2. Kernel")
    st.radio("View", list(VIEWS), format_func=VIEWS.get, key="lab_view", horizontal=True)
    kernel = None
    if st.session_state["lab_view"] == "one":
        name = st.selectbox("Kernel", KERNEL_NAMES, key="lab_kernel", format_func=str.capitalize)
        if name == CUSTOM:
            st.text_area(
                "Your kernel: rows separated by ';' or new lines, numbers by spaces (fractions like 1/9 work)",
                key="lab_custom",
            )
            try:
                kernel = kernels.parse_kernel(st.session_state["lab_custom"])
            except InvalidInput as error:
                st.error(f"Kernel: {error}")
            else:
                with st.expander("Edit as a grid"):
                    edited = st.data_editor(kernel, key="lab_grid", width="stretch")
                    try:
                        kernel = kernels.validate_kernel(edited)
                    except InvalidInput as error:
                        st.error(f"Kernel grid: {error}")
        else:
            kernel = kernels.KERNELS[name]
            st.caption(kernels.DESCRIPTIONS[name])
    weight_cols = st.columns(2, vertical_alignment="bottom")
    weight_cols[0].number_input("Weight", key="lab_weight", step=0.1, format="%g", help="Multiplies the kernel")
    weight_cols[1].checkbox(
        "Normalise", key="lab_normalize", help="Divide by the sum of the entries (or of the positive ones)"
    )

    st.subheader("3. Convolution and pooling")
    conv_cols = st.columns(2)
    conv_cols[0].number_input("Stride", min_value=1, max_value=8, key="lab_stride")
    conv_cols[1].selectbox("Padding", ops.PADDINGS, key="lab_padding", format_func=str.upper)
    st.selectbox("Activation", ops.POSTPROCESS, key="lab_post", format_func=POST_LABELS.get)
    st.selectbox("Pooling", POOLS, key="lab_pool", format_func=POOL_LABELS.get)
    pooling = st.session_state["lab_pool"] != "none"
    pool_cols = st.columns(2)
    pool_cols[0].number_input("Pool size", min_value=2, max_value=8, key="lab_pool_size", disabled=not pooling)
    pool_cols[1].number_input(
        "Pool stride (0 = size)", min_value=0, max_value=8, key="lab_pool_stride", disabled=not pooling
    )
    st.radio("Show outputs", list(DISPLAY_LABELS), format_func=DISPLAY_LABELS.get, key="lab_display", horizontal=True)

centre = {}  # the pixel shown when the URL names none: the centre of the convolution output
config = LabConfig(
    stride=st.session_state["lab_stride"],
    padding=st.session_state["lab_padding"],
    postprocess=st.session_state["lab_post"],
    weight=float(st.session_state["lab_weight"]),
    normalize=st.session_state["lab_normalize"],
    pool=st.session_state["lab_pool"],
    pool_size=st.session_state["lab_pool_size"],
    pool_stride=st.session_state["lab_pool_stride"] or None,
)
mode = st.session_state["lab_display"]
if image is not None:
    image = images.to_grayscale(image) if st.session_state["lab_colour"] == "gray" else images.to_rgb(image)

with outputs:
    if image is None:
        st.info("Choose an image on the left to start.")
    elif st.session_state["lab_view"] == "gallery":
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
                    st.image(display.render(result.output.values, mode), caption=name, width="stretch")
                    st.caption(kernels.DESCRIPTIONS[name])
    elif kernel is None:
        st.info("Fix the kernel on the left to see the output.")
    else:
        try:
            result = run_lab(image, kernel, config)
        except InvalidInput as error:
            st.error(str(error))
            result = None
        if result is not None:
            st.markdown(f"**Shapes:** {result.shape_chain()}")
            st.caption("  \n".join(f"{stage.name}: {stage.formula}" for stage in result.stages if stage.formula))
            stage_columns = st.columns(len(result.stages))
            for index, (column, stage) in enumerate(zip(stage_columns, result.stages, strict=True)):
                with column:
                    caption = f"{stage.name}, {stage.shape_text}"
                    if index == 0:
                        st.image(display.enlarge(image, min_side=200), caption=f"{image_name}, {caption}")
                    else:
                        safe = stage.name.split(" (")[0].replace(" ", "_").replace(",", "")
                        output_picture(stage.values, mode, caption=caption, file_name=f"{safe}.png", key=f"dl{index}")

            st.subheader("The arithmetic of one output pixel")
            out_h, out_w = result.convolved.values.shape[:2]
            centre = {"lab_row": out_h // 2, "lab_col": out_w // 2}
            for key, size in (("lab_row", out_h), ("lab_col", out_w)):
                value = st.session_state[key]
                st.session_state[key] = size // 2 if value < 0 else min(value, size - 1)
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
            where.image(
                display.highlight_window(image, sums.top, sums.left, kh, kw),
                caption=f"The window for output ({row}, {col}) starts at input ({sums.top}, {sums.left})",
                width="stretch",
            )
            zoom.image(
                display.zoom_window(image, sums.top, sums.left, kh, kw),
                caption="Zoomed in; the checkerboard is zero padding",
                width="stretch",
            )
            tables = st.columns(3)
            tables[0].markdown("**Input window**\n\n" + matrix_markdown(sums.window))
            tables[1].markdown("**Kernel (after weight)**\n\n" + matrix_markdown(sums.kernel))
            tables[2].markdown("**Products**\n\n" + matrix_markdown(sums.products))
            activated = ops.postprocess(sums.total, config.postprocess)
            st.markdown(f"Sum of the products: `{sums.equation()}`")
            if config.postprocess != "none":
                st.markdown(f"After {POST_LABELS[config.postprocess]}: **{float(activated):g}**")

publish(SETTINGS, implicit=centre)
