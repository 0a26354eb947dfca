"""Subject alignment: transformers that remove each subject's offset before a shared model.

EEG features differ more between people than between conditions (electrode impedance, skull
thickness, head size). Aligning every subject to a common origin, without labels, is the single
largest gain on real cross-subject data (PhysioNet EEGMAT, leave-one-subject-out: recording-level
balanced accuracy 0.68 -> 0.89 with DE + logistic regression; benchmarks/RESULTS.md).

Both transformers take ``metadata`` in ``fit`` and ``transform``: a table with one row per
window and a ``subject`` column (:attr:`WindowTokens.metadata`, or ``pandas.DataFrame({"subject":
ids})``). They request ``metadata`` through scikit-learn's metadata routing, so inside a
``Pipeline`` they receive it when routing is enabled; :func:`~neuroaffect.evaluation.cross_validate_subjects`
does this for every fold. Subjects seen in ``fit`` are transformed with their fitted statistics;
a subject not seen in ``fit`` (the test subject under leave-one-subject-out) is aligned on its own
windows in the ``transform`` call, without labels: a *transductive* step, which the evaluation
reports record. Without ``metadata`` all windows are one subject.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._keys import DEPRECATED, check_metadata, groups_given, keys_table
from .._validation import check_finite

__all__ = ["SubjectRecentering", "SubjectStandardScaler"]


def _subjects(metadata, groups, n: int, method: str) -> np.ndarray:
    """Subject label per window, shape (n,), from ``metadata`` (its ``subject`` column); from the
    deprecated ``groups`` (subject ids, or trial keys whose first part is read) with a
    ``FutureWarning``; all one subject ``""`` when neither is given."""
    if metadata is not None:
        return check_metadata(metadata, n)["subject"].to_numpy(dtype=object).astype(str)
    if not groups_given(groups):
        return np.full(n, "", dtype=str)
    warnings.warn(
        f"{method}(groups=...) is deprecated since 0.2 and will be removed in 0.3: pass metadata=, a table with "
        "a 'subject' column (WindowTokens.metadata, or pandas.DataFrame({'subject': ids})), which metadata "
        "routing also delivers.", FutureWarning, stacklevel=4)
    groups = np.asarray(groups).astype(str)
    if groups.ndim != 1 or len(groups) != n:
        raise ValueError(f"groups must hold one subject id or trial key per window ({n}), got shape {groups.shape}.")
    return keys_table(groups)["subject"].to_numpy(dtype=object).astype(str) if all(
        g.count("/") == 2 for g in groups.tolist()) else groups


class _SubjectAlignment(TransformerMixin, BaseEstimator):
    """Per-subject statistics fitted without labels; unseen subjects aligned on their own windows."""

    # "groups" (0.1's subject ids or trial keys) stays requested until 0.3, so a caller who routes only
    # groups gets the FutureWarning, not a silently unaligned pipeline; "metadata" wins when both come.
    __metadata_request__fit = {"metadata": True, "groups": True}
    __metadata_request__transform = {"metadata": True, "groups": True}
    #: What the reports say when a pipeline holds this step.
    description = ""
    _parameter_constraints: dict = {}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        return tags

    def _check(self, X, reset):
        X = validate_data(self, X, reset=reset, allow_nd=True, dtype=np.float64, ensure_all_finite=False)
        check_finite(X, "X")
        return X

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, groups=DEPRECATED, *, metadata=None):
        """Fit each subject's statistics (``y`` is ignored: alignment never sees labels).

        The parameters are checked first, against ``_parameter_constraints`` (scikit-learn's
        ``InvalidParameterError``, a ``ValueError`` naming the parameter and its allowed values).

        Parameters
        ----------
        X : ndarray, shape (n_windows, ...)
        y : ignored
        groups : array-like of str, shape (n_windows,), deprecated
            Subject ids or trial keys per window (0.1's way; ``metadata`` wins when both are given);
            deprecated since 0.2, removed in 0.3: use ``metadata``.
        metadata : pandas.DataFrame, shape (n_windows, n_columns), optional
            One row per window with a ``subject`` column (``WindowTokens.metadata``); None: all
            windows are one subject.

        Returns
        -------
        self
        """
        X = self._check(X, reset=True)
        subject = _subjects(metadata, groups, len(X), f"{type(self).__name__}.fit")
        self.subjects_ = np.unique(subject)
        self.stats_ = {s: self._statistics(X[subject == s]) for s in self.subjects_}
        return self

    def transform(self, X, groups=DEPRECATED, *, metadata=None):
        """Align each window with its subject's statistics (an unseen subject's: from these windows).

        Parameters
        ----------
        X : ndarray, shape (n_windows, ...)
        groups : array-like of str, shape (n_windows,), deprecated
            Subject ids or trial keys per window; deprecated since 0.2, removed in 0.3: use
            ``metadata``.
        metadata : pandas.DataFrame, shape (n_windows, n_columns), optional
            One row per window with a ``subject`` column; None: all windows are one subject.

        Returns
        -------
        X_aligned : ndarray, same shape as X, float64
        """
        check_is_fitted(self, "stats_")
        X = self._check(X, reset=False)
        subject = _subjects(metadata, groups, len(X), f"{type(self).__name__}.transform")
        if metadata is None and not groups_given(groups) and "" not in self.stats_:
            warnings.warn(
                f"{type(self).__name__} was fitted with subjects ({self.subjects_[:3].tolist()}...) but "
                "transform got no metadata: all these windows are aligned as one unseen subject, on their own "
                "statistics. Pass metadata (under sklearn.config_context(enable_metadata_routing=True) in a "
                "Pipeline).", UserWarning, stacklevel=2)
        out = np.empty_like(X)
        for s in np.unique(subject):
            rows = subject == s
            stats = self.stats_[s] if s in self.stats_ else self._statistics(X[rows])
            out[rows] = self._apply(X[rows], stats)
        return out

    def fit_transform(self, X, y=None, groups=DEPRECATED, *, metadata=None):
        self.fit(X, y, groups, metadata=metadata)
        with warnings.catch_warnings():  # fit has said it once
            warnings.simplefilter("ignore", FutureWarning)
            return self.transform(X, groups, metadata=metadata)


class SubjectStandardScaler(_SubjectAlignment):
    """Standardise every feature within each subject (zero mean, unit variance over its windows).

    Works on any feature array (n_windows, ...), e.g. flat features or DE tokens
    (n_windows, n_electrodes, n_bands): each feature is centred and scaled by the mean and standard
    deviation of the subject's windows. See the module docstring for ``metadata`` and unseen
    subjects.

    Attributes
    ----------
    subjects_ : ndarray of str
        Subjects seen in ``fit``.
    stats_ : dict of str to (ndarray, ndarray)
        Per subject: mean and standard deviation, each of shape ``X.shape[1:]``.
    """

    description = "per-subject feature standardisation"

    def _statistics(self, X):
        std = X.std(axis=0)
        return X.mean(axis=0), np.where(std > 0, std, 1.0)

    def _apply(self, X, stats):
        mean, std = stats
        return (X - mean) / std


def _riemann_tools():
    """pyRiemann's ``mean_riemann`` and ``invsqrtm`` (moved to ``pyriemann.geometry`` in 0.12)."""
    try:
        from pyriemann.geometry.base import invsqrtm
        from pyriemann.geometry.mean import mean_riemann
    except ImportError:
        from pyriemann.utils.base import invsqrtm
        from pyriemann.utils.mean import mean_riemann
    return mean_riemann, invsqrtm


class SubjectRecentering(_SubjectAlignment):
    """Re-centre each subject's covariance matrices at the identity (Riemannian alignment).

    Every covariance ``C`` of a subject becomes ``M^{-1/2} C M^{-1/2}``, where ``M`` is the mean of
    the subject's covariances: the Riemannian mean (``metric="riemann"``, Zanini et al. 2018) or
    the arithmetic mean (``metric="euclid"``, Euclidean alignment, He & Wu 2020). Put it between
    ``pyriemann.estimation.Covariances`` and ``pyriemann.tangentspace.TangentSpace``.

    Parameters
    ----------
    metric : {"riemann", "euclid"}, default="riemann"

    Attributes
    ----------
    subjects_ : ndarray of str
    stats_ : dict of str to ndarray, shape (n_channels, n_channels)
        Per subject: the whitening matrix ``M^{-1/2}``.
    """

    description = "per-subject Riemannian re-centring"
    _parameter_constraints: dict = {"metric": [StrOptions({"riemann", "euclid"})]}

    def __init__(self, metric="riemann"):
        self.metric = metric

    def _check(self, X, reset):
        X = super()._check(X, reset)
        if X.ndim != 3 or X.shape[1] != X.shape[2]:
            raise ValueError(f"X must be covariance matrices (n_windows, n_channels, n_channels), got shape {X.shape}.")
        return X

    def _statistics(self, X):
        mean_riemann, invsqrtm = _riemann_tools()
        mean = mean_riemann(X) if self.metric == "riemann" else X.mean(axis=0)
        return invsqrtm(mean)

    def _apply(self, X, whitening):
        return whitening @ X @ whitening
