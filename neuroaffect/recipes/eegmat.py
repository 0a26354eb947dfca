"""Recipe: rest vs mental arithmetic across subjects on PhysioNet's EEGMAT (real EEG).

Run ``neuroaffect run eegmat --data-dir DIR`` (the folder of ``SubjectNN_1.edf`` /
``SubjectNN_2.edf``); leave-one-subject-out by default. There is no simulated stand-in: the point
of this recipe is real recordings. Documented in docs/recipes/eegmat.md.
"""

from __future__ import annotations

from ._eeg import run


def main(argv=None) -> int:
    """Read EEGMAT, compute BDE tokens, cross-validate across subjects, write the report."""
    return run("eegmat", argv, prog="neuroaffect run eegmat",
               description="Rest vs mental arithmetic from real EEG (PhysioNet EEGMAT), across subjects.")


if __name__ == "__main__":
    raise SystemExit(main())
