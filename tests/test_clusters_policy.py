"""One policy for missing person ids: each such frame is its own person, with a warning and a count."""
from __future__ import annotations

import numpy as np
import pytest

from core.common._clusters import MissingIdsWarning, fill_missing_ids
from core.evaluation.uncertainty import accuracy_interval
from core.latent import linear_probe


def test_fill_missing_ids() -> None:
    with pytest.warns(MissingIdsWarning, match="2 of 4 frames have no person id"):
        ids, n_missing = fill_missing_ids(["a", None, "a", ""])
    assert n_missing == 2 and ids[0] == ids[2] == "a" and len(set(ids)) == 3
    assert fill_missing_ids([None, None]) == (None, 2)
    assert fill_missing_ids(None, 3) == (None, 3)
    with pytest.raises(ValueError, match="expected 3 person ids"):
        fill_missing_ids(["a"], 3)


def test_missing_ids_count_in_intervals_and_probe() -> None:
    correct = np.array([True, False] * 10)
    persons = np.array(["p1"] * 10 + [None] * 10, dtype=object)
    with pytest.warns(MissingIdsWarning):
        iv = accuracy_interval(correct, persons)
    assert iv.n_persons == 11 and iv.n_missing_ids == 10
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4))
    groups = ["A", "B"] * 20
    with pytest.warns(MissingIdsWarning):
        pr = linear_probe(x, groups, persons=[f"p{i // 4}" if i < 20 else None for i in range(40)], pca_dims=None)
    assert pr.grouped_by == "person" and pr.n_missing_persons == 20 and pr.n_persons == 25
    assert linear_probe(x, groups, pca_dims=None).grouped_by == "frame (no person ids)"
