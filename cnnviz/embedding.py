"""What the network makes of a whole test set: each picture's features (by default the penultimate
layer's, what the last layer separates the classes with) projected to 2-D, one point per picture.

- PCA: the two directions of largest variance (numpy's SVD; scikit-learn's PCA gives the same up to sign).
- t-SNE (van der Maaten and Hinton, 2008, scikit-learn's): keeps neighbours together, seeded.
- UMAP (McInnes et al., 2018): only when the optional umap-learn package is installed.

Over a run's epochs the points must move in one frame, or the scrubber would show the axes spinning,
not the classes separating: `embed_epochs` fits PCA on the last epoch and applies it to every epoch
(UMAP likewise, with its `transform`). t-SNE has no transform for new points; each epoch is run on its
own, started from that epoch's points in the shared PCA frame, and turned (rotation, reflection and
scale, orthogonal Procrustes) onto the last epoch's layout: it costs one t-SNE per epoch, so ask for
it on few epochs. `knn_accuracy` scores how well the classes separate in 2-D.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cnnviz.errors import InvalidInput

if TYPE_CHECKING:  # annotations only: importing Keras costs seconds
    import keras

METHODS = ("pca", "tsne", "umap")
# Points per projection a classroom server computes in seconds: t-SNE and UMAP grow faster than linearly
# (t-SNE of 600 digits' features: 2.2 s on the busy 2-core development machine).
MAX_POINTS = {"pca": 10000, "tsne": 1000, "umap": 5000}
# t-SNE's iterations: scikit-learn's 250 of early exaggeration (where the clusters form) and 50 more.
# Its default 1000 took 8.5 s instead of 2.2 on 600 digits' features for the same 5-nearest-neighbour
# accuracy (0.983 and 0.987): the later iterations only spread the clusters further apart.
TSNE_ITERATIONS = 300
# Input values (N * H * W * C) one embedding may read: 200 ImageNet pictures (a minute of MobileNetV2 on
# 2 busy cores); digits are limited by the method's MAX_POINTS long before this.
INPUT_LIMIT = 200 * 224 * 224 * 3
_CHUNK_VALUES = 1 << 21  # input values per model call: 256 digits or 13 ImageNet pictures (8 MB of float32)
_SUBMODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {layer: input -> features}


def _check_method(method: str, count: int) -> None:
    if method not in METHODS:
        raise InvalidInput(f"Unknown projection {method!r}; choose one of {', '.join(METHODS)}.")
    if count < 3:
        raise InvalidInput(f"A projection needs at least 3 pictures; got {count}.")
    if count > MAX_POINTS[method]:
        raise InvalidInput(
            f"{count} pictures are too many for {method} on this server; the limit is {MAX_POINTS[method]}."
        )
    if method == "umap":
        try:
            import umap  # noqa: F401
        except ImportError:
            raise InvalidInput(
                "UMAP needs the optional package umap-learn, which is not installed here: "
                "pip install umap-learn (or choose PCA or t-SNE)."
            ) from None


def features(model: keras.Model, images, *, layer: str | None = None) -> np.ndarray:
    """float32 (N, D): each picture's activation at `layer`, flattened; by default the input of the
    model's last layer (the penultimate layer's output, e.g. the shipped model's 128 dense units).

    images : (N, H, W, C) as the model takes them, or (N, H, W) for a one-channel model, 0..255.
    """
    return _pass(model, images, layer=layer, outputs=False)[0]


def features_and_outputs(model: keras.Model, images, *, layer: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(`features`, the model's outputs (N, classes) float32) in one pass over the pictures: half the
    work of asking for each apart (what dominates moving through a run's epochs: 2,000 digits through
    the default network cost about a second of CPU a pass)."""
    return _pass(model, images, layer=layer, outputs=True)


def _pass(model: keras.Model, images, *, layer: str | None, outputs: bool) -> tuple[np.ndarray, ...]:
    import keras

    from cnnviz.features import layer_input, layer_output

    batch = np.asarray(images)  # converted to float32 a chunk at a time, after the checks
    expected = tuple(model.inputs[0].shape[1:])
    if batch.ndim == len(expected) and expected[-1] == 1:
        batch = batch[..., None]
    if batch.shape[1:] != expected or not len(batch):
        raise InvalidInput(f"The model takes pictures of shape {expected}; got a batch of shape {batch.shape}.")
    per_picture = int(np.prod(expected))
    if len(batch) * per_picture > INPUT_LIMIT:
        raise InvalidInput(
            f"{len(batch)} pictures of {'x'.join(str(n) for n in expected)} are too many to embed on this server; "
            f"the limit is {INPUT_LIMIT // per_picture} at this size."
        )
    cache = _SUBMODELS.setdefault(model, {})
    if (layer, outputs) not in cache:
        if layer is None:
            tensor = layer_input(model, model.layers[-1])
        else:
            try:
                tensor = layer_output(model, model.get_layer(layer))
            except ValueError:
                raise InvalidInput(f"The model has no layer named {layer!r}.") from None
        cache[(layer, outputs)] = keras.Model(model.inputs, [tensor, model.outputs[0]] if outputs else [tensor])
    submodel = cache[(layer, outputs)]
    # Batches of a bounded size: 64 ImageNet pictures in one call took 31 s (activations of 300 MB each).
    chunk = max(1, min(256, _CHUNK_VALUES // per_picture))
    parts = [submodel([batch[i : i + chunk].astype(np.float32)], training=False) for i in range(0, len(batch), chunk)]
    parts = [part if isinstance(part, (list, tuple)) else [part] for part in parts]  # one output: a tensor
    found = [np.concatenate([np.asarray(part[n]) for part in parts]) for n in range(2 if outputs else 1)]
    found[0] = found[0].reshape(len(batch), -1)
    return tuple(values.astype(np.float32) for values in found)


@dataclass(frozen=True)
class Projection:
    """A fitted projection to 2-D that other features of the same size can be put through."""

    method: str  # 'pca' or 'umap'
    mean: np.ndarray | None  # PCA: (D,) the features' mean
    components: np.ndarray | None  # PCA: (2, D) the two directions, unit length
    reducer: object = None  # UMAP: the fitted umap.UMAP


def fit_projection(features: np.ndarray, *, method: str = "pca", seed: int = 0) -> Projection:
    """Fit PCA (or UMAP) on (N, D) features. Each PCA direction is signed so that its largest entry is
    positive (as scikit-learn does), so refitting on the same features gives the same picture."""
    x = _check_features(features)
    _check_method(method, len(x))
    if method == "tsne":
        raise InvalidInput("t-SNE has no projection to apply to new points; use embed or embed_epochs.")
    if method == "umap":
        import umap

        return Projection("umap", None, None, umap.UMAP(random_state=seed).fit(x))
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    components = vt[:2]
    if len(components) < 2:  # one feature: the second direction is empty
        components = np.vstack([components, np.zeros_like(components)])
    signs = np.sign(components[np.arange(2), np.abs(components).argmax(axis=1)])
    components = components * np.where(signs == 0, 1, signs)[:, None]
    return Projection("pca", mean, components)


def project(projection: Projection, features: np.ndarray) -> np.ndarray:
    """Put (N, D) features through a fitted projection: float32 (N, 2)."""
    x = _check_features(features)
    if projection.method == "umap":
        return np.asarray(projection.reducer.transform(x), dtype=np.float32)
    if x.shape[1] != projection.components.shape[1]:
        raise InvalidInput(f"The projection was fitted on {projection.components.shape[1]} features; got {x.shape[1]}.")
    return ((x - projection.mean) @ projection.components.T).astype(np.float32)


def _check_features(features) -> np.ndarray:
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or not np.isfinite(x).all():
        raise InvalidInput(f"Features must be a finite (N, D) array; got shape {x.shape}.")
    return x


def _tsne(x: np.ndarray, init: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    # scikit-learn scales its own PCA start to a standard deviation of 1e-4; a given start is used as is.
    init = init / max(float(init[:, 0].std()), 1e-12) * 1e-4
    perplexity = float(min(30.0, (len(x) - 1) / 3))
    tsne = TSNE(
        2, perplexity=perplexity, init=init.astype(np.float32), random_state=seed, n_jobs=1, max_iter=TSNE_ITERATIONS
    )
    # One thread for OpenMP and BLAS: with their default two on a busy 2-core server (TensorFlow loaded
    # beside them) the threads spin waiting for each other; 100 digits took 7-15 s, with one 0.46 s.
    with threadpool_limits(1):
        return tsne.fit_transform(x.astype(np.float32))


def _procrustes(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`points` turned, mirrored and scaled (about their centre) to lie as close as they can to `reference`."""
    a, b = points - points.mean(axis=0), reference - reference.mean(axis=0)
    u, s, vt = np.linalg.svd(a.T @ b)
    scale = s.sum() / max(float((a**2).sum()), 1e-12)
    return a @ (u @ vt) * scale + reference.mean(axis=0)


def embed_epochs(
    models, images, *, layer: str | None = None, method: str = "pca", seed: int = 0, on_progress=None
) -> np.ndarray:
    """float32 (E, N, 2): the same N pictures embedded for each of E models (a run's checkpoints, in
    epoch order) in one frame, fitted on the last model (see the module's note on t-SNE).

    on_progress : called as on_progress(done, total) after each epoch's features and each t-SNE.
    """
    models = list(models)
    if not models:
        raise InvalidInput("Give at least one model (a run's checkpoints, in epoch order).")
    count = len(np.asarray(images))
    _check_method(method, count)
    total = len(models) * (2 if method == "tsne" else 1)
    feats = []
    for done, model in enumerate(models, start=1):
        feats.append(features(model, images, layer=layer))
        if on_progress is not None:
            on_progress(done, total)
    return embed_features(feats, method=method, seed=seed, on_progress=on_progress)


def embed_features(feats, *, method: str = "pca", seed: int = 0, on_progress=None) -> np.ndarray:
    """float32 (E, N, 2): `embed_epochs` from the features already taken, (N, D) for each of E epochs
    (`features`), e.g. of one model whose weights were loaded epoch by epoch. on_progress(done, total)
    counts on from the E features taken, after each t-SNE."""
    feats = [np.asarray(f) for f in feats]
    if not feats:
        raise InvalidInput("Give at least one epoch's features.")
    _check_method(method, len(feats[0]))
    done, total = len(feats), len(feats) * (2 if method == "tsne" else 1)
    frame = fit_projection(feats[-1], method="pca" if method == "tsne" else method, seed=seed)
    shared = np.stack([project(frame, f) for f in feats])  # (E, N, 2)
    if method != "tsne":
        return shared.astype(np.float32)
    layouts = [None] * len(feats)
    for i in reversed(range(len(feats))):  # the last epoch first: every other one is turned onto it
        layout = _tsne(feats[i], shared[i], seed)
        layouts[i] = layout if i == len(feats) - 1 else _procrustes(layout, layouts[-1])
        done += 1
        if on_progress is not None:
            on_progress(done, total)
    return np.stack(layouts).astype(np.float32)


def embed(model: keras.Model, images, *, layer: str | None = None, method: str = "pca", seed: int = 0) -> np.ndarray:
    """float32 (N, 2): each picture's features at `layer` (default: the penultimate layer's output),
    flattened and projected to 2-D by `method` ('pca', 'tsne' or 'umap'), seeded: the same call gives
    the same points. images: (N, H, W, C) as the model takes them (or (N, H, W)), 0..255."""
    return embed_epochs([model], images, layer=layer, method=method, seed=seed)[0]


def knn_accuracy(points: np.ndarray, labels, *, k: int = 5) -> float:
    """How well classes separate in the embedding: the fraction of points whose k nearest other points
    (leave-one-out) mostly share their label, ties going to the nearer neighbours. 1.0: every class
    forms its own clusters; about 1 / classes: no separation."""
    points = np.asarray(points, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    if points.ndim != 2 or len(points) != len(labels) or len(points) <= k:
        raise InvalidInput(f"Give (N, 2) points and N labels with N > k = {k}; got {points.shape}, {labels.shape}.")
    right = 0
    weights = 1 + 1e-3 / np.arange(1, k + 1)  # one vote each; the nearer breaks a tie
    for start in range(0, len(points), 1024):
        chunk = points[start : start + 1024]
        distances = ((chunk[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1)  # (n, N)
        distances[np.arange(len(chunk)), np.arange(start, start + len(chunk))] = np.inf  # not itself
        nearest = np.argsort(distances, axis=1, kind="stable")[:, :k]
        votes = np.zeros((len(chunk), labels.max() + 1))
        np.add.at(votes, (np.arange(len(chunk))[:, None], labels[nearest]), weights)
        right += int((votes.argmax(axis=1) == labels[start : start + len(chunk)]).sum())
    return right / len(points)
