"""A small container for per-stimulus fMRI responses.

Every fMRI loader in :mod:`neuroaffect.fmri` returns a :class:`StimulusResponses`: one row per
presented stimulus (a trial's beta or lagged-mean response), with the stimulus id, subject and run it
came from, and optionally the stimulus' valence-arousal-dominance ratings on a declared scale.

It is a sample container of :mod:`neuroaffect.evaluation`
(:class:`~neuroaffect.evaluation.SampleContainer`), like the EEG side's
:class:`~neuroaffect.features.tokens.WindowTokens`: :func:`~neuroaffect.evaluation.cross_validate_subjects`
takes it as it is (``X`` of shape (n_responses, n_features), trial keys ``"subject/run/stimulus"``,
the VAD ratings), and its :attr:`~StimulusResponses.trial_key` is the ``groups`` of every splitter
(:class:`~neuroaffect.fmri.StimulusKFold`, scikit-learn's ``GroupKFold``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._keys import make_trial_keys, trial_table
from .._validation import check_finite, check_ndim
from ..affect.scales import RatingScale

VAD_NAMES = ("valence", "arousal", "dominance")

#: The scale the simulator and the BIDS loader assume when a file does not declare one.
SAM_1_9 = RatingScale("SAM 1-9", 1.0, 9.0, "continuous")


def _ids(values, n: int, name: str, default: str = "") -> np.ndarray:
    if values is None:
        return np.full(n, default, dtype=object)
    if np.isscalar(values):
        return np.full(n, str(values), dtype=object)
    values = np.asarray([str(v) for v in np.asarray(values).ravel()], dtype=object)
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} entries but X has {n} rows (one per stimulus).")
    return values


@dataclass
class StimulusResponses:
    """Per-stimulus responses of one or more subjects.

    Parameters
    ----------
    X : ndarray, shape (n_stimuli, n_features)
        One response vector per presented stimulus (parcel or voxel betas; units of the source,
        percent signal change for the GLM loader).
    stimulus : array of str, shape (n_stimuli,)
        Stimulus id of each row (repeats of a stimulus share an id).
    subject : str or array of str, shape (n_stimuli,)
        Subject of each row.
    run : str or array of str, shape (n_stimuli,), optional
        Session/run each row was estimated from (e.g. ``"ses-1_run-2"``).
    vad : ndarray, shape (n_stimuli, 3), optional
        Valence, arousal and dominance of each stimulus on ``vad_scale``.
    vad_scale : RatingScale, optional
        The scale ``vad`` is on (required when ``vad`` is given).
    feature_names : tuple of str, optional
        Name of each feature (parcel labels); defaults to ``"f0", "f1", ...``.
    dataset : str, default="fmri"
        Free-text origin, e.g. a folder name (recorded in evaluation results).
    info : dict
        Provenance notes (e.g. ``"parcellation"``: which image was resampled to which grid,
        ``"method"``: how responses were estimated).
    targets : dict of str to ndarray, optional
        Other numeric targets per row, by name (e.g. a behavioural score per subject-level map,
        read by :func:`~neuroaffect.fmri.read_fmri_maps`); NaN marks a missing value.
    target_scales : dict of str to RatingScale, optional
        The targets that are also decodable ratings, each with the scale it is on (e.g. the
        observed range, as :func:`~neuroaffect.fmri.maps_to_tokens` declares it): they follow the
        VAD ratings in :attr:`rating_names` and :attr:`ratings`. Every name must be a key of
        ``targets`` and its non-missing values must lie on the scale. Targets without a scale
        are not ratings.

    Notes
    -----
    As a :class:`~neuroaffect.evaluation.SampleContainer` (what the evaluation runner reads): a
    sample is a row, :attr:`trial_key` groups the repeats of a stimulus within a subject,
    :attr:`rating_names` / :attr:`ratings` / :meth:`rating` / :meth:`scale` are the VAD ratings on
    ``vad_scale`` (none without ``vad``) followed by the targets of ``target_scales``, and the
    features are named by ``feature_names``. Responses
    have no sampling rate, electrode positions or window spans: results record ``sfreq`` None and
    the parcel names, and samples never overlap.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroaffect.evaluation import SampleContainer
    >>> r = StimulusResponses.from_arrays(np.zeros((4, 2)), ["a", "b", "a", "b"], subject="01",
    ...                                   run=["r1", "r1", "r2", "r2"], vad=np.full((4, 3), 5.0),
    ...                                   vad_scale=SAM_1_9)
    >>> r.trial_key.tolist()  # the repeats of a stimulus (in two runs) share one key
    ['01/all-runs/a', '01/all-runs/b', '01/all-runs/a', '01/all-runs/b']
    >>> isinstance(r, SampleContainer), r.rating_names
    (True, ('valence', 'arousal', 'dominance'))
    """

    X: np.ndarray
    stimulus: np.ndarray
    subject: np.ndarray | str = "01"
    run: np.ndarray | str | None = None
    vad: np.ndarray | None = None
    vad_scale: RatingScale | None = None
    feature_names: tuple[str, ...] = ()
    dataset: str = "fmri"
    info: dict = field(default_factory=dict)
    targets: dict | None = None
    target_scales: dict | None = None

    def __post_init__(self):
        self.X = check_ndim(np.asarray(self.X, dtype=float), 2, "X", "(n_stimuli, n_features)")
        check_finite(self.X, "StimulusResponses.X")
        n = len(self.X)
        self.stimulus = _ids(self.stimulus, n, "stimulus")
        self.subject = _ids(self.subject, n, "subject")
        self.run = _ids(self.run, n, "run")
        if not self.feature_names:
            self.feature_names = tuple(f"f{i}" for i in range(self.X.shape[1]))
        self.feature_names = tuple(str(f) for f in self.feature_names)
        if len(self.feature_names) != self.X.shape[1]:
            raise ValueError(
                f"feature_names has {len(self.feature_names)} names but X has {self.X.shape[1]} features."
            )
        if self.vad is not None:
            if self.vad_scale is None:
                raise ValueError("vad was given without vad_scale; declare the scale it is on.")
            self.vad = check_ndim(np.asarray(self.vad, dtype=float), 2, "vad", "(n_stimuli, 3)")
            if self.vad.shape != (n, 3):
                raise ValueError(f"vad must have shape ({n}, 3) (valence, arousal, dominance), got {self.vad.shape}.")
            self.vad_scale.validate(self.vad, "vad")
        if self.targets is not None:
            targets = {}
            for name, values in dict(self.targets).items():
                values = np.array(values, dtype=float).ravel()  # an own, writable copy
                if len(values) != n:
                    raise ValueError(f"target {name!r} has {len(values)} values but X has {n} rows (one per row).")
                targets[str(name)] = values
            self.targets = targets
        if self.target_scales is not None:
            scales = {str(name): scale for name, scale in dict(self.target_scales).items()}
            for name, scale in scales.items():
                if name not in (self.targets or {}):
                    raise ValueError(f"target_scales names {name!r}, which is not among the targets "
                                     f"{sorted(self.targets or {})}; expected a scale per decodable target.")
                if name in VAD_NAMES and self.vad is not None:
                    raise ValueError(f"target {name!r} has the name of a VAD rating; rename the target.")
                if not isinstance(scale, RatingScale):
                    raise TypeError(f"target_scales[{name!r}] is a {type(scale).__name__}; expected a RatingScale.")
                values = self.targets[name]
                scale.validate(values[~np.isnan(values)], f"target {name!r}")
            self.target_scales = scales or None

    @property
    def n_stimuli(self) -> int:
        return len(self.X)

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def subjects(self) -> list[str]:
        """Distinct subjects, in order of first appearance."""
        return list(dict.fromkeys(self.subject))

    def __len__(self) -> int:
        return self.n_stimuli

    @property
    def trial_key(self) -> np.ndarray:
        """``"subject/run/stimulus"`` of each row, as :meth:`trial_keys` (the runner's and splitters' groups)."""
        return self.trial_keys()

    @property
    def rating_names(self) -> tuple[str, ...]:
        """The decodable ratings: ``("valence", "arousal", "dominance")`` with ``vad``, then the
        targets of ``target_scales``; ``()`` without either."""
        return (() if self.vad is None else VAD_NAMES) + tuple(self.target_scales or ())

    @property
    def ratings(self) -> np.ndarray:
        """One column per name of :attr:`rating_names`: ``vad`` itself (n_stimuli, 3) when there are
        no target ratings; shape (n_stimuli, 0) without any rating."""
        if not self.target_scales:
            return np.empty((self.n_stimuli, 0)) if self.vad is None else self.vad
        columns = [] if self.vad is None else [self.vad]
        columns += [self.targets[name][:, None] for name in self.target_scales]
        return np.hstack(columns)

    def rating(self, name: str) -> np.ndarray:
        """The rating ``name`` of each row (``"valence"``, ``"arousal"``, ``"dominance"`` or a
        target of ``target_scales``).

        Raises
        ------
        ValueError
            If the responses carry no such rating.
        """
        self._check_rating(name)
        if name in (self.target_scales or {}):
            return self.targets[name]
        return self.vad[:, VAD_NAMES.index(name)]

    def scale(self, name: str) -> RatingScale:
        """The scale of the rating ``name``: ``vad_scale`` (one scale for the three dimensions), or
        the target's scale in ``target_scales``."""
        self._check_rating(name)
        if name in (self.target_scales or {}):
            return self.target_scales[name]
        return self.vad_scale

    def _check_rating(self, name: str) -> None:
        if name in (self.target_scales or {}):
            return
        if self.vad is None and (name in VAD_NAMES or not self.target_scales):
            raise ValueError(f"Cannot read the rating {name!r}: the responses carry no VAD ratings "
                             "(StimulusResponses.vad is None).")
        if name not in self.rating_names:
            raise ValueError(f"Unknown rating {name!r}; these responses have {self.rating_names}.")

    def __getitem__(self, index) -> StimulusResponses:
        index = np.arange(self.n_stimuli)[index]
        index = np.atleast_1d(index)
        return StimulusResponses(
            self.X[index], self.stimulus[index], self.subject[index], self.run[index],
            None if self.vad is None else self.vad[index], self.vad_scale, self.feature_names,
            self.dataset, dict(self.info), _take(self.targets, index), self.target_scales,
        )

    def average_repeats(self, ratings: str = "error") -> StimulusResponses:
        """Average rows that share (subject, stimulus): one row per distinct stimulus and subject.

        Parameters
        ----------
        ratings : {"error", "average"}, default="error"
            What to do when the repeats of one stimulus carry different ratings (``vad`` or
            ``targets``), e.g. a stimulus rated at each presentation, or trials that share a
            condition name used as stimulus id: ``"error"`` refuses (naming the stimulus and the
            values); ``"average"`` averages the ratings as well (NaN ignored).

        Raises
        ------
        ValueError
            If repeats disagree on their ratings and ``ratings="error"``.
        """
        from .._validation import check_option

        check_option("ratings", ratings, ("error", "average"))
        keys = np.array([f"{s}\x00{t}" for s, t in zip(self.subject, self.stimulus, strict=True)], dtype=object)
        uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        order = np.argsort(first)  # keep order of first appearance
        counts = np.bincount(inverse, minlength=len(uniq)).astype(float)
        X = np.zeros((len(uniq), self.n_features))
        np.add.at(X, inverse, self.X)
        X /= counts[:, None]
        pick = first[order]
        columns = {} if self.vad is None else {name: self.vad[:, k] for k, name in enumerate(VAD_NAMES)}
        columns.update(self.targets or {})
        averaged = {}
        for name, values in columns.items():
            # a conflict: two finite ratings of one (subject, stimulus) that differ (a missing one is not)
            low, high = np.full(len(uniq), np.inf), np.full(len(uniq), -np.inf)
            np.fmin.at(low, inverse, values)
            np.fmax.at(high, inverse, values)
            conflict = np.isfinite(low) & (high - low > 1e-9 * np.maximum(1.0, np.abs(high)))
            if conflict.any() and ratings == "error":
                i = int(first[np.flatnonzero(conflict)[0]])
                mine = (inverse == inverse[i]) & np.isfinite(values)
                raise ValueError(
                    f"average_repeats: the repeats of stimulus {self.stimulus[i]!r} (subject {self.subject[i]!r}) "
                    f"have different {name} ratings {np.unique(values[mine])[:5].tolist()} "
                    f"({int(conflict.sum())} stimulus(es) affected); expected one rating per "
                    "stimulus. Check that the stimulus ids are per-stimulus (not condition names), or pass "
                    "ratings='average' to average the ratings too.")
            with np.errstate(invalid="ignore"):
                total = np.zeros(len(uniq))
                n_ok = np.zeros(len(uniq))
                ok = np.isfinite(values)
                np.add.at(total, inverse, np.where(ok, values, 0.0))
                np.add.at(n_ok, inverse, ok.astype(float))
                averaged[name] = np.where(n_ok > 0, total / np.where(n_ok > 0, n_ok, 1), np.nan)[order]
        vad = None if self.vad is None else np.column_stack([averaged[n] for n in VAD_NAMES])
        targets = None if self.targets is None else {n: averaged[n] for n in self.targets}
        return StimulusResponses(
            X[order], self.stimulus[pick], self.subject[pick], np.full(len(pick), "mean", dtype=object),
            vad, self.vad_scale, self.feature_names, self.dataset, dict(self.info), targets,
            self.target_scales,
        )

    @classmethod
    def concatenate(cls, parts: list[StimulusResponses]) -> StimulusResponses:
        """Stack several response sets (same features and VAD scale) row-wise."""
        if not parts:
            raise ValueError("concatenate needs at least one StimulusResponses.")
        first = parts[0]
        for p in parts[1:]:
            if p.feature_names != first.feature_names:
                raise ValueError("Cannot concatenate responses with different feature_names (different parcels).")
            if (p.vad is None) != (first.vad is None) or p.vad_scale != first.vad_scale:
                raise ValueError("Cannot concatenate responses with and without VAD, or on different scales.")
            if sorted(p.targets or {}) != sorted(first.targets or {}):
                raise ValueError(f"Cannot concatenate responses with different targets ({sorted(first.targets or {})} "
                                 f"and {sorted(p.targets or {})}).")
            if (p.target_scales or {}) != (first.target_scales or {}):
                raise ValueError("Cannot concatenate responses with different target ratings (target_scales).")
        targets = None if first.targets is None else {
            name: np.concatenate([p.targets[name] for p in parts]) for name in first.targets}
        return cls(
            np.concatenate([p.X for p in parts]),
            np.concatenate([p.stimulus for p in parts]),
            np.concatenate([p.subject for p in parts]),
            np.concatenate([p.run for p in parts]),
            None if first.vad is None else np.concatenate([p.vad for p in parts]),
            first.vad_scale, first.feature_names, first.dataset, dict(first.info), targets,
            first.target_scales,
        )

    @property
    def metadata(self):
        """The id table, one row per response (as ``WindowTokens.metadata``): ``subject``,
        ``session`` (the run of :meth:`trial_keys`, ``"all-runs"`` where a subject's repeats span
        runs), ``trial`` (the stimulus) and their integer codes; a ``pandas.DataFrame``."""
        return trial_table(self.subject, self._key_runs(), self.stimulus)

    def _key_runs(self) -> np.ndarray:
        run = np.array([str(v) for v in self.run], dtype=object)
        for s in self.subjects:
            own = self.subject == s
            pairs = set(zip(self.stimulus[own].tolist(), run[own].tolist(), strict=True))
            if len(pairs) > len(set(self.stimulus[own].tolist())):
                run[own] = "all-runs"
        return run

    def trial_keys(self) -> np.ndarray:
        """``"subject/run/stimulus"`` per row; the groups that keep a stimulus on one side of a split.

        Also the :attr:`trial_key` attribute (the name the evaluation runner reads).

        A subject's repeats of one stimulus must stay together, so when any stimulus of a subject
        occurs in more than one run, that subject's keys use ``"all-runs"`` in place of the run (the
        repeats then share a key). ``"/"`` and ``"%"`` inside ids are escaped as ``%2F`` and ``%25``
        so keys always split into three parts.
        """
        return make_trial_keys(self.subject, self._key_runs(), self.stimulus)

    @classmethod
    def from_arrays(cls, X, stimulus, *, subject="01", run=None, vad=None, vad_scale=None,
                    feature_names=(), dataset="fmri", targets=None, target_scales=None) -> StimulusResponses:
        """Wrap plain arrays: ``X`` (n_samples, n_features) and one stimulus id per row."""
        return cls(X, stimulus, subject, run, vad, vad_scale, tuple(feature_names), dataset, targets=targets,
                   target_scales=target_scales)


def _take(targets, index):
    return None if targets is None else {name: values[index] for name, values in targets.items()}
