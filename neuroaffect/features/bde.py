"""Band differential entropy (BDE): one token per electrode per window.

For a band-passed signal that is roughly Gaussian with variance ``var``, the differential entropy is
``0.5 * log(2 * pi * e * var)``. A token is the vector of these values over frequency bands.

:class:`BandDifferentialEntropy` computes these tokens for windows that are already cut;
:class:`~neuroaffect.features.Tokenizer` (:mod:`neuroaffect.features.tokenizer`) for whole trials.
The bands and the three ways to band-pass (``method="sos"``, ``"fft"``, ``"reference"``) are
described in :mod:`neuroaffect.features.filters`.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import check_finite, check_ndim, check_option, check_positive
from .filters import (
    BAND_PRESETS,
    DEFAULT_BANDS,
    METHODS,
    _design,
    _filtered_bands,
    check_bands,
    decay_length,
    design_filters,
    fft_filter_rows,
    padlen,
    resolve_bands,
    sosfiltfilt_rows,
)

# The band and filter names are re-exported: this module was their home before neuroaffect.features.filters.
__all__ = [
    "BAND_PRESETS", "DEFAULT_BANDS", "FEATURES_VERSION", "LOG_BASES", "METHODS", "BandDifferentialEntropy",
    "check_bands", "decay_length", "design_filters", "differential_entropy", "fft_filter_rows", "padlen",
    "resolve_bands", "sosfiltfilt_rows",
]

#: Version of the numbers the BDE modules produce (this one, ``filters`` and ``tokenizer``); bump it
#: whenever a change alters any token value, so that caches written by older code are recomputed.
#: 2: method="reference" removes each channel's window mean before filtering.
FEATURES_VERSION = 2

LOG_BASES = ("e", 2)

# Samples per temporary block: bounds the memory used while filtering (about 10 float64 copies of a
# block live at once per thread).
_BLOCK_SAMPLES = 1 << 20


# -- entropy -------------------------------------------------------------------------------------
def differential_entropy(variance, log_base="e") -> np.ndarray:
    """Differential entropy of a Gaussian with the given variance: ``0.5 * log(2 pi e variance)``.

    Parameters
    ----------
    variance : array-like
        Positive variances (V**2).
    log_base : {"e", 2}
        Natural logarithm (nats, the default) or base 2 (bits, as the widely used reference code).
    """
    check_option("log_base", log_base, LOG_BASES)
    de = 0.5 * np.log(2 * np.pi * np.e * np.asarray(variance, dtype=np.float64))
    return de if log_base == "e" else de / np.log(2)


def _band_variance(block, filters, method, sfreq, n_jobs, stat):
    """``stat(filtered rows)`` for every band, in parallel over chunks of rows.

    ``block`` has shape (n_rows, ...); ``stat`` maps filtered rows to shape (n_rows, ...). With
    ``method="sos"`` or ``"fft"`` the rows are whole continuous signals (n_rows, n_times); with
    ``"reference"`` they are stacks of windows (n_rows, n_windows, n_window) filtered one by one.
    Returns shape (n_rows, ..., n_bands).
    """
    n_rows = block.shape[0]
    chunks = _row_chunks(n_rows, int(np.prod(block.shape[1:])))
    work = lambda chunk: [stat(y) for y in _filtered_bands(filters, block[chunk], method, sfreq)]  # noqa: E731
    results = _map(n_jobs, work, chunks)
    out = np.empty((n_rows, *results[0][0].shape[1:], len(filters)))
    for chunk, per_band in zip(chunks, results, strict=True):
        out[chunk] = np.stack(per_band, axis=-1)
    return out


def _zscore_windows(windows: np.ndarray) -> np.ndarray:
    """Z-score each window with one mean / std over all its channels and samples.

    ``windows`` has shape (n, n_channels, n_times) or (n, n_channels, n_windows, n_times); statistics
    are taken over the channel and time axes.
    """
    axes = (1, -1)
    windows = np.asarray(windows, dtype=np.float64)
    std = windows.std(axis=axes, keepdims=True)
    _check_nonzero(std, "window standard deviation (for zscore=True)")
    return (windows - windows.mean(axis=axes, keepdims=True)) / std


def _check_not_flat(x: np.ndarray, describe=None) -> None:
    """The flat-signal error if a channel of a raw window (last axis) is constant.

    Checked before filtering: a constant at a non-zero level (e.g. a disconnected electrode at its
    DC offset) does not always give an exactly zero band variance, but a finite, meaningless DE.
    """
    _check_nonzero(np.ptp(x, axis=-1), "peak-to-peak amplitude", describe)


def _check_nonzero(variance: np.ndarray, what: str, describe=None) -> None:
    bad = ~(variance > 0)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = describe(index) if describe else f"index {index}"
        raise ValueError(
            f"Zero {what} at {where}: a flat signal has no differential entropy. Drop or repair "
            f"flat channels (e.g. EEGTrials.pick_channels) before computing BDE."
        )


def _map(n_jobs: int, func, tasks):
    if n_jobs == 1 or len(tasks) == 1:
        return [func(t) for t in tasks]
    with ThreadPoolExecutor(n_jobs) as pool:  # scipy's filters and FFTs release the GIL
        return list(pool.map(func, tasks))


def _row_chunks(n_rows: int, n_samples: int) -> list[slice]:
    step = max(1, _BLOCK_SAMPLES // max(1, n_samples))
    return [slice(i, min(i + step, n_rows)) for i in range(0, n_rows, step)]


def _n_jobs(n_jobs) -> int:
    from joblib import effective_n_jobs

    return max(1, effective_n_jobs(n_jobs))


def _log_std(windows, log_base):
    """log of each window's standard deviation over channels and samples.

    ``windows`` has shape (n, n_channels, n_windows, n_window); returns (n, n_windows).
    """
    std = np.stack([np.asarray(w, dtype=np.float64).std(axis=(0, 2)) for w in windows])
    _check_nonzero(std, "window standard deviation (for zscore=True)")
    log_std = np.log(std)
    return log_std if log_base == "e" else log_std / math.log(2)


# -- transformer on windows ----------------------------------------------------------------------
class BandDifferentialEntropy(TransformerMixin, BaseEstimator):
    """BDE tokens of windows that are already cut: (n_windows, n_channels, n_times) -> tokens.

    Each window is filtered on its own (there is no context around it). To tokenize whole trials,
    prefer :class:`Tokenizer`, which filters each continuous trial once before cutting windows.

    Parameters
    ----------
    sfreq : float
        Sampling rate of the windows in Hz.
    bands : None | str | mapping | sequence
        See :func:`resolve_bands`; default theta 4-8, alpha 8-14, beta 14-31, gamma 31-49 Hz.
    log_base : {"e", 2}
        Logarithm base of the entropy (nats or bits).
    method : {"sos", "fft", "reference"}
        Zero-phase second-order sections (or their response applied by FFT) per window, or the
        published causal ``(b, a)`` filter per window (see the module documentation).
    order : int | None
        Butterworth order; default 4 for ``"sos"`` and ``"fft"`` (applied twice, zero phase), 5 for
        ``"reference"``.
    zscore : bool
        Z-score each window (one mean and standard deviation over all its channels and samples)
        before filtering, as the electrode-attention transformer's code does.
    filter_sfreq : float | None
        Only with ``method="reference"``: design the filters for this rate instead of ``sfreq``
        (``128`` reproduces the published code's hard-coded rate; leave ``None`` otherwise).

    Attributes
    ----------
    bands_ : tuple of (str, float, float)
    band_names_ : tuple of str
    filters_ : list
        Second-order sections or ``(b, a)`` pairs, one per band.

    Examples
    --------
    >>> import numpy as np
    >>> windows = np.random.default_rng(0).standard_normal((10, 3, 256))
    >>> BandDifferentialEntropy(sfreq=128).fit_transform(windows).shape
    (10, 3, 4)
    """

    def __init__(self, sfreq, bands=None, log_base="e", method="sos", order=None, zscore=False,
                 filter_sfreq=None):
        self.sfreq = sfreq
        self.bands = bands
        self.log_base = log_base
        self.method = method
        self.order = order
        self.zscore = zscore
        self.filter_sfreq = filter_sfreq

    def fit(self, X=None, y=None):
        """Validate the parameters and design the filters (nothing is learned from ``X``)."""
        check_positive("sfreq", self.sfreq)
        check_option("log_base", self.log_base, LOG_BASES)
        check_option("method", self.method, METHODS)
        self.bands_, self.filters_ = _design(self.bands, self.sfreq, self.method, self.order,
                                             self.filter_sfreq)
        self.band_names_ = tuple(b[0] for b in self.bands_)
        return self

    def transform(self, X):
        """BDE of each window, channel and band.

        Parameters
        ----------
        X : ndarray, shape (n_windows, n_channels, n_times)
            Windows in volts.

        Returns
        -------
        tokens : ndarray, shape (n_windows, n_channels, n_bands), float32
        """
        check_is_fitted(self, "filters_")
        X = check_ndim(X, 3, "X", "(n_windows, n_channels, n_times)")
        check_finite(X, "X")
        _check_not_flat(X, lambda i: f"window {i[0]}, channel {i[1]}")
        if self.zscore:
            X = _zscore_windows(X)
        n_windows, n_channels, n_times = X.shape
        rows = X.reshape(n_windows * n_channels, n_times)
        variance = _band_variance(rows, self.filters_, self.method, self.sfreq, 1, lambda y: y.var(axis=-1))
        variance = variance.reshape(n_windows, n_channels, -1)
        _check_nonzero(variance, "band variance", lambda i: (
            f"window {i[0]}, channel {i[1]}, band {self.band_names_[i[2]]!r}"))
        return differential_entropy(variance, self.log_base).astype(np.float32)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "filters_")
        return np.array(self.band_names_, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags
