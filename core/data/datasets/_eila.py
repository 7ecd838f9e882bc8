"""Loaders for EiLA: the frame annotations CSV and processed face crops."""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Mapping

import pandas as pd

from ...common._errors import DataFormatError
from ..labels import GENDER_CODES_EILA, RACE_CODES_EILA, canonical_label
from ._common import (BadImagePolicy, LoadReport, UnknownLabelPolicy,
                      check_unknown_labels, finish, read_csv, require_columns)
from ._splits import SEED_CODE_SPLIT_RULE, person_disjoint_split, split_rule_mapping, split_rule_name

ANNOTATION_COLUMNS = ["Video Tag", "Clip Id", "Labels", "Frame Number", "X", "Y", "Width", "Height", "Person Id"]
DEMOGRAPHIC_COLUMNS = ["Video Tag", "Clip Id", "Person Id", "Person Global Id", "Perceived Race",
                       "Perceived Gender", "Skin Color"]
CROP_NAME = re.compile(r"^(?P<row>\d+)_label_(?P<k>\d+)_video_(?P<video>.+)_clip_(?P<clip>\d+)"
                       r"_person_(?P<person>\d+)\.(?:jpg|jpeg|png)$", re.IGNORECASE)
_KEY = ["video", "clip", "eila_person_id"]


def load_eila_demographics(demographics_csv: str | Path) -> pd.DataFrame:
    """Read EiLA ``demographics.csv`` into readable group columns keyed by (video, clip, eila_person_id).

    ``person`` is ``EiLA:<video>/<Person Global Id>``: one individual across the
    clips of a video (annotations' ``Person Id`` is per clip: ``eila_person_id``).
    It is the identity the leakage audit and the person-disjoint split use.
    """
    demographics_csv = Path(demographics_csv)
    d = read_csv(demographics_csv, f"EiLA demographics with columns {DEMOGRAPHIC_COLUMNS}")
    require_columns(d, DEMOGRAPHIC_COLUMNS, demographics_csv)
    for col in ("Video Tag", "Clip Id", "Person Id", "Person Global Id"):
        empty = d[col].isna() | (d[col].astype(str).str.strip() == "")
        if empty.any():
            i = int(empty.to_numpy().nonzero()[0][0])
            raise DataFormatError(f"{int(empty.sum())} empty cell(s), first in data row {i} (line {i + 2}); "
                                  "expected a value in every row (it is part of the key crops are joined on)",
                                  demographics_csv, col)
    for col, codes in (("Perceived Race", RACE_CODES_EILA), ("Perceived Gender", GENDER_CODES_EILA)):
        bad = sorted(set(d[col].dropna().astype(str)) - set(codes))
        if bad:
            raise DataFormatError(f"unknown code(s) {bad}; expected {sorted(codes)}", demographics_csv, col)
    out = pd.DataFrame({
        "video": d["Video Tag"].astype(str), "clip": d["Clip Id"].astype(str),
        "eila_person_id": d["Person Id"].astype(str),
        "person": "EiLA:" + d["Video Tag"].astype(str) + "/" + d["Person Global Id"].astype(str),
        "race": d["Perceived Race"].map(RACE_CODES_EILA), "gender": d["Perceived Gender"].map(GENDER_CODES_EILA),
        "skin_color": d["Skin Color"].astype(str).str.strip().str.lower(),
    })
    dup = out.duplicated(_KEY, keep=False)
    if dup.any():
        first = out.loc[dup, _KEY].iloc[0].tolist()
        lines = [int(i) + 2 for i in out.index[dup & (out[_KEY] == first).all(axis=1)]]
        raise DataFormatError(f"{int(dup.sum())} rows share a (Video Tag, Clip Id, Person Id) key, e.g. "
                              f"{tuple(first)} on lines {lines}; expected one row per person of a clip",
                              demographics_csv)
    return out


def _parse_slots(text: object, row: int, source: Path) -> list[str]:
    try:
        slots = ast.literal_eval(str(text))
    except (ValueError, SyntaxError):
        raise DataFormatError(f"row {row}: Labels {text!r} is not a Python list literal", source, "Labels") from None
    if not isinstance(slots, (list, tuple)):
        raise DataFormatError(f"row {row}: Labels must be a list of annotator slots", source, "Labels")
    return [s[0] for s in slots if isinstance(s, (list, tuple)) and s]


def consensus(labels: list[str]) -> str | None:
    """Consensus of annotator labels: 3 -> majority (else the first), 2 -> the first, 1 -> that one."""
    if not labels:
        return None
    if len(labels) >= 3:
        for lab in labels:
            if labels.count(lab) * 2 > len(labels):
                return lab
    return labels[0]


def load_eila_annotations(annotations_csv: str | Path, demographics_csv: str | Path,
                          split_rule: str | Mapping[int, str] = SEED_CODE_SPLIT_RULE,
                          on_unknown_label: UnknownLabelPolicy = "exclude", split_seed: int = 0) -> pd.DataFrame:
    """One manifest row per EiLA annotation row, with consensus label, split and demographics.

    Parameters
    ----------
    annotations_csv, demographics_csv : str or Path
        EiLA ``annotations.csv`` and ``demographics.csv``.
    split_rule : mapping of int to str, or {"seed", "seed-prose", "person-disjoint"}
        Number of annotators -> split. The default is the seed's code
        (``"seed"``: 1 -> train, 2 -> validation, 3 -> test: 5,723 / 1,462 / 902
        rows on the real files; it keeps clips apart but not persons, so it
        leaks identities); :data:`SEED_PROSE_SPLIT_RULE` (``"seed-prose"``) is
        the inverse its prose states. ``"person-disjoint"`` keeps every labelled
        row and puts each person in one split, stratified by race, near the
        seed's proportions (:func:`core.data.datasets.person_disjoint_split`).
    on_unknown_label : {"exclude", "raise"}
    split_seed : int
        Seed of the person-disjoint split (ignored by the other rules).

    Returns
    -------
    pandas.DataFrame
        Manifest with ``path`` = ``<video>#<frame>``, plus ``row`` (0-based data
        row), ``n_annotators``, ``annotations`` (``|``-joined), box columns
        ``x, y, width, height`` (percent of frame size), ``eila_person_id`` and
        demographics.
    """
    annotations_csv = Path(annotations_csv)
    a = read_csv(annotations_csv, f"EiLA annotations with columns {ANNOTATION_COLUMNS}")
    require_columns(a, ANNOTATION_COLUMNS, annotations_csv)
    rule_name = split_rule_name(split_rule)
    mapping = split_rule_mapping(split_rule)
    bad_splits = sorted(set((mapping or {}).values()) - {"train", "validation", "test"})
    if bad_splits:
        raise ValueError(f"split_rule values must be train/validation/test, received {bad_splits}")
    demo = load_eila_demographics(demographics_csv)
    report = LoadReport(source=str(annotations_csv))
    slots = [_parse_slots(t, i, annotations_csv) for i, t in enumerate(a["Labels"])]
    raw_label = [consensus(s) for s in slots]
    n_ann = [len(s) for s in slots]
    df = pd.DataFrame({
        "row": range(len(a)), "video": a["Video Tag"].astype(str), "clip": a["Clip Id"].astype(str),
        "eila_person_id": a["Person Id"].astype(str), "frame": a["Frame Number"],
        "x": a["X"].astype(float), "y": a["Y"].astype(float),
        "width": a["Width"].astype(float), "height": a["Height"].astype(float),
        "n_annotators": n_ann, "annotations": ["|".join(s) for s in slots], "raw_label": raw_label,
    })
    no_label = df["raw_label"].isna()
    for r in df.loc[no_label, "row"]:
        report.skipped.append((f"row {r}", "no annotator label"))
    df = df[~no_label]
    unmapped = df["n_annotators"].map(lambda n: mapping is not None and n not in mapping)
    for r, n in zip(df.loc[unmapped, "row"], df.loc[unmapped, "n_annotators"]):
        report.skipped.append((f"row {r}", f"{n} annotators: no split in split_rule"))
    df = df[~unmapped].copy()
    df["label"] = df["raw_label"].map(canonical_label)
    unknown = df.loc[df["label"].isna(), "raw_label"].value_counts().to_dict()
    check_unknown_labels(report, unknown, on_unknown_label, annotations_csv)
    df = df[df["label"].notna()].copy()
    df = df.merge(demo, on=_KEY, how="left", validate="many_to_one")
    missing = df["person"].isna()
    if missing.any():
        ex = df.loc[missing, ["video", "clip", "eila_person_id"]].iloc[0].tolist()
        raise DataFormatError(f"{int(missing.sum())} annotation rows have no demographics row, e.g. "
                              f"(video, clip, person) = {ex}", demographics_csv)
    df["split"] = (person_disjoint_split(df, seed=split_seed) if mapping is None
                   else df["n_annotators"].map(mapping))
    df["sample_id"] = "EiLA:" + df["row"].astype(str)
    df["path"] = df["video"] + "#" + df["frame"].astype(str)
    df["dataset"] = "EiLA"
    df = df.drop(columns=["raw_label"]).sort_values("row").reset_index(drop=True)
    out = finish(df, report, annotations_csv)
    out.attrs["split_rule"] = {"rule": rule_name, "seed": int(split_seed) if mapping is None else None}
    return out


def load_eila_crops(root: str | Path, demographics_csv: str | Path, split: str | None = None,
                    on_bad_image: BadImagePolicy = "raise",
                    on_unknown_label: UnknownLabelPolicy = "exclude", split_rule: str = "seed",
                    split_seed: int = 0) -> pd.DataFrame:
    """Load processed EiLA crops ``<root>/<split>/<Emotion>/<row>_label_<k>_video_<tag>_clip_<cid>_person_<pid>.jpg``.

    Parameters
    ----------
    root : str or Path
        Folder holding split folders (or, with ``split`` given, emotion folders).
    demographics_csv : str or Path
        EiLA ``demographics.csv``; joined on (video, clip, person).
    split : str, optional
        Split for a flat ``<root>/<Emotion>/`` layout.
    on_bad_image, on_unknown_label
        As in :func:`core.data.datasets.load_folder`.
    split_rule : {"seed", "person-disjoint"}
        ``seed`` keeps the split of the folders (the seed's annotator-count rule,
        which leaks persons); ``person-disjoint`` recomputes it over all crops
        (see :func:`core.data.datasets.person_disjoint_split`).
    split_seed : int
        Seed of the person-disjoint split.

    Returns
    -------
    pandas.DataFrame
        Manifest with ``sample_id`` = ``EiLA:<row>`` (the annotations.csv row),
        race, gender, skin colour and ``person`` (``EiLA:<video>/<global id>``).
        Files whose names break the pattern are skipped and reported.
    """
    from ._folder import load_folder

    root = Path(root)
    base = load_folder(root, "EiLA", split=split or "train", on_bad_image=on_bad_image,
                       on_unknown_label=on_unknown_label)
    report = LoadReport(**{k: v for k, v in base.attrs["load_report"].items() if k == "source"})
    report.add_excluded(base.attrs["load_report"]["excluded_labels"])
    report.skipped.extend(tuple(s) for s in base.attrs["load_report"]["skipped"])
    parsed = base["path"].map(lambda p: CROP_NAME.match(Path(p).name))
    for p in base.loc[parsed.isna(), "path"]:
        report.skipped.append((p, "file name does not match <row>_label_<k>_video_<tag>_clip_<cid>_person_<pid>"))
    base, parsed = base[parsed.notna()].copy(), parsed[parsed.notna()]
    base["row"] = parsed.map(lambda m: int(m["row"])).astype(int)
    base["video"] = parsed.map(lambda m: m["video"])
    base["clip"] = parsed.map(lambda m: str(int(m["clip"])))
    base["eila_person_id"] = parsed.map(lambda m: str(int(m["person"])))
    base["sample_id"] = "EiLA:" + base["row"].astype(str)
    dup = base["sample_id"].duplicated(keep="first")
    for p in base.loc[dup, "path"]:
        report.skipped.append((p, "duplicate annotation row number"))
    base = base[~dup]
    demo = load_eila_demographics(demographics_csv)
    out = base.merge(demo, on=_KEY, how="left", validate="many_to_one")
    missing = out["person"].isna()
    if missing.any():
        ex = out.loc[missing, "path"].iloc[0]
        raise DataFormatError(f"{int(missing.sum())} crops have no demographics row, e.g. {ex}", demographics_csv)
    if split_rule not in ("seed", "person-disjoint"):
        raise ValueError(f"split_rule for crops must be 'seed' (their folders) or 'person-disjoint', "
                         f"received {split_rule!r}")
    out = out.sort_values("row").reset_index(drop=True)
    if split_rule == "person-disjoint":
        out["split"] = person_disjoint_split(out, seed=split_seed).to_numpy()
    result = finish(out, report, root)
    result.attrs["split_rule"] = {"rule": split_rule, "seed": int(split_seed) if split_rule != "seed" else None}
    return result
