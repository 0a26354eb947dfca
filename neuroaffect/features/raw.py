"""Raw windows: the counterpart of the BDE :class:`~neuroaffect.features.Tokenizer` for networks
and covariance pipelines that take the signal itself (EEGNet, TSception, Riemannian geometry).

Same windows, same metadata (subject, session, trial keys, spans, ratings) as the tokens, so the
splitters, the leakage audits and the runner work unchanged.
"""

from __future__ import annotations

from math import gcd

import numpy as np
from scipy.signal import butter, resample_poly, sosfiltfilt
from sklearn.base import BaseEstimator

from .._validation import check_positive
from .tokens import WindowTokens, windows_table
from .windows import window_samples, window_starts

__all__ = ["RawWindows"]


class RawWindows(BaseEstimator):
    """Cut trials into band-passed (and optionally resampled) raw windows.

    Each continuous trial is band-passed once (4th-order Butterworth, zero phase), resampled to
    ``sfreq`` if given (polyphase, anti-aliased), then cut into windows exactly as
    :class:`~neuroaffect.features.Tokenizer` cuts them. Baseline segments (DEAP, DREAMER) are not
    used.

    Parameters
    ----------
    window : float
        Window length in seconds.
    hop : float | None
        Distance between window starts in seconds; None = ``window`` (no overlap).
    l_freq, h_freq : float | None
        Pass band in Hz; None leaves that side open (both None: no filtering).
    sfreq : float | None
        Output sampling rate in Hz (None: the trials' rate). Must exceed ``2 * h_freq``.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroaffect import EEGTrials
    >>> data = np.random.default_rng(0).standard_normal((2, 3, 640)) * 1e-5
    >>> trials = EEGTrials.from_arrays(data, 128.0, ["Fz", "Cz", "Pz"], ratings=np.full((2, 3), 5.0))
    >>> RawWindows(window=1.0, sfreq=64.0).transform(trials).X.shape
    (10, 3, 64)
    """

    def __init__(self, window=1.0, hop=None, l_freq=1.0, h_freq=40.0, sfreq=None):
        self.window = window
        self.hop = hop
        self.l_freq = l_freq
        self.h_freq = h_freq
        self.sfreq = sfreq

    def _filter(self, sfreq: float):
        lo, hi = self.l_freq, self.h_freq
        for name, value in (("l_freq", lo), ("h_freq", hi)):
            if value is not None:
                check_positive(name, value)
        if hi is not None and hi >= sfreq / 2:
            raise ValueError(f"Invalid value for the 'h_freq' parameter: {hi} Hz is not below the Nyquist "
                             f"frequency of the trials ({sfreq / 2:g} Hz).")
        if lo is not None and hi is not None and lo >= hi:
            raise ValueError(f"l_freq ({lo} Hz) must be below h_freq ({hi} Hz).")
        if lo is None and hi is None:
            return None
        if lo is None:
            return butter(4, hi, btype="lowpass", fs=sfreq, output="sos")
        if hi is None:
            return butter(4, lo, btype="highpass", fs=sfreq, output="sos")
        return butter(4, [lo, hi], btype="bandpass", fs=sfreq, output="sos")

    def _resampling(self, sfreq: float) -> tuple[int, int, float]:
        if self.sfreq is None or float(self.sfreq) == float(sfreq):
            return 1, 1, float(sfreq)
        check_positive("sfreq", self.sfreq)
        if self.h_freq is None or self.h_freq >= self.sfreq / 2:
            raise ValueError(f"Invalid value for the 'sfreq' parameter: resampling to {self.sfreq:g} Hz needs "
                             f"h_freq below its Nyquist frequency ({self.sfreq / 2:g} Hz), got h_freq={self.h_freq}.")
        up, down = int(round(self.sfreq * 1000)), int(round(sfreq * 1000))
        g = gcd(up, down)
        return up // g, down // g, float(self.sfreq)

    def transform(self, trials) -> WindowTokens:
        """Raw windows of every trial.

        Parameters
        ----------
        trials : EEGTrials

        Returns
        -------
        windows : WindowTokens
            ``X`` has shape (n_windows, n_channels, n_times), float32, in volts; ``band_names`` is
            empty, ``sfreq`` the output rate, ``start`` / ``stop`` in samples at that rate.
        """
        if trials.n_trials == 0:
            raise ValueError(f"The {trials.dataset} trials are empty: there is nothing to cut into windows.")
        sos = self._filter(trials.sfreq)
        up, down, sfreq = self._resampling(trials.sfreq)
        n_window, n_hop = window_samples(self.window, self.hop, sfreq)
        keys = trials.trial_keys
        windows, starts, n_per_trial = [], [], []
        for key, signal in zip(keys, trials.signals, strict=True):
            x = np.asarray(signal, dtype=np.float64)
            if sos is not None:
                x = sosfiltfilt(sos, x, axis=-1)
            if up != down:
                x = resample_poly(x, up, down, axis=-1)
            start = window_starts(x.shape[-1], n_window, n_hop)
            if not len(start):
                raise ValueError(f"The window ({self.window} s = {n_window} samples at {sfreq:g} Hz) is longer "
                                 f"than trial {key} ({x.shape[-1]} samples); use a shorter window.")
            windows.append(np.stack([x[:, s:s + n_window] for s in start]).astype(np.float32))
            starts.append(start)
            n_per_trial.append(len(start))
        start = np.concatenate(starts)
        repeat = lambda a: np.repeat(np.asarray(a), n_per_trial, axis=0)  # noqa: E731
        return WindowTokens(
            X=np.concatenate(windows), ratings=repeat(trials.ratings), rating_names=trials.rating_names,
            scales=dict(trials.scales), subject=repeat(trials.subject), session=repeat(trials.session),
            trial_key=repeat(keys), start=start, stop=start + n_window, ch_names=list(trials.ch_names),
            _metadata=windows_table(trials.metadata, n_per_trial, start, start + n_window),
            positions=trials.positions, band_names=(), sfreq=sfreq, dataset=trials.dataset,
            features={"kind": "raw", "window": float(self.window),
                      "hop": None if self.hop is None else float(self.hop), "l_freq": self.l_freq,
                      "h_freq": self.h_freq, "sfreq": sfreq, "filter": "butterworth order 4, zero phase"},
        )
