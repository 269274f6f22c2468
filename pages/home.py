"""Home: a first visit's path, and what each page teaches, with a picture and a link. Paints without
TensorFlow or OpenCV."""

from pathlib import Path

import streamlit as st

from app_support.common.boot import run_through_navigation
from cnnviz import lessons

run_through_navigation()

PICTURES = Path(__file__).resolve().parent.parent / "docs" / "pages"  # made by docs/screenshots.py

st.title("cnnviz: see how convolutional neural networks work")
st.markdown(
    "A convolutional neural network (CNN) looks at a picture through small grids of numbers called "
    "**kernels**. Each kernel slides over the image and, at every position, multiplies what it covers "
    "and adds the products up. Stack many of them, let training choose their numbers, and the network "
    "learns to recognise digits, clothes or cats. These pages let you watch each step."
)

st.markdown("##### Start here: the lessons")
st.markdown(
    "Nine short lessons lead you through the ideas, from one kernel worked out by hand to reusing a "
    "trained network and asking what it learned. Each step opens the right page already set up, with "
    "something to try and a question the picture answers. Teachers: every step has a link that opens "
    "it as written, with controls you can fix or hide and a projector view."
)
with st.container(horizontal=True, gap="small"):
    st.page_link(
        "pages/convolution_lab.py",
        label="Lesson 1: convolution by hand",
        icon=":material/play_arrow:",
        query_params=lessons.step_query("by-hand", 0),
    )
    st.page_link("pages/lessons.py", label="All lessons", icon=":material/school:")

st.markdown("##### Or explore on your own: four steps, about fifteen minutes")
st.markdown(
    "1. **Convolution lab**: Sobel x is already chosen. Click the output where it is red or blue and read "
    "the nine products that made that pixel; then pick *Box blur* and see the picture come back.\n"
    "2. **Trainer**: real MNIST digits and a small CNN are already chosen. Press **Train** and watch the "
    "accuracy climb (about a minute on this server).\n"
    "3. **Inside the network**: choose your run, move the epoch slider, and click a channel to see what "
    "one filter finds in a digit.\n"
    "4. **Upload & predict**: draw a digit and see which pixels convinced the network."
)

PAGES = [
    (
        "Convolution lab",
        "lab.png",
        "Draw, upload, snap or pick an image, then choose a kernel: Sobel, Laplacian, sharpen, blur, line "
        "detectors, or type your own. Click any output pixel to see its arithmetic; try stride, padding, a "
        "bias, ReLU and pooling; on a colour image see how one Conv2D filter adds up its three channels. "
        "Share the link: the settings travel in the URL.",
        "pages/convolution_lab.py",
        ":material/blur_on:",
    ),
    (
        "Trainer",
        "trainer.png",
        "Pick a dataset (real MNIST digits, scikit-learn digits, synthetic shapes, MNIST, Fashion-MNIST or "
        "CIFAR-10 when online, or a zip of your own pictures) and a network (the tutorials' presets or your "
        "own blocks, with every layer's parameter count explained). Train it and watch the curves grow live; "
        "compare runs, click the confusion matrix to see the mistakes, and take the model and a script home.",
        "pages/trainer.py",
        ":material/model_training:",
    ),
    (
        "Inside the network",
        "inside.png",
        "Open a trained CNN (the shipped MNIST model, your run at any epoch, an ImageNet network or your own "
        ".keras file) and look inside: every channel of every layer for up to three images, the learned "
        "filters next to the classic kernels they resemble, and heatmaps of where the network looked.",
        "pages/inside.py",
        ":material/layers:",
    ),
    (
        "Upload & predict",
        "predict.png",
        "A picture in (a drawing, an upload or the camera), the preparation the model needs shown step by "
        "step, the top classes and the heatmap of why out. The model says when it is not sure, and when a "
        "picture looks like nothing it was trained on.",
        "pages/predict.py",
        ":material/image_search:",
    ),
]

for row in (PAGES[:2], PAGES[2:]):
    for column, (title, picture, text, page, icon) in zip(st.columns(2, gap="large"), row, strict=True):
        with column:
            st.subheader(title)
            if (PICTURES / picture).exists():
                st.image(str(PICTURES / picture), width="stretch")
            st.markdown(text)
            st.page_link(page, label=f"Open {'the ' if title == 'Convolution lab' else ''}{title}", icon=icon)

st.divider()
st.caption(
    "Everything runs on this server with bundled images: scikit-image's and scikit-learn's sample "
    "photos and real MNIST digits (Yann LeCun, Corinna Cortes and Christopher J.C. Burges, CC BY-SA 3.0)."
)
