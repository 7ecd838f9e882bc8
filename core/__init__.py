"""FER Bias Lab core library: data, preprocessing, mixing, training, evaluation, latent analysis.

Importing :mod:`core` is light (no TensorFlow); heavy modules import it lazily.
Streamlit is never imported here.
"""
from .common._errors import DataFormatError, FerBiasError, ModelFileError, WeightsUnavailableError
from .data.labels import EMOTIONS, canonical_label, canonicalize_labels
from .data.manifest import (OPTIONAL_COLUMNS, REQUIRED_COLUMNS, SPLITS, load_manifest, save_manifest,
                            validate_manifest)
from .common.paths import default_artifacts_dir

__all__ = [
    "DataFormatError", "EMOTIONS", "FerBiasError", "ModelFileError", "OPTIONAL_COLUMNS", "REQUIRED_COLUMNS",
    "SPLITS", "WeightsUnavailableError", "canonical_label", "canonicalize_labels", "default_artifacts_dir",
    "load_manifest", "save_manifest", "validate_manifest",
]
