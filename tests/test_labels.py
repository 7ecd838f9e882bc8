"""Canonical labels: aliases map case-insensitively; contempt and unknown names are counted, never dropped silently."""
import pytest

from core.data.labels import EMOTIONS, FER2013_CODES, FER_PACKAGE_CLASSES, canonical_label, canonicalize_labels


@pytest.mark.parametrize("raw, expected", [
    ("Anger", "angry"), ("angry", "angry"), ("ANGRY", "angry"), ("Sadness", "sad"), ("sad", "sad"),
    ("Surprised", "surprise"), (" Surprise ", "surprise"), ("Happy", "happy"), ("Neutral", "neutral"),
    ("Disgust", "disgust"), ("Fear", "fear"), ("contempt", None), ("Bored", None), (None, None), (3, None),
])
def test_canonical_label(raw, expected):
    assert canonical_label(raw) == expected


def test_canonicalize_counts_what_it_excludes():
    labels, excluded = canonicalize_labels(["Anger", "Contempt", "happy", "Bored", "Contempt"])
    assert list(labels) == ["angry", None, "happy", None, None]
    assert excluded == {"Contempt": 2, "Bored": 1}


def test_class_orders_cover_the_same_seven_emotions():
    assert EMOTIONS == tuple(sorted(EMOTIONS)) and len(EMOTIONS) == 7
    assert set(FER_PACKAGE_CLASSES) == set(EMOTIONS) == set(FER2013_CODES.values())
