"""The lesson "Transposed convolution" (`LESSONS["transposed"]`): its steps, in order."""

from __future__ import annotations

from cnnviz.lessons.steps import Lesson, Step, lab

LESSON = Lesson(
    "Transposed convolution",
    "Upsampling a small map with a stride-2 transposed convolution, shown as zeros put between the pixels "
    "and a flipped kernel.",
    10,
    (
        Step(
            "Making a map bigger",
            "lab",
            lab(op="transpose", kernel="box blur", tstride="2", tpad="valid"),
            "Networks that draw pictures (or segment them) must make small maps big again. A "
            "**transposed convolution** with stride 2 does it in two steps: put a zero between every "
            "two pixels of the map, then convolve with the kernel turned upside down.",
            "Read the stages: the small map, the map with zeros inserted, the flipped kernel, the "
            "output. Check the output size against the formula.",
            "A 4x4 map, a 3x3 kernel, stride 2, VALID: how big is the output?",
            "(4 - 1) * 2 + 3 = 9, so 9x9. With SAME padding it is 4 * 2 = 8.",
            focus=("tstride", "tpad"),
        ),
        Step(
            "The same as TensorFlow's",
            "lab",
            lab(op="transpose", kernel="sobel x", tstride="2", tpad="same"),
            "TensorFlow computes `conv2d_transpose` differently (every input pixel stamps the kernel, "
            "scaled, onto the output), but the result is the same numbers. The page checks it.",
            "Change the stride to 3 and the kernel to Sobel y; the difference stays 0.",
            "Why must the kernel be flipped in the zero-insertion version?",
            "Convolution as networks compute it slides the kernel without flipping; stamping the "
            "kernel from each input pixel is the mirror image of that. Flipping turns one into the "
            "other.",
            focus=("tstride", "kernel"),
        ),
    ),
)
