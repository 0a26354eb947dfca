"""Diagnosis: the transformer scores below its permutation null with 16 trials per subject.

The realistic simulator (``real_eeg.py --simulated``: 10 subjects x 16 trials of 20 s, 1:3 valence,
within-subject 5-fold over trials) with a planted valence effect (``--valence-db``, default 5 dB).
Three checks, each printed as a table:

1. flexible classical models (LR with weak regularisation, RBF-SVM, k-nearest neighbours, random
   forest on flattened DE tokens) against their own permutation null: do they fall below it too?
2. the transformer with one training setting changed at a time (class weights, label smoothing,
   electrode embedding, epochs): does one of them cause it?
3. the direction of the held-out predictions: the correlation of P(high valence) with the true
   valence rating over the held-out windows of the first subjects, transformer against DE + LR;
4. the regime: the same design with a 20 dB effect (16 trials) and with 40 trials (5 dB).

    python benchmarks/few_trial_diagnosis.py
    python benchmarks/few_trial_diagnosis.py --valence-db 0.5 --n-permutations 19
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from real_eeg import make_model  # noqa: E402  (the same registry models and settings)


def simulated_tokens(valence_db, seed, n_trials=16):
    from neuroaffect.features import Tokenizer
    from neuroaffect.simulate import REALISTIC, EffectSizes, simulate_trials

    effects = dataclasses.replace(EffectSizes.realistic(), valence_asymmetry_db=valence_db)
    trials = simulate_trials("deap", 10, n_trials, trial_duration=20.0, effects=effects, design=REALISTIC, seed=seed)
    return Tokenizer(window=2.0, hop=1.0).transform(trials)


def classical_nulls(tok, n_permutations, n_jobs, seed):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from neuroaffect.estimators import FlattenTokens
    from neuroaffect.evaluation import permutation_test

    models = {
        "LR C=0.1 (de-logreg)": LogisticRegression(C=0.1, class_weight="balanced", max_iter=2000),
        "LR C=100": LogisticRegression(C=100, class_weight="balanced", max_iter=5000),
        "RBF-SVM": SVC(class_weight="balanced", random_state=seed),
        "5-nearest neighbours": KNeighborsClassifier(5),
        "random forest": RandomForestClassifier(200, class_weight="balanced", random_state=seed, n_jobs=1),
    }
    print("| model | window BA (chance, p) | trial BA (chance, p) |\n| --- | --- | --- |")
    for name, model in models.items():
        test = permutation_test(tok, make_pipeline(FlattenTokens(), StandardScaler(), model), target="valence",
                                task="binary", protocol="within-subject-kfold", n_permutations=n_permutations,
                                n_jobs=n_jobs, random_state=seed, progress=False)
        cells = [f"{np.nanmean(test.observed[lvl]):.3f} ({np.nanmean(test.chance[lvl]):.3f}, "
                 f"{test.group_p_value[lvl]:.2f})" for lvl in ("window", "trial")]
        print(f"| {name} | {cells[0]} | {cells[1]} |", flush=True)


def transformer_settings(tok, n_jobs, seed):
    from neuroaffect.evaluation import cross_validate_subjects

    variants = {"default": {}, "class_weight=None": {"class_weight": None}, "label_smoothing=0": {"label_smoothing": 0.0},
                "learned electrode table": {"config": {"electrodes": "learned"}}, "max_epochs=5": {"max_epochs": 5},
                "max_epochs=100": {"max_epochs": 100}}
    print("| transformer setting | window BA | trial BA | time (s) |\n| --- | --- | --- | --- |")
    for name, params in variants.items():
        t0 = time.perf_counter()
        result = cross_validate_subjects(tok, make_model("transformer", tok, seed, 30).set_params(**params),
                                         target="valence", task="binary", protocol="within-subject-kfold",
                                         n_jobs=n_jobs, random_state=seed, progress=False)
        s = result.summary
        print(f"| {name} | {s['window']['balanced_accuracy']['mean']:.3f} | {s['trial']['balanced_accuracy']['mean']:.3f} "
              f"| {time.perf_counter() - t0:.0f} |", flush=True)


def prediction_direction(tok, n_subjects, seed):
    from neuroaffect.evaluation import TrialKFold

    valence = tok.rating("valence")
    y = (valence >= 5).astype(int)
    print("| model | corr(P(high), valence) | mean P(high): high / low trials |\n| --- | --- | --- |")
    for name in ("transformer", "de-logreg"):
        p_high, v = [], []
        for subject in list(dict.fromkeys(tok.subject))[:n_subjects]:
            rows = np.flatnonzero(tok.subject == subject)
            X, labels, table = tok.X[rows], y[rows], tok.metadata.iloc[rows]
            for train, test in TrialKFold(5, random_state=seed).split(X, labels, groups=table):
                model = make_model(name, tok, seed, 30)
                fit_params = {"metadata": table.iloc[train]} if name == "transformer" else {}
                p_high.append(model.fit(X[train], labels[train], **fit_params).predict_proba(X[test])[:, 1])
                v.append(valence[rows][test])
        p_high, v = np.concatenate(p_high), np.concatenate(v)
        print(f"| {name} | {np.corrcoef(p_high, v)[0, 1]:+.3f} | {p_high[v >= 5].mean():.3f} / {p_high[v < 5].mean():.3f} |",
              flush=True)


def regime(n_jobs, seed):
    from neuroaffect.evaluation import cross_validate_subjects

    print("| effect | trials per subject | de-logreg window / trial BA | transformer window / trial BA |\n"
          "| --- | --- | --- | --- |")
    for valence_db, n_trials in ((20.0, 16), (5.0, 40)):
        tok = simulated_tokens(valence_db, seed, n_trials)
        cells = []
        for name in ("de-logreg", "transformer"):
            s = cross_validate_subjects(tok, make_model(name, tok, seed, 30), target="valence", task="binary",
                                        protocol="within-subject-kfold", n_jobs=n_jobs, random_state=seed,
                                        progress=False).summary
            cells.append(f"{s['window']['balanced_accuracy']['mean']:.3f} / {s['trial']['balanced_accuracy']['mean']:.3f}")
        print(f"| {valence_db:g} dB | {n_trials} | {cells[0]} | {cells[1]} |", flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--valence-db", type=float, default=5.0)
    p.add_argument("--n-permutations", type=int, default=19)
    p.add_argument("--n-subjects-direction", type=int, default=5, help="subjects in check 3")
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    warnings.simplefilter("ignore", UserWarning)  # "early stopping off": expected with 16 trials
    tok = simulated_tokens(args.valence_db, args.seed)
    print(f"Realistic simulator, 10 subjects x 16 trials, 1:3 valence, {args.valence_db:g} dB, within-subject 5-fold, "
          f"seed {args.seed}\n\n1. Classical models against their permutation null ({args.n_permutations} permutations)")
    classical_nulls(tok, args.n_permutations, args.n_jobs, args.seed)
    print("\n2. The transformer, one setting changed at a time")
    transformer_settings(tok, args.n_jobs, args.seed)
    print(f"\n3. Direction of held-out predictions (first {args.n_subjects_direction} subjects)")
    prediction_direction(tok, args.n_subjects_direction, args.seed)
    print("\n4. The regime: a larger effect, more trials")
    regime(args.n_jobs, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
