"""BIDS EEG datasets through mne-bids.

Trials come from each recording's ``*_events.tsv`` (``onset`` and ``duration`` in seconds from the
first sample, ``trial_type``). Labels come either from extra columns of ``events.tsv`` itself
(BIDS allows additional columns, described in ``events.json``) or from a table keyed by
``trial_type`` (one row per trial type, e.g. per video). A label column is a rating when it holds
numbers and a categorical label (a condition) when it holds names; missing entries (``n/a``) stay
missing and are never made a class (see :func:`neuroaffect.trials.table_labels`).

Which events are trials: those of ``trial_types`` when given; otherwise every event that has a
value in at least one label column (events without any label, such as button presses or
``boundary`` markers, are left out with one logged line). Pass ``trial_types`` when some trials may
lack every label: they are then kept, with their labels missing.

:func:`read_bids` reads one recording; :func:`bids_sources` lists a whole dataset subject by
subject (lazy, like :func:`neuroaffect.io.list_subjects`), with label scales decided once over every
``events.tsv`` so that all subjects share them; ``neuroaffect run bids`` runs on it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .._trial_io import _scale_mapping, table_labels
from .._validation import FileFormatError
from ..affect.scales import RatingScale
from ..trials import EEGTrials
from .recording import RESERVED_COLUMNS, read_ratings_table, trials_from_raw

logger = logging.getLogger("neuroaffect")

_IGNORED_FOLDERS = ("derivatives", "sourcedata", "code")


def _events_table(path: Path):
    """A recording's ``events.tsv`` as a DataFrame (``n/a`` read as missing), columns checked."""
    import pandas as pd

    try:
        events = pd.read_csv(path, sep="\t", na_values=["n/a"])
    except Exception as err:
        raise FileFormatError(path, f"cannot be read as a BIDS events.tsv ({type(err).__name__}: {err}).") from err
    for column in ("onset", "duration", "trial_type"):
        if column not in events:
            raise FileFormatError(path, f"has no {column!r} column (columns: {list(events.columns)}).")
    return events


def _label_columns(events, rating_names) -> list[str]:
    if rating_names is not None:
        return list(rating_names)
    return [c for c in events.columns if c not in RESERVED_COLUMNS]


def _select_events(events, names, trial_types, where):
    """The trials among ``events`` (see the module docstring), in time order; absent label columns
    (a column other recordings have) are added as missing."""
    from .._validation import missing_labels

    events = events.copy()
    for name in names:
        if name not in events:
            events[name] = np.nan
    if trial_types is not None:
        events = events[events["trial_type"].astype(str).isin([str(t) for t in trial_types])]
    elif names:
        labelled = np.zeros(len(events), dtype=bool)
        for name in names:
            labelled |= ~missing_labels(events[name].to_numpy(dtype=object))
        if not labelled.all():
            left = events.loc[~labelled, "trial_type"].astype(str).value_counts()
            logger.info("%s: left out %d event(s) without any label (%s), as not trials; pass "
                        "trial_types=... to choose the trials yourself", where, int((~labelled).sum()),
                        ", ".join(f"{k} x{v}" for k, v in left.items()))
        events = events[labelled]
    return events.sort_values("onset", kind="stable").reset_index(drop=True)


def _merge_ratings(events, ratings, rating_names, root):
    """``events`` with the label columns of a table keyed by ``trial_type``; the label names."""
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
    merged = events.drop(columns=[c for c in names if c in events]).merge(table, on="trial_type", how="inner")
    return merged, names


def _read_raw(bids_path, events_path: Path):
    import mne_bids

    try:
        return mne_bids.read_raw_bids(bids_path, verbose="error")
    except FileNotFoundError:
        raise
    except Exception as err:
        raise FileFormatError(
            events_path, f"the recording cannot be read by mne-bids ({type(err).__name__}: {err})."
        ) from err


def read_bids(
    bids_root,
    subject: str,
    task: str,
    *,
    scales: RatingScale | str | Mapping | None = None,
    ratings=None,
    rating_names=None,
    trial_types=None,
    session: str | None = None,
    run: str | None = None,
    baseline: float = 0.0,
    datatype: str = "eeg",
) -> EEGTrials:
    """Read one BIDS recording as labelled trials.

    Parameters
    ----------
    bids_root : path-like
        Root of the BIDS dataset.
    subject, task : str
        BIDS entities (without ``sub-`` / ``task-``); also ``session`` and ``run``.
    scales : RatingScale, str or mapping, optional
        Declared scale of the label columns (as in :func:`read_recording`); columns without one are
        inferred (numbers: a logged warning; names: categories in sorted order).
    ratings : DataFrame or path-like, optional
        A table with a ``trial_type`` column (one row per trial type) and label columns. Default:
        the labels are columns of ``events.tsv``.
    rating_names : sequence of str, optional
        Label columns (default: every column that is not a BIDS / reserved one).
    trial_types : sequence of str, optional
        Keep only events of these types (default: every event with at least one label).
    baseline : float
        Seconds before each onset kept as the trial's baseline.
    datatype : str
        The BIDS datatype folder (``"eeg"``).

    Returns
    -------
    trials : EEGTrials
        Trials in time order, ids 1..n, EEG electrodes in volts.

    See Also
    --------
    bids_sources : a whole BIDS dataset, subject by subject.
    """
    import mne_bids

    root = Path(bids_root)
    if not root.is_dir():
        raise FileNotFoundError(f"BIDS root not found: {root}")
    bids_path = mne_bids.BIDSPath(
        subject=subject, session=session, task=task, run=run, root=root, datatype=datatype
    )
    events_path = Path(bids_path.copy().update(suffix="events", extension=".tsv").fpath)
    if not events_path.is_file():
        raise FileNotFoundError(f"No events file {events_path} for sub-{subject} task-{task} in {root}.")
    raw = _read_raw(bids_path, events_path)
    events = _events_table(events_path)
    if trial_types is not None:
        events = events[events["trial_type"].astype(str).isin([str(t) for t in trial_types])]
    if ratings is not None:
        events, names = _merge_ratings(events, ratings, rating_names, root)
    else:
        names = _label_columns(events, rating_names)
        if not names:
            raise ValueError(f"{events_path} has no rating column; pass ratings=... keyed by trial_type.")
    events = _select_events(events, names, trial_types, events_path)
    if events.empty:
        raise ValueError(f"No rated events in {events_path} (trial types: {trial_types}).")
    return trials_from_raw(
        raw,
        events[["onset", "duration", *names]],
        where=events_path,
        scales=scales,
        rating_names=names,
        subject=subject,
        session=session if session is not None else 1,
        baseline=baseline,
        dataset=f"bids:{task}",
    )


@dataclass(frozen=True)
class BIDSSubject:
    """One subject of a BIDS dataset: its files, and a lazy ``load()`` of all its recordings.

    Returned by :func:`bids_sources`; works wherever a :class:`SubjectSource` does
    (:func:`neuroaffect.features.tokens_for_dataset` caches it by its files and options).

    Parameters
    ----------
    subject : str
        The BIDS subject label (without ``sub-``).
    files : tuple of Path
        Every file of the subject's recordings (data, sidecars, events).
    dataset : str
        ``"bids:<root folder name>"``.
    options : tuple of (str, object)
        What ``load()`` reads: the recordings (events file, session, task, run), label columns
        and their scales, ``trial_types``, ``baseline``.
    """

    subject: str
    files: tuple[Path, ...]
    dataset: str
    options: tuple[tuple[str, object], ...] = ()

    def load(self) -> EEGTrials:
        """The subject's trials: every recording in (session, task, run) order, trials in time
        order; trial ids 1..n within each session, continuing across its runs and tasks."""
        import mne_bids

        o = dict(self.options)
        names, scales = list(o["rating_names"]), dict(o["scales"])
        parts = []
        for events_file, session, task, run, acquisition in o["recordings"]:
            events_path = Path(events_file)
            bids_path = mne_bids.BIDSPath(
                subject=self.subject, session=session, task=task, run=run, acquisition=acquisition,
                root=o["root"], datatype=o["datatype"],
            )
            events = _select_events(_events_table(events_path), names, o["trial_types"], events_path)
            if events.empty:
                continue
            parts.append(trials_from_raw(
                _read_raw(bids_path, events_path), events[["onset", "duration", *names]],
                where=events_path, scales=scales, rating_names=names, subject=self.subject,
                session=session if session is not None else 1, baseline=o["baseline"],
                dataset=self.dataset,
            ))
        if not parts:
            raise ValueError(f"sub-{self.subject} of {o['root']} has no labelled event in any recording "
                             f"(label columns {names}, trial_types {o['trial_types']}).")
        trials = EEGTrials.concatenate(parts)
        numbers = np.zeros(trials.n_trials, dtype=int)
        for session in dict.fromkeys(trials.session.tolist()):
            in_session = trials.session == session
            numbers[in_session] = np.arange(1, int(in_session.sum()) + 1)
        return replace(trials, trial=numbers)


def bids_sources(
    bids_root,
    *,
    subjects=None,
    task: str | None = None,
    rating_names=None,
    scales: RatingScale | str | Mapping | None = None,
    trial_types=None,
    baseline: float = 0.0,
    datatype: str = "eeg",
) -> list[BIDSSubject]:
    """The subjects of a BIDS EEG dataset, each with its files and a lazy ``load()``.

    Every ``events.tsv`` (of ``task``, of every subject) is read first (small files), so the label
    columns and their scales are decided once for the whole dataset: a condition named only in
    some subjects' files is a category for all, every subject's trials share one scale per label
    (as cross-validation across subjects needs) and a selection of ``subjects`` keeps the codes.

    Parameters
    ----------
    bids_root : path-like
        Root of the BIDS dataset (``derivatives``, ``sourcedata`` and ``code`` are ignored).
    subjects : str or list of str, optional
        Subject labels (``"01"`` or ``"sub-01"``); default all.
    task : str, optional
        Only recordings of this BIDS task (default: every task).
    rating_names : sequence of str, optional
        Label columns of ``events.tsv`` (default: every non-BIDS column of any events file).
    scales : RatingScale, str or mapping, optional
        Declared scales (as in :func:`read_bids`); the others are inferred over all files.
    trial_types : sequence of str, optional
        Which events are trials (default: those with at least one label).
    baseline : float
        Seconds before each onset kept as the trial's baseline.
    datatype : str
        The BIDS datatype folder.

    Returns
    -------
    sources : list of BIDSSubject
        In subject-label order.

    Raises
    ------
    FileNotFoundError
        If ``bids_root`` is not a folder or holds no events file (for ``task``).
    ValueError
        If a requested subject is not in the dataset, no events file has a label column, or a
        label column cannot be read (see :func:`neuroaffect.trials.table_labels`).
    """
    import mne_bids
    import pandas as pd

    root = Path(bids_root)
    if not root.is_dir():
        raise FileNotFoundError(f"BIDS root not found: {root} is not a folder.")
    wanted = None
    if subjects is not None:
        wanted = [str(s).removeprefix("sub-") for s in ([subjects] if isinstance(subjects, str | int) else subjects)]
    paths = [
        p for p in mne_bids.find_matching_paths(root, tasks=task, datatypes=datatype, suffixes="events",
                                                extensions=".tsv")
        if not set(Path(p.fpath).relative_to(root).parts) & set(_IGNORED_FOLDERS)
    ]
    where = f"the events.tsv files of {root}" + (f" (task {task})" if task else "")
    if not paths:
        raise FileNotFoundError(f"No {datatype} events.tsv file in {root}" + (f" for task {task!r}" if task else "")
                                + " (expected sub-*/[ses-*/]" + f"{datatype}/*_events.tsv).")
    available = sorted({p.subject for p in paths})
    if wanted is not None:
        unknown = [s for s in wanted if s not in available]
        if unknown:
            raise ValueError(f"Unknown BIDS subject(s) {unknown} in {root}; available subjects: {available}.")
    # Label columns and scales come from every subject's events, so a subject selection never
    # changes the categories or their codes.
    tables = [(p, _events_table(Path(p.fpath))) for p in paths]  # a list: BIDSPath is unhashable in mne-bids 0.16
    if rating_names is None:
        names = list(dict.fromkeys(c for _, t in tables for c in _label_columns(t, None)))
    else:
        names = list(rating_names)
        absent = [n for n in names if not any(n in t for _, t in tables)]
        if absent:
            raise ValueError(f"No events.tsv of {root} has the label column(s) {absent}; columns found: "
                             f"{sorted({c for _, t in tables for c in t.columns})}.")
    if not names:
        raise ValueError(f"No events.tsv of {root} has a label column (a column beyond the BIDS ones "
                         f"{list(RESERVED_COLUMNS)}); add one, e.g. 'condition' or 'valence'.")
    selected = [_select_events(t, names, trial_types, Path(p.fpath)) for p, t in tables]
    _, names, label_scales = table_labels(
        pd.concat([s[names] for s in selected], ignore_index=True), names, _scale_mapping(scales, names),
        where=where,
    )
    label_scales = tuple((n, label_scales[n]) for n in names)
    sources = []
    for subject in (wanted if wanted is not None else available):
        mine = sorted((p for p in paths if p.subject == subject),
                      key=lambda p: (str(p.session), str(p.task), str(p.run), str(p.acquisition)))
        recordings = tuple((str(p.fpath), p.session, p.task, p.run, p.acquisition) for p in mine)
        files = tuple(sorted(
            f for p in mine for f in Path(p.fpath).parent.iterdir()
            if f.is_file() and f.name.startswith(p.copy().update(suffix=None, extension=None).basename + "_")
        ))
        options = (
            ("baseline", float(baseline)), ("datatype", datatype), ("rating_names", tuple(names)),
            ("recordings", recordings), ("root", str(root.resolve())), ("scales", label_scales),
            ("trial_types", None if trial_types is None else tuple(str(t) for t in trial_types)),
        )
        sources.append(BIDSSubject(subject, files, f"bids:{root.resolve().name}", options))
    return sources


def read_bids_dataset(bids_root, **kwargs) -> EEGTrials:
    """Every subject of a BIDS dataset as one :class:`EEGTrials` (keywords of :func:`bids_sources`)."""
    return EEGTrials.concatenate([s.load() for s in bids_sources(bids_root, **kwargs)])
