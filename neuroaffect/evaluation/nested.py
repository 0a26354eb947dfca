"""Nested cross-validation: hyper-parameters chosen on inner splits of the training trials only."""

from __future__ import annotations

import inspect

import numpy as np
from sklearn import get_config
from sklearn.model_selection import GridSearchCV

from .splitters import InnerKFold, _check_keys


class NestedGridSearchCV(GridSearchCV):
    """``GridSearchCV`` that also gives ``groups`` to the searched estimator.

    scikit-learn's search passes ``groups`` only to its splitter. Here, when the estimator's ``fit``
    accepts ``groups`` (e.g. the electrode-attention and Braindecode estimators, which hold out
    whole trials for early stopping), every inner fit receives the ``groups`` of its own training
    rows and the refit receives all of them, so the searched model is the same model the plain
    estimator would be (with early stopping). ``groups`` is required.

    Parameters are those of :class:`~sklearn.model_selection.GridSearchCV`. When metadata routing
    is enabled globally, scikit-learn's routing is used unchanged (request ``groups`` with
    ``set_fit_request``).
    """

    def fit(self, X, y=None, **params):
        """Run the search; ``groups`` (the windows' trial keys) must be given.

        Parameters
        ----------
        X : array-like, shape (n_windows, ...)
        y : array-like, shape (n_windows,) or (n_windows, n_targets)
        **params : dict
            ``groups`` (required) and any other fit parameters of the estimator.

        Returns
        -------
        self
        """
        _check_keys(params.get("groups"), len(X))
        return super().fit(X, y, **params)

    def _get_routed_params_for_fit(self, params):
        routed = super()._get_routed_params_for_fit(params)
        groups = params.get("groups")
        if not get_config().get("enable_metadata_routing", False) and groups is not None and fit_accepts_groups(self.estimator):
            # Sliced to each inner fit's training rows by the search (a per-sample fit parameter).
            routed.estimator.fit = {**routed.estimator.fit, "groups": np.asarray(groups)}
        return routed


def fit_accepts_groups(estimator) -> bool:
    """Whether ``estimator.fit`` takes a ``groups`` argument."""
    try:
        return "groups" in inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):
        return False


def nested(estimator, param_grid, *, n_inner_splits=3, scoring=None, n_jobs=None, random_state=0, refit=True,
           inner_unit="auto"):
    """Wrap ``estimator`` in a grid search whose inner splits hold out whole trials or subjects.

    The returned search must be fitted with ``groups`` = the training windows' trial keys;
    :func:`~neuroaffect.evaluation.cross_validate_subjects` does this on every outer fold, so the
    grid is only ever scored on held-out *training* windows and the outer test windows never
    influence the choice. Fitting it without ``groups`` raises. If the estimator's ``fit`` accepts
    ``groups``, each inner fit (and the refit) receives the trial keys of its training windows.

    The inner validation unit follows the outer protocol (``inner_unit="auto"``): when the
    training windows span several subjects (the cross-subject protocols, e.g.
    leave-one-subject-out), inner folds hold out whole subjects, so the grid is chosen for unseen
    subjects as the outer protocol measures; within one subject they hold out whole trials. See
    :class:`~neuroaffect.evaluation.InnerKFold`.

    Parameters
    ----------
    estimator : scikit-learn estimator
    param_grid : dict or list of dict
    n_inner_splits : int, default=3
        Folds inside each outer training set (at most the number of subjects for subject folds).
    scoring : str or callable, optional
        Default: the estimator's ``score`` (accuracy for classifiers).
    n_jobs : int, optional
    random_state : int, default=0
        Seed of the inner fold assignment.
    refit : bool, default=True
    inner_unit : {"auto", "subject", "trial"}, default="auto"
        What the inner folds hold out; ``"auto"``: subjects when the training windows span several
        subjects, else trials.

    Returns
    -------
    NestedGridSearchCV
        A :class:`~sklearn.model_selection.GridSearchCV` subclass.
    """
    inner = InnerKFold(n_inner_splits, unit=inner_unit, shuffle=True, random_state=random_state)
    return NestedGridSearchCV(estimator, param_grid, cv=inner, scoring=scoring, n_jobs=n_jobs, refit=refit)
