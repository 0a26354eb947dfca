"""DEAP ``data_preprocessed_python`` reader.

Each ``sNN.dat`` is a Python 2 pickle of ``{"data": (40 trials, 40 channels, 8064), "labels": (40, 4)}``
in µV at 128 Hz; channels 1-32 are EEG (Geneva order), 33-40 peripheral (dropped here). The first
3 s (384 samples) of each trial are the pre-trial baseline and become ``EEGTrials.baselines``; the
rest (60 s) is the trial. Ratings: valence, arousal, dominance, liking on the continuous 1-9 scale.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .._validation import FileFormatError
from ..affect.scales import get_scale
from ..trials import EEGTrials
from . import layouts as L
from ._common import (
    DatasetSpec,
    SubjectSource,
    check_samples,
    find_root,
    load_pickle,
    numeric_order,
)


def find_subjects(path) -> dict[str, tuple[Path, ...]]:
    """Subject id -> (file,), from a ``data_preprocessed_python`` folder (or its parent, or one file)."""
    root = find_root(path, "data_preprocessed_python", "DEAP")
    if root.is_file():
        files = [root]
    else:
        files = [p for p in root.iterdir() if re.fullmatch(r"s\d+\.dat", p.name)]
    found = {str(int(p.stem[1:])): (p,) for p in files if re.fullmatch(r"s\d+", p.stem)}
    if root.is_file() and not found:
        raise FileFormatError(root, "is not named like a DEAP subject file (s01.dat ... s32.dat).")
    return {k: found[k] for k in numeric_order(found)}


def read_subject(source: SubjectSource) -> EEGTrials:
    """Read one DEAP subject file into :class:`EEGTrials` (volts, 60 s trials, 3 s baselines)."""
    (path,) = source.files
    content = load_pickle(path, "a DEAP subject file (dict with 'data' and 'labels')")
    if not isinstance(content, dict) or not {"data", "labels"} <= set(content):
        keys = sorted(content) if isinstance(content, dict) else type(content).__name__
        raise FileFormatError(path, f"expected a dict with keys 'data' and 'labels', found {keys}.")
    data, labels = np.asarray(content["data"]), np.asarray(content["labels"])
    if (
        data.ndim != 3
        or data.shape[1] != L.DEAP_N_CHANNELS
        or data.shape[2] <= L.DEAP_BASELINE_SAMPLES
    ):
        raise FileFormatError(
            path,
            f"'data' has shape {data.shape}; expected (n_trials, {L.DEAP_N_CHANNELS} channels, "
            f"n_times > {L.DEAP_BASELINE_SAMPLES}) (40, 40, 8064 in the real files).",
        )
    if labels.shape != (data.shape[0], len(L.DEAP_RATINGS)):
        raise FileFormatError(
            path,
            f"'labels' has shape {labels.shape}; expected ({data.shape[0]}, 4) "
            "(valence, arousal, dominance, liking per trial).",
        )
    n_eeg = len(L.DEAP_EEG_CHANNELS)
    for i in range(data.shape[0]):
        check_samples(data[i, :n_eeg], path, f"trial {i + 1} (EEG channels)")
    check_samples(labels, path, "'labels'")
    eeg = data[:, :n_eeg] * 1e-6  # µV -> V
    n = data.shape[0]
    scale = get_scale("deap")
    try:
        return EEGTrials(
            signals=list(eeg[:, :, L.DEAP_BASELINE_SAMPLES :]),
            sfreq=L.DEAP_SFREQ,
            ch_names=L.DEAP_EEG_CHANNELS,
            ratings=labels.astype(float),
            rating_names=L.DEAP_RATINGS,
            scales={name: scale for name in L.DEAP_RATINGS},
            subject=np.array([source.subject] * n),
            session=np.ones(n, dtype=int),
            trial=np.arange(1, n + 1),
            baselines=list(eeg[:, :, : L.DEAP_BASELINE_SAMPLES]),
            dataset="deap",
        )
    except ValueError as err:
        raise FileFormatError(path, str(err)) from err


SPEC = DatasetSpec(
    name="deap", title="DEAP", find_subjects=find_subjects, read_subject=read_subject,
    rating_names=L.DEAP_RATINGS, target="valence", task="binary", protocol="within-subject-kfold",
)


def read_deap(path, subjects=None, *, progress: bool = False) -> EEGTrials:
    """Read DEAP's preprocessed Python files.

    Parameters
    ----------
    path : path-like
        The ``data_preprocessed_python`` folder (or its parent, or a single ``sNN.dat``).
    subjects : int, str or list, optional
        Subject ids (``1``, ``"1"``, ``"s01"``); all by default.
    progress : bool
        Show a progress bar over subjects.

    Returns
    -------
    trials : EEGTrials
        32 EEG channels in volts at 128 Hz; trials are the last 60 s, ``baselines`` the first 3 s;
        ratings valence / arousal / dominance / liking (1-9); subject ids ``"1"`` ... ``"32"``,
        session 1, trials 1-40 in video order.
    """
    from . import list_subjects, read_sources

    return read_sources(list_subjects("deap", path, subjects), progress=progress)
