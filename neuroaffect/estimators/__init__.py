"""scikit-learn estimators for affect decoding from EEG tokens, and the baselines they are compared to.

Estimators take tokens ``X`` of shape (n_windows, n_electrodes, n_bands) or raw windows
(n_windows, n_channels, n_times) (EEGNet, TSception, the Riemannian pipelines: see
:attr:`EstimatorSpec.features`). Metadata travel by scikit-learn's metadata routing, requested by
default where an estimator uses them: the neural estimators' ``fit`` requests ``groups`` (trial
ids, for early stopping on held-out trials), ``metadata`` (the windows' id table: subject,
session, trial and their integer codes) and ``held_out`` (what the evaluation holds out;
``validation_groups="auto"`` then holds out whole subjects when it is "subject"), and the
subject-alignment steps request ``metadata`` (its ``subject`` column) in ``fit`` and
``transform``; a ``Pipeline`` or a search routes them when routing is enabled, as the
evaluation runner does. Estimators that can explain electrodes offer ``electrode_importance(X)``.
:class:`MontageTransfer` predicts on another montage than the one a transformer was fitted on.
:func:`make_estimator` without a name gives :data:`RECOMMENDED`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

#: public name -> submodule; imported on first use so that the DE baselines never load torch.
_EXPORTS = {
    "FlattenTokens": "de",
    "aligned_de_logistic_regression": "de",
    "aligned_de_ridge": "de",
    "de_logistic_regression": "de",
    "de_ridge": "de",
    "de_svm": "de",
    "de_svr": "de",
    "SubjectRecentering": "alignment",
    "SubjectStandardScaler": "alignment",
    "riemann_logistic_regression": "riemann",
    "riemann_ridge": "riemann",
    "majority_class": "trivial",
    "mean_rating": "trivial",
    "median_rating": "trivial",
    "stratified_guess": "trivial",
    "ElectrodeAttentionClassifier": "transformer",
    "ElectrodeAttentionRegressor": "transformer",
    "aligned_transformer_classifier": "transformer",
    "aligned_transformer_regressor": "transformer",
    "concordance_correlation": "transformer",
    "BraindecodeClassifier": "networks",
    "BraindecodeRegressor": "networks",
    "MontageTransfer": "transfer",
    "pooled_embeddings": "transfer",
}

__all__ = ["ESTIMATORS", "RECOMMENDED", "EstimatorSpec", "make_estimator", *_EXPORTS]


@dataclass(frozen=True)
class EstimatorSpec:
    """How :func:`make_estimator` builds one named estimator.

    Attributes
    ----------
    classify, regress : str
        Names of this package's exports (factories or classes) for classification and regression.
    fixed : dict
        Parameters always passed (e.g. the network name).
    features : {"bde", "raw"}
        What the estimator takes: BDE tokens (n_windows, n_electrodes, n_bands) from
        :class:`~neuroaffect.features.Tokenizer`, or raw windows (n_windows, n_channels, n_times)
        from :class:`~neuroaffect.features.RawWindows`.
    baseline : bool
        A trivial or reference pipeline that reports show beside the model.
    """

    classify: str
    regress: str
    fixed: dict = field(default_factory=dict)
    features: str = "bde"
    baseline: bool = False


#: Every named estimator. "aligned-de-logreg" is :data:`RECOMMENDED`.
ESTIMATORS = {
    "aligned-de-logreg": EstimatorSpec("aligned_de_logistic_regression", "aligned_de_ridge"),
    "de-logreg": EstimatorSpec("de_logistic_regression", "de_ridge"),
    "de-svm": EstimatorSpec("de_svm", "de_svr"),
    "riemann": EstimatorSpec("riemann_logistic_regression", "riemann_ridge", {"align": False}, "raw", True),
    "aligned-riemann": EstimatorSpec("riemann_logistic_regression", "riemann_ridge", {"align": True}, "raw", True),
    "majority": EstimatorSpec("majority_class", "mean_rating", baseline=True),
    "stratified": EstimatorSpec("stratified_guess", "median_rating", baseline=True),
    "transformer": EstimatorSpec("ElectrodeAttentionClassifier", "ElectrodeAttentionRegressor", {"config": "default"}),
    "aligned-transformer": EstimatorSpec("aligned_transformer_classifier", "aligned_transformer_regressor"),
    "transformer-reference": EstimatorSpec(
        "ElectrodeAttentionClassifier", "ElectrodeAttentionRegressor", {"config": "reference"},
    ),
    "dgcnn": EstimatorSpec("BraindecodeClassifier", "BraindecodeRegressor", {"model": "dgcnn"}),
    "eegnet": EstimatorSpec("BraindecodeClassifier", "BraindecodeRegressor", {"model": "eegnet"}, "raw"),
    "tsception": EstimatorSpec("BraindecodeClassifier", "BraindecodeRegressor", {"model": "tsception"}, "raw"),
}

#: The recommended pipeline, chosen by measurement on real EEG (PhysioNet EEGMAT, 36 subjects,
#: leave-one-subject-out; benchmarks/RESULTS.md): per-subject standardised DE + balanced logistic
#: regression.
RECOMMENDED = "aligned-de-logreg"


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)


def make_estimator(name=None, task="classification", **params):
    """Build an estimator by name; without a name, the recommended one.

    Parameters
    ----------
    name : str, optional
        One of :data:`ESTIMATORS` (default :data:`RECOMMENDED`):

        - "aligned-de-logreg": DE tokens standardised per subject + balanced logistic regression
          (ridge for regression), the recommended default;
        - "de-logreg", "de-svm": DE + balanced logistic regression (ridge) or RBF SVM (SVR);
        - "riemann", "aligned-riemann": covariances of raw windows, tangent space, balanced
          logistic regression (ridge), without / with per-subject re-centring;
        - "majority", "stratified": trivial baselines (regression: the training mean / median);
        - "transformer" (default configuration), "aligned-transformer" (tokens standardised per
          subject first), "transformer-reference" (the published model,
          with its label smoothing 0.12 for classification), "dgcnn", "eegnet", "tsception".

        :attr:`EstimatorSpec.features` says which take raw windows instead of DE tokens.
    task : {"classification", "regression"}
    **params
        Parameters of the estimator (for "de-*", of the final linear model).

    Returns
    -------
    estimator : scikit-learn estimator (unfitted)
    """
    from .._validation import check_option

    name = RECOMMENDED if name is None else name
    check_option("name", name, tuple(ESTIMATORS))
    check_option("task", task, ("classification", "regression"))
    spec = ESTIMATORS[name]
    if name == "transformer-reference" and task == "classification":
        params = {"label_smoothing": 0.12, **params}
    return __getattr__(spec.classify if task == "classification" else spec.regress)(**{**spec.fixed, **params})
