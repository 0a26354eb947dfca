"""Frequency bands and the band-pass filters of band differential entropy (BDE).

Bands are ``(name, l_freq, h_freq)`` in Hz (:func:`resolve_bands`, :data:`BAND_PRESETS`);
:func:`design_filters` makes one Butterworth band-pass per band, and the filtering functions apply
them along the last axis of many rows at once.

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

from collections.abc import Mapping
from functools import lru_cache

import numpy as np
from scipy import signal

from .._validation import check_option, check_positive

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


# -- bands ---------------------------------------------------------------------------------------
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


# -- filter design -------------------------------------------------------------------------------
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


# -- zero-phase filtering ------------------------------------------------------------------------
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
