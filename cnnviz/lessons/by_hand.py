"""The lesson "Convolution by hand" (`LESSONS["by-hand"]`): its steps, in order."""

from __future__ import annotations

from cnnviz.lessons.steps import Lesson, Step, lab

LESSON = Lesson(
    "Convolution by hand",
    "A 3x3 kernel slides over a photo, one sum at a time; then 2x2 max pooling halves the picture.",
    15,
    (
        Step(
            "A kernel is nine numbers",
            "lab",
            lab(sample="camera", colour="gray", kernel="tutorial horizontal", post="clip"),
            "A **kernel** is a small grid of numbers. Put it on the photo, multiply each pixel under it "
            "by the number on top of it, and add the nine products: that sum is **one** pixel of the "
            "output. Slide the kernel one pixel and do it again, everywhere. This kernel has -1 -2 -1 "
            "on top and 1 2 1 below, so it answers where the picture gets brighter from top to bottom.",
            "The last picture is the output clipped to 0..255, a grey picture (the one before it shows the "
            "raw sums: red above 0, blue below). Click a bright pixel of it, then a dark one, and read the "
            "nine products under each.",
            "Why is the clipped output black over the sky, where the photo is bright?",
            "The kernel's numbers add up to 0. Over an even patch (bright or dark) the negative and "
            "positive products cancel out, so the sum is about 0: black. Only a change from top to "
            "bottom leaves something over.",
            focus=("kernel", "row", "col"),
        ),
        Step(
            "Three kernels, three pictures",
            "lab",
            lab(sample="camera", colour="gray", kernel="tutorial vertical", post="clip"),
            "The tutorial tried three kernels on the same photo: one for horizontal lines (the last "
            "step), this one for vertical lines (the same numbers turned on their side), and an edge "
            "kernel with -4 in the middle, the **Laplacian**.",
            "Switch the kernel between *tutorial horizontal*, *tutorial vertical* and *tutorial "
            "laplacian*. Then choose *Every kernel side by side*.",
            "Which kernel draws the tripod's legs most brightly, and which the horizon behind him?",
            "The legs are nearly vertical lines: *tutorial vertical* lights them up. The horizon is "
            "a horizontal line: *tutorial horizontal*. The Laplacian answers to edges in every "
            "direction, but weakly, because it compares a pixel with its four neighbours only.",
            focus=("kernel", "view"),
        ),
        Step(
            "Weight and clipping",
            "lab",
            lab(sample="camera", colour="gray", kernel="tutorial laplacian", post="clip", weight="2"),
            "The tutorial multiplied every sum by a **weight** and then **clipped** it to 0..255, the "
            "range a picture can show: a sum of -300 becomes 0 (black), 700 becomes 255 (white).",
            "Change the weight from 2 to 0.5 and then to 5. Switch the activation from *Clip to "
            "0..255* to *None (raw sums)* and look at the colour bar.",
            "What does a large weight do to the picture, and why do the raw sums need a colour bar?",
            "A large weight pushes more sums past 255, so more edges turn pure white (and detail is "
            "lost). Raw sums can be negative or far above 255: they are not a picture until you "
            "decide how to show them, which is what clipping (or the colour bar) does.",
            focus=("weight", "post"),
        ),
        Step(
            "2x2 max pooling halves the picture",
            "lab",
            lab(sample="camera", colour="gray", kernel="tutorial vertical", post="clip", pad="same", pool="max"),
            "**Max pooling** cuts the output into 2x2 squares and keeps only the largest number of "
            "each. With SAME padding the convolution keeps the photo's 512x512, and pooling makes it "
            "256x256: a quarter of the pixels.",
            "Read the shapes under the pictures. Click a pixel of the pooled map and look at its four "
            "candidates. Then try *Average pooling*.",
            "The pooled picture has a quarter of the pixels. Are the vertical lines still there?",
            "Yes: a line that passes through a 2x2 square still makes that square's maximum large, so "
            "every line survives, only thinner in pixels. That is the point of pooling: keep the "
            "features, drop three quarters of the numbers the next layer has to handle.",
            focus=("pool",),
        ),
    ),
)
