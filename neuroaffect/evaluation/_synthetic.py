"""Tiny synthetic window tokens with per-trial fingerprints, for tests and demonstrations.

Each trial gets a random offset pattern over (electrode, band) shared by all its windows (a
"fingerprint" that identifies the trial but says nothing about its label) plus a weak label effect
and independent noise per window. A leaky split can learn the fingerprints; a leakage-free one can
only use the label effect.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..affect.scales import get_scale
from ..features.tokens import WindowTokens


def make_tokens(n_subjects=3, n_sessions=1, n_trials=10, n_windows=8, *, n_electrodes=4, n_bands=3,
                window=128, hop=64, fingerprint=1.0, effect=0.3, noise=1.0, seed=0) -> WindowTokens:
    """Synthetic :class:`WindowTokens` on the DEAP 1-9 scale (ratings valence, arousal).

    Valence is drawn per trial uniformly on [1, 9]; the label effect adds ``effect * (valence >= 5 ? 1 : -1)``
    times a fixed per-subject pattern. ``start``/``stop`` are spans of ``window`` samples every
    ``hop`` samples (overlapping when ``hop < window``).
    """
    rng = np.random.default_rng(seed)
    X, ratings, subj, sess, keys, start, stop = [], [], [], [], [], [], []
    for s in range(n_subjects):
        pattern = rng.standard_normal((n_electrodes, n_bands))
        for se in range(1, n_sessions + 1):
            for t in range(1, n_trials + 1):
                valence, arousal = rng.uniform(1, 9, size=2)
                sign = 1.0 if valence >= 5 else -1.0
                base = fingerprint * rng.standard_normal((n_electrodes, n_bands)) + effect * sign * pattern
                X.append(base + noise * rng.standard_normal((n_windows, n_electrodes, n_bands)))
                ratings.append(np.tile([valence, arousal], (n_windows, 1)))
                subj += [f"s{s + 1:02d}"] * n_windows
                sess += [str(se)] * n_windows
                keys += [f"s{s + 1:02d}/{se}/{t}"] * n_windows
                start.append(np.arange(n_windows) * hop)
                stop.append(np.arange(n_windows) * hop + window)
    scale = get_scale("deap")
    return WindowTokens(
        X=np.concatenate(X).astype(np.float32), ratings=np.concatenate(ratings),
        rating_names=("valence", "arousal"), scales={"valence": scale, "arousal": scale},
        subject=np.array(subj), session=np.array(sess), trial_key=np.array(keys),
        start=np.concatenate(start), stop=np.concatenate(stop),
        ch_names=["Fz", "Cz", "Pz", "Oz", "F3", "F4", "C3", "C4"][:n_electrodes] if n_electrodes <= 8
        else [f"E{i}" for i in range(n_electrodes)],
        positions=np.zeros((n_electrodes, 3)), band_names=("theta", "alpha", "beta", "gamma")[:n_bands]
        if n_bands <= 4 else tuple(f"b{i}" for i in range(n_bands)),
        sfreq=128.0, dataset="synthetic",
    )


class Flatten(BaseEstimator, TransformerMixin):
    """(n_windows, n_electrodes, n_bands) -> (n_windows, n_electrodes * n_bands)."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X).reshape(len(X), -1)
