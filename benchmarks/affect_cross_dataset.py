"""Cross-dataset affect decoding on simulated data: DEAP format (32 electrodes, 1-9 ratings) ->
DREAMER format (14 electrodes, 1-5 scores), labels in the common space, binary high/low.

    python benchmarks/affect_cross_dataset.py [--transformer]

Prints balanced accuracy (chance 0.5) and regression scores per target and estimator.
"""

from __future__ import annotations

import sys
import time

from neuroaffect.affect import cross_dataset_evaluate
from neuroaffect.estimators import de_logistic_regression, de_ridge
from neuroaffect.features import Tokenizer
from neuroaffect.simulate import simulate_trials


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    t0 = time.perf_counter()
    deap = simulate_trials("deap", n_subjects=4, n_trials=20, trial_duration=8.0, seed=0)
    dreamer = simulate_trials("dreamer", n_subjects=4, n_trials=18, trial_duration=8.0, seed=1)
    tokenizer = Tokenizer(window=2.0)
    train, test = tokenizer.transform(deap), tokenizer.transform(dreamer)
    print(f"train {train.X.shape} ({train.dataset}), test {test.X.shape} ({test.dataset})")
    fmt = lambda m: ", ".join(f"{k} {v:.3f}" for k, v in m.items())  # noqa: E731
    for target in ("valence", "arousal"):
        for normalize in ("subject", None):
            r = cross_dataset_evaluate(train, test, de_logistic_regression(), target=target, normalize=normalize)
            print(f"{target:8s} de-logreg  common/{normalize}: {fmt(r['metrics'])}")
        r = cross_dataset_evaluate(train, test, de_ridge(), target=target, task="regression")
        print(f"{target:8s} de-ridge   common/subject: {fmt(r['metrics'])}")
        if "--transformer" in argv:
            from neuroaffect.affect.transfer import MontageTransfer
            from neuroaffect.estimators import ElectrodeAttentionClassifier

            est = ElectrodeAttentionClassifier(
                config=dict(embed_dim=32, depth=2, n_heads=2, head_dim=16, ffn_dim=32, head_dims=(32,)),
                max_epochs=30, batch_size=64, patience=None, validation_fraction=0, random_state=0,
            )
            for channels, model in (("common", est), ("all", MontageTransfer(est))):
                r = cross_dataset_evaluate(train, test, model, target=target, channels=channels)
                print(f"{target:8s} transformer {channels}/subject: {fmt(r['metrics'])}")
    print(f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
