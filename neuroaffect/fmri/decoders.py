"""Whole-brain decoders for subject-level maps, beside ridge on parcels.

All take ``X`` as rows of features: ``(n_maps, n_features)`` (what the samples of
:func:`~neuroaffect.fmri.maps.maps_to_tokens` hold) or EEG-style tokens ``(n_maps, n_features, 1)``,
so they plug into :func:`neuroaffect.evaluation.cross_validate_subjects`, and everything they learn
is learned inside each training fold.

- :class:`LassoPCR`: principal component regression with a lasso on the component scores (Wager et
  al. 2013, N Engl J Med 368:1388-1397; the "LASSO-PCR" of the pain-signature literature).
- :class:`NiftiDecoderRegressor`: nilearn's ``DecoderRegressor`` or ``FREMRegressor`` (Hoyos-Idrobo
  et al. 2018, NeuroImage 180:160-172) on voxel rows, turned back into images through the mask
  :func:`~neuroaffect.fmri.read_fmri_maps` stored (``info["mask_img"]`` with ``parcellate="voxels"``).
- :class:`VoxelParcellation`: a data-driven parcellation (ward, kmeans, rena, hierarchical_kmeans)
  fitted on the training maps of each fold, then parcel means: use it as the first step of a
  pipeline.
- :func:`make_decoder`: the named estimators of the ``fmri-maps`` recipe.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import check_option

DECODERS = ("ridge", "lasso-pcr", "frem", "decoder")


def _rows(X) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim == 3:
        X = X.reshape(len(X), -1)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n_maps, n_features) or (n_maps, n_features, 1), got {X.shape}.")
    return X


def _checked_rows(estimator, X, y=None, *, reset, min_samples=1):
    """Like :func:`_rows`, through scikit-learn's ``validate_data`` (``n_features_in_``, NaN, sparse and
    empty input refused with its messages); ``y`` (fit) as float ratings."""
    if y is None and not reset:
        X = validate_data(estimator, X, reset=False, allow_nd=True, dtype=np.float64)
    else:
        X, y = validate_data(estimator, X, y, reset=reset, allow_nd=True, dtype=np.float64, y_numeric=True,
                             ensure_min_samples=min_samples)
    X = _rows(X)
    return X if y is None else (X, np.asarray(y, dtype=float).ravel())


class LassoPCR(RegressorMixin, BaseEstimator):
    """LASSO-PCR: PCA of the maps, then a lasso on the component scores.

    Parameters
    ----------
    n_components : int or float, optional
        Components kept (an int, or a fraction of variance in (0, 1)). Default: all,
        ``min(n_samples - 1, n_features)``.
    alphas : array-like, optional
        Lasso penalties to choose from by inner cross-validation (default: ``LassoCV``'s path of 100).
    cv : int, default=5
        Inner folds for the penalty (at most the number of training maps).
    max_iter : int, default=10000
    random_state : int, optional
        Seed of the inner folds' shuffle.

    Attributes
    ----------
    pca_ : PCA
    lasso_ : LassoCV
    coef_ : ndarray, shape (n_features,)
        The weight map in feature space (``pca_.components_.T @ lasso_.coef_``): predictions are
        ``X @ coef_ + intercept_``.
    intercept_ : float
    n_components_ : int
    alpha_ : float
        The chosen penalty.
    n_iter_ : int
        Coordinate-descent iterations of the lasso refitted with that penalty.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(40, 200); y = X[:, :5].sum(1) + 0.1 * rng.randn(40)
    >>> model = LassoPCR(random_state=0).fit(X, y)
    >>> model.coef_.shape
    (200,)
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left"), Interval(RealNotInt, 0, 1, closed="neither"),
                         None],
        "alphas": ["array-like", None],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, n_components=None, alphas=None, cv=5, max_iter=10000, random_state=None):
        self.n_components = n_components
        self.alphas = alphas
        self.cv = cv
        self.max_iter = max_iter
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        from sklearn.decomposition import PCA
        from sklearn.linear_model import LassoCV
        from sklearn.model_selection import KFold

        X, y = _checked_rows(self, X, y, reset=True, min_samples=3)  # PCA + inner folds: 3 maps at least
        n_max = min(len(X) - 1, X.shape[1])
        n = n_max if self.n_components is None else self.n_components
        if isinstance(n, int | np.integer) and not 1 <= n <= n_max:
            raise ValueError(f"Invalid value for the 'n_components' parameter: expected 1..{n_max} (training maps - 1 "
                             f"or features), got {n}.")
        rng = check_random_state(self.random_state)
        self.pca_ = PCA(n_components=n, random_state=rng.randint(2**31 - 1))
        scores = self.pca_.fit_transform(X)
        inner = KFold(min(int(self.cv), len(X)), shuffle=True, random_state=rng.randint(2**31 - 1))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*did not converge.*")
            grid = {} if self.alphas is None else {"alphas": self.alphas}  # default: 100 alphas on a path
            self.lasso_ = LassoCV(**grid, cv=inner,
                                  max_iter=self.max_iter).fit(scores, y)
        self.n_components_ = int(self.pca_.n_components_)
        self.alpha_ = float(self.lasso_.alpha_)
        self.n_iter_ = int(self.lasso_.n_iter_)
        self.coef_ = self.pca_.components_.T @ self.lasso_.coef_
        self.intercept_ = float(self.lasso_.intercept_ - self.pca_.mean_ @ self.coef_)
        return self

    def predict(self, X):
        check_is_fitted(self, "coef_")
        X = _checked_rows(self, X, reset=False)
        return X @ self.coef_ + self.intercept_


def _unmask(X, mask_img):
    from nilearn.masking import unmask

    n_vox = int(np.count_nonzero(np.asarray(mask_img.dataobj)))
    if X.shape[1] != n_vox:
        raise ValueError(f"X has {X.shape[1]} features but mask_img has {n_vox} voxels; expected the voxel rows "
                         "read with read_fmri_maps(..., parcellate='voxels') and its info['mask_img'].")
    return unmask(X, mask_img)


class NiftiDecoderRegressor(RegressorMixin, BaseEstimator):
    """nilearn's ``DecoderRegressor`` or ``FREMRegressor`` on voxel rows.

    Rows are turned back into a 4-D image through ``mask_img`` and handed to nilearn, which does
    its own feature screening (ANOVA, ``screening_percentile``), clustering (FREM) and inner
    cross-validation of the penalty, all on the training maps it is given.

    Parameters
    ----------
    mask_img : Nifti1Image
        The mask whose voxels the columns of ``X`` are (``info["mask_img"]`` of
        :func:`~neuroaffect.fmri.read_fmri_maps` with ``parcellate="voxels"``).
    kind : {"frem", "decoder"}, default="frem"
        ``"frem"``: ``FREMRegressor`` (ensembles of models on clustered, screened voxels);
        ``"decoder"``: ``DecoderRegressor``.
    estimator : str, default="ridge"
        nilearn's estimator name (``"ridge"``, ``"svr"``, ...).
    screening_percentile : float, default=20
    clustering_percentile : float, default=10
        FREM only.
    cv : int, default=5
        nilearn's inner folds.
    random_state : int, optional

    Attributes
    ----------
    decoder_ : nilearn decoder
    coef_img_ : Nifti1Image
        The weight map.
    """

    _parameter_constraints: dict = {
        "mask_img": "no_validation",  # a Nifti1Image; required, checked in fit
        "kind": [StrOptions({"frem", "decoder"})],
        "estimator": [str],
        "screening_percentile": [Interval(Real, 0, 100, closed="both")],
        "clustering_percentile": [Interval(Real, 0, 100, closed="both")],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, mask_img=None, kind="frem", estimator="ridge", screening_percentile=20,
                 clustering_percentile=10, cv=5, random_state=None):
        self.mask_img = mask_img
        self.kind = kind
        self.estimator = estimator
        self.screening_percentile = screening_percentile
        self.clustering_percentile = clustering_percentile
        self.cv = cv
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        from nilearn.decoding import DecoderRegressor, FREMRegressor
        from sklearn.model_selection import KFold

        if self.mask_img is None:
            raise ValueError("NiftiDecoderRegressor needs mask_img (read the maps with parcellate='voxels' and pass "
                             "responses.info['mask_img']).")
        X, y = _checked_rows(self, X, y, reset=True, min_samples=2)
        self.mask_img_ = self.mask_img
        cv = KFold(min(int(self.cv), len(X)), shuffle=True, random_state=self.random_state)
        common = dict(estimator=self.estimator, mask=self.mask_img, cv=cv,
                      screening_percentile=self.screening_percentile, standardize="zscore_sample", verbose=0)
        if self.kind == "frem":
            self.decoder_ = FREMRegressor(clustering_percentile=self.clustering_percentile, **common)
        else:
            self.decoder_ = DecoderRegressor(**common)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.decoder_.fit(_unmask(X, self.mask_img), y)
        coef = self.decoder_.coef_img_
        self.coef_img_ = next(iter(coef.values())) if isinstance(coef, dict) else coef
        return self

    def predict(self, X):
        check_is_fitted(self, "decoder_")
        X = _checked_rows(self, X, reset=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(self.decoder_.predict(_unmask(X, self.mask_img_)), dtype=float).ravel()


class VoxelParcellation(TransformerMixin, BaseEstimator):
    """A data-driven parcellation fitted on the training maps, then parcel means of voxel rows.

    Parameters
    ----------
    mask_img : Nifti1Image
        The mask whose voxels the columns of ``X`` are.
    method : {"ward", "kmeans", "rena", "hierarchical_kmeans"}, default="ward"
    n_parcels : int, default=100
    random_state : int, optional

    Attributes
    ----------
    labels_ : ndarray of int, shape (n_voxels,)
        Parcel of each voxel column (0..n_parcels_-1).
    n_parcels_ : int
    """

    _parameter_constraints: dict = {
        "mask_img": "no_validation",  # a Nifti1Image; required, checked in fit
        "method": [StrOptions({"ward", "kmeans", "rena", "hierarchical_kmeans"})],
        "n_parcels": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, mask_img=None, method="ward", n_parcels=100, random_state=None):
        self.mask_img = mask_img
        self.method = method
        self.n_parcels = n_parcels
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        from nilearn.masking import apply_mask
        from nilearn.regions import Parcellations

        if self.mask_img is None:
            raise ValueError("VoxelParcellation needs mask_img (responses.info['mask_img'] of read_fmri_maps with "
                             "parcellate='voxels').")
        # at least 2 training maps, refused with scikit-learn's message
        X = _rows(validate_data(self, X, reset=True, allow_nd=True, dtype=np.float64, ensure_min_samples=2))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = Parcellations(self.method, n_parcels=int(self.n_parcels), mask=self.mask_img,
                              random_state=self.random_state, verbose=0).fit(_unmask(X, self.mask_img))
        labels = np.asarray(apply_mask(p.labels_img_, self.mask_img)).ravel().astype(int)
        values, self.labels_ = np.unique(labels, return_inverse=True)
        self.n_parcels_ = len(values)
        counts = np.bincount(self.labels_, minlength=self.n_parcels_).astype(float)
        self._average = np.zeros((X.shape[1], self.n_parcels_))
        self._average[np.arange(X.shape[1]), self.labels_] = 1.0 / counts[self.labels_]
        return self

    def transform(self, X):
        check_is_fitted(self, "labels_")
        return _checked_rows(self, X, reset=False) @ self._average


def make_decoder(name: str, mask_img=None, random_state=None):
    """A named decoder for maps: ``"ridge"`` (standardised parcels or voxels, alpha by leave-one-out),
    ``"lasso-pcr"`` (:class:`LassoPCR`), ``"frem"`` / ``"decoder"`` (:class:`NiftiDecoderRegressor`,
    voxel rows and ``mask_img`` needed)."""
    from .evaluate import make_vad_decoder

    check_option("estimator", name, DECODERS)
    if name == "ridge":
        return make_vad_decoder()
    if name == "lasso-pcr":
        return LassoPCR(random_state=random_state)
    return NiftiDecoderRegressor(mask_img=mask_img, kind=name, random_state=random_state)
