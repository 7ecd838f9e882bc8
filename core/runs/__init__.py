"""Runs: what a run folder holds (:mod:`core.runs.layout`), shared by training, evaluation and the pages."""
from .layout import (PARTIAL_PREFIX, RECORD_FILES, RUN_FILES, TRAINING_ROW_COLUMNS, TRAINING_ROWS, read_history,
                     write_history)

__all__ = ["PARTIAL_PREFIX", "RECORD_FILES", "RUN_FILES", "TRAINING_ROWS", "TRAINING_ROW_COLUMNS", "read_history",
           "write_history"]
