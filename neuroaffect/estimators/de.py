"""DE-feature baselines: band differential entropy tokens + a linear model (scikit-learn only).

:func:`de_logistic_regression`, :func:`de_svm` and their regression counterparts are Pipelines of
:class:`FlattenTokens`, ``StandardScaler`` and the model: strong, cheap baselines of the field.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import check_finite

__all__ = ["FlattenTokens", "de_logistic_regression", "de_ridge", "de_svm", "de_svr"]


class FlattenTokens(TransformerMixin, BaseEstimator):
    """Flatten tokens (n_windows, n_electrodes, n_bands) into features (n_windows, n_electrodes * n_bands).

    Features are ordered electrode-major (all bands of the first electrode first). 2-D input passes
    through unchanged.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

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
    """Pipeline(FlattenTokens, StandardScaler, LogisticRegression(**params)); ``C=1, max_iter=1000`` by default."""
    params = {"C": 1.0, "max_iter": 1000, **params}
    return make_pipeline(FlattenTokens(), StandardScaler(), LogisticRegression(**params))


def de_svm(**params):
    """Pipeline(FlattenTokens, StandardScaler, SVC(**params)); RBF kernel, ``probability=True`` by default."""
    params = {"C": 1.0, "kernel": "rbf", "probability": True, **params}
    return make_pipeline(FlattenTokens(), StandardScaler(), SVC(**params))


def de_ridge(**params):
    """Regression counterpart of :func:`de_logistic_regression` (ridge regression)."""
    return make_pipeline(FlattenTokens(), StandardScaler(), Ridge(**{"alpha": 1.0, **params}))


def de_svr(**params):
    """Regression counterpart of :func:`de_svm` (RBF support-vector regression)."""
    return make_pipeline(FlattenTokens(), StandardScaler(), SVR(**params))
