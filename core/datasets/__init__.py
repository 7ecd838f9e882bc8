"""Dataset loaders: each returns a validated manifest (see :mod:`core.manifest`)."""
from ._common import LoadReport
from ._eila import (SEED_CODE_SPLIT_RULE, SEED_PROSE_SPLIT_RULE, consensus, load_eila_annotations,
                    load_eila_crops, load_eila_demographics)
from ._faces import load_fairface, load_utkface
from ._fer2013_csv import load_fer2013_csv
from ._folder import SPLIT_FOLDER_NAMES, load_folder

__all__ = [
    "LoadReport", "SEED_CODE_SPLIT_RULE", "SEED_PROSE_SPLIT_RULE", "SPLIT_FOLDER_NAMES", "consensus",
    "load_eila_annotations", "load_eila_crops", "load_eila_demographics", "load_fairface",
    "load_fer2013_csv", "load_folder", "load_utkface",
]
