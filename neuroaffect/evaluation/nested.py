"""Nested cross-validation: hyper-parameters chosen on inner splits of the training trials only."""

from __future__ import annotations

from sklearn.model_selection import GridSearchCV

from .splitters import TrialKFold


def nested(estimator, param_grid, *, n_inner_splits=3, scoring=None, n_jobs=None, random_state=0, refit=True):
    """Wrap ``estimator`` in a ``GridSearchCV`` whose inner splits are whole training trials.

    The returned search must be fitted with ``groups`` = the training windows' trial keys;
    :func:`~neuroaffect.evaluation.cross_validate_subjects` does this on every outer fold, so the
    grid is only ever scored on held-out *training* trials and the outer test trials never
    influence the choice. Fitting it without ``groups`` raises.

    Parameters
    ----------
    estimator : scikit-learn estimator
    param_grid : dict or list of dict
    n_inner_splits : int, default=3
        Folds of whole trials inside each outer training set.
    scoring : str or callable, optional
        Default: the estimator's ``score`` (accuracy for classifiers).
    n_jobs : int, optional
    random_state : int, default=0
        Seed of the inner fold assignment.

    Returns
    -------
    GridSearchCV
    """
    inner = TrialKFold(n_inner_splits, shuffle=True, random_state=random_state)
    return GridSearchCV(estimator, param_grid, cv=inner, scoring=scoring, n_jobs=n_jobs, refit=refit)
