"""PhysioNet "EEG During Mental Arithmetic Tasks" (EEGMAT 1.0.0; Zyma et al. 2019) reader.

Per subject two EDF recordings, 500 Hz, linked-ear reference, ICA-cleaned: ``SubjectNN_1.edf``,
background EEG before the task (rest, usually 182 s), and ``SubjectNN_2.edf``, EEG during serial
subtraction (62 s). Each file has 21 signals: 19 scalp channels (``"EEG Fp1"`` ... ``"EEG Pz"``, old
10-20 names T3-T6), the bipolar ear channel ``"EEG A2-A1"`` and ``"ECG ECG"``; the last two are left
out, and so is the constant padding at the end of every file (see :func:`trim_padding`). Each
recording becomes one trial (trial 1 rest, trial 2 arithmetic, session 1) with the
categorical rating ``condition`` (0 rest, 1 arithmetic) and, from ``subject-info.csv`` when the folder
has it, the subject's fields (the same value on both trials): ``count_quality`` (0 bad, 1 good
counter), ``n_subtractions`` (the "Number of subtractions" per 4 minutes), ``age`` (years) and
``gender`` (categorical F / M). The table's recording year is not a label and is not read.

Each condition is a single recording, so no within-subject split keeps a test recording out of
training: rest-vs-arithmetic is evaluated across subjects (leave-one-subject-out).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from .._validation import FileFormatError, check_file
from ..affect.scales import RatingScale
from ..channels import pick_eeg_channels
from ..trials import EEGTrials
from ._common import DatasetSpec, SubjectSource, check_samples, numeric_order

logger = logging.getLogger("neuroaffect")

#: The categorical rating of each recording.
CONDITION = RatingScale("EEGMAT condition", 0, 1, "categorical", ("rest", "arithmetic"))
#: subject-info.csv's "Count quality": 0 group B (bad counters), 1 group G (good counters).
COUNT_QUALITY = RatingScale("EEGMAT count quality", 0, 1, "categorical", ("bad", "good"))
#: subject-info.csv's columns read as ratings: column -> (rating name, scale). A value the scale
#: cannot hold (e.g. a gender other than F / M) is an error naming the file.
SUBJECT_FIELDS = {
    "Count quality": ("count_quality", COUNT_QUALITY),
    "Number of subtractions": ("n_subtractions", RatingScale("subtractions per 4 min", 0.0, 100.0)),
    "Age": ("age", RatingScale("age (years)", 0.0, 120.0)),
    "Gender": ("gender", RatingScale("EEGMAT gender", 0, 1, "categorical", ("F", "M"))),
}
N_SCALP_CHANNELS = 19
SFREQ = 500.0
_FILE = re.compile(r"Subject(\d+)_([12])\.edf", re.IGNORECASE)


def find_subjects(path) -> dict[str, tuple[Path, ...]]:
    """Subject id -> (rest file, arithmetic file), from the release folder."""
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"EEGMAT data not found: {root} is not a folder (expected SubjectNN_1.edf, SubjectNN_2.edf).")
    files: dict[str, dict[str, Path]] = {}
    for p in root.iterdir():
        match = _FILE.fullmatch(p.name)
        if match:
            files.setdefault(str(int(match[1])), {})[match[2]] = p
    incomplete = {s: sorted(f) for s, f in files.items() if set(f) != {"1", "2"}}
    if incomplete:
        s, have = next(iter(incomplete.items()))
        missing = "_2 (arithmetic)" if have == ["1"] else "_1 (rest)"
        raise FileFormatError(
            root / f"Subject{int(s):02d}_{'2' if have == ['1'] else '1'}.edf",
            f"is missing: subject {s} has only its _{have[0]} recording; EEGMAT needs both "
            f"(missing {missing}). Incomplete subjects: {sorted(incomplete, key=int)}.",
        )
    return {s: (files[s]["1"], files[s]["2"]) for s in numeric_order(files)}


def _subject_fields(folder: Path, subject: str) -> dict[str, float]:
    """The subject's :data:`SUBJECT_FIELDS` from subject-info.csv (NaN where a cell is empty), or {}
    when the folder has no table."""
    table_path = folder / "subject-info.csv"
    if not table_path.is_file():
        return {}
    import pandas as pd

    table = pd.read_csv(table_path)
    if not {"Subject", "Count quality"} <= set(table.columns):
        raise FileFormatError(table_path, f"expected columns 'Subject' and 'Count quality', found {list(table.columns)}.")
    rows = table[table["Subject"].astype(str).str.fullmatch(rf"Subject0*{subject}")]
    if len(rows) != 1:
        raise FileFormatError(table_path, f"has {len(rows)} rows for subject {subject}; expected one.")
    fields = {}
    for column, (name, scale) in SUBJECT_FIELDS.items():
        if column not in table.columns:
            continue
        value = rows[column].iloc[0]
        if scale.kind == "categorical" and isinstance(value, str):
            if value.strip() not in scale.categories:
                raise FileFormatError(table_path, f"column {column!r} of subject {subject} is {value!r}; expected one "
                                                  f"of {list(scale.categories)} or an empty cell.")
            value = scale.low + scale.categories.index(value.strip())
        fields[name] = float(value) if pd.notna(value) else np.nan
    return fields


def _read_edf(path: Path) -> tuple[np.ndarray, list[str]]:
    import mne

    check_file(path, "an EEGMAT EDF recording")
    try:
        raw = mne.io.read_raw_edf(path, preload=False, verbose="error")
    except Exception as err:
        raise FileFormatError(path, f"cannot be read as EDF ({type(err).__name__}: {err}).") from err
    if raw.info["sfreq"] != SFREQ:
        raise FileFormatError(path, f"is sampled at {raw.info['sfreq']:g} Hz; EEGMAT recordings are {SFREQ:g} Hz.")
    picks, names = pick_eeg_channels(raw.ch_names, source=str(path))
    if len(names) != N_SCALP_CHANNELS:
        raise FileFormatError(
            path, f"has {len(names)} scalp EEG channels ({names}); EEGMAT recordings have {N_SCALP_CHANNELS}."
        )
    data = raw.get_data(picks=picks)  # volts (EDF physical units, µV, converted by MNE)
    check_samples(data, path, "the recording")
    return trim_padding(data, path), names


def trim_padding(data: np.ndarray, path, min_run: int = 50) -> np.ndarray:
    """Drop the constant blocks that end a recording (EDF record padding).

    Every EEGMAT file ends in about 2 s made of two blocks, each constant on every channel (the
    recordings proper are 180 s and 60 s long; one is 168 s). Left in, the last windows are flat
    signals, which have no differential entropy. Blocks of at least ``min_run`` samples (0.1 s)
    constant on all channels are dropped from the end, one after the other.
    """
    still = np.all(np.diff(data, axis=1) == 0, axis=0)  # still[i]: sample i + 1 repeats sample i
    stop = data.shape[1]
    while stop > 1:
        start = stop - 1
        while start > 0 and still[start - 1]:
            start -= 1
        if stop - start < min_run:
            break
        stop = start
    if stop < data.shape[1]:
        logger.info("%s: dropped the last %d samples (%.2f s), constant on every channel (padding)",
                    path, data.shape[1] - stop, (data.shape[1] - stop) / SFREQ)
    return data[:, :stop]


def read_subject(source: SubjectSource) -> EEGTrials:
    """Read one EEGMAT subject: two trials (rest, arithmetic) in volts, 19 channels, 500 Hz."""
    rest_path, task_path = source.files
    (rest, names), (task, task_names) = _read_edf(rest_path), _read_edf(task_path)
    if task_names != names:
        raise FileFormatError(task_path, f"has channels {task_names}; {rest_path.name} has {names}.")
    fields = _subject_fields(rest_path.parent, source.subject)
    rating_names = ["condition", *fields]
    scales = {"condition": CONDITION, **{name: scale for name, scale in SUBJECT_FIELDS.values() if name in fields}}
    ratings = [[0.0, *fields.values()], [1.0, *fields.values()]]
    return EEGTrials.from_arrays(
        [rest, task], SFREQ, names, np.asarray(ratings),
        rating_names=rating_names, scales=scales,
        subject=[source.subject] * 2, session=[1, 1], trial=[1, 2], dataset="eegmat",
    )


SPEC = DatasetSpec(
    name="eegmat", title="EEGMAT", find_subjects=find_subjects, read_subject=read_subject,
    rating_names=("condition", *(name for name, _ in SUBJECT_FIELDS.values())),
    target="condition", task="classes", protocol="leave-one-subject-out",
    no_within_subject="each EEGMAT condition (rest, arithmetic) is a single recording per subject, so a "
                      "within-subject split cannot hold out a recording of each class",
)


def read_eegmat(path, subjects=None) -> EEGTrials:
    """Read EEGMAT subjects from the release folder (all, or the ids in ``subjects``).

    Parameters
    ----------
    path : path-like
        The folder with ``SubjectNN_1.edf``, ``SubjectNN_2.edf`` and, optionally, ``subject-info.csv``.
    subjects : int, str or list, optional
        Subject ids (``0``, ``"00"`` and ``"Subject00"`` name the same subject).

    Returns
    -------
    EEGTrials
        Two trials per subject: rest (trial 1) and arithmetic (trial 2), ratings ``condition`` and
        (with subject-info.csv) ``count_quality``.
    """
    from . import list_subjects, read_sources

    return read_sources(list_subjects("eegmat", path, subjects))
