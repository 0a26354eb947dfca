"""Generated data sets with known structure, for examples, tests and benchmarks.

As scikit-learn's ``sklearn.datasets.make_classification``: :func:`make_tokens` draws window
tokens whose trials carry an identifying "fingerprint" and whose labels carry a weak, known
effect, so a leaky split and a leakage-free one give visibly different scores. Recordings in a
dataset's own file format are written by :mod:`neuroaffect.simulate`.
"""

from __future__ import annotations

import numpy as np

from .affect.scales import get_scale
from .features.tokens import WindowTokens

__all__ = ["make_tokens"]


def make_tokens(n_subjects=3, n_sessions=1, n_trials=10, n_windows=8, *, n_electrodes=4, n_bands=3,
                window=128, hop=64, fingerprint=1.0, effect=0.3, noise=1.0, random_state=0) -> WindowTokens:
    """Synthetic window tokens with per-trial fingerprints and a weak valence effect.

    Each trial gets a random offset pattern over (electrode, band) shared by all its windows (a
    "fingerprint" that identifies the trial but says nothing about its label) plus a label effect
    and independent noise per window. A leaky split (windows of one trial on both sides) can learn
    the fingerprints; a leakage-free one can only use the label effect.

    Parameters
    ----------
    n_subjects : int, default=3
        Subjects, with ids ``"s01"``, ``"s02"``, ...
    n_sessions : int, default=1
        Sessions per subject, with ids ``"1"``, ``"2"``, ...
    n_trials : int, default=10
        Trials per subject and session, with ids ``"1"``, ``"2"``, ...
    n_windows : int, default=8
        Windows per trial.
    n_electrodes : int, default=4
        Electrodes (``ch_names`` ``Fz, Cz, Pz, Oz, F3, F4, C3, C4`` up to 8, else ``E0, E1, ...``;
        all positions zero).
    n_bands : int, default=3
        Frequency bands (``theta, alpha, beta, gamma`` up to 4, else ``b0, b1, ...``).
    window, hop : int, default=128, 64
        Window length and step in samples: window ``i`` of a trial spans
        ``[i * hop, i * hop + window)`` (overlapping when ``hop < window``), at ``sfreq`` 128 Hz.
    fingerprint : float, default=1.0
        Standard deviation of each trial's offset pattern.
    effect : float, default=0.3
        Size of the label effect: ``effect * (+1 if valence >= 5 else -1)`` times a fixed pattern of
        each subject is added to every window.
    noise : float, default=1.0
        Standard deviation of the independent noise of each window and token.
    random_state : int, numpy.random.Generator or None, default=0
        Seed of every draw (through :func:`numpy.random.default_rng`).

    Returns
    -------
    WindowTokens
        ``X`` of shape (n_subjects * n_sessions * n_trials * n_windows, n_electrodes, n_bands),
        float32; ratings ``valence`` and ``arousal`` drawn per trial uniformly on DEAP's 1-9 scale;
        trial keys ``"s01/1/1"``; dataset ``"synthetic"``.

    See Also
    --------
    neuroaffect.simulate : raw recordings in the file formats of DEAP, SEED, SEED-IV and DREAMER.

    Examples
    --------
    >>> from neuroaffect.datasets import make_tokens
    >>> tokens = make_tokens(n_subjects=2, n_trials=4, n_windows=3)
    >>> tokens.X.shape
    (24, 4, 3)
    >>> str(tokens.trial_key[0]), tokens.rating_names
    ('s01/1/1', ('valence', 'arousal'))
    """
    rng = np.random.default_rng(random_state)
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
