"""The Trainer's settings that live in the URL, so that a lesson step or a teacher's link opens it set up:
the dataset, the network (a preset, or a trained base and the layer it learns from), the training
settings, and the partner trained side by side.

Most settings are kept per dataset (each dataset starts from its own defaults, `jobs.default_setup`),
so their session-state keys name the dataset; `settings_for(name)` gives the list for one dataset. The
URL names are the ones the lessons use (`cnnviz.lessons`).
"""

from __future__ import annotations

import streamlit as st

from app_support.common import lesson_view, state
from app_support.common.state import Setting
from cnnviz import box_data, datasets, jobs, lessons, models, training
from cnnviz.localization import LossWeights

UPLOAD, OWN = "upload", "own"  # the picker's own sources (app_support.trainer.data)
UPLOAD_BOXES = "upload-boxes"  # a zip of class folders with a boxes.csv each (app_support.trainer.boxes)
BOX_DATASETS = (*box_data.NAMES, UPLOAD_BOXES)  # pictures with boxes: a run learns the class and the box
DATASET = Setting(
    "trainer_dataset", "dataset", "mnist-bundled", choices=(*datasets.NAMES, *BOX_DATASETS, UPLOAD, OWN)
)  # the picker lives in trainer_data.py; restoring its key before it is drawn sets it
NO_PARTNER = ""
PARTNER = Setting("trainer_vs", "vs", NO_PARTNER, choices=(NO_PARTNER, *models.PRESETS))
NO_BASE = ""
BASE = Setting("trainer_base", "base", NO_BASE)  # "", "shipped", "imagenet:<name>", "upload", "run:<number>"
TRAIN_FROM = Setting("trainer_train_from", "from", "")  # "" keeps the base frozen
BATCHES = (16, 32, 64, 128, 256)
GENERIC_AUGMENTATION = models.Augmentation(rotation=15, shift=0.1, zoom=0.1)  # for datasets whose default has none


def augmentation_default(name: str) -> models.Augmentation:
    """The augmentation the sliders start at for a dataset: its default, or a moderate one."""
    _, config = jobs.default_setup(name)
    return config.augmentation if config.augmentation.active else GENERIC_AUGMENTATION


def settings_for(name: str) -> list[Setting]:
    """Every URL-backed Trainer setting, with the session keys and defaults of dataset `name`."""
    preset, config = jobs.default_setup(name)
    return [
        DATASET,
        Setting(f"trainer_preset_{name}", "preset", preset, choices=tuple(models.PRESETS)),
        PARTNER,
        BASE,
        TRAIN_FROM,
        Setting(f"trainer_per_class_{name}", "per_class", 0, bounds=(0, 100_000)),
        Setting(f"trainer_optimizer_{name}", "opt", config.optimizer, choices=training.OPTIMIZERS),
        Setting(f"trainer_lr_{name}", "lr", float(config.learning_rate), bounds=(0.0, 100.0)),
        Setting(f"trainer_batch_{name}", "batch", config.batch_size, choices=BATCHES),
        Setting(f"trainer_epochs_{name}", "epochs", config.epochs, bounds=(1, 200)),
        Setting(f"trainer_val_{name}", "val", float(config.validation_split), bounds=(0.0, 0.5)),
        Setting(f"trainer_aug_{name}", "aug", config.augmentation.active),
        # The two heads' loss weights (a dataset with boxes): the tutorial's 0.8 / 0.2 to start
        Setting(f"trainer_cw_{name}", "cw", LossWeights().class_weight, bounds=(0.0, 10.0)),
        Setting(f"trainer_bw_{name}", "bw", LossWeights().box_weight, bounds=(0.0, 10.0)),
    ]


_ARRIVED = "_trainer_arrived"  # the lesson step whose dataset this session last set


def _dataset_now() -> str:
    """The dataset the page shows on this run: a newly opened lesson step's, else the session's (or the
    URL's, or the default)."""
    where = lesson_view.position()
    if where is not None and st.session_state.get(_ARRIVED) != where:
        chosen = lessons.step(*where)
        if chosen.page == "trainer":
            return DATASET.parse(chosen.settings.get(DATASET.param, DATASET.default))
    state.restore([DATASET])
    return st.session_state[DATASET.key]


def arrive() -> tuple[list[Setting], tuple[str, int] | None]:
    """Before any widget: the settings of the dataset shown, set from a lesson step opened now or from
    the URL (a shared link) or kept from earlier; and the lesson step, if any."""
    settings = settings_for(_dataset_now())
    where = lesson_view.arrive("trainer", settings)
    st.session_state[_ARRIVED] = where
    state.restore(settings)
    return settings, where


def locked(widget, setting: Setting, *args, **kwargs):
    """Draw `widget` for `setting` as a teacher's link asks (read-only when fixed, not drawn when hidden)."""
    return state.locked_widget(widget, setting.param, *args, key=setting.key, **kwargs)


def by_param(settings: list[Setting], param: str) -> Setting:
    """The setting with this URL name."""
    return next(setting for setting in settings if setting.param == param)
