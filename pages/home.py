"""Home: what each page teaches, with links. Paints without TensorFlow or OpenCV."""

import streamlit as st

from app_support.boot import run_through_navigation

run_through_navigation()

st.title("cnnviz: see how convolutional neural networks work")
st.markdown(
    "A convolutional neural network (CNN) looks at a picture through small grids of numbers called "
    "**kernels**. Each kernel slides over the image and, at every position, multiplies what it covers "
    "and adds the products up. Stack many of them, let training choose their numbers, and the network "
    "learns to recognise digits, clothes or cats. These pages let you watch each step."
)

st.subheader("Convolution lab")
st.markdown(
    "Draw, upload, snap or pick an image, then choose a kernel: Sobel, Laplacian, sharpen, blur, line "
    "detectors, or type your own. See the output change live; try stride, padding, ReLU and pooling; "
    "click through the arithmetic of one output pixel; compare every kernel side by side. Share the "
    "link: the settings travel in the URL."
)
st.page_link("pages/convolution_lab.py", label="Open the Convolution lab", icon=":material/blur_on:")

st.subheader("Trainer")
st.markdown(
    "Pick a dataset (real MNIST digits, scikit-learn digits, synthetic shapes, MNIST, Fashion-MNIST or "
    "CIFAR-10 when online, or a zip of your own pictures) and a network (the tutorials' presets or your "
    "own blocks, with every layer's parameter count explained). Train it and watch the loss and accuracy "
    "curves grow live; stop it, compare runs, see the confusion matrix and the mistakes, and take the "
    "model and a plain-Keras script home."
)
st.page_link("pages/trainer.py", label="Open the Trainer", icon=":material/model_training:")

st.subheader("Inside the network")
st.markdown(
    "Open a trained CNN (the shipped MNIST model, a run from the Trainer at any epoch, or your own "
    ".keras file) and look inside: every channel of every layer for up to three images, the learned "
    "filters next to the classic kernels they resemble, and Grad-CAM, Grad-CAM++, Score-CAM and "
    "saliency heatmaps of where the network looked."
)
st.page_link("pages/inside.py", label="Open Inside the network", icon=":material/layers:")

st.subheader("Upload & predict")
st.markdown(
    "A picture in (upload, camera or a drawing), the preparation the model needs shown step by step, "
    "the top classes and the heatmap of why out; many pictures at once as a table you can download, "
    "or a labelled zip scored class by class. The model says when it is not sure."
)
st.page_link("pages/predict.py", label="Open Upload & predict", icon=":material/image_search:")

st.divider()
st.caption(
    "Everything runs on this server with bundled images: scikit-image's and scikit-learn's sample "
    "photos and real MNIST digits (Yann LeCun, Corinna Cortes and Christopher J.C. Burges, CC BY-SA 3.0)."
)
