"""Run-level metrics against scikit-learn, and compute_metrics' contract."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, log_loss,
                             precision_recall_fscore_support)

from _evaluation_data import synthetic_predictions
from core.common._errors import DataFormatError
from core.evaluation import metrics as m
from core.data.labels import EMOTIONS


@pytest.fixture(scope="module")
def labels() -> tuple[list[str], list[str], np.ndarray]:
    rng = np.random.default_rng(3)
    y = list(rng.choice(EMOTIONS, 300, p=[.1, .02, .1, .3, .25, .13, .1]))
    p = [t if rng.random() < .45 else rng.choice(EMOTIONS[:5]) for t in y]
    proba = rng.dirichlet(np.ones(7), 300)
    return y, p, proba


def test_against_sklearn(labels) -> None:
    y, p, proba = labels
    assert m.accuracy(y, p) == pytest.approx(accuracy_score(y, p))
    assert m.weighted_f1(y, p) == pytest.approx(f1_score(y, p, average="weighted"))
    assert m.macro_f1(y, p) == pytest.approx(f1_score(y, p, average="macro", zero_division=0))
    pcm = m.per_class_metrics(y, p)
    pr, rc, f, s = precision_recall_fscore_support(y, p, labels=list(EMOTIONS), zero_division=0)
    np.testing.assert_allclose(pcm[["precision", "recall", "f1"]].to_numpy(), np.c_[pr, rc, f])
    assert pcm["support"].tolist() == s.tolist()
    np.testing.assert_array_equal(m.confusion(y, p).to_numpy(), confusion_matrix(y, p, labels=list(EMOTIONS)))
    assert m.categorical_cross_entropy(y, proba) == pytest.approx(log_loss(y, proba, labels=list(EMOTIONS)))


def test_cross_entropy_clips_like_keras() -> None:
    proba = np.zeros((1, 7))
    proba[0, 3] = 1.0
    assert m.categorical_cross_entropy(["angry"], proba) == pytest.approx(-np.log(1e-7))
    with pytest.raises(ValueError, match="shape"):
        m.categorical_cross_entropy(["angry"], np.ones((2, 7)))


def test_compute_metrics_contract() -> None:
    df = synthetic_predictions(seed=1)
    out = m.compute_metrics(df, attributes=("race", "gender", "skin_tone", "race x gender", "age"), n_boot=200)
    json.dumps(out, allow_nan=False)
    assert 0 <= out["accuracy"] <= 1 and out["n_samples"] == len(df)
    assert out["accuracy"] == pytest.approx(accuracy_score(df["true"], df["pred"]))
    assert out["weighted_f1"] == pytest.approx(f1_score(df["true"], df["pred"], average="weighted"))
    probs = df[[f"prob_{e}" for e in EMOTIONS]].to_numpy()
    assert out["loss"] == pytest.approx(log_loss(df["true"], probs, labels=list(EMOTIONS)))
    assert out["accuracy_ci_low"] <= out["accuracy"] <= out["accuracy_ci_high"]
    assert out["n_persons"] == df["person"].nunique()
    for g, v in out["groups"]["race"].items():
        sub = df[df["race"] == g]
        assert v["accuracy"] == pytest.approx((sub["true"] == sub["pred"]).mean())
        assert v["n_samples"] == len(sub) and v["n_persons"] == sub["person"].nunique()
        assert 0 <= v["ci_low"] <= v["accuracy"] <= v["ci_high"] <= 1
    assert out["groups"]["race"]["Mixed"]["low_n"] is True  # 2 persons < 5
    assert "Mixed" in out["fairness"]["race"]["flagged_groups"]
    assert set(out["groups"]["race x gender"]) >= {"White / Male", "White / Female"}
    assert "age" in out["groups_unavailable"]
    assert sum(map(sum, out["confusion"]["matrix"])) == len(df)
    assert out["per_class"]["happy"]["support"] == int((df["true"] == "happy").sum())


def test_loss_falls_back_to_nll_and_unlabelled_rows_are_ignored() -> None:
    df = synthetic_predictions(seed=2).drop(columns=[f"prob_{e}" for e in EMOTIONS])
    extra = df.iloc[:3].assign(true=None, sample_id=["u1", "u2", "u3"])
    out = m.compute_metrics(pd.concat([df, extra]), n_boot=50)
    assert out["n_unlabelled"] == 3 and out["n_samples"] == len(df)
    assert out["loss"] == pytest.approx(df["nll"].mean())
    assert m.compute_metrics(df.drop(columns=["nll"]), n_boot=50)["loss"] is None


def test_without_person_column_intervals_are_wilson() -> None:
    df = synthetic_predictions(seed=4).drop(columns=["person"])
    out = m.compute_metrics(df, n_boot=50)
    assert out["n_persons"] is None and out["accuracy_ci_method"].startswith("Wilson")
    assert all(g["n_persons"] is None and g["ci_method"].startswith("Wilson") for g in out["groups"]["race"].values())
    with pytest.raises(DataFormatError, match="no person column 'who'"):
        m.compute_metrics(df, person="who")


def test_bad_predictions_name_the_source() -> None:
    df = synthetic_predictions()
    with pytest.raises(DataFormatError, match=r"preds\.parquet.*'pred'"):
        m.compute_metrics(df.drop(columns=["pred"]), source="preds.parquet")
    with pytest.raises(DataFormatError, match=r"preds\.parquet: column 'true'.*contempt"):
        m.compute_metrics(df.assign(true="contempt"), source="preds.parquet")
