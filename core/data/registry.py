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
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ..common._errors import DataFormatError, DatasetExistsError, UnknownDatasetError
from ..common._io import atomic_write_json, file_sha1, locked, read_json, replace_folder
from .manifest import load_manifest, save_manifest
from ..common.paths import cache_dir, datasets_dir, default_artifacts_dir

#: format name -> (description, needs demographics CSV)
FORMATS: dict[str, tuple[str, bool]] = {
    "folder": ("one folder per emotion, optionally under train/validation/test folders (FER2013 images, SFEW)", False),
    "fer2013-csv": ("FER2013 emotion,pixels,Usage CSV (its PNGs are written inside the registered dataset)", False),
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
    """Folder-safe version of a dataset name (the one normalisation of names: folder = slug).

    Raises
    ------
    DataFormatError
        (a ``ValueError``) when nothing usable is left, e.g. ``""``, ``"..."`` or ``"/"``.
    """
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", str(name).strip()).strip("-.").lower()
    if not slug:
        raise DataFormatError(f"name {name!r} has no usable characters; expected a name with letters or digits "
                              "such as 'FER2013 train'", "--name")
    return slug


def fer2013_png_dir(csv_path: str | Path, root: Path) -> Path:
    """Where the PNGs of one FER2013 CSV go under ``root``: a folder named by the CSV's content hash."""
    return Path(root) / "fer2013_png" / file_sha1(csv_path)[:16]


def load_any(fmt: str, path: str | Path, demographics: str | Path | None = None, name: str | None = None,
             artifacts: Path | None = None, files_dir: Path | None = None, **kwargs: Any) -> pd.DataFrame:
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
        Artifacts folder (default: :func:`core.common.paths.default_artifacts_dir`); a
        ``fer2013-csv`` loaded without ``files_dir`` keeps its PNGs under
        ``cache/fer2013_png/<content hash>/`` there.
    files_dir : Path, optional
        Folder where files derived from the input (``fer2013-csv`` PNGs) are
        written; :func:`load_and_register` passes the dataset's staging folder.
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
            path, fer2013_png_dir(path, files_dir or cache_dir(artifacts or default_artifacts_dir())),
            dataset=name or "FER2013", **kwargs),
        "eila-crops": lambda: ds.load_eila_crops(path, demographics, **kwargs),
        "eila-annotations": lambda: ds.load_eila_annotations(path, demographics, **kwargs),
        "utkface": lambda: ds.load_utkface(path, **kwargs),
        "fairface": lambda: ds.load_fairface(path, path.parent, **kwargs),
        "manifest": lambda: load_manifest(path),
    }
    if fmt == "fer2013-csv" and not path.is_file():
        raise DataFormatError("file not found; expected the FER2013 CSV with columns emotion, pixels, Usage", path)
    return loaders[fmt]()


def check_name_free(name: str, artifacts: Path, overwrite: bool = False) -> None:
    """Fail early (before long work) when ``name`` cannot be registered without ``overwrite``.

    Raises
    ------
    DatasetExistsError, DataFormatError
        As :func:`register_dataset` would.
    """
    _check_name_free(datasets_dir(artifacts) / slugify(name), name, overwrite)


def _check_name_free(folder: Path, name: str, overwrite: bool) -> None:
    """Refuse a name whose folder holds a registered dataset (of this or another name mapping to it)."""
    info_file = folder / "info.json"
    if not info_file.exists():
        return
    try:
        other = read_json(info_file).get("name")
    except (OSError, ValueError):
        other = None
    if other is not None and other != name:
        raise DatasetExistsError(f"dataset name {name!r} maps to folder {folder}, which already holds dataset "
                                 f"{other!r}; names are compared after normalising them to a folder name "
                                 f"({folder.name!r}), so choose another name (--name / --register)")
    if not overwrite:
        raise DatasetExistsError(f"a dataset named {name!r} is already registered at {folder}; it is never "
                                 "written again: choose another name, or pass --replace to replace it")


def register_dataset(manifest: pd.DataFrame, name: str, fmt: str, source: dict[str, Any], artifacts: Path,
                     synthetic: bool = False, overwrite: bool = False, staged: Path | None = None) -> DatasetInfo:
    """Persist a manifest under ``<artifacts>/datasets/<slug>/`` and return its info.

    Parameters
    ----------
    manifest : pandas.DataFrame
    name : str
        Dataset name; its folder is :func:`slugify` of it.
    fmt : str
        Format it was loaded from (recorded).
    source : dict
        Arguments it was loaded with (recorded).
    artifacts : Path
    synthetic : bool
    overwrite : bool
        Replace a dataset registered under the same name (``--replace``). With
        ``staged`` the old folder is swapped out only once the new one is
        complete; without, the manifest and then ``info.json`` (the commit
        point, whose sample count is checked against the manifest when read)
        are replaced in place, keeping files the new manifest may point at.
    staged : Path, optional
        A hidden folder under ``datasets/`` holding files the manifest points at
        (``fer2013-csv`` PNGs); it becomes the dataset's folder and the paths are
        rewritten to it.

    Raises
    ------
    DatasetExistsError
        The name (or another name with the same folder) is registered and ``overwrite`` is False.
    DataFormatError
        A name with no usable characters.
    """
    slug = slugify(name)
    root = datasets_dir(artifacts)
    with locked(root / f".{slug}.register.lock"):  # two registrations of one name: the second sees the first
        return _register_locked(manifest, name, slug, root / slug, fmt, source, synthetic, overwrite, staged)


def _register_locked(manifest: pd.DataFrame, name: str, slug: str, folder: Path, fmt: str, source: dict[str, Any],
                     synthetic: bool, overwrite: bool, staged: Path | None) -> DatasetInfo:
    _check_name_free(folder, name, overwrite)
    report = dict(manifest.attrs.get("load_report", {}))
    rule = manifest.attrs.get("split_rule") or {}  # EiLA loaders record the split rule they applied
    source = {**source, **({"split_rule": rule["rule"]} if rule.get("rule") else {}),
              **({"split_seed": rule["seed"]} if rule.get("seed") is not None else {})}
    info = {"name": name, "slug": slug, "format": fmt, "n_samples": int(len(manifest)), "synthetic": bool(synthetic),
            "created": time.time(), "source": {k: str(v) for k, v in source.items() if v is not None},
            "load_report": report}
    if staged is None:
        # a new folder, one a caller filled with the dataset's files, or a replacement whose manifest may point
        # at files inside the folder (estimate-pose in place): written in place, info.json is the commit point
        save_manifest(manifest, folder / "manifest.parquet")
        atomic_write_json(info, folder / "info.json")
        return _info(folder)
    staging = Path(staged)
    try:
        manifest = manifest.copy()
        manifest["path"] = [str(folder / Path(p).relative_to(staging.resolve())) if Path(p).is_relative_to(
            staging.resolve()) else p for p in manifest["path"]]
        save_manifest(manifest, staging / "manifest.parquet")
        atomic_write_json(info, staging / "info.json")
        replace_folder(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return _info(folder)


def load_and_register(fmt: str, path: str | Path, name: str, artifacts: Path, demographics: str | Path | None = None,
                      overwrite: bool = False, **kwargs: Any) -> tuple[pd.DataFrame, DatasetInfo]:
    """:func:`load_any` then :func:`register_dataset`, leaving nothing behind when either fails.

    Files derived from the input (``fer2013-csv`` PNGs) are written in a hidden
    staging folder that becomes the dataset's folder, so they belong to that
    dataset alone. The name is checked before anything is loaded.

    Returns
    -------
    tuple
        The manifest as loaded and the registered dataset's info.
    """
    artifacts = Path(artifacts)
    slug = slugify(name)
    root = datasets_dir(artifacts)
    _check_name_free(root / slug, name, overwrite)
    staging = root / f".{slug}.staging-{uuid.uuid4().hex[:8]}"
    try:
        df = load_any(fmt, path, demographics=demographics, name=name, artifacts=artifacts, files_dir=staging,
                      **kwargs)
        info = register_dataset(df, name, fmt, {"path": path, "demographics": demographics}, artifacts,
                                overwrite=overwrite, staged=staging if staging.exists() else None)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return df, info


def _info(folder: Path) -> DatasetInfo:
    meta = read_json(folder / "info.json", required=("name", "slug", "format", "n_samples", "created"))
    try:
        info = DatasetInfo(name=str(meta["name"]), slug=str(meta["slug"]), format=str(meta["format"]),
                           n_samples=int(meta["n_samples"]), synthetic=bool(meta.get("synthetic", False)),
                           created=float(meta["created"]), source=dict(meta.get("source") or {}),
                           load_report=dict(meta.get("load_report") or {}), path=folder)
    except (TypeError, ValueError) as exc:
        raise DataFormatError(f"a value has the wrong type ({exc}); expected the info.json this app writes",
                              folder / "info.json") from None
    rows = _manifest_rows(folder / "manifest.parquet")
    if rows != info.n_samples:
        raise DataFormatError(f"says {info.n_samples} samples but manifest.parquet has "
                              f"{'no readable table' if rows is None else rows} (an interrupted update?); pass "
                              "--replace to register the dataset again", folder / "info.json")
    return info


def _manifest_rows(path: Path) -> int | None:
    """Row count from a Parquet footer (cheap), None when unreadable."""
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # pyarrow raises several types for a truncated file
        return None


def scan_datasets(artifacts: Path) -> tuple[list[DatasetInfo], dict[str, DataFormatError]]:
    """Readable registered datasets (sorted by name) and, per folder name, why the others cannot be read."""
    root = datasets_dir(artifacts)
    if not root.is_dir():
        return [], {}
    infos, bad = [], {}
    for d in root.iterdir():  # hidden folders are staging/backup copies, never datasets
        if d.name.startswith(".") or not (d / "info.json").is_file() or not (d / "manifest.parquet").is_file():
            continue
        try:
            infos.append(_info(d))
        except (DataFormatError, OSError) as exc:
            bad[d.name] = exc if isinstance(exc, DataFormatError) else DataFormatError(str(exc), d / "info.json")
    return sorted(infos, key=lambda i: i.name.lower()), bad


def list_datasets(artifacts: Path) -> list[DatasetInfo]:
    """Registered datasets, sorted by name; hidden folders and folders without ``info.json`` are ignored.

    A dataset whose ``info.json`` is unreadable is left out with a warning naming
    the file: one bad dataset never breaks the others.
    """
    infos, bad = scan_datasets(artifacts)
    for exc in bad.values():
        warnings.warn(f"skipped a dataset: {exc}", stacklevel=2)
    return infos


def get_dataset(name_or_slug: str, artifacts: Path) -> DatasetInfo:
    """Info of one registered dataset by name or slug (an unreadable one raises naming its file)."""
    infos, bad = scan_datasets(artifacts)
    for info in infos:
        if name_or_slug in (info.name, info.slug):
            return info
    try:
        slug = slugify(name_or_slug)
    except DataFormatError:
        slug = None
    if slug in bad:
        raise bad[slug]
    known = [i.name for i in infos]
    raise UnknownDatasetError(f"no registered dataset named {name_or_slug!r}; registered: {known}",
                              datasets_dir(artifacts))


def load_dataset(name_or_slug: str, artifacts: Path) -> pd.DataFrame:
    """The manifest of a registered dataset."""
    return load_manifest(get_dataset(name_or_slug, artifacts).path / "manifest.parquet")


def remove_dataset(name_or_slug: str, artifacts: Path) -> None:
    """Delete a registered dataset's folder (never the source files)."""
    shutil.rmtree(get_dataset(name_or_slug, artifacts).path)
