"""BIDS EEG datasets through mne-bids.

Trials come from the recording's ``*_events.tsv`` (``onset`` and ``duration`` in seconds from the
first sample, ``trial_type``). Ratings come either from extra columns of ``events.tsv`` itself
(BIDS allows additional columns, described in ``events.json``) or from a table keyed by
``trial_type`` (one row per trial type, e.g. per video).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .._validation import FileFormatError
from ..affect.scales import RatingScale
from ..trials import EEGTrials
from .recording import RESERVED_COLUMNS, read_ratings_table, trials_from_raw


def read_bids(
    bids_root,
    subject: str,
    task: str,
    *,
    scales: RatingScale | str | Mapping,
    ratings=None,
    rating_names=None,
    trial_types=None,
    session: str | None = None,
    run: str | None = None,
    baseline: float = 0.0,
    datatype: str = "eeg",
) -> EEGTrials:
    """Read one BIDS recording as rated trials.

    Parameters
    ----------
    bids_root : path-like
        Root of the BIDS dataset.
    subject, task : str
        BIDS entities (without ``sub-`` / ``task-``); also ``session`` and ``run``.
    scales : RatingScale, str or mapping
        Declared scale of the ratings (as in :func:`read_recording`).
    ratings : DataFrame or path-like, optional
        A table with a ``trial_type`` column (one row per trial type) and rating columns. Default:
        ratings are columns of ``events.tsv``.
    rating_names : sequence of str, optional
        Rating columns (default: every column that is not a BIDS / reserved one).
    trial_types : sequence of str, optional
        Keep only events of these types (default: every event that has ratings).
    baseline : float
        Seconds before each onset kept as the trial's baseline.

    Returns
    -------
    trials : EEGTrials
        Trials in time order, ids 1..n.
    """
    import mne_bids
    import pandas as pd

    root = Path(bids_root)
    if not root.is_dir():
        raise FileNotFoundError(f"BIDS root not found: {root}")
    bids_path = mne_bids.BIDSPath(
        subject=subject, session=session, task=task, run=run, root=root, datatype=datatype
    )
    events_path = bids_path.copy().update(suffix="events", extension=".tsv")
    if not Path(events_path.fpath).is_file():
        raise FileNotFoundError(
            f"No events file {events_path.fpath} for sub-{subject} task-{task} in {root}."
        )
    try:
        raw = mne_bids.read_raw_bids(bids_path, verbose="error")
    except FileNotFoundError:
        raise
    except Exception as err:
        raise FileFormatError(
            events_path.fpath,
            f"the recording cannot be read by mne-bids ({type(err).__name__}: {err}).",
        ) from err
    events = pd.read_csv(events_path.fpath, sep="\t", na_values=["n/a"])
    for column in ("onset", "duration", "trial_type"):
        if column not in events:
            raise FileFormatError(
                events_path.fpath, f"has no {column!r} column (columns: {list(events.columns)})."
            )
    if trial_types is not None:
        events = events[events["trial_type"].isin(list(trial_types))]
    if ratings is not None:
        table = read_ratings_table(ratings)
        key = "trial_type" if "trial_type" in table else "event"
        if key not in table:
            raise ValueError(
                f"The ratings table for {root} needs a 'trial_type' column; it has {list(table.columns)}."
            )
        names = (
            list(rating_names)
            if rating_names is not None
            else [c for c in table.columns if c not in RESERVED_COLUMNS]
        )
        table = table.rename(columns={key: "trial_type"})[["trial_type", *names]]
        events = events.drop(columns=[c for c in names if c in events]).merge(
            table, on="trial_type", how="inner"
        )
    else:
        names = (
            list(rating_names)
            if rating_names is not None
            else [c for c in events.columns if c not in RESERVED_COLUMNS]
        )
        if not names:
            raise ValueError(
                f"{events_path.fpath} has no rating column; pass ratings=... keyed by trial_type."
            )
        events = events.dropna(subset=names)
    if events.empty:
        raise ValueError(f"No rated events in {events_path.fpath} (trial types: {trial_types}).")
    events = events.sort_values("onset", kind="stable").reset_index(drop=True)
    table = events[["onset", "duration", *names]]
    return trials_from_raw(
        raw,
        table,
        where=Path(events_path.fpath),
        scales=scales,
        rating_names=names,
        subject=subject,
        session=session if session is not None else 1,
        baseline=baseline,
        dataset=f"bids:{task}",
    )
