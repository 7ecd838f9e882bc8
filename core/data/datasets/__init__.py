"""Dataset loaders: each returns a validated manifest (see :mod:`core.data.manifest`)."""
from ._common import LoadReport
from ._eila import consensus, load_eila_annotations, load_eila_crops, load_eila_demographics
from ._splits import (SEED_CODE_SPLIT_RULE, SEED_PROSE_SPLIT_RULE, SPLIT_RULE_LABELS, SPLIT_RULES, apply_split_rule,
                      person_disjoint_split, split_rule_label, split_rule_name)
from ._faces import load_fairface, load_utkface
from ._fer2013_csv import load_fer2013_csv
from ._folder import SPLIT_FOLDER_NAMES, load_folder

__all__ = [
    "LoadReport", "SEED_CODE_SPLIT_RULE", "SEED_PROSE_SPLIT_RULE", "SPLIT_FOLDER_NAMES", "SPLIT_RULES",
    "SPLIT_RULE_LABELS", "apply_split_rule", "consensus", "person_disjoint_split", "split_rule_label", "split_rule_name",
    "load_eila_annotations", "load_eila_crops", "load_eila_demographics", "load_fairface",
    "load_fer2013_csv", "load_folder", "load_utkface",
]
