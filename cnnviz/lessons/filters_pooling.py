"""The lesson "Filters and pooling as a network sees them" (`LESSONS["filters-pooling"]`): its steps, in order."""

from __future__ import annotations

from cnnviz.lessons.steps import Lesson, Step, lab

LESSON = Lesson(
    "Filters and pooling as a network sees them",
    "7x7 line filters on a handwritten 7, SAME against VALID padding, three kinds of pooling, and what "
    "pooling keeps when the picture moves.",
    15,
    (
        Step(
            "A vertical line filter",
            "lab",
            # A light digit on black: nothing but strokes, one upright and one across. The output pixel
            # opened on is on the upright stroke (its seven products are all ink).
            lab(
                sample="mnist digit",
                colour="gray",
                kernel="vertical line 7x7",
                post="relu",
                pad="same",
                row="11",
                col="19",
            ),
            "A network's filters are often bigger than 3x3. This 7x7 filter has ones down its middle "
            "column and zeros elsewhere: it adds up seven pixels on top of each other, so it answers "
            "most where a bright line runs straight down. Here it meets a handwritten 7: one stroke "
            "across the top, one running down.",
            "Read the seven products down the middle column for the pixel shown, where the downstroke "
            "starts. Click a pixel of the top bar in the output and read them again. Then switch to "
            "*horizontal line 7x7*.",
            "Which stroke of the 7 does each filter make bright, and why?",
            "The vertical filter makes the downstroke bright and the top bar dim: at the pixel shown six "
            "of the seven pixels in its column are ink (1,496), while a column across the bar, which is "
            "two or three pixels thick, holds two or three (about 500). The horizontal filter is the "
            "other way round: the top bar lights up (up to 1,749) and the downstroke stays dim. A network "
            "learns dozens of such filters on its own, each answering one direction or pattern.",
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
            # The identity kernel leaves the digit as it is, so the pooled maps show pooling alone, drawn
            # on one 0..255 scale (stretched, each would look the same). The pixel opened on starts the
            # 2x2 square 254, 62 / 187, 5 on the edge of the downstroke.
            lab(
                sample="mnist digit",
                colour="gray",
                kernel="identity",
                pad="same",
                pool="max",
                display="clipped",
                row="14",
                col="18",
            ),
            "Pooling summarises each 2x2 square: **max** keeps the strongest value, **average** the "
            "mean. **Global average pooling** goes all the way: one number per map, the mean of the "
            "whole thing, which is how many networks end before their last Dense layer. The kernel here "
            "is the identity (it leaves the digit as it is), so what you see is the pooling alone.",
            "Compare the pooled 7 with max pooling, then with average pooling, and read the four "
            "candidates of the pooled pixel shown. Then choose global average pooling.",
            "Why are the strokes dimmer and fuzzier after average pooling than after max pooling?",
            "A stroke two or three pixels wide covers only part of most 2x2 squares along its edges. Max "
            "keeps the brightest of the four: the square shown (254, 62, 187, 5) gives 254, the stroke at "
            "full strength. The average mixes it with the dark pixels beside it: (254 + 62 + 187 + 5) / 4 "
            "= 127, half as bright, so the strokes come out grey at their edges.",
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
