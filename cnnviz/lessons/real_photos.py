"""The lesson "Real photos" (`LESSONS["real-photos"]`): its steps, in order."""

from __future__ import annotations

from cnnviz.lessons.steps import Lesson, Step

LESSON = Lesson(
    "Real photos",
    "Pictures in class folders, and augmentation against overfitting when there are only a few hundred.",
    20,
    (
        Step(
            "Class folders",
            "trainer",
            {"dataset": "horses-humans"},
            "The tutorials trained on photos sorted into one folder per class: `horses/`, `humans/` "
            "(or `cats/`, `dogs/`). The folder name is the label. The Trainer reads the same layout "
            "from a zip, and downloads the tutorials' sets when this server is online.",
            "Open the dataset and look at the class counts and samples. Offline, choose *Synthetic "
            "shapes* or zip your own folders.",
            "Why must every class have roughly as many pictures as the others?",
            "A network that sees nine horses for every human can score 90% by always saying "
            "'horse'. Balanced classes make accuracy mean something.",
            focus=("dataset",),
        ),
        Step(
            "Without augmentation",
            "trainer",
            {
                "dataset": "shapes",
                "per_class": "100",
                "preset": "horses-humans",
                "epochs": "20",
                "lr": "0.001",
                "batch": "32",
                "aug": "0",
            },
            "With only a few hundred pictures (here 100 shapes per class, the tutorials' network "
            "for horses and humans), a network soon memorises them: the training accuracy climbs "
            "while the validation accuracy stays behind.",
            "Train and watch the gap between the training and validation curves (about a minute).",
            "How big is the gap at the end?",
            "Large (on this server about 93% training against 68% validation): the network has "
            "learned the training pictures, not the classes. The next step gives it more varied "
            "pictures without collecting new ones.",
            focus=("aug",),
        ),
        Step(
            "With augmentation",
            "trainer",
            {
                "dataset": "shapes",
                "per_class": "100",
                "preset": "horses-humans",
                "epochs": "20",
                "lr": "0.001",
                "batch": "32",
                "aug": "1",
            },
            "**Augmentation** shows the network each picture a little changed every epoch: turned, "
            "shifted, zoomed, mirrored. It cannot memorise pictures it never sees twice the same.",
            "Look at the augmentation preview, then train and compare with the last run.",
            "Is the gap between training and validation smaller now?",
            "Yes: training accuracy rises more slowly (the task is harder) but validation follows it "
            "(here both about 75%, and the test shapes 68% against 64% without). Augmentation trades "
            "a little training speed for a network that generalises.",
            focus=("aug",),
        ),
    ),
)
