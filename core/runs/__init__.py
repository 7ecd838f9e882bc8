"""Runs: what a run folder holds (:mod:`core.runs.layout`), how runs are named (:mod:`core.runs.ids`) and
what a run or job does (:class:`core.runs.spec.RunSpec`, run by ``python -m core run``); shared by training,
evaluation, the jobs and the pages."""
from .layout import (PARTIAL_PREFIX, RECORD_FILES, RUN_FILES, TRAINING_ROW_COLUMNS, TRAINING_ROWS, read_history,
                     write_history)

__all__ = ["PARTIAL_PREFIX", "RECORD_FILES", "RUN_FILES", "TRAINING_ROWS", "TRAINING_ROW_COLUMNS", "read_history",
           "write_history"]
