"""The one container for EEG trials that every loader returns and every feature reads.

:class:`EEGTrials` holds, for one or more subjects, a list of trials (each ``(n_channels, n_times)``
in volts, lengths may differ), the sampling rate, standard 10-05 channel names with positions, the
ratings of each trial with the scale they were given on, subject / session / trial ids and optional
baseline segments recorded before each trial.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ._keys import ID_LABELS, make_trial_keys, take_rows, trial_table
from ._trial_io import (
    COMMON_SCALES,
    ID_COLUMNS,
    METADATA_ATTRS,
    epochs_to_trials,
    infer_scale,
    raw_to_trials,
    table_labels,
    trials_to_epochs,
)
from ._validation import check_ndim, check_positive, check_signal
from .affect.scales import RatingScale
from .channels import ch_positions, normalize_ch_names

# Building trials from tables and MNE objects lives in neuroaffect._trial_io; its public names
# (table_labels, infer_scale and the constants) are re-exported here.
__all__ = ["COMMON_SCALES", "ID_COLUMNS", "MAX_PLAUSIBLE_STD", "METADATA_ATTRS", "EEGTrials", "infer_scale",
           "table_labels"]

#: Largest median channel standard deviation (in volts) accepted without a warning: scalp EEG is
#: about 1e-5 V, and microvolts passed as volts give values of 1 to 100.
MAX_PLAUSIBLE_STD = 1e-2


@dataclass(eq=False)
class EEGTrials:
    """EEG trials of one or more subjects, with their ratings.

    Parameters
    ----------
    signals : sequence of ndarray, each shape (n_channels, n_times)
        One array per trial, in volts (real, finite, within float32's range). Stored as float32.
        Trials may differ in length. A median channel standard deviation above
        :data:`MAX_PLAUSIBLE_STD` (1e-2 V) warns: such data are probably not in volts.
    sfreq : float
        Sampling rate in Hz.
    ch_names : sequence of str
        Electrode names; normalised to MNE's standard 10-05 spelling.
    ratings : ndarray, shape (n_trials, n_ratings)
        One row per trial (float; NaN where a trial has no rating).
    rating_names : sequence of str
        Name of each ratings column, e.g. ``("valence", "arousal", "dominance")`` or ``("emotion",)``.
    scales : mapping of str to RatingScale
        The declared scale of each ratings column.
    subject, session, trial : array-like, shape (n_trials,)
        Ids. ``trial`` is the trial's position within its session in presentation order (1-based for
        the known datasets, matching their documentation).
    baselines : sequence of ndarray, each shape (n_channels, n_baseline_times), optional
        Pre-trial resting segments in volts (DEAP: 3 s, DREAMER: 61 s), one per trial.
    dataset : str
        Where the trials come from (``"deap"``, ``"seed"``, ..., or a file name).

    Attributes
    ----------
    n_trials, n_channels : int
    positions : ndarray, shape (n_channels, 3)
        Electrode positions in metres (head coordinates of the 10-05 montage).
    trial_keys : ndarray of str, shape (n_trials,)
        ``"subject/session/trial"``: unique across a dataset, the unit that must never be split
        between train and test (``"%"`` and ``"/"`` inside ids escaped as ``%25`` and ``%2F``).
        For display, file names and cache keys; code reads the ids from :attr:`metadata`.
    metadata : pandas.DataFrame, shape (n_trials, 6)
        The ids of each trial as a table (as ``mne.Epochs.metadata``, one row per trial): the
        labels ``subject``, ``session``, ``trial`` (text, ``str`` of each id as in the keys) and
        their integer codes ``subject_code``, ``session_code`` (one per distinct (subject, session))
        and ``trial_code`` (one per distinct trial: two rows share it exactly when they share a
        trial key). Codes are numbered in order of first appearance when the trials are built or
        concatenated, and kept by selection (``trials[idx]``), so they stay unique but need not be
        contiguous. Read-only: build new trials to change ids (the table is rebuilt whenever the
        ids given do not match it, e.g. after ``dataclasses.replace(trials, subject=...)``).
    """

    signals: Sequence[np.ndarray]
    sfreq: float
    ch_names: Sequence[str]
    ratings: np.ndarray
    rating_names: Sequence[str]
    scales: Mapping[str, RatingScale]
    subject: np.ndarray
    session: np.ndarray
    trial: np.ndarray
    baselines: Sequence[np.ndarray] | None = None
    dataset: str = "unknown"
    _positions: np.ndarray | None = field(default=None, repr=False)
    _metadata: object = field(default=None, repr=False)

    def __post_init__(self):
        check_positive("sfreq", self.sfreq)
        self.sfreq = float(self.sfreq)
        self.ch_names = normalize_ch_names(self.ch_names, source=f"ch_names of {self.dataset}")
        self.signals = [self._check_signal(s, i, "signals") for i, s in enumerate(self.signals)]
        self._check_units()
        n = len(self.signals)
        self.rating_names = tuple(self.rating_names)
        self.ratings = self._check_ratings(self.ratings, n)
        missing = [name for name in self.rating_names if name not in self.scales]
        if missing:
            raise ValueError(f"scales has no entry for rating(s) {missing}.")
        self.scales = dict(self.scales)
        for j, name in enumerate(self.rating_names):
            column = self.ratings[:, j]
            self.scales[name].validate(column[~np.isnan(column)], what=f"{self.dataset} {name} ratings")
        for name in ("subject", "session", "trial"):
            ids = np.asarray(getattr(self, name))
            if ids.shape != (n,):
                raise ValueError(f"{name} must have shape ({n},) (one id per trial), got {ids.shape}.")
            setattr(self, name, ids)
        if not _table_matches(self._metadata, self.subject, self.session, self.trial):
            self._metadata = trial_table(self.subject, self.session, self.trial)
        if self.baselines is not None:
            if len(self.baselines) != n:
                raise ValueError(f"baselines must hold one segment per trial ({n}), got {len(self.baselines)}.")
            self.baselines = [self._check_signal(b, i, "baselines") for i, b in enumerate(self.baselines)]

    def _check_ratings(self, ratings, n: int) -> np.ndarray:
        """``ratings`` as float (n, n_ratings); (n,) is accepted for a single rating column.

        Any other shape is an error, never reshaped: a transposed (n_ratings, n) array would
        otherwise be silently scrambled across trials.
        """
        n_ratings = len(self.rating_names)
        where = "" if self.dataset == "unknown" else f" of {self.dataset}"
        ratings = np.asarray(ratings, dtype=float)
        if n == 0 and ratings.size == 0:
            return np.zeros((0, n_ratings))
        if ratings.shape == (n,) and n_ratings == 1:
            ratings = ratings[:, None]
        if ratings.ndim == 2 and ratings.shape[0] == n and ratings.shape[1] != n_ratings:
            raise ValueError(
                f"ratings{where} has {ratings.shape[1]} column(s) but rating_names names "
                f"{n_ratings}: {self.rating_names}."
            )
        if ratings.shape != (n, n_ratings):
            one = f" or ({n},) for one rating" if n_ratings == 1 else ""
            raise ValueError(
                f"Invalid shape for the 'ratings' parameter{where}: expected (n_trials, "
                f"n_ratings) = ({n}, {n_ratings}){one}, one row per trial and one column per name in "
                f"rating_names {self.rating_names}; got {ratings.shape}."
            )
        return ratings

    def _check_signal(self, signal, index, what) -> np.ndarray:
        signal = check_signal(signal, f"{what}[{index}] of {self.dataset}")
        if signal.shape[0] != len(self.ch_names):
            raise ValueError(
                f"{what}[{index}] of {self.dataset} has {signal.shape[0]} channels but ch_names has "
                f"{len(self.ch_names)}."
            )
        return signal

    def _check_units(self) -> None:
        """Warn when the signals' scale is implausible for volts (e.g. microvolts given as volts)."""
        if not self.signals:
            return
        stds = np.concatenate([s.std(axis=1, dtype=np.float64) for s in self.signals])
        typical = float(np.median(stds))
        if typical > MAX_PLAUSIBLE_STD:
            warnings.warn(
                f"EEGTrials signals of {self.dataset} have a median channel standard deviation of "
                f"{typical:.3g}, implausible for volts (expected below {MAX_PLAUSIBLE_STD:g} V; scalp "
                "EEG is about 1e-5 V). The 'signals' must be in volts: if they are in microvolts, "
                "multiply them by 1e-6 (millivolts: 1e-3) first.",
                UserWarning,
                stacklevel=4,
            )

    # -- shape -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.signals)

    @property
    def n_trials(self) -> int:
        return len(self.signals)

    @property
    def n_channels(self) -> int:
        return len(self.ch_names)

    @property
    def n_times(self) -> np.ndarray:
        """Length of each trial in samples, shape (n_trials,)."""
        return np.array([s.shape[1] for s in self.signals], dtype=int)

    @property
    def positions(self) -> np.ndarray:
        if self._positions is None:
            self._positions = ch_positions(self.ch_names)
        return self._positions

    @property
    def trial_keys(self) -> np.ndarray:
        return make_trial_keys(self.subject, self.session, self.trial)

    @property
    def metadata(self):
        """The trials' id table (labels and integer codes), see the class's Attributes."""
        return self._metadata

    def rating(self, name: str) -> np.ndarray:
        """The ratings column ``name``, shape (n_trials,)."""
        if name not in self.rating_names:
            raise ValueError(f"Unknown rating {name!r}; these trials have {self.rating_names}.")
        return self.ratings[:, self.rating_names.index(name)]

    def __repr__(self) -> str:
        """One line: sizes, ids and labels, never the arrays (MNE style: ``<EEGTrials | ...>``)."""
        n_times = self.n_times
        if n_times.size == 0:
            lengths = "no trials"
        elif n_times.min() == n_times.max():
            lengths = f"{n_times[0]} samples ({n_times[0] / self.sfreq:g} s)"
        else:
            lengths = (f"{n_times.min()}-{n_times.max()} samples "
                       f"({n_times.min() / self.sfreq:g}-{n_times.max() / self.sfreq:g} s)")
        labels = []
        for name in self.rating_names:
            scale = self.scales[name]
            if scale.kind == "categorical" and scale.categories:
                kind = "/".join(scale.categories)
            else:
                kind = f"{scale.kind} {scale.low:g}-{scale.high:g}"
            n_missing = int(np.isnan(self.rating(name)).sum())
            labels.append(f"{name} ({kind}{f', {n_missing} missing' if n_missing else ''})")
        return (
            f"<EEGTrials | {self.dataset}, {self.n_trials} trials x {self.n_channels} channels x "
            f"{lengths} at {self.sfreq:g} Hz, subjects {_short_ids(self.subject)}, sessions "
            f"{_short_ids(self.session)}, labels: {', '.join(labels) or 'none'}"
            f"{', with baselines' if self.baselines is not None else ''}>"
        )

    # -- selection ---------------------------------------------------------------------------
    def __getitem__(self, index) -> EEGTrials:
        """Trials selected by an integer, slice, index array or boolean mask."""
        idx = np.arange(self.n_trials)[index]
        idx = np.atleast_1d(idx)
        return replace(
            self,
            signals=[self.signals[i] for i in idx],
            ratings=self.ratings[idx],
            subject=self.subject[idx],
            session=self.session[idx],
            trial=self.trial[idx],
            baselines=None if self.baselines is None else [self.baselines[i] for i in idx],
            _metadata=take_rows(self._metadata, idx),
        )

    def pick_channels(self, ch_names) -> EEGTrials:
        """A copy with only ``ch_names`` (in that order)."""
        wanted = normalize_ch_names(ch_names, source="pick_channels")
        absent = [c for c in wanted if c not in self.ch_names]
        if absent:
            raise ValueError(f"Channel(s) {absent} are not in these trials ({self.ch_names}).")
        order = [self.ch_names.index(c) for c in wanted]
        return replace(
            self,
            signals=[s[order] for s in self.signals],
            ch_names=wanted,
            baselines=None if self.baselines is None else [b[order] for b in self.baselines],
            _positions=None,
        )

    @classmethod
    def concatenate(cls, parts: Sequence[EEGTrials]) -> EEGTrials:
        """Join trial sets that share sampling rate, channels, ratings and their scales.

        Parameters
        ----------
        parts : sequence of EEGTrials

        Returns
        -------
        trials : EEGTrials
            ``dataset`` is taken from the first part.

        Raises
        ------
        ValueError
            If the parts differ in ``sfreq``, ``ch_names``, ``rating_names`` or the scale of a
            rating, or if some parts carry baselines and others do not.
        """
        if not parts:
            raise ValueError("concatenate needs at least one EEGTrials.")
        first = parts[0]
        for i, other in enumerate(parts[1:], start=1):
            for attr in ("sfreq", "ch_names", "rating_names"):
                if getattr(other, attr) != getattr(first, attr):
                    raise ValueError(
                        f"Cannot concatenate trials with different {attr}: "
                        f"{getattr(first, attr)} vs {getattr(other, attr)}."
                    )
            differ = [n for n in first.rating_names if other.scales[n] != first.scales[n]]
            if differ:
                name = differ[0]
                raise ValueError(
                    f"Cannot concatenate trials rated on different scales (rating(s) {differ}): part 0 "
                    f"({first.dataset}) rates {name!r} on {first.scales[name]!r}, part {i} "
                    f"({other.dataset}) on {other.scales[name]!r}. Convert the ratings to one scale "
                    "first (e.g. neuroaffect.affect.to_common_space)."
                )
        with_base = [i for i, p in enumerate(parts) if p.baselines is not None]
        if with_base and len(with_base) != len(parts):
            without = [i for i, p in enumerate(parts) if p.baselines is None]
            raise ValueError(
                f"Cannot concatenate trials where only some parts carry baselines (parts {with_base} "
                f"do, parts {without} do not): the baselines would be lost. Give every part its "
                "baselines, or drop them from all parts (dataclasses.replace(part, baselines=None))."
            )
        has_baseline = bool(with_base)
        return replace(
            first,
            signals=[s for p in parts for s in p.signals],
            ratings=np.concatenate([p.ratings for p in parts]),
            subject=np.concatenate([p.subject for p in parts]),
            session=np.concatenate([p.session for p in parts]),
            trial=np.concatenate([p.trial for p in parts]),
            baselines=[b for p in parts for b in p.baselines] if has_baseline else None,
            _metadata=None,  # codes renumbered over all parts
        )

    # -- conversions -------------------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        data,
        sfreq: float,
        ch_names,
        ratings=None,
        *,
        rating_names=("valence", "arousal", "dominance"),
        scales=None,
        subject=None,
        session=None,
        trial=None,
        baselines=None,
        dataset: str = "arrays",
    ) -> EEGTrials:
        """Build trials from arrays.

        Parameters
        ----------
        data : ndarray, shape (n_trials, n_channels, n_times), or list of (n_channels, n_times)
            Signals in volts, at least one trial (checked as ``signals`` of :class:`EEGTrials`).
        ratings : ndarray, shape (n_trials, n_ratings), optional
            Defaults to NaN (unrated). A condition is given as its codes on a categorical
            :class:`RatingScale` (e.g. ``RatingScale("condition", 0, 1, "categorical", ("rest",
            "task"))``: 0 rest, 1 task); NaN marks a missing label, never made a class.
        scales : mapping of str to RatingScale, optional
            Defaults to a continuous 1-9 scale for each rating.
        subject, session, trial : array-like, shape (n_trials,), optional
            Default: subject ``"1"``, session ``1``, trials numbered from 1.
        """
        if isinstance(data, np.ndarray):
            check_ndim(data, 3, "data", "(n_trials, n_channels, n_times)")
        signals = list(data)
        n = len(signals)
        if n == 0:
            got = f"shape {data.shape}" if isinstance(data, np.ndarray) else "an empty sequence"
            raise ValueError(
                "Invalid value for the 'data' parameter: expected at least one trial, an array "
                f"(n_trials, n_channels, n_times) or a list of (n_channels, n_times), got {got}."
            )
        rating_names = tuple(rating_names)
        if ratings is None:
            ratings = np.full((n, len(rating_names)), np.nan)
        ratings = np.asarray(ratings, dtype=float)
        if ratings.ndim == 1:
            ratings = ratings[:, None]
        if ratings.shape[0] != n:
            raise ValueError(f"ratings has {ratings.shape[0]} rows but data has {n} trials.")
        if scales is None:
            scales = {name: RatingScale("1-9", 1.0, 9.0) for name in rating_names}
        return cls(
            signals=signals,
            sfreq=sfreq,
            ch_names=ch_names,
            ratings=ratings,
            rating_names=rating_names,
            scales=scales,
            subject=np.asarray(subject if subject is not None else ["1"] * n),
            session=np.asarray(session if session is not None else [1] * n),
            trial=np.asarray(trial if trial is not None else np.arange(1, n + 1)),
            baselines=baselines,
            dataset=dataset,
        )

    @classmethod
    def from_epochs(
        cls,
        epochs,
        ratings=None,
        *,
        rating_names=None,
        scales=None,
        subject=None,
        session=None,
        trial=None,
        baselines=None,
        dataset: str | None = None,
    ) -> EEGTrials:
        """Build trials from ``mne.Epochs``, with ids and labels from ``epochs.metadata``.

        Parameters
        ----------
        epochs : mne.Epochs
            Its EEG electrodes are kept (data in volts, as MNE stores them); other channels, also
            those typed EEG by formats without channel types (``"ECG ECG"``, the bipolar
            ``"EEG A2-A1"``), are left out with one logged line
            (:func:`neuroaffect.channels.pick_eeg_channels`).
        ratings : ndarray, shape (n_epochs, n_ratings), optional
            Labels given as an array (then ``rating_names`` defaults to valence, arousal, dominance,
            as in :meth:`from_arrays`). Default: the labels are the columns of ``epochs.metadata``.
        rating_names : sequence of str, optional
            With metadata: which metadata columns are labels (default: every column but
            ``subject``, ``session`` and ``trial``).
        scales : RatingScale, str or mapping of str to RatingScale, optional
            Declared scales of the label columns (a mapping may name only some). Columns without
            one take the scale :meth:`to_epochs` recorded (``metadata.attrs["neuroaffect"]``), else
            one inferred as :func:`table_labels` describes: numeric columns get the first of
            :data:`COMMON_SCALES` that holds their values (logged as a warning: declare the scale
            if it is another), string or categorical columns are categorical labels (codes 0, 1,
            ... in the order of the categorical's categories, or of the sorted names), usable with
            ``task="classes"``. Missing values (NaN, None, ``""``, ``"n/a"``) stay missing (NaN),
            never a class.
        subject, session, trial : array-like, shape (n_epochs,), optional
            Ids; default: the metadata columns ``subject``, ``session`` and ``trial`` when present,
            else subject ``"1"``, session 1 and trials numbered from 1.
        baselines : sequence of ndarray, optional
            As in :meth:`from_arrays`.
        dataset : str, optional
            Default: the name :meth:`to_epochs` recorded, else ``"epochs"``.

        Returns
        -------
        trials : EEGTrials
            One trial per epoch, shape (n_channels, n_times) each.

        Raises
        ------
        ValueError
            If a requested metadata column is absent, an id column has missing values, a label
            column holds values off its declared scale or a string label column has a single
            category and no declared scale.

        Examples
        --------
        >>> import mne, numpy as np, pandas as pd
        >>> from neuroaffect import EEGTrials
        >>> info = mne.create_info(["Fz", "Cz", "Pz"], 128.0, "eeg")
        >>> metadata = pd.DataFrame({"subject": ["s1"] * 4, "condition": ["rest", "task", "rest", "n/a"]})
        >>> epochs = mne.EpochsArray(np.random.default_rng(0).normal(0, 1e-5, (4, 3, 256)), info,
        ...                          metadata=metadata, verbose="error")
        >>> trials = EEGTrials.from_epochs(epochs)
        >>> trials.scales["condition"].categories, trials.rating("condition")
        (('rest', 'task'), array([ 0.,  1.,  0., nan]))
        """
        return epochs_to_trials(
            cls, epochs, ratings, rating_names=rating_names, scales=scales, subject=subject, session=session,
            trial=trial, baselines=baselines, dataset=dataset,
        )

    @classmethod
    def from_raw(
        cls,
        raw,
        onsets,
        durations,
        ratings=None,
        *,
        baseline_duration: float = 0.0,
        **kwargs,
    ) -> EEGTrials:
        """Cut trials of different lengths out of a continuous ``mne.io.Raw``.

        Parameters
        ----------
        raw : mne.io.Raw
            The recording. Its EEG electrodes are kept; other channels, also those typed EEG by
            formats without channel types (EDF: "ECG ECG", the bipolar "EEG A2-A1"), are left out
            with one logged line (:func:`neuroaffect.channels.pick_eeg_channels`).
        onsets, durations : array-like of float, shape (n_trials,)
            Trial starts and lengths in seconds, relative to the start of ``raw``'s data
            (``raw.first_time`` already removed, as for ``raw.annotations.onset - raw.first_time``).
        baseline_duration : float
            If positive, the ``baseline_duration`` seconds before each onset become its baseline.
        ratings, **kwargs
            As in :meth:`from_arrays`.
        """
        return raw_to_trials(cls, raw, onsets, durations, ratings, baseline_duration=baseline_duration, **kwargs)

    def to_epochs(self, *, tmax: float | None = None):
        """These trials as ``mne.EpochsArray`` (cropped to the shortest trial, or to ``tmax`` s).

        ``epochs.metadata`` holds one row per trial: ``subject``, ``session``, ``trial``, then one
        column per rating: floats (NaN where missing), or for a categorical scale with named
        categories a ``pandas.Categorical`` of the names (missing: NaN). The declared scales and
        ``dataset`` are kept in ``epochs.metadata.attrs["neuroaffect"]`` (in memory; a FIF file
        keeps only the columns), so ``EEGTrials.from_epochs(trials.to_epochs())`` gives back the
        ratings, their scales and the ids exactly. Baselines are not kept.

        Returns
        -------
        epochs : mne.EpochsArray
            Data shape (n_trials, n_channels, n_times) in volts, with the 10-05 montage set.
        """
        return trials_to_epochs(self, tmax=tmax)


def _table_matches(table, subject, session, trial) -> bool:
    """Whether ``table`` is an id table whose labels are these ids (in this order)."""
    if table is None or len(table) != len(subject):
        return False
    try:
        return all(
            np.array_equal(table[name].to_numpy(dtype=object), np.array([str(v) for v in ids], dtype=object))
            for name, ids in zip(ID_LABELS, (subject, session, trial), strict=True)
        )
    except (KeyError, AttributeError, TypeError, ValueError):
        return False


def _short_ids(ids, shown: int = 3) -> str:
    """``"['1', '2', ..., '8'] (8)"``: the distinct ids, the middle ones elided when many."""
    unique = list(dict.fromkeys(np.asarray(ids).tolist()))
    if len(unique) <= shown + 1:
        return f"{unique}"
    head = ", ".join(repr(u) for u in unique[:shown])
    return f"[{head}, ..., {unique[-1]!r}] ({len(unique)})"
