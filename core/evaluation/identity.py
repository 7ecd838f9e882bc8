"""Run identity: a unique display name, rename, notes, and delete to a restorable trash.

Run folders are immutable: nothing here rewrites ``config.json``, ``metrics.json``
or any other file a run wrote. A rename or a note goes to a small separate file,
``label.json`` beside them in the run folder (``{"label": ..., "notes": ...,
"updated": ...}``); :func:`core.evaluation.runs.read_run` applies it. Deleting
moves the whole folder to ``<artifacts>/trash/runs/<run_id>__<stamp>/``, from
where :func:`restore_run` moves it back unchanged.

The display name is the configuration name (or the user's label), a short id
and the creation date, e.g. ``"SFEW + 10% EiLA · 3f9a1c · 2026-12-02 07:15"``:
two runs of the same configuration never look alike in a selector, a bar, a
legend or the report.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Iterable

from ..common._errors import DataFormatError
from ..common._io import atomic_write_json, read_json

META_FILE = "label.json"
TRASH_SUFFIX = "__"


def short_id(run_id: str) -> str:
    """Six characters that tell runs apart: the digest or random part of a run id (its last ``-`` segment)."""
    last = str(run_id).rsplit("-", 1)[-1]
    return last[:6] if len(last) >= 4 and last.isalnum() else str(run_id)[-6:]


def display_name(label: str, run_id: str, created: float) -> str:
    """``"<label> · <short id> · <YYYY-MM-DD HH:MM>"``."""
    return f"{label} · {short_id(run_id)} · {time.strftime('%Y-%m-%d %H:%M', time.localtime(created))}"


def unique_names(items: Iterable[tuple[str, str, str, float]]) -> dict[str, str]:
    """Display names that are unique among ``(key, label, run_id, created)`` items.

    When two items still share a name (same label, short id and minute), the full
    run id replaces the short id for them.
    """
    items = list(items)
    names = {k: display_name(lab, rid, c) for k, lab, rid, c in items}
    counts: dict[str, int] = {}
    for n in names.values():
        counts[n] = counts.get(n, 0) + 1
    for k, lab, rid, c in items:
        if counts[names[k]] > 1:
            names[k] = f"{lab} · {rid} · {time.strftime('%Y-%m-%d %H:%M', time.localtime(c))}"
    return names


def read_meta(run_dir: str | Path) -> dict[str, Any]:
    """The user's label and notes of a run (``{"label": None, "notes": ""}`` when none were set)."""
    f = Path(run_dir) / META_FILE
    try:
        meta = read_json(f) if f.is_file() else {}
    except (OSError, ValueError):
        meta = {}
    label = meta.get("label")
    return {"label": str(label) if label else None, "notes": str(meta.get("notes") or "")}


def _check_run(run_dir: str | Path) -> Path:
    path = Path(run_dir)
    if not (path / "config.json").is_file():
        raise DataFormatError("not a run folder; expected a config.json inside", path)
    return path


def _write_meta(path: Path, **changes: Any) -> dict[str, Any]:
    meta = {**read_meta(path), **changes, "updated": time.time()}
    atomic_write_json(meta, path / META_FILE)
    return meta


def rename_run(run_dir: str | Path, label: str | None) -> dict[str, Any]:
    """Give a run a display label (empty or None: back to its configuration name); returns the metadata."""
    label = " ".join(str(label or "").split())
    if len(label) > 120:
        raise ValueError(f"a run label has at most 120 characters, received {len(label)}")
    return _write_meta(_check_run(run_dir), label=label or None)


def set_notes(run_dir: str | Path, notes: str) -> dict[str, Any]:
    """Free-text notes about a run (kept in ``label.json``, never in the run's own files)."""
    return _write_meta(_check_run(run_dir), notes=str(notes or ""))


def trash_dir(artifacts: str | Path) -> Path:
    """``<artifacts>/trash/runs``: where deleted runs wait, restorable."""
    return Path(artifacts) / "trash" / "runs"


def delete_run(run_dir: str | Path, artifacts: str | Path) -> Path:
    """Move a run folder to the trash (nothing is erased); returns where it went."""
    path = _check_run(run_dir)
    target = trash_dir(artifacts) / f"{path.name}{TRASH_SUFFIX}{time.strftime('%Y%m%d-%H%M%S')}"
    k = 1
    while target.exists():
        target = target.with_name(f"{target.name}-{k}")
        k += 1
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), str(target))
    return target


def trashed_runs(artifacts: str | Path) -> list[Path]:
    """Run folders in the trash, most recently deleted first."""
    root = trash_dir(artifacts)
    if not root.is_dir():
        return []
    return sorted((d for d in root.iterdir() if d.is_dir() and (d / "config.json").is_file()),
                  key=lambda d: d.name.rsplit(TRASH_SUFFIX, 1)[-1], reverse=True)


def original_run_id(trashed: str | Path) -> str:
    """The run id a trashed folder had (its name without the deletion stamp)."""
    return Path(trashed).name.rsplit(TRASH_SUFFIX, 1)[0]


def restore_run(trashed: str | Path, artifacts: str | Path) -> Path:
    """Move a trashed run back to ``<artifacts>/runs/<run_id>``; returns the restored folder.

    Raises
    ------
    DataFormatError
        Not a folder in the trash, or a run with that id exists again.
    """
    from ..common.paths import runs_dir

    path = Path(trashed)
    if path.parent.resolve() != trash_dir(artifacts).resolve() or not (path / "config.json").is_file():
        raise DataFormatError(f"not a run in the trash; expected a folder under {trash_dir(artifacts)}", path)
    target = runs_dir(Path(artifacts)) / original_run_id(path)
    if target.exists():
        raise DataFormatError("a run with this id exists again; delete or move it before restoring", target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), str(target))
    return target
