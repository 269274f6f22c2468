"""The lesson "Inside a trained CNN" (`LESSONS["inside"]`): its steps, in order."""

from __future__ import annotations

from cnnviz.lessons.steps import Lesson, Step

LESSON = Lesson(
    "Inside a trained CNN",
    "The first layers' feature maps for three test digits, drawn as the tutorials drew them, and the "
    "filters the network learned next to the classic kernels.",
    10,
    (
        Step(
            "What the first layer sees",
            "inside",
            # Three different digits (a 5, a 4 and a 2 of the test split: tests/test_lessons.py checks).
            {"model": "default", "view": "maps", "layer": "conv1", "norm": "tutorial", "imgs": "1,4,11"},
            "Every channel of the first convolution is one learned kernel slid over the digit. Each "
            "small picture here is one channel's output, drawn as the tutorials did: "
            "`(x - mean) / std * 64 + 128`, so every channel shows its pattern at the same contrast.",
            "Click a channel to enlarge it. Find one that lights up the left edges of the strokes, "
            "and one that lights up the top edges.",
            "Do the same channels light up the same kind of edge in all three digits?",
            "Yes: a channel is one kernel, and a kernel answers to the same pattern wherever and in "
            "whichever digit it appears. That is why a few dozen channels are enough for ten digits.",
            focus=("layer",),
        ),
        Step(
            "Deeper layers",
            "inside",
            {"model": "default", "view": "maps", "layer": "conv2", "norm": "tutorial", "imgs": "1,4,11"},
            "The second convolution looks at the first layer's maps, not at the pixels. Its maps are "
            "smaller (pooling came before) and its patterns are combinations: corners, loops, ends of "
            "strokes.",
            "Compare a few channels of conv2 with those of conv1. Switch the brightness to *signed*.",
            "Why are the maps of conv2 smaller and coarser than those of conv1?",
            "Pooling halved the maps between the two layers (26x26 to 13x13, and conv2's 3x3 window "
            "leaves 11x11), so each conv2 pixel stands for a larger patch of the digit: it sees more but "
            "less precisely.",
            focus=("layer", "norm"),
        ),
        Step(
            "Learned filters and classic kernels",
            "inside",
            # The layer the page opens on, spelled out: a page that writes its own choice into the address
            # adds an entry to the browser's history (Back would take two presses).
            {"model": "default", "view": "filters", "flayer": "conv1"},
            "Training chose the first layer's 3x3 kernels. Next to each is the classic kernel from "
            "the lab that it looks most like.",
            "Find a learned filter that resembles Sobel or Prewitt. Then open the Convolution lab "
            "and try that classic kernel on a digit.",
            "Did the network reinvent edge detectors?",
            "Many of its filters are close to an edge detector in some direction: a similarity near 1 "
            "(or near -1, the same edge with its signs flipped) to Prewitt or Sobel, 0.8 and more for "
            "several. Nobody told it to; edges are what tell digits apart.",
        ),
    ),
)
