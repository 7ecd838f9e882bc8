"""Registered datasets: manifests persisted under ``<artifacts>/datasets/<slug>/``.

Each folder holds ``manifest.parquet`` and ``info.json`` (name, format, the
arguments it was loaded with, row count, load report, whether it is synthetic).
:func:`load_any` is the one entry point from "format + paths" to a manifest,
used by the Data page and every CLI command that takes ``--data/--format``.
"""
from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ._errors import DataFormatError
from ._io import atomic_write_json, read_json
from .manifest import load_manifest, save_manifest
from .paths import datasets_dir, default_artifacts_dir

#: format name -> (description, needs demographics CSV)
FORMATS: dict[str, tuple[str, bool]] = {
    "folder": ("one folder per emotion, optionally under train/validation/test folders (FER2013 images, SFEW)", False),
    "fer2013-csv": ("FER2013 emotion,pixels,Usage CSV (PNGs are written once under the artifacts folder)", False),
    "eila-crops": ("processed EiLA crops <row>_label_<k>_video_<tag>_clip_<cid>_person_<pid>.jpg + demographics CSV",
                   True),
    "eila-annotations": ("EiLA annotations.csv (frames, boxes, labels; no images) + demographics CSV", True),
    "utkface": ("UTKFace [age]_[gender]_[race]_[datetime].jpg files", False),
    "fairface": ("FairFace label CSV (file,age,gender,race,service_test); images under its folder", False),
    "manifest": ("a manifest .parquet written by this app", False),
}
#: Formats whose loader decodes image files and so accepts ``on_bad_image="skip"``.
BAD_IMAGE_FORMATS: frozenset[str] = frozenset({"folder", "eila-crops", "utkface", "fairface"})


@dataclass(frozen=True)
class DatasetInfo:
    """What :func:`list_datasets` returns for each registered dataset."""

    name: str
    slug: str
    format: str
    n_samples: int
    synthetic: bool
    created: float
    source: dict[str, Any]
    load_report: dict[str, Any]
    path: Path


def slugify(name: str) -> str:
    """Folder-safe version of a dataset name."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-.").lower()
    if not slug:
        raise ValueError(f"dataset name {name!r} has no usable characters")
    return slug


def load_any(fmt: str, path: str | Path, demographics: str | Path | None = None, name: str | None = None,
             artifacts: Path | None = None, **kwargs: Any) -> pd.DataFrame:
    """Load a dataset given its format and path.

    Parameters
    ----------
    fmt : str
        One of :data:`FORMATS`.
    path : str or Path
        Folder or file, as the format expects.
    demographics : str or Path, optional
        EiLA ``demographics.csv`` (required for ``eila-*`` formats).
    name : str, optional
        Dataset name for the ``folder`` format (defaults to the folder name).
    artifacts : Path, optional
        Artifacts folder, where ``fer2013-csv`` writes its PNGs (default:
        :func:`core.paths.default_artifacts_dir`).
    **kwargs
        Passed on to the loader (``split``, ``on_unknown_label``...; ``on_bad_image``
        only for :data:`BAD_IMAGE_FORMATS`).

    Raises
    ------
    DataFormatError
        Unknown format, missing demographics, or any loader error.
    """
    from . import datasets as ds

    if fmt not in FORMATS:
        raise DataFormatError(f"unknown format {fmt!r}; expected one of {list(FORMATS)}", path)
    if FORMATS[fmt][1] and demographics is None:
        raise DataFormatError(f"format {fmt!r} needs the EiLA demographics CSV (--demographics)", path)
    path = Path(path)
    loaders: dict[str, Callable[[], pd.DataFrame]] = {
        "folder": lambda: ds.load_folder(path, name or path.name, **kwargs),
        "fer2013-csv": lambda: ds.load_fer2013_csv(
            path, datasets_dir(artifacts or default_artifacts_dir()) / "_fer2013_png" / slugify(path.stem), **kwargs),
        "eila-crops": lambda: ds.load_eila_crops(path, demographics, **kwargs),
        "eila-annotations": lambda: ds.load_eila_annotations(path, demographics, **kwargs),
        "utkface": lambda: ds.load_utkface(path, **kwargs),
        "fairface": lambda: ds.load_fairface(path, path.parent, **kwargs),
        "manifest": lambda: load_manifest(path),
    }
    return loaders[fmt]()


def register_dataset(manifest: pd.DataFrame, name: str, fmt: str, source: dict[str, Any], artifacts: Path,
                     synthetic: bool = False, overwrite: bool = True) -> DatasetInfo:
    """Persist a manifest under ``<artifacts>/datasets/<slug>/`` and return its info."""
    slug = slugify(name)
    folder = datasets_dir(artifacts) / slug
    if folder.exists() and not overwrite:
        raise FileExistsError(f"a dataset named {name!r} is already registered at {folder}")
    report = dict(manifest.attrs.get("load_report", {}))
    save_manifest(manifest, folder / "manifest.parquet")
    rule = manifest.attrs.get("split_rule") or {}  # EiLA loaders record the split rule they applied
    source = {**source, **({"split_rule": rule["rule"]} if rule.get("rule") else {}),
              **({"split_seed": rule["seed"]} if rule.get("seed") is not None else {})}
    info = {"name": name, "slug": slug, "format": fmt, "n_samples": int(len(manifest)), "synthetic": bool(synthetic),
            "created": time.time(), "source": {k: str(v) for k, v in source.items() if v is not None},
            "load_report": report}
    atomic_write_json(info, folder / "info.json")
    return _info(folder)


def _info(folder: Path) -> DatasetInfo:
    meta = read_json(folder / "info.json")
    return DatasetInfo(name=meta["name"], slug=meta["slug"], format=meta["format"], n_samples=meta["n_samples"],
                       synthetic=meta.get("synthetic", False), created=meta["created"], source=meta.get("source", {}),
                       load_report=meta.get("load_report", {}), path=folder)


def list_datasets(artifacts: Path) -> list[DatasetInfo]:
    """Registered datasets, sorted by name; hidden folders and folders without ``info.json`` are ignored."""
    root = datasets_dir(artifacts)
    if not root.is_dir():
        return []
    infos = [_info(d) for d in root.iterdir()  # hidden folders are staging/backup copies, never datasets
             if not d.name.startswith(".") and (d / "info.json").is_file() and (d / "manifest.parquet").is_file()]
    return sorted(infos, key=lambda i: i.name.lower())


def get_dataset(name_or_slug: str, artifacts: Path) -> DatasetInfo:
    """Info of one registered dataset by name or slug."""
    for info in list_datasets(artifacts):
        if name_or_slug in (info.name, info.slug):
            return info
    known = [i.name for i in list_datasets(artifacts)]
    raise DataFormatError(f"no registered dataset named {name_or_slug!r}; registered: {known}",
                          datasets_dir(artifacts))


def load_dataset(name_or_slug: str, artifacts: Path) -> pd.DataFrame:
    """The manifest of a registered dataset."""
    return load_manifest(get_dataset(name_or_slug, artifacts).path / "manifest.parquet")


def remove_dataset(name_or_slug: str, artifacts: Path) -> None:
    """Delete a registered dataset's folder (never the source files)."""
    shutil.rmtree(get_dataset(name_or_slug, artifacts).path)
