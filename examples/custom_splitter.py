"""Bring your own cross-validation: any scikit-learn splitter, per subject or pooled, or your own indices.

``cross_validate_subjects(..., cv=...)`` takes a protocol name, a scikit-learn splitter (run on all
subjects' windows pooled, with ``groups`` = the windows' trial keys), ``PerSubject(splitter)`` (run
on each subject's windows, one model per subject and fold), or precomputed (train, test) index
pairs. Every split is audited: one that puts windows of a trial on both sides still runs, but is
labelled LEAKY in every output, so you can check the splits of an existing analysis.
"""

import tempfile
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold

from neuroaffect.estimators import make_estimator
from neuroaffect.evaluation import PerSubject, cross_validate_subjects, write_report
from neuroaffect.features import Tokenizer, tokens_for_dataset
from neuroaffect.simulate import EffectSizes, simulate_trials

out = Path(tempfile.mkdtemp(prefix="neuroaffect-splitters-"))
trials = simulate_trials("deap", n_subjects=3, n_trials=40, trial_duration=10.0,
                         effects=EffectSizes(valence_asymmetry_db=5.0), seed=0)
tokens = tokens_for_dataset(trials, Tokenizer(window=1.0), progress=False)

# Precomputed splits (e.g. from another tool): indices into the windows; here, per subject, odd
# trials train and even trials test, then the other way round. Test sets must not overlap.
odd = np.array([int(key.split("/")[-1]) % 2 == 1 for key in tokens.trial_key])
splits = [(np.flatnonzero((tokens.subject == s) & (odd == side)), np.flatnonzero((tokens.subject == s) & (odd != side)))
          for s in np.unique(tokens.subject) for side in (True, False)]

splitters = {
    "pooled GroupKFold (whole trials)": GroupKFold(n_splits=4),
    "per subject StratifiedGroupKFold": PerSubject(StratifiedGroupKFold(n_splits=4, shuffle=True, random_state=0)),
    "per subject KFold over windows": PerSubject(KFold(n_splits=4, shuffle=True, random_state=0)),
    "precomputed: odd / even trials": splits,
}
results = []
for name, cv in splitters.items():
    result = cross_validate_subjects(tokens, make_estimator(), target="valence", task="binary",
                                     cv=cv, n_jobs=1, progress=False, name=name)
    ba = result.summary["window"]["balanced_accuracy"]["mean"]
    tag = "leakage-free" if result.leakage_free else "LEAKY"
    print(f"{name:36s} {result.config['cv']:20s} balanced accuracy {ba:.3f}  {tag}")
    results.append(result)

write_report(results, out / "report", title="Custom splitters")
print(f"Report: {out / 'report' / 'report.html'}")
