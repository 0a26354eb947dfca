"""Agreement scores shared by the estimators and the evaluation (metrics, reports).

The regressors' ``score`` is scikit-learn's R^2; the concordance correlation is the evaluation's
``"ccc"`` metric and is computed explicitly where it is meant.
"""

from __future__ import annotations

import numpy as np


def concordance_correlation(y_true, y_pred) -> float:
    """Lin's (1989) concordance correlation coefficient (CCC), averaged over output columns.

    ``2 cov(t, p) / (var(t) + var(p) + (mean(t) - mean(p))**2)`` with population (1/n) moments,
    computed per column of 2-D inputs and averaged.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_samples,) or (n_samples, n_outputs)

    Returns
    -------
    float
        In [-1, 1]; NaN when, in some column, both inputs are constant and equal (the ratio is
        undefined).

    Examples
    --------
    >>> concordance_correlation([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    1.0
    >>> round(concordance_correlation([-1.5, -0.5, 0.5, 1.5], [-0.5, 0.5, 1.5, 2.5]), 4)  # bias 1
    0.7143
    """
    t = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    t, p = t.reshape(len(t), -1), p.reshape(len(p), -1)
    mt, mp = t.mean(0), p.mean(0)
    cov = ((t - mt) * (p - mp)).mean(0)
    denom = t.var(0) + p.var(0) + (mt - mp) ** 2
    if np.any(denom <= 0):
        return float("nan")
    return float(np.mean(2 * cov / denom))
