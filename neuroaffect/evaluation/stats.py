"""Permutation p-values, bootstrap confidence intervals and paired comparisons of pipelines across subjects."""

from __future__ import annotations

import itertools

import numpy as np
from scipy import stats as _stats
from sklearn.utils import check_random_state


def permutation_p_value(observed: float, null) -> float:
    """One-sided p-value ``(#{null >= observed} + 1) / (n_permutations + 1)``.

    ``null`` holds the score of each label permutation; NaN entries are ignored.
    """
    null = np.asarray(null, dtype=float)
    null = null[np.isfinite(null)]
    if not np.isfinite(observed) or len(null) == 0:
        return float("nan")
    tie = 1e-12 * max(1.0, abs(observed))  # scores equal up to rounding count as ties (>=)
    return float((np.sum(null >= observed - tie) + 1) / (len(null) + 1))


def group_permutation_p_value(observed, null, *, n_resamples=10000, random_state=0) -> float:
    """p-value of the mean score across subjects from per-subject permutation nulls.

    Subjects are independent, so the null distribution of the group mean is that of the mean of one
    independent draw from each subject's null. It is sampled by drawing, ``n_resamples`` times, one
    permutation per subject at random and averaging (Stelzer et al. 2013, NeuroImage 65:69-82):
    a few permutations per subject then give a fine-grained group p-value.
    ``p = (#{null means >= observed mean} + 1) / (n_resamples + 1)``, but never below
    ``1 / (n_combinations + 1)``, where ``n_combinations = n_permutations ** n_subjects`` is the number
    of distinct null means (one subject with 20 permutations: at least 1/21, as its own p-value).

    Parameters
    ----------
    observed : array-like, shape (n_subjects,)
        Each subject's score with the true labels.
    null : array-like, shape (n_permutations, n_subjects)
        Each subject's score under each permutation of its (whole-trial) labels.
    n_resamples : int, default=10000
    random_state : int, default=0
    """
    observed, null = np.asarray(observed, dtype=float), np.asarray(null, dtype=float)
    if null.ndim != 2 or null.shape[1] != observed.shape[0]:
        raise ValueError(f"null must have shape (n_permutations, {observed.shape[0]}), got {null.shape}.")
    keep = np.isfinite(observed) & np.all(np.isfinite(null), axis=0)
    if not keep.any() or len(null) == 0:
        return float("nan")
    observed, null = observed[keep], null[:, keep]
    rng = check_random_state(random_state)
    draws = rng.randint(0, len(null), size=(n_resamples, null.shape[1]))
    means = null[draws, np.arange(null.shape[1])].mean(axis=1)
    n_combinations = float(len(null)) ** null.shape[1]
    return max(permutation_p_value(observed.mean(), means), 1.0 / (min(n_combinations, n_resamples) + 1))


def bootstrap_ci(values, *, confidence=0.95, n_resamples=10000, random_state=0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of ``values`` (e.g. across subjects).

    ``n_resamples`` times, ``len(values)`` values are drawn with replacement and averaged; the
    interval runs from the ``(1 - confidence) / 2`` to the ``(1 + confidence) / 2`` quantile of
    those means. Non-finite values are ignored. With fewer than two finite values there is no
    spread to resample and both bounds are NaN.

    Parameters
    ----------
    values : array-like, shape (n_subjects,)
        One score per subject.
    confidence : float, default=0.95
        Coverage of the interval, in (0, 1).
    n_resamples : int, default=10000
    random_state : int, default=0
        Seed of the resampling: the same values give the same interval.

    Returns
    -------
    low, high : float
        The interval's bounds, in the unit of ``values``.

    Examples
    --------
    >>> low, high = bootstrap_ci([0.55, 0.6, 0.62, 0.7, 0.58])
    >>> bool(low < 0.61 < high)
    True
    """
    if not 0 < confidence < 1:
        raise ValueError(f"Invalid value for the 'confidence' parameter: expected a number in (0, 1), got {confidence!r}.")
    if not isinstance(n_resamples, int | np.integer) or n_resamples < 1:
        raise ValueError(f"Invalid value for the 'n_resamples' parameter: expected an integer >= 1, got {n_resamples!r}.")
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return float("nan"), float("nan")
    rng = check_random_state(random_state)
    means = v[rng.randint(0, len(v), size=(n_resamples, len(v)))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)


def paired_sign_flip_test(a, b, *, n_permutations=10000, random_state=0, exact_below=16) -> dict:
    """Two-sided paired permutation t-test by sign flips of the per-subject differences.

    All ``2**n`` sign patterns are enumerated when ``n < exact_below`` subjects (exact p-value);
    otherwise ``n_permutations`` random patterns are drawn and ``p = (count + 1) / (n + 1)``.
    Under sign flips the sum of squared differences is fixed, so ``|t|`` is monotone in ``|mean|``
    and the mean difference is used as the statistic.
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    d = d[np.isfinite(d)]
    n = len(d)
    if n < 2:
        return {"test": "paired sign-flip permutation", "n_subjects": n, "statistic": float("nan"),
                "p_value": float("nan"), "mean_difference": float("nan")}
    sd = d.std(ddof=1)
    t = float(d.mean() / (sd / np.sqrt(n))) if sd > 0 else float("inf") * np.sign(d.mean())
    observed = abs(d.mean())
    tol = 1e-12 * max(1.0, observed)
    if n < exact_below:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        null = np.abs(signs @ d) / n
        p = float(np.mean(null >= observed - tol))
    else:
        rng = check_random_state(random_state)
        signs = rng.choice((1.0, -1.0), size=(n_permutations, n))
        null = np.abs(signs @ d) / n
        p = float((np.sum(null >= observed - tol) + 1) / (n_permutations + 1))
    return {"test": "paired sign-flip permutation", "n_subjects": n, "statistic": t,
            "p_value": p, "mean_difference": float(d.mean())}


def compare_pipelines(scores_a, scores_b, *, n_permutations=10000, random_state=0) -> dict:
    """Compare two pipelines' per-subject scores (same subjects, same order).

    Below 20 subjects: paired sign-flip permutation t-test (:func:`paired_sign_flip_test`); at 20
    or more: Wilcoxon signed-rank test (two-sided). Returns the test's name, statistic, p-value,
    mean difference (a - b) and number of subjects.
    """
    a, b = np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"scores_a and scores_b must have the same shape, got {a.shape} and {b.shape}.")
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if len(a) < 20:
        return paired_sign_flip_test(a, b, n_permutations=n_permutations, random_state=random_state)
    res = _stats.wilcoxon(a, b)
    return {"test": "Wilcoxon signed-rank", "n_subjects": len(a), "statistic": float(res.statistic),
            "p_value": float(res.pvalue), "mean_difference": float(np.mean(a - b))}
