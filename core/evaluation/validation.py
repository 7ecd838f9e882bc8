"""Checks of a predictions table shared by every evaluation module (a leaf: it imports no other of them).

A *predictions table* is what :func:`core.models.classifier.predict_manifest` returns:
``sample_id, true, pred, prob_<emotion>`` for every emotion of
:data:`core.data.labels.EMOTIONS`, ``confidence``, ``correct`` and the manifest's
group columns (``race``, ``gender``, ``skin_color``, ``person`` ...).
"""
from __future__ import annotations

from typing import Literal

import pandas as pd

from ..common._errors import DataFormatError
from ..data.labels import EMOTIONS

PersonArg = str | None | Literal[False]


def check_predictions(predictions: pd.DataFrame, source: str = "<predictions>") -> pd.DataFrame:
    """Validate a predictions table and return its labelled rows.

    Parameters
    ----------
    predictions : pandas.DataFrame
        Needs ``true`` and ``pred`` columns with values in :data:`EMOTIONS`
        (``true`` may be missing for unlabelled rows, which are dropped).
    source : str
        File or table name used in error messages.

    Returns
    -------
    pandas.DataFrame
        The labelled rows, index reset, with a boolean ``correct`` column.

    Raises
    ------
    DataFormatError
        Missing columns, unknown labels or no labelled rows.
    """
    if not isinstance(predictions, pd.DataFrame):
        raise DataFormatError(f"expected a pandas DataFrame of predictions, received {type(predictions).__name__}",
                              source)
    missing = [c for c in ("true", "pred") if c not in predictions.columns]
    if missing:
        raise DataFormatError(f"missing column(s) {missing}; expected a predictions table with columns "
                              f"sample_id, true, pred, prob_<emotion>..., received {list(predictions.columns)}", source)
    df = predictions[predictions["true"].notna()].reset_index(drop=True)
    if df.empty:
        raise DataFormatError("no labelled rows (column 'true' is empty); metrics need ground-truth labels", source)
    for col in ("true", "pred"):
        bad = sorted(set(df[col].dropna().astype(str)) - set(EMOTIONS))
        if bad or df[col].isna().any():
            raise DataFormatError(f"expected labels in {list(EMOTIONS)}, received {bad[:5] or ['<missing>']}",
                                  source, col)
    df = df.copy()
    df["correct"] = (df["true"] == df["pred"]).to_numpy(dtype=bool)
    return df


def person_column(df: pd.DataFrame, person: PersonArg = None) -> str | None:
    """The person column to cluster on: ``person`` if given (must exist), the ``person`` column when
    ``None`` and present with values, nothing when ``False``."""
    if person is False:
        return None
    if person is None:
        return "person" if "person" in df.columns and df["person"].notna().any() else None
    if person not in df.columns:
        raise DataFormatError(f"no person column {person!r}; columns are {list(df.columns)}")
    return person if df[person].notna().any() else None
