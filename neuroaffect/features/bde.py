"""Band differential entropy (BDE): one token per electrode per window.

For a band-passed signal that is roughly Gaussian with variance ``var``, the differential entropy is
``0.5 * log(2 * pi * e * var)``. A token is the vector of these values over frequency bands.

Three ways to band-pass are offered:

``method="sos"`` (default)
    A Butterworth band-pass in second-order sections, applied forward and backward (zero phase, as
    :func:`scipy.signal.sosfiltfilt`). :class:`Tokenizer` filters each continuous trial once and only
    then cuts windows, so no window carries a filter start-up transient. The zero-phase response is
    ``|H(f)|**2``; its equivalent noise bandwidth is about 0.90 times the nominal band width, so the
    DE of white noise sits about ``0.5 * log(0.9) = -0.053`` nats below the ideal-band value.
``method="fft"``
    The same zero-phase response ``|H(f)|**2`` of the same second-order sections, applied in the
    frequency domain (one FFT per block of rows, one inverse FFT per band, float32): 2-3 times faster.
    Away from the trial edges it equals ``"sos"`` to float32 precision; in the first and last filter
    decay length both use a different edge heuristic (odd reflection, short for ``sosfiltfilt``, one
    decay length here), with the same accuracy on average.
``method="reference"``
    The pipeline most published DEAP / SEED results use: every short window is filtered separately
    with a causal 5th-order Butterworth in transfer-function ``(b, a)`` form
    (:func:`scipy.signal.butter` then :func:`scipy.signal.lfilter` from zero initial state), and the
    DE is taken from that window's variance. Each window then starts with the filter's transient.
    One deliberate difference from the widely used implementation (TorchEEG's
    ``BandDifferentialEntropy``, which filters the raw window): each channel's window mean is removed
    before filtering. Otherwise a DC offset (DREAMER's Emotiv signals sit near 4200 µV) enters as a
    step at the window start, and the band variance measures the filter's step response instead of
    the EEG; on data that is already near zero mean (DEAP's preprocessed signals) the change is about
    1e-3 nats.

    High-order ``(b, a)`` filters are numerically fragile when a band is narrow relative to the
    sampling rate: the rounded coefficients move the poles, up to outside the unit circle.
    :func:`design_filters` refuses a filter that is unstable or whose impulse response is more
    than 1e-3 (relative) away from the same design in second-order sections, with a
    ``ValueError`` instead of returning wrong numbers (see there). At the default order 5 this
    refuses, among the preset bands: at 1000 Hz the 1-4, 4-8 and 8-14 Hz filters (unstable); at
    500 / 512 Hz 1-4 Hz (unstable) and 4-8 Hz (inaccurate); at 250 / 256 Hz 1-4 Hz (unstable);
    at 200 Hz 1-4 Hz (inaccurate). Every preset band passes at 128 Hz. The widely used
    implementation also designs its filters for ``fs = 128`` whatever the data's sampling rate
    (on SEED's 200 Hz data every band edge is then multiplied by 200 / 128); ``filter_sfreq=128``
    reproduces that on purpose, and is what SEED at 200 Hz needs with a delta band (the
    ``"seed"`` or ``"with-delta"`` presets) under ``method="reference"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
from scipy import signal
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import check_finite, check_ndim, check_option, check_positive
from .tokens import WindowTokens
from .windows import split_segments, window_samples, window_starts, window_variance, window_view

#: Version of the numbers this module produces; bump it whenever a change alters any token value,
#: so that caches written by older code are recomputed.
#: 2: method="reference" removes each channel's window mean before filtering.
FEATURES_VERSION = 2

#: theta, alpha, beta, gamma (Hz): the bands of the electrode-attention transformer.
DEFAULT_BANDS = (("theta", 4.0, 8.0), ("alpha", 8.0, 14.0), ("beta", 14.0, 31.0), ("gamma", 31.0, 49.0))

#: Named band sets accepted wherever ``bands`` is.
BAND_PRESETS = {
    "standard": DEFAULT_BANDS,
    "with-delta": (("delta", 1.0, 4.0), *DEFAULT_BANDS),
    # The five bands of SEED's own ExtractedFeatures (gamma up to 50 Hz).
    "seed": (("delta", 1.0, 4.0), ("theta", 4.0, 8.0), ("alpha", 8.0, 14.0), ("beta", 14.0, 31.0),
             ("gamma", 31.0, 50.0)),
}

METHODS = ("sos", "fft", "reference")
LOG_BASES = ("e", 2)
BASELINES = ("auto", "none", "average-segments", "average-de")
_DEFAULT_ORDER = {"sos": 4, "fft": 4, "reference": 5}
# A (b, a) filter is refused when its largest pole radius is at least 1 - _POLE_MARGIN (unstable:
# the output grows without bound with the window length) or when its impulse response differs from
# that of the same Butterworth in second-order sections by more than _BA_TOLERANCE (relative L2
# norm over twice the decay length): the rounded coefficients then describe another filter. Over
# Butterworth band-passes of orders 2-7 at 100-2000 Hz, the accepted ones change the DE of white
# noise by at most ~5e-3 nats (most by < 1e-4); e.g. 1-4 Hz at 128 Hz, order 5 (the published SEED
# set-up with filter_sfreq=128) is 2e-4 from the SOS filter, while 1-4 Hz at 200 Hz (2.6e-2, DE off
# by 0.014 nats) is refused. The pole radius alone cannot separate the two: wrong stable filters
# have radii from 0.984, right ones up to 0.9999.
_POLE_MARGIN = 1e-6
_BA_TOLERANCE = 1e-3
# Samples per temporary block: bounds the memory used while filtering (about 10 float64 copies of a
# block live at once per thread).
_BLOCK_SAMPLES = 1 << 20


# -- bands, filters, entropy ---------------------------------------------------------------------
def resolve_bands(bands=None) -> tuple[tuple[str, float, float], ...]:
    """Bands as a tuple of ``(name, l_freq, h_freq)``.

    Parameters
    ----------
    bands : None | str | mapping | sequence
        ``None`` for :data:`DEFAULT_BANDS`; a preset name from :data:`BAND_PRESETS`; a mapping
        ``{name: (l_freq, h_freq)}``; or a sequence of ``(name, l_freq, h_freq)``. Frequencies in Hz.
    """
    if bands is None:
        bands = DEFAULT_BANDS
    elif isinstance(bands, str):
        check_option("bands", bands, tuple(BAND_PRESETS))
        bands = BAND_PRESETS[bands]
    elif isinstance(bands, Mapping):
        bands = [(name, *edges) for name, edges in bands.items()]
    resolved = []
    for band in bands:
        if len(band) != 3 or not isinstance(band[0], str):
            raise ValueError(
                f"Invalid value for the 'bands' parameter: each band must be (name, l_freq, h_freq), "
                f"got {band!r}."
            )
        name, lo, hi = band[0], float(band[1]), float(band[2])
        if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo < hi):
            raise ValueError(
                f"Invalid band {name!r}: expected 0 < l_freq < h_freq (Hz), got {lo:g}-{hi:g} Hz."
            )
        resolved.append((name, lo, hi))
    names = [b[0] for b in resolved]
    if not resolved or len(set(names)) != len(names):
        raise ValueError(f"Invalid value for the 'bands' parameter: need distinct band names, got {names}.")
    return tuple(resolved)


def check_bands(bands, sfreq: float, *, sfreq_name: str = "sfreq") -> tuple[tuple[str, float, float], ...]:
    """:func:`resolve_bands`, then check every band lies below the Nyquist frequency of ``sfreq``.

    ``sfreq_name`` is the parameter named in the errors (``"filter_sfreq"`` when the filters are
    designed for that rate rather than the data's).
    """
    check_positive(sfreq_name, sfreq)
    resolved = resolve_bands(bands)
    nyquist = sfreq / 2
    for name, lo, hi in resolved:
        if hi >= nyquist:
            raise ValueError(
                f"Band {name!r} ({lo:g}-{hi:g} Hz) reaches the Nyquist frequency ({nyquist:g} Hz) of "
                f"{sfreq_name}={sfreq:g} Hz; lower its upper edge below {nyquist:g} Hz or drop the band."
            )
    return resolved


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


def design_filters(bands, sfreq: float, method: str = "sos", order: int | None = None, *,
                   sfreq_name: str = "sfreq") -> list:
    """One Butterworth band-pass per band.

    Parameters
    ----------
    bands : None | str | mapping | sequence
        See :func:`resolve_bands`.
    sfreq : float
        The rate the filters are designed for, in Hz.
    method : {"sos", "fft", "reference"}
    order : int | None
        Butterworth order (default 4, or 5 for ``"reference"``).
    sfreq_name : str
        The parameter named in the errors (``"filter_sfreq"`` when ``sfreq`` comes from it).

    Returns
    -------
    filters : list
        Second-order-section arrays (``"sos"``, ``"fft"``) or ``(b, a)`` pairs (``"reference"``).

    Raises
    ------
    ValueError
        If a band reaches the Nyquist frequency, or (``"reference"``) if a band's ``(b, a)`` form is
        numerically unusable: a pole at radius ``>= 1 - 1e-6`` (unstable), or an impulse response
        more than 1e-3 (relative) away from the same filter in second-order sections. This happens
        for bands that are narrow relative to ``sfreq``; at order 5 (the default), among the preset
        bands: at 1000 Hz 1-4, 4-8 and 8-14 Hz (unstable); at 500 / 512 Hz 1-4 Hz (unstable) and
        4-8 Hz (inaccurate); at 250 / 256 Hz 1-4 Hz (unstable); at 200 Hz 1-4 Hz (inaccurate, so
        SEED with a delta band needs ``filter_sfreq=128``, the published setting). Use
        ``method="sos"``, a lower order, or ``filter_sfreq``.
    """
    check_option("method", method, METHODS)
    order = _DEFAULT_ORDER[method] if order is None else order
    if not isinstance(order, int | np.integer) or order < 1:
        raise ValueError(f"Invalid value for the 'order' parameter: expected a positive integer, got {order!r}.")
    resolved = check_bands(bands, sfreq, sfreq_name=sfreq_name)
    if method != "reference":
        return [signal.butter(int(order), [lo, hi], btype="bandpass", fs=sfreq, output="sos")
                for _, lo, hi in resolved]
    filters = []
    for name, lo, hi in resolved:
        b, a, radius, error = _ba_filter(lo, hi, float(sfreq), int(order))
        if radius >= 1 - _POLE_MARGIN or not error <= _BA_TOLERANCE:
            problem = (
                f"is unstable (a pole at radius {radius:.6f} >= 1 - {_POLE_MARGIN:g}: the output "
                f"grows without bound)" if radius >= 1 - _POLE_MARGIN else
                f"is inaccurate (its impulse response is {error:.1e} (relative) away from the same "
                f"filter in second-order sections; at most {_BA_TOLERANCE:g} is accepted)"
            )
            raise ValueError(
                f"method='reference': the (b, a) Butterworth band-pass of band {name!r} "
                f"({lo:g}-{hi:g} Hz, order {int(order)}) designed for {sfreq_name}={sfreq:g} Hz {problem}, "
                f"so it would return wrong band entropies. The band is too narrow for this rate in "
                f"(b, a) form: use method='sos' (the default), a lower order, drop or widen the band, "
                f"or design the filters for a lower rate with filter_sfreq (e.g. 128, as the "
                f"published code does)."
            )
        filters.append((b.copy(), a.copy()))  # the cached arrays stay untouched
    return filters


@lru_cache(maxsize=256)
def _ba_filter(lo: float, hi: float, sfreq: float, order: int):
    """``(b, a)`` Butterworth band-pass, its largest pole radius and its impulse-response error.

    The error is the relative L2 distance between the impulse responses of ``(b, a)`` (through
    :func:`scipy.signal.lfilter`, as applied) and of the same design in second-order sections, over
    twice the latter's decay length; ``inf`` when not finite.
    """
    b, a = signal.butter(order, [lo, hi], btype="bandpass", fs=sfreq, output="ba")
    radius = float(np.abs(np.roots(a)).max())
    if radius >= 1 - _POLE_MARGIN:
        return b, a, radius, np.inf
    sos = signal.butter(order, [lo, hi], btype="bandpass", fs=sfreq, output="sos")
    impulse = np.zeros(2 * decay_length(sos))
    impulse[0] = 1.0
    expected = signal.sosfilt(sos, impulse)
    with np.errstate(all="ignore"):
        error = float(np.linalg.norm(signal.lfilter(b, a, impulse) - expected) / np.linalg.norm(expected))
    return b, a, radius, error if np.isfinite(error) else np.inf


def padlen(sos: np.ndarray) -> int:
    """The edge padding :func:`scipy.signal.sosfiltfilt` uses by default for ``sos``."""
    n_taps = 2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * n_taps


def _odd_extend(x: np.ndarray, edge: int, zeros: int = 0) -> np.ndarray:
    """float64 copy of ``x`` (n_rows, n_times) with ``edge`` odd-reflected samples on each side
    (as :func:`scipy.signal.sosfiltfilt` pads) and ``zeros`` zeros after them."""
    n_times = x.shape[-1]
    ext = np.zeros((x.shape[0], n_times + 2 * edge + zeros))
    ext[:, edge : edge + n_times] = x
    if edge:
        ext[:, :edge] = 2 * ext[:, edge : edge + 1] - x[:, edge:0:-1]
        ext[:, edge + n_times : 2 * edge + n_times] = 2 * ext[:, edge + n_times - 1 : edge + n_times] - \
            x[:, -2 : -edge - 2 : -1]
    return ext


def _sosfiltfilt_ext(sos: np.ndarray, ext: np.ndarray, edge: int) -> np.ndarray:
    zi = signal.sosfilt_zi(sos)[:, None, :]
    y, _ = signal.sosfilt(sos, ext, axis=-1, zi=zi * ext[None, :, :1])
    y = y[:, ::-1]  # sosfilt copies its input to C order anyway
    y, _ = signal.sosfilt(sos, y, axis=-1, zi=zi * y[None, :, :1])
    return y[:, ::-1][:, edge : ext.shape[-1] - edge]


def sosfiltfilt_rows(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Zero-phase filtering of each row, identical to ``scipy.signal.sosfiltfilt(sos, x)`` (odd padding).

    Faster than scipy's (which pads with a general-purpose routine and reverses twice); the odd
    padding is shared by all bands when several are filtered (:func:`_filtered_bands`).

    Parameters
    ----------
    sos : ndarray, shape (n_sections, 6)
    x : ndarray, shape (n_rows, n_times)

    Returns
    -------
    y : ndarray, shape (n_rows, n_times), float64
    """
    edge = padlen(sos)
    _check_sos_length(x.shape[-1], edge)
    return _sosfiltfilt_ext(sos, _odd_extend(x, edge), edge)


def _check_sos_length(n_times: int, edge: int) -> None:
    if n_times <= edge:
        raise ValueError(
            f"Cannot filter {n_times} samples with zero-phase filtering (method='sos'): need more than "
            f"{edge} samples; use longer windows, or Tokenizer on whole trials."
        )


def decay_length(sos: np.ndarray, tol: float = 1e-12) -> int:
    """Samples after which the impulse response of ``sos`` keeps less than ``tol`` of its energy."""
    n = 1024
    while True:
        impulse = np.zeros(n)
        impulse[0] = 1.0
        energy = signal.sosfilt(sos, impulse) ** 2
        tail = np.cumsum(energy[::-1])[::-1]
        if tail[-1] < tol * tail[0] or n > 1 << 22:
            return int(np.argmax(tail < tol * tail[0]))
        n *= 4


def fft_filter_rows(filters: list, x: np.ndarray, sfreq: float):
    """Zero-phase filtering in the frequency domain: yield each band's ``x`` filtered by ``|H(f)|**2``.

    The response is that of ``scipy.signal.sosfiltfilt`` with the same second-order sections (the
    filter applied forward and backward), applied by one FFT of the padded rows and one inverse FFT per
    band. Rows are odd-extended by the filters' decay length (capped at ``n_times - 1``) and followed by
    enough zeros that the circular convolution equals the linear one. Away from the edges the output
    equals ``sosfiltfilt``'s to about 1e-6; within a decay length of the edges both are edge
    heuristics and differ.

    Parameters
    ----------
    filters : list of ndarray, each shape (n_sections, 6)
    x : ndarray, shape (n_rows, n_times)
    sfreq : float

    Yields
    ------
    y : ndarray, shape (n_rows, n_times), float64
    """
    from scipy import fft

    n_times = x.shape[-1]
    decay = max(_decay_length_cached(sos.tobytes(), sos.shape) for sos in filters)
    edge = min(decay, n_times - 1)
    n_fft = fft.next_fast_len(n_times + edge + max(edge, decay), real=True)
    spectrum = fft.rfft(_odd_extend(x, edge).astype(np.float32), n=n_fft, axis=-1)
    freqs = np.fft.rfftfreq(n_fft, 1 / sfreq)
    for sos in filters:
        gain = (np.abs(signal.sosfreqz(sos, worN=freqs, fs=sfreq)[1]) ** 2).astype(np.float32)
        yield fft.irfft(spectrum * gain, n=n_fft, axis=-1)[:, edge : edge + n_times]


@lru_cache(maxsize=64)
def _decay_length_cached(sos_bytes: bytes, shape: tuple) -> int:
    return decay_length(np.frombuffer(sos_bytes).reshape(shape).copy())


def _filtered_bands(filters: list, x: np.ndarray, method: str, sfreq: float):
    """Yield ``x`` (n_rows, ..., n_times) filtered by each band's filter along its last axis (float64)."""
    shape = x.shape
    rows = x.reshape(-1, shape[-1])
    if method == "sos":
        edge = padlen(filters[0])
        _check_sos_length(shape[-1], edge)
        ext = _odd_extend(rows, edge)  # shared by all bands (same padding length)
        for sos in filters:
            yield _sosfiltfilt_ext(sos, ext, edge).reshape(shape)
    elif method == "fft":
        for y in fft_filter_rows(filters, rows, sfreq):
            yield y.reshape(shape)
    else:
        # Each window (last axis) loses its mean first: lfilter starts from rest, so an offset would
        # enter as a step and its response would dominate the band variance (module documentation).
        rows = np.asarray(rows, dtype=np.float64)
        rows = rows - rows.mean(axis=-1, keepdims=True)
        for b, a in filters:
            yield signal.lfilter(b, a, rows, axis=-1).reshape(shape)


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


def _flat_windows(x: np.ndarray, n_window: int, n_hop: int) -> np.ndarray:
    """Whether each window of ``x`` (..., n_times) is constant: shape (..., n_windows).

    Counts sample-to-sample changes cumulatively, so overlapping windows cost nothing extra.
    """
    changes = np.zeros(x.shape, dtype=np.int32)
    np.cumsum(x[..., 1:] != x[..., :-1], axis=-1, dtype=np.int32, out=changes[..., 1:])
    starts = window_starts(x.shape[-1], n_window, n_hop)
    return changes[..., starts + n_window - 1] == changes[..., starts]


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


def _design_sfreq(sfreq, method, filter_sfreq):
    if filter_sfreq is None:
        return sfreq
    if method != "reference":
        raise ValueError(
            "filter_sfreq only applies to method='reference' (it reproduces the published code's "
            f"hard-coded filter rate); got method={method!r}."
        )
    return check_positive("filter_sfreq", filter_sfreq)


def _design(bands, sfreq, method, order, filter_sfreq):
    """Checked bands and their filters, designed for ``filter_sfreq`` if given (errors name it)."""
    check_positive("sfreq", sfreq)
    design_sfreq = _design_sfreq(sfreq, method, filter_sfreq)
    name = "sfreq" if filter_sfreq is None else "filter_sfreq"
    bands = check_bands(bands, design_sfreq, sfreq_name=name)
    return bands, design_filters(bands, design_sfreq, method, order, sfreq_name=name)


# -- trials -> tokens ----------------------------------------------------------------------------
class Tokenizer(BaseEstimator):
    """Cut trials into windows and compute one BDE token per electrode per window.

    With the default ``method="sos"`` each continuous trial is band-passed once (zero phase,
    second-order sections), then cut into windows, and the DE is taken from each window's variance.
    Trials of equal length are processed together, vectorised over trials and channels.

    Parameters
    ----------
    window : float
        Window length in seconds (rounded to whole samples). Trials shorter than one window are an
        error; a trailing part shorter than a window is dropped.
    hop : float | None
        Distance between window starts in seconds; ``None`` = ``window`` (no overlap).
    bands, log_base, method, order, filter_sfreq
        As in :class:`BandDifferentialEntropy`. With ``method="reference"`` every window is cut from
        the raw trial and filtered on its own (the published pipeline).
    baseline : {"auto", "none", "average-segments", "average-de"}
        Baseline removal in the DE domain, using ``trials.baselines``:

        - ``"average-segments"``: the DEAP / DREAMER convention. The baseline is cut into
          ``baseline_segment``-second segments (DEAP: 3, DREAMER: 61), the segments are averaged
          sample by sample, the DE of that average is computed like a window's and subtracted from
          every window of the trial. With ``method="sos"`` the continuous baseline is filtered once
          before it is cut and averaged (filtering is linear, so this equals filtering the average,
          minus the edge transients); with ``"reference"`` the raw average is filtered, as published.
          Averaging k segments of unrelated activity divides their variance by up to k, so the
          subtracted baseline DE is lower by up to ``0.5 * log(k)``: a constant offset, kept for
          comparability with published numbers.
        - ``"average-de"``: the mean of the DE of each baseline segment (no such offset).
        - ``"none"``: no baseline removal.
        - ``"auto"``: ``"average-segments"`` when the trials carry baselines (DEAP, DREAMER), else
          ``"none"`` (SEED, SEED-IV).
    baseline_segment : float
        Baseline segment length in seconds. If the baseline is not a whole number of segments, the
        earliest samples are dropped.
    zscore : bool
        Normalise each window by its standard deviation over all channels and samples, as the
        electrode-attention transformer's code z-scores windows before BDE. With ``method="sos"`` this
        is applied exactly through the scaling law ``DE(x / s) = DE(x) - log(s)`` (the mean is
        removed by the band-pass); with ``"reference"`` the raw window is z-scored before filtering.
        Baselines are normalised the same way.
    n_jobs : int | None
        Threads used to filter (bands and blocks of channels in parallel). Does not change results.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroaffect import EEGTrials
    >>> data = np.random.default_rng(0).standard_normal((2, 3, 640)) * 1e-5
    >>> trials = EEGTrials.from_arrays(data, 128.0, ["Fz", "Cz", "Pz"], ratings=np.full((2, 3), 5.0))
    >>> tokens = Tokenizer(window=1.0).transform(trials)
    >>> tokens.X.shape
    (10, 3, 4)
    """

    def __init__(self, window=1.0, hop=None, bands=None, log_base="e", method="sos", order=None,
                 baseline="auto", baseline_segment=1.0, zscore=False, filter_sfreq=None, n_jobs=1):
        self.window = window
        self.hop = hop
        self.bands = bands
        self.log_base = log_base
        self.method = method
        self.order = order
        self.baseline = baseline
        self.baseline_segment = baseline_segment
        self.zscore = zscore
        self.filter_sfreq = filter_sfreq
        self.n_jobs = n_jobs

    def resolve_baseline(self, trials) -> str:
        """The baseline mode applied to ``trials`` (resolves ``"auto"``)."""
        check_option("baseline", self.baseline, BASELINES)
        if self.baseline == "auto":
            return "average-segments" if trials.baselines is not None else "none"
        if self.baseline != "none" and trials.baselines is None:
            raise ValueError(
                f"baseline={self.baseline!r} needs baseline segments, but the {trials.dataset} trials "
                f"have none (EEGTrials.baselines is None); use baseline='none'."
            )
        return self.baseline

    def transform(self, trials) -> WindowTokens:
        """BDE tokens of every window of every trial.

        Parameters
        ----------
        trials : EEGTrials

        Returns
        -------
        tokens : WindowTokens
            ``X`` has shape (n_windows, n_electrodes, n_bands), float32, windows in trial order.
        """
        check_option("log_base", self.log_base, LOG_BASES)
        check_option("method", self.method, METHODS)
        if trials.n_trials == 0:
            raise ValueError(f"The {trials.dataset} trials are empty: there is nothing to tokenize.")
        sfreq = trials.sfreq
        bands, filters = _design(self.bands, sfreq, self.method, self.order, self.filter_sfreq)
        n_window, n_hop = window_samples(self.window, self.hop, sfreq)
        baseline = self.resolve_baseline(trials)
        if baseline != "none":
            n_segment = window_samples(self.baseline_segment, None, sfreq, name="baseline_segment")[0]
        n_jobs = _n_jobs(self.n_jobs)
        keys = trials.trial_keys
        lengths = trials.n_times
        too_short = np.flatnonzero(lengths < n_window)
        if too_short.size:
            i = too_short[0]
            raise ValueError(
                f"The window ({self.window} s = {n_window} samples) is longer than {too_short.size} "
                f"trial(s) of {trials.dataset}, e.g. {keys[i]} ({lengths[i]} samples at {sfreq:g} Hz); "
                f"use a shorter window or drop those trials."
            )
        band_names = tuple(b[0] for b in bands)
        context = dict(filters=filters, method=self.method, sfreq=sfreq, log_base=self.log_base,
                       zscore=self.zscore, n_jobs=n_jobs, band_names=band_names,
                       ch_names=trials.ch_names, keys=keys)

        de = [None] * trials.n_trials
        for idx, block in _equal_length_blocks(trials.signals):
            values = _windows_de(block, idx, n_window=n_window, n_hop=n_hop, **context)
            for i, v in zip(idx, values, strict=True):
                de[i] = v
        if baseline != "none":
            for idx, block in _equal_length_blocks(trials.baselines):
                if block.shape[-1] < n_segment:
                    raise ValueError(
                        f"The baseline of {keys[idx[0]]} ({block.shape[-1]} samples) is shorter than "
                        f"one baseline_segment ({self.baseline_segment} s = {n_segment} samples)."
                    )
                base = _baseline_de(block, idx, n_segment=n_segment, mode=baseline, **context)
                for i, b in zip(idx, base, strict=True):
                    de[i] = de[i] - b[None]

        n_per_trial = np.array([len(d) for d in de])
        starts = np.concatenate([window_starts(n, n_window, n_hop) for n in lengths])
        repeat = lambda a: np.repeat(np.asarray(a), n_per_trial, axis=0)  # noqa: E731
        return WindowTokens(
            X=np.concatenate(de).astype(np.float32, copy=False),
            ratings=repeat(trials.ratings), rating_names=trials.rating_names,
            scales=dict(trials.scales), subject=repeat(trials.subject),
            session=repeat(trials.session), trial_key=repeat(keys),
            start=starts, stop=starts + n_window, ch_names=list(trials.ch_names),
            positions=trials.positions, band_names=band_names, sfreq=sfreq, dataset=trials.dataset,
            features={"kind": "bde", "window": float(self.window), "hop": None if self.hop is None else float(self.hop),
                      "bands": [[b[0], float(b[1]), float(b[2])] for b in bands], "method": self.method,
                      "order": self.order, "log_base": self.log_base, "baseline": baseline,
                      "zscore": bool(self.zscore), "filter_sfreq": self.filter_sfreq},
        )


def _equal_length_blocks(signals, max_samples: int = 1 << 22):
    """Yield ``(trial indices, stacked float32 block (n, n_channels, n_times))`` of equal-length trials.

    Blocks hold at most ``max_samples`` samples (at least one trial), bounding memory.
    """
    lengths = np.array([s.shape[-1] for s in signals])
    for n_times in np.unique(lengths):
        idx = np.flatnonzero(lengths == n_times)
        per_block = max(1, max_samples // (signals[idx[0]].shape[0] * int(n_times)))
        for k in range(0, len(idx), per_block):
            part = idx[k : k + per_block]
            yield part, np.stack([signals[i] for i in part])


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


def _windows_de(block, idx, *, n_window, n_hop, filters, method, sfreq, log_base, zscore, n_jobs,
                band_names, ch_names, keys):
    """DE of every window of equal-length trials: list of (n_windows, n_channels, n_bands)."""
    n, n_channels, n_times = block.shape
    flat = _flat_windows(block, n_window, n_hop).transpose(0, 2, 1)  # (n, n_windows, n_channels)
    _check_nonzero(~flat, "peak-to-peak amplitude", lambda i: (  # ~flat is "peak-to-peak > 0"
        f"trial {keys[idx[i[0]]]}, window {i[1]}, channel {ch_names[i[2]]}"))
    if method != "reference":
        rows = block.reshape(n * n_channels, n_times)
        variance = _band_variance(rows, filters, method, sfreq, n_jobs,
                                  lambda y: window_variance(y, n_window, n_hop))
        variance = variance.reshape(n, n_channels, -1, len(filters)).transpose(0, 2, 1, 3)
    else:
        windows = window_view(block, n_window, n_hop)  # (n, n_channels, n_windows, n_window)
        if zscore:
            windows = _zscore_windows(windows)
        n_windows = windows.shape[2]
        rows = windows.reshape(n * n_channels, n_windows, n_window)
        variance = _band_variance(rows, filters, method, sfreq, n_jobs, lambda y: y.var(axis=-1))
        variance = variance.reshape(n, n_channels, n_windows, -1).transpose(0, 2, 1, 3)
    _check_nonzero(variance, "band variance", lambda i: (
        f"trial {keys[idx[i[0]]]}, window {i[1]}, channel {ch_names[i[2]]}, band {band_names[i[3]]!r}"))
    de = differential_entropy(variance, log_base)  # (n, n_windows, n_channels, n_bands)
    if zscore and method != "reference":
        de -= _log_std(window_view(block, n_window, n_hop), log_base)[:, :, None, None]
    return list(de)


def _baseline_de(block, idx, *, n_segment, mode, filters, method, sfreq, log_base, zscore, n_jobs,
                 band_names, ch_names, keys):
    """Baseline DE of equal-length baselines, shape (n, n_channels, n_bands)."""
    n, n_channels, n_times = block.shape
    # The raw segments the baseline DE is taken from: (n, n_channels, n_segments or 1, n_segment).
    raw = split_segments(block, n_segment)
    if mode == "average-segments":
        raw = raw.mean(axis=2, keepdims=True)
    _check_not_flat(raw, lambda i: (
        f"the baseline of trial {keys[idx[i[0]]]}, channel {ch_names[i[1]]}, segment {i[2]}"
        if mode == "average-de" else
        f"the averaged baseline of trial {keys[idx[i[0]]]}, channel {ch_names[i[1]]}"))
    if method != "reference":
        rows = block.reshape(n * n_channels, n_times)
        if mode == "average-segments":
            stat = lambda y: split_segments(y, n_segment).mean(axis=-2).var(axis=-1)  # noqa: E731
        else:
            stat = lambda y: split_segments(y, n_segment).var(axis=-1)  # noqa: E731
        variance = _band_variance(rows, filters, method, sfreq, n_jobs, stat)
    else:
        segments = _zscore_windows(raw) if zscore else raw
        rows = segments.reshape(n * n_channels, *segments.shape[2:])
        variance = _band_variance(rows, filters, method, sfreq, n_jobs, lambda y: y.var(axis=-1))
        if mode == "average-segments":
            variance = variance[:, 0]
    variance = variance.reshape(n, n_channels, *variance.shape[1:])
    _check_nonzero(variance, "baseline band variance", lambda i: (
        f"the baseline of trial {keys[idx[i[0]]]}, channel {ch_names[i[1]]}"))
    de = differential_entropy(variance, log_base)  # (n, n_channels[, n_segments], n_bands)
    if zscore and method != "reference":
        log_std = _log_std(raw, log_base)  # (n, n_segments or 1)
        de -= log_std[:, None, :, None] if mode == "average-de" else log_std[:, :, None]
    return de.mean(axis=2) if mode == "average-de" else de


def _log_std(windows, log_base):
    """log of each window's standard deviation over channels and samples.

    ``windows`` has shape (n, n_channels, n_windows, n_window); returns (n, n_windows).
    """
    std = np.stack([np.asarray(w, dtype=np.float64).std(axis=(0, 2)) for w in windows])
    _check_nonzero(std, "window standard deviation (for zscore=True)")
    log_std = np.log(std)
    return log_std if log_base == "e" else log_std / math.log(2)
