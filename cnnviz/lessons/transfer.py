"""The lesson "Transfer learning" (`LESSONS["transfer"]`): its steps, in order."""

from __future__ import annotations

from cnnviz.lessons.steps import Lesson, Step

LESSON = Lesson(
    "Transfer learning",
    "Reuse a trained network's convolutional base for a new task with few pictures: freeze it, train a new "
    "head, then fine-tune its top block.",
    20,
    (
        Step(
            "A frozen base against a fresh start",
            "trainer",
            {
                "dataset": "shapes",
                "base": "shipped",
                "per_class": "30",
                "vs": "mnist-fast",
                "epochs": "20",
                "lr": "0.003",
                "batch": "16",
            },
            "The shipped network learned strokes, corners and curves from 8,000 digits. Keep its "
            "convolutional layers with their weights (**frozen**: training does not change them), put "
            "a new Dense head on top, and train only the head on a new task: shapes, with 30 pictures "
            "per class. Beside it, the same kind of network starts from random weights on the same "
            "30 pictures.",
            "Press **Train both**. While they train, read which layers learn in the table of the base, "
            "and the line under it.",
            "Which run ends ahead, and how many of its parameters did the transferred run train?",
            "The transferred run, by far: about 75% of the test shapes against about 50% (your own "
            "figures are in the table under *Compare runs*). It trained 205,444 of its 224,260 "
            "parameters, those of its new head (a Dense layer of 128 on the base's 1,600 values, then "
            "the 4 outputs); the base's 18,816 convolution weights stayed as they were. Few, but they "
            "are the ones that find strokes, corners and curves, and they came trained on digits, while "
            "the fresh network had to learn its edge detectors from 30 pictures per class too.",
            # Nothing to change: the comparison is the step (a teacher's "fix all but the step" fixes it all).
        ),
        Step(
            "Fine-tuning the top block",
            "trainer",
            {
                "dataset": "shapes",
                "base": "run:last",
                "from": "conv2",
                "per_class": "30",
                "epochs": "10",
                "lr": "0.0003",
                "batch": "16",
            },
            "Once the new head is trained, **unfreeze** the top of the base (from conv2 on) and train "
            "it a little too, with a learning rate ten times lower, starting from the run you just "
            "trained.",
            "Train, then compare this run's **test accuracy** with the frozen one's under *Compare "
            "runs*: 400 test shapes. (The validation curves rest on 12 pictures, one picture is 8 points: "
            "too few to tell a small difference.)",
            "Did fine-tuning help, and why the low learning rate?",
            "Here little or not at all: the test accuracy moves by a point or two either way (about 74% "
            "both). With 30 pictures per class there is little to adapt the features with; fine-tuning "
            "pays off with more pictures, or a new task further from the old one. The low learning rate "
            "is what makes it safe to try: a large step would wreck the features the base brought with "
            "it, small steps adapt them. Fine-tune after the head is trained: a random head would send "
            "large, random corrections into the base.",
            focus=("from", "lr"),
        ),
    ),
)
