"""The cached pipelines are the same model as the full pipeline (within float tolerance)."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from core.models.backbones import load_rgb_batch
from core.data.datasets import load_folder
from core.training import TrainConfig
from core.training.data import array_loader, image_loader
from core.training.features import MomentsBatchNormPool, compute_moments, transfer_head
from core.training.head_fit import CachedHeadTrainer, train_head_cached
from core.training.loop import Streams, fit_streams
from core.training.model import PREPROCESS, build_model, compile_model, head_names, load_backbone_for, unfreeze_top
from core.training.phase2 import compute_boundary, split_at_unfreezing_point

pytestmark = pytest.mark.slow  # trains models


def _np(v) -> np.ndarray:
    return keras.ops.convert_to_numpy(v.value if hasattr(v, "value") else v)


def test_moments_layer_equals_batchnorm_then_pooling():
    rng = np.random.default_rng(0)
    x = (rng.gamma(2.0, 1.5, (6, 3, 4, 5)) + rng.normal(0, 3, (1, 1, 1, 5))).astype(np.float32)
    bn, pool = keras.layers.BatchNormalization(momentum=0.9), keras.layers.GlobalAveragePooling2D()
    mbn = MomentsBatchNormPool(momentum=0.9)
    bn.build(x.shape)
    mbn.build((None, 2, 5))
    gamma, beta = rng.normal(1, 0.3, 5).astype(np.float32), rng.normal(0, 0.3, 5).astype(np.float32)
    for layer in (bn, mbn):
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
    moments = np.stack([x.mean(axis=(1, 2)), (x ** 2).mean(axis=(1, 2))], axis=1)
    for training in (True, False, True):
        expected = _np(pool(bn(x, training=training)))
        got = _np(mbn(moments, training=training))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(mbn.moving_mean), _np(bn.moving_mean), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(_np(mbn.moving_variance), _np(bn.moving_variance), rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def small_manifest(fer2013_dir):
    df = load_folder(fer2013_dir, "FER2013")
    return df.groupby(["split", "label"]).head(2).reset_index(drop=True)  # 14 train, 14 validation images


def test_cached_phase1_trains_the_same_model_as_the_full_pipeline(small_manifest, tmp_path):
    # 48 px gives a 2x2 final feature map, so BatchNormalization before pooling is not trivial;
    # dropout and class weights are on: both ways see the same batches and dropout masks.
    cfg = TrainConfig(weights="random", input_size=48, phase1_epochs=2, phase2_epochs=1, batch_size=4,
                      class_weight="balanced", dropout=0.1)
    backbone = load_backbone_for(cfg)
    full = build_model(cfg, backbone)
    data = Streams.from_manifest(small_manifest, cfg)
    ptr, pva = data.train["path"].tolist(), data.val["path"].tolist()
    moments, stats = compute_moments(ptr + pva, backbone, tmp_path / "cache", batch_size=8)
    assert moments.shape == (len(ptr) + len(pva), 2, 2048) and stats["n_computed"] == len(ptr) + len(pva)
    assert np.mean(moments[:, 1] - moments[:, 0] ** 2) > 0  # the feature map varies within an image
    # chunks of 2 steps: an epoch (4 steps) spans two traced calls
    trainer = CachedHeadTrainer(cfg, 2048, chunk_batches=2)
    trainer.reset(full)
    head = trainer.head
    h_cached = trainer.fit(moments[:len(ptr)], data.y_train, moments[len(ptr):], data.y_val, 2, data.w_train)
    h_full = fit_streams(full, data.pair(image_loader(ptr, 48), image_loader(pva, 48), cfg, 1), 0, 2, [])
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        np.testing.assert_allclose(h_cached[key], h_full.history[key], rtol=1e-4, atol=1e-5)
    for name in head_names(cfg):  # weights and BatchNormalization moving statistics
        for a, b in zip(head.get_layer(name).weights, full.get_layer(name).weights):
            assert a.name == b.name
            np.testing.assert_allclose(_np(a), _np(b), rtol=1e-4, atol=1e-6, err_msg=f"{name}/{a.name}")
    assert np.abs(_np(full.get_layer("head_bn").moving_mean)).max() > 0  # the statistics did move
    images = load_rgb_batch(pva, 48)
    p_full = full.predict(images, verbose=0)
    p_cached = head.predict(moments[len(ptr):], verbose=0)
    np.testing.assert_allclose(p_cached, p_full, rtol=1e-4, atol=1e-6)

    # the transferred head inside the full model predicts like the cached head
    fresh = build_model(cfg, backbone)
    transfer_head(head, fresh, cfg)
    np.testing.assert_allclose(fresh.predict(images, verbose=0), p_cached, rtol=1e-4, atol=1e-6)

    # the trainer reused for a new model (as a sweep does) trains exactly as it did the first time
    new = build_model(cfg, backbone)
    reused_hist, same = train_head_cached(new, data, moments, cfg, [], trainer)
    assert same is trainer and reused_hist == h_cached
    np.testing.assert_array_equal(new.predict(images, verbose=0), fresh.predict(images, verbose=0))

    # phase 2 from activations at the unfreezing point: same forward pass and same training as the full model
    trainable = unfreeze_top(full, cfg.unfreeze_layers, cfg)
    assert trainable and all("bn" not in n for n in trainable)
    split = split_at_unfreezing_point(full, cfg.unfreeze_layers)
    compile_model(split.model, cfg, cfg.phase2_learning_rate)
    prep = full.get_layer(PREPROCESS)
    acts = compute_boundary(split, prep, ptr + pva, 48, 8, "disk", tmp_path / "scratch")
    assert all(isinstance(a, np.memmap) for a in acts)
    in_memory = compute_boundary(split, prep, pva, 48, 8, "memory")
    for a, b in zip(acts, in_memory):
        np.testing.assert_allclose(a[len(ptr):], b, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(split.model.predict(tuple(in_memory), verbose=0), full.predict(images, verbose=0),
                               rtol=1e-4, atol=1e-6)
    start = full.get_weights()
    dropouts = [layer for layer in full.layers if isinstance(layer, keras.layers.Dropout)]
    seed_states = [_np(d.seed_generator.state) for d in dropouts]
    nt = len(ptr)
    streams = data.pair(array_loader([a[:nt] for a in acts]), array_loader([a[nt:] for a in acts]), cfg, 2)
    fit_streams(split.model, streams, 2, 3, [])
    p_cached2, w_cached2 = full.predict(images, verbose=0), full.get_weights()  # shared layers were trained
    full.set_weights(start)
    for d, state in zip(dropouts, seed_states):
        d.seed_generator.state.assign(state)
    fit_streams(full, data.pair(image_loader(ptr, 48), image_loader(pva, 48), cfg, 2), 2, 3, [])
    np.testing.assert_allclose(p_cached2, full.predict(images, verbose=0), rtol=1e-4, atol=1e-6)
    # Adamax moves a weight by about one learning rate per step whatever its gradient's size, so a weight whose
    # gradient is at the rounding level of the two graphs (which fuse ops differently, depending on the CPU's
    # kernels) may move by a different fraction of a step: each weight agrees within one step (lr) and each
    # array's phase-2 update within 10 % in L2; the predictions above agree within 1e-4.
    lr, changed = cfg.phase2_learning_rate, 0
    for a, b, w0 in zip(w_cached2, full.get_weights(), start):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=lr)
        assert np.linalg.norm((a - w0) - (b - w0)) <= 0.1 * np.linalg.norm(b - w0) + 1e-7
        changed += not np.array_equal(a, w0)
    assert changed >= 5  # suffix kernels and head weights moved in phase 2


def test_cached_head_and_full_model_agree_within_bfloat16(small_manifest, tmp_path):
    from core.models._precision import classifier_forward

    cfg = TrainConfig(weights="random", input_size=48, phase1_epochs=2, phase2_epochs=0, batch_size=4,
                      precision="bfloat16")
    backbone = load_backbone_for(cfg)
    full = build_model(cfg, backbone)
    data = Streams.from_manifest(small_manifest, cfg)
    ptr, pva = data.train["path"].tolist(), data.val["path"].tolist()
    moments, stats = compute_moments(ptr + pva, backbone, tmp_path / "cache", 8, precision=cfg.precision)
    assert stats["namespace"].endswith("-bf16ov") and stats["engine"]["precision"] == "bfloat16"
    f32, _ = compute_moments(ptr + pva, backbone, tmp_path / "cache", 8)
    assert not np.array_equal(moments, f32)  # another precision, another cache entry
    _, trainer = train_head_cached(full, data, moments, cfg, [])  # the trained head is copied into ``full``
    images = load_rgb_batch(pva, 48)
    expected = trainer.predict(moments[len(ptr):])
    got = classifier_forward(full, "bfloat16")(images)  # preprocessing + backbone in bfloat16, head in float32
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    assert np.abs(full.predict(images, verbose=0) - got).max() > 0  # float32 through the model is another precision
