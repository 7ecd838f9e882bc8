"""Identity leakage: how many evaluation persons (and clips) were also in the training data.

A person is the manifest's ``person`` column. For EiLA that is
``EiLA:<video>/<Person Global Id>``: one individual across the clips of a video
(the annotations' ``Person Id`` is numbered per clip and is kept as
``eila_person_id``). A clip is ``(dataset, video, clip)``, a video
``(dataset, video)``.

The audit is a dict with a fixed schema, written as ``leakage.json`` into every
run folder and by ``python -m core leakage``::

    {"checked": bool, "reason": str | None, "train_splits": [...], "eval_split": str,
     "groups": [{"attribute", "group", "frames", "persons", "persons_seen", "frames_seen",
                 "clips", "clips_seen", "videos"}, ...]}

``checked`` is False when persons cannot be compared (the evaluation rows, or
training rows of the same dataset, have no person ids; a model loaded without
its training data): ``persons``, ``persons_seen`` and ``frames_seen`` are then
``None``, never 0. Groups also carry ``frames_no_person`` (frames whose person
is unknown, counted neither seen nor unseen).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ..common._errors import DataFormatError
from ..common._io import atomic_write_json, atomic_write_text, read_json
from ..attributes import resolve_attribute
from .units import clip_ids, video_ids

LEAKAGE_FILE = "leakage.json"
LEAKAGE_FIELDS: tuple[str, ...] = ("frames", "persons", "persons_seen", "frames_seen", "clips", "clips_seen",
                                   "videos")
#: Attributes audited by default (those the evaluation rows have), after the whole set (``all``).
DEFAULT_LEAKAGE_ATTRIBUTES: tuple[str, ...] = ("race", "gender", "skin_tone")
#: A group is flagged when more than this share of its evaluation frames show persons seen in training.
MOSTLY_SEEN = 0.5


def _has(df: pd.DataFrame, col: str) -> bool:
    return col in df.columns and df[col].notna().any()


def unchecked(reason: str, train_splits: Sequence[str] = ("train", "validation"), eval_split: str = "test",
              groups: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An audit that could not compare persons, saying why."""
    return {"checked": False, "reason": str(reason), "train_splits": list(train_splits), "eval_split": str(eval_split),
            "groups": groups or []}


def _why_not(train: pd.DataFrame, evaluation: pd.DataFrame) -> str | None:
    if not _has(evaluation, "person"):
        return "the evaluation rows have no person ids, so leakage cannot be checked"
    if train is None:
        return "the training data are not known"
    datasets = set(evaluation["dataset"].dropna().astype(str)) if "dataset" in evaluation.columns else set()
    same = train["dataset"].astype(str).isin(datasets) if datasets and "dataset" in train.columns \
        else pd.Series(True, index=train.index)
    no_id = same & (train["person"].isna() if "person" in train.columns else True)
    weight = train["frames"] if "frames" in train.columns else 1  # a training_identities table
    if int(np.sum(no_id * weight)):
        return (f"{int(np.sum(no_id * weight))} training row(s) of the evaluation's dataset(s) {sorted(datasets)} have no "
                "person id, so leakage cannot be checked")
    return None


def seen_persons(train: pd.DataFrame | None, evaluation: pd.DataFrame) -> pd.Series:
    """Per evaluation row: whether its person is in ``train`` (nullable boolean; NA when not checkable)."""
    out = pd.Series(pd.NA, index=evaluation.index, dtype="boolean")
    if train is None or _why_not(train, evaluation) is not None:
        return out
    known = set(train["person"].dropna().astype(str)) if "person" in train.columns else set()
    has = evaluation["person"].notna()
    out[has] = evaluation.loc[has, "person"].astype(str).isin(known).to_numpy()
    return out


def _group_rows(evaluation: pd.DataFrame, seen: pd.Series, clip: pd.Series | None, clip_seen: pd.Series | None,
                video: pd.Series | None, attributes: Iterable[str], checked: bool) -> list[dict[str, Any]]:
    labels: list[tuple[str, pd.Series]] = [("all", pd.Series("all", index=evaluation.index))]
    for attr in attributes:
        try:
            labels.append((attr, resolve_attribute(evaluation, attr)))
        except DataFormatError:
            continue
    rows = []
    for attr, lab in labels:
        for g in sorted(lab.dropna().unique()):
            m = (lab == g).to_numpy()
            s = seen[m]
            person = evaluation.loc[m, "person"] if "person" in evaluation.columns else None
            row: dict[str, Any] = {"attribute": attr, "group": str(g), "frames": int(m.sum()),
                                   "persons": None, "persons_seen": None, "frames_seen": None,
                                   "clips": None, "clips_seen": None, "videos": None, "frames_no_person": None}
            if person is not None:
                row["frames_no_person"] = int(person.isna().sum())
                if checked:
                    row["persons"] = int(person.nunique(dropna=True))
                    row["persons_seen"] = int(person[s.fillna(False).to_numpy(dtype=bool)].nunique(dropna=True))
                    row["frames_seen"] = int(s.fillna(False).sum())
            if clip is not None:
                row["clips"] = int(clip[m].nunique(dropna=True))
                if clip_seen is not None:
                    row["clips_seen"] = int(clip[m][clip_seen[m].to_numpy(dtype=bool)].nunique(dropna=True))
            if video is not None:
                row["videos"] = int(video[m].nunique(dropna=True))
            rows.append(row)
    return rows


def leakage_audit(train: pd.DataFrame | None, evaluation: pd.DataFrame,
                  attributes: Iterable[str] = DEFAULT_LEAKAGE_ATTRIBUTES,
                  train_splits: Sequence[str] = ("train", "validation"), eval_split: str = "test") -> dict[str, Any]:
    """Per attribute and group: evaluation frames, persons and clips, and how many were in training.

    Parameters
    ----------
    train : pandas.DataFrame or None
        The rows a model was trained on (train and validation: both shape the
        model); None when unknown (a loaded model).
    evaluation : pandas.DataFrame
        The rows it is evaluated on.
    attributes : iterable of str
        Group attributes (any :func:`core.attributes.resolve_attribute` accepts);
        those the evaluation rows lack are left out. Group ``all`` comes first.
    train_splits, eval_split
        Recorded in the audit.

    Returns
    -------
    dict
        The audit (schema in the module docstring).
    """
    if not isinstance(evaluation, pd.DataFrame):
        raise TypeError(f"evaluation must be a DataFrame, received {type(evaluation).__name__}")
    if train is not None and not isinstance(train, pd.DataFrame):
        raise TypeError(f"train must be a DataFrame or None, received {type(train).__name__}")
    evaluation = evaluation.reset_index(drop=True)
    reason = _why_not(train, evaluation)
    seen = seen_persons(train, evaluation)
    clip, video = clip_ids(evaluation), video_ids(evaluation)
    clip_seen = None  # without training data clips are counted, not compared
    if clip is not None and train is not None:
        train_clips = clip_ids(train)
        clip_seen = clip.isin(set(train_clips.dropna()) if train_clips is not None else set()) & clip.notna()
    groups = _group_rows(evaluation, seen, clip, clip_seen, video, attributes, reason is None)
    if reason is None and "person" in evaluation.columns and evaluation["person"].isna().any():
        reason = (f"{int(evaluation['person'].isna().sum())} evaluation frame(s) have no person id; they are counted "
                  "neither seen nor unseen")
        return {"checked": True, "reason": reason, "train_splits": list(train_splits), "eval_split": str(eval_split),
                "groups": groups}
    if reason is not None:
        return unchecked(reason, train_splits, eval_split, groups)
    return {"checked": True, "reason": None, "train_splits": list(train_splits), "eval_split": str(eval_split),
            "groups": groups}


def training_identities(train: pd.DataFrame) -> pd.DataFrame:
    """Frames per distinct ``dataset, person, video, clip`` of training rows (kept in a run folder for later audits)."""
    cols = [c for c in ("dataset", "person", "video", "clip") if c in train.columns]
    out = train[cols].astype(object).groupby(cols, dropna=False).size().rename("frames").reset_index()
    for c in cols:  # NaN from the grouping back to None, so Parquet keeps string columns
        out[c] = pd.Series([None if pd.isna(v) else str(v) for v in out[c]], dtype=object)
    return out


def audit_for_model(model: str | Path, evaluation: pd.DataFrame, eval_split: str,
                    attributes: Iterable[str] = DEFAULT_LEAKAGE_ATTRIBUTES) -> tuple[dict[str, Any], pd.Series]:
    """Audit and ``seen_person`` for a model: a run folder's training identities, else not checkable.

    A run folder written by :func:`core.training.train_run` keeps
    ``training_identities.parquet``; ``fer`` or a model file has no known training data.
    """
    folder = Path(str(model))
    ident = folder / "training_identities.parquet" if folder.is_dir() else None
    if ident is not None and ident.is_file():
        train = pd.read_parquet(ident)
        return (leakage_audit(train, evaluation, attributes, eval_split=eval_split),
                seen_persons(train, evaluation))
    audit = leakage_audit(None, evaluation, attributes, eval_split=eval_split)
    audit["reason"] = (f"model {str(model)!r} was loaded without its training data (only runs trained here keep "
                       "training_identities.parquet), so leakage cannot be checked")
    return audit, seen_persons(None, evaluation)


def leakage_table(audit: dict[str, Any]) -> pd.DataFrame:
    """The audit's groups as a table ``attribute, group, frames, persons, persons_seen, ...``."""
    cols = ["attribute", "group", *LEAKAGE_FIELDS, "frames_no_person"]
    df = pd.DataFrame(audit.get("groups") or [], columns=cols)
    for c in cols[2:]:
        df[c] = pd.array(df[c], dtype="Int64")
    return df


def write_leakage(audit: dict[str, Any], out_dir: str | Path, csv: bool = False) -> list[Path]:
    """Write ``leakage.json`` (and ``leakage.csv`` when ``csv``) into ``out_dir``; returns the files."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [out_dir / LEAKAGE_FILE]
    atomic_write_json(audit, files[0])
    if csv:
        files.append(out_dir / "leakage.csv")
        atomic_write_text(leakage_table(audit).to_csv(index=False), files[1])
    return files


def read_leakage(run_dir: str | Path) -> dict[str, Any] | None:
    """A run folder's ``leakage.json``, or None when it has none (runs made before the audit existed)."""
    f = Path(run_dir) / LEAKAGE_FILE
    try:
        return read_json(f) if f.is_file() else None
    except (OSError, ValueError):
        return None


def mostly_seen_groups(audit: dict[str, Any] | None, threshold: float = MOSTLY_SEEN) -> list[dict[str, Any]]:
    """Groups (not ``all``) whose evaluation frames are mostly (> ``threshold``) of persons seen in training."""
    if not audit or not audit.get("checked"):
        return []
    return [g for g in audit.get("groups") or [] if g.get("attribute") != "all" and g.get("frames")
            and g.get("frames_seen") is not None and g["frames_seen"] / g["frames"] > threshold]


def describe_group(g: dict[str, Any]) -> str:
    """One line: ``Black: 4 of 7 persons seen in training (78.5 % of 219 frames); 1 clip, 1 video``."""
    where = []
    if g.get("clips") is not None:
        where.append(f"{g['clips']} clip{'s' if g['clips'] != 1 else ''}"
                     + (f" ({g['clips_seen']} seen)" if g.get("clips_seen") else ""))
    if g.get("videos") is not None:
        where.append(f"{g['videos']} video{'s' if g['videos'] != 1 else ''}")
    tail = ("; " + ", ".join(where)) if where else ""
    if g.get("clips") == 1:
        tail += " (ONE clip)"
    if g.get("persons") is None or g.get("frames_seen") is None:
        return f"{g['group']}: {g['frames']} frames, persons not comparable{tail}"
    share = 100.0 * g["frames_seen"] / g["frames"] if g["frames"] else 0.0
    return (f"{g['group']}: {g['persons_seen']} of {g['persons']} persons seen in training "
            f"({share:.1f} % of {g['frames']} frames){tail}")


def leakage_warnings(audit: dict[str, Any] | None, name: str = "", attribute: str | None = None) -> list[str]:
    """Banner lines, one per attribute (only ``attribute`` when given), naming the groups whose evaluation
    frames are mostly from persons seen in training."""
    prefix = f"{name}: " if name else ""
    by_attr: dict[str, list[str]] = {}
    for g in mostly_seen_groups(audit):
        if attribute is None or g["attribute"] == attribute:
            by_attr.setdefault(g["attribute"], []).append(
                f"{g['group']} {g['persons_seen']} of {g['persons']} persons "
                f"({100.0 * g['frames_seen'] / g['frames']:.1f} % of {g['frames']} frames"
                + (", ONE clip)" if g.get("clips") == 1 else ")"))
    return [f"{prefix}{attr} " + "; ".join(parts) + " seen in training: these accuracies are mostly measured on "
            "faces the model was trained on" for attr, parts in by_attr.items()]


def runs_leakage_notes(runs: Iterable[tuple[str, str | Path]],
                       attribute: str | None = None) -> tuple[list[str], list[str]]:
    """Banner lines for ``(name, run folder)`` pairs: groups mostly of seen persons, and runs not checked.

    Returns
    -------
    tuple
        (warnings, notes): per run and attribute (only ``attribute`` when
        given), the groups whose evaluation frames are mostly (> 50 %) of
        persons seen in training; a note per run whose
        leakage could not be checked or was never recorded.
    """
    warnings_, notes = [], []
    for name, folder in runs:
        audit = read_leakage(folder)
        if audit is None:
            notes.append(f"{name}: no leakage.json (made before the audit existed): leakage not checked")
        elif not audit.get("checked"):
            notes.append(f"{name}: leakage not checked ({audit.get('reason')})")
        warnings_ += leakage_warnings(audit, name, attribute)
    return warnings_, notes
