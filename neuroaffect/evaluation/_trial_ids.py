"""The windows' ids as the splitters read them (:class:`_TrialIds`), the checks they share, and the one
way stimuli are assigned to folds (:func:`_stimulus_folds`)."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold

from .._keys import _factorize, is_trial_table, keys_table, make_trial_keys
from .._keys import check_trial_keys as _check_keys
from .audit import LeakageError


def _n_codes(codes) -> int:
    """How many values integer codes 0, 1, ... (:func:`~neuroaffect._keys._factorize`) number."""
    return int(codes.max(initial=-1)) + 1


def _check_n_splits(n_splits) -> None:
    if not isinstance(n_splits, int | np.integer) or n_splits < 2:
        raise ValueError(f"Invalid value for the 'n_splits' parameter: expected an integer >= 2, got {n_splits!r}.")


class _TrialIds:
    """The windows' ids as a splitter reads them: ``groups`` given as trial keys or as a trial table.

    Keys are kept as given and parsed (once) only when a subject or session is asked for, so the
    within-subject splitters that need only trials accept any key strings. A trial table
    (:func:`neuroaffect._keys.trial_table`, e.g. ``WindowTokens.metadata``) is used as it is.
    """

    def __init__(self, groups, n_samples=None):
        self._key_codes = None
        if isinstance(groups, _TrialIds):
            self.keys, self._table, self._key_codes = groups.keys, groups._table, groups._key_codes
            return
        if is_trial_table(groups):
            if n_samples is not None and len(groups) != n_samples:
                raise ValueError(f"groups has {len(groups)} entries but X has {n_samples} windows.")
            self.keys, self._table = None, groups.reset_index(drop=True)
        else:
            self.keys, self._table = _check_keys(groups, n_samples), None

    def __len__(self) -> int:
        return len(self.keys) if self._table is None else len(self._table)

    @property
    def table(self):
        if self._table is None:
            self._table = keys_table(self.keys)
        return self._table

    def codes(self, unit: str) -> np.ndarray:
        """Integer code of each window's ``unit`` ("subject", "session" or "trial")."""
        if unit == "trial" and self._table is None:  # any key names a trial: no parsing needed
            if self._key_codes is None:
                self._key_codes = _factorize(self.keys)
            return self._key_codes
        return self.table[f"{unit}_code"].to_numpy()

    def labels(self, unit: str) -> np.ndarray:
        """Each window's ``unit`` id as text ("subject", "session" or "trial"; unescaped)."""
        return self.table[unit].to_numpy(dtype=object).astype(str)

    def key(self, i: int) -> str:
        """The trial key of window ``i`` (for messages)."""
        if self.keys is not None:
            return str(self.keys[i])
        row = self._table.iloc[[int(i)]]
        return str(make_trial_keys(row["subject"], row["session"], row["trial"])[0])

    def session_name(self, i: int) -> str:
        """``"subject/session"`` of window ``i`` (for messages)."""
        return f"{self.labels('subject')[i]}/{self.labels('session')[i]}"

    def groups(self, index):
        """``groups`` of the windows ``index`` in the form given (keys, or the table's rows)."""
        if self.keys is not None:
            return self.keys[index]
        return self._table.iloc[np.asarray(index, dtype=np.intp)].reset_index(drop=True)

    def all_keys(self) -> np.ndarray:
        if self.keys is None:
            t = self._table
            self.keys = make_trial_keys(t["subject"].to_numpy(), t["session"].to_numpy(), t["trial"].to_numpy())
        return self.keys


def _check_no_shared_trials(ids: _TrialIds, train: np.ndarray, test: np.ndarray, who: str):
    trial = ids.codes("trial")
    shared = np.intersect1d(trial[train], trial[test])
    if len(shared):
        first = ids.key(int(np.flatnonzero(trial == shared[0])[0]))
        raise LeakageError(
            f"{who} produced a split with {len(shared)} trial(s) in both train and test "
            f"(first: {first!r}); this must never happen for a leakage-free protocol."
        )


def _accepts_trial_table(split):
    """Mark a ``split`` method that takes a trial table as ``groups`` (the runner passes it one)."""
    split._accepts_trial_table = True
    return split


def _stimulus_folds(stimulus, n_splits, shuffle=True, random_state=None) -> np.ndarray:
    """The fold (0 .. ``n_splits`` - 1) of each row's stimulus: the one way stimuli are assigned to folds.

    The distinct stimuli (the trial ids: one stimulus, any subject) are numbered in order of first
    appearance and cut into ``n_splits`` folds by ``KFold(n_splits, shuffle=shuffle,
    random_state=random_state)`` (``random_state`` used only when shuffling); all rows of a stimulus
    share its fold, whoever saw it. :class:`LeaveOneSubjectOutStimulusKFold` and
    :class:`neuroaffect.fmri.StimulusKFold` both fold stimuli here, so one seed gives them the same
    folds.

    Parameters
    ----------
    stimulus : array-like, shape (n_rows,)
        Each row's stimulus id (e.g. ``_TrialIds.labels("trial")``).
    n_splits : int
        At least 2 (checked by the caller) and at most the number of distinct stimuli.
    shuffle : bool, default=True
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    fold : ndarray of int, shape (n_rows,)
    """
    codes = _factorize(np.asarray(stimulus))  # stimuli numbered 0.. in order of first appearance
    n_stimuli = _n_codes(codes)
    if n_stimuli < n_splits:
        raise ValueError(
            f"Cannot make n_splits={n_splits} folds of stimuli from {n_stimuli} distinct stimuli; lower n_splits."
        )
    fold_of = np.empty(n_stimuli, dtype=np.intp)
    folds = KFold(n_splits, shuffle=shuffle, random_state=random_state if shuffle else None)
    for f, (_, test_stimuli) in enumerate(folds.split(np.zeros(n_stimuli))):
        fold_of[test_stimuli] = f
    return fold_of[codes]
