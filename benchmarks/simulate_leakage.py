"""How much a window-level random split inflates accuracy on the simulator's DEAP-like data.

Usage: ``python benchmarks/simulate_leakage.py [n_subjects]`` (default 3). Per subject: 40 trials
of 60 s, 2 s windows, log band power (theta, alpha, beta, gamma) on 32 channels, logistic
regression on binary valence (rating >= 5); 5-fold CV with windows shuffled across trials (the
leaky split) vs folds of whole trials (GroupKFold by trial). Uses scikit-learn only.
"""

import sys

import numpy as np
from scipy.signal import welch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GroupKFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neuroaffect.simulate import simulate_trials

BANDS = [(4, 8), (8.5, 12.5), (14, 29), (31, 44)]


def main():
    n_subjects = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    trials = simulate_trials(
        "deap", n_subjects, 40, trial_duration=60.0, baseline_duration=0, seed=21
    )
    for subject in np.unique(trials.subject):
        sub = trials[trials.subject == subject]
        x = np.stack(sub.signals).astype(float)  # (40, 32, 7680)
        windows = x.reshape(40, 32, 30, 256).transpose(0, 2, 1, 3)  # (trials, windows, ch, times)
        f, p = welch(windows, fs=128.0, nperseg=128, axis=-1)
        feats = np.concatenate(
            [np.log(p[..., (f >= lo) & (f <= hi)].mean(-1)) for lo, hi in BANDS], -1
        )
        X = feats.reshape(40 * 30, -1)
        y = np.repeat(sub.rating("valence") >= 5, 30)
        groups = np.repeat(np.arange(40), 30)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
        leaky = cross_val_predict(model, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0))
        honest = cross_val_predict(model, X, y, cv=GroupKFold(5), groups=groups)
        print(
            f"subject {subject}: {int(y[::30].sum())}/40 high-valence trials; balanced accuracy "
            f"window-shuffled {balanced_accuracy_score(y, leaky):.3f} vs trial-grouped "
            f"{balanced_accuracy_score(y, honest):.3f}"
        )


if __name__ == "__main__":
    main()
