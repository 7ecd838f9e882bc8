"""Loader for the original FER2013 ``emotion,pixels,Usage`` CSV."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from .._errors import DataFormatError
from .._io import atomic_write_bytes
from ..labels import FER2013_CODES
from ._common import LoadReport, finish, read_csv, require_columns

USAGE_TO_SPLIT: dict[str, str] = {"Training": "train", "PublicTest": "validation", "PrivateTest": "test"}


def load_fer2013_csv(csv_path: str | Path, out_dir: str | Path, dataset: str = "FER2013") -> pd.DataFrame:
    """Load ``fer2013.csv`` and write each face once as a 48x48 PNG.

    Parameters
    ----------
    csv_path : str or Path
        CSV with columns ``emotion`` (0-6: angry, disgust, fear, happy, sad,
        surprise, neutral), ``pixels`` (2304 space-separated 0-255 values) and
        ``Usage`` (Training, PublicTest, PrivateTest).
    out_dir : str or Path
        Where PNGs are written as ``<split>/<label>/<row>.png``; files that
        already exist are not rewritten.
    dataset : str
        Dataset name for the manifest.

    Returns
    -------
    pandas.DataFrame
        Validated manifest, one row per CSV row.

    Raises
    ------
    DataFormatError
        Wrong columns, unknown emotion codes or usage values, malformed pixel strings;
        the message names the file and the first bad row.
    """
    csv_path, out_dir = Path(csv_path), Path(out_dir)
    raw = read_csv(csv_path, "the FER2013 CSV with columns emotion, pixels, Usage")
    raw.columns = [c.strip() for c in raw.columns]
    require_columns(raw, ["emotion", "pixels", "Usage"], csv_path)
    codes = pd.to_numeric(raw["emotion"], errors="coerce")
    bad = ~codes.isin(list(FER2013_CODES))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFormatError(f"row {i}: emotion {str(raw['emotion'].iloc[i])!r} is not a code 0-6", csv_path,
                              "emotion")
    usage = raw["Usage"].astype(str).str.strip()
    bad = ~usage.isin(list(USAGE_TO_SPLIT))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFormatError(f"row {i}: Usage {usage.iloc[i]!r}; expected one of {list(USAGE_TO_SPLIT)}",
                              csv_path, "Usage")
    report = LoadReport(source=str(csv_path))
    rows = []
    for i, (code, pixels, use) in enumerate(zip(codes.astype(int), raw["pixels"], usage)):
        label, split = FER2013_CODES[code], USAGE_TO_SPLIT[use]
        dest = out_dir / split / label / f"{i:05d}.png"
        if not dest.is_file():
            try:
                arr = np.array(str(pixels).split(), dtype=np.int32)
            except ValueError:
                raise DataFormatError(f"row {i}: pixels are not integers", csv_path, "pixels") from None
            if arr.size != 48 * 48 or arr.min() < 0 or arr.max() > 255:
                raise DataFormatError(f"row {i}: expected 2304 values in 0-255, received {arr.size} values",
                                      csv_path, "pixels")
            ok, buf = cv2.imencode(".png", arr.reshape(48, 48).astype(np.uint8))
            atomic_write_bytes(buf.tobytes(), dest)
        rows.append({"sample_id": f"{dataset}:{i}", "path": str(dest.resolve()), "dataset": dataset,
                     "split": split, "label": label})
    return finish(pd.DataFrame(rows), report, csv_path)
