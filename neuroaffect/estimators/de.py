"""DE-feature pipelines: band differential entropy tokens + a linear model (scikit-learn only).

:func:`de_logistic_regression`, :func:`de_svm` and their regression counterparts are Pipelines of
:class:`FlattenTokens`, ``StandardScaler`` and the model: strong, cheap baselines of the field.
Classifiers weight classes by the inverse of their frequency in the training fold
(``class_weight="balanced"``): without it, a 1:3 imbalance costs 4-6 points of balanced accuracy.
:func:`aligned_de_logistic_regression` standardises every subject's features on their own windows
first (:class:`~neuroaffect.estimators.alignment.SubjectStandardScaler`): the library's
recommended pipeline, chosen on real EEG (benchmarks/RESULTS.md).
"""

from __future__ import annotations

from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import check_finite
from .alignment import SubjectStandardScaler

__all__ = [
    "FlattenTokens", "aligned_de_logistic_regression", "aligned_de_ridge", "de_logistic_regression", "de_ridge",
    "de_svm", "de_svr",
]


class FlattenTokens(TransformerMixin, BaseEstimator):
    """Flatten tokens (n_windows, n_electrodes, n_bands) into features (n_windows, n_electrodes * n_bands).

    Features are ordered electrode-major (all bands of the first electrode first). 2-D input passes
    through unchanged.
    """

    _parameter_constraints: dict = {}  # no parameters

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        X = validate_data(self, X, allow_nd=True, ensure_all_finite=False)
        check_finite(X, "X (tokens)")
        self.n_tokens_shape_ = X.shape[1:]
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, allow_nd=True, ensure_all_finite=False)
        check_finite(X, "X (tokens)")
        if X.shape[1:] != self.n_tokens_shape_:
            raise ValueError(f"X has token shape {X.shape[1:]}, but FlattenTokens was fitted on {self.n_tokens_shape_}.")
        return X.reshape(len(X), -1)


def de_logistic_regression(**params):
    """Pipeline(FlattenTokens, StandardScaler, LogisticRegression(**params)).

    Defaults ``C=0.1, class_weight="balanced", max_iter=1000``: the classical settings of the field.
    """
    params = {"C": 0.1, "class_weight": "balanced", "max_iter": 1000, **params}
    return make_pipeline(FlattenTokens(), StandardScaler(), LogisticRegression(**params))


def aligned_de_logistic_regression(**params):
    """Pipeline(FlattenTokens, SubjectStandardScaler, LogisticRegression(**params)): the recommended default.

    Each subject's DE features are standardised over that subject's windows (a test subject's over
    its own test windows, without labels: transductive), then one balanced logistic regression
    (``C=0.1, class_weight="balanced", max_iter=1000`` by default) is fitted on all training
    subjects. Fit and predict with ``metadata`` (a table with a ``subject`` column, e.g.
    ``tokens.metadata``) under scikit-learn's metadata routing, as
    :func:`~neuroaffect.evaluation.cross_validate_subjects` does; without it all windows count as
    one subject.
    """
    params = {"C": 0.1, "class_weight": "balanced", "max_iter": 1000, **params}
    return make_pipeline(FlattenTokens(), SubjectStandardScaler(), LogisticRegression(**params))


def de_svm(**params):
    """Pipeline(FlattenTokens, StandardScaler, SVC(**params)).

    Defaults: RBF kernel, ``C=1, class_weight="balanced", probability=True``.
    """
    params = {"C": 1.0, "kernel": "rbf", "class_weight": "balanced", "probability": True, **params}
    return make_pipeline(FlattenTokens(), StandardScaler(), SVC(**params))


def de_ridge(**params):
    """Regression counterpart of :func:`de_logistic_regression` (ridge regression, ``alpha=1``)."""
    return make_pipeline(FlattenTokens(), StandardScaler(), Ridge(**{"alpha": 1.0, **params}))


def aligned_de_ridge(**params):
    """Regression counterpart of :func:`aligned_de_logistic_regression` (ridge regression, ``alpha=1``)."""
    return make_pipeline(FlattenTokens(), SubjectStandardScaler(), Ridge(**{"alpha": 1.0, **params}))


def de_svr(**params):
    """Regression counterpart of :func:`de_svm` (RBF support-vector regression)."""
    return make_pipeline(FlattenTokens(), StandardScaler(), SVR(**params))
