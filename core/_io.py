"""Small atomic file writers, and checked readers, shared by every module that persists results."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def file_sha1(path: str | Path) -> str:
    """SHA-1 (40 hex digits) of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha1()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write_bytes(data: bytes, path: str | Path) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def atomic_write_text(text: str, path: str | Path) -> Path:
    """Write ``text`` (UTF-8) atomically."""
    return atomic_write_bytes(text.encode("utf-8"), path)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def atomic_write_json(obj: Any, path: str | Path) -> Path:
    """Write ``obj`` as indented JSON atomically (NumPy scalars and Paths allowed)."""
    return atomic_write_text(json.dumps(obj, indent=2, default=_json_default, sort_keys=False), path)


def read_json(path: str | Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_parquet_file(path: str | Path, missing: str) -> pd.DataFrame:
    """Read a Parquet file, raising :class:`DataFormatError` naming ``path`` when it is absent or unreadable.

    Parameters
    ----------
    path : str or Path
    missing : str
        Message used when the file does not exist (what was expected there).

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    DataFormatError
        The file is missing or is not readable Parquet.
    """
    import pandas as pd

    from ._errors import DataFormatError

    path = Path(path)
    if not path.is_file():
        raise DataFormatError(missing, path)
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for non-parquet input
        raise DataFormatError(f"not a readable Parquet file ({type(exc).__name__}: {exc})", path) from None
