"""Evaluation: metrics, per-group fairness with honest uncertainty, run comparison and reports.

Nothing here imports TensorFlow at import time; model loading happens in
:func:`core.evaluation.runs.evaluate_model` through :mod:`core.classifier`.
"""
from .compare import mcnemar, paired_bootstrap, paired_difference, pair_outcomes
from .disparity import corrected_spread
from .fairness import (GroupReport, available_attributes, group_report, group_report_from_counts,
                       resolve_attribute, skin_tone_category)
from .metrics import (accuracy, categorical_cross_entropy, check_predictions, compute_metrics, confusion,
                      macro_f1, per_class_metrics, weighted_f1)
from .runs import RunInfo, evaluate_model, list_runs, load_predictions, read_run, write_evaluation
from .results import pareto_status, tradeoff_table
from .uncertainty import Interval, accuracy_bounds, accuracy_interval, ratio_bounds, spread, wilson_interval

__all__ = [
    "GroupReport", "Interval", "RunInfo", "accuracy", "accuracy_bounds", "accuracy_interval", "available_attributes",
    "categorical_cross_entropy", "check_predictions", "compute_metrics", "confusion", "corrected_spread",
    "evaluate_model", "group_report", "group_report_from_counts", "list_runs", "load_predictions", "macro_f1",
    "mcnemar", "pair_outcomes", "paired_bootstrap", "paired_difference", "pareto_status", "per_class_metrics",
    "ratio_bounds", "read_run", "resolve_attribute", "skin_tone_category", "spread", "tradeoff_table", "weighted_f1",
    "wilson_interval", "write_evaluation",
]
