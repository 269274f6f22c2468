"""The controls a teacher's link can fix or hide, page by page: each URL name with the label people see
on the page. The link maker offers these labels, and a student's "fixed: ..." note names them.

One table: a page that gains a URL setting adds one entry here (tests/test_lessons.py checks that every
setting of every page has one). Some entries are not URL settings but groups of controls a lock covers
(the Trainer's block editor, its stopping rules): they are fixed or hidden by the same names.
"""

from __future__ import annotations

# page key (cnnviz.lessons.PAGES) -> {URL name: the label on the page}
CONTROLS: dict[str, dict[str, str]] = {
    "lab": {
        "op": "Operation",
        "src": "Image from",
        "sample": "Sample",
        "brush": "Brush size",
        "colour": "Channels",
        "size": "Working size",
        "mode": "A colour image meets the kernel",
        "view": "View",
        "kernel": "Kernel",
        "custom": "Your kernel",
        "weight": "Weight",
        "norm": "Normalise",
        "slices": "Kernel slices",
        "sr": "R slice",
        "sg": "G slice",
        "sb": "B slice",
        "stride": "Stride",
        "bias": "Bias",
        "pad": "Padding",
        "post": "Activation",
        "pool": "Pooling",
        "psize": "Pool size",
        "pstride": "Pool stride",
        "dx": "Shift →",
        "dy": "Shift ↓",
        "display": "Show outputs",
        "scale": "One colour scale for every stage",
        "row": "Output pixel: row",
        "col": "Output pixel: column",
        "channel": "Channel",
        "tmap": "Small map",
        "tside": "Map size",
        "ttext": "Your map",
        "tstride": "Stride (transposed)",
        "tpad": "Padding (transposed)",
        "trow": "Output pixel: row (transposed)",
        "tcol": "Output pixel: column (transposed)",
    },
    "trainer": {
        "dataset": "Dataset",
        "base": "Start from a trained network",
        "from": "Train the base from layer",
        "preset": "Start from a preset",
        "blocks": "The blocks (type, settings, move, remove, Add, Reset)",
        "labkernels": "First conv layer from lab kernels",
        "per_class": "Training images per class",
        "opt": "Optimizer",
        "lr": "Learning rate",
        "batch": "Batch size",
        "epochs": "Epochs",
        "val": "Validation split",
        "target": "Stop at training accuracy",
        "patience": "Early stop patience",
        "limit": "Time limit",
        "aug": "Augmentation (and its sliders)",
        "vs": "Train and compare with",
        "cw": "Class loss weight",
        "bw": "Box loss weight",
    },
    "inside": {
        "model": "Model",
        "view": "View",
        "imgs": "Test images",
        "layer": "Layer (feature maps)",
        "norm": "Brightness",
        "channel": "Channel",
        "flayer": "Conv layer",
        "class": "Class",
        "camlayer": "Layer (heatmaps)",
    },
    "learned": {
        "view": "View",
        "picture": "Picture",
        "image": "Test image",
        "layer": "Layer (what one unit can see)",
        "row": "Row",
        "col": "Column",
        "fv_layer": "Layer (what excites a channel)",
        "channel": "Channel",
        "cam_layer": "Grad-CAM layer",
        "class": "Class",
        "patch": "Patch (pixels)",
        "stride": "Stride (pixels)",
        "emb_layer": "Features of",
        "proj": "Projection",
        "method": "Attack",
        "eps": "Epsilon",
        "target": "Aim at class",
    },
    "localize": {
        "run": "Run",
        "iou": "IoU threshold",
        "pic": "Picture",
        "order": "Order",
        "cam": "Grad-CAM beside each",
        "class": "Class",
        "score": "Score threshold",
    },
    "predict": {
        "model": "Model",
        "mode": "What to predict",
        "src": "Image from",
        "sample": "Sample",
        "brush": "Brush size",
        "centre": "Centre the digit",
    },
}

# A lock on the first name covers the second too: fixing the sample would be no lock if "Image from"
# could still switch to a drawing or an upload.
IMPLIED = {"src": ("sample",)}


def control_label(name: str, page: str | None = None) -> str:
    """The label people see for the control with URL name `name` (on `page`, else the first page that
    has it); the name itself when no page has it."""
    pages = [page] if page in CONTROLS else list(CONTROLS)
    for key in pages:
        if name in CONTROLS[key]:
            return CONTROLS[key][name]
    return name
