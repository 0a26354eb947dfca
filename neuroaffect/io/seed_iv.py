"""SEED-IV ``eeg_raw_data`` reader.

Layout: ``eeg_raw_data/{1,2,3}/{subject}_{date}.mat`` (folder = session), each holding
``<initials>_eeg1 ... <initials>_eeg24``, arrays (62, n_times) in µV, same channels as SEED.
Labels (0 neutral, 1 sad, 2 fear, 3 happy) are in no file: they are the fixed per-session
sequences of :data:`neuroaffect.io.layouts.SEED_IV_LABELS`.

Sampling rate: public readers disagree (200 Hz in one, 1000 Hz in others) and the arrays do not
carry it, so ``sfreq`` must be given explicitly; check it against the dataset's own readme for the
copy you have. A wrong rate scales every frequency (and duration) by the ratio of the two rates.

Trials per session: every session of the real dataset holds the 24 trials of its label sequence,
and a session file with fewer is refused, naming the file (a file cut between two variables reads
without a MATLAB error, so this is how a truncated download shows). Smaller datasets, such as those
:func:`neuroaffect.simulate.write_seed_iv` writes with ``n_trials=N``, are read by saying so:
``n_trials=N``, and then every session file must hold exactly N trials, labelled with the first N
labels of the session's sequence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._validation import check_positive
from ..trials import EEGTrials
from . import layouts as L
from ._common import DatasetSpec, SubjectSource, find_root
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


def check_n_trials(n_trials) -> int | None:
    """``n_trials`` of the SEED-IV reader: None, or an integer from 1 to 24 (ValueError otherwise)."""
    most = min(len(labels) for labels in L.SEED_IV_LABELS.values())
    if n_trials is not None and (
        isinstance(n_trials, bool) or not isinstance(n_trials, int | np.integer) or not 1 <= n_trials <= most
    ):
        raise ValueError(
            f"Invalid value for the 'n_trials' parameter: expected None (every session holds the {most} "
            f"trials of SEED-IV) or an integer from 1 to {most} (a smaller, e.g. simulated, dataset), "
            f"got {n_trials!r}."
        )
    return None if n_trials is None else int(n_trials)


def read_subject(
    source: SubjectSource, *, sfreq: float, drop_cerebellar: bool = False, n_trials: int | None = None
) -> EEGTrials:
    """Read the three sessions of one SEED-IV subject (volts, at the given ``sfreq``).

    Each session file must hold as many trials as the session's label sequence (24), or exactly
    ``n_trials`` when given (see :func:`read_seed_iv`); a file with fewer is a
    :class:`~neuroaffect._validation.FileFormatError` naming it.
    """
    check_positive("sfreq", sfreq)
    n_trials = check_n_trials(n_trials)
    sessions = []
    for session, path in zip(L.SEED_IV_LABELS, source.files, strict=True):
        n_labels = len(L.SEED_IV_LABELS[session])
        if n_trials is not None:
            n_labels, reason = n_trials, f"as n_trials={n_trials} says"
        else:
            reason = (f"as every SEED-IV session has (the session {session} label sequence); for a smaller "
                        "dataset written by neuroaffect.simulate.write_seed_iv(n_trials=N), pass n_trials=N")
        sessions.append((session, read_trials_mat(path, "SEED-IV", n_labels, complete=True, reason=reason)))
    return seed_trials(source, L.SEED_IV_LABELS, sessions, float(sfreq), "seed_iv", drop_cerebellar)


SPEC = DatasetSpec(
    name="seed_iv", title="SEED-IV", aliases=("seed-iv",), find_subjects=find_subjects,
    read_subject=read_subject, rating_names=("emotion",), target="emotion", task="classes",
    protocol="seed-iv-16-8", options=("sfreq", "drop_cerebellar", "n_trials"),
    required_options=(("sfreq", "the documented rate of eeg_raw_data differs between sources: "
                                "200 Hz vs 1000 Hz"),),
    trials_per_session=min(len(labels) for labels in L.SEED_IV_LABELS.values()),
)


def read_seed_iv(
    path,
    subjects=None,
    *,
    sfreq: float,
    drop_cerebellar: bool = False,
    n_trials: int | None = None,
    progress: bool = False,
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
    n_trials : int, optional
        Trials per session file. None (the default, for the real dataset): each session holds the
        24 trials of its label sequence, and a file with fewer is an error naming the file (it is
        truncated). An integer N from 1 to 24 reads a smaller dataset, such as one written by
        :func:`neuroaffect.simulate.write_seed_iv` with ``n_trials=N``: every session file must
        then hold exactly N trials, labelled with the first N labels of its session. Refusing
        short files by default is deliberate: a file cut between two variables reads without any
        MATLAB error, and silently fewer trials would change every subject's class balance.
    progress : bool
        Show a progress bar over subjects.

    Returns
    -------
    trials : EEGTrials
        Rating ``"emotion"`` (0 neutral, 1 sad, 2 fear, 3 happy); sessions 1-3 = the folders;
        trials 1-24 (or 1-``n_trials``) in presentation order.

    Raises
    ------
    FileFormatError
        If a session file holds fewer trials than expected (or more than ``n_trials``), or an
        array is not (62, n_times) finite samples; the message names the file.
    """
    from . import list_subjects, read_sources

    options = {"sfreq": sfreq, "drop_cerebellar": drop_cerebellar}
    if n_trials is not None:  # only when given, so the cache keys of full datasets are unchanged
        options["n_trials"] = check_n_trials(n_trials)
    return read_sources(list_subjects("seed_iv", path, subjects, **options), progress=progress)
