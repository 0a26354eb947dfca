"""Benchmark: which pipeline to recommend, measured on real EEG (and on a simulator set up like it).

Real data (``--data-dir``, PhysioNet EEGMAT: rest vs mental arithmetic, 1:3 windows per subject):
leave-one-subject-out balanced accuracy at window level and recording level (each recording's
windows averaged), mean ± std over test subjects, for every named estimator given, through the
library's public API (readers, tokenizers, ``cross_validate_subjects``). "aligned-*" rows use
per-subject alignment (transductive for the test subject: its own unlabelled windows).

Simulated data (``--simulated``): DEAP-format trials from ``neuroaffect.simulate`` with the
REALISTIC study design (1:3 valence imbalance, large subject offsets, few trials, weak effects,
strong trial fingerprints), within-subject 5-fold over whole trials, trial-level balanced accuracy.

    python benchmarks/real_eeg.py --data-dir .data/eegmat
    python benchmarks/real_eeg.py --data-dir .data/eegmat --models aligned-de-logreg de-logreg
    python benchmarks/real_eeg.py --simulated                     # realistic effects: chance, as real DEAP
    python benchmarks/real_eeg.py --simulated --valence-db 5      # the same study with a clear effect
    python benchmarks/real_eeg.py --simulated --n-permutations 19 --models de-logreg transformer

With ``--n-permutations N`` every row is a permutation test (``neuroaffect.evaluation.permutation_test``:
whole-trial labels shuffled within each subject, the full CV re-run N times), and the table adds
the empirical chance level (the mean of the null over subjects) and the group p-value at both
levels: a score below 0.5 is below chance only if it is below the null.

Baseline named by the issue: DE + logistic regression with the classical settings (zero-phase
Butterworth, DE on 2 s windows with 1 s hop, scaled LR with C=0.1 and balanced class weights),
which is the library's "de-logreg" on 2 s / 1 s windows.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

DEFAULT_MODELS = ["aligned-de-logreg", "de-logreg", "aligned-riemann", "riemann", "transformer",
                  "aligned-transformer", "dgcnn", "eegnet", "majority", "stratified"]
NEURAL = ("transformer", "aligned-transformer", "dgcnn", "eegnet", "tsception")


def make_model(name, tokens, seed, max_epochs):
    """The registry's estimator ``name``, with the tokens' montage and sampling rate and the seed
    on its model (the estimator, or a pipeline's last step) where it leaves them open."""
    from neuroaffect.estimators import make_estimator

    est = make_estimator(name, task="classification", **({"max_epochs": max_epochs} if name in NEURAL else {}))
    final = est.steps[-1][1] if hasattr(est, "steps") else est
    params = final.get_params(deep=False)
    for key, value in (("ch_names", list(tokens.ch_names)), ("random_state", seed), ("sfreq", tokens.sfreq)):
        if key in params and params[key] is None:
            final.set_params(**{key: value})
    return est


def features(name):
    from neuroaffect.estimators import ESTIMATORS

    return ESTIMATORS[name].features


def run_table(windows, models, protocol, target, seed, max_epochs, n_jobs, level, n_permutations=0):
    """One row per model: window and ``level`` balanced accuracy (summaries), seconds, and with
    ``n_permutations`` the permutation test (its empirical chance and group p-value per level)."""
    from neuroaffect.evaluation import cross_validate_subjects, permutation_test

    rows = []
    for name in models:
        tokens = windows[features(name)]
        t0 = time.perf_counter()
        kwargs = dict(target=target, task="classes" if target == "condition" else "binary", protocol=protocol,
                      n_jobs=n_jobs, random_state=seed, progress=False)
        model = make_model(name, tokens, seed, max_epochs)
        test = None
        if n_permutations:
            test = permutation_test(tokens, model, n_permutations=n_permutations, **kwargs)
            result = test.cv_result
        else:
            result = cross_validate_subjects(tokens, model, **kwargs)
        s = result.summary
        rows.append((name, s["window"]["balanced_accuracy"], s["trial"]["balanced_accuracy"], time.perf_counter() - t0,
                     test))
        w, r = rows[-1][1], rows[-1][2]
        print(f"  {name:22} window {w['mean']:.3f} ± {w['std']:.3f}   {level} {r['mean']:.3f} ± {r['std']:.3f}   "
              f"({rows[-1][3]:.0f} s)", flush=True)
    return rows


def print_table(title, rows, level, notes=()):
    print(f"\n{title}")
    for note in notes:
        print(note)
    tested = any(test is not None for *_, test in rows)
    extra = f" window chance | window p | {level} chance | {level} p |" if tested else ""
    print(f"| pipeline | window BA | {level} BA | time (s) |{extra}")
    print("| --- | --- | --- | --- |" + (" --- | --- | --- | --- |" if tested else ""))
    for name, w, r, seconds, test in rows:
        line = f"| {name} | {w['mean']:.3f} ± {w['std']:.3f} | {r['mean']:.3f} ± {r['std']:.3f} | {seconds:.0f} |"
        if test is not None:
            for lvl in ("window", "trial"):
                line += f" {np.nanmean(test.chance[lvl]):.3f} | {test.group_p_value[lvl]:.3f} |"
        print(line)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", type=Path, help="the EEGMAT release folder (36 subjects, or the 8 in ../shared)")
    p.add_argument("--simulated", action="store_true", help="the realistic simulator, within subject")
    p.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    p.add_argument("--window", type=float, default=2.0, help="window length in seconds")
    p.add_argument("--hop", type=float, default=1.0, help="window hop in seconds")
    p.add_argument("--raw-sfreq", type=float, default=128.0, help="raw windows resampled to this rate (Hz)")
    p.add_argument("--max-epochs", type=int, default=30, help="max_epochs of the neural estimators")
    p.add_argument("--n-subjects", type=int, default=10, help="--simulated: subjects")
    p.add_argument("--n-trials", type=int, default=16, help="--simulated: trials per subject")
    p.add_argument("--valence-db", type=float, default=None,
                   help="--simulated: frontal alpha asymmetry per unit valence in dB (default: EffectSizes.realistic(), "
                        "0.5 dB; e.g. 5 for a clear positive control)")
    p.add_argument("--n-permutations", type=int, default=0,
                   help="a permutation test per row (N label permutations; the table adds chance level and p-value)")
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.data_dir is None and not args.simulated:
        p.error("pass --data-dir DIR (EEGMAT) and/or --simulated")

    from neuroaffect.features import RawWindows, Tokenizer, tokens_for_dataset

    tokenizer = Tokenizer(window=args.window, hop=args.hop)
    raw = RawWindows(window=args.window, hop=args.hop, l_freq=1.0, h_freq=40.0, sfreq=args.raw_sfreq)
    setting = (f"BDE {args.window:g} s windows / {args.hop:g} s hop; raw windows 1-40 Hz at {args.raw_sfreq:g} Hz; "
               f"neural nets max_epochs={args.max_epochs}; seed {args.seed}")
    if args.data_dir is not None:
        from neuroaffect.io import list_subjects

        sources = list_subjects("eegmat", args.data_dir)
        t0 = time.perf_counter()
        windows = {"bde": tokens_for_dataset(sources, tokenizer, progress=False),
                   "raw": tokens_for_dataset(sources, raw, progress=False)}
        print(f"EEGMAT {args.data_dir}: {len(sources)} subjects, features {time.perf_counter() - t0:.0f} s")
        rows = run_table(windows, args.models, "leave-one-subject-out", "condition", args.seed, args.max_epochs,
                         args.n_jobs, "recording", args.n_permutations)
        print_table(f"EEGMAT, {len(sources)} subjects, rest vs arithmetic, leave-one-subject-out", rows, "recording",
                    [setting])
    if args.simulated:
        from neuroaffect.simulate import REALISTIC, EffectSizes, simulate_trials

        effects = EffectSizes.realistic()
        if args.valence_db is not None:
            effects = dataclasses.replace(effects, valence_asymmetry_db=args.valence_db)
        trials = simulate_trials("deap", args.n_subjects, args.n_trials, trial_duration=20.0,
                                 effects=effects, design=REALISTIC, seed=args.seed)
        windows = {"bde": tokenizer.transform(trials), "raw": raw.transform(trials)}
        rows = run_table(windows, args.models, "within-subject-kfold", "valence", args.seed, args.max_epochs,
                         args.n_jobs, "trial", args.n_permutations)
        print_table(f"Simulated DEAP-format, REALISTIC design ({args.n_subjects} subjects x {args.n_trials} trials of "
                    f"20 s, 1:3 valence, valence effect {effects.valence_asymmetry_db:g} dB), within-subject 5-fold",
                    rows, "trial", [setting])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
