"""Windows and band differential entropy (BDE) tokens, with an on-disk cache.

trials (:class:`~neuroaffect.EEGTrials`) -> :class:`Tokenizer` -> :class:`WindowTokens`, or for a
whole dataset read subject by subject, :func:`tokens_for_dataset` (cached in HDF5).
:class:`RawWindows` cuts the same windows of the band-passed signal, for networks and covariance
pipelines that take raw windows.
"""

from .bde import FEATURES_VERSION, BandDifferentialEntropy, differential_entropy
from .cache import CacheWarning, tokens_for_dataset
from .filters import BAND_PRESETS, DEFAULT_BANDS, check_bands, resolve_bands
from .raw import RawWindows
from .tokenizer import Tokenizer
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
