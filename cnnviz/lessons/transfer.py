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
            "Press **Train both**. While they train, read which layers learn in the table of the base.",
            "Which run ends ahead, and how many of its parameters did the transferred run train?",
            "The transferred run, by far (on this server 73% against 50% on the test shapes). It "
            "trained only its new head: the base's convolutions kept what they learned on digits, so "
            "30 pictures per class were enough for the head, while the fresh network had to learn its "
            "edge detectors from those few pictures too.",
            focus=("base", "from", "vs"),
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
            "Train, then compare this run with the frozen one under *Compare runs*.",
            "Did fine-tuning help, and why the low learning rate?",
            "A little (here about 4 points, to 77%). A large step would wreck the features the base "
            "brought with it; small steps adapt them to shapes. Fine-tune after the head is trained: "
            "a random head would send large, random corrections into the base.",
            focus=("from", "lr"),
        ),
    ),
)
