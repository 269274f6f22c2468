"""The lesson "Why this answer?" (`LESSONS["why-this-answer"]`): its steps, in order."""

from __future__ import annotations

from cnnviz.lessons.steps import Lesson, Step

LESSON = Lesson(
    "Why this answer?",
    "Heatmaps of the pixels that made a network decide, for the class it chose and for the others.",
    10,
    (
        Step(
            "Where the network looked",
            "inside",
            # Test digit 22 is a 7 (tests/test_lessons.py checks), the digit the question asks about.
            {"model": "default", "view": "heatmaps", "imgs": "22", "camlayer": "conv2"},
            "A **heatmap** (Grad-CAM: Selvaraju et al., 2017) colours the places that raised the score "
            "of a class: red is strong evidence, blue none. It is computed from the last convolution's "
            "maps and how much each one matters for that class.",
            "Look at where the heat sits on the 7 for its own class. Then choose 3 as the class.",
            "When you ask 'why a 3?' of this 7, where does the heat go, and how much does it mean?",
            "Up to the top of the 7, its bar and bend, the part a 3 shares (a 3 starts with an arc "
            "across the top), and off the long downstroke, which argues for a 7. Each map is coloured "
            "from its own weakest to its own strongest place, so red here is not strong evidence: the "
            "network gives 3 about 0% (read the prediction line). A heatmap says where, not how much.",
            focus=("class",),
        ),
        Step(
            "A coarser or finer layer",
            "inside",
            {"model": "default", "view": "heatmaps", "imgs": "22", "camlayer": "conv1"},
            "The heatmap is only as sharp as the layer it comes from. The first convolution's maps are "
            "26x26; the last one's are 11x11 and know more about classes.",
            "Switch the layer between conv1 and conv2 and compare the methods.",
            "Which layer gives a sharper map, and which a more meaningful one?",
            "conv1 is sharper but answers to any edge; conv2 is coarser but its channels stand for "
            "parts of digits, so its heat follows what decides the class.",
            focus=("camlayer",),
        ),
        Step(
            "On a photo",
            "predict",
            # MobileNetV2: the smallest download (14 MB); without its weights the page says how to get them.
            {"model": "imagenet:MobileNetV2", "src": "sample", "sample": "chelsea", "centre": "1"},
            "On a photo and an ImageNet network (when this server has its weights) the heatmap shows "
            "which part of the scene made it say 'tabby cat' or 'espresso'.",
            "Read where the heat sits on the cat. Then upload a photo of your own. Offline, the page "
            "says how to get the weights.",
            "Does the heat sit on the cat's face or on the background?",
            "Mostly on the face and fur: the network uses the object. When the heat sits on the "
            "background, the network may have learned a shortcut from its training pictures.",
        ),
    ),
)
