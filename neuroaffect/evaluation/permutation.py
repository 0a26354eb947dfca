"""Label-permutation tests of a cross-validated decoder, on their own (as ``permutation_test_score``).

:func:`permutation_test` runs the cross-validation of :func:`~neuroaffect.evaluation.cross_validate_subjects`
once with the true labels and ``n_permutations`` times with permuted labels, and returns the
observed scores, the null distributions and the p-values at window and at trial level
(:class:`PermutationTestResult`). The labels are permuted by :func:`permuted_trial_labels`: whole
trials' labels shuffled within each subject, so every window keeps its trial's (new) label and no
label crosses subjects. Each permutation re-fits every fold: the null includes everything the
model learns.

It is the same job machinery as ``cross_validate_subjects(..., n_permutations=N)`` (the same label
sets, folds, seeds and stored jobs): for the same arguments both give the same null. With
``results_dir``, the jobs of an earlier ``cross_validate_subjects`` run with the same arguments
are loaded rather than fitted again, so the permutations can be run later, separately from the
cross-validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._logging import verbose

__all__ = ["PermutationTestResult", "permutation_test", "permuted_trial_labels"]

LEVELS = ("window", "trial")


def permuted_trial_labels(y, trial_key, subject, *, n_permutations, random_state=0) -> np.ndarray:
    """The permuted label sets of a permutation test: whole trials' labels shuffled within each subject.

    Permutation ``p`` (1-based) is drawn from ``numpy.random.default_rng([random_state, p])``, as
    :func:`~neuroaffect.evaluation.cross_validate_subjects` draws them: within each subject the
    trials' labels (a trial's label is that of its first window) are permuted among its trials,
    and every window takes its trial's new label.

    Parameters
    ----------
    y : array-like, shape (n_windows,)
        One label (class code or rating) per window, the same for all windows of a trial.
    trial_key : array-like of str, shape (n_windows,)
        Trial of each window (e.g. ``WindowTokens.trial_key``).
    subject : array-like of str, shape (n_windows,)
        Subject of each window.
    n_permutations : int
        Number of label sets (>= 0).
    random_state : int, default=0

    Returns
    -------
    labels : ndarray, shape (n_permutations, n_windows)
        Row ``p - 1`` holds permutation ``p``.
    """
    y = np.asarray(y)
    keys, subject = np.asarray(trial_key).astype(str), np.asarray(subject).astype(str)
    if not (y.ndim == 1 and keys.shape == subject.shape == y.shape):
        raise ValueError(f"y, trial_key and subject must have one entry per window, got shapes {y.shape}, "
                         f"{keys.shape} and {subject.shape}.")
    _check_count(n_permutations, minimum=0)
    if not isinstance(random_state, int | np.integer) or random_state < 0:
        raise ValueError(f"Invalid value for the 'random_state' parameter: expected an integer >= 0, got "
                         f"{random_state!r}.")
    out = np.empty((n_permutations, len(y)), dtype=y.dtype)
    for p in range(1, n_permutations + 1):
        out[p - 1] = _permute_within_subjects(y, keys, subject, np.random.default_rng([random_state, p]))
    return out


def _permute_within_subjects(y, keys, subject, rng) -> np.ndarray:
    """``y`` with whole trials' labels shuffled by ``rng`` within each subject (subjects in sorted
    order; a trial's label is that of its first window, and every window takes its trial's new label)."""
    y_perm = np.array(y, copy=True)
    for s in np.unique(subject):
        idx = np.flatnonzero(subject == s)
        _, first, codes = np.unique(keys[idx], return_index=True, return_inverse=True)
        y_perm[idx] = rng.permutation(y[idx][first])[codes]
    return y_perm


@dataclass
class PermutationTestResult:
    """Observed scores, permutation nulls and p-values of one decoder, per subject, at both levels.

    Every per-subject array has one entry per scored subject, in the order of :attr:`subjects`
    (natural order of the ids, as ``CVResult.subjects``). Levels are ``"window"`` (every test
    window) and ``"trial"`` (the mean window probability or prediction per test trial); the score
    is :attr:`metric` at both.

    Attributes
    ----------
    metric : str
        The score tested (the run's primary metric, e.g. ``"balanced_accuracy"`` or ``"ccc"``).
    subjects : ndarray of str, shape (n_subjects,)
    observed : dict of str to ndarray, shape (n_subjects,)
        Per level, each subject's score with the true labels.
    null : dict of str to ndarray, shape (n_permutations, n_subjects)
        Per level, each subject's score under each label permutation (NaN where a permutation
        could not be scored).
    p_values : dict of str to ndarray, shape (n_subjects,)
        Per level, one-sided ``(#{null >= observed} + 1) / (n_permutations + 1)`` per subject
        (:func:`~neuroaffect.evaluation.permutation_p_value`).
    group_p_value : dict of str to float
        Per level, the p-value of the mean over the subjects in the mean (``in_mean``), from the
        per-subject nulls (:func:`~neuroaffect.evaluation.group_permutation_p_value`); NaN when no
        subject is in the mean.
    chance : dict of str to ndarray, shape (n_subjects,)
        Per level, the mean of each subject's null: the empirical chance level.
    in_mean : ndarray of bool, shape (n_subjects,)
        False for subjects whose test windows hold one class only (they keep their row but stay
        out of the group p-value).
    n_permutations : int
    cv_result : CVResult
        The whole run with the true labels (folds, audit, predictions), whose ``permutation``
        section holds the same null.
    """

    metric: str
    subjects: np.ndarray
    observed: dict
    null: dict
    p_values: dict
    group_p_value: dict
    chance: dict
    in_mean: np.ndarray
    n_permutations: int
    cv_result: object = field(repr=False, default=None)

    @classmethod
    def from_cv_result(cls, result) -> PermutationTestResult:
        """The permutation test recorded in a :class:`~neuroaffect.evaluation.CVResult` run with ``n_permutations > 0``."""
        perm = getattr(result, "permutation", None)
        if not perm:
            raise ValueError("This CVResult holds no permutations; run cross_validate_subjects(..., n_permutations=N) "
                             "with N >= 1, or permutation_test.")
        metric = perm["metric"]
        rows = result.subjects
        null = {"window": np.asarray(perm["null"], dtype=float).reshape(-1, len(rows)),
                "trial": np.asarray(perm["null_trial"], dtype=float).reshape(-1, len(rows))}
        summary = result.summary
        return cls(
            metric=metric,
            subjects=np.array([r["subject"] for r in rows], dtype=str),
            observed={level: result.scores(metric, level) for level in LEVELS},
            null=null,
            p_values={level: np.array([_nan(r.get("p_value" + suffix)) for r in rows])
                      for level, suffix in (("window", ""), ("trial", "_trial"))},
            group_p_value={level: _nan(summary.get("group_p_value" + suffix))
                           for level, suffix in (("window", ""), ("trial", "_trial"))},
            chance={level: np.array([_nan(r.get("null_mean" + suffix)) for r in rows])
                    for level, suffix in (("window", ""), ("trial", "_trial"))},
            in_mean=np.array([bool(r.get("in_mean", True)) for r in rows]),
            n_permutations=int(perm["n_permutations"]),
            cv_result=result,
        )


@verbose
def permutation_test(
    tokens,
    estimator,
    *,
    target="valence",
    task="binary",
    cv=None,
    protocol=None,
    n_splits=5,
    metric=None,
    n_permutations=100,
    n_jobs=1,
    results_dir=None,
    random_state=0,
    progress=True,
    drop_unlabelled=False,
) -> PermutationTestResult:
    """Permutation test of a cross-validated decoder: observed scores, null distributions, p-values.

    The counterpart of scikit-learn's ``permutation_test_score`` for this library's runs: the
    cross-validation of :func:`~neuroaffect.evaluation.cross_validate_subjects` (same protocols,
    splitters, leakage audit and jobs) is run with the true labels and with ``n_permutations``
    label sets of :func:`permuted_trial_labels` (whole trials' labels shuffled within each
    subject), re-fitting every fold each time; each subject's scores are compared with their null.
    It costs ``n_permutations + 1`` cross-validations; the result is the one
    ``cross_validate_subjects(..., n_permutations=n_permutations)`` records for the same arguments.

    Parameters
    ----------
    tokens : WindowTokens, StimulusResponses or any SampleContainer
        The samples of all subjects, as in :func:`~neuroaffect.evaluation.cross_validate_subjects`:
        EEG windows (:class:`~neuroaffect.features.tokens.WindowTokens`), fMRI stimulus responses
        (:class:`~neuroaffect.fmri.StimulusResponses`), or any object with the members of
        :class:`~neuroaffect.evaluation.SampleContainer`.
    estimator : scikit-learn estimator
        Cloned per fold, as in :func:`~neuroaffect.evaluation.cross_validate_subjects`.
    target, task, cv, protocol, n_splits, metric, n_jobs, drop_unlabelled
        As in :func:`~neuroaffect.evaluation.cross_validate_subjects`; ``metric`` (default:
        balanced accuracy for classification, CCC for regression) is the score tested.
    n_permutations : int, default=100
        Label permutations (>= 1). The smallest possible p-value is ``1 / (n_permutations + 1)``.
    results_dir : path-like, optional
        Where each finished job is stored. Jobs already stored there by a run with the same
        estimator, data, cv and seed (a ``cross_validate_subjects`` run included) are loaded, not
        fitted again: run the cross-validation first and the permutations later.
    random_state : int or None, default=0
        Seed of fold assignment, permutations (:func:`permuted_trial_labels`) and unseeded
        estimators.
    progress : bool, default=True
        Show a progress bar over the jobs.

    Returns
    -------
    PermutationTestResult
        ``observed[level]`` (n_subjects,), ``null[level]`` (n_permutations, n_subjects),
        ``p_values[level]`` (n_subjects,), ``group_p_value[level]``, ``chance[level]``, for
        ``level`` in ``("window", "trial")``, and the run itself (``cv_result``).

    Examples
    --------
    >>> from neuroaffect.datasets import make_tokens
    >>> from neuroaffect.estimators import make_estimator
    >>> tokens = make_tokens(n_subjects=2, n_trials=10, n_windows=2)
    >>> res = permutation_test(tokens, make_estimator("de-logreg"), n_permutations=3, progress=False)
    >>> res.null["window"].shape, res.p_values["trial"].shape  # (n_permutations, n_subjects), (n_subjects,)
    ((3, 2), (2,))
    """
    from .runner import cross_validate_subjects

    _check_count(n_permutations, minimum=1)
    result = cross_validate_subjects(
        tokens, estimator, target=target, task=task, cv=cv, protocol=protocol, n_splits=n_splits, metric=metric,
        n_permutations=n_permutations, n_jobs=n_jobs, results_dir=results_dir, random_state=random_state,
        progress=progress, drop_unlabelled=drop_unlabelled,
    )
    return PermutationTestResult.from_cv_result(result)


def _check_count(n_permutations, minimum):
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, int | np.integer) or n_permutations < minimum:
        raise ValueError(f"Invalid value for the 'n_permutations' parameter: expected an integer >= {minimum}, "
                         f"got {n_permutations!r}.")


def _nan(value) -> float:
    return float("nan") if value is None else float(value)
