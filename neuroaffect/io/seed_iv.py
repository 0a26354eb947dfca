"""SEED-IV ``eeg_raw_data`` reader.

Layout: ``eeg_raw_data/{1,2,3}/{subject}_{date}.mat`` (folder = session), each holding
``<initials>_eeg1 ... <initials>_eeg24``, arrays (62, n_times) in µV, same channels as SEED.
Labels (0 neutral, 1 sad, 2 fear, 3 happy) are in no file: they are the fixed per-session
sequences of :data:`neuroaffect.io.layouts.SEED_IV_LABELS`.

Sampling rate: public readers disagree (200 Hz in one, 1000 Hz in others) and the arrays do not
carry it, so ``sfreq`` must be given explicitly; check it against the dataset's own readme for the
copy you have. A wrong rate scales every frequency (and duration) by the ratio of the two rates.
"""

from __future__ import annotations

from pathlib import Path

from .._validation import check_positive
from ..trials import EEGTrials
from . import layouts as L
from ._common import SubjectSource, find_root
from .seed import find_session_files, read_trials_mat, seed_trials


def find_subjects(path) -> dict[str, tuple[Path, ...]]:
    """Subject id -> (session 1 file, session 2 file, session 3 file)."""
    root = find_root(path, "eeg_raw_data", "SEED-IV")
    folders = [root / str(s) for s in L.SEED_IV_LABELS]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        raise FileNotFoundError(
            f"SEED-IV session folder(s) not found: {missing} (expected {root}/1, /2, /3)."
        )
    per_session = [find_session_files(f, "seed_iv") for f in folders]
    subjects = [s for s in per_session[0] if all(s in found for found in per_session)]
    incomplete = sorted({s for found in per_session for s in found} - set(subjects))
    if incomplete:
        raise FileNotFoundError(
            f"SEED-IV subject(s) {incomplete} lack a file in some session folder of {root}."
        )
    for session, found in zip(L.SEED_IV_LABELS, per_session, strict=True):
        several = {s: [p.name for p in f] for s, f in found.items() if len(f) > 1}
        if several:
            raise ValueError(
                f"SEED-IV session folder {root / str(session)} holds several files per subject: {several}."
            )
    return {s: tuple(found[s][0] for found in per_session) for s in subjects}


def read_subject(
    source: SubjectSource, *, sfreq: float, drop_cerebellar: bool = False
) -> EEGTrials:
    """Read the three sessions of one SEED-IV subject (volts, at the given ``sfreq``)."""
    check_positive("sfreq", sfreq)
    sessions = [
        (session, read_trials_mat(path, "SEED-IV", len(L.SEED_IV_LABELS[session])))
        for session, path in zip(L.SEED_IV_LABELS, source.files, strict=True)
    ]
    return seed_trials(source, L.SEED_IV_LABELS, sessions, float(sfreq), "seed_iv", drop_cerebellar)


def read_seed_iv(
    path, subjects=None, *, sfreq: float, drop_cerebellar: bool = False, progress: bool = False
) -> EEGTrials:
    """Read SEED-IV's ``eeg_raw_data`` folder.

    Parameters
    ----------
    path : path-like
        The ``eeg_raw_data`` folder (or its parent).
    subjects : int, str or list, optional
        Subject numbers (``1`` ... ``15``); all by default.
    sfreq : float
        Sampling rate of the arrays in Hz. Required: the documentation of public readers disagrees
        (200 vs 1000 Hz) and the files do not say.
    drop_cerebellar : bool
        Drop CB1 and CB2.
    progress : bool
        Show a progress bar over subjects.

    Returns
    -------
    trials : EEGTrials
        Rating ``"emotion"`` (0 neutral, 1 sad, 2 fear, 3 happy); sessions 1-3 = the folders;
        trials 1-24 in presentation order.
    """
    from . import list_subjects, read_sources

    return read_sources(
        list_subjects("seed_iv", path, subjects, sfreq=sfreq, drop_cerebellar=drop_cerebellar),
        progress=progress,
    )
