"""Loader for the original FER2013 ``emotion,pixels,Usage`` CSV."""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ...common._errors import DataFormatError
from ...common._io import atomic_write_bytes, atomic_write_json, file_sha1, read_json, replace_folder
from ..labels import FER2013_CODES
from ._common import LoadReport, finish, read_csv, require_columns

USAGE_TO_SPLIT: dict[str, str] = {"Training": "train", "PublicTest": "validation", "PrivateTest": "test"}


def _parse_pixels(raw_pixels: pd.Series, csv_path: Path) -> np.ndarray:
    """Every row's 48x48 face as uint8, checked before anything is written; errors name the row."""
    faces = np.zeros((len(raw_pixels), 48, 48), dtype=np.uint8)
    for i, pixels in enumerate(raw_pixels):
        try:
            arr = np.array(str(pixels).split(), dtype=np.int64)
        except (ValueError, OverflowError):
            raise DataFormatError(f"row {i}: pixels are not space-separated integers; expected 2304 values in "
                                  "0-255", csv_path, "pixels") from None
        if arr.size != 48 * 48:
            raise DataFormatError(f"row {i}: expected 2304 values (48x48) in 0-255, received {arr.size} values",
                                  csv_path, "pixels")
        bad = np.flatnonzero((arr < 0) | (arr > 255))
        if bad.size:
            raise DataFormatError(f"row {i}: expected values in 0-255, received {int(arr[bad[0]])} at position "
                                  f"{int(bad[0])} ({bad.size} value(s) out of range)", csv_path, "pixels")
        faces[i] = arr.reshape(48, 48)
    return faces


def load_fer2013_csv(csv_path: str | Path, out_dir: str | Path, dataset: str = "FER2013") -> pd.DataFrame:
    """Load ``fer2013.csv`` and write each face as a 48x48 PNG.

    Parameters
    ----------
    csv_path : str or Path
        CSV with columns ``emotion`` (0-6: angry, disgust, fear, happy, sad,
        surprise, neutral), ``pixels`` (2304 space-separated 0-255 values) and
        ``Usage`` (Training, PublicTest, PrivateTest).
    out_dir : str or Path
        Where PNGs are written as ``<split>/<label>/<row>.png``. It should be
        named by the CSV's content (:func:`core.data.registry.fer2013_png_dir`): a
        complete folder (its ``complete.json`` records the CSV's SHA-1) is reused
        only for the same content; otherwise it is written afresh through a
        temporary folder, so a failure leaves nothing.
    dataset : str
        Dataset name for the ``dataset`` column and the ``sample_id`` prefix.

    Returns
    -------
    pandas.DataFrame
        Validated manifest, one row per CSV row.

    Raises
    ------
    DataFormatError
        Wrong columns, unknown emotion codes or usage values, malformed pixel strings
        (not 2304 values, values outside 0-255); the message names the file, the
        column and the first bad row. Nothing is written then.
    """
    csv_path, out_dir = Path(csv_path), Path(out_dir)
    raw = read_csv(csv_path, "the FER2013 CSV with columns emotion, pixels, Usage")
    raw.columns = [str(c).strip() for c in raw.columns]
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
    faces = _parse_pixels(raw["pixels"], csv_path)
    report = LoadReport(source=str(csv_path))
    sha1 = file_sha1(csv_path)
    dests = [Path(USAGE_TO_SPLIT[use]) / FER2013_CODES[code] / f"{i:05d}.png"
             for i, (code, use) in enumerate(zip(codes.astype(int), usage))]
    if not _complete(out_dir, sha1, len(dests)):
        staging = out_dir.with_name(f".{out_dir.name}.partial-{uuid.uuid4().hex[:8]}")
        try:
            for face, rel in zip(faces, dests):
                ok, buf = cv2.imencode(".png", face)
                atomic_write_bytes(buf.tobytes(), staging / rel)
            atomic_write_json({"csv_sha1": sha1, "n_rows": len(dests), "csv": str(csv_path)},
                              staging / "complete.json")
            replace_folder(staging, out_dir)  # over an incomplete earlier attempt, if any
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    rows = [{"sample_id": f"{dataset}:{i}", "path": str((out_dir / rel).resolve()), "dataset": dataset,
             "split": rel.parts[0], "label": rel.parts[1]} for i, rel in enumerate(dests)]
    return finish(pd.DataFrame(rows), report, csv_path)


def _complete(out_dir: Path, sha1: str, n_rows: int) -> bool:
    """Whether ``out_dir`` holds every PNG of the CSV with content ``sha1`` (checked by its marker file)."""
    marker = out_dir / "complete.json"
    if not marker.is_file():
        return False
    try:
        meta = read_json(marker)
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("csv_sha1") == sha1 and meta.get("n_rows") == n_rows
