"""Nested cross-validation: hyper-parameters chosen on inner splits of the training trials only."""

from __future__ import annotations

from sklearn import config_context
from sklearn.model_selection import GridSearchCV
from sklearn.utils.validation import _num_samples

from .._keys import check_trial_keys as _check_keys
from .splitters import InnerKFold


class NestedGridSearchCV(GridSearchCV):
    """``GridSearchCV`` whose ``fit`` requires ``groups`` and routes metadata to the searched estimator.

    ``fit`` runs scikit-learn's own search with metadata routing enabled
    (``sklearn.config_context(enable_metadata_routing=True)`` around it, so users need not enable
    routing globally). ``groups`` (the windows' trial keys) then go to the inner splitter and to
    every step that requests them: each inner fit receives the ``groups`` of its own training rows
    and the refit all of them. The neural estimators (electrode-attention, Braindecode) request
    ``groups`` (and ``held_out``) in ``fit`` by default, so the searched model early-stops as the
    plain estimator would. ``metadata`` (the windows' id table), when given, is routed the same
    way, row by row: the neural estimators request it in ``fit``, the subject-alignment steps in
    ``fit`` and ``transform`` (so, with the default ``scoring=None``, it also reaches the scoring of
    each inner test fold; a named scorer such as ``"accuracy"`` does not pass it on). Any other
    estimator receives them once it requests them (``set_fit_request(groups=True)``, or a
    class-level ``__metadata_request__fit``). Under routing,
    every fit parameter must be requested by some step, splitter or scorer; an unrequested one
    raises scikit-learn's error naming it.

    Parameters are those of :class:`~sklearn.model_selection.GridSearchCV`.
    """

    def fit(self, X, y=None, **params):
        """Run the search; ``groups`` (the windows' trial keys) must be given.

        Parameters
        ----------
        X : array-like or sparse matrix, shape (n_windows, ...)
        y : array-like, shape (n_windows,) or (n_windows, n_targets)
        **params : dict
            ``groups`` (required) and any other metadata the estimator requests (e.g.
            ``held_out``), routed by scikit-learn's metadata routing.

        Returns
        -------
        self
        """
        _check_keys(params.get("groups"), _num_samples(X))  # rows of any array-like, sparse included
        with config_context(enable_metadata_routing=True):
            return super().fit(X, y, **params)


def nested(estimator, param_grid, *, n_inner_splits=3, scoring=None, n_jobs=None, random_state=0, refit=True,
           inner_unit="auto"):
    """Wrap ``estimator`` in a grid search whose inner splits hold out whole trials or subjects.

    The returned search must be fitted with ``groups`` = the training windows' trial keys;
    :func:`~neuroaffect.evaluation.cross_validate_subjects` does this on every outer fold, so the
    grid is only ever scored on held-out *training* windows and the outer test windows never
    influence the choice. Fitting it without ``groups`` raises. The search routes metadata
    (:class:`NestedGridSearchCV`): if the estimator, or a step of it, requests ``groups`` or
    ``metadata`` (the neural estimators do by default), each inner fit (and the refit) receives
    those of its training windows.

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
