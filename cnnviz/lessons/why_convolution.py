"""The lesson "Why convolution?" (`LESSONS["why-convolution"]`): its steps, in order."""

from __future__ import annotations

from cnnviz.lessons.steps import Lesson, Step

LESSON = Lesson(
    "Why convolution?",
    "A network of Dense layers only against a small CNN on the same digits: accuracy, parameters, and "
    "what happens when you train too long.",
    20,
    (
        Step(
            "A dense network and a CNN, side by side",
            "trainer",
            {
                "dataset": "mnist-bundled",
                "preset": "dense-only",
                "vs": "mnist-cnn",
                "epochs": "5",
                "lr": "0.001",
                "batch": "64",
                "aug": "0",
            },
            "The first tutorial classified clothes with a network of **Dense** layers only: flatten "
            "the 28x28 picture into 784 numbers, one layer of 128, then 10 outputs. It knows nothing "
            "about which pixels are neighbours. A **CNN** (here the MNIST tutorial's) first slides "
            "small kernels over the picture, so the same edge detector works everywhere.",
            "Press **Train both** and watch the two curves. Then read the test accuracy and the parameters "
            "of both runs in the table under *Compare runs*.",
            "Which network ends ahead, and which has more parameters?",
            "The CNN ends ahead with fewer parameters: about 96% of the test digits against about 93% (read "
            "your own runs' figures in the table; they vary by a point from run to run), with 93,322 "
            "parameters against 101,770. The dense network spends 100,480 of its weights on the first "
            "layer alone, one per pixel per unit; a 3x3 kernel is nine weights used at every position of "
            "the picture.",
            # No focus: the comparison is the step (a teacher's "fix all but the step" fixes both networks).
        ),
        Step(
            "When the digit moves",
            "predict",
            # The dense network of step 1, on the 7 moved 4 pixels right, as it is: not re-centred.
            {"model": "trained:dense-only", "src": "sample", "sample": "mnist digit, moved", "centre": "0"},
            "The dense network learned *these pixels matter for a 7*. Move the 7 and those pixels are "
            "empty. Here is the dense network from step 1 looking at a 7 moved four pixels to the right, "
            "given to it as it is: *Centre the digit* is off, so nothing moves it back.",
            "Read its answer for the moved 7. Tick *Centre the digit* and read it again. Then choose your "
            "CNN from step 1 as the model and do the same; or draw a digit near an edge of the square.",
            "What does the dense network make of the moved 7, and what does centring change?",
            "Moved, the 7 puts its strokes on pixels the dense network learned as parts of other digits, "
            "so it answers another digit, or the right one only weakly. Centred as MNIST's digits were, it "
            "is a 7 again. The CNN's kernels find the strokes wherever they are and pooling forgives a "
            "pixel or two, so it copes better with a small move; but its last layers are Dense too, and a "
            "large move fools it as well. That is why MNIST centres every digit, and why this page does.",
            focus=("centre", "model", "src", "sample", "brush"),
        ),
        Step(
            "Training too long",
            "trainer",
            {
                "dataset": "mnist-bundled",
                "preset": "fashion-cnn",
                "per_class": "50",
                "epochs": "30",
                "lr": "0.001",
                "batch": "32",
                "val": "0.2",
                "aug": "0",
            },
            "Train long on few pictures (here 50 per class) and the network starts to remember the "
            "training pictures instead of learning digits: **overfitting**. Training accuracy keeps "
            "rising; validation accuracy stops, and the validation loss turns back up.",
            "Train and watch the two accuracy curves (and the two loss curves) as the epochs pass.",
            "At which epoch does validation part from training, and what would you do about it?",
            "After about ten epochs: the validation loss is lowest there and rises after it (about 0.26 "
            "then, 0.34 by epoch 30; the message under your run names its own epoch and figures) while the "
            "training loss keeps going down and the training accuracy reaches 100%. Stop there (early "
            "stopping keeps the best epoch's weights), add dropout or augmentation, or get more pictures.",
            focus=("epochs", "per_class"),
        ),
    ),
)
