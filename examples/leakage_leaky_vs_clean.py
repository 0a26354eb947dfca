"""Leaky vs leakage-free evaluation of the same model on the same data, in the same scope.

Each subject's windows shuffled into k folds (``leaky-within-subject-kfold``, the split behind the
field's ~99% subject-dependent results) put windows of one trial in training and test; the model
then recognises the trial, not the emotion. ``within-subject-kfold`` holds whole trials out. Both
are within-subject, so the gap is leakage alone (for pooled models compare
``leave-one-subject-out`` with ``leaky-segment-kfold``). A few label permutations give each
protocol its chance level: under the leaky split even shuffled labels are "decoded".
"""

import tempfile
from pathlib import Path

from neuroaffect.estimators import make_estimator
from neuroaffect.evaluation import cross_validate_subjects, write_report
from neuroaffect.features import Tokenizer, tokens_for_dataset
from neuroaffect.simulate import EffectSizes, simulate_trials

out = Path(tempfile.mkdtemp(prefix="neuroaffect-leakage-"))

# Simulated DEAP-format trials in memory: a real valence effect (5 dB frontal alpha asymmetry per
# unit valence) and per-trial fingerprints (label-independent band gains, constant within a trial).
trials = simulate_trials("deap", n_subjects=3, n_trials=40, trial_duration=10.0,
                         effects=EffectSizes(valence_asymmetry_db=5.0, fingerprint_db=2.5), seed=0)
tokens = tokens_for_dataset(trials, Tokenizer(window=1.0), progress=False)

results = []
for cv in ("within-subject-kfold", "leaky-within-subject-kfold"):
    result = cross_validate_subjects(tokens, make_estimator(), target="valence", task="binary", cv=cv,
                                     n_splits=4, n_permutations=3, n_jobs=1, progress=False)
    print(result.format_summary(), end="\n\n")
    results.append(result)

clean, leaky = (r.summary["window"]["balanced_accuracy"]["mean"] for r in results)
leaky_chance = results[1].summary["chance"]["balanced_accuracy"]
print(f"balanced accuracy: leakage-free {clean:.3f}, LEAKY {leaky:.3f} "
      f"(LEAKY with shuffled labels: {leaky_chance:.3f})")

# One report with both runs; the leaky one is labelled LEAKY in every table and figure.
write_report(results, out / "report", title="Leaky vs leakage-free, same scope")
print(f"Report: {out / 'report' / 'report.html'}")
