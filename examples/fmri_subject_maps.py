"""Predict a per-subject score (e.g. a questionnaire) from subject-level fMRI maps.

Simulates one contrast map per subject (NIfTI, NaN outside the brain, as SPM writes them) with a
planted brain-behaviour effect, then does what you would do with your own maps: read the folder
and a table of scores into parcel averages, and cross-validate LASSO-PCR across subjects with
permutation chance levels. With your data, replace ``maps_dir`` and ``table`` (docs/fmri-maps.md).
"""

import tempfile
from pathlib import Path

from neuroaffect.evaluation import cross_validate_subjects, write_report
from neuroaffect.fmri import LassoPCR, maps_to_tokens, read_fmri_maps
from neuroaffect.simulate.fmri import write_fmri_maps

out = Path(tempfile.mkdtemp(prefix="neuroaffect-fmri-maps-"))

# 1. 40 subjects, one map each (6 mm voxels), an effect of 2 noise SDs per score SD in one
#    right-hemisphere blob; the folder holds sub-XX_map.nii.gz and participants.tsv (subject, score).
maps_dir, table, truth = write_fmri_maps(out / "maps", n_subjects=40, effect_size=2.0, random_state=0)
print(f"planted effect at MNI {truth.effect_centre} mm")

# 2. Maps + table -> one row per map: the mean of each Seitzman parcel's finite voxels (the atlas
#    ships with nilearn, nothing is downloaded).
responses = read_fmri_maps(maps_dir, table, parcellate="seitzman300", targets=["score"])
print(f"features: {responses.X.shape} (maps, parcels)")

# 3. Samples are subjects: every split keeps a subject's maps on one side, and each permutation
#    shuffles whole subjects' scores. Chance r is not 0 under cross-validation: the permutations
#    measure it.
tokens = maps_to_tokens(responses, "score")
result = cross_validate_subjects(tokens, LassoPCR(), target="score", task="regression",
                                 cv="within-subject-kfold", n_splits=5, metric="pearson_r",
                                 n_permutations=20, n_jobs=1, progress=False)
print(result.format_summary())

write_report(result, out / "report")
print(f"Report: {out / 'report' / 'report.html'}")
