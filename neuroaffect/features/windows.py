"""Cutting trials into windows: spans in samples, strided views and per-window statistics.

Windows are given in seconds and rounded to whole samples once, here, so every part of the package
agrees on where a window starts and stops (``WindowTokens.start`` / ``stop`` record the result).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._validation import check_positive


def window_samples(window: float, hop: float | None, sfreq: float, *, name: str = "window") -> tuple[int, int]:
    """Window length and hop in samples (rounded to the nearest sample).

    Parameters
    ----------
    window : float
        Window length in seconds.
    hop : float | None
        Distance between window starts in seconds; ``None`` means ``window`` (no overlap).
    sfreq : float
        Sampling rate in Hz.
    name : str
        The window's parameter name in error messages (e.g. ``"baseline_segment"``).

    Returns
    -------
    n_window, n_hop : int
    """
    check_positive(name, window)
    if hop is not None:
        check_positive("hop", hop)
    n_window = int(round(window * sfreq))
    n_hop = n_window if hop is None else int(round(hop * sfreq))
    for parameter, seconds, n in ((name, window, n_window), ("hop", hop, n_hop)):
        if n < 1:
            raise ValueError(
                f"Invalid value for the {parameter!r} parameter: {seconds} s is less than one sample at "
                f"sfreq={sfreq:g} Hz."
            )
    return n_window, n_hop


def window_starts(n_times: int, n_window: int, n_hop: int) -> np.ndarray:
    """Start sample of every whole window that fits in ``n_times`` samples (a trailing part is dropped)."""
    if n_window > n_times:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_times - n_window + 1, n_hop, dtype=np.int64)


def window_view(x: np.ndarray, n_window: int, n_hop: int) -> np.ndarray:
    """Windows of ``x`` along its last axis, shape ``(..., n_windows, n_window)``, without copying."""
    n_windows = (x.shape[-1] - n_window) // n_hop + 1
    if n_hop == n_window:
        return x[..., : n_windows * n_window].reshape(*x.shape[:-1], n_windows, n_window)
    return sliding_window_view(x, n_window, axis=-1)[..., ::n_hop, :][..., :n_windows, :]


def window_variance(x: np.ndarray, n_window: int, n_hop: int, *, max_elements: int = 1 << 22) -> np.ndarray:
    """Variance of each window along the last axis.

    Parameters
    ----------
    x : ndarray, shape (n_rows, n_times)
    n_window, n_hop : int
        Window length and hop in samples.
    max_elements : int
        Overlapping windows are expanded in chunks of rows holding at most this many samples, which
        bounds the temporary memory.

    Returns
    -------
    variance : ndarray, shape (n_rows, n_windows), float64
    """
    views = window_view(x, n_window, n_hop)
    if n_hop >= n_window:
        return views.var(axis=-1, dtype=np.float64)
    n_rows = x.shape[0]
    step = max(1, max_elements // max(1, views.shape[-2] * n_window))
    out = np.empty(views.shape[:-1], dtype=np.float64)
    for i in range(0, n_rows, step):
        out[i : i + step] = views[i : i + step].var(axis=-1, dtype=np.float64)
    return out


def average_segments(x: np.ndarray, n_segment: int) -> np.ndarray:
    """Cut the last axis into whole segments and average them sample by sample.

    Used for the DEAP / DREAMER baseline convention (3 or 61 one-second segments averaged in time).
    When the length is not a multiple of ``n_segment`` the earliest samples are dropped, keeping the
    segments closest to the trial onset.

    Parameters
    ----------
    x : ndarray, shape (..., n_times)
    n_segment : int

    Returns
    -------
    averaged : ndarray, shape (..., n_segment)
    """
    return split_segments(x, n_segment).mean(axis=-2)


def split_segments(x: np.ndarray, n_segment: int) -> np.ndarray:
    """The last ``n_times // n_segment`` whole segments of ``x``, shape ``(..., n_segments, n_segment)``."""
    n_segments = x.shape[-1] // n_segment
    if n_segments < 1:
        raise ValueError(
            f"A segment of {n_segment} samples does not fit in {x.shape[-1]} samples."
        )
    kept = x[..., x.shape[-1] - n_segments * n_segment :]
    return kept.reshape(*x.shape[:-1], n_segments, n_segment)
