"""``core.fairness``: group metrics and disparity summaries (see :mod:`core.evaluation.fairness`)."""
from .evaluation.fairness import (DERIVED_ATTRIBUTES, SKIN_TONE_ITA_BINS, SKIN_TONE_ORDER, GroupReport,
                                  available_attributes, group_report, group_report_from_counts, hex_to_lab,
                                  ita_degrees, person_column, resolve_attribute, skin_tone_category)
from .evaluation.uncertainty import spread

__all__ = [
    "DERIVED_ATTRIBUTES", "SKIN_TONE_ITA_BINS", "SKIN_TONE_ORDER", "GroupReport", "available_attributes",
    "group_report", "group_report_from_counts", "hex_to_lab", "ita_degrees", "person_column", "resolve_attribute",
    "skin_tone_category", "spread",
]
