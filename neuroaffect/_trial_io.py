"""How :class:`~neuroaffect.EEGTrials` are built from other containers, and given to MNE.

Trial ids and labels from the columns of a table (epochs metadata, a ratings or conditions table,
BIDS events): :func:`table_labels`, with :func:`infer_scale` for numeric columns without a declared
scale; trials from ``mne.Epochs`` and ``mne.io.Raw`` and back to ``mne.EpochsArray`` (the bodies of
:meth:`EEGTrials.from_epochs <neuroaffect.EEGTrials.from_epochs>`,
:meth:`~neuroaffect.EEGTrials.from_raw` and :meth:`~neuroaffect.EEGTrials.to_epochs`). The public
names are re-exported by :mod:`neuroaffect.trials`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict

import numpy as np

from ._validation import missing_labels
from .affect.scales import RatingScale
from .channels import make_montage

logger = logging.getLogger("neuroaffect")

#: Metadata / table columns read as trial ids, not as labels.
ID_COLUMNS = ("subject", "session", "trial")

#: Where :meth:`EEGTrials.to_epochs` keeps the declared scales and the dataset name
#: (``epochs.metadata.attrs[METADATA_ATTRS]``), for :meth:`EEGTrials.from_epochs` to read back.
METADATA_ATTRS = "neuroaffect"

#: Scales tried, in this order, for a numeric label column without a declared scale (see
#: :func:`infer_scale`): the first that holds every value is used.
COMMON_SCALES = ((0, 1), (1, 5), (1, 7), (1, 9), (0, 10), (0, 100))


# -- tables -> ids and labels ------------------------------------------------------------------
def _id_column(column, name: str, where: str) -> np.ndarray:
    """An id column of a table as an array (subject ids as str); missing ids are an error."""
    values = column.to_numpy(dtype=object)
    missing = missing_labels(values)
    if missing.any():
        rows = np.flatnonzero(missing)[:5].tolist()
        raise ValueError(
            f"The {name!r} column of {where} is missing at row(s) {rows}; expected an id for every "
            f"trial (or pass {name}=... explicitly)."
        )
    if name == "subject":
        return np.array([str(int(v)) if isinstance(v, float | np.floating) and float(v).is_integer() else str(v)
                         for v in values])
    return np.asarray(values.tolist())


def _scale_mapping(scales, names) -> dict[str, RatingScale]:
    """``scales`` (None, one scale or dataset name for all, or a mapping) as name -> RatingScale."""
    from .affect.scales import as_scale

    if scales is None:
        return {}
    if isinstance(scales, RatingScale | str):
        return dict.fromkeys(names, as_scale(scales))
    if not isinstance(scales, Mapping):
        raise TypeError(
            "Invalid value for the 'scales' parameter: expected a RatingScale, a dataset name or a "
            f"mapping of column name to RatingScale, got {type(scales).__name__}."
        )
    return {name: as_scale(scale) for name, scale in scales.items()}


def infer_scale(values, name: str) -> RatingScale:
    """The scale assumed for a numeric label column that has no declared one.

    The first of :data:`COMMON_SCALES` ((0, 1), (1, 5), (1, 7), (1, 9), (0, 10), (0, 100)) that
    holds every value, else the values' own range; ``"ordinal"`` when every value is an integer,
    else ``"continuous"``. An assumption: declare the scale when you know it (its midpoint is the
    threshold of ``task="binary"``).

    Parameters
    ----------
    values : ndarray of float, shape (n,)
        The column; NaN (missing) is ignored.
    name : str
        The column's name (the scale is named ``"<name> (inferred)"``).
    """
    values = np.asarray(values, dtype=float)
    present = values[~np.isnan(values)]
    if present.size == 0:
        raise ValueError(f"Label column {name!r} has no value (every entry is missing); cannot infer its scale.")
    low, high = float(present.min()), float(present.max())
    kind = "ordinal" if np.all(present == np.round(present)) else "continuous"
    for lo, hi in COMMON_SCALES:
        if lo <= low and high <= hi:
            return RatingScale(f"{name} (inferred)", lo, hi, kind)
    if high == low:
        high = low + 1
    return RatingScale(f"{name} (inferred)", low, high, kind)


def table_labels(table, columns, scales=None, *, where: str = "the table"):
    """Label columns of a table (epochs metadata, a ratings / conditions table, BIDS events).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per trial.
    columns : sequence of str
        The label columns.
    scales : mapping of str to RatingScale, optional
        Declared scales; columns without one are inferred: a numeric column (or one whose
        non-missing entries all read as numbers) gets :func:`infer_scale`'s scale, and all the
        inferred ones are named in one logged warning; any other column is a categorical label
        whose categories are the categorical dtype's categories (in their order) or the sorted
        distinct names, coded 0, 1, ... (logged at INFO level).
    where : str
        What to name in messages (a file, "the Epochs' metadata").

    Returns
    -------
    values : ndarray of float, shape (n_rows, n_columns)
        The ratings, categorical labels as codes on their scale; NaN where a label is missing
        (NaN, None, ``""``, ``"n/a"``): a missing label is never made a class.
    names : tuple of str
    scales : dict of str to RatingScale

    Raises
    ------
    ValueError
        If a column is absent, holds a name not among its declared scale's categories, holds text
        on a numeric scale, or is a string column with fewer than two categories and no declared
        scale (a categorical label needs at least two; declare its categories).
    """
    import pandas as pd

    names = tuple(str(c) for c in columns)
    absent = [c for c in names if c not in table.columns]
    if absent:
        raise ValueError(f"{where} has no column(s) {absent} (columns: {list(table.columns)}).")
    if not names:
        raise ValueError(f"{where} has no label column (columns: {list(table.columns)}).")
    scales = dict(scales or {})
    out = np.full((len(table), len(names)), np.nan)
    inferred, found = [], {}
    for j, name in enumerate(names):
        column = table[name]
        raw = column.to_numpy(dtype=object)
        missing = missing_labels(raw)
        numbers = _as_floats(raw, missing)
        declared = scales.get(name)
        categorical_dtype = isinstance(column.dtype, pd.CategoricalDtype)
        # Numbers are ratings (or codes, on a declared categorical scale); a pandas categorical of
        # numbers is read by its names unless the declared scale has none.
        use_numbers = numbers is not None and (
            not categorical_dtype or (declared is not None and not declared.categories))
        if use_numbers:
            out[:, j] = numbers
            if declared is None:
                declared = infer_scale(numbers, name)
                inferred.append(f"{name!r} -> {declared.kind} {declared.low:g}..{declared.high:g}")
            found[name] = declared
            continue
        present = [str(v).strip() if isinstance(v, str) else v for v in raw[~missing]]
        if declared is not None:
            if declared.kind != "categorical" or not declared.categories:
                shown = sorted({str(v) for v in present})[:5]
                raise ValueError(
                    f"Label column {name!r} of {where} holds names {shown}, but its declared scale "
                    f"{declared.name!r} is {declared.kind} without category names; expected numbers "
                    "on it, or declare a categorical RatingScale with categories=(...)."
                )
            categories = tuple(declared.categories)
        else:
            if categorical_dtype:
                categories = tuple(str(c) for c in column.cat.categories)
            else:
                categories = tuple(sorted({str(v) for v in present}))
            if not categories:
                raise ValueError(f"Label column {name!r} of {where} is missing in every row; expected "
                                 "at least one value: fill it in or leave it out (rating_names=...).")
            if len(categories) < 2:
                example = f"RatingScale({name!r}, 0, 1, 'categorical', ({categories[0]!r}, 'other'))"
                raise ValueError(
                    f"Label column {name!r} of {where} holds a single category {list(categories)}; a "
                    "categorical label needs at least two, so declare them all: pass "
                    f"scales={{{name!r}: {example}}} with the study's categories, or leave the column "
                    "out (rating_names=...)."
                )
            declared = RatingScale(f"{name} (categories)", 0, len(categories) - 1, "categorical", categories)
            logger.info("%s: label column %r is categorical with categories %s (codes 0..%d)",
                        where, name, list(categories), len(categories) - 1)
        code = {c: i for i, c in enumerate(categories)}
        unknown = sorted({str(v) for v in present if str(v) not in code})
        if unknown:
            raise ValueError(
                f"Label column {name!r} of {where} holds {unknown}, not categories of its scale "
                f"{declared.name!r}; expected one of {list(categories)} (or a missing value: NaN, '', 'n/a')."
            )
        codes = np.full(len(raw), np.nan)
        codes[~missing] = [declared.low + code[str(v)] for v in present]
        out[:, j] = codes
        found[name] = declared
    if inferred:
        logger.warning(
            "%s: no scale declared for label column(s) %s; inferred them from their values (pass "
            "scales={name: RatingScale(...)} to declare them: a scale's midpoint is the threshold "
            "of task='binary').", where, ", ".join(inferred),
        )
    return out, names, found


def _as_floats(raw: np.ndarray, missing: np.ndarray) -> np.ndarray | None:
    """The column as floats (NaN where missing) if every present entry is a number, else None."""
    out = np.full(len(raw), np.nan)
    for i in np.flatnonzero(~missing):
        value = raw[i]
        if isinstance(value, bool | np.bool_):
            out[i] = float(value)
            continue
        try:
            out[i] = float(value)
        except (TypeError, ValueError):
            return None
        if isinstance(value, str) and not np.isfinite(out[i]):
            return None
    return out


# -- MNE ---------------------------------------------------------------------------------------
def epochs_to_trials(cls, epochs, ratings=None, *, rating_names=None, scales=None, subject=None, session=None,
                       trial=None, baselines=None, dataset=None):
    """:meth:`EEGTrials.from_epochs <neuroaffect.EEGTrials.from_epochs>` (``cls``: the class to build)."""
    from .channels import pick_eeg_channels

    eeg = epochs.copy().pick("eeg")
    source = f"the Epochs {epochs.filename}" if getattr(epochs, "filename", None) else "the Epochs"
    picks, names = pick_eeg_channels(eeg.ch_names, source=source)
    data = eeg.get_data(picks=picks)
    metadata = epochs.metadata
    stored = {} if metadata is None else dict(metadata.attrs.get(METADATA_ATTRS) or {})
    if dataset is None:
        dataset = str(stored.get("dataset", "epochs"))
    n = len(data)
    ids = {"subject": subject, "session": session, "trial": trial}
    for name, given in ids.items():
        if given is None and metadata is not None and name in metadata.columns:
            ids[name] = _id_column(metadata[name], name, f"the metadata of {source}")
    if ids["subject"] is None:
        ids["subject"] = ["1"] * n
    if ratings is not None:
        return cls.from_arrays(
            data, epochs.info["sfreq"], names, ratings,
            rating_names=("valence", "arousal", "dominance") if rating_names is None else rating_names,
            scales=scales, baselines=baselines, dataset=dataset, **ids,
        )
    if rating_names is None:
        rating_names = [] if metadata is None else [c for c in metadata.columns if c not in ID_COLUMNS]
    if not rating_names:  # no labels: the trials carry none (never invented)
        return cls.from_arrays(data, epochs.info["sfreq"], names, rating_names=(), scales={},
                               baselines=baselines, dataset=dataset, **ids)
    if metadata is None:
        raise ValueError(f"rating_names={list(rating_names)} names metadata columns, but {source} has no "
                         "metadata; expected epochs.metadata with these columns (or pass ratings=...).")
    known = {name: RatingScale(**{**v, "categories": tuple(v["categories"])})
             for name, v in (stored.get("scales") or {}).items()}
    declared = _scale_mapping(scales, rating_names)
    values, rating_names, label_scales = table_labels(
        metadata.reset_index(drop=True), rating_names, {**known, **declared},
        where=f"the metadata of {source}",
    )
    return cls.from_arrays(
        data, epochs.info["sfreq"], names, values, rating_names=rating_names,
        scales=label_scales, baselines=baselines, dataset=dataset, **ids,
    )


def raw_to_trials(cls, raw, onsets, durations, ratings=None, *, baseline_duration=0.0, **kwargs):
    """:meth:`EEGTrials.from_raw <neuroaffect.EEGTrials.from_raw>` (``cls``: the class to build)."""
    from .channels import pick_eeg_channels

    eeg = raw.copy().pick("eeg")
    # Formats without channel types (EDF) type every channel EEG: leave out the ones that are not.
    source = next((str(f) for f in raw.filenames if f), "the Raw object")
    picks, names = pick_eeg_channels(eeg.ch_names, source=source)
    data = eeg.get_data(picks=picks)
    sfreq = eeg.info["sfreq"]
    n_total = data.shape[1]
    signals, baselines = [], []
    for i, (onset, duration) in enumerate(zip(onsets, durations, strict=True)):
        start, stop = int(round(onset * sfreq)), int(round((onset + duration) * sfreq))
        n_base = int(round(baseline_duration * sfreq))
        if start - n_base < 0 or stop > n_total or stop <= start:
            raise ValueError(
                f"Trial {i} ({onset:.3f} s + {duration:.3f} s, baseline {baseline_duration} s) "
                f"does not fit inside the recording of {n_total / sfreq:.3f} s."
            )
        signals.append(data[:, start:stop])
        if n_base:
            baselines.append(data[:, start - n_base : start])
    return cls.from_arrays(signals, sfreq, names, ratings, baselines=baselines or None, **kwargs)


def trials_to_epochs(trials, *, tmax=None):
    """:meth:`EEGTrials.to_epochs <neuroaffect.EEGTrials.to_epochs>`."""
    import mne
    import pandas as pd

    n_keep = int(trials.n_times.min())
    if tmax is not None:
        n_keep = min(n_keep, int(round(tmax * trials.sfreq)))
    data = np.stack([s[:, :n_keep] for s in trials.signals]).astype(np.float64)
    info = mne.create_info(list(trials.ch_names), trials.sfreq, ch_types="eeg")
    columns = {"subject": trials.subject, "session": trials.session, "trial": trials.trial}
    for name in trials.rating_names:
        scale, values = trials.scales[name], trials.rating(name)
        if scale.kind == "categorical" and scale.categories:
            codes = np.where(np.isnan(values), -1, np.nan_to_num(values - scale.low)).astype(int)
            columns[name] = pd.Categorical.from_codes(codes, categories=list(scale.categories))
        else:
            columns[name] = values
    metadata = pd.DataFrame(columns)
    metadata.attrs[METADATA_ATTRS] = {
        "dataset": trials.dataset,
        "scales": {name: asdict(trials.scales[name]) for name in trials.rating_names},
    }
    epochs = mne.EpochsArray(data, info, metadata=metadata, verbose="error")
    epochs.set_montage(make_montage(trials.ch_names))
    return epochs
