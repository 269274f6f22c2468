"""The Convolution Lab's settings and controls.

The page draws the outputs *before* the kernel and convolution controls (which sit beside them in
the left column): every setting is already in session state when a run starts, so the picture a
person is waiting for reaches the browser first and the widgets follow. The outputs themselves are
in `lab_outputs`.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from app_support.common.state import Setting, is_fixed, is_hidden, locked_widget
from cnnviz import images, kernels, ops
from cnnviz.errors import InvalidInput
from cnnviz.lab import CONV_MODES, MAP_SIDES, POOLS, LabConfig

CUSTOM = "custom"
KERNEL_NAMES = [*kernels.KERNELS, CUSTOM]
POST_LABELS = {"none": "None (raw sums)", "relu": "ReLU", "clip": "Clip to 0..255", "abs": "Absolute value"}
DISPLAY_LABELS = {
    "auto": "Automatic",
    "signed": "Signed (colour bar)",
    "clipped": "Clipped 0..255",
    "minmax": "Stretched min..max",
}
POOL_LABELS = {"none": "No pooling", "max": "Max pooling", "avg": "Average pooling", "gap": "Global average pooling"}
OPERATIONS = {"conv": "Convolution and pooling", "transpose": "Transposed convolution (upsampling)"}
MAP_SOURCES = {"image": "The picture, shrunk", "typed": "Numbers I type"}
MAX_SHIFT = 8
VIEWS = {"one": "One kernel in detail", "gallery": "Every kernel side by side"}
CONV_MODE_LABELS = {"filter": "One filter, as a Conv2D layer", "depthwise": "Each channel alone"}
SLICE_MODES = {"same": "The same kernel on R, G and B", "each": "One kernel per channel"}
SLICE_KERNEL, SLICE_ZEROS = "kernel", "zeros"
SLICE_CHOICES = (SLICE_KERNEL, SLICE_ZEROS, *kernels.KERNELS)
CHANNELS = "RGB"
SLICE_KEYS = ("lab_slice_r", "lab_slice_g", "lab_slice_b")
# A widget that a run does not draw (the slices of a grey image, every control while on another page)
# keeps its value: without it Streamlit drops the value, and an earlier default left under the same
# key came back (a trip to the Trainer reset 'one kernel per channel').
PERSIST = "session"

SETTINGS = [
    Setting("lab_op", "op", "conv", choices=tuple(OPERATIONS)),
    Setting("lab_source", "src", "sample", choices=("sample", "draw", "upload", "camera")),
    Setting("lab_sample", "sample", "camera", choices=tuple(images.SAMPLES)),
    Setting("lab_colour", "colour", "gray", choices=("gray", "rgb")),
    Setting("lab_conv_mode", "mode", "filter", choices=CONV_MODES),
    Setting("lab_size", "size", 512, choices=(64, 128, 256, 512)),
    Setting("lab_brush", "brush", 18, bounds=(2, 40)),
    Setting("lab_view", "view", "one", choices=tuple(VIEWS)),
    Setting("lab_kernel", "kernel", "sobel x", choices=tuple(KERNEL_NAMES)),
    Setting("lab_custom", "custom", "1 2 1; 0 0 0; -1 -2 -1"),
    Setting("lab_slices", "slices", "same", choices=tuple(SLICE_MODES)),
    Setting("lab_slice_r", "sr", SLICE_KERNEL, choices=SLICE_CHOICES),
    Setting("lab_slice_g", "sg", SLICE_ZEROS, choices=SLICE_CHOICES),
    Setting("lab_slice_b", "sb", SLICE_ZEROS, choices=SLICE_CHOICES),
    Setting("lab_weight", "weight", 1.0, bounds=(-1e6, 1e6)),
    Setting("lab_normalize", "norm", False),
    Setting("lab_stride", "stride", 1, bounds=(1, 8)),
    Setting("lab_padding", "pad", "valid", choices=ops.PADDINGS),
    Setting("lab_bias", "bias", 0.0, bounds=(-1e6, 1e6)),
    Setting("lab_post", "post", "none", choices=ops.ACTIVATIONS),
    Setting("lab_pool", "pool", "none", choices=POOLS),
    Setting("lab_pool_size", "psize", 2, bounds=(2, 8)),
    Setting("lab_pool_stride", "pstride", 0, bounds=(0, 8)),
    Setting("lab_display", "display", "auto", choices=tuple(DISPLAY_LABELS)),
    # Signed stages drawn on the convolution's colour scale (True) or each on its own (False).
    Setting("lab_scale", "scale", False),
    # The output pixel whose arithmetic is shown; -1: none chosen, the lab picks an informative one.
    Setting("lab_pick_row", "row", -1, bounds=(-1, 100_000)),
    Setting("lab_pick_col", "col", -1, bounds=(-1, 100_000)),
    Setting("lab_channel", "channel", 0, bounds=(0, 2)),
    # Invariance: the picture moved dx pixels right, dy down, and compared with where it was.
    Setting("lab_dx", "dx", 0, bounds=(-MAX_SHIFT, MAX_SHIFT)),
    Setting("lab_dy", "dy", 0, bounds=(-MAX_SHIFT, MAX_SHIFT)),
    # Transposed convolution: a small map (the picture shrunk, or typed), its stride, the pixel explained.
    Setting("lab_tmap", "tmap", "image", choices=tuple(MAP_SOURCES)),
    Setting("lab_tside", "tside", 4, choices=MAP_SIDES),
    Setting("lab_ttext", "ttext", "1 2; 3 4"),
    Setting("lab_tstride", "tstride", 2, bounds=(1, 4)),
    # Its own padding, as it has its own stride: switching operations changes neither mode's settings.
    Setting("lab_tpadding", "tpad", "valid", choices=ops.PADDINGS),
    Setting("lab_trow", "trow", -1, bounds=(-1, 1000)),  # -1: the middle of the output
    Setting("lab_tcol", "tcol", -1, bounds=(-1, 1000)),
]
BY_KEY = {setting.key: setting for setting in SETTINGS}
IMAGE_LOCKS = {"source": "src", "sample": "sample", "brush": "brush"}  # the image widgets' URL names


def hidden(key: str) -> bool:
    """A teacher's link hides this setting's widget (`?hide=`): it is not drawn, its value still applies."""
    return is_hidden(BY_KEY[key])


def fixed(key: str) -> bool:
    """A teacher's link shows this setting read-only (`?fix=`)."""
    return is_fixed(BY_KEY[key])


def locked(widget, setting_key: str, *args, key: str | None = None, **kwargs):
    """Draw a widget as a teacher's link asks for `setting_key` (`state.locked_widget`): disabled when
    fixed, not drawn when hidden. `key` is the widget's own key when it differs from the setting's."""
    return locked_widget(widget, BY_KEY[setting_key].param, *args, key=key or setting_key, **kwargs)


def transposing() -> bool:
    return st.session_state["lab_op"] == "transpose"


def operation_choice() -> None:
    locked(
        st.radio,
        "lab_op",
        "Operation",
        list(OPERATIONS),
        format_func=OPERATIONS.get,
        horizontal=True,
        persist_state=PERSIST,
        label_visibility="collapsed",
    )


def colour() -> bool:
    return st.session_state["lab_colour"] == "rgb"


def frame_pictures() -> None:
    """A thin frame around the lab's pictures, so white pixels and a transparent upload do not vanish
    into the page (the live lab frames its own)."""
    st.html(
        "<style>[data-testid='stMain'] [data-testid='stImage'] img "
        "{ outline: 1px solid rgba(128, 128, 128, 0.55); }</style>"
    )


def image_options() -> None:
    # One control a row: the left column is about 200 px wide on a projector (1024 px).
    labels = {"gray": "Grayscale", "rgb": "RGB"}
    if transposing():  # the small map is grayscale, shrunk from the picture: channels and size do not apply
        return
    locked(
        st.radio, "lab_colour", "Channels", list(labels), format_func=labels.get, persist_state=PERSIST, horizontal=True
    )
    locked(
        st.selectbox,
        "lab_size",
        "Working size",
        [64, 128, 256, 512],
        persist_state=PERSIST,
        help="Longest side, in pixels",
    )
    if colour():
        locked(
            st.radio,
            "lab_conv_mode",
            "A colour image meets the kernel",
            list(CONV_MODES),
            format_func=CONV_MODE_LABELS.get,
            persist_state=PERSIST,
            help="One filter: a Conv2D filter has one kernel slice per colour channel, and the three products "
            "are added into ONE output map. Each channel alone: three separate outputs, as a depthwise "
            "convolution makes.",
        )


def prepared(image: np.ndarray | None) -> np.ndarray | None:
    """The input in the chosen channels: (H, W) grayscale or (H, W, 3) RGB."""
    if image is None:
        return None
    return images.to_rgb(image) if colour() else images.to_grayscale(image)


def base_kernel() -> tuple[np.ndarray | None, str]:
    """The chosen 2-D kernel, or (None, message) when the custom text is invalid."""
    name = st.session_state["lab_kernel"]
    if name != CUSTOM:
        return kernels.KERNELS[name], ""
    try:
        return kernels.parse_kernel(st.session_state["lab_custom"]), ""
    except InvalidInput as error:
        return None, f"Kernel: {error}"


def slice_options(kernel: np.ndarray) -> list[str]:
    """What each channel's slice can be: the kernel, zeros, or a gallery kernel of the same size."""
    same = [name for name, k in kernels.KERNELS.items() if k.shape == kernel.shape]
    return [SLICE_KERNEL, SLICE_ZEROS, *same]


def current_kernel() -> tuple[np.ndarray | None, str]:
    """The kernel to apply: (kh, kw), or (kh, kw, 3) when a colour image gets one kernel per channel;
    or (None, message) when it cannot be made."""
    kernel, problem = base_kernel()
    if kernel is None or not colour() or st.session_state["lab_slices"] != "each":
        return kernel, problem
    slices = []
    for channel, key in zip(CHANNELS, SLICE_KEYS, strict=True):
        choice = st.session_state[key]
        if choice == SLICE_KERNEL:
            slices.append(kernel)
        elif choice == SLICE_ZEROS:
            slices.append(np.zeros_like(kernel))
        elif kernels.KERNELS[choice].shape != kernel.shape:
            size = "x".join(map(str, kernel.shape))
            return None, f"The {channel} slice ({choice}) must be {size} like the kernel: every slice has one size."
        else:
            slices.append(kernels.KERNELS[choice])
    return np.stack(slices, axis=-1), ""


def current_config() -> LabConfig:
    state = st.session_state
    return LabConfig(
        stride=state["lab_stride"],
        padding=state["lab_padding"],
        activation=state["lab_post"],
        weight=float(state["lab_weight"]),
        normalize=state["lab_normalize"],
        pool=state["lab_pool"],
        pool_size=state["lab_pool_size"],
        pool_stride=state["lab_pool_stride"] or None,
        conv_mode=state["lab_conv_mode"],
        bias=float(state["lab_bias"]),
    )


def _apply_grid_edit() -> None:
    """Grid edits become the kernel's text: one source of truth, in the URL like every setting."""
    kernel, _ = base_kernel()
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
    one = transposing() or st.session_state["lab_view"] == "one"
    if not transposing():
        locked(st.radio, "lab_view", "View", list(VIEWS), format_func=VIEWS.get, persist_state=PERSIST, horizontal=True)
        one = st.session_state["lab_view"] == "one"
    if live():  # the kernel, its weight and its grid are edited in the live lab below
        # Drawn for every kernel (folded, so always as tall): appearing with the first edit of a cell,
        # it pushed the grid down under the pointer about to grab it again.
        if not hidden("lab_custom"):
            with st.expander("Type a whole kernel (another size, up to 15x15)"):
                if st.session_state["lab_kernel"] == CUSTOM:
                    _custom_editor(grid=False)
                else:
                    st.caption(
                        "Choose Custom in the kernel list (or change any number in the grid): then type "
                        "your own kernel here, of any size up to 15x15."
                    )
        if colour():
            _slice_controls()
        return
    top = st.columns([1.5, 0.8, 1.3], vertical_alignment="bottom")
    locked(
        top[0].selectbox,
        "lab_kernel",
        "Kernel",
        KERNEL_NAMES,
        persist_state=PERSIST,
        format_func=str.capitalize,
        disabled=not one,
    )
    locked(
        top[1].number_input,
        "lab_weight",
        "Weight",
        persist_state=PERSIST,
        step=0.1,
        format="%g",
        help="Multiplies the kernel",
    )
    locked(
        top[2].checkbox,
        "lab_normalize",
        "Normalise",
        persist_state=PERSIST,
        help="Divide by the sum of the entries (or the positive ones)",
    )
    if not one:
        return
    name = st.session_state["lab_kernel"]
    if name != CUSTOM:
        st.caption(f"**{name.capitalize()}**: {kernels.DESCRIPTIONS[name]}")
    elif not hidden("lab_custom"):
        _custom_editor()
    if colour() and not transposing():
        _slice_controls()


def _custom_editor(*, grid: bool = True) -> None:
    if not grid:
        locked(
            st.text_area,
            "lab_custom",
            "Rows separated by ';' or new lines, numbers by spaces (fractions like 1/9 work)",
            persist_state=PERSIST,
        )
        return
    text, grid = st.columns(2)
    locked(
        text.text_area,
        "lab_custom",
        "Your kernel: rows separated by ';' or new lines, numbers by spaces (fractions like 1/9 work)",
        persist_state=PERSIST,
    )
    if "lab_grid_error" in st.session_state:
        text.error(f"Kernel grid: {st.session_state.pop('lab_grid_error')}")
    kernel, _ = base_kernel()
    if kernel is not None:
        with grid:
            st.caption("Or edit it as a grid")
            st.data_editor(
                kernel,
                key=f"lab_grid_{st.session_state.get('lab_grid_generation', 0)}",
                on_change=_apply_grid_edit,
                width="stretch",
                disabled=fixed("lab_custom"),
            )


def _slice_controls() -> None:
    """A colour filter has one kernel slice per channel: the same on all three, or one each."""
    locked(
        st.radio,
        "lab_slices",
        "Kernel slices (one per colour channel)",
        list(SLICE_MODES),
        format_func=SLICE_MODES.get,
        persist_state=PERSIST,
        horizontal=True,
        help="Each slice is the kernel above, zeros (that channel is ignored) or another kernel of the same size. "
        "Try R = Sobel x with G and B at zeros: a filter that sees edges in the red channel only.",
    )
    if st.session_state["lab_slices"] != "each":
        return
    kernel, _ = base_kernel()
    if kernel is None:
        return
    options = slice_options(kernel)
    labels = {SLICE_KERNEL: "Kernel", SLICE_ZEROS: "Zeros"}  # short: three boxes share a narrow row
    for column, channel, key in zip(st.columns(3), CHANNELS, SLICE_KEYS, strict=True):
        if st.session_state[key] not in options:  # a slice of another size than a newly chosen kernel
            st.session_state[key] = SLICE_KERNEL
        locked(
            column.selectbox,
            key,
            f"{channel} slice",
            options,
            format_func=lambda n: labels.get(n, n.capitalize()),
            persist_state=PERSIST,
        )


def live() -> bool:
    """True when the learner's browser computes the lab (`app_support.lab.live`): a browser engine
    asked for the page (its User-Agent starts 'Mozilla/'), unless the link says `compute=server`.
    AppTest sends no headers and Streamlit-protocol clients (harness/stclient.py) run no JavaScript:
    both get the server-side lab, which stays the reference."""
    if transposing() or st.session_state["lab_view"] != "one" or st.query_params.get("compute") == "server":
        return False
    return st.context.headers.get("User-Agent", "").startswith("Mozilla/")


def conv_controls() -> None:
    if live():  # the kernel and these settings are in the live lab, beside its pictures
        st.caption(
            "Stride, padding, activation, pooling and the display are set beside the kernel, above the pictures."
        )
        _shift_controls()
        return
    # Pairs only where both fit a projector's narrow column (1024 px wide): two short numbers.
    columns = st.columns(2)
    locked(
        columns[0].number_input,
        "lab_stride",
        "Stride",
        min_value=1,
        max_value=8,
        persist_state=PERSIST,
        help="How far the kernel moves between outputs",
    )
    locked(
        columns[1].number_input,
        "lab_bias",
        "Bias",
        persist_state=PERSIST,
        step=1.0,
        format="%g",
        help="Added to every output, as a Conv2D layer's bias",
    )
    _padding_choice(
        "VALID: the kernel stays inside the image (the output shrinks). SAME: zeros around the edge keep "
        "the size (with stride 1)."
    )
    locked(st.selectbox, "lab_post", "Activation", ops.ACTIVATIONS, persist_state=PERSIST, format_func=POST_LABELS.get)
    locked(
        st.selectbox,
        "lab_pool",
        "Pooling",
        POOLS,
        persist_state=PERSIST,
        format_func=POOL_LABELS.get,
        help="Max keeps the largest value of each window, average their mean; global average pooling keeps one "
        "number per map: the mean of all its values.",
    )
    off = st.session_state["lab_pool"] in ("none", "gap")
    columns = st.columns(2)
    locked(
        columns[0].number_input,
        "lab_pool_size",
        "Pool size",
        min_value=2,
        max_value=8,
        persist_state=PERSIST,
        disabled=off,
    )
    size = st.session_state["lab_pool_size"]
    locked(
        columns[1].selectbox,
        "lab_pool_stride",
        "Pool stride",
        list(range(9)),
        format_func=lambda n: f"{size} (= size)" if n == 0 else str(n),
        persist_state=PERSIST,
        disabled=off,
        help="How far the pooling window moves; usually as far as it is wide, so windows do not overlap",
    )
    _shift_controls()
    locked(
        st.radio,
        "lab_display",
        "Show outputs",
        list(DISPLAY_LABELS),
        format_func=DISPLAY_LABELS.get,
        persist_state=PERSIST,
        horizontal=True,
        help="Automatic: signed colours for kernels whose weights sum to 0 (edges: positive and negative "
        "answers), a picture for the others (blur, sharpen).",
    )
    locked(
        st.checkbox,
        "lab_scale",
        "One colour scale for every stage",
        persist_state=PERSIST,
        help="Signed stages drawn on the convolution's colour scale, so a colour means the same number in each",
    )


def _padding_choice(help_text: str, key: str = "lab_padding") -> None:
    locked(
        st.selectbox,
        key,
        "Padding",
        ops.PADDINGS,
        persist_state=PERSIST,
        format_func=str.upper,
        help=help_text,
    )


def _shift_controls() -> None:
    """Move the picture a pixel or two: the lab then compares every stage with the unmoved picture's."""
    columns = st.columns(2)
    for column, key, label, direction in (
        # Arrows: two words wrap in a projector's narrow column.
        (columns[0], "lab_dx", "Shift →", "right (negative: left)"),
        (columns[1], "lab_dy", "Shift ↓", "down (negative: up)"),
    ):
        locked(
            column.number_input,
            key,
            label,
            min_value=-MAX_SHIFT,
            max_value=MAX_SHIFT,
            persist_state=PERSIST,
            help=f"Move the picture this many pixels {direction} and see which outputs stay the same.",
        )


def shift() -> tuple[int, int]:
    """The chosen shift of the picture (dx right, dy down), in pixels."""
    return int(st.session_state["lab_dx"]), int(st.session_state["lab_dy"])


def transpose_controls() -> None:
    """The transposed convolution's settings: the small map, the stride and the padding."""
    locked(st.radio, "lab_tmap", "Small map", list(MAP_SOURCES), format_func=MAP_SOURCES.get, persist_state=PERSIST)
    if st.session_state["lab_tmap"] == "image":
        locked(
            st.selectbox,
            "lab_tside",
            "Map size",
            MAP_SIDES,
            format_func=lambda n: f"{n} pixels",
            persist_state=PERSIST,
            help="The picture is shrunk to this many pixels on its longer side (each a mean of its area).",
        )
    else:
        locked(
            st.text_area,
            "lab_ttext",
            f"Your map: rows separated by ';', numbers by spaces (up to {max(MAP_SIDES)}x{max(MAP_SIDES)})",
            persist_state=PERSIST,
        )
    locked(
        st.number_input,
        "lab_tstride",
        "Stride",
        min_value=1,
        max_value=4,
        persist_state=PERSIST,
        help="How far apart neighbouring input pixels paint their copy of the kernel: stride - 1 zeros go "
        "between them. Stride 2 doubles the size.",
    )
    _padding_choice(
        "VALID: the whole painting, (H - 1) * stride + k. SAME: cropped to H * stride, as the forward "
        "convolution with SAME padding would have read it.",
        key="lab_tpadding",
    )
