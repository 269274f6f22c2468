"""The lesson "What did it learn?" (`LESSONS["what-it-learned"]`): its steps, in order."""

from __future__ import annotations

from cnnviz.lessons.steps import Lesson, Step

LESSON = Lesson(
    "What did it learn?",
    "What one unit of a trained network can see, what excites it, what it needs, how it sorts the test "
    "set, and how a tiny change fools it.",
    20,
    (
        Step(
            "What one unit can see",
            "learned",
            # The unit shown spelled out (the middle of conv2's 11x11 map, where the page starts): a page that
            # writes its own choice into the address adds an entry to the browser's history.
            {"view": "receptive", "layer": "conv2", "row": "5", "col": "5"},
            "A unit of the second convolution never sees the whole digit. It looks at 3x3 values of "
            "the pooled first layer, each of which looked at a few pixels: its **receptive field** is "
            "the window of the input that can change it at all.",
            "Click a few units of conv2's map and watch the window move over the digit. Read the "
            "table of sizes and jumps.",
            "How big is a conv2 unit's window, and do all its pixels count the same?",
            "8x8 pixels, moving 2 pixels from one unit to the next (pooling doubled the step). They "
            "do not count the same: the effective field beside it shows which pixels moved this unit "
            "for this digit, only some of them (a ReLU that is off passes nothing back). Over many "
            "pictures the middle of the window counts most and its edges barely at all (Luo et al., "
            "2016).",
            focus=("layer", "row", "col"),
        ),
        Step(
            "What excites a channel",
            "learned",
            {"view": "featurevis", "fv_layer": "conv2", "channel": "0"},
            "Start from noise and change the picture, step by step, to make one channel answer as "
            "strongly as it can (gradient ascent). The picture you end with is what that channel "
            "looks for; the test digits beside it are the ones that excite it most.",
            "Compute the grid for the whole layer, then compare a channel's picture with its top test patches.",
            "Do the pictures look like digits?",
            "No: a conv2 channel sees only 8x8 pixels, so its favourite input is a piece of stroke "
            "(an edge at an angle, the end of a line, a bend) repeated wherever a unit sits. Digits "
            "are put together from such pieces by the layers after it.",
            focus=("fv_layer", "channel"),
        ),
        Step(
            "What it needs to see",
            "learned",
            # Test digit 4 is a 4 (tests/test_lessons.py checks); Grad-CAM's layer as the page chooses it.
            {"view": "occlusion", "image": "4", "cam_layer": "conv2"},
            "Cover a square of the digit with grey and ask again: if the probability of the class "
            "drops, the network needed that place (Zeiler and Fergus, 2014). No gradients, just "
            "many predictions.",
            "Change the patch size and compare the map with Grad-CAM beside it. Try another test digit.",
            "Which part of the digit, covered, makes the network doubt most?",
            "On this 4, the crossing where its bar meets the right-hand stroke: covered there, the "
            "probability of 4 drops by about a fifth (the caption says by how much), because without it "
            "a 4 could be a 9 or a 1. Covering the empty background changes almost nothing. On other "
            "digits it is again the strokes that tell them from their look-alikes.",
            focus=("patch", "stride"),
        ),
        Step(
            "How it sorts the test set",
            "learned",
            {"view": "embedding"},
            "Take the numbers the network computes just before its last layer, for every test "
            "picture, and flatten them onto a page (PCA). Pictures the network finds alike land "
            "close together. For your own run, the epoch slider shows the groups forming.",
            "Look for the classes that overlap, and for the marked mistakes. Train a run in the "
            "Trainer and come back to move through its epochs.",
            "Which classes lie close together, and where are the mistakes?",
            "Look-alike digits lie close (often 4 and 9, or 3, 5 and 8), and the mistakes sit at "
            "the edges between groups, where the network was torn between two classes.",
            focus=("proj",),
        ),
        Step(
            "Fooling it",
            "learned",
            {"view": "adversarial", "eps": "25", "image": "22"},  # test digit 22 is a 7
            "Change every pixel a little, each in the direction that lowers the score of the right "
            "class (the fast gradient sign method, Goodfellow et al., 2015). On a digit's black "
            "background the change shows as speckle, but we still read the same digit; it is aimed "
            "exactly where the network is sensitive.",
            "Raise epsilon until the prediction changes (for this 7, somewhere past 25). Then try the "
            "targeted attack towards a class you choose.",
            "Why does a change that leaves the digit plainly a 7 to us fool the network, and what does "
            "that say about trusting it?",
            "A network adds up thousands of small contributions; nudging each one slightly in the "
            "worst direction adds up to a large change of the score. It sees different things in a "
            "picture than we do, so a confident answer is not proof that it understood.",
            focus=("eps", "method", "target"),
        ),
    ),
)
