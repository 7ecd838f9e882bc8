"""Evaluation: metrics, per-group fairness with honest uncertainty, run comparison and reports.

Nothing here imports TensorFlow at import time; model loading happens in
:func:`core.evaluation.runs.evaluate_model` through :mod:`core.models.classifier`.
"""
from .compare import mcnemar, paired_bootstrap, paired_difference
from .disparity import corrected_spread
from .fairness import GroupReport, group_report, group_report_from_counts
from .leakage import (LEAKAGE_FIELDS, leakage_audit, leakage_table, leakage_warnings, mostly_seen_groups,
                      read_leakage, seen_persons, write_leakage)
from .metrics import (accuracy, categorical_cross_entropy, compute_metrics, confusion, macro_f1, per_class_metrics,
                      weighted_f1)
from .findings import set_findings
from .identity import delete_run, rename_run, restore_run, set_notes, trashed_runs
from .provenance import Provenance, provenance
from .recall import largest_recall_gap, recall_by_group
from .runs import RunInfo, evaluate_model, list_runs, load_predictions, read_run, write_evaluation
from .results import CHANCE, EvalSet, pareto_status, tradeoff_table
from .sets import group_by_set, set_front
from .uncertainty import Interval, accuracy_bounds, accuracy_interval, ratio_bounds, spread, wilson_interval
from .units import UNITS, clip_ids, unit_ids, video_ids
from .validation import check_predictions

__all__ = [
    "CHANCE", "EvalSet", "GroupReport", "Interval", "LEAKAGE_FIELDS", "Provenance", "RunInfo", "UNITS", "accuracy",
    "accuracy_bounds", "accuracy_interval", "categorical_cross_entropy",
    "check_predictions", "clip_ids", "compute_metrics", "confusion", "corrected_spread", "delete_run",
    "evaluate_model", "group_by_set", "group_report", "group_report_from_counts", "largest_recall_gap",
    "leakage_audit", "leakage_table", "leakage_warnings", "list_runs", "load_predictions", "macro_f1", "mcnemar",
    "mostly_seen_groups", "paired_bootstrap", "paired_difference", "pareto_status",
    "per_class_metrics", "provenance", "ratio_bounds", "read_leakage", "read_run", "recall_by_group", "rename_run",
    "restore_run", "seen_persons", "set_findings", "set_front", "set_notes",
    "spread", "tradeoff_table", "trashed_runs", "unit_ids", "video_ids", "weighted_f1",
    "wilson_interval", "write_evaluation", "write_leakage",
]
