"""A trained model to take home: the `.keras` file, a TensorFlow Lite `.tflite` (converted here, offline,
with TensorFlow's own converter), its class names, and a short Python script for each that loads the
file and predicts one picture, preparing it as the app did.

Why TensorFlow Lite: one small file that runs on a phone or a Raspberry Pi without TensorFlow's
training machinery; the converter traces the inference graph (augmentation layers are inactive there,
so they vanish) and keeps float32 weights, so its outputs equal the Keras model's within float error.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # annotations only: importing Keras costs seconds
    import keras

from cnnviz.errors import InvalidInput

KERAS_FILE = "model.keras"
TFLITE_FILE = "model.tflite"
LABELS_FILE = "labels.txt"


def keras_bytes(model: keras.Model) -> bytes:
    """The model as a `.keras` file, without its optimizer state (what predicting needs)."""
    from cnnviz.models import save_for_inference

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / KERAS_FILE
        save_for_inference(model, path)
        return path.read_bytes()


def tflite_bytes(model: keras.Model) -> bytes:
    """The model converted to TensorFlow Lite (float32 in, float32 probabilities out), offline."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        return bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    except Exception as error:  # the converter raises many types; the learner needs to know it failed and why
        raise InvalidInput(f"TensorFlow Lite could not convert this model ({type(error).__name__}: {error}).") from None


def tflite_predict(content: bytes, batch: np.ndarray) -> np.ndarray:
    """Run a `.tflite` model's bytes on `batch` (N, H, W, C) with the interpreter TensorFlow ships
    (`tf.lite.Interpreter`); returns float32 (N, classes). One picture at a time, as on a device."""
    import warnings

    import tensorflow as tf

    with warnings.catch_warnings():  # it says to move to ai_edge_litert, which the pinned stack does not have
        warnings.simplefilter("ignore", UserWarning)
        interpreter = tf.lite.Interpreter(model_content=content)
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    out = []
    for picture in np.asarray(batch, dtype=np.float32):
        interpreter.set_tensor(source["index"], picture[None])
        interpreter.invoke()
        out.append(interpreter.get_tensor(target["index"])[0])
    return np.stack(out)


def labels_text(class_names) -> str:
    """The class names, one a line, in the order of the model's outputs."""
    return "".join(f"{name}\n" for name in class_names)


_PREPARE = {
    True: '''def prepare(path):
    """The picture as the network saw its drawings: gray, white ink on black, the ink in a 20x20 box
    in the middle of {side}x{side} (like MNIST digits)."""
    gray = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if border.mean() > 127:  # dark ink on a light page
        gray = 255 - gray
    ys, xs = np.nonzero(gray > max(40, gray.max() / 4))
    ink = gray[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    scale = 20 / max(ink.shape)
    h, w = max(1, round(ink.shape[0] * scale)), max(1, round(ink.shape[1] * scale))
    small = np.asarray(Image.fromarray(ink.astype(np.uint8)).resize((w, h), Image.BOX), dtype=np.float32)
    picture = np.zeros(({side}, {side}), np.float32)
    top, left = ({side} - h) // 2, ({side} - w) // 2
    picture[top : top + h, left : left + w] = small
    ys, xs = np.indices(picture.shape)  # centre of mass to the middle, as MNIST's preparation did
    mass = picture.sum()
    dy = int(np.clip(round({side} / 2 - 0.5 - (ys * picture).sum() / mass), -4, 4))
    dx = int(np.clip(round({side} / 2 - 0.5 - (xs * picture).sum() / mass), -4, 4))
    picture = np.roll(picture, (dy, dx), axis=(0, 1))
    return picture[None, :, :, None]  # (1, {side}, {side}, 1), 0..255
''',
    False: '''def prepare(path):
    """The picture as the network saw its photos: colour, the centre square, {side}x{side}."""
    image = Image.open(path).convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize(({side}, {side}), Image.BILINEAR)
    return np.asarray(image, dtype=np.float32)[None]  # (1, {side}, {side}, 3), 0..255
''',
}

_RUN = {
    "keras": """model = keras.models.load_model("{file}", compile=False)
probabilities = model.predict(prepare(sys.argv[1]), verbose=0)[0]
""",
    "tflite": """interpreter = Interpreter(model_path="{file}")
interpreter.allocate_tensors()
source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
interpreter.set_tensor(source["index"], prepare(sys.argv[1]))
interpreter.invoke()
probabilities = interpreter.get_tensor(target["index"])[0]
""",
}

_IMPORTS = {
    "keras": "import keras",
    "tflite": """try:  # the LiteRT package (pip install ai-edge-litert), else TensorFlow's own interpreter
    from ai_edge_litert.interpreter import Interpreter
except ImportError:
    import tensorflow as tf

    Interpreter = tf.lite.Interpreter""",
}


def predict_script(class_names, input_shape, *, fmt: str) -> str:
    """A short Python script that loads `model.keras` (fmt 'keras') or `model.tflite` (fmt 'tflite')
    from the current folder and prints the class of the picture given on the command line, with its
    probability. `input_shape` is (H, W, 1) for drawings (prepared like MNIST digits), (H, W, 3) for photos."""
    if fmt not in _RUN:
        raise InvalidInput(f"Unknown model format {fmt!r}; choose 'keras' or 'tflite'.")
    side, channels = int(input_shape[0]), int(input_shape[-1])
    file = KERAS_FILE if fmt == "keras" else TFLITE_FILE
    needs = "keras tensorflow" if fmt == "keras" else "ai-edge-litert (or tensorflow)"
    return (
        f'"""Predict one picture with the model you trained in cnnviz ({file}).\n\n'
        f"Run: python predict_{fmt}.py picture.png\n"
        f'Needs: pip install numpy pillow {needs}\n"""\n\n'
        "import sys\n\nimport numpy as np\nfrom PIL import Image\n\n"
        f"{_IMPORTS[fmt]}\n\n"
        f"CLASS_NAMES = {list(class_names)!r}  # also in {LABELS_FILE}, in the order of the outputs\n\n\n"
        f"{_PREPARE[channels == 1].format(side=side)}\n\n"
        f"{_RUN[fmt].format(file=file)}"
        "best = int(np.argmax(probabilities))\n"
        'print(f"{CLASS_NAMES[best]} ({probabilities[best]:.0%})")\n'
    )
