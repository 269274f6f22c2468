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
            "Large: about 95% training against about 60% validation at the end (read your own run's "
            "figures in its table; the validation set is 40 pictures, so a few more right or wrong move "
            "it by several points). The network has learned the training pictures, not the classes; "
            "the message under the run says when its validation loss stopped improving. The next step "
            "gives it more varied pictures without collecting new ones.",
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
            "Yes: training accuracy rises more slowly (the task is harder), to about 75%, and validation "
            "stays closer behind it (about 68%): a gap of about 10 points instead of about 35. On the 400 test "
            "shapes it does better too (about 72% against about 60% without; compare the two runs' test "
            "accuracy under *Compare runs*). Augmentation trades a little training speed for a network "
            "that generalises.",
            focus=("aug",),
        ),
    ),
)
