"""What did it learn? Receptive fields, feature visualisation, occlusion, embeddings over epochs and
adversarial examples: one view at a time, on the app's own models."""

import streamlit as st

from app_support.common import lesson_view
from app_support.common.boot import run_through_navigation
from app_support.common.model_source import choose_model
from app_support.common.model_views import at_epoch, prediction_line
from app_support.common.render import small_picture
from app_support.common.state import locked_note, restore
from app_support.learned import context as view
from app_support.learned import views
from cnnviz import display

run_through_navigation()
step = lesson_view.arrive("learned", view.SETTINGS)  # a lesson step's link sets the view as written
restore(view.SETTINGS)

st.title("What did it learn?")
st.caption(
    "Five ways to look at what a trained CNN has learned, one at a time: what each unit can see, what "
    "excites a channel, which parts of a picture it needs, how it sorts the test set, and how easily it "
    "is fooled."
)
lesson_view.banner(step)
note = locked_note()
if note:
    st.info(note)
# The view first: it is what a learner came for; the model and the picture it explains come after.
shown = views.choose_view()
picture_needed = views.needs_picture(shown)
with st.container(horizontal=True, gap="small"):
    with st.container(width=290):
        choice = choose_model(view.PREFIX, untrained=shown == "receptive")  # ResNet-34's receptive fields
        if choice is not None:
            # The embedding has its own epoch scrubber (it moves through every epoch's projection).
            model, when = (choice.model, "") if views.own_epochs(shown) else at_epoch(choice, view.PREFIX)
            shape = tuple(int(n) for n in model.inputs[0].shape[1:])
            st.caption(f"{choice.title}{when}: input {'x'.join(map(str, shape))}, {len(choice.class_names)} classes.")
    image, name = None, ""
    if choice is not None and picture_needed:
        with st.container(width=250):
            image, name = view.choose_picture(choice, shape)
        if image is not None:
            with st.container(width=320, horizontal=True, gap="small"):
                small_picture(display.enlarge(view.as_picture(image), min_side=84), width=84)
                with st.container(width="stretch"):
                    st.caption(name)
                    prediction_line(model, choice, image)

if choice is None:
    st.info("Choose a model above.")
elif picture_needed and image is None:
    st.info("Choose a picture above.")
else:
    context = view.Context(model, choice, image, name, view.model_key(choice, model), when)
    views.draw(shown, context)
with st.expander("Limits on this server"):
    st.caption(view.limits_note())
