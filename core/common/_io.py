"""Small atomic file writers, and checked readers, shared by every module that persists results."""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

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


def atomic_write(path: str | Path, write_fn: Callable[[Path], Any], prefix: str | None = None,
                 suffix: str = ".tmp") -> Path:
    """Write ``path`` all at once: ``write_fn`` fills a temporary file in the same folder, then ``os.replace``.

    The one write-to-temp-then-rename of the library (bytes, text, JSON, Parquet,
    feature-cache shards): a reader sees the old file or the complete new one,
    never a partial one, and a failed write leaves no temporary file behind.

    Parameters
    ----------
    path : str or Path
        The file to write (its folder is created).
    write_fn : callable
        ``write_fn(tmp_path)`` writes the content to ``tmp_path`` (an existing, empty file). Whatever it also
        writes beside (a checksum) is in place before ``path`` appears.
    prefix, suffix : str
        Of the temporary file's name; default ``.<name>.<random>.tmp`` (a hidden file that
        :mod:`core.preprocess` clears as stale after a crash).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}." if prefix is None else prefix, suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        write_fn(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def atomic_write_bytes(data: bytes, path: str | Path) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


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


def read_json(path: str | Path, required: Sequence[str] = ()) -> Any:
    """Read a JSON file, raising :class:`DataFormatError` naming it when it is not valid JSON.

    Parameters
    ----------
    path : str or Path
    required : sequence of str
        Keys the file must hold (it must then be a JSON object).

    Raises
    ------
    DataFormatError
        Truncated or invalid JSON, or missing ``required`` keys (a ``ValueError``).
    OSError
        The file cannot be read.
    """
    from ._errors import DataFormatError

    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"not valid JSON (truncated or corrupt: {exc})", path) from None
    if required:
        missing = [k for k in required if not isinstance(obj, dict) or k not in obj]
        if missing:
            raise DataFormatError(f"incomplete: missing key(s) {missing}; expected keys {list(required)}", path)
    return obj


def parquet_problem(path: str | Path) -> str | None:
    """Why ``path`` is not a readable Parquet file (missing, truncated, corrupt footer), or None when it is.

    Reads only the footer (metadata), so it is cheap on large files.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        return "file not found"
    try:
        pq.ParquetFile(path).metadata  # noqa: B018 - reading the footer is the check
    except Exception as exc:  # pyarrow raises several types for a truncated or foreign file
        return f"not a readable Parquet file ({type(exc).__name__}: {str(exc)[:200]})"
    return None


@contextlib.contextmanager
def locked(path: str | Path) -> Iterator[None]:
    """Hold an exclusive ``fcntl`` lock on ``path`` (created) for the ``with`` block; waits for other holders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def quarantine(path: str | Path, reason: str) -> Path:
    """Move a bad artifact out of the way into ``<its folder>/.quarantine/`` (with a ``.why.txt`` beside it)."""
    path = Path(path)
    dest_dir = path.parent / ".quarantine"
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{path.name}.{uuid.uuid4().hex[:6]}"
    os.replace(path, dest)
    (dest_dir / f"{dest.name}.why.txt").write_text(reason + "\n", encoding="utf-8")
    return dest


#: What a folder holds that makes it an artifact nobody may write into again.
_ARTIFACT_MARKERS: dict[str, str] = {"info.json": "a registered dataset", "model.keras": "a trained run",
                                     "metrics.json": "a run", "predictions.parquet": "a run",
                                     "config.json": "a run", "manifest.parquet": "a dataset"}


def artifact_kind(folder: str | Path) -> str | None:
    """``"a registered dataset"``, ``"a run"``... when ``folder`` holds such an artifact, else None."""
    folder = Path(folder)
    for name, kind in _ARTIFACT_MARKERS.items():
        if (folder / name).exists():
            return kind
    return None


def refuse_existing_output(out: str | Path, replace: bool = False, flag: str = "--out") -> None:
    """Refuse to write into a folder that already holds a run or a dataset, unless ``replace``.

    Raises
    ------
    OutputError
        ``out`` is a file, or holds a run/dataset and ``replace`` is False.
    """
    from ._errors import OutputError

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{flag} {out}: exists and is not a folder; expected a new or empty folder")
    kind = artifact_kind(out) if out.is_dir() else None
    if kind is not None and not replace:
        raise OutputError(f"{flag} {out}: already holds {kind}, which is never written again; choose a new "
                          f"folder, or pass --replace to replace it once the new result is complete")


#: errno values that mean "this place cannot take the output" (reported in one line, not a traceback).
DISK_ERRNOS: frozenset[int] = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                                         errno.ENOTDIR, errno.EISDIR, errno.EEXIST})


def check_writable(folder: str | Path, need_bytes: int = 0, flag: str = "--artifacts") -> Path:
    """Fail before long work when ``folder`` cannot be created or written, or has less than ``need_bytes`` free.

    Creates ``folder`` (and parents), writes and removes a probe file.

    Raises
    ------
    OutputError
        Naming the folder, the option that chose it and what is wrong.
    """
    from ._errors import OutputError

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"{flag} {folder}: cannot write there ({describe_os_error(exc)}); expected a writable "
                          "folder") from None
    if need_bytes > 0:
        free = shutil.disk_usage(folder).free
        if free < need_bytes:
            raise OutputError(f"{flag} {folder}: only {free / 2**20:.1f} MiB free, about {need_bytes / 2**20:.1f} "
                              "MiB needed; free some space or choose another folder")
    return folder


def describe_os_error(exc: OSError) -> str:
    """``<file>: <reason>`` in one line for an ``OSError`` (with a hint for a full or read-only disk)."""
    where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
    why = exc.strerror or str(exc)
    hint = {errno.ENOSPC: " (the disk is full)", errno.EDQUOT: " (disk quota exceeded)",
            errno.EROFS: " (the file system is read-only)", errno.EACCES: " (no write permission)"}
    return f"{where}{why}{hint.get(exc.errno, '')}"


@contextlib.contextmanager
def replacing_folder(staging: str | Path, final: str | Path) -> Iterator[Path]:
    """Move a complete ``staging`` folder to ``final``; what was there is kept aside until the ``with`` block ends.

    The previous ``final`` is renamed to ``.<name>.old-<id>`` beside it, ``staging`` takes its place and the
    block runs (e.g. registering the new folder). When the move or the block raises, the new folder is moved
    back to ``staging`` and the previous one put back; otherwise the previous one is deleted.

    Yields
    ------
    Path
        ``final``, now holding what ``staging`` held.
    """
    staging, final = Path(staging), Path(final)
    old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
    if final.exists():
        os.replace(final, old)
    moved = False
    try:
        os.replace(staging, final)
        moved = True
        yield final
    except BaseException:
        if moved:
            os.replace(final, staging)
        if old.exists():
            os.replace(old, final)
        raise
    shutil.rmtree(old, ignore_errors=True)


def replace_folder(staging: str | Path, final: str | Path) -> Path:
    """Move a complete ``staging`` folder to ``final``, replacing what was there only once ``staging`` is in place."""
    with replacing_folder(staging, final):
        pass
    return final


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


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie counts as ended); owners of jobs and partial run folders."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of this process counts as ended
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return True
