"""Opening a `.keras` file someone uploaded, safely: its zip and `config.json` are checked without
TensorFlow (`check_model_file`: entry count, unpacked size, nesting depth, an allowlist of Keras's own
layers, nothing that runs user code), then Keras loads it in safe mode (`load_model_file`), first in a
separate process with a time limit (`load_model_file_isolated`)."""

from __future__ import annotations

import os

from cnnviz.errors import InvalidInput, zip_read_errors


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


MAX_MODEL_BYTES = 200 * 1024 * 1024
# Layer classes a model file may contain: Keras's own building blocks, nothing that runs user code.
ALLOWED_LAYERS = frozenset(
    {
        "Functional",
        "Sequential",
        "Model",
        "InputLayer",
        "Conv2D",
        "DepthwiseConv2D",
        "SeparableConv2D",
        "Conv2DTranspose",
        "Dense",
        "EinsumDense",
        "MaxPooling2D",
        "AveragePooling2D",
        "GlobalAveragePooling2D",
        "GlobalMaxPooling2D",
        "BatchNormalization",
        "LayerNormalization",
        "Dropout",
        "SpatialDropout2D",
        "Flatten",
        "Reshape",
        "Activation",
        "ReLU",
        "LeakyReLU",
        "Softmax",
        "ELU",
        "PReLU",
        "Rescaling",
        "Normalization",
        "Resizing",
        "CenterCrop",
        "ZeroPadding2D",
        "Cropping2D",
        "UpSampling2D",
        "Add",
        "Subtract",
        "Multiply",
        "Average",
        "Maximum",
        "Minimum",
        "Concatenate",
        "RandomFlip",
        "RandomRotation",
        "RandomTranslation",
        "RandomZoom",
        "RandomContrast",
        "RandomBrightness",
        "RandomCrop",
    }
)


MAX_MODEL_ENTRIES = 64
MAX_MODEL_UNPACKED = 1024 * 1024 * 1024  # all entries together, as their sizes are read (zip caps output)
MAX_CONFIG_DEPTH = 200
MODEL_LOAD_SECONDS = 60.0


def _check_config(node, depth: int = 0) -> None:
    """Walk a Keras config and refuse what could run code when loaded: objects from modules other
    than Keras's own (custom classes), registered custom objects, and layers outside
    `ALLOWED_LAYERS` (Lambda, TFSMLayer...). Nothing in the file is loaded before this passes."""
    if depth > MAX_CONFIG_DEPTH:
        raise InvalidInput(f"The model's config.json is nested over {MAX_CONFIG_DEPTH} levels deep; that is not a CNN.")
    if isinstance(node, list):
        for value in node:
            _check_config(value, depth + 1)
        return
    if not isinstance(node, dict):
        return
    module, name, registered = node.get("module"), node.get("class_name"), node.get("registered_name")
    if module is not None and not str(module).startswith("keras"):
        raise InvalidInput(f"The model file refers to code from {module!r}; only Keras's own objects are accepted.")
    if isinstance(registered, str) and ">" in registered:
        raise InvalidInput(f"The model file uses the custom object {registered!r}; custom objects are not accepted.")
    if str(module).startswith("keras.layers") and (not isinstance(name, str) or name not in ALLOWED_LAYERS):
        raise InvalidInput(
            f"The model file contains a {name!r} layer, which is not accepted: only Keras's own layers "
            "(no Lambda, TFSMLayer or custom layers), because loading those could run code."
        )
    for value in node.values():
        _check_config(value, depth + 1)


def check_model_file(data: bytes) -> dict:
    """Everything about an uploaded model file that can be checked without loading it: its size, its
    format (a .keras zip, not HDF5), the sizes of its entries, and its config.json against
    `ALLOWED_LAYERS`. Returns the config; raises InvalidInput, with a message, for anything refused.
    No TensorFlow is imported."""
    import io
    import json
    import zipfile

    if not isinstance(data, (bytes, bytearray, memoryview)) or not data:
        raise InvalidInput("Upload a non-empty .keras model file.")
    data = bytes(data)
    if len(data) > MAX_MODEL_BYTES:
        raise InvalidInput(f"The model file is {len(data) / 2**20:.0f} MB; at most {MAX_MODEL_BYTES // 2**20} MB.")
    if data.startswith(b"\x89HDF"):
        raise InvalidInput("HDF5 (.h5) model files are not accepted; save the model with model.save('name.keras').")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_MODEL_ENTRIES:
                raise InvalidInput(f"The model file has {len(entries)} entries; a .keras file has a handful.")
            if sum(entry.file_size for entry in entries) > MAX_MODEL_UNPACKED:
                raise InvalidInput(f"The model file unpacks to over {MAX_MODEL_UNPACKED // 2**20} MB.")
            info = archive.getinfo("config.json")
            if info.file_size > 20 * 1024 * 1024:
                raise InvalidInput("The model's config.json is over 20 MB; that is not a CNN this app can show.")
            config = json.loads(archive.read(info))
    except KeyError:
        raise InvalidInput("This zip has no config.json: it is not a .keras model file.") from None
    except InvalidInput:
        raise
    except RecursionError:
        raise InvalidInput("The model's config.json is nested too deeply to be a model.") from None
    except zip_read_errors() as error:  # includes JSON and UTF-8 errors (ValueError)
        raise InvalidInput(f"This is not a readable .keras model file ({type(error).__name__}: {error}).") from None
    if not isinstance(config, dict):
        raise InvalidInput("The model's config.json does not describe a model (it is not a JSON object).")
    _check_config(config)
    return config


def load_model_file(data: bytes):
    """Open an uploaded `.keras` model safely and return it (uncompiled).

    Only the native Keras format is accepted (a zip with config.json): not HDF5 `.h5`. Its
    config.json is read first and every layer class checked against `ALLOWED_LAYERS`
    (`check_model_file`); then Keras loads it with `safe_mode=True`. Raises InvalidInput, with a
    message, for anything refused. `load_model_file_isolated` tries it in another process first.
    """
    import tempfile

    check_model_file(data)
    data = bytes(data)
    keras = _keras()
    with tempfile.NamedTemporaryFile(suffix=".keras") as handle:
        handle.write(data)
        handle.flush()
        try:
            model = keras.saving.load_model(handle.name, compile=False, safe_mode=True)
        except Exception as error:
            detail = str(error)[:300]
            raise InvalidInput(f"The model file could not be loaded ({type(error).__name__}: {detail}).") from None
    if not isinstance(model, keras.Model) or len(model.inputs) != 1 or len(model.inputs[0].shape) != 4:
        raise InvalidInput("The app opens models with one image input of shape (height, width, channels).")
    return model


def _trial_load(data: bytes, connection) -> None:
    """In a child process: load the file and report None (loaded) or the refusal's message."""
    try:
        load_model_file(data)
    except InvalidInput as error:
        connection.send(str(error))
    except BaseException as error:  # the parent turns any failure into a refusal
        connection.send(f"The model file could not be loaded ({type(error).__name__}).")
    else:
        connection.send(None)
    connection.close()


def load_model_file_isolated(data: bytes, *, timeout_s: float = MODEL_LOAD_SECONDS):
    """`load_model_file`, but tried first in a separate process with a time limit, so that a file
    that makes Keras or HDF5 hang, crash or balloon does it there and not in the server. Only a file
    that loaded there is loaded here. Raises InvalidInput like `load_model_file`."""
    from cnnviz.workers import start_context

    check_model_file(data)  # the quick refusals need no process
    # Forked from the fork server that has Keras imported (the local workers' own): a trial load takes
    # under a second instead of the seconds a fresh interpreter spends importing TensorFlow.
    context = start_context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_trial_load, args=(bytes(data), sender), daemon=True, name="cnnviz-model-check")
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout_s):
            raise InvalidInput(
                f"The model file took over {timeout_s:.0f} s to load in a separate process and was stopped; "
                "a CNN this app can show loads in a few seconds."
            )
        try:
            verdict = receiver.recv()
        except EOFError:
            raise InvalidInput(
                f"Loading the model file crashed the loader process (exit code {process.exitcode}); "
                "it is not a model this app can open."
            ) from None
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        receiver.close()
    if verdict is not None:
        raise InvalidInput(verdict)
    return load_model_file(data)
