"""scikit-learn's estimator checks on tiny, fast configurations, for every public estimator.

The checks feed 2-D data (n_samples, n_features) and 1-D targets; where an estimator takes
something else, a thin test adapter (a subclass that changes only how the checks' data reach it)
lets the checks exercise the real fit, predict and score:

- the electrode-attention estimators read 2-D X as (n_windows, n_electrodes * n_bands) with
  ``n_bands`` given (default 1: one band per electrode), so each feature is one electrode token;
- the braindecode networks take 3-D windows only: their adapter reads each feature as one
  channel of two equal samples (EEGNet's initialisation needs two time points);
- the fMRI encoders learn target embeddings Y (n_samples, embed_dim): their adapter turns a 1-D
  target t into the unit vector (cos t, sin t);
- ContrastiveVADRegressor needs each training row's stimulus id and the stimuli's embeddings: its
  adapter makes each row its own stimulus, embedded as (1, t) for its target t;
- the nilearn-backed NiftiDecoderRegressor and VoxelParcellation read voxel rows through a mask
  image: their adapter builds a mask of one voxel per feature, (n_features, 1, 1), at fit;
- the nested search must be fitted with ``groups`` (trial keys): its adapter gives each sample its
  own trial when the checks pass none.

Expected failures name the reason of each; they are strict where scikit-learn supports it (an
expected failure that starts passing fails the suite: remove it from the list).
"""

import importlib.util
import inspect
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks
from sklearn.utils.validation import _num_samples

from neuroaffect.estimators import (
    BraindecodeClassifier,
    BraindecodeRegressor,
    ElectrodeAttentionClassifier,
    ElectrodeAttentionRegressor,
    FlattenTokens,
    MontageTransfer,
)
from neuroaffect.evaluation import NestedGridSearchCV, nested
from neuroaffect.fmri import (
    ContrastiveEncoder,
    ContrastiveVADRegressor,
    LassoPCR,
    NiftiDecoderRegressor,
    Parcellate,
    RidgeEncoder,
    VoxelParcellation,
)

# xfail_strict arrived in scikit-learn 1.8; older releases (CI's minimum job, 1.6) run the same
# checks with pytest's default (non-strict) expected failures.
_STRICT = {"xfail_strict": True} if "xfail_strict" in inspect.signature(parametrize_with_checks).parameters else {}

TINY = dict(embed_dim=8, depth=1, n_heads=2, head_dim=4, ffn_dim=16, head_dims=(16,), dropout=0.0)
# On the CPU: the checks compare a window's prediction alone and within a batch to 1e-7, which these
# float32 networks meet on the CPU (GPU kernels change with the batch size and round differently).
FAST = dict(config=TINY, max_epochs=6, lr=3e-2, batch_size=32, device="cpu", random_state=0)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@parametrize_with_checks(
    # the regressor's score is R^2, which must exceed 0.5 on the checks' regression data: 15 epochs
    [FlattenTokens(), ElectrodeAttentionClassifier(**FAST), ElectrodeAttentionRegressor(**{**FAST, "max_epochs": 15})],
    **_STRICT,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ---- subject alignment and the trivial baselines (issue 14, item 9) --------------------------------

# SubjectRecentering takes covariance matrices (n_windows, n_channels, n_channels), symmetric positive
# definite; the generic checks feed 2-D feature matrices (n_samples, n_features), which it rightly
# refuses, and scikit-learn has no input tag that makes them feed SPD matrices. The checks that fit
# on such data are expected to fail (strictly: one that starts passing fails the suite); the
# contract they would check is tested on SPD input in test_subject_recentering_contract_on_spd_input.
NOT_SPD = "the checks feed 2-D features; SubjectRecentering takes SPD covariance matrices (n, c, c)"
RECENTERING_FAILURES = dict.fromkeys([
    "check_fit_score_takes_y", "check_estimators_overwrite_params", "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self", "check_readonly_memmap_input", "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit", "check_estimators_dtypes", "check_dtype_object",
    "check_pipeline_consistency", "check_estimators_nan_inf", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_transformer_data_not_an_array", "check_transformer_general",
    "check_transformer_preserve_dtypes", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_fit2d_1sample", "check_fit2d_1feature", "check_dict_unchanged",
    "check_fit_idempotent", "check_fit_check_is_fitted", "check_n_features_in", "check_fit2d_predict1d",
], NOT_SPD)
# A stratified guess draws a random class per sample: its predictions depend on the samples' order.
RANDOM_GUESS = "a stratified guess draws random classes, so predictions depend on the order of the samples"


def _alignment_and_baselines():
    from neuroaffect.estimators import SubjectRecentering, SubjectStandardScaler
    from neuroaffect.estimators.trivial import (
        majority_class,
        mean_rating,
        median_rating,
        stratified_guess,
    )

    return [SubjectStandardScaler(), SubjectRecentering(), SubjectRecentering(metric="euclid"), majority_class(),
            stratified_guess(random_state=0), mean_rating(), median_rating()]


def _expected_failures(estimator):
    from neuroaffect.estimators import SubjectRecentering

    if isinstance(estimator, SubjectRecentering):
        return RECENTERING_FAILURES
    if getattr(estimator, "strategy", None) == "stratified":
        return dict.fromkeys(["check_methods_sample_order_invariance", "check_methods_subset_invariance"],
                             RANDOM_GUESS)
    return {}


@parametrize_with_checks(_alignment_and_baselines(), expected_failed_checks=_expected_failures, **_STRICT)
def test_alignment_and_baselines_are_sklearn_compatible(estimator, check):
    check(estimator)


def _spd(n=24, c=3, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, c, 2 * c))
    return A @ A.transpose(0, 2, 1) / (2 * c) + 0.1 * np.eye(c)


@pytest.mark.parametrize("metric", ["riemann", "euclid"])
def test_subject_recentering_contract_on_spd_input(metric):
    """What the generic checks would verify, on covariance matrices."""
    from neuroaffect.estimators import SubjectRecentering

    C = _spd()
    import pandas as pd

    subject = np.repeat(["a", "b"], 12)
    groups = pd.DataFrame({"subject": subject})
    est = SubjectRecentering(metric=metric)
    with pytest.raises(NotFittedError):
        est.transform(C)
    before = C.copy()
    assert est.fit(C, metadata=groups) is est  # fit returns self, keeps its parameters, leaves X alone
    assert est.get_params() == {"metric": metric} and est.n_features_in_ == 3
    np.testing.assert_array_equal(C, before)
    Z = est.transform(C, metadata=groups)
    assert Z.shape == C.shape and Z.dtype == np.float64
    np.testing.assert_allclose(clone(est).fit(C, metadata=groups).transform(C, metadata=groups), Z)  # idempotent
    np.testing.assert_allclose(pickle.loads(pickle.dumps(est)).transform(C, metadata=groups), Z)
    # row-wise for subjects seen in fit: a subset or another order gives the same rows
    order = np.random.default_rng(1).permutation(len(C))
    np.testing.assert_allclose(est.transform(C[order], metadata=groups.iloc[order]), Z[order], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(est.transform(C[:5], metadata=groups[:5]), Z[:5], rtol=1e-10, atol=1e-12)
    readonly = C.copy()
    readonly.flags.writeable = False
    np.testing.assert_allclose(est.transform(readonly, metadata=groups), Z)
    np.testing.assert_allclose(est.transform(C.astype(np.float32), metadata=groups), Z, rtol=1e-5, atol=1e-6)
    bad = C.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SubjectRecentering(metric=metric).fit(bad)
    with pytest.raises(ValueError, match="X has 4 features, but SubjectRecentering is expecting 3"):
        est.transform(_spd(c=4), metadata=groups)


# ---- the braindecode networks ----------------------------------------------------------------------

class _ChecksData:
    """Adapter: the checks' 2-D X (n_samples, n_features) as raw windows (n_samples, n_features, 2),
    each feature one channel of two equal samples. Anything else reaches the wrapper unchanged."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        return tags

    def _check_X(self, X, *, reset):
        if not sp.issparse(X):
            X = np.asarray(X)
            if X.ndim == 2:
                X = np.repeat(X[:, :, None], 2, axis=2)
        return super()._check_X(X, reset=reset)


class EEGNetClassifierChecks(_ChecksData, BraindecodeClassifier):
    pass


class EEGNetRegressorChecks(_ChecksData, BraindecodeRegressor):
    pass


# EEGNet with one-sample kernels and no pooling (two time points), two filters; batch-norm
# statistics that follow the few training batches (momentum 0.1, EEGNet's default is 0.01).
TINY_EEGNET = dict(F1=2, D=1, F2=2, kernel_length=1, depthwise_kernel_length=1, pool1_kernel_size=1,
                   pool2_kernel_size=1, drop_prob=0.0, batch_norm_momentum=0.1)
FAST_EEGNET = dict(model="eegnet", model_params=TINY_EEGNET, max_epochs=5, lr=3e-2, batch_size=16, device="cpu",
                   random_state=0)
# The wrappers pass every check: a fitted EEGNet (whose spatial filters carry a torch
# parametrization, which torch refuses to pickle) pickles through its state_dict (estimators/_net.py).
needs_braindecode = pytest.mark.skipif(
    importlib.util.find_spec("braindecode") is None,
    reason='braindecode is an optional extra, not installed here: pip install "neuroaffect[braindecode]"',
)


@needs_braindecode
@parametrize_with_checks(
    [EEGNetClassifierChecks(**FAST_EEGNET), EEGNetRegressorChecks(**FAST_EEGNET)],
    **_STRICT,
)
def test_braindecode_networks_are_sklearn_compatible(estimator, check):
    check(estimator)


# ---- montage transfer ---------------------------------------------------------------------------------

MONTAGE = ["Fz", "Cz", "Pz"]
# ch_names names 3 electrodes, so X must have 3 features; these checks fit on another number.
OTHER_MONTAGE = f"ch_names names {len(MONTAGE)} electrodes; this check fits on data with another number of features"
MONTAGE_FAILURES = dict.fromkeys([
    "check_estimators_overwrite_params", "check_estimators_fit_returns_self", "check_readonly_memmap_input",
    "check_n_features_in_after_fitting", "check_positive_only_tag_during_fit", "check_estimators_dtypes",
    "check_dtype_object", "check_fit2d_1feature", "check_fit_idempotent", "check_fit_check_is_fitted",
    "check_n_features_in",
    # a classifier (its tags are the wrapped estimator's): the classifier checks fit on 2 or 20 features too
    "check_classifier_data_not_an_array", "check_classifier_multioutput", "check_classifiers_classes",
    "check_classifiers_train",
], OTHER_MONTAGE)


@parametrize_with_checks(
    [MontageTransfer(ElectrodeAttentionClassifier(**{**FAST, "max_epochs": 3}), ch_names=MONTAGE)],
    expected_failed_checks=lambda est: MONTAGE_FAILURES, **_STRICT,
)
def test_montage_transfer_is_sklearn_compatible(estimator, check):
    check(estimator)


# ---- fMRI: parcels, decoders, brain -> embedding encoders -----------------------------------------------

def _as_embeddings(y):
    """A 1-D target t as the unit vectors (cos t, sin t): never zero, distinct for distinct t."""
    if y is None:
        return None
    y = np.asarray(y)
    if y.ndim != 1:
        return y
    t = y.astype(float)
    return np.c_[np.cos(t), np.sin(t)]


class _EmbeddingTargets:
    """Adapter: the checks' 1-D targets as the target embeddings the encoders learn."""

    def fit(self, X, y=None):
        return super().fit(X, _as_embeddings(y))

    def score(self, X, y):
        return super().score(X, _as_embeddings(y))


class RidgeEncoderChecks(_EmbeddingTargets, RidgeEncoder):
    pass


class ContrastiveEncoderChecks(_EmbeddingTargets, ContrastiveEncoder):
    pass


def _embedded_rows(y, n):
    """Each of the n rows its own stimulus ("0".."n-1"), embedded as (1, t) for its target t (never zero,
    distinct for distinct t); a target that is not numeric gets dummy embeddings (fit refuses it anyway)."""
    ids = [str(i) for i in range(n)]
    try:
        t = np.asarray(y, dtype=float).reshape(n, -1)[:, 0]
    except (TypeError, ValueError):
        t = np.zeros(n)
    return ids, np.c_[np.ones(n), np.nan_to_num(t, posinf=0.0, neginf=0.0)]


def _n_rows(X):
    try:
        return _num_samples(X)
    except TypeError:
        return 0


class ContrastiveVADRegressorChecks(ContrastiveVADRegressor):
    """Adapter: without embeddings or stimulus ids, each row is its own stimulus, embedded from its target."""

    def fit(self, X, y, metadata=None, stimulus=None):
        if self.embeddings is not None or metadata is not None or stimulus is not None:
            return super().fit(X, y, metadata=metadata, stimulus=stimulus)
        n = _n_rows(X)
        ids, E = _embedded_rows(y, n) if n and _n_rows(y) == n else ([], np.zeros((0, 2)))
        self.embeddings = (ids, E)  # for this fit only: the parameter is left as it was
        try:
            return super().fit(X, y, stimulus=ids if ids else None)
        finally:
            self.embeddings = None


def _voxel_mask(X):
    """A mask of one voxel per feature of X, shape (n_features, 1, 1); 1 voxel for an X without features."""
    import nibabel as nib

    shape = getattr(X, "shape", None)
    if shape is None:
        shape = np.shape(np.asarray(X, dtype=object))
    n = int(shape[1]) if len(shape) >= 2 and shape[1] else 1
    return nib.Nifti1Image(np.ones((n, 1, 1), dtype=np.int8), np.eye(4))


class _TinyMask:
    """Adapter: without mask_img, a mask of one voxel per feature of the X given to fit."""

    def fit(self, X, y=None):
        if self.mask_img is not None:
            return super().fit(X, y)
        self.mask_img = _voxel_mask(X)  # for this fit only: the parameter is left as it was
        try:
            return super().fit(X, y)
        finally:
            self.mask_img = None


class NiftiDecoderRegressorChecks(_TinyMask, NiftiDecoderRegressor):
    pass


class VoxelParcellationChecks(_TinyMask, VoxelParcellation):
    pass


# Parcellate reads images (niimg-like: paths or nibabel images); the checks feed arrays, so every check
# that fits fails (the parameter and API checks pass). Its contract on images: test_fmri_parcels.py.
NOT_IMAGES = "Parcellate takes fMRI images (paths or nibabel images); the checks feed arrays"
PARCELLATE_FAILURES = dict.fromkeys([
    "check_fit_score_takes_y", "check_estimators_overwrite_params", "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self", "check_readonly_memmap_input", "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit", "check_estimators_dtypes", "check_complex_data", "check_dtype_object",
    "check_estimators_empty_data_messages", "check_pipeline_consistency", "check_estimators_nan_inf",
    "check_estimator_sparse_tag", "check_estimator_sparse_array", "check_estimator_sparse_matrix",
    "check_estimators_pickle", "check_f_contiguous_array_estimator", "check_transformer_data_not_an_array",
    "check_transformer_general", "check_transformer_preserve_dtypes", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_fit2d_1sample", "check_fit2d_1feature", "check_dict_unchanged",
    "check_fit_idempotent", "check_fit_check_is_fitted", "check_n_features_in", "check_fit1d",
    "check_fit2d_predict1d",
], NOT_IMAGES)


def _fmri_expected_failures(estimator):
    return FMRI_FAILURES.get(type(estimator).__name__, {})


FMRI_FAILURES = {
    "Parcellate": PARCELLATE_FAILURES,
    # nilearn's decoders standardise each voxel (standardize="zscore_sample") over the maps given to
    # predict, so a map's prediction depends on the other maps of the batch
    "NiftiDecoderRegressorChecks": {
        "check_methods_subset_invariance": "nilearn's decoder z-scores each voxel over the maps given to predict: "
                                           "a map's prediction depends on the rest of the batch",
    },
    "VoxelParcellationChecks": {
        "check_fit2d_1feature": "n_parcels=2 parcels cannot be cut from the 1-voxel mask of a 1-feature X "
                                "(nilearn's kmeans: 'n_samples=1 should be >= n_clusters=2')",
    },
}


@parametrize_with_checks(
    [Parcellate(), LassoPCR(cv=3, random_state=0), RidgeEncoderChecks(),
     ContrastiveEncoderChecks(hidden_dim=8, n_blocks=1, max_epochs=2, batch_size=16, random_state=0),
     ContrastiveVADRegressorChecks(encoder=RidgeEncoder(), reuse_encoder=False, random_state=0),
     NiftiDecoderRegressorChecks(kind="decoder", screening_percentile=100, cv=2, random_state=0),
     VoxelParcellationChecks(method="kmeans", n_parcels=2, random_state=0)],
    expected_failed_checks=_fmri_expected_failures, **_STRICT,
)
def test_fmri_estimators_are_sklearn_compatible(estimator, check):
    check(estimator)


# ---- the nested search ------------------------------------------------------------------------------------

class NestedChecks(NestedGridSearchCV):
    """Adapter: without ``groups``, each sample is its own trial (one subject, one session)."""

    def fit(self, X, y=None, **params):
        if params.get("groups") is None:
            params["groups"] = np.array([f"s/1/{i}" for i in range(_num_samples(X))])
        return super().fit(X, y, **params)


def _search():
    return NestedChecks(**nested(LogisticRegression(), {"C": [0.1, 1.0]}, n_inner_splits=2).get_params(deep=False))


SEARCH_FAILURES = {
    "check_dtype_object": "the inner trial folds (InnerKFold, stratified) refuse an object y with their own message, "
                          "not 'Unknown label type'",
    "check_fit2d_1sample": "one sample is one trial here: the inner folds refuse it naming trials ('Cannot make "
                           "n_splits=2 folds of whole trials from 1 trial(s)'), not samples",
}


@parametrize_with_checks([_search()], expected_failed_checks=lambda est: SEARCH_FAILURES, **_STRICT)
def test_nested_search_is_sklearn_compatible(estimator, check):
    check(estimator)


# ---- parameter constraints ------------------------------------------------------------------------------

def _alignment():
    from neuroaffect.estimators import SubjectRecentering, SubjectStandardScaler

    return [SubjectRecentering(), SubjectStandardScaler()]


# _parameter_constraints (scikit-learn's declarative parameter validation) of the public estimators,
# which validate their parameters with it at the start of fit (through _fit_context).
VALIDATED = [FlattenTokens(), LassoPCR(), NiftiDecoderRegressor(), VoxelParcellation(), Parcellate(),
             RidgeEncoder(), ContrastiveEncoder(), ContrastiveVADRegressor(), _search(), ElectrodeAttentionClassifier(),
             ElectrodeAttentionRegressor(), MontageTransfer(ElectrodeAttentionClassifier()), *_alignment(),
             BraindecodeClassifier(), BraindecodeRegressor()]  # validated before braindecode is imported


def _name(estimator):
    return type(estimator).__name__


@pytest.mark.parametrize("estimator", VALIDATED, ids=_name)
def test_parameters_are_validated_by_their_constraints(estimator):
    check_param_validation(_name(estimator), estimator)


@pytest.mark.parametrize("estimator", VALIDATED, ids=_name)
def test_every_parameter_has_a_constraint(estimator):
    assert set(estimator._parameter_constraints) == set(estimator.get_params(deep=False))
    estimator._validate_params()  # the defaults satisfy them


def test_riemann_factories_validate_their_parameters():
    from sklearn.utils._param_validation import InvalidParameterError

    from neuroaffect.estimators import riemann_logistic_regression, riemann_ridge

    for factory in (riemann_logistic_regression, riemann_ridge):
        factory(align=False, estimator="lwf", C=1.0) if factory is riemann_logistic_regression else factory(alpha=2.0)
        with pytest.raises(InvalidParameterError, match=f"The 'align' parameter of {factory.__name__} must be"):
            factory(align="yes")
        with pytest.raises(InvalidParameterError, match="The 'estimator' parameter"):
            factory(estimator=3)
