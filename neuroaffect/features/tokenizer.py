"""Trials -> BDE tokens: :class:`Tokenizer` cuts trials into windows, one token per electrode per window.

The band entropies are those of :mod:`neuroaffect.features.bde`; the filters those of
:mod:`neuroaffect.features.filters`.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from .._validation import check_option
from .bde import (
    LOG_BASES,
    _band_variance,
    _check_nonzero,
    _check_not_flat,
    _log_std,
    _n_jobs,
    _zscore_windows,
    differential_entropy,
)
from .filters import METHODS, _design
from .tokens import WindowTokens, windows_table
from .windows import split_segments, window_samples, window_starts, window_variance, window_view

BASELINES = ("auto", "none", "average-segments", "average-de")


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
            _metadata=windows_table(trials.metadata, n_per_trial, starts, starts + n_window),
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


def _flat_windows(x: np.ndarray, n_window: int, n_hop: int) -> np.ndarray:
    """Whether each window of ``x`` (..., n_times) is constant: shape (..., n_windows).

    Counts sample-to-sample changes cumulatively, so overlapping windows cost nothing extra.
    """
    changes = np.zeros(x.shape, dtype=np.int32)
    np.cumsum(x[..., 1:] != x[..., :-1], axis=-1, dtype=np.int32, out=changes[..., 1:])
    starts = window_starts(x.shape[-1], n_window, n_hop)
    return changes[..., starts + n_window - 1] == changes[..., starts]


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
