"""The baseline for bench/lab.py: a one-widget Streamlit page doing the lab's convolution and drawing."""

import streamlit as st

from cnnviz import display, images, kernels, ops

image = images.load_sample("camera")
name = st.selectbox("Kernel", list(kernels.KERNELS), format_func=str.capitalize)
output = ops.conv2d(image, kernels.KERNELS[name])
st.image(display.enlarge(display.render(output, "signed"), min_side=200), caption="convolution")
