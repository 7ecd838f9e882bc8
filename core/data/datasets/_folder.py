"""Loader for image trees with one folder per class (FER2013 images, SFEW, any split tree)."""
from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from ...common._errors import DataFormatError
from ..images import is_image_file
from ..labels import canonical_label
from ._common import (BadImagePolicy, LoadReport, UnknownLabelPolicy, apply_bad_image_policy,
                      check_unknown_labels, finish)

#: Folder names recognised as splits (case-insensitive).
SPLIT_FOLDER_NAMES: dict[str, str] = {
    "train": "train", "training": "train", "train_aligned_faces": "train",
    "validation": "validation", "val": "validation", "valid": "validation", "publictest": "validation",
    "val_aligned_faces": "validation",
    "test": "test", "testing": "test", "privatetest": "test", "test_aligned_faces": "test",
}


def load_folder(root: str | Path, dataset: str, split: str = "train",
                on_bad_image: BadImagePolicy = "raise",
                on_unknown_label: UnknownLabelPolicy = "exclude") -> pd.DataFrame:
    """Load a tree of images with one folder per emotion.

    Two layouts are recognised: ``root/<split>/<Emotion>/*`` where split folders
    are named like ``train``, ``validation``/``val``/``PublicTest``, ``test``,
    ``Train_Aligned_Faces``, ``Val_Aligned_Faces``; or ``root/<Emotion>/*``, in
    which case every sample gets ``split``.

    Parameters
    ----------
    root : str or Path
        Top folder.
    dataset : str
        Name stored in the ``dataset`` column and used in ``sample_id``.
    split : {"train", "validation", "test"}
        Split for the flat layout.
    on_bad_image : {"raise", "skip"}
        What to do with files that do not decode.
    on_unknown_label : {"exclude", "raise"}
        Class folders whose name is not an emotion are counted and excluded, or raise.

    Returns
    -------
    pandas.DataFrame
        A validated manifest; ``attrs['load_report']`` lists what was left out.

    Raises
    ------
    DataFormatError
        Missing or empty folder, no class folders, undecodable images (with ``raise``).
    """
    root = Path(root)
    if not dataset or not isinstance(dataset, str):
        raise ValueError(f"dataset must be a non-empty name, received {dataset!r}")
    if not root.is_dir():
        raise DataFormatError("folder not found; expected a folder of class folders or split folders", root)
    report = LoadReport(source=str(root))
    subdirs = [d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")]
    split_dirs = [(d, SPLIT_FOLDER_NAMES[d.name.lower()]) for d in subdirs if d.name.lower() in SPLIT_FOLDER_NAMES]
    if not split_dirs:
        split_dirs = [(root, split)]
    rows: list[dict] = []
    unknown: dict[str, int] = {}
    for split_dir, split_name in split_dirs:
        class_dirs = [d for d in sorted(split_dir.iterdir()) if d.is_dir() and not d.name.startswith(".")]
        for class_dir in class_dirs:
            files = [f for f in sorted(class_dir.iterdir()) if is_image_file(f)]
            label = canonical_label(class_dir.name)
            if label is not None and class_dir.name != class_dir.name.strip():
                warnings.warn(f"{class_dir}: class folder name {class_dir.name!r} has leading/trailing spaces; "
                              f"read as {label!r} (merged with any other folder of that emotion)", stacklevel=2)
            if label is None:
                if files:
                    unknown[class_dir.name] = unknown.get(class_dir.name, 0) + len(files)
                continue
            for f in files:
                rows.append({"sample_id": f"{dataset}:{f.relative_to(root).as_posix()}", "path": str(f.resolve()),
                             "dataset": dataset, "split": split_name, "label": label})
    check_unknown_labels(report, unknown, on_unknown_label, root)
    if not rows:
        raise DataFormatError(
            "no images found in class folders; expected <root>/<Emotion>/*.jpg|png or "
            "<root>/<split>/<Emotion>/*.jpg|png with Emotion one of Angry, Disgust, Fear, Happy, Neutral, Sad, "
            f"Surprise ({report.summary()})", root)
    df = pd.DataFrame(rows)
    df = apply_bad_image_policy(df, report, on_bad_image, root)
    return finish(df, report, root)
