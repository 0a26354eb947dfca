"""Cross-validation splitters that keep whole trials out of training.

Every splitter follows the scikit-learn protocol (``split(X, y, groups)``, ``get_n_splits``) and
takes ``groups`` = the windows' trial keys ``"subject/session/trial"``
(:attr:`~neuroaffect.features.tokens.WindowTokens.trial_key`), so it can be passed as ``cv=`` to
``cross_validate`` or ``GridSearchCV`` together with ``groups=tokens.trial_key``. One ``groups``
array drives every protocol: each ``split`` call reads the subject, session and trial of every
window from it once, as the integer codes of a trial table (:func:`_TrialIds`), and works on the
codes. The splitters of this module also accept that table itself as ``groups``
(``groups=tokens.metadata``, :attr:`~neuroaffect.features.tokens.WindowTokens.metadata`), which
spares the parsing; scikit-learn's own splitters and the estimators that consume ``groups`` take
the keys.

The within-subject splitters (:class:`TrialKFold`, :class:`LeaveOneTrialOut`,
:class:`FirstTrialsSplit`, :class:`LeaveOneSessionOut`) are meant to be applied to one subject's
windows at a time (the runner does this); applied to the training windows of an outer split they
give the inner splits of nested cross-validation. Each leakage-free splitter checks its own output
and raises :class:`~neuroaffect.evaluation.LeakageError` if a trial lands on both sides.

The cross-subject splitters (:class:`LeaveOneSubjectOut`, and
:class:`LeaveOneSubjectOutStimulusKFold`, which also holds the test stimuli out of the training
subjects) take all subjects' windows at once.

:class:`LeakySegmentKFold` is the pooled, random segment-level k-fold behind the field's ~99%
results. It is here to measure that leakage, never as a default.

The audit of any split (:func:`~neuroaffect.evaluation.audit_split`, :class:`SplitAudit`) lives in
:mod:`neuroaffect.evaluation.audit`, and is re-exported here.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.model_selection import (
    BaseCrossValidator,
    KFold,
    LeaveOneGroupOut,
    StratifiedKFold,
)
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples

from .._keys import (
    _factorize,
    natural_key,
    parse_trial_keys,
)
from .._validation import check_option
from ._trial_ids import (
    _accepts_trial_table,
    _check_n_splits,
    _check_no_shared_trials,
    _n_codes,
    _stimulus_folds,
    _TrialIds,
)
from .audit import (
    LeakageError,
    SplitAudit,
    audit_split,
    check_index_splits,
    check_split,
    read_split_file,
)

__all__ = [
    "DatasetSplit", "FirstTrialsSplit", "InnerKFold", "LeakageError", "LeakySegmentKFold", "LeaveOneSessionOut",
    "LeaveOneSubjectOut", "LeaveOneSubjectOutStimulusKFold", "LeaveOneTrialOut", "PerSubject", "SplitAudit",
    "TrialKFold", "audit_split", "check_index_splits", "check_split", "parse_trial_keys", "read_split_file",
]


class _TrialSplitter(BaseCrossValidator):
    """Base of the leakage-free splitters: groups are required and outputs are self-checked.

    Class attributes state what every split promises, and
    :func:`~neuroaffect.evaluation.cross_validate_subjects` checks the promise on every split:
    ``leakage_free`` (no trial and no overlapping windows on both sides) and ``held_out`` (units
    kept whole on one side: ``"subject"``, ``"session"``, ``"stimulus"``).
    """

    leakage_free = True
    held_out = ()
    __metadata_request__split = {"groups": True}

    @_accepts_trial_table
    def split(self, X, y=None, groups=None):
        """Train and test indices of each fold.

        Parameters
        ----------
        X : array-like, shape (n_windows, ...)
        y : array-like, shape (n_windows,) or (n_windows, n_targets), optional
        groups : array-like of str, shape (n_windows,), or pandas.DataFrame
            The windows' trial keys (``tokens.trial_key``), or their trial table
            (``tokens.metadata``: ids and integer codes, as
            :attr:`~neuroaffect.features.tokens.WindowTokens.metadata`). Both give the same folds.

        Yields
        ------
        train, test : ndarray of int
        """
        n_samples = _num_samples(X) if X is not None else None  # any array-like, sparse included
        ids = _TrialIds(groups, n_samples)
        for train, test in self._split(ids, None if y is None else np.asarray(y)):
            train, test = np.sort(train), np.sort(test)
            _check_no_shared_trials(ids, train, test, type(self).__name__)
            yield train, test

    def _split(self, ids, y):
        """Folds of ``ids`` (a :class:`_TrialIds`, or trial keys)."""
        raise NotImplementedError


class TrialKFold(_TrialSplitter):
    """K folds of whole trials (within one subject), stratified by trial label where possible.

    Trials are the unique ``groups`` values. When ``y`` is discrete (and constant within each trial)
    and some class has at least ``n_splits`` trials, folds are stratified by the trials' labels
    (``StratifiedKFold`` over trials: rarer classes are spread over as many folds as they have
    trials); otherwise they are plain ``KFold`` over trials. A 2-D ``y`` (multi-task labels, one
    row per window) is stratified on each trial's combination of labels. All windows of a trial go
    to the same fold.

    Parameters
    ----------
    n_splits : int, default=5
    shuffle : bool, default=True
        Shuffle trials before folding (trials are otherwise taken in order of first appearance).
    random_state : int or None, default=None
        Seed of the shuffle (only used when ``shuffle=True``).
    stratify : bool, default=True
    """

    def __init__(self, n_splits=5, *, shuffle=True, random_state=None, stratify=True):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state
        self.stratify = stratify

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.n_splits

    def _split(self, ids, y):
        ids = _TrialIds(ids)
        _check_n_splits(self.n_splits)
        codes = _factorize(ids.codes("trial"))  # trials numbered 0.. in order of first appearance
        n_trials = _n_codes(codes)
        if n_trials < self.n_splits:
            subjects = sorted(set(ids.labels("subject").tolist()))
            whose = f" of subject {subjects[0]!r}" if len(subjects) == 1 else ""
            raise ValueError(
                f"Cannot make n_splits={self.n_splits} folds of whole trials from {n_trials} trial(s)"
                f"{whose}; lower n_splits or use LeaveOneTrialOut."
            )
        trial_y = _trial_labels(y, codes, n_trials) if self.stratify else None
        seed = self.random_state if self.shuffle else None
        if trial_y is not None and np.unique(trial_y, return_counts=True)[1].max() >= self.n_splits:
            folds = StratifiedKFold(self.n_splits, shuffle=self.shuffle, random_state=seed)
        else:
            folds = KFold(self.n_splits, shuffle=self.shuffle, random_state=seed)
            trial_y = None
        with warnings.catch_warnings():
            # "The least populated class has only k members": minority trials are spread over k folds.
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            splits = list(folds.split(np.zeros(n_trials), trial_y))
        for train_trials, test_trials in splits:
            yield np.flatnonzero(np.isin(codes, train_trials)), np.flatnonzero(np.isin(codes, test_trials))


def _trial_labels(y, codes, n_trials):
    """One label per trial if ``y`` is discrete and constant within trials, else None.

    For 2-D ``y`` (several discrete targets per window, e.g. valence and arousal classes) the label
    of a trial is its joint row of targets, so folds are stratified on the label combinations.
    """
    if y is None or len(y) != len(codes):
        return None
    y = np.asarray(y)
    if y.ndim not in (1, 2) or (y.ndim == 2 and y.shape[1] == 0):
        return None
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            return None
    elif y.dtype.kind not in "iubUSO":
        return None
    if y.ndim == 2:  # joint label rows -> one code per distinct combination
        try:
            y = np.unique(y, axis=0, return_inverse=True)[1].reshape(-1)
        except TypeError:  # mixed object rows that cannot be ordered
            return None
    first = np.zeros(n_trials, dtype=int)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    trial_y = y[first]
    if np.any(trial_y[codes] != y):
        return None
    return trial_y


class InnerKFold(_TrialSplitter):
    """Inner folds for nested cross-validation, holding out the same unit as the outer protocol.

    With ``unit="auto"`` the unit is read from ``groups`` (trial keys ``"subject/session/trial"``):
    when the windows span several subjects (in the runner, only the training set of a pooled
    protocol: leave-one-subject-out and its stimulus variant, cross-dataset, the leaky pooled
    k-fold), whole subjects are held out, so hyper-parameters are chosen for generalisation to unseen
    subjects, as the outer protocol measures; otherwise (one subject, the within-subject protocols)
    whole trials are held out with :class:`TrialKFold`.

    Subject folds are ``min(n_splits, n_subjects)`` folds of shuffled subjects (fewer subjects than
    ``n_splits`` give leave-one-subject-out).

    With class labels (an integer, boolean or string ``y``, as the runner passes for classification)
    every fold must hold every class on both sides, so an inner score never comes from a test
    fold without the minority class: trial folds are stratified, and a fold that still misses a
    class (fewer minority trials or subjects than folds) raises ``ValueError`` saying which.

    Parameters
    ----------
    n_splits : int, default=3
    unit : {"auto", "subject", "trial"}, default="auto"
    shuffle : bool, default=True
    random_state : int or None, default=None
    """

    def __init__(self, n_splits=3, *, unit="auto", shuffle=True, random_state=None):
        self.n_splits = n_splits
        self.unit = unit
        self.shuffle = shuffle
        self.random_state = random_state

    def _resolve(self, ids):
        check_option("unit", self.unit, ("auto", "subject", "trial"))
        _check_n_splits(self.n_splits)
        if self.unit == "trial":
            return "trial", None
        subject = ids.codes("subject")
        n_subjects = len(np.unique(subject))
        if self.unit == "subject" and n_subjects < 2:
            raise ValueError(
                f"InnerKFold(unit='subject') needs windows from at least 2 subjects, got {n_subjects}."
            )
        return ("subject", subject) if n_subjects >= 2 else ("trial", None)

    def get_n_splits(self, X=None, y=None, groups=None):
        unit, subject = self._resolve(_TrialIds(groups))
        return self.n_splits if unit == "trial" else min(self.n_splits, len(np.unique(subject)))

    def _split(self, ids, y):
        ids = _TrialIds(ids)
        unit, _ = self._resolve(ids)
        for fold, (train, test) in enumerate(self._folds(ids, y)):
            _check_every_class(y, train, test, f"inner fold {fold} of InnerKFold(n_splits={self.n_splits}, "
                                               f"unit={unit!r})")
            yield train, test

    def _folds(self, ids, y):
        unit, subject = self._resolve(ids)
        if unit == "trial":
            yield from TrialKFold(self.n_splits, shuffle=self.shuffle, random_state=self.random_state)._split(ids, y)
            return
        codes = _factorize(subject)
        n_subjects = _n_codes(codes)
        folds = KFold(min(self.n_splits, n_subjects), shuffle=self.shuffle,
                      random_state=self.random_state if self.shuffle else None)
        for train_subjects, test_subjects in folds.split(np.zeros(n_subjects)):
            yield np.flatnonzero(np.isin(codes, train_subjects)), np.flatnonzero(np.isin(codes, test_subjects))


def _check_every_class(y, train, test, where: str) -> None:
    """Raise ``ValueError`` if class labels ``y`` (integer, boolean or text) miss a class on one side."""
    if y is None:
        return
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iubUSO":
        return
    classes = np.unique(y)
    for side, rows in (("test", test), ("training", train)):
        missing = np.setdiff1d(classes, y[rows])
        if missing.size:
            raise ValueError(
                f"{where} has no window of class(es) {missing.tolist()} in its {side} part: the data hold too "
                "few trials (or subjects) of that class for this many inner folds, so the hyper-parameters would "
                "be chosen on folds without it; lower the inner n_splits (nested(..., n_inner_splits=...)) or "
                "drop the search."
            )


class LeaveOneTrialOut(_TrialSplitter):
    """Each trial is the test set once; all other trials in ``groups`` train."""

    def get_n_splits(self, X=None, y=None, groups=None):
        return len(np.unique(_TrialIds(groups).codes("trial")))

    def _split(self, ids, y):
        codes = _factorize(_TrialIds(ids).codes("trial"))
        n_trials = _n_codes(codes)
        if n_trials < 2:
            raise ValueError("LeaveOneTrialOut needs at least 2 trials.")
        for t in range(n_trials):
            yield np.flatnonzero(codes != t), np.flatnonzero(codes == t)


class FirstTrialsSplit(_TrialSplitter):
    """Per subject and session: the first ``n_train`` trials train, the remaining ones test.

    This is SEED's standard subject-dependent protocol (``n_train=9``: trials 1-9 train, 10-15
    test) and SEED-IV's (``n_train=16``). Trial ids are put in natural order (digit runs compare as
    numbers: ``"2"`` before ``"10"``, ``"t2"`` before ``"t10"``).
    One split is produced per (subject, session), and its training set holds only that session's
    first trials.

    Parameters
    ----------
    n_train : int, default=9
    """

    def __init__(self, n_train=9):
        self.n_train = n_train

    def get_n_splits(self, X=None, y=None, groups=None):
        return len(np.unique(_TrialIds(groups).codes("session")))

    def _split(self, ids, y):
        if not isinstance(self.n_train, int | np.integer) or self.n_train < 1:
            raise ValueError(f"Invalid value for the 'n_train' parameter: expected an integer >= 1, got {self.n_train!r}.")
        ids = _TrialIds(ids)
        trial = ids.labels("trial")
        run_codes = _factorize(ids.codes("session"))
        for r in range(_n_codes(run_codes)):
            in_run = run_codes == r
            trial_ids = sorted(set(trial[in_run].tolist()), key=natural_key)
            if len(trial_ids) <= self.n_train:
                run = ids.session_name(int(np.argmax(in_run)))
                raise ValueError(
                    f"Session {run!r} has {len(trial_ids)} trial(s); FirstTrialsSplit(n_train={self.n_train}) "
                    "needs more than n_train trials per session."
                )
            first = np.isin(trial, trial_ids[: self.n_train])
            yield np.flatnonzero(in_run & first), np.flatnonzero(in_run & ~first)


class LeaveOneSessionOut(_TrialSplitter):
    """Each (subject, session) is the test set once; that subject's other sessions train."""

    held_out = ("session",)

    def get_n_splits(self, X=None, y=None, groups=None):
        return len(np.unique(_TrialIds(groups).codes("session")))

    def _split(self, ids, y):
        ids = _TrialIds(ids)
        subject = ids.codes("subject")
        run_codes = _factorize(ids.codes("session"))
        for r in range(_n_codes(run_codes)):
            test = run_codes == r
            first = int(np.argmax(test))
            train = (subject == subject[first]) & ~test
            if not train.any():
                raise ValueError(
                    f"Subject {str(ids.labels('subject')[first])!r} has a single session ({ids.session_name(first)!r}); "
                    "leave-one-session-out needs at least 2 sessions per subject."
                )
            yield np.flatnonzero(train), np.flatnonzero(test)


class LeaveOneSubjectOut(_TrialSplitter):
    """Cross-subject: each subject is the test set once; all other subjects train."""

    held_out = ("subject",)

    def get_n_splits(self, X=None, y=None, groups=None):
        return len(np.unique(_TrialIds(groups).codes("subject")))

    def _split(self, ids, y):
        ids = _TrialIds(ids)
        subjects, codes = np.unique(ids.labels("subject"), return_inverse=True)  # test subjects in sorted order
        if len(subjects) < 2:
            raise ValueError("LeaveOneSubjectOut needs windows from at least 2 subjects.")
        yield from LeaveOneGroupOut().split(np.zeros(len(codes)), groups=codes)


class LeaveOneSubjectOutStimulusKFold(_TrialSplitter):
    """Cross-subject and cross-stimulus: each subject is tested on stimuli no training subject saw.

    The trial id (last part of each key ``"subject/session/trial"``) names the stimulus, shared
    across subjects (e.g. an fMRI stimulus id, a film clip). The distinct stimuli, in order of first
    appearance, are cut into ``n_splits`` folds by ``KFold(n_splits, shuffle=shuffle,
    random_state=random_state)`` (one fold assignment shared by every subject; the same folds as
    :class:`neuroaffect.fmri.StimulusKFold` with the same seed); for each subject (in order of first
    appearance) and fold, the test set is that subject's windows of the fold's stimuli and the
    training set is every *other* subject's windows of the *other* stimuli.
    So the model has seen neither the test subject nor the test stimuli (plain
    :class:`LeaveOneSubjectOut` lets it learn the test stimuli from the other subjects).

    Every window is tested at most once. A (subject, fold) split whose training side would be empty
    (no other subject has windows of the other folds' stimuli) or whose test side is empty is
    skipped, so the windows of a skipped test side are never tested; this happens when subjects saw
    few or different stimuli. :func:`~neuroaffect.evaluation.cross_validate_subjects` warns when it
    happens and records the untested windows per subject in ``config["untested_windows"]``.

    Parameters
    ----------
    n_splits : int, default=5
        Folds of stimuli.
    shuffle : bool, default=True
    random_state : int or None, default=None
    """

    held_out = ("subject", "stimulus")

    def __init__(self, n_splits=5, *, shuffle=True, random_state=None):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None):
        return sum(1 for _ in self._split(_TrialIds(groups), None))

    def _split(self, ids, y):
        _check_n_splits(self.n_splits)
        ids = _TrialIds(ids)
        subject = _factorize(ids.codes("subject"))  # subjects numbered 0.. in order of first appearance
        n_subjects = _n_codes(subject)
        if n_subjects < 2:
            raise ValueError("LeaveOneSubjectOutStimulusKFold needs windows from at least 2 subjects.")
        fold = _stimulus_folds(ids.labels("trial"), self.n_splits, self.shuffle, self.random_state)
        for s in range(n_subjects):
            own = subject == s
            for f in range(self.n_splits):
                held = fold == f
                train, test = np.flatnonzero(~own & ~held), np.flatnonzero(own & held)
                if len(train) and len(test):
                    yield train, test


class DatasetSplit(_TrialSplitter):
    """Cross-dataset: every window of one dataset trains, every window of another tests (one split).

    The dataset is read from the subject part of each key, ``"dataset:subject/session/trial"``
    (the text before the first ``":"``), so two datasets never share a trial key.

    Parameters
    ----------
    train, test : str or None, default=None
        The training and test datasets. None: the first and second dataset in order of
        appearance (then exactly two datasets must be present).
    """

    held_out = ("subject",)

    def __init__(self, train=None, test=None):
        self.train = train
        self.test = test

    def get_n_splits(self, X=None, y=None, groups=None):
        return 1

    def _split(self, ids, y):
        subject = _TrialIds(ids).labels("subject")
        if not all(":" in s for s in subject.tolist()):
            bad = next(s for s in subject.tolist() if ":" not in s)
            raise ValueError(
                f"DatasetSplit needs trial keys 'dataset:subject/session/trial' (dataset-prefixed subject ids), "
                f"got subject {bad!r}."
            )
        dataset = np.array([s.split(":", 1)[0] for s in subject.tolist()])
        names = list(dict.fromkeys(dataset.tolist()))  # in order of first appearance
        if (self.train is None or self.test is None) and len(names) != 2:
            raise ValueError(
                f"DatasetSplit without train/test names needs exactly 2 datasets in the keys, got {names}."
            )
        train = names[0] if self.train is None else self.train
        test = names[1] if self.test is None else self.test
        for role, name in (("train", train), ("test", test)):
            if name not in names:
                raise ValueError(f"DatasetSplit: the {role} dataset {name!r} is not in the keys ({names}).")
        if train == test:
            raise ValueError(f"DatasetSplit: the train and test datasets are the same ({train!r}).")
        yield np.flatnonzero(dataset == train), np.flatnonzero(dataset == test)


class LeakySegmentKFold(BaseCrossValidator):
    """LEAKY: random k-fold over windows, ignoring which trial a window comes from.

    This is the pooled segment-level split used by the papers that report ~99% on DEAP, SEED and
    DREAMER: windows of one trial (and overlapping windows) land in both train and test, so the
    score measures trial identification. Use it only to measure that effect.

    Parameters
    ----------
    n_splits : int, default=5
    shuffle : bool, default=True
    random_state : int or None, default=None
    """

    leakage_free = False
    held_out = ()

    def __init__(self, n_splits=5, *, shuffle=True, random_state=None):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.n_splits

    def split(self, X, y=None, groups=None):
        folds = KFold(self.n_splits, shuffle=self.shuffle, random_state=self.random_state if self.shuffle else None)
        yield from folds.split(np.zeros(_num_samples(X)))


class PerSubject(BaseCrossValidator):
    """Apply a splitter to each subject's windows separately (subject-dependent evaluation).

    ``cv.split(X_s, y_s, groups_s)`` runs on the windows of one subject at a time, with
    ``groups_s`` that subject's trial keys, and the splits of all subjects follow one another
    (subjects in natural order of their ids: ``"s2"`` before ``"s10"``). As
    ``cv=PerSubject(splitter)`` of :func:`~neuroaffect.evaluation.cross_validate_subjects`, each
    subject's folds are fitted and scored separately; a bare splitter there runs on all subjects'
    windows pooled.

    Parameters
    ----------
    cv : scikit-learn splitter
        Any object with ``split(X, y, groups)``, e.g. ``GroupKFold(5)`` (folds of whole trials,
        since ``groups`` are trial keys) or ``KFold(5)`` (folds of windows: leaky).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GroupKFold
    >>> keys = np.array(["s1/1/1", "s1/1/2", "s2/1/1", "s2/1/2"])
    >>> [(tr.tolist(), te.tolist()) for tr, te in PerSubject(GroupKFold(2)).split(np.zeros((4, 1)), groups=keys)]
    [([0], [1]), ([1], [0]), ([2], [3]), ([3], [2])]
    """

    __metadata_request__split = {"groups": True}

    def __init__(self, cv):
        self.cv = cv

    @property
    def leakage_free(self):
        """The wrapped splitter's promise (None when it makes none: the audit decides)."""
        return getattr(self.cv, "leakage_free", None)

    @property
    def held_out(self) -> tuple:
        return tuple(getattr(self.cv, "held_out", ()))

    def get_n_splits(self, X=None, y=None, groups=None):
        return sum(1 for _ in self.split(np.zeros(len(_TrialIds(groups))) if X is None else X, y, groups))

    @_accepts_trial_table
    def split(self, X, y=None, groups=None):
        """Each subject's folds in turn (``groups``: trial keys or trial table, as for
        :meth:`TrialKFold.split`; the wrapped splitter gets that subject's rows of it, as a table
        only when it takes one)."""
        ids = _TrialIds(groups, _num_samples(X))
        labels, codes = ids.labels("subject"), ids.codes("subject")
        table_ok = ids.keys is None and getattr(getattr(type(self.cv), "split", None), "_accepts_trial_table", False)
        keys = None if table_ok else ids.all_keys()
        _, first = np.unique(codes, return_index=True)
        for i in sorted(first.tolist(), key=lambda i: natural_key(labels[i])):
            idx = np.flatnonzero(codes == codes[i])
            y_s = None if y is None else np.asarray(y)[idx]
            groups_s = ids.groups(idx) if table_ok else keys[idx]
            for train, test in self.cv.split(_safe_indexing(X, idx), y_s, groups_s):
                yield idx[np.asarray(train, dtype=int)], idx[np.asarray(test, dtype=int)]
