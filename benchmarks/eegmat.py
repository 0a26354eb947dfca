"""Benchmark: rest vs mental arithmetic on real EEG (PhysioNet EEGMAT), leave-one-subject-out.

DE + logistic regression and the transformer by default; the full comparison (recommended default,
alignment, Riemannian, braindecode networks, trivial baselines) is ``benchmarks/real_eeg.py``, which
this script runs with these models.

    python benchmarks/eegmat.py --data-dir DIR
    python benchmarks/eegmat.py --data-dir DIR --models de-logreg

DIR: the 36-subject release (``SubjectNN_1.edf``, ``SubjectNN_2.edf``, ``subject-info.csv``), e.g. a
copy of the public repository Apurva-2703/EEG_Mental_Arithmetic's
``eeg-during-mental-arithmetic-tasks-1.0.0`` folder, or the 8 subjects in ../shared/data/eegmat.
"""

from __future__ import annotations

import sys

from real_eeg import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    raise SystemExit(main(argv if "--models" in argv else [*argv, "--models", "de-logreg", "transformer"]))
