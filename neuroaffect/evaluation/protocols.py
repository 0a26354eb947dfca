"""Named evaluation protocols: which splitter, applied per subject or to all subjects pooled."""

from __future__ import annotations

from dataclasses import dataclass

from .._validation import check_option
from .splitters import (
    DatasetSplit,
    FirstTrialsSplit,
    LeakySegmentKFold,
    LeaveOneSessionOut,
    LeaveOneSubjectOut,
    LeaveOneSubjectOutStimulusKFold,
    LeaveOneTrialOut,
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
    leakage_free : bool
        Whether every split keeps whole trials on one side (checked on every split).
    description : str
    held_out : tuple of str, default=()
        Units every split keeps whole on one side, audited on every split besides trials:
        ``"subject"``, ``"session"`` (a subject's session) and/or ``"stimulus"`` (the trial id,
        shared across subjects).
    tests_every_window : bool, default=True
        Whether the protocol is meant to test every window once (False for the first-trials and
        cross-dataset protocols, whose training windows are never tested); when it is and some
        windows go untested, the runner warns.
    """

    name: str
    scope: str
    leakage_free: bool
    description: str
    held_out: tuple = ()
    tests_every_window: bool = True

    def splitter(self, n_splits=5, random_state=0):
        """The scikit-learn splitter implementing this protocol (``groups`` = trial keys)."""
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
