"""Exceptions raised by :mod:`core` with messages that name the input at fault."""
from __future__ import annotations

from pathlib import Path


class FerBiasError(Exception):
    """Base class for every error :mod:`core` raises on purpose."""


class DataFormatError(FerBiasError, ValueError):
    """An input file or table does not have the expected format.

    Parameters
    ----------
    message : str
        What was expected and what was received.
    source : str or Path, optional
        The file (or table name) at fault; prefixed to the message.
    column : str, optional
        The column at fault, if any; included in the message.
    """

    def __init__(self, message: str, source: str | Path | None = None, column: str | None = None):
        self.source = None if source is None else str(source)
        self.column = column
        prefix = ""
        if self.source is not None:
            prefix += f"{self.source}: "
        if column is not None:
            prefix += f"column '{column}': "
        super().__init__(prefix + message)


class ModelFileError(FerBiasError, ValueError):
    """A file given as a model cannot be used as a 7-class emotion classifier."""


class WeightsUnavailableError(FerBiasError, FileNotFoundError):
    """Pretrained weights were asked for but cannot be found or downloaded."""


class OutputError(FerBiasError, OSError):
    """An output folder cannot be used: it holds a finished artifact, is not writable or lacks space."""


class DatasetExistsError(FerBiasError, FileExistsError):
    """A dataset name (or its folder) is already registered."""


class UnknownDatasetError(DataFormatError):
    """No registered dataset has the name asked for."""


class ClusterUnavailableError(FerBiasError, ConnectionError):
    """No Ray cluster answers at the address given (``--executor ray --address``)."""
