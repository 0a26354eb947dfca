"""scikit-learn estimators for affect decoding from EEG tokens, and the baselines they are compared to.

All estimators take tokens ``X`` of shape (n_windows, n_electrodes, n_bands) (raw windows
(n_windows, n_channels, n_times) for EEGNet / TSception) and accept ``groups`` (trial id per
window) in ``fit``, used only for early stopping on held-out trials.
"""

from __future__ import annotations

from .baselines import (
    BraindecodeClassifier,
    BraindecodeRegressor,
    FlattenTokens,
    de_logistic_regression,
    de_ridge,
    de_svm,
    de_svr,
)
from .transformer import (
    ElectrodeAttentionClassifier,
    ElectrodeAttentionRegressor,
    concordance_correlation,
)

__all__ = [
    "ESTIMATORS",
    "BraindecodeClassifier",
    "BraindecodeRegressor",
    "ElectrodeAttentionClassifier",
    "ElectrodeAttentionRegressor",
    "FlattenTokens",
    "concordance_correlation",
    "de_logistic_regression",
    "de_ridge",
    "de_svm",
    "de_svr",
    "make_estimator",
]

#: name -> (classification factory, regression factory, fixed parameters)
ESTIMATORS = {
    "de-logreg": (de_logistic_regression, de_ridge, {}),
    "de-svm": (de_svm, de_svr, {}),
    "transformer": (ElectrodeAttentionClassifier, ElectrodeAttentionRegressor, {"config": "default"}),
    "transformer-reference": (
        ElectrodeAttentionClassifier, ElectrodeAttentionRegressor, {"config": "reference"},
    ),
    "dgcnn": (BraindecodeClassifier, BraindecodeRegressor, {"model": "dgcnn"}),
    "eegnet": (BraindecodeClassifier, BraindecodeRegressor, {"model": "eegnet"}),
    "tsception": (BraindecodeClassifier, BraindecodeRegressor, {"model": "tsception"}),
}


def make_estimator(name, task="classification", **params):
    """Build an estimator by name.

    Parameters
    ----------
    name : str
        One of :data:`ESTIMATORS`: "de-logreg" (ridge for regression), "de-svm" (SVR),
        "transformer" (default configuration), "transformer-reference" (the published model,
        with its label smoothing 0.12 for classification), "dgcnn", "eegnet", "tsception".
    task : {"classification", "regression"}
    **params
        Parameters of the estimator (for "de-*", of the final linear model).

    Returns
    -------
    estimator : scikit-learn estimator (unfitted)
    """
    from .._validation import check_option

    check_option("name", name, tuple(ESTIMATORS))
    check_option("task", task, ("classification", "regression"))
    classify, regress, fixed = ESTIMATORS[name]
    if name == "transformer-reference" and task == "classification":
        params = {"label_smoothing": 0.12, **params}
    return (classify if task == "classification" else regress)(**fixed, **params)
