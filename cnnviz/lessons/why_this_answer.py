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
            {"model": "default", "view": "heatmaps", "imgs": "0"},
            "A **heatmap** (Grad-CAM: Selvaraju et al., 2017) colours the places that raised the score "
            "of a class: red is strong evidence, blue none. It is computed from the last convolution's "
            "maps and how much each one matters for that class.",
            "Look at where the heat sits on the digit. Change the class to another digit.",
            "When you ask 'why a 3?' of a 7, where does the heat go?",
            "To the few strokes a 3 and a 7 share, or nowhere: there is little evidence for a 3, so "
            "the map is weak or flat.",
            focus=("class",),
        ),
        Step(
            "A coarser or finer layer",
            "inside",
            {"model": "default", "view": "heatmaps", "imgs": "0", "camlayer": "conv1"},
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
            {},
            "On a photo and an ImageNet network (when this server has its weights) the heatmap shows "
            "which part of the scene made it say 'tabby cat' or 'espresso'.",
            "Choose an ImageNet model and the cat photo, or upload your own. Offline, the page says "
            "how to get the weights.",
            "Does the heat sit on the cat's face or on the background?",
            "Mostly on the face and fur: the network uses the object. When the heat sits on the "
            "background, the network may have learned a shortcut from its training pictures.",
        ),
    ),
)
