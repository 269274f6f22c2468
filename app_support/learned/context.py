"""What did it learn? What every view shares: the page's URL settings, the context a view draws
from, the picture the views explain, a small shared cache, and the classroom limits the views keep.

The views live one to a module beside this one (`receptive`, `features`, `occlusion`, `embed`,
`adversarial`) and import this module; the table of views, `views.views()`, imports them, so
nothing here imports a view back.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st

from app_support.common import state
from app_support.common.inputs import image_input
from app_support.common.model_source import ModelChoice
from app_support.common.model_views import model_token
from app_support.common.state import Setting
from cnnviz import cam
from cnnviz.errors import InvalidInput
from cnnviz.predict import prepare_input

PREFIX = "learned"
KEEP = "session"  # a view's choices outlive it: back from another view (or page), all is as it was
PICTURE_SIDE = 240  # pixels the views' pictures are enlarged to (crisp when the browser shrinks them)

# What a classroom server (2 cores, a few GB shared by a class) can do for one learner within
# seconds. Each view refuses beyond these with a message instead of hanging the server.
MAX_VIS_CHANNELS = 64  # feature visualisation: channels in a layer's grid
BIG_INPUT = 96 * 96  # inputs above this (ImageNet's 224x224) get 64 ascent steps, not 128 (featurevis.GRID_LIMIT
# already keeps their layer grids away: 11 channels of a 224x224 picture at most)
# Test images projected: t-SNE and UMAP grow faster than N (600 digits: about 3 s of t-SNE on 2 cores).
EMBED_POINTS = {"pca": 2000, "tsne": 600, "umap": 600}
EMBED_VALUES = 1_000_000  # pictures x features per projection (8 MB as float64): a wide layer gets fewer pictures
EMBED_FEWEST = 200


class SharedStore:
    """Results shared by every session, the last `size` kept (least recently used goes first), safe
    across the server's script threads. Not st.cache_data: what fills it draws a progress bar while it
    computes. Hold one in an `st.cache_resource`."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        """The value kept for `key` (now the most recently used), or None."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._items

    def put(self, key, value):
        """Keep `value` for `key`, dropping the least recently used beyond `size`; returns `value`."""
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


@dataclass
class Context:
    """What every view gets: the model (at the scrubbed epoch), the choice it came from, the picture
    (as the model takes it, (H, W, C) uint8) with its name, and a key naming the model for caches."""

    model: object
    choice: ModelChoice
    image: np.ndarray | None
    image_name: str
    model_key: str
    epoch_note: str = ""

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.model.inputs[0].shape[1:])

    @property
    def big(self) -> bool:
        height, width, _ = self.input_shape
        return height * width > BIG_INPUT


VIEW_NAMES = ("receptive", "featurevis", "occlusion", "embedding", "adversarial")

SETTINGS = [
    Setting("learned_view", "view", "receptive", choices=VIEW_NAMES),
    Setting("learned_picture", "picture", "test", choices=("test", "own")),
    Setting("learned_image", "image", 0, bounds=(0, 1_000_000)),
    # Layers: one per view ("" is the view's default layer), so moving between views keeps each one's.
    Setting("learned_rf_layer", "layer", ""),
    Setting("learned_row", "row", -1, bounds=(-1, 100_000)),  # -1: the centre unit
    Setting("learned_col", "col", -1, bounds=(-1, 100_000)),
    Setting("learned_fv_layer", "fv_layer", ""),
    Setting("learned_channel", "channel", 0, bounds=(0, 4095)),
    Setting("learned_cam_layer", "cam_layer", ""),
    Setting("learned_class", "class", -1, bounds=(-1, 100_000)),  # -1: the predicted class
    Setting("learned_patch", "patch", 0, bounds=(0, 512)),  # 0: a third of the picture's side (cam.default_occlusion)
    Setting("learned_stride", "stride", 0, bounds=(0, 512)),  # 0: half the patch
    Setting("learned_emb_layer", "emb_layer", ""),
    Setting("learned_projection", "proj", "pca", choices=("pca", "tsne", "umap")),
    Setting("learned_method", "method", "fgsm", choices=("fgsm", "targeted")),
    Setting("learned_epsilon", "eps", 25, bounds=(0, 255)),
    Setting("learned_target", "target", 0, bounds=(0, 100_000)),
]
BY_KEY = {setting.key: setting for setting in SETTINGS}


def control(widget: Callable, label: str, key: str, *args, **options):
    """Draw `widget` for the URL-backed setting `key`, as a teacher's link wants it: read-only when
    the link fixes it (`?fix=`), not drawn when it hides it (`?hide=`). Returns the value."""
    return state.locked_widget(widget, BY_KEY[key].param, label, *args, key=key, persist_state=KEEP, **options)


def keep_within(key: str, options: list, default) -> None:
    """Before drawing a selectbox: a value this model does not offer (another model's layer, a
    link's typo, '' for the default) becomes `default`."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


def choose_picture(choice: ModelChoice, shape: tuple[int, int, int]) -> tuple[np.ndarray | None, str]:
    """The one picture the views explain: a test image by number (its label shown), or your own
    (prepared as the model takes it). Returns ((H, W, C) uint8, name) or (None, '')."""
    sources = ["test"] if choice.dataset is not None else []
    sources.append("own")
    keep_within("learned_picture", sources, sources[0])
    labels = {"test": "A test image", "own": "Your image"}
    source = control(st.radio, "Picture", "learned_picture", sources, format_func=labels.get, horizontal=True)
    if source == "test":
        count = len(choice.dataset.x_test)
        wanted = control(
            st.number_input,
            "Test image",
            "learned_image",
            0,
            1_000_000,
            help=f"Its number in the test split (0 to {count - 1}), images the model never trained on.",
        )
        index = min(int(wanted), count - 1)
        label = choice.class_names[int(choice.dataset.y_test[index])]
        return np.asarray(choice.dataset.x_test[index]), f"test #{index} (labelled {label})"
    image, name = image_input(f"{PREFIX}_own", max_side=512)
    if image is None:
        return None, ""
    try:
        prepared, _ = prepare_input(image, shape, digit_like=choice.digit_like)
    except InvalidInput as error:
        st.error(str(error))
        return None, ""
    return prepared, name


def model_key(choice: ModelChoice, model) -> str:
    """Names a loaded model for the caches: the same model (and epoch) gives the same key in every
    session; a model that was unloaded and loaded again gets a new one."""
    return f"{choice.title}@{model_token(model)}"


def as_picture(image: np.ndarray) -> np.ndarray:
    """(H, W, 1) -> (H, W); colour stays (H, W, 3)."""
    image = np.asarray(image)
    return image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image


def limits_note() -> str:
    return (
        "Limits on this shared server, so one learner cannot stall the class: occlusion makes at most "
        f"{cam.OCCLUSION_LIMIT // (224 * 224 * 3)} covered copies of a 224x224 photo (many more of a small "
        "digit); a layer's "
        f"feature-visualisation grid shows at most {MAX_VIS_CHANNELS} channels and only on small inputs "
        "(digits, not ImageNet photos, where one channel at a time is offered); the embedding projects "
        f"{EMBED_POINTS['pca']:,} test images with PCA, {EMBED_POINTS['tsne']} with t-SNE, and t-SNE moves through "
        "at most 10 of a run's epochs, evenly spaced (one t-SNE each), and fewer pictures from a wide layer (a "
        "million numbers in all). Beyond these a view says so and computes nothing."
    )
