"""Subject alignment for cross-subject decoding: leave-one-subject-out on real EEG (EEGMAT).

Rest vs mental arithmetic, the 8 subjects of PhysioNet's EEGMAT in the shared folder. Every person's EEG has its own
offsets (skull, impedances, montage placement), so a model trained on others meets a shifted
test subject. Standardising the DE tokens per subject (``aligned-de-logreg``, the recommended
pipeline) removes those offsets, using no label of the test subject; ``de-logreg`` is the same
model without it. Usage: ``python examples/subject_alignment_eegmat.py [EEGMAT_FOLDER]``.
"""
# needs: ../shared/data/eegmat

import sys
import tempfile
from pathlib import Path

from neuroaffect.estimators import make_estimator
from neuroaffect.evaluation import compare_pipelines, cross_validate_subjects, write_report
from neuroaffect.features import Tokenizer, tokens_for_dataset
from neuroaffect.io import list_subjects

eegmat = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data" / "eegmat"
if not (eegmat / "Subject00_1.edf").is_file():
    sys.exit(f"EEGMAT files not found in {eegmat}: pass the folder holding SubjectNN_1.edf / SubjectNN_2.edf "
             "(PhysioNet 'eegmat' 1.0.0) as the first argument.")
out = Path(tempfile.mkdtemp(prefix="neuroaffect-alignment-"))

# Lazy per-subject sources; each recording is one trial labelled by `condition` (rest, arithmetic).
# Subjects 0-7: with only the first 4, training on 3 people, both pipelines stay at chance.
# On all 36 subjects: 0.889 vs 0.681 balanced accuracy per recording (benchmarks/RESULTS.md).
sources = list_subjects("eegmat", eegmat, subjects=list(range(8)))
# 2 s windows with a 1 s hop -> tokens (n_windows, 19 electrodes, 4 bands), cached in HDF5.
tokens = tokens_for_dataset(sources, Tokenizer(window=2.0, hop=1.0), cache=out / "eegmat-bde.h5",
                            progress=False)

results = []
for name in ("de-logreg", "aligned-de-logreg"):
    result = cross_validate_subjects(tokens, make_estimator(name), target="condition", task="classes",
                                     cv="leave-one-subject-out", n_jobs=1, progress=False, name=name)
    print(result.format_summary(), end="\n\n")
    results.append(result)

# Paired comparison on the same held-out subjects (8 subjects: p cannot go below 1/128).
test = compare_pipelines(results[1].scores(), results[0].scores())
print(f"aligned minus plain, per subject: {test['mean_difference']:+.3f} balanced accuracy "
      f"({test['test']}, p = {test['p_value']:.3f}, {test['n_subjects']} subjects)")
write_report(results, out / "report", title="EEGMAT: subject alignment, leave-one-subject-out")
print(f"Report: {out / 'report' / 'report.html'}")
