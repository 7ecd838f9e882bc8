"""One policy for missing cluster (person) ids, shared by evaluation and latent code.

Frames of one person are not independent, so every interval and test here
resamples or permutes *clusters* (persons by default; clip or video ids work
the same way: pass that column). When some ids are missing, **each such frame
is treated as its own person** (a cluster of one frame): nothing is dropped,
the frame still counts, and it cannot be wrongly merged with other unknowns.
A :class:`MissingIdsWarning` says how many frames this affected, and callers
show that count next to their result.
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np
import pandas as pd

MISSING_PREFIX = "__missing_id_"
POLICY = "each frame without an id is its own person"


class MissingIdsWarning(UserWarning):
    """Some frames have no cluster id and were treated as their own cluster."""


def fill_missing_ids(ids: Sequence[Any] | np.ndarray | pd.Series | None, n: int | None = None,
                     what: str = "person", warn: bool = True) -> tuple[np.ndarray | None, int]:
    """Cluster ids as strings with every missing id replaced by a unique one.

    Parameters
    ----------
    ids : sequence or None
        Cluster id per frame; ``None`` (or every value missing) means no ids at all.
    n : int, optional
        Expected length (checked when given).
    what : str
        Name of the id in the warning (``person``, ``clip``, ``video``).
    warn : bool
        Emit a :class:`MissingIdsWarning` when some, but not all, ids are missing.

    Returns
    -------
    tuple
        ``(ids, n_missing)``: an object array of strings (``None`` when no frame
        has an id) and the number of frames that got their own id.

    Raises
    ------
    ValueError
        If ``ids`` does not have ``n`` values.
    """
    if ids is None:
        return None, 0 if n is None else int(n)
    s = pd.Series(list(ids) if not isinstance(ids, pd.Series) else ids.tolist(), dtype=object)
    if n is not None and len(s) != n:
        raise ValueError(f"expected {n} {what} ids, one per frame, received {len(s)}")
    missing = s.isna().to_numpy() | (s.astype(str).str.len() == 0).to_numpy()
    n_missing = int(missing.sum())
    if n_missing == len(s):
        return None, n_missing
    out = s.astype(str).to_numpy(dtype=object)
    if n_missing:
        out[missing] = [f"{MISSING_PREFIX}{i}" for i in np.flatnonzero(missing)]
        if warn:
            warnings.warn(f"{n_missing} of {len(s)} frames have no {what} id: {POLICY}", MissingIdsWarning,
                          stacklevel=2)
    return out, n_missing
