"""SEED ``Preprocessed_EEG`` reader.

The folder holds ``{subject}_{YYYYMMDD}.mat`` (15 subjects x 3 sessions) and ``label.mat``. Each
subject file holds ``<initials>_eeg1 ... <initials>_eeg15``, arrays (62, n_times) in µV at 200 Hz.
Trials are ordered by the number parsed from the variable name (``eeg10`` after ``eeg9``); sessions
are numbered by the order of the recording dates within each subject. Labels
(``label.mat["label"][0]``: 1 positive, 0 neutral, -1 negative) are the same in every session.
A session file with fewer than the 15 trials is refused (a file cut between two variables reads
without a MATLAB error).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .._validation import FileFormatError
from ..affect.scales import get_scale
from ..trials import EEGTrials
from . import layouts as L
from ._common import DatasetSpec, SubjectSource, check_samples, find_root, loadmat, numeric_order

_FILE = re.compile(r"(\d+)_(\d{8})\.mat")
_VARIABLE = re.compile(r".+_eeg(\d+)")


def find_session_files(root: Path, dataset: str) -> dict[str, list[Path]]:
    """Subject id -> files sorted by date, from one folder of ``{subject}_{date}.mat`` files."""
    found: dict[str, list[Path]] = {}
    for p in root.iterdir():
        m = _FILE.fullmatch(p.name)
        if m:
            found.setdefault(str(int(m.group(1))), []).append(p)
    return {
        k: sorted(found[k], key=lambda p: _FILE.fullmatch(p.name).group(2))
        for k in numeric_order(found)
    }


def find_subjects(path) -> dict[str, tuple[Path, ...]]:
    """Subject id -> (label.mat, session files by date...), from ``Preprocessed_EEG`` (or its parent)."""
    root = find_root(path, "Preprocessed_EEG", "SEED")
    if not root.is_dir():
        raise FileNotFoundError(f"SEED data folder not found: {root} is not a folder.")
    label_file = root / "label.mat"
    return {k: (label_file, *files) for k, files in find_session_files(root, "seed").items()}


def read_trials_mat(
    path: Path, dataset: str, n_labels: int, *, complete: bool = False, reason: str | None = None
) -> list[np.ndarray]:
    """The ``*_eegN`` arrays of one session file in trial order, each (62, n_times) in µV (checked).

    With ``complete``, a file with fewer than ``n_labels`` trials (e.g. cut at a variable boundary,
    which scipy reads without complaint) is an error; ``reason`` says in that error why
    ``n_labels`` trials are expected (default: "as every <dataset> session has").
    """
    mat = loadmat(path, f"a {dataset} session file with <initials>_eeg1..{n_labels} variables")
    numbered = {}
    for key in mat:
        m = _VARIABLE.fullmatch(key)
        if m and not key.startswith("__"):
            numbered[int(m.group(1))] = key
    if not numbered:
        keys = [k for k in mat if not k.startswith("__")]
        raise FileFormatError(
            path, f"holds no '<initials>_eegN' variables (found {keys}); expected {dataset} trials."
        )
    expected = list(range(1, max(numbered) + 1))
    if sorted(numbered) != expected or max(numbered) > n_labels:
        raise FileFormatError(
            path,
            f"holds trials {sorted(numbered)}; expected eeg1..eegN with N <= {n_labels} and none missing.",
        )
    out = []
    for number in expected:
        key = numbered[number]
        array = mat[key]
        if array.ndim != 2 or array.shape[0] != len(L.SEED_CHANNELS):
            raise FileFormatError(
                path,
                f"variable {key} (trial {number}) has shape {array.shape}; expected "
                f"({len(L.SEED_CHANNELS)} channels, n_times).",
            )
        check_samples(array, path, f"variable {key} (trial {number})")
        out.append(array)
    if complete and len(out) != n_labels:
        raise FileFormatError(
            path,
            f"holds {len(out)} trials (eeg1..eeg{len(out)}); expected {n_labels}, "
            f"{reason or f'as every {dataset} session has'}. The file is probably truncated (an "
            "interrupted download or copy); download it again.",
        )
    return out


def seed_trials(source, labels, sessions, sfreq, dataset, drop_cerebellar) -> EEGTrials:
    """Assemble EEGTrials from per-session lists of (62, n_times) µV arrays and label sequences."""
    keep = [
        i for i, c in enumerate(L.SEED_CHANNELS) if not (drop_cerebellar and c in L.SEED_CEREBELLAR)
    ]
    ch_names = [L.SEED_CHANNELS[i] for i in keep]
    signals, ratings, session_ids, trial_ids = [], [], [], []
    for session, arrays in sessions:
        for number, array in enumerate(arrays, start=1):
            signals.append(array[keep] * 1e-6)
            ratings.append(labels[session][number - 1])
            session_ids.append(session)
            trial_ids.append(number)
    n = len(signals)
    return EEGTrials(
        signals=signals,
        sfreq=sfreq,
        ch_names=ch_names,
        ratings=np.asarray(ratings, dtype=float)[:, None],
        rating_names=("emotion",),
        scales={"emotion": get_scale(dataset)},
        subject=np.array([source.subject] * n),
        session=np.asarray(session_ids, dtype=int),
        trial=np.asarray(trial_ids, dtype=int),
        dataset=dataset,
    )


def read_labels(path: Path) -> np.ndarray:
    """``label.mat["label"][0]``, checked to be 15 codes in {-1, 0, 1}."""
    mat = loadmat(path, "SEED's label.mat (variable 'label', shape (1, 15))")
    if "label" not in mat:
        raise FileFormatError(
            path, f"has no 'label' variable (found {[k for k in mat if not k.startswith('__')]})."
        )
    labels = np.asarray(mat["label"]).ravel()
    if labels.size != len(L.SEED_LABELS) or not np.isin(labels, (-1, 0, 1)).all():
        raise FileFormatError(
            path, f"'label' is {labels.tolist()}; expected 15 codes in {{-1, 0, 1}}."
        )
    return labels.astype(int)


def read_subject(source: SubjectSource, drop_cerebellar: bool = False) -> EEGTrials:
    """Read the three sessions of one SEED subject (volts, 200 Hz)."""
    label_file, *files = source.files
    labels = read_labels(label_file)
    sessions = [
        (i, read_trials_mat(p, "SEED", labels.size, complete=True)) for i, p in enumerate(files, start=1)
    ]
    return seed_trials(
        source, {i: labels for i, _ in sessions}, sessions, L.SEED_SFREQ, "seed", drop_cerebellar
    )


SPEC = DatasetSpec(
    name="seed", title="SEED", find_subjects=find_subjects, read_subject=read_subject,
    rating_names=("emotion",), target="emotion", task="classes", protocol="seed-9-6",
    options=("drop_cerebellar",), trials_per_session=len(L.SEED_LABELS),
)


def read_seed(
    path, subjects=None, *, drop_cerebellar: bool = False, progress: bool = False
) -> EEGTrials:
    """Read SEED's ``Preprocessed_EEG`` folder.

    Parameters
    ----------
    path : path-like
        The ``Preprocessed_EEG`` folder (or its parent).
    subjects : int, str or list, optional
        Subject numbers (``1`` ... ``15``); all by default.
    drop_cerebellar : bool
        Drop CB1 and CB2 (not in the 10-05 system; when kept they are placed at I1/I2).
    progress : bool
        Show a progress bar over subjects.

    Returns
    -------
    trials : EEGTrials
        62 (or 60) channels in volts at 200 Hz; rating ``"emotion"`` (-1 negative, 0 neutral,
        1 positive); sessions 1-3 by recording date; trials 1-15 in presentation order.
    """
    from . import list_subjects, read_sources

    return read_sources(
        list_subjects("seed", path, subjects, drop_cerebellar=drop_cerebellar), progress=progress
    )
