"""Class and sample weights of the training data (core.training.data)."""
from __future__ import annotations

import numpy as np
import pytest

from core.data.labels import EMOTIONS
from core.training.data import class_weights, sample_weights


def test_balanced_class_weights_are_pinned():
    labels = ["happy"] * 5 + ["sad"] * 3 + ["angry"]
    w = class_weights(labels, "balanced")
    assert list(w) == list(EMOTIONS)
    # n / (k * n_class) over the 3 present classes; absent classes get 0
    assert w == pytest.approx({"angry": 3.0, "disgust": 0.0, "fear": 0.0, "happy": 0.6, "neutral": 0.0,
                               "sad": 1.0, "surprise": 0.0}, rel=1e-12)
    assert sample_weights(["sad", "angry"], w).tolist() == [1.0, 3.0]
    assert sample_weights(labels, w).dtype == np.float32
    assert float(sample_weights(labels, w).sum()) == pytest.approx(len(labels))


def test_class_weight_modes():
    assert class_weights(["happy", "sad"], "none") == {e: 1.0 for e in EMOTIONS}
    with pytest.raises(ValueError, match="'none' or 'balanced'"):
        class_weights(["happy"], "auto")
