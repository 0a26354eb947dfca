"""Evaluation protocols: which splitter, applied per subject or to all subjects pooled.

A protocol is named (:data:`PROTOCOLS`) or made from what the caller passes as ``cv`` to
:func:`~neuroaffect.evaluation.cross_validate_subjects` (:func:`resolve_cv`): any scikit-learn
splitter (pooled), :class:`~neuroaffect.evaluation.PerSubject` of one (per subject), or
precomputed train/test window indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_option
from .audit import check_index_splits
from .splitters import (
    DatasetSplit,
    FirstTrialsSplit,
    LeakySegmentKFold,
    LeaveOneSessionOut,
    LeaveOneSubjectOut,
    LeaveOneSubjectOutStimulusKFold,
    LeaveOneTrialOut,
    PerSubject,
    TrialKFold,
)


@dataclass(frozen=True)
class Protocol:
    """A named evaluation protocol.

    Attributes
    ----------
    name : str
    scope : {"subject", "pooled"}
        ``"subject"``: the splitter runs on each subject's windows separately (subject-dependent);
        ``"pooled"``: on all subjects' windows together.
    leakage_free : bool or None
        Whether every split keeps whole trials on one side. True is a promise, checked on every
        split (a split that breaks it raises :class:`~neuroaffect.evaluation.LeakageError`); None
        (a caller's splitter that promises nothing) lets the audit decide: the run is labelled
        leakage-free when no split shares a trial, LEAKY otherwise.
    description : str
    held_out : tuple of str, default=()
        Units every split keeps whole on one side, audited on every split besides trials:
        ``"subject"``, ``"session"`` (a subject's session) and/or ``"stimulus"`` (the trial id,
        shared across subjects).
    tests_every_window : bool, default=True
        Whether the protocol is meant to test every window once (False for the first-trials and
        cross-dataset protocols, whose training windows are never tested); when it is and some
        windows go untested, the runner warns.
    cv : object, optional
        The splitter of a protocol made from a caller's ``cv`` (used as given); None for the named
        protocols, whose splitter is built from ``n_splits`` and ``random_state``.
    """

    name: str
    scope: str
    leakage_free: bool | None
    description: str
    held_out: tuple = ()
    tests_every_window: bool = True
    cv: object = None

    def splitter(self, n_splits=5, random_state=0):
        """The scikit-learn splitter implementing this protocol (``groups`` = trial keys)."""
        if self.cv is not None:
            return self.cv
        return _FACTORIES[self.name](n_splits, random_state)

    @property
    def label(self) -> str:
        return self.name + ("" if self.leakage_free else " (LEAKY)")


_FACTORIES = {
    "within-subject-kfold": lambda k, rs: TrialKFold(k, shuffle=True, random_state=rs),
    "within-subject-loto": lambda k, rs: LeaveOneTrialOut(),
    "seed-9-6": lambda k, rs: FirstTrialsSplit(n_train=9),
    "seed-iv-16-8": lambda k, rs: FirstTrialsSplit(n_train=16),
    "leave-one-session-out": lambda k, rs: LeaveOneSessionOut(),
    "leave-one-subject-out": lambda k, rs: LeaveOneSubjectOut(),
    "leave-one-subject-out-stimulus-kfold":
        lambda k, rs: LeaveOneSubjectOutStimulusKFold(k, shuffle=True, random_state=rs),
    "cross-dataset": lambda k, rs: DatasetSplit(),
    "leaky-segment-kfold": lambda k, rs: LeakySegmentKFold(k, shuffle=True, random_state=rs),
    "leaky-within-subject-kfold": lambda k, rs: LeakySegmentKFold(k, shuffle=True, random_state=rs),
}

PROTOCOLS = {
    p.name: p
    for p in [
        Protocol("within-subject-kfold", "subject", True,
                 "Subject-dependent: k folds of whole trials within each subject, stratified by trial label."),
        Protocol("within-subject-loto", "subject", True,
                 "Subject-dependent: leave one trial out within each subject."),
        Protocol("seed-9-6", "subject", True,
                 "SEED standard: per subject and session, the first 9 trials train and the last 6 test.",
                 tests_every_window=False),
        Protocol("seed-iv-16-8", "subject", True,
                 "SEED-IV standard: per subject and session, the first 16 trials train and the last 8 test.",
                 tests_every_window=False),
        Protocol("leave-one-session-out", "subject", True,
                 "Cross-session: each session of a subject is tested with a model trained on that subject's other sessions.",
                 held_out=("session",)),
        Protocol("leave-one-subject-out", "pooled", True,
                 "Cross-subject: each subject is tested with a model trained on all other subjects.",
                 held_out=("subject",)),
        Protocol("leave-one-subject-out-stimulus-kfold", "pooled", True,
                 "Cross-subject and cross-stimulus: the stimuli (trial ids, shared across subjects) are cut into k "
                 "folds; each subject's trials of one fold are tested with a model trained on the other subjects' "
                 "trials of the other folds, so neither the test subject nor the test stimuli were seen in training.",
                 held_out=("subject", "stimulus")),
        Protocol("cross-dataset", "pooled", True,
                 "Cross-dataset: a model trained on every window of one dataset is tested on every window of "
                 "another (subject ids 'dataset:subject'; the first dataset trains). The two share no trial by "
                 "construction; only the test dataset's subjects are scored.",
                 held_out=("subject",), tests_every_window=False),
        Protocol("leaky-segment-kfold", "pooled", False,
                 "LEAKY pooled segment-level k-fold: all subjects' windows pooled and split at random, so windows "
                 "of one trial (and overlapping windows) are in both train and test. Measures trial identification; "
                 "shown only to expose the inflation behind ~99% results."),
        Protocol("leaky-within-subject-kfold", "subject", False,
                 "LEAKY within-subject segment-level k-fold: each subject's windows are shuffled into k folds, as "
                 "the subject-dependent papers did, so windows of one trial (and overlapping windows) are in both "
                 "train and test. The leaky counterpart of within-subject-kfold, shown only to expose the inflation."),
    ]
}


def get_protocol(name: str) -> Protocol:
    """Return the :class:`Protocol` called ``name`` (see ``PROTOCOLS``)."""
    check_option("protocol", name, tuple(PROTOCOLS))
    return PROTOCOLS[name]


class _IndexSplits:
    """Precomputed (train, test) window indices as a splitter (``split`` ignores its arguments)."""

    leakage_free = None
    held_out = ()

    def __init__(self, folds):
        self.folds = [(np.asarray(tr), np.asarray(te)) for tr, te in folds]

    def get_n_splits(self, X=None, y=None, groups=None):
        return len(self.folds)

    def split(self, X=None, y=None, groups=None):
        yield from self.folds

    def restrict(self, kept, n_windows) -> _IndexSplits:
        """The folds checked against the caller's ``n_windows`` windows, re-indexed into the windows
        ``kept`` (e.g. after unlabelled trials were dropped); dropped windows leave every fold."""
        folds = check_index_splits(self.folds, n_windows)
        position = np.full(n_windows, -1)
        position[np.asarray(kept, dtype=int)] = np.arange(len(kept))
        out = []
        for fold, (train, test) in enumerate(folds):
            train, test = position[train], position[test]
            train, test = train[train >= 0], test[test >= 0]
            if not len(train) or not len(test):
                raise ValueError(f"Invalid value for the 'cv' parameter: fold {fold} has no labelled "
                                 f"{'training' if not len(train) else 'test'} window left after unlabelled "
                                 "trials were dropped.")
            out.append((train, test))
        return _IndexSplits(out)

    def __repr__(self) -> str:
        return f"precomputed splits ({len(self.folds)} folds)"


def resolve_cv(cv) -> Protocol:
    """The :class:`Protocol` a ``cv`` value of :func:`~neuroaffect.evaluation.cross_validate_subjects` stands for.

    Parameters
    ----------
    cv : str, splitter, PerSubject or iterable of (train, test)
        A protocol name (one of :data:`PROTOCOLS`); a scikit-learn splitter (an object with
        ``split(X, y, groups)``), run on all subjects' windows pooled with ``groups`` = trial keys;
        :class:`~neuroaffect.evaluation.PerSubject` of a splitter, run on each subject's windows;
        or precomputed (train, test) integer index arrays into the windows, used as given.

    Returns
    -------
    Protocol
        For a caller's splitter: named by its repr; ``leakage_free`` and ``held_out`` are what the
        splitter promises (its attributes of those names; None and () when it has none), and
        ``tests_every_window`` is False.

    Raises
    ------
    ValueError
        If ``cv`` is none of these (an unknown protocol name, an integer, ...).
    """
    if isinstance(cv, str):
        return get_protocol(cv)
    audited = "every split is audited for shared trials and overlapping windows and the run labelled LEAKY if one leaks"
    if isinstance(cv, PerSubject):
        return Protocol(repr(cv), "subject", cv.leakage_free,
                        f"Subject-dependent: {cv.cv!r} applied to each subject's windows (groups = trial keys); "
                        f"{audited}.", held_out=cv.held_out, tests_every_window=False, cv=cv.cv)
    if hasattr(cv, "split"):
        return Protocol(repr(cv), "pooled", getattr(cv, "leakage_free", None),
                        f"{cv!r} applied to all subjects' windows pooled (groups = trial keys); {audited}.",
                        held_out=tuple(getattr(cv, "held_out", ())), tests_every_window=False, cv=cv)
    if isinstance(cv, int | np.integer | float) or not hasattr(cv, "__iter__"):
        raise ValueError(
            f"Invalid value for the 'cv' parameter. Expected a protocol name (one of {', '.join(PROTOCOLS)}), a "
            "scikit-learn splitter, PerSubject(splitter) or a list of (train, test) index arrays, but got "
            f"{cv!r}" + (" (the number of folds is n_splits)." if isinstance(cv, int | np.integer) else ".")
        )
    splits = _IndexSplits(check_index_splits(cv, None))
    return Protocol(repr(splits), "pooled", None,
                    f"Train/test window indices given by the caller, used as given; {audited}.", cv=splits)
