"""Numeric precision of frozen backbone passes: ``float32`` (TensorFlow) or ``bfloat16`` (OpenVINO).

``float32`` runs the Keras model in TensorFlow, as training does. ``bfloat16``
converts the same Keras model, with its current weights, to OpenVINO
(``openvino.convert_model`` on a traced ``tf.function``) and compiles it with
the CPU plugin's ``INFERENCE_PRECISION_HINT=bf16``: convolutions and matrix products run on the CPU's
bfloat16 units (AVX512-BF16, AMX) with float32 accumulation. The conversion is
checked first: the converted graph compiled in float32 must reproduce
TensorFlow's float32 output on a probe batch, else :class:`RuntimeError`.
It is compiled for a static batch of ``chunk`` images in throughput mode
(one single-threaded stream per core) and fed through an async queue.
The feature map comes back as float32 and every reduction after it (pooling,
moments, the classifier head) runs in float32, so within one precision the
cached and the full pipelines stay the same model.

Measured on real faces (``bench/backbone_speed.py``, README): see the README's
benchmark table for speed and agreement. A CPU without bfloat16 units runs the
``bf16`` hint in float32; :attr:`Engine.precision_used` records what ran.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

PRECISIONS: tuple[str, ...] = ("float32", "bfloat16")
DEFAULT_PRECISION = "float32"
#: Largest |OpenVINO float32 - TensorFlow float32| allowed on the probe batch, relative to max |TensorFlow|.
CONVERSION_TOLERANCE = 1e-4


def check_precision(precision: Any) -> str:
    """``precision`` when it is one of :data:`PRECISIONS`.

    Raises
    ------
    ValueError
        Any other value.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}, received {precision!r}")
    return str(precision)


def precision_tag(precision: str) -> str:
    """Suffix of cache namespaces: ``""`` for float32 (the caches written before precisions existed), else ``-bf16ov``."""
    return "" if check_precision(precision) == "float32" else "-bf16ov"


@dataclass(frozen=True)
class Engine:
    """A compiled forward pass ``(n, h, w, 3) float32 -> float32 array`` and what runs it.

    Attributes
    ----------
    fn : callable
    precision : str
        Requested precision.
    precision_used : str
        What the runtime reports it runs (``bfloat16`` may fall back to ``float32``
        on a CPU without bfloat16 units).
    runtime : str
        ``"tensorflow"`` or ``"openvino <version>"``.
    """

    fn: Callable[[np.ndarray], np.ndarray]
    precision: str
    precision_used: str
    runtime: str

    def info(self) -> dict[str, str]:
        """JSON-ready description (recorded in run folders and embeddings)."""
        return {"precision": self.precision, "precision_used": self.precision_used, "runtime": self.runtime}


def _tf_function(forward: Callable[[Any], Any], input_shape: tuple[int, ...]):
    import tensorflow as tf

    spec = tf.TensorSpec((None, *input_shape), tf.float32)
    return tf.function(lambda x: forward(tf.cast(x, tf.float32)), input_signature=[spec])


def tensorflow_engine(forward: Callable[[Any], Any], input_shape: tuple[int, ...]) -> Engine:
    """``forward`` (tensor -> tensor, Keras calls inside) traced once by TensorFlow, in float32."""
    import tensorflow as tf

    fn = _tf_function(forward, input_shape)
    return Engine(lambda b: fn(tf.convert_to_tensor(b, tf.float32)).numpy(), "float32", "float32", "tensorflow")


def openvino_engine(forward: Callable[[Any], Any], input_shape: tuple[int, ...], precision: str = "bfloat16",
                    verify: bool = True, chunk: int = 16) -> Engine:
    """``forward`` converted to OpenVINO and compiled for the CPU in ``precision``.

    Parameters
    ----------
    forward : callable
        Tensor -> tensor using Keras models (their weights are frozen into the graph now).
    input_shape : tuple of int
        Per-image input shape, e.g. ``(224, 224, 3)``.
    precision : {"bfloat16", "float32"}
    verify : bool
        Check the converted graph in float32 against TensorFlow on a probe batch.
    chunk : int
        Images per inference request. The model is compiled for that static batch
        in OpenVINO's throughput mode (one stream per core, each single-threaded),
        and a batch is split into chunks run concurrently, the last one padded.
        Measured here, under load from other processes: 2.4x float32 TensorFlow
        against 1.6x for one multi-threaded request on a dynamic batch.

    Raises
    ------
    RuntimeError
        The converted graph does not reproduce TensorFlow (``verify``).
    """
    import openvino as ov

    tf_fn = _tf_function(forward, input_shape)
    model = ov.convert_model(tf_fn)
    core = ov.Core()
    hint = "bf16" if check_precision(precision) == "bfloat16" else "f32"
    if verify:
        probe = np.random.default_rng(0).uniform(0, 255, (2, *input_shape)).astype(np.float32)
        ref = tf_fn(probe).numpy()
        got = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"})(
            probe)[0]
        diff = float(np.abs(got - ref).max())
        if not diff <= CONVERSION_TOLERANCE * max(1.0, float(np.abs(ref).max())):
            raise RuntimeError(f"the OpenVINO conversion of the model does not reproduce TensorFlow in float32 "
                               f"(max abs difference {diff:.3g} on a probe batch); use precision='float32'")
    static = model.clone()
    static.reshape([int(chunk), *input_shape])  # static shapes compile to faster kernels than a dynamic batch
    compiled = core.compile_model(static, "CPU", {"INFERENCE_PRECISION_HINT": hint, "PERFORMANCE_HINT": "THROUGHPUT"})
    used = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()  # "bf16" or "f32"
    queue = ov.AsyncInferQueue(compiled, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))

    def fn(batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        n = len(batch)
        outs: list[Any] = [None] * max(1, -(-n // chunk))

        def done(request: Any, index: int) -> None:
            outs[index] = np.array(request.get_output_tensor(0).data, dtype=np.float32, copy=True)

        queue.set_callback(done)
        for index in range(len(outs)):
            part = batch[index * chunk:(index + 1) * chunk]
            if len(part) < chunk:  # the last chunk is padded with zeros; their outputs are dropped
                part = np.concatenate([part, np.zeros((chunk - len(part), *input_shape), np.float32)])
            queue.start_async(part, index)
        queue.wait_all()
        return np.concatenate(outs)[:n]

    return Engine(fn, precision, "bfloat16" if used == "bf16" else "float32", f"openvino {ov.__version__}")


def make_engine(forward: Callable[[Any], Any], input_shape: tuple[int, ...], precision: str = "float32") -> Engine:
    """The engine of a precision: TensorFlow for ``float32``, OpenVINO for ``bfloat16``."""
    if check_precision(precision) == "float32":
        return tensorflow_engine(forward, input_shape)
    return openvino_engine(forward, input_shape, precision)


class LazyEngine:
    """An :class:`Engine` built on first use (a cache hit never converts or compiles anything)."""

    def __init__(self, build: Callable[[], Engine], precision: str) -> None:
        self._build, self.precision = build, check_precision(precision)
        self._engine: Engine | None = None

    @property
    def built(self) -> bool:
        """Whether the engine has been built (a batch was computed)."""
        return self._engine is not None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._build()
        return self._engine

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.engine.fn(batch)


def classifier_forward(model: Any, precision: str = "bfloat16") -> Callable[[np.ndarray], np.ndarray]:
    """A classifier built by :func:`core.training.model.build_model` with its backbone pass in ``precision``.

    The layers up to the nested backbone (preprocessing, backbone) run on the
    engine of ``precision``; the head (BatchNormalization, pooling, dense layers)
    runs in float32 TensorFlow on the returned feature map, as the cached head
    does on moments of the same feature map.

    Raises
    ------
    ValueError
        A model that is not a chain of layers around exactly one nested backbone model.
    """
    import keras
    import tensorflow as tf

    check_precision(precision)
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    nested = [i for i, layer in enumerate(layers) if isinstance(layer, keras.Model)]
    if len(nested) != 1:
        raise ValueError(f"precision {precision!r} needs a classifier with one nested backbone model (trained here); "
                         f"{getattr(model, 'name', 'the model')!r} has {len(nested)}; use precision='float32'")
    front, head = layers[:nested[0] + 1], layers[nested[0] + 1:]

    def run_front(x):
        for layer in front:
            x = layer(x, training=False)
        return x

    engine = make_engine(run_front, tuple(int(d) for d in model.inputs[0].shape[1:]), precision)

    @tf.function(reduce_retracing=True)
    def run_head(x):
        for layer in head:
            x = layer(x, training=False)
        return x

    return lambda batch: run_head(tf.convert_to_tensor(engine.fn(batch))).numpy()


def recorded_precision(config: dict[str, Any]) -> str:
    """The backbone precision a run folder's ``config.json`` records (``float32`` for runs made before the setting)."""
    training = config.get("training") if isinstance(config.get("training"), dict) else {}
    return str(training.get("precision") or config.get("precision") or "float32")
