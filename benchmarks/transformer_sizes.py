"""Transformer sizes and batch sizes on few-trial data, against DE + logistic regression.

The realistic simulator (``neuroaffect.simulate.REALISTIC``: 1:3 valence imbalance, subject
offsets, trial fingerprints, blinks, drifts, 1/f background) with 40 trials of 20 s per subject
and a planted 5 dB frontal alpha asymmetry; BDE tokens of 2 s windows, 1 s hop; within-subject
5-fold over whole trials; window and trial balanced accuracy, mean +- SD over subjects. Every
transformer trains 40 epochs with early stopping off (the few-trial rule: a validation split would
hold 2 minority trials). The variants are what chose the default configuration (issue 16)::

    python benchmarks/transformer_sizes.py --seed 0
    python benchmarks/transformer_sizes.py --seed 1
"""

from __future__ import annotations

import argparse
import dataclasses
import time

COMPACT = dict(embed_dim=16, depth=1, n_heads=2, head_dim=8, ffn_dim=32, head_dims=())

#: name -> (config, extra parameters of ElectrodeAttentionClassifier)
VARIANTS = {
    "medium, batch 256": ("medium", dict(batch_size=256)),
    "medium, batch 32": ("medium", dict(batch_size=32)),
    "compact, batch 256": (COMPACT, dict(batch_size=256)),
    "compact, batch 64": (COMPACT, dict(batch_size=64)),
    "compact, batch 32 (default)": ("default", dict(batch_size=32)),
    "compact, batch 32, 20 epochs": ("default", dict(batch_size=32, max_epochs=20)),
    "compact, batch 32, depth 2": (dict(COMPACT, depth=2), dict(batch_size=32)),
    "compact, batch 32, hidden head 16": (dict(COMPACT, head_dims=(16,)), dict(batch_size=32)),
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0, help="simulation seed (the models use seed 0)")
    p.add_argument("--n-subjects", type=int, default=10)
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS), metavar="NAME")
    p.add_argument("--n-jobs", type=int, default=2)
    args = p.parse_args(argv)

    from neuroaffect.estimators import ElectrodeAttentionClassifier, make_estimator
    from neuroaffect.evaluation import cross_validate_subjects
    from neuroaffect.features import Tokenizer
    from neuroaffect.simulate import REALISTIC, EffectSizes, simulate_trials

    effects = dataclasses.replace(EffectSizes.realistic(), valence_asymmetry_db=5.0)
    trials = simulate_trials("deap", args.n_subjects, 40, trial_duration=20.0, effects=effects, design=REALISTIC,
                             seed=args.seed)
    tokens = Tokenizer(window=2.0, hop=1.0).transform(trials)
    models = {"de-logreg": make_estimator("de-logreg")}
    for name in args.variants:
        config, extra = VARIANTS[name]
        models[name] = ElectrodeAttentionClassifier(config=config, ch_names=list(tokens.ch_names), max_epochs=40,
                                                    random_state=0, **extra)
    print(f"simulation seed {args.seed}: {args.n_subjects} subjects x 40 trials, 1:3 valence, 5 dB, within-subject 5-fold")
    print("| model | window BA | trial BA | time (s) |\n| --- | --- | --- | --- |")
    for name, model in models.items():
        t0 = time.perf_counter()
        s = cross_validate_subjects(tokens, model, target="valence", task="binary", protocol="within-subject-kfold",
                                    n_jobs=args.n_jobs, random_state=0, progress=False).summary
        w, t = s["window"]["balanced_accuracy"], s["trial"]["balanced_accuracy"]
        print(f"| {name} | {w['mean']:.3f} ± {w['std']:.3f} | {t['mean']:.3f} ± {t['std']:.3f} | "
              f"{time.perf_counter() - t0:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
