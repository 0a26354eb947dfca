"""Benchmark: rest vs mental arithmetic on real EEG (PhysioNet EEGMAT), leave-one-subject-out.

Reads the release folder through the library (``list_subjects("eegmat", DIR)``), computes BDE
tokens (``--window`` s windows, ``--hop`` s hop) and prints, per model, the leave-one-subject-out
balanced accuracy at window level and at recording level (each recording's windows averaged), mean
and standard deviation over the test subjects. Chance is 0.5 for balanced accuracy.

    python benchmarks/eegmat.py --data-dir DIR                       # DE + LR and the transformer
    python benchmarks/eegmat.py --data-dir DIR --models de-logreg

DIR: the 36-subject release (``SubjectNN_1.edf``, ``SubjectNN_2.edf``, ``subject-info.csv``), e.g. a
copy of the public repository Apurva-2703/EEG_Mental_Arithmetic's
``eeg-during-mental-arithmetic-tasks-1.0.0`` folder, or the 8 subjects in ../shared/data/eegmat.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", type=Path, required=True, help="the EEGMAT release folder")
    p.add_argument("--models", nargs="+", default=["de-logreg", "transformer"])
    p.add_argument("--window", type=float, default=2.0, help="window length in seconds")
    p.add_argument("--hop", type=float, default=1.0, help="window hop in seconds")
    p.add_argument("--transformer-epochs", type=int, default=10, help="max_epochs of the transformer")
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    from neuroaffect.estimators import make_estimator
    from neuroaffect.evaluation import cross_validate_subjects
    from neuroaffect.features import Tokenizer, tokens_for_dataset
    from neuroaffect.io import list_subjects

    t0 = time.perf_counter()
    sources = list_subjects("eegmat", args.data_dir)
    tokens = tokens_for_dataset(sources, Tokenizer(window=args.window, hop=args.hop), progress=True)
    features_s = time.perf_counter() - t0
    rows = []
    for name in args.models:
        params = {"max_epochs": args.transformer_epochs} if name.startswith("transformer") else {}
        est = make_estimator(name, task="classification", **params)
        if "ch_names" in est.get_params():
            est.set_params(ch_names=list(tokens.ch_names))
        if "random_state" in est.get_params():
            est.set_params(random_state=args.seed)
        t1 = time.perf_counter()
        result = cross_validate_subjects(tokens, est, target="condition", task="classes",
                                         protocol="leave-one-subject-out", n_jobs=args.n_jobs,
                                         random_state=args.seed, progress=True)
        window = result.summary["window"]["balanced_accuracy"]
        trial = result.summary["trial"]["balanced_accuracy"]
        rows.append((name + (f" ({args.transformer_epochs} epochs)" if name.startswith("transformer") else ""),
                     window, trial, time.perf_counter() - t1))

    print(f"\nEEGMAT {args.data_dir}: {len(sources)} subjects, rest vs arithmetic, leave-one-subject-out, "
          f"BDE {args.window:g} s windows / {args.hop:g} s hop (features {features_s:.1f} s)")
    print(f"{'model':32} {'window BA':>16} {'recording BA':>16} {'fit (s)':>8}")
    for name, window, trial, seconds in rows:
        print(f"{name:32} {window['mean']:7.3f} +- {window['std']:5.3f} {trial['mean']:7.3f} +- {trial['std']:5.3f} "
              f"{seconds:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
