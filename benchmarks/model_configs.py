"""Accuracy of the transformer configurations on simulated DEAP, with trial-grouped cross-validation.

Simulated DEAP-like recordings (``neuroaffect.simulate``: frontal alpha asymmetry for valence,
posterior alpha / broadband beta-gamma for arousal, per-trial fingerprints) are tokenised into BDE
tokens (2 s windows, 1 s hop), and valence / arousal / dominance (rating >= 5) are decoded jointly
with GroupKFold over trials, so no trial has windows on both sides of a split. Reported: window
accuracy and trial accuracy (mean window probability) per dimension, fit time.

Usage::

    python benchmarks/model_configs.py [--subjects 3] [--trials 16] [--folds 4] [--epochs 60] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.model_selection import GroupKFold

from neuroaffect.estimators import ElectrodeAttentionClassifier, de_logistic_regression
from neuroaffect.features import Tokenizer
from neuroaffect.simulate import simulate_trials


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--subjects", type=int, default=3)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--duration", type=float, default=12.0)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="simulation seed")
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)

    trials = simulate_trials("deap", n_subjects=args.subjects, n_trials=args.trials,
                             trial_duration=args.duration, seed=args.seed)
    tokens = Tokenizer(window=2.0, hop=1.0).transform(trials)
    X, groups = tokens.X, np.asarray(tokens.trial_key)
    names = ["valence", "arousal", "dominance"]
    y = np.stack([tokens.rating(n) >= 5 for n in names], axis=1).astype(int)
    print(f"tokens {X.shape}, {len(np.unique(groups))} trials, class-1 rate {y.mean(0).round(2)}")

    common = dict(max_epochs=args.epochs, batch_size=64, lr=1e-3, random_state=0, patience=15)
    models = {
        "de-logreg": None,
        "reference": dict(config="reference", label_smoothing=0.12, **common),
        "medium (learned table)": dict(config="medium", **common),
        "medium (positions)": dict(config="medium", ch_names=tokens.ch_names, **common),
    }
    if args.only:
        models = {k: v for k, v in models.items() if k in args.only}
    for name, params in models.items():
        window_acc, trial_acc, start = [], [], time.perf_counter()
        for train, test in GroupKFold(args.folds).split(X, y, groups):
            if params is None:
                proba = [de_logistic_regression(C=0.1).fit(X[train], y[train, d]).predict_proba(X[test]) for d in range(3)]
            else:
                clf = ElectrodeAttentionClassifier(**params).fit(X[train], y[train], groups=groups[train])
                proba = clf.predict_proba(X[test])
            pred = np.stack([p.argmax(1) for p in proba], axis=1)
            window_acc.append((pred == y[test]).mean(0))
            ids, index = np.unique(groups[test], return_inverse=True)
            trial_pred = np.stack([
                np.array([p[index == i].mean(0).argmax() for i in range(len(ids))]) for p in proba
            ], axis=1)
            trial_true = np.stack([y[test][index == i][0] for i in range(len(ids))])
            trial_acc.append((trial_pred == trial_true).mean(0))
        w, t = np.mean(window_acc, 0), np.mean(trial_acc, 0)
        print(f"{name:<26} window V/A/D {w[0]:.3f} {w[1]:.3f} {w[2]:.3f}  trial V/A/D {t[0]:.3f} {t[1]:.3f} {t[2]:.3f}"
              f"  ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
