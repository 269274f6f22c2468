"""The lesson "Filters and pooling as a network sees them" (`LESSONS["filters-pooling"]`): its steps, in order."""

from __future__ import annotations

from cnnviz.lessons.steps import Lesson, Step, lab

LESSON = Lesson(
    "Filters and pooling as a network sees them",
    "7x7 line filters on two photos, SAME against VALID padding, three kinds of pooling, and what pooling "
    "keeps when the picture moves.",
    15,
    (
        Step(
            "A vertical line filter",
            "lab",
            lab(sample="china", colour="gray", kernel="vertical line 7x7", post="relu", pad="valid"),
            "A network's filters are often bigger than 3x3. This 7x7 filter has ones down its middle "
            "column and zeros elsewhere: it adds up seven pixels on top of each other, so it answers "
            "most where a bright line runs straight down.",
            "Look at the temple's pillars and the roof's edges. Switch to *horizontal line 7x7*.",
            "Which parts of the temple does each filter pick out?",
            "The vertical filter picks out the pillars and the upright edges; the horizontal one the "
            "eaves and steps. A network learns dozens of such filters on its own, each answering one "
            "direction or pattern.",
            focus=("kernel",),
        ),
        Step(
            "SAME against VALID",
            "lab",
            lab(sample="flower", colour="gray", kernel="horizontal line 7x7", post="relu", pad="valid"),
            "With **VALID** padding the 7x7 filter only goes where it fits entirely inside the picture, "
            "so the output loses 3 pixels on every side: the 342x512 picture becomes 336x506. **SAME** pads the "
            "picture with zeros so the output keeps the input's size.",
            "Switch the padding between VALID and SAME and read the shapes and their formulas. Click a "
            "pixel at the very edge of the SAME output.",
            "Where does SAME get the numbers for the window at the edge?",
            "From zeros added around the picture. The window at the edge covers some of them, so edge "
            "pixels of a SAME output are computed from fewer real pixels.",
            focus=("pad",),
        ),
        Step(
            "Max, average, global",
            "lab",
            lab(sample="flower", colour="gray", kernel="vertical line 7x7", post="relu", pool="max"),
            "Pooling summarises each 2x2 square: **max** keeps the strongest answer, **average** the "
            "mean. **Global average pooling** goes all the way: one number per map, the mean of the "
            "whole thing, which is how many networks end before their last Dense layer.",
            "Try max, then average pooling, and compare the two pictures. Then choose global average pooling.",
            "Why does max pooling look sharper than average pooling?",
            "A thin bright line covers only part of each 2x2 square. Max keeps its full strength; the "
            "average mixes it with the dark pixels beside it, so lines come out dimmer and blurred.",
            focus=("pool",),
        ),
        Step(
            "What pooling keeps when the picture moves",
            "lab",
            lab(sample="flower", colour="gray", kernel="vertical line 7x7", post="relu", pool="max", dx="1"),
            "Move the picture a pixel to the right: every number of the convolution's output moves "
            "with it, so place by place most of them change. After max pooling more of them stay the "
            "same (on this photo about a third, against a fifth before pooling), because the "
            "strongest pixel is often still inside the same 2x2 square. This is the small "
            "*invariance* to shifts that pooling buys.",
            "Change the shift from 1 to 2 and to 3 pixels and watch how many pooled values stay the same.",
            "Why does a shift of 2 pixels change more pooled values than a shift of 1?",
            "A 2x2 window has two places for its maximum along each direction. One pixel of shift "
            "keeps many maxima in their square; two pixels move every maximum into the next square, "
            "so the pooled map itself moves by a whole pixel and, place by place, changes about as "
            "much as the convolution did. Pooling forgives small shifts, not large ones: deeper "
            "layers with more pooling forgive larger ones.",
            focus=("dx", "pool"),
        ),
    ),
)
