"""A tiny flattening step for tests and demonstrations (synthetic tokens: :func:`neuroaffect.datasets.make_tokens`)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin


class Flatten(BaseEstimator, TransformerMixin):
    """(n_windows, n_electrodes, n_bands) -> (n_windows, n_electrodes * n_bands)."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X).reshape(len(X), -1)
