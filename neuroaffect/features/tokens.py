"""The container of windowed features (BDE tokens) with everything evaluation needs to stay honest."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..affect.scales import RatingScale


@dataclass(eq=False)
class WindowTokens:
    """Feature tokens of windows cut from trials, with the ids that keep splits leakage-free.

    Parameters
    ----------
    X : ndarray, shape (n_windows, n_electrodes, n_bands), float32
        One token per electrode per window (BDE values, in nats unless ``log_base`` says otherwise).
    ratings : ndarray, shape (n_windows, n_ratings)
        The ratings of the trial each window comes from.
    rating_names : tuple of str
    scales : dict of str to RatingScale
    subject, session : ndarray, shape (n_windows,)
    trial_key : ndarray of str, shape (n_windows,)
        ``"subject/session/trial"`` of the source trial: pass it as ``groups`` to every splitter.
    start, stop : ndarray of int, shape (n_windows,)
        Window span in samples within its trial (``stop`` exclusive), for overlap audits.
    ch_names : list of str
    positions : ndarray, shape (n_electrodes, 3)
        Electrode positions in metres.
    band_names : tuple of str
    sfreq : float
        Sampling rate of the source signals in Hz.
    dataset : str
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

    def __len__(self) -> int:
        return len(self.X)

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
            sfreq=self.sfreq, dataset=self.dataset,
        )

    @classmethod
    def concatenate(cls, parts) -> WindowTokens:
        parts = list(parts)
        if not parts:
            raise ValueError("concatenate needs at least one WindowTokens.")
        first = parts[0]
        for other in parts[1:]:
            if other.ch_names != first.ch_names or other.band_names != first.band_names:
                raise ValueError("Cannot concatenate tokens with different electrodes or bands.")
        cat = lambda name: np.concatenate([getattr(p, name) for p in parts])  # noqa: E731
        return cls(
            X=cat("X"), ratings=cat("ratings"), rating_names=first.rating_names, scales=first.scales,
            subject=cat("subject"), session=cat("session"), trial_key=cat("trial_key"),
            start=cat("start"), stop=cat("stop"), ch_names=first.ch_names, positions=first.positions,
            band_names=first.band_names, sfreq=first.sfreq, dataset=first.dataset,
        )
