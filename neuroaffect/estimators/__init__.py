"""scikit-learn estimators for affect decoding from EEG tokens, and the baselines they are compared to.

All estimators take tokens ``X`` of shape (n_windows, n_electrodes, n_bands) (raw windows
(n_windows, n_channels, n_times) for EEGNet / TSception) and accept ``groups`` (trial id per
window) in ``fit``, used only for early stopping on held-out trials. The neural estimators'
``validation_groups="subject"`` makes that split hold out whole subjects instead (``groups`` then
trial keys "subject/session/trial"); the default, "auto", lets the evaluation runner choose
"subject" under protocols that test unseen subjects.
"""

from __future__ import annotations

import importlib

#: public name -> submodule; imported on first use so that the DE baselines never load torch.
_EXPORTS = {
    "FlattenTokens": "de",
    "de_logistic_regression": "de",
    "de_ridge": "de",
    "de_svm": "de",
    "de_svr": "de",
    "ElectrodeAttentionClassifier": "transformer",
    "ElectrodeAttentionRegressor": "transformer",
    "concordance_correlation": "transformer",
    "BraindecodeClassifier": "networks",
    "BraindecodeRegressor": "networks",
}

__all__ = ["ESTIMATORS", "make_estimator", *_EXPORTS]

#: name -> (classification factory, regression factory, fixed parameters); factories are names of
#: this package's exports.
ESTIMATORS = {
    "de-logreg": ("de_logistic_regression", "de_ridge", {}),
    "de-svm": ("de_svm", "de_svr", {}),
    "transformer": ("ElectrodeAttentionClassifier", "ElectrodeAttentionRegressor", {"config": "default"}),
    "transformer-reference": (
        "ElectrodeAttentionClassifier", "ElectrodeAttentionRegressor", {"config": "reference"},
    ),
    "dgcnn": ("BraindecodeClassifier", "BraindecodeRegressor", {"model": "dgcnn"}),
    "eegnet": ("BraindecodeClassifier", "BraindecodeRegressor", {"model": "eegnet"}),
    "tsception": ("BraindecodeClassifier", "BraindecodeRegressor", {"model": "tsception"}),
}


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)


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
    return __getattr__(classify if task == "classification" else regress)(**fixed, **params)
