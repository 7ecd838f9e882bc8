"""How far results computed in bfloat16 are from float32: embeddings, predictions, groups, clusters.

Used by ``bench/backbone_speed.py`` (512 real faces, numbers in the README) and
by ``tests/test_precision_agreement.py`` (32 real faces). Every function takes
the float32 result first and the other precision's second.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd


def _pair(a: np.ndarray, b: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2 or not len(a):
        raise ValueError(f"{what}: expected two (n, d) arrays of the same shape with n >= 1, received "
                         f"{a.shape} and {b.shape}")
    return a, b


def cosine_agreement(reference: np.ndarray, other: np.ndarray) -> dict[str, float]:
    """Per-row cosine similarity of two embeddings of the same images.

    Returns
    -------
    dict
        ``median``, ``p01`` (1st percentile), ``min`` of the cosines, and
        ``max_rel_diff``: largest ``|a - b|`` relative to the largest ``|a|``.
    """
    a, b = _pair(reference, other, "cosine_agreement")
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    cos = (a * b).sum(axis=1) / np.maximum(na * nb, np.finfo(float).tiny)
    return {"median": float(np.median(cos)), "p01": float(np.percentile(cos, 1)), "min": float(cos.min()),
            "max_rel_diff": float(np.abs(a - b).max() / max(np.abs(a).max(), np.finfo(float).tiny))}


def prediction_agreement(reference: np.ndarray, other: np.ndarray) -> dict[str, float]:
    """Share of rows with the same predicted class, and the largest probability difference.

    Parameters
    ----------
    reference, other : numpy.ndarray
        ``(n, classes)`` probabilities of the same rows.

    Returns
    -------
    dict
        ``agreement`` (share of rows with the same argmax), ``n``, ``n_changed``,
        ``max_abs_prob_diff`` and ``max_margin_changed``: the largest float32
        top-1 minus top-2 probability among the changed rows (how close those calls were).
    """
    a, b = _pair(reference, other, "prediction_agreement")
    same = a.argmax(axis=1) == b.argmax(axis=1)
    top2 = np.sort(a, axis=1)[:, -2:] if a.shape[1] > 1 else np.zeros((len(a), 2))
    margin = top2[:, 1] - top2[:, 0]
    return {"agreement": float(same.mean()), "n": int(len(a)), "n_changed": int((~same).sum()),
            "max_abs_prob_diff": float(np.abs(a - b).max()),
            "max_margin_changed": float(margin[~same].max()) if (~same).any() else 0.0}


def group_accuracy_change(y_true: Sequence[Any], pred_reference: Sequence[Any], pred_other: Sequence[Any],
                          groups: Sequence[Any]) -> pd.DataFrame:
    """Accuracy per group under both precisions and its change (``other - reference``), plus an ``(all)`` row."""
    df = pd.DataFrame({"y": np.asarray(y_true), "a": np.asarray(pred_reference), "b": np.asarray(pred_other),
                       "group": pd.Series(np.asarray(groups, dtype=object)).fillna("(missing)").to_numpy()})
    if df.empty:
        raise ValueError("group_accuracy_change: expected at least one row")
    rows = []
    for name, sub in [("(all)", df), *sorted(df.groupby("group"), key=lambda t: str(t[0]))]:
        acc_a, acc_b = float((sub["a"] == sub["y"]).mean()), float((sub["b"] == sub["y"]).mean())
        rows.append({"group": str(name), "n": int(len(sub)), "accuracy_float32": acc_a, "accuracy_other": acc_b,
                     "change": acc_b - acc_a})
    return pd.DataFrame(rows)


def cluster_agreement(reference: np.ndarray, other: np.ndarray, groups: Sequence[Any], k: int = 4,
                      seed: int = 0, attribute: str = "race") -> dict[str, float]:
    """KMeans clusters of both embeddings (the latent explorer's defaults): ARI between them and Cramér's V of each.

    Returns
    -------
    dict
        ``ari`` (adjusted Rand index of the two assignments), ``cramers_v_float32``,
        ``cramers_v_other`` and their ``cramers_v_change``.
    """
    from sklearn.metrics import adjusted_rand_score

    from ..latent.clusters import ClusterConfig, fit_kmeans, prepare_for_clustering, prepared_config
    from ..latent.stats import independence_test

    a, b = _pair(reference, other, "cluster_agreement")
    cfg = ClusterConfig(pca_dims=min(50, a.shape[1], len(a) - 1), seed=seed)
    labels = [fit_kmeans(prepare_for_clustering(x.astype(np.float32), cfg), k, prepared_config(cfg)).labels
              for x in (a, b)]
    v = [independence_test(lab, groups, attribute, n_permutations=0, seed=seed).cramers_v for lab in labels]
    return {"ari": float(adjusted_rand_score(labels[0], labels[1])), "k": int(k), "cramers_v_float32": float(v[0]),
            "cramers_v_other": float(v[1]), "cramers_v_change": float(v[1] - v[0])}
