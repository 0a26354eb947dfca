"""A tiny flattening step and a nearest-class-mean classifier for tests and demonstrations (synthetic tokens: :func:`neuroaffect.datasets.make_tokens`)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin


class Flatten(BaseEstimator, TransformerMixin):
    """(n_windows, n_electrodes, n_bands) -> (n_windows, n_electrodes * n_bands)."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X).reshape(len(X), -1)


class Centroids(ClassifierMixin, BaseEstimator):
    """Nearest class mean on flattened tokens, in plain numpy: a cheap, deterministic re-fit
    (no thread pools) for permutation and runner tests."""

    def fit(self, X, y):
        X = np.asarray(X).reshape(len(X), -1)
        self.classes_ = np.unique(y)
        self.means_ = np.stack([X[y == c].mean(0) for c in self.classes_])
        return self

    def predict(self, X):
        X = np.asarray(X).reshape(len(X), -1)
        return self.classes_[((X[:, None, :] - self.means_[None]) ** 2).sum(-1).argmin(1)]
