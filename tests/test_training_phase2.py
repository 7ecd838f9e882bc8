"""core.training.phase2: where phase 2 runs (memory, disk or the full model) and the cut at the unfreezing point
(a 32 px ResNet50V2 with random weights; nothing is trained here)."""
from __future__ import annotations

import numpy as np
import pytest

from core.training import TrainConfig
from core.training.phase2 import plan_phase2

GIB = 2**30


def test_phase2_plan_memory_disk_or_full(tmp_path):
    cfg = TrainConfig(phase2_memory_gb=1.0)
    per_image = 7 * 7 * (512 + 2048) * 4  # ResNet50V2 at 224 px, cut before its last 10 layers
    assert plan_phase2(cfg, 1000, per_image, tmp_path) == ("cached", "memory")
    assert plan_phase2(cfg, 10_000, per_image, tmp_path) == ("cached", "disk")
    mode, why = plan_phase2(cfg, 10**12, per_image, tmp_path)
    assert mode == "full" and "GiB" in why
    assert plan_phase2(cfg.replace(phase2_mode="full"), 10, per_image, tmp_path)[0] == "full"
    with pytest.raises(MemoryError, match="GiB"):
        plan_phase2(cfg.replace(phase2_mode="cached"), 10**12, per_image, tmp_path)


def test_phase2_plan_limits_and_reasons(tmp_path):
    cfg = TrainConfig(phase2_memory_gb=1.0)
    assert plan_phase2(cfg, GIB, 1, tmp_path) == ("cached", "memory")      # exactly the allowance still fits
    assert plan_phase2(cfg, GIB + 1, 1, tmp_path) == ("cached", "disk")
    assert plan_phase2(cfg.replace(phase2_mode="full"), 1, 1, tmp_path) == ("full", "phase2_mode='full'")
    assert plan_phase2(cfg, 2**60, 1, tmp_path) == (
        "full", "activations need 1073741824.0 GiB: more than memory allowed and disk free")
    scratch = tmp_path / "new" / "scratch"
    with pytest.raises(MemoryError, match=r"phase-2 activations need 1073741824\.0 GiB; 1\.0 GiB of memory allowed "
                                          r"and .* GiB free on disk at .*scratch"):
        plan_phase2(cfg.replace(phase2_mode="cached"), 2**60, 1, scratch)
    assert scratch.is_dir()  # the scratch folder is made to measure its free space


def test_cut_at_the_unfreezing_point_predicts_like_the_full_model():
    import keras

    from core.training.model import PREPROCESS, backbone_of, build_model
    from core.training.phase2 import split_at_unfreezing_point

    keras.utils.set_random_seed(0)
    model = build_model(TrainConfig(weights="random", input_size=32))
    split = split_at_unfreezing_point(model, 10)
    # the last 10 layers of ResNet50V2 read the conv5_block3 bottleneck input and the conv5_block2 shortcut
    assert len(split.boundary) == 2 and "conv5_block2_out" in split.boundary
    assert sorted(split.shapes) == [(1, 1, 512), (1, 1, 2048)]  # a 32 px input ends at a 1 x 1 map
    assert split.bytes_per_image == 4 * (512 + 2048)
    images = np.random.default_rng(0).uniform(0, 255, (3, 32, 32, 3)).astype(np.float32)
    acts = split.prefix(model.get_layer(PREPROCESS)(images), training=False)
    np.testing.assert_allclose(split.model(acts, training=False), model(images, training=False),
                               rtol=1e-4, atol=1e-6)
    n_layers = len(backbone_of(model).layers)
    for n in (n_layers - 1, n_layers):  # the whole backbone (its input layer too) cannot be cut either
        with pytest.raises(ValueError, match=rf"cannot cut resnet50v2: {n} layers reach back to its input"):
            split_at_unfreezing_point(model, n)
