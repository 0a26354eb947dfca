"""Scores at window and trial level, for classification and regression."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from .._metrics import concordance_correlation  # noqa: F401 (one implementation, re-exported here)

CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc")
REGRESSION_METRICS = ("rmse", "pearson_r", "ccc")


def pearson_r(y_true, y_pred) -> float:
    """Pearson correlation; NaN when either input is constant."""
    x, y = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    x, y = x - x.mean(), y - y.mean()
    denom = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denom) if denom > 0 else float("nan")


def regression_scores(y_true, y_pred) -> dict:
    """RMSE (in the rating's units), Pearson r and CCC."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    return {
        "rmse": float(np.sqrt(np.mean((y_true - y_pred) ** 2))),
        "pearson_r": pearson_r(y_true, y_pred),
        "ccc": concordance_correlation(y_true, y_pred),
    }


def binary_roc_auc(is_positive, score) -> float:
    """ROC-AUC as the Mann-Whitney probability that a positive outscores a negative (ties count 1/2)."""
    is_positive = np.asarray(is_positive, dtype=bool)
    n_pos = int(is_positive.sum())
    n_neg = len(is_positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[is_positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def multiclass_roc_auc(y_true, proba, n_classes: int) -> float:
    """ROC-AUC: binary for 2 classes, else the mean one-vs-rest AUC over the classes present.

    NaN when fewer than two classes are present in ``y_true`` or no probabilities are available.
    """
    if proba is None:
        return float("nan")
    y_true = np.asarray(y_true)
    present = np.unique(y_true)
    if len(present) < 2 or not np.all(np.isfinite(proba)):
        return float("nan")
    if n_classes == 2:
        return binary_roc_auc(y_true == 1, proba[:, 1])
    return float(np.mean([binary_roc_auc(y_true == c, proba[:, c]) for c in present]))


def classification_scores(y_true, y_pred, proba=None, *, n_classes: int) -> dict:
    """Accuracy, balanced accuracy, macro-F1, ROC-AUC and the confusion matrix.

    Computed from the confusion matrix (rows = true class ``0..n_classes-1``, columns = predicted),
    with scikit-learn's conventions: balanced accuracy is the mean recall over the classes present
    in ``y_true``; macro-F1 averages over the classes present in ``y_true`` or ``y_pred`` (F1 = 0
    where undefined).
    """
    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    cm = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    tp, support, predicted = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)
    seen = support > 0
    used = seen | (predicted > 0)
    f1 = np.divide(2 * tp, support + predicted, out=np.zeros(n_classes), where=(support + predicted) > 0)
    return {
        "accuracy": float(tp.sum() / max(cm.sum(), 1)),
        "balanced_accuracy": float(np.mean(tp[seen] / support[seen])) if seen.any() else float("nan"),
        "f1_macro": float(f1[used].mean()) if used.any() else float("nan"),
        "roc_auc": multiclass_roc_auc(y_true, proba, n_classes),
        "confusion_matrix": cm.tolist(),
    }


def trial_level(trial_key, y_true, y_pred, proba=None, *, task: str):
    """Aggregate window predictions to one prediction per trial.

    Classification: mean of the window probabilities, then argmax (majority vote of window
    predictions when no probabilities exist; ties go to the lowest class). Regression: mean of the
    window predictions.

    Returns
    -------
    keys : ndarray of str, shape (n_trials,)
    y_true, y_pred : ndarray, shape (n_trials,)
    proba : ndarray, shape (n_trials, n_classes) or None
    """
    keys, codes = np.unique(np.asarray(trial_key).astype(str), return_inverse=True)
    n = len(keys)
    counts = np.bincount(codes, minlength=n)
    first = np.zeros(n, dtype=int)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    t_true = np.asarray(y_true)[first]
    if task == "regression":
        t_pred = np.bincount(codes, weights=np.asarray(y_pred, dtype=float), minlength=n) / counts
        return keys, t_true, t_pred, None
    if proba is not None and np.all(np.isfinite(proba)):
        t_proba = np.zeros((n, proba.shape[1]))
        np.add.at(t_proba, codes, proba)
        t_proba /= counts[:, None]
        return keys, t_true, t_proba.argmax(axis=1), t_proba
    votes = np.zeros((n, int(np.max(y_pred)) + 1))
    np.add.at(votes, (codes, np.asarray(y_pred, dtype=int)), 1)
    return keys, t_true, votes.argmax(axis=1), None


def score(y_true, y_pred, proba=None, *, task: str, n_classes: int | None = None) -> dict:
    """Window-level scores for ``task`` in {"binary", "classes", "regression"}."""
    if task == "regression":
        return regression_scores(y_true, y_pred)
    return classification_scores(y_true, y_pred, proba, n_classes=n_classes)
