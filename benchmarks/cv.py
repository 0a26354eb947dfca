"""Benchmark: leakage-free 5-fold subject-dependent CV on a DEAP-sized simulated dataset.

Stages timed separately: simulation (not part of a real run), loading (reading the subject files),
features (BDE tokens, 1 s windows), fitting (cross-validation, per model) and report. Models:
DE + logistic regression, and the electrode-attention transformer at a reduced, documented budget
(``--transformer-epochs``, default 3 epochs, default configuration, CPU unless a GPU is present).

    python benchmarks/cv.py                      # 32 subjects x 40 trials x 60 s (DEAP-sized)
    python benchmarks/cv.py --subjects 2         # a small version
    python benchmarks/cv.py --models de-logreg --n-jobs 2

Prints one line per stage and writes ``benchmark.json`` (and the reports) under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subjects", type=int, default=32)
    p.add_argument("--trials", type=int, default=40)
    p.add_argument("--trial-duration", type=float, default=60.0, help="seconds per trial")
    p.add_argument("--data-dir", type=Path, default=None, help="simulated data folder to reuse or create")
    p.add_argument("--models", nargs="+", default=["de-logreg", "transformer"])
    p.add_argument("--transformer-epochs", type=int, default=3, help="reduced training budget (max_epochs)")
    p.add_argument("--n-splits", type=int, default=5)
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--out", type=Path, default=Path("neuroaffect-results") / "benchmark-cv")
    args = p.parse_args(argv)

    from neuroaffect.estimators import make_estimator
    from neuroaffect.evaluation import cross_validate_subjects, write_report
    from neuroaffect.features import Tokenizer, WindowTokens
    from neuroaffect.io import list_subjects
    from neuroaffect.simulate import write_deap

    stages = {}
    data_root = args.data_dir or Path(tempfile.gettempdir()) / (
        f"neuroaffect-bench-deap-{args.subjects}x{args.trials}x{args.trial_duration:g}")
    data_dir = data_root / "data_preprocessed_python"
    t = time.perf_counter()
    if not (data_dir / f"s{args.subjects:02d}.dat").is_file():
        write_deap(data_root, n_subjects=args.subjects, n_trials=args.trials,
                   trial_duration=args.trial_duration, progress=False)
    stages["simulate (not part of a real run)"] = time.perf_counter() - t

    sources = list_subjects("deap", data_dir)[: args.subjects]
    tokenizer = Tokenizer(window=1.0)
    load_s = feat_s = 0.0
    parts = []
    for source in sources:
        t = time.perf_counter()
        trials = source.load()
        load_s += time.perf_counter() - t
        t = time.perf_counter()
        parts.append(tokenizer.transform(trials))
        feat_s += time.perf_counter() - t
    tokens = WindowTokens.concatenate(parts)
    stages["loading"], stages["features"] = load_s, feat_s

    runs = {}
    for name in args.models:
        params = {"max_epochs": args.transformer_epochs, "ch_names": list(tokens.ch_names)} \
            if name.startswith("transformer") else {}
        est = make_estimator(name, **params)
        t = time.perf_counter()
        res = cross_validate_subjects(tokens, est, target="valence", task="binary",
                                      protocol="within-subject-kfold", n_splits=args.n_splits,
                                      n_jobs=args.n_jobs, random_state=0, progress=False)
        stages[f"fitting {name}"] = time.perf_counter() - t
        t = time.perf_counter()
        write_report(res, args.out / name, title=f"Benchmark: {name}", predictions=False)
        stages[f"report {name}"] = time.perf_counter() - t
        m = res.summary["window"]["balanced_accuracy"]
        runs[name] = {"balanced_accuracy_mean": m["mean"], "balanced_accuracy_std": m["std"],
                      "n_fits": len(res.folds), "sum_fit_seconds": res.timings["fit"]}

    info = {
        "subjects": args.subjects, "trials": args.trials, "trial_duration_s": args.trial_duration,
        "n_windows": len(tokens), "n_electrodes": len(tokens.ch_names), "n_bands": len(tokens.band_names),
        "protocol": "within-subject-kfold", "n_splits": args.n_splits, "n_jobs": args.n_jobs,
        "transformer_budget": {"max_epochs": args.transformer_epochs, "config": "default"},
        "cpu_count": os.cpu_count(), "platform": platform.platform(), "stages_s": stages, "runs": runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmark.json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"{args.subjects} subjects x {args.trials} trials x {args.trial_duration:g} s -> {len(tokens)} windows "
          f"({len(tokens.ch_names)} electrodes x {len(tokens.band_names)} bands), n_jobs={args.n_jobs}")
    for stage, seconds in stages.items():
        print(f"  {stage:<40s} {seconds:8.1f} s")
    for name, r in runs.items():
        print(f"  {name}: balanced accuracy {r['balanced_accuracy_mean']:.3f} +- {r['balanced_accuracy_std']:.3f} "
              f"({r['n_fits']} fits)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
