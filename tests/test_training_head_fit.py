"""CachedHeadTrainer: the same training as Keras fit, whatever the chunking, reusable, with clear input checks."""
from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

from core.data.labels import EMOTIONS
from core.training import TrainConfig
from core.training.data import array_loader
from core.training.features import build_cached_head
from core.training.head_fit import CachedHeadTrainer, train_head_cached
from core.training.loop import Streams, fit_streams

CFG = TrainConfig(weights="random", input_size=32, head_units=(16, 8), batch_size=4, class_weight="balanced",
                  phase1_epochs=3, phase2_epochs=0)
CHANNELS = 6


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    labels = [EMOTIONS[i % 7] for i in range(23)] + [EMOTIONS[i % 3] for i in range(9)]
    manifest = pd.DataFrame({"sample_id": [f"s{i}" for i in range(32)], "path": [f"p{i}" for i in range(32)],
                             "split": ["train"] * 23 + ["validation"] * 9, "label": labels})
    streams = Streams.from_manifest(manifest, CFG)
    m = rng.normal(0, 1, (32, CHANNELS)).astype(np.float32)
    moments = np.stack([m, m ** 2 + rng.gamma(1.0, 1.0, (32, CHANNELS)).astype(np.float32)], axis=1)
    return streams, moments


class _Recorder(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("begin", epoch))

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(("batch", batch))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("end", epoch, sorted(logs)))


def test_same_history_and_weights_as_keras_fit_on_the_head(data):
    streams, moments = data
    n = len(streams.y_train)
    reference = build_cached_head(CFG, CHANNELS)
    start = reference.get_weights()
    fitted = fit_streams(reference, streams.pair(array_loader(moments[:n]), array_loader(moments[n:]), CFG, 1),
                         0, CFG.phase1_epochs, [])
    trainer = CachedHeadTrainer(CFG, CHANNELS)
    trainer.head.set_weights(start)
    history = trainer.fit(moments[:n], streams.y_train, moments[n:], streams.y_val, CFG.phase1_epochs,
                          streams.w_train)
    assert sorted(history) == sorted(fitted.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    for key, values in fitted.history.items():
        np.testing.assert_allclose(history[key], values, rtol=1e-5, atol=1e-6, err_msg=key)
    for a, b in zip(trainer.head.weights, reference.weights):  # incl. BatchNormalization moving statistics
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a.value), keras.ops.convert_to_numpy(b.value),
                                   rtol=1e-5, atol=1e-6, err_msg=a.path)


def test_chunking_and_reuse_change_nothing(data):
    streams, moments = data
    source = build_cached_head(CFG, CHANNELS)  # stands in for the full model: same head layer names
    runs = []
    for chunk in (1, 2, 128):
        trainer = CachedHeadTrainer(CFG, CHANNELS, chunk_batches=chunk)
        recorder = _Recorder()
        runs.append(train_head_cached(source, streams, moments, CFG, [recorder], trainer)[0])
        ends = [e for e in recorder.events if e[0] == "end"]
        assert len(ends) == CFG.phase1_epochs and ends[0][2] == ["accuracy", "loss", "val_accuracy", "val_loss"]
        n_chunks = -(-6 // chunk)  # 23 rows, batch 4 -> 6 steps per epoch
        assert sum(e[0] == "batch" for e in recorder.events) == CFG.phase1_epochs * n_chunks
        source.set_weights(build_cached_head(CFG, CHANNELS).get_weights())  # the same fresh start each time
    assert runs[0] == runs[1] == runs[2]
    again, same = train_head_cached(source, streams, moments, CFG, [], trainer)  # reused after a full run
    assert same is trainer and again == runs[2]
    other = CFG.replace(head_units=(16, 4))
    assert not trainer.accepts(other, CHANNELS) and not trainer.accepts(CFG, CHANNELS + 1)
    assert trainer.accepts(CFG.replace(phase2_epochs=5, input_size=48), CHANNELS)  # not head settings


def test_bad_inputs_say_what_was_expected(data):
    streams, moments = data
    n = len(streams.y_train)
    trainer = CachedHeadTrainer(CFG, CHANNELS)
    with pytest.raises(ValueError, match=r"training moments must be \(n >= 1, 2, 6\).*received \(23, 2, 5\)"):
        trainer.fit(moments[:n, :, :5], streams.y_train, moments[n:], streams.y_val, 1)
    with pytest.raises(ValueError, match=r"validation moments .*received \(9, 2, 6\) and \(8, 7\)"):
        trainer.fit(moments[:n], streams.y_train, moments[n:], streams.y_val[:8], 1)
    with pytest.raises(ValueError, match=r"one value per training row \(23\), received shape \(22,\)"):
        trainer.fit(moments[:n], streams.y_train, moments[n:], streams.y_val, 1, np.ones(22))
    with pytest.raises(ValueError, match="expected moments for 23 training and 9 validation rows, received 31"):
        train_head_cached(trainer.head, streams, moments[:31], CFG, [], trainer)
    with pytest.raises(ValueError, match="channels must be a positive integer, received 0"):
        CachedHeadTrainer(CFG, 0)
