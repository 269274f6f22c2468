"""What did it learn?, the adversarial view: the fast gradient sign method (Goodfellow et al., 2015)
and a targeted iterative attack (Kurakin et al., 2016), the picture, the change amplified, the
changed picture and both predictions."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app_support.common.render import legend, picture
from app_support.learned.context import PICTURE_SIDE, Context, as_picture, control, keep_within
from cnnviz import display
from cnnviz.predict import class_probabilities

METHODS = {"fgsm": "One step away from its answer (FGSM)", "targeted": "Ten small steps towards a class"}


def adversarial_view(context: Context) -> None:
    from cnnviz import adversarial

    model, choice = context.model, context.choice
    st.markdown(
        "Change every pixel by at most epsilon, each in the direction that hurts the model's answer most "
        "(the sign of the gradient: the fast gradient sign method, Goodfellow et al., 2015). A network adds up "
        "thousands of small pixel weights, and many tiny nudges all in the harmful direction add up to a large "
        "change in its score: the model's answer often changes while we still see the same thing. On a digit's "
        "black background the change shows as speckle (compare the left and right pictures); on a photo a few "
        "levels of 255 go unnoticed. So a confident answer is not proof the model saw what we see."
    )
    classes = list(range(len(choice.class_names)))
    keep_within("learned_target", classes, 0)
    cells = st.columns([2, 2, 1.4])
    with cells[0]:
        method = control(st.radio, "Attack", "learned_method", list(METHODS), format_func=METHODS.get)
    with cells[1]:
        epsilon = control(
            st.slider,
            "Epsilon: the most any pixel may change",
            "learned_epsilon",
            0,
            255,
            format="%d of 255",
            help="In pixel values (0..255). 25 of 255 is a tenth of the range.",
        )
    target = None
    if method == "targeted":
        with cells[2]:
            target = control(
                st.selectbox, "Aim at class", "learned_target", classes, format_func=lambda c: choice.class_names[c]
            )
    image = context.image
    with st.spinner("Computing the change..."):
        if method == "targeted":
            changed = adversarial.targeted_attack(model, image, target=int(target), epsilon=float(epsilon))
        else:
            changed = adversarial.fgsm(model, image, epsilon=float(epsilon))
    changed = np.asarray(changed)
    before = class_probabilities(model, image[None])[0]
    after = class_probabilities(model, changed[None])[0]
    names = choice.class_names
    was, now = int(before.argmax()), int(after.argmax())
    difference = adversarial.perturbation(image, changed)
    height, width, _ = context.input_shape
    side = max(1, PICTURE_SIDE // min(height, width)) * min(height, width)
    perturbation = as_picture(difference)
    if perturbation.ndim == 3:  # colour: one signed picture of the channel that changed most
        perturbation = np.take_along_axis(perturbation, np.abs(perturbation).argmax(axis=2)[..., None], 2)[..., 0]
    limit = max(float(epsilon), 1.0)
    left, middle, right = st.columns(3)
    picture(
        display.enlarge(as_picture(image), min_side=side),
        caption=f"{context.image_name}: {names[was]} ({before[was]:.0%})",
        container=left,
    )
    picture(
        display.enlarge(display.to_signed(perturbation, limit=limit), min_side=side),
        caption=f"the change, amplified: red +{epsilon}, blue -{epsilon}",
        container=middle,
    )
    picture(
        display.enlarge(as_picture(changed), min_side=side),
        caption=f"changed: {names[now]} ({after[now]:.0%}); {names[was]} now {after[was]:.0%}",
        container=right,
    )
    legend(display.colorbar(), caption=f"-{epsilon} (blue) · 0 (white) · +{epsilon} (red), of 255")
    st.caption(how_visible(int(epsilon)))
    largest = float(np.abs(difference).max()) if difference.size else 0.0
    if now != was:
        st.warning(
            f"The model now says **{names[now]}** instead of **{names[was]}**, though no pixel moved more than "
            f"{largest:.0f} of 255."
        )
    else:
        st.success(
            f"Still **{names[was]}** ({after[was]:.0%}). Try a larger epsilon"
            + (" or more steps towards the class." if method == "targeted" else ", or aim at a class.")
        )


def how_visible(epsilon: int) -> str:
    """What a change of at most `epsilon` grey levels looks like beside the original, in words that hold
    for what the two pictures above show."""
    if epsilon == 0:
        return "Epsilon 0 changes nothing: both pictures are the same."
    share = f"{epsilon} of 255 ({epsilon / 255:.0%} of the range)"
    if epsilon <= 8:
        return f"At {share} the change is hard to see even side by side; the model may still change its mind."
    if epsilon <= 64:
        return (
            f"At {share} the change is plain to see as speckle, above all on a black background, yet the picture "
            "still shows what it showed: a person reads it as before."
        )
    return (
        f"At {share} the change is so large that the picture itself is changing: a changed answer here says "
        "less about the model. Try 25 or less."
    )
