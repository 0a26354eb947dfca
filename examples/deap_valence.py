"""Decode valence from DEAP-format EEG with the recommended pipeline (simulated data).

Writes a small simulated DEAP dataset (4 subjects, 40 trials of 10 s, a planted 5 dB frontal alpha
asymmetry per unit valence) in the exact file layout of the real one, reads it back subject by subject, cuts 1 s windows into band differential entropy
(BDE) tokens, and cross-validates the recommended pipeline (per-subject standardised DE +
balanced logistic regression) with whole trials held out. For the real dataset, replace
``data_dir`` with your ``data_preprocessed_python`` folder.
"""

import tempfile
from pathlib import Path

from neuroaffect.estimators import make_estimator
from neuroaffect.evaluation import cross_validate_subjects, write_report
from neuroaffect.features import Tokenizer, tokens_for_dataset
from neuroaffect.io import list_subjects
from neuroaffect.simulate import EffectSizes, write_deap

out = Path(tempfile.mkdtemp(prefix="neuroaffect-deap-"))

# 1. Data: DEAP's files (s01.dat, ...), here simulated with a real valence effect.
data_dir = write_deap(out / "deap", n_subjects=4, n_trials=40, trial_duration=10.0,
                      effects=EffectSizes(valence_asymmetry_db=5.0), seed=0, progress=False)

# 2. Lazy per-subject sources: nothing is read until the tokenizer asks for a subject.
sources = list_subjects("deap", data_dir)

# 3. BDE tokens, shape (n_windows, n_electrodes, n_bands), cached in HDF5 (a re-run reads the cache).
tokens = tokens_for_dataset(sources, Tokenizer(window=1.0), cache=out / "deap-bde.h5", progress=False)
print(f"tokens: {tokens.X.shape} (windows, electrodes, bands)")

# 4. The recommended pipeline (make_estimator() without a name), leakage-free within-subject
#    k-fold over whole trials; binary valence = rating >= 5 on DEAP's 1-9 scale.
result = cross_validate_subjects(tokens, make_estimator(), target="valence", task="binary",
                                 cv="within-subject-kfold", n_splits=4, n_jobs=1, progress=False)
print(result.format_summary())

# 5. The report: results.json, report.md, figures/, report.html.
write_report(result, out / "report")
print(f"Report: {out / 'report' / 'report.html'}")
