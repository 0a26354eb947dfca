"""Your own recordings: ``mne.Epochs`` with a metadata table -> EEGTrials -> leave-one-subject-out.

Real EEG: 8 subjects of PhysioNet's EEG During Mental Arithmetic Tasks (EEGMAT), two EDF
files each (``SubjectNN_1.edf`` rest, ``SubjectNN_2.edf`` serial subtraction). Each recording is cut
into three 20 s epochs; ``epochs.metadata`` holds one row per epoch: ``subject``, ``session`` and
``trial`` are read as ids, every other column (here ``condition``) as a label.
Usage: ``python examples/own_recordings_mne_epochs.py [EEGMAT_FOLDER]``.
"""
# needs: ../shared/data/eegmat

import sys
import tempfile
from pathlib import Path

import mne
import numpy as np
import pandas as pd

from neuroaffect import EEGTrials, RatingScale
from neuroaffect.estimators import make_estimator
from neuroaffect.evaluation import cross_validate_subjects, write_report
from neuroaffect.features import Tokenizer, tokens_for_dataset

eegmat = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data" / "eegmat"
if not (eegmat / "Subject00_1.edf").is_file():
    sys.exit(f"EEGMAT files not found in {eegmat}: pass the folder holding SubjectNN_1.edf / SubjectNN_2.edf "
             "(PhysioNet 'eegmat' 1.0.0) as the first argument.")
mne.set_log_level("WARNING")
out = Path(tempfile.mkdtemp(prefix="neuroaffect-epochs-"))

# A categorical label: declare its categories (every file holds one condition only).
CONDITION = RatingScale("condition", 0, 1, "categorical", ("rest", "arithmetic"))

parts = []
for subject in [f"{i:02d}" for i in range(8)]:  # the 8 subjects of the shared folder
    for run, condition in ((1, "rest"), (2, "arithmetic")):
        raw = mne.io.read_raw_edf(eegmat / f"Subject{subject}_{run}.edf")
        epochs = mne.make_fixed_length_epochs(raw.crop(0, 60, include_tmax=False), duration=20.0, preload=True)
        epochs.metadata = pd.DataFrame({"subject": subject, "session": 1,
                                        "trial": np.arange(1, len(epochs) + 1) + 10 * run,  # unique per session
                                        "condition": condition})
        parts.append(epochs)

# Volts, 10-05 names (EEG T3 -> T7); the ear and ECG channels are left out (logged).
trials = EEGTrials.from_epochs(mne.concatenate_epochs(parts), scales={"condition": CONDITION})
print(trials)

# One recording per condition per subject: only a cross-subject split keeps a test recording out.
# 2 s windows, 1 s hop -> BDE tokens (n_windows, 19 electrodes, 4 bands), cached in HDF5.
tokens = tokens_for_dataset(trials, Tokenizer(window=2.0, hop=1.0), cache=out / "tokens.h5", progress=False)
result = cross_validate_subjects(tokens, make_estimator(), target="condition", task="classes",
                                 cv="leave-one-subject-out", n_jobs=1, progress=False)
print(result.format_summary())
write_report(result, out / "report")
print(f"Report: {out / 'report' / 'report.html'}")
