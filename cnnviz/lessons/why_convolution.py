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
            "Press **Train both** and watch the two curves. Then read the parameter counts in the results.",
            "Which network ends ahead, and which has more parameters?",
            "The CNN ends ahead with fewer parameters (on this server 96.8% against 93.0% on the "
            "test digits, with 93,322 parameters against 101,770). The dense network "
            "spends 100,480 of its weights on the first layer alone, one per pixel per unit; a 3x3 "
            "kernel is nine weights used at every position of the picture.",
            focus=("preset", "vs"),
        ),
        Step(
            "When the digit moves",
            "predict",
            {},
            "The dense network learned *this pixel matters for a 7*. Move the 7 and those pixels are "
            "empty. A CNN's kernels find the stroke wherever it is, and pooling forgives small "
            "shifts.",
            "Draw a digit small, near a corner. Read the preparation steps: the page centres the "
            "digit as MNIST did, because the shipped network expects that.",
            "Why does MNIST centre every digit before anyone trains on it?",
            "Because networks trained on centred digits (the dense ones most of all) expect the "
            "strokes in the same place. Centring does by hand what convolution and pooling do partly "
            "by design.",
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
            "Here the validation loss is lowest around epoch 9 and rises after it (0.42 then, 0.51 at "
            "epoch 30) while the training loss keeps going down. Stop there (early stopping), add "
            "dropout or augmentation, or get more pictures.",
            focus=("epochs", "per_class"),
        ),
    ),
)
