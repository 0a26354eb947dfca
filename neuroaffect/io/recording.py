"""Any recording MNE reads (EDF, BDF, BrainVision, FIF, EEGLAB, ...) plus a table of trial ratings.

The ratings table (a ``pandas.DataFrame`` or a CSV / TSV file; ``.tsv`` and ``.txt`` are read as
tab-separated, anything else as comma-separated) has one row per trial and these columns:

``onset``, ``duration``
    Trial start and length in seconds, counted from the first sample of the recording. Or:
``event``
    The description of an annotation in the file that marks the trial start (e.g. ``"video3"``,
    ``"Stimulus/S  1"``). The k-th row naming an event takes the k-th annotation with that
    description in time order. ``duration`` may then be omitted (or left empty in some rows): the
    annotation's own duration is used, and must be positive.
``trial`` (optional)
    Trial ids; default 1, 2, ... in table order.
label columns
    ``rating_names`` if given, else every other column. Numeric columns are ratings, validated
    against their declared scale (``scales``) or, without one, on an inferred scale (logged as a
    warning); string columns (conditions such as ``"rest"`` / ``"task"``) are categorical labels,
    usable as ``target=`` with ``task="classes"``. Missing entries (empty, NaN, ``"n/a"``) stay
    missing and are never made a class (see :func:`neuroaffect.trials.table_labels`).

Only channels of type EEG are kept, and among them only electrodes: formats without channel types
(EDF) type every channel EEG, so ECG, EOG, status and bipolar channels are left out with one logged
line (:func:`neuroaffect.channels.pick_eeg_channels`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .._trial_io import _scale_mapping, table_labels
from .._validation import FileFormatError, check_file, check_positive
from ..affect.scales import RatingScale
from ..trials import EEGTrials

RESERVED_COLUMNS = (
    "onset",
    "duration",
    "event",
    "trial_type",
    "trial",
    "sample",
    "value",
    "subject",
    "session",
    # BIDS events.tsv columns that describe the event, not a label of the trial
    "response_time",
    "stim_file",
    "HED",
)


def read_ratings_table(ratings):
    """The ratings table as a DataFrame (from a DataFrame or a CSV / TSV path)."""
    import pandas as pd

    if isinstance(ratings, pd.DataFrame):
        return ratings.reset_index(drop=True)
    path = check_file(ratings, "ratings table")
    sep = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
    try:
        return pd.read_csv(path, sep=sep, na_values=["n/a"])
    except Exception as err:
        raise FileFormatError(
            path, f"cannot be read as a {'TSV' if sep == chr(9) else 'CSV'} ratings table ({err})."
        ) from err


def _rating_columns(table, rating_names, where) -> list[str]:
    if rating_names is None:
        names = [c for c in table.columns if c not in RESERVED_COLUMNS]
    else:
        names = list(rating_names)
        absent = [c for c in names if c not in table.columns]
        if absent:
            raise ValueError(
                f"Ratings table of {where} lacks column(s) {absent}; it has {list(table.columns)}."
            )
    if not names:
        raise ValueError(
            f"Ratings table of {where} has no rating column (columns: {list(table.columns)})."
        )
    return names


def _annotation_spans(raw, table, where):
    """Onsets (s from the first sample) and durations of the annotations named in ``table.event``.

    Onsets are converted as :func:`mne.events_from_annotations` does: with ``orig_time`` set they
    count from ``orig_time``, and ``time_as_index(..., origin=orig_time)`` gives the index into the
    data directly; with ``orig_time=None`` (e.g. a FIF file without ``meas_date``) they count from
    sample 0 of the acquisition, so the index is shifted by ``raw.first_samp``.
    """
    ann = raw.annotations
    index = raw.time_as_index(ann.onset, use_rounding=True, origin=ann.orig_time)
    if ann.orig_time is None:
        index = index - raw.first_samp
    starts = index / raw.info["sfreq"]
    order = np.argsort(starts, kind="stable")
    used: dict[str, int] = {}
    onsets, durations = [], []
    for row, event in enumerate(table["event"].astype(str)):
        matches = [i for i in order if ann.description[i] == event]
        k = used.get(event, 0)
        if k >= len(matches):
            available = sorted(set(ann.description))
            raise ValueError(
                f"Ratings table row {row} names event {event!r} (occurrence {k + 1}), but {where} has "
                f"{len(matches)} such annotation(s). Annotations in the file: {available}."
            )
        used[event] = k + 1
        onsets.append(starts[matches[k]])
        durations.append(ann.duration[matches[k]])
    if "duration" in table:
        given = table["duration"].to_numpy(dtype=float)
        durations = np.where(np.isnan(given), durations, given)
    durations = np.asarray(durations, dtype=float)
    if (durations <= 0).any():
        rows = np.flatnonzero(durations <= 0).tolist()
        raise ValueError(
            f"Trials at table rows {rows} of {where} have no duration: give a 'duration' column."
        )
    return np.asarray(onsets, dtype=float), durations


def trials_from_raw(
    raw,
    table,
    *,
    where,
    scales,
    rating_names=None,
    subject="1",
    session=1,
    baseline=0.0,
    dataset=None,
) -> EEGTrials:
    """Cut the trials described by ``table`` (see module docstring) out of ``raw``."""
    names = _rating_columns(table, rating_names, where)
    if "onset" in table:
        if "duration" not in table:
            raise ValueError(f"Ratings table of {where} has 'onset' but no 'duration' column.")
        onsets, durations = table["onset"].to_numpy(float), table["duration"].to_numpy(float)
    elif "event" in table:
        onsets, durations = _annotation_spans(raw, table, where)
    else:
        raise ValueError(
            f"Ratings table of {where} needs 'onset' and 'duration' columns (s) or an 'event' column "
            f"naming annotations; it has {list(table.columns)}."
        )
    types = raw.get_channel_types()
    if "eeg" not in types:
        raise ValueError(f"{where} has no EEG channel (channel types: {sorted(set(types))}).")
    n = len(table)
    trial = table["trial"].to_numpy() if "trial" in table else np.arange(1, n + 1)
    ratings, names, label_scales = table_labels(
        table.reset_index(drop=True), names, _scale_mapping(scales, names),
        where=f"the ratings table of {where}",
    )
    return EEGTrials.from_raw(
        raw,
        onsets,
        durations,
        ratings,
        baseline_duration=baseline,
        rating_names=names,
        scales=label_scales,
        subject=[str(subject)] * n,
        session=[session] * n,
        trial=trial,
        dataset=dataset or Path(str(where)).name,
    )


def read_recording(
    path,
    ratings,
    *,
    scales: RatingScale | str | Mapping | None = None,
    rating_names=None,
    subject: str = "1",
    session=1,
    baseline: float = 0.0,
    rename: Mapping[str, str] | None = None,
    sfreq: float | None = None,
    dataset: str | None = None,
) -> EEGTrials:
    """Read a recording in any format ``mne.io.read_raw`` reads, cut into rated trials.

    Parameters
    ----------
    path : path-like
        EDF, BDF, BrainVision ``.vhdr``, FIF, EEGLAB ``.set``, ...
    ratings : DataFrame or path-like
        The trial table described in the module docstring: ratings and / or conditions.
    scales : RatingScale, str or mapping, optional
        Declared scale of the label columns: one for all, a dataset name (``"deap"`` -> 1-9), or a
        mapping column -> scale (columns left out are inferred). Declare a condition column whose
        table names only some of the study's conditions (one recording per condition):
        ``{"condition": RatingScale("condition", 0, 1, "categorical", ("rest", "task"))}``.
    rating_names : sequence of str, optional
        Which columns are labels (default: all non-reserved columns).
    subject, session : ids given to every trial.
    baseline : float
        Seconds before each trial onset kept as its baseline (0: none).
    rename : mapping, optional
        New names for channels of the file (e.g. ``{"EEG 1": "Fp1"}``) before normalisation.
    sfreq : float, optional
        Expected sampling rate in Hz; a file with another rate raises ``ValueError``.
    dataset : str, optional
        Label of the trials (default: the file name).

    Returns
    -------
    trials : EEGTrials
        EEG channels in volts.
    """
    import mne

    path = check_file(path, "recording")
    try:
        raw = mne.io.read_raw(path, preload=False, verbose="error")
    except Exception as err:
        raise FileFormatError(
            path, f"cannot be read by mne.io.read_raw ({type(err).__name__}: {err})."
        ) from err
    if rename:
        raw.rename_channels(dict(rename))
    if sfreq is not None:
        check_positive("sfreq", sfreq)
        if not np.isclose(raw.info["sfreq"], sfreq):
            raise ValueError(
                f"{path} is sampled at {raw.info['sfreq']:g} Hz, but sfreq={sfreq:g} Hz was expected."
            )
    table = read_ratings_table(ratings)
    try:
        return trials_from_raw(
            raw,
            table,
            where=path,
            scales=scales,
            rating_names=rating_names,
            subject=subject,
            session=session,
            baseline=baseline,
            dataset=dataset,
        )
    except ValueError as err:
        if str(path) in str(err):
            raise
        raise ValueError(f"{path}: {err}") from err
