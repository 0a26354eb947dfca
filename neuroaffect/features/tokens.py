"""The container of windowed features (BDE tokens) with everything evaluation needs to stay honest."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._keys import ID_LABELS, keys_table, take_rows, trial_table
from ..affect.scales import RatingScale


@dataclass(eq=False)
class WindowTokens:
    """Feature tokens of windows cut from trials, with the ids that keep splits leakage-free.

    Parameters
    ----------
    X : ndarray, shape (n_windows, n_electrodes, n_bands), float32
        One token per electrode per window (BDE values, in nats unless ``log_base`` says otherwise);
        for raw windows (:class:`~neuroaffect.features.RawWindows`, ``features["kind"] == "raw"``)
        shape (n_windows, n_channels, n_times) in volts, with ``band_names`` empty.
    ratings : ndarray, shape (n_windows, n_ratings)
        The ratings of the trial each window comes from.
    rating_names : tuple of str
    scales : dict of str to RatingScale
    subject, session : ndarray, shape (n_windows,)
    trial_key : ndarray of str, shape (n_windows,)
        ``"subject/session/trial"`` of the source trial (ids escaped): pass it as ``groups`` to
        every splitter. For display, results files and cache keys; code that needs the subject,
        session or trial of a window reads :attr:`metadata` instead of parsing keys.
    start, stop : ndarray of int, shape (n_windows,)
        Window span in samples within its trial (``stop`` exclusive), for overlap audits.
    ch_names : list of str
    positions : ndarray, shape (n_electrodes, 3)
        Electrode positions in metres.
    band_names : tuple of str
    sfreq : float
        Sampling rate of the source signals in Hz.
    dataset : str
    features : dict
        How ``X`` was computed (the tokenizer's settings, e.g. ``{"kind": "bde", "window": 1.0, ...}``),
        recorded in results; empty when unknown.

    Attributes
    ----------
    metadata : pandas.DataFrame, shape (n_windows, 8)
        The ids of each window as a table (as ``mne.Epochs.metadata``): ``subject``, ``session``,
        ``trial`` (text labels of the source trial), ``subject_code``, ``session_code``,
        ``trial_code`` (int64 codes: one per subject, per (subject, session) and per trial, so two
        windows share a ``trial_code`` exactly when they share a ``trial_key``), ``start`` and
        ``stop``. Tokens made by a tokenizer or read from the cache carry their trials' table
        (:attr:`neuroaffect.EEGTrials.metadata`, one row per window); otherwise it is built from
        ``trial_key`` on first use (the only place keys are parsed). Selection (``tokens[idx]``)
        keeps the codes, :meth:`concatenate` renumbers them in order of first appearance.
        Read-only.
    """

    X: np.ndarray
    ratings: np.ndarray
    rating_names: tuple
    scales: dict
    subject: np.ndarray
    session: np.ndarray
    trial_key: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    ch_names: list
    positions: np.ndarray
    band_names: tuple
    sfreq: float
    dataset: str = "unknown"
    features: dict = field(default_factory=dict)
    _metadata: object = field(default=None, repr=False)

    def __post_init__(self):
        if self._metadata is not None and len(self._metadata) != len(self.X):
            raise ValueError(f"_metadata has {len(self._metadata)} rows but X has {len(self.X)} windows.")

    @property
    def metadata(self):
        """The windows' id table (labels, integer codes and spans), see the class's Attributes."""
        if self._metadata is None:
            self._metadata = keys_table(self.trial_key, len(self.X), start=np.asarray(self.start),
                                        stop=np.asarray(self.stop))
        return self._metadata

    def __len__(self) -> int:
        return len(self.X)

    def __repr__(self) -> str:
        """Shapes and ids, not arrays: ``<WindowTokens | 1200 windows × 19 electrodes × 5 bands, ...>``."""
        def count(n, word):
            return f"{n} {word}{'s' * (n != 1)}"

        n_windows, n_electrodes, n_bands = (tuple(np.shape(self.X)) + (0, 0, 0))[:3]
        return (f"<WindowTokens | {count(n_windows, 'window')} × {count(n_electrodes, 'electrode')} × "
                f"{count(n_bands, 'band')}, {count(len(np.unique(self.subject)), 'subject')}, "
                f"{count(len(np.unique(self.trial_key)), 'trial')}, dataset {self.dataset!r}>")

    def rating(self, name: str) -> np.ndarray:
        if name not in self.rating_names:
            raise ValueError(f"Unknown rating {name!r}; these windows have {self.rating_names}.")
        return self.ratings[:, self.rating_names.index(name)]

    def scale(self, name: str) -> RatingScale:
        return self.scales[name]

    def __getitem__(self, index) -> WindowTokens:
        idx = np.atleast_1d(np.arange(len(self))[index])
        return WindowTokens(
            X=self.X[idx], ratings=self.ratings[idx], rating_names=self.rating_names,
            scales=self.scales, subject=self.subject[idx], session=self.session[idx],
            trial_key=self.trial_key[idx], start=self.start[idx], stop=self.stop[idx],
            ch_names=self.ch_names, positions=self.positions, band_names=self.band_names,
            sfreq=self.sfreq, dataset=self.dataset, features=self.features,
            _metadata=None if self._metadata is None else take_rows(self._metadata, idx),
        )

    @classmethod
    def concatenate(cls, parts) -> WindowTokens:
        """Join token sets window by window (e.g. one per subject).

        Parameters
        ----------
        parts : sequence of WindowTokens
            They must agree on everything that gives a column or a token its meaning: electrodes
            (``ch_names`` and ``positions``), ``band_names``, ``sfreq``, ``rating_names`` and the
            ``scales`` of those ratings. ``dataset`` is taken from the first part.

        Returns
        -------
        tokens : WindowTokens

        Raises
        ------
        ValueError
            If ``parts`` is empty or the parts disagree on one of the attributes above (the message
            names it and the first differing part).
        """
        parts = list(parts)
        if not parts:
            raise ValueError("concatenate needs at least one WindowTokens.")
        first = parts[0]
        for i, other in enumerate(parts[1:], start=1):
            for attr, same in (
                ("ch_names", lambda a, b: list(a) == list(b)),
                ("band_names", lambda a, b: tuple(a) == tuple(b)),
                ("sfreq", lambda a, b: float(a) == float(b)),
                ("rating_names", lambda a, b: tuple(a) == tuple(b)),
                ("positions", lambda a, b: np.shape(a) == np.shape(b) and np.allclose(a, b)),
                ("features", lambda a, b: a == b),
            ):
                if not same(getattr(first, attr), getattr(other, attr)):
                    raise ValueError(
                        f"Cannot concatenate tokens with different {attr}: part 0 has "
                        f"{getattr(first, attr)!r}, part {i} has {getattr(other, attr)!r}."
                    )
            differ = [n for n in first.rating_names if first.scales.get(n) != other.scales.get(n)]
            if differ:
                n = differ[0]
                raise ValueError(
                    f"Cannot concatenate tokens with different scales for rating(s) {differ}: part 0 "
                    f"rates {n!r} on {first.scales.get(n)!r}, part {i} on {other.scales.get(n)!r}."
                )
        cat = lambda name: np.concatenate([getattr(p, name) for p in parts])  # noqa: E731
        table = None
        if all(p._metadata is not None for p in parts):  # renumber the codes over all parts
            ids = [np.concatenate([p._metadata[c].to_numpy() for p in parts]) for c in ID_LABELS]
            table = trial_table(*ids, start=cat("start"), stop=cat("stop"))
        return cls(
            X=cat("X"), ratings=cat("ratings"), rating_names=first.rating_names, scales=first.scales,
            subject=cat("subject"), session=cat("session"), trial_key=cat("trial_key"),
            start=cat("start"), stop=cat("stop"), ch_names=first.ch_names, positions=first.positions,
            band_names=first.band_names, sfreq=first.sfreq, dataset=first.dataset, features=first.features,
            _metadata=table,
        )


def windows_table(trials_table, n_per_trial, start, stop):
    """The id table of windows cut from trials: each trial's row of ``trials_table``
    (:attr:`neuroaffect.EEGTrials.metadata`) repeated once per window, with the windows' spans.

    Parameters
    ----------
    trials_table : pandas.DataFrame, shape (n_trials, ...)
    n_per_trial : array-like of int, shape (n_trials,)
        Windows of each trial, in trial order.
    start, stop : array-like of int, shape (n_windows,)

    Returns
    -------
    table : pandas.DataFrame, shape (n_windows, ...)
        As :attr:`WindowTokens.metadata` (the trials' codes kept).
    """
    rows = np.repeat(np.arange(len(trials_table)), np.asarray(n_per_trial, dtype=int))
    table = take_rows(trials_table, rows)
    table["start"], table["stop"] = np.asarray(start), np.asarray(stop)
    return table
