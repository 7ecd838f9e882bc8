"""bfloat16 backbone passes agree with float32 on real faces; the agreement measures themselves."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.models._precision import check_precision, precision_tag
from core.models.precision_agreement import (cluster_agreement, cosine_agreement, group_accuracy_change,
                                      prediction_agreement)


def test_agreement_measures_on_known_inputs():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(40, 8))
    c = cosine_agreement(a, a * 3.0)
    assert c["median"] == pytest.approx(1.0) and c["p01"] == pytest.approx(1.0)
    assert cosine_agreement(a, -a)["median"] == pytest.approx(-1.0)
    p = rng.dirichlet(np.ones(7), size=10)
    q = p.copy()
    q[0] = np.roll(q[0], 1)  # one row's argmax moves
    agree = prediction_agreement(p, q)
    assert agree["agreement"] == pytest.approx(0.9) and agree["n_changed"] == 1 and agree["max_margin_changed"] > 0
    table = group_accuracy_change(["a", "b", "a", "b"], ["a", "b", "b", "b"], ["a", "a", "a", "b"], ["W", "W", "B", "B"])
    row = table.set_index("group").loc["W"]
    assert row["accuracy_float32"] == 1.0 and row["accuracy_other"] == 0.5 and row["change"] == -0.5
    assert table.iloc[0]["group"] == "(all)" and table.iloc[0]["n"] == 4
    groups = np.repeat(["W", "B"], 20)
    a[:20] += 5.0
    clu = cluster_agreement(a, a + 1e-6, groups, k=2)
    assert clu["ari"] == pytest.approx(1.0) and clu["cramers_v_change"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="same shape"):
        cosine_agreement(a, a[:3])
    with pytest.raises(ValueError, match="precision must be one of"):
        check_precision("float16")
    assert precision_tag("float32") == "" and precision_tag("bfloat16") == "-bf16ov"


@pytest.fixture(scope="module")
def faces(utkface_dir, eila_dir) -> pd.DataFrame:
    from core.data.datasets import load_eila_crops, load_utkface

    utk = load_utkface(utkface_dir, on_bad_image="skip").sample(16, random_state=0)
    eila = load_eila_crops(eila_dir / "faces", eila_dir / "demographics.csv").sample(16, random_state=0)
    return pd.concat([utk, eila], ignore_index=True)


@pytest.mark.slow
def test_bfloat16_backbone_agrees_with_float32_on_32_real_faces(faces, tmp_path):
    from core.models.backbones import load_backbone, load_rgb_batch, make_feature_fn
    from core.training import TrainConfig
    from core.training.features import build_cached_head, cache_namespace, compute_moments

    bb = load_backbone("resnet50v2", 224, None)
    x = load_rgb_batch(faces["path"].tolist(), 224)
    m32 = make_feature_fn(bb, "moments")(x)
    fast = make_feature_fn(bb, "moments", "bfloat16")
    m16 = np.concatenate([fast(x[:20]), fast(x[20:])])
    np.testing.assert_array_equal(fast(x[20:]), m16[20:])  # deterministic, independent of the batch
    info = fast.engine.engine.info()
    assert info["precision"] == "bfloat16" and info["runtime"].startswith("openvino")
    cos = cosine_agreement(m32[:, 0], m16[:, 0])
    assert cos["median"] >= 0.999 and cos["p01"] >= 0.995, cos
    assert not np.array_equal(m32, m16)  # it did run in another precision
    head = build_cached_head(TrainConfig(weights="random"), m32.shape[-1])
    agree = prediction_agreement(head.predict(m32, verbose=0), head.predict(m16, verbose=0))
    assert agree["agreement"] >= 31 / 32, agree
    # the feature cache keeps the precisions apart, and what it stores is what the batch function returns
    assert cache_namespace(bb, precision="bfloat16") == cache_namespace(bb) + "-bf16ov"
    paths = faces["path"].tolist()[:8]
    cached, stats = compute_moments(paths, bb, tmp_path, batch_size=8, precision="bfloat16")
    assert stats["precision"] == "bfloat16" and stats["n_computed"] == 8 and stats["engine"] == info
    np.testing.assert_allclose(cached, m16[:8], rtol=1e-6, atol=1e-7)
    again, stats = compute_moments(paths, bb, tmp_path, batch_size=8, precision="bfloat16")
    assert stats["n_computed"] == 0 and "engine" not in stats  # a cache hit converts nothing
    _, stats32 = compute_moments(paths, bb, tmp_path, batch_size=8)
    assert stats32["n_computed"] == 8
