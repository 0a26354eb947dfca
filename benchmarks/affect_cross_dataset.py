"""Cross-dataset affect decoding on simulated data: DEAP format (32 electrodes, 1-9 ratings) ->
DREAMER format (14 electrodes, 1-5 scores), labels in the common space, binary high/low.

    python benchmarks/affect_cross_dataset.py [--transformer] [--out DIR] [--n-permutations N]

Prints balanced accuracy (chance 0.5) and regression scores per target and estimator, pooled over
the test windows. With ``--out``, every run (protocol "cross-dataset", per-subject scores of the
DREAMER-format subjects, leakage audit) is also written as one report (JSON, Markdown, figures,
HTML) with :func:`neuroaffect.evaluation.write_report`.
"""

from __future__ import annotations

import argparse
import time

from neuroaffect.affect import cross_dataset_evaluate
from neuroaffect.affect.cross_dataset import cross_dataset_cv
from neuroaffect.estimators import de_logistic_regression, de_ridge
from neuroaffect.features import Tokenizer
from neuroaffect.simulate import simulate_trials


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transformer", action="store_true", help="also run the electrode-attention transformer")
    parser.add_argument("--out", help="write a report of every run to this folder")
    parser.add_argument("--n-permutations", type=int, default=0, help="label permutations per run (report p-values)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    deap = simulate_trials("deap", n_subjects=4, n_trials=20, trial_duration=8.0, seed=0)
    dreamer = simulate_trials("dreamer", n_subjects=4, n_trials=18, trial_duration=8.0, seed=1)
    tokenizer = Tokenizer(window=2.0)
    train, test = tokenizer.transform(deap), tokenizer.transform(dreamer)
    print(f"train {train.X.shape} ({train.dataset}), test {test.X.shape} ({test.dataset})")
    fmt = lambda m: ", ".join(f"{k} {v:.3f}" for k, v in m.items())  # noqa: E731
    runs = []

    def run(label, estimator, **kwargs):
        if args.n_permutations:  # the pooled metrics are not needed: one run with permutations
            res = cross_dataset_cv(train, test, estimator, n_permutations=args.n_permutations, progress=False, **kwargs)
            print(f"{label}: {res.format_summary()}")
        else:
            r = cross_dataset_evaluate(train, test, estimator, **kwargs)
            res = r["result"]
            print(f"{label}: {fmt(r['metrics'])}")
        runs.append(res)

    for target in ("valence", "arousal"):
        for normalize in ("subject", None):
            run(f"{target:8s} de-logreg  common/{normalize}", de_logistic_regression(), target=target,
                normalize=normalize)
        run(f"{target:8s} de-ridge   common/subject", de_ridge(), target=target, task="regression")
        if args.transformer:
            from neuroaffect.estimators import ElectrodeAttentionClassifier, MontageTransfer

            est = ElectrodeAttentionClassifier(
                config=dict(embed_dim=32, depth=2, n_heads=2, head_dim=16, ffn_dim=32, head_dims=(32,)),
                max_epochs=30, batch_size=64, patience=None, validation_fraction=0, random_state=0,
            )
            for channels, model in (("common", est), ("all", MontageTransfer(est))):
                run(f"{target:8s} transformer {channels}/subject", model, target=target, channels=channels)
    if args.out:
        from neuroaffect.evaluation import write_report

        md = write_report(
            runs, args.out, title="Cross-dataset affect decoding (simulated DEAP -> DREAMER format)",
            notes=["Simulated data: DEAP format (32 electrodes, ratings 1-9) for training, DREAMER format "
                   "(14 electrodes, scores 1-5) for testing; labels in the common VAD space [-1, 1].",
                   "Window and trial counts in each run cover both datasets; scores are per test subject."],
            compare=[],
        )
        print(f"report: {md}")
    print(f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
