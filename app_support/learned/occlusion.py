"""What did it learn?, the occlusion view: a grey patch slid over the picture and the drop in the
class's probability mapped (Zeiler and Fergus, 2014), beside Grad-CAM, on one colour legend."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app_support.common.model_views import heatmap
from app_support.common.render import legend, picture
from app_support.learned.context import PICTURE_SIDE, Context, SharedStore, as_picture, control, keep_within
from cnnviz import cam, display
from cnnviz.predict import class_probabilities


@st.cache_resource(max_entries=1)
def _occlusion_store() -> SharedStore:
    """Occlusion maps, shared by every session: (model key, picture bytes, class, patch, stride) ->
    (H, W) float32; the last 32."""
    return SharedStore(32)


def _occlusion(context: Context, class_index: int, patch: int, stride: int) -> np.ndarray:
    store = _occlusion_store()
    key = (context.model_key, context.image.tobytes(), class_index, patch, stride)
    if (kept := store.get(key)) is not None:
        return kept
    bar = st.progress(0.0, text="Covering the picture, place by place...")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Covered {done} of {total} places (one pass of the network each)")

    drop = cam.occlusion(
        context.model, context.image, class_index=class_index, patch=patch, stride=stride, on_progress=progress
    )
    bar.empty()
    return store.put(key, drop)


def occlusion_view(context: Context) -> None:
    model, choice = context.model, context.choice
    st.markdown(
        "Cover part of the picture with a grey patch and see how much the class's probability drops; do it "
        "at every place and you get a map of what the model needs (Zeiler and Fergus, 2014). It asks the "
        "model directly, one covered copy at a time, where Grad-CAM (right) reads one layer's gradients in a "
        "single pass. Where the two agree, trust the map more."
    )
    layers = cam.conv_layers(model)
    if not layers:
        st.info("Grad-CAM needs a layer with feature maps; this model has none.")
        return
    height, width, _ = context.input_shape
    probabilities = class_probabilities(model, context.image[None])[0]
    predicted = int(np.argmax(probabilities))
    classes = [-1, *range(len(choice.class_names))]
    keep_within("learned_class", classes, -1)
    keep_within("learned_cam_layer", layers, cam.last_conv_layer(model))
    auto_patch, auto_stride = cam.default_occlusion((height, width))
    cells = st.columns(4)
    with cells[0]:
        target = control(
            st.selectbox,
            "Class",
            "learned_class",
            classes,
            format_func=lambda c: f"predicted ({choice.class_names[predicted]})" if c == -1 else choice.class_names[c],
        )
    with cells[1]:
        patch = control(
            st.number_input,
            "Patch (pixels)",
            "learned_patch",
            0,
            512,
            help=f"The grey square's side. 0: a third of the picture's shorter side ({auto_patch} of "
            f"{min(height, width)} pixels here).",
        )
    patch = int(patch) or auto_patch
    with cells[2]:
        stride = control(
            st.number_input,
            "Stride (pixels)",
            "learned_stride",
            0,
            512,
            help=f"How far the square moves each time, at most the patch. 0: a third of the patch "
            f"({max(1, patch // 3)} for {patch}). Smaller: a finer map and more passes of the network.",
        )
    stride = int(stride) or (auto_stride if patch == auto_patch else max(1, patch // 3))
    with cells[3]:
        layer = control(st.selectbox, "Grad-CAM layer", "learned_cam_layer", layers)
    index = predicted if target == -1 else int(target)
    drop = _occlusion(context, index, patch, stride)  # the library refuses a bad or too costly setting
    heat = heatmap(model, context.image, "gradcam", class_index=index, layer=layer)
    image = as_picture(context.image)
    strongest = float(drop.max())
    shown = np.clip(drop, 0, None) / strongest if strongest > 0 else np.zeros_like(drop)
    side = max(1, PICTURE_SIDE // min(height, width)) * min(height, width)
    name = choice.class_names[index]
    left, middle, right = st.columns(3)
    picture(
        display.enlarge(image, min_side=side),
        caption=f"{context.image_name}: P({name}) = {probabilities[index]:.0%}",
        container=left,
    )
    picture(
        display.enlarge(display.overlay(image, shown, opacity=0.5), min_side=side),
        caption=f"occlusion, a {patch}x{patch} patch every {stride} px: covering the red part drops "
        f"P({name}) by up to {strongest:.0%}",
        container=middle,
    )
    picture(
        display.enlarge(display.overlay(image, heat, opacity=0.5), min_side=side),
        caption=f"Grad-CAM on {layer}",
        container=right,
    )
    legend(display.heat_colorbar(), caption="blue: no effect on the class · red: the most (each map to its own peak)")
    if strongest <= 0.005:
        st.caption(f"No patch lowers P({name}) noticeably: the model finds the class without any one part.")
    if float(drop.min()) < -0.01:
        st.caption(
            f"Covering some places raises P({name}), by up to {-float(drop.min()):.0%}: there the picture argued "
            "against it. They are blue here, like places that do not matter."
        )
