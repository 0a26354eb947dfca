"""Windows and band differential entropy (BDE) tokens, with an on-disk cache.

trials (:class:`~neuroaffect.EEGTrials`) -> :class:`Tokenizer` -> :class:`WindowTokens`, or for a
whole dataset read subject by subject, :func:`tokens_for_dataset` (cached in HDF5).
:class:`RawWindows` cuts the same windows of the band-passed signal, for networks and covariance
pipelines that take raw windows.
"""

from .bde import (
    BAND_PRESETS,
    DEFAULT_BANDS,
    FEATURES_VERSION,
    BandDifferentialEntropy,
    Tokenizer,
    check_bands,
    differential_entropy,
    resolve_bands,
)
from .cache import CacheWarning, tokens_for_dataset
from .raw import RawWindows
from .tokens import WindowTokens

__all__ = [
    "BAND_PRESETS",
    "DEFAULT_BANDS",
    "FEATURES_VERSION",
    "BandDifferentialEntropy",
    "CacheWarning",
    "RawWindows",
    "Tokenizer",
    "WindowTokens",
    "check_bands",
    "differential_entropy",
    "resolve_bands",
    "tokens_for_dataset",
]
