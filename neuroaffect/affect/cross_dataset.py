"""Train on one dataset, test on another: labels in the common space, montages reconciled.

Two datasets rarely share a montage (DEAP has 32 electrodes, DREAMER 14) or a rating scale (1-9
vs 1-5). :func:`cross_dataset_evaluate` puts both label sets in the common space of
:mod:`neuroaffect.affect.scales` (binary high/low = value >= 0, i.e. DEAP >= 5 and DREAMER >= 3)
and either restricts both token sets to the electrodes they share, which works with any
estimator, or keeps every electrode of each montage for estimators that embed electrodes by
position (a ``ch_names`` parameter, e.g. ``ElectrodeAttentionClassifier``).
"""

from __future__ import annotations

import inspect

import numpy as np

from .._validation import check_option
from .categories import DIMS
from .space import common_vad


def _pick(tokens, ch_names, normalize):
    X = tokens.X[:, [tokens.ch_names.index(ch) for ch in ch_names], :].astype(np.float64)
    if normalize is not None:
        groups = np.asarray(tokens.subject) if normalize == "subject" else np.zeros(len(X), int)
        for g in np.unique(groups):
            sel = groups == g
            X[sel] = (X[sel] - X[sel].mean(axis=0)) / (X[sel].std(axis=0) + 1e-8)
    return X.astype(np.float32)


def cross_dataset_evaluate(
    train_tokens, test_tokens, estimator, target: str = "valence", task: str = "binary",
    threshold: float = 0.0, channels: str = "common", normalize: str | None = "subject",
) -> dict:
    """Fit ``estimator`` on one dataset's windows and score it on another's.

    Parameters
    ----------
    train_tokens, test_tokens : WindowTokens
        Tokens (n_windows, n_electrodes, n_bands) of the two datasets; the bands must match.
    estimator : sklearn estimator
        Cloned before fitting. Takes tokens ``X`` of shape (n_windows, n_electrodes, n_bands)
        (a pipeline may flatten them). A classifier for ``task="binary"``, a regressor otherwise.
        If its ``fit`` takes ``groups``, it gets the training windows' trial keys.
    target : {"valence", "arousal", "dominance"}
        The dimension to predict, read in the common space with
        :func:`~neuroaffect.affect.space.common_vad` (categorical datasets: centres of their
        categories' emotion terms).
    task : {"binary", "regression"}
        Binary high/low (value >= ``threshold``) or regression of the common-space value.
    threshold : float
        Binary cut in the common space; 0 is the midpoint of every scale.
    channels : {"common", "all"}
        ``"common"``: both sets restricted to the electrodes they share (in the training order).
        ``"all"``: each set keeps its own montage; the estimator must have a ``ch_names``
        parameter, which is set to the training montage for fitting and to the test montage for
        predicting, and honour it (wrap the transformer estimators in
        :class:`~neuroaffect.affect.transfer.MontageTransfer`).
    normalize : {"subject", "dataset"} or None
        Standardise every token feature (electrode x band) to zero mean and unit variance within
        each subject (or each dataset) before fitting and predicting. Datasets differ in recording
        chain, filtering and baseline length, which shifts DE levels far more than affect does;
        this label-free step removes those offsets. It uses the test subjects' features (never
        their labels), as cross-subject EEG work commonly does. None: tokens as they are.

    Returns
    -------
    result : dict
        ``metrics`` (binary: accuracy, balanced_accuracy, f1_macro, majority_rate of the test
        labels; regression: ccc, pearson_r, rmse, sign_agreement), ``n_train``, ``n_test``,
        ``ch_names`` (used for training), ``test_ch_names``, ``target``, ``task``, ``normalize``, ``train_dataset``,
        ``test_dataset``, ``y_true`` and ``y_pred``.

    Raises
    ------
    ValueError
        If the two sets share trials (a cross-dataset test would then leak), have different bands,
        share no electrode (``channels="common"``), or the training labels hold one class only.
    """
    from sklearn.base import clone
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    from ..evaluation.metrics import concordance_correlation, pearson_r

    check_option("target", target, DIMS)
    check_option("task", task, ("binary", "regression"))
    check_option("channels", channels, ("common", "all"))
    check_option("normalize", normalize, ("subject", "dataset", None))
    if tuple(train_tokens.band_names) != tuple(test_tokens.band_names):
        raise ValueError(
            f"The two token sets have different bands: {tuple(train_tokens.band_names)} (train) vs "
            f"{tuple(test_tokens.band_names)} (test); tokenize both with the same bands."
        )
    shared_trials = np.intersect1d(
        np.char.add(f"{train_tokens.dataset}:", np.asarray(train_tokens.trial_key, dtype=str)),
        np.char.add(f"{test_tokens.dataset}:", np.asarray(test_tokens.trial_key, dtype=str)),
    )
    if len(shared_trials):
        raise ValueError(
            f"Train and test share {len(shared_trials)} trial(s) (e.g. {shared_trials[0]!r}): windows of "
            f"one trial on both sides measure trial identification. Use separate datasets or subjects."
        )

    y_train = common_vad(train_tokens, dims=(target,))[:, 0]
    y_test = common_vad(test_tokens, dims=(target,))[:, 0]
    if task == "binary":
        y_train, y_test = (y_train >= threshold).astype(int), (y_test >= threshold).astype(int)
        if len(np.unique(y_train)) < 2:
            raise ValueError(
                f"The training labels of {target!r} hold one class only (threshold {threshold:g}); "
                f"binary training needs both."
            )

    model = clone(estimator)
    if channels == "common":
        ch_train = [ch for ch in train_tokens.ch_names if ch in set(test_tokens.ch_names)]
        if not ch_train:
            raise ValueError(
                f"The montages share no electrode ({train_tokens.dataset}: {len(train_tokens.ch_names)}, "
                f"{test_tokens.dataset}: {len(test_tokens.ch_names)}); use channels='all' with a "
                f"position-aware estimator."
            )
        ch_test = ch_train
        if "ch_names" in model.get_params():
            model.set_params(ch_names=list(ch_train))
    else:
        if "ch_names" not in model.get_params():
            raise ValueError(
                f"channels='all' needs an estimator with a 'ch_names' parameter (electrode embeddings "
                f"from positions); {type(model).__name__} has none. Use channels='common'."
            )
        if type(model).__name__.startswith("ElectrodeAttention"):
            raise ValueError(
                f"{type(model).__name__} reads positions of the montage it was fitted on; wrap it in "
                f"neuroaffect.affect.transfer.MontageTransfer to predict on another montage."
            )
        ch_train, ch_test = list(train_tokens.ch_names), list(test_tokens.ch_names)
        model.set_params(ch_names=ch_train)
    X_train = _pick(train_tokens, ch_train, normalize)
    X_test = _pick(test_tokens, ch_test, normalize)

    if "groups" in inspect.signature(model.fit).parameters:  # whole-trial early-stopping splits
        model.fit(X_train, y_train, groups=np.asarray(train_tokens.trial_key))
    else:
        model.fit(X_train, y_train)
    if channels == "all":
        model.set_params(ch_names=ch_test)
    y_pred = np.asarray(model.predict(X_test))

    if task == "binary":
        metrics = {
            "accuracy": float(accuracy_score(y_test, y_pred)),
            "balanced_accuracy": float(balanced_accuracy_score(y_test, y_pred)),
            "f1_macro": float(f1_score(y_test, y_pred, average="macro")),
            "majority_rate": float(max(y_test.mean(), 1 - y_test.mean())),
        }
    else:
        y_pred = y_pred.astype(float).ravel()
        metrics = {
            "ccc": concordance_correlation(y_test, y_pred),
            "pearson_r": pearson_r(y_test, y_pred),
            "rmse": float(np.sqrt(np.mean((y_test - y_pred) ** 2))),
            "sign_agreement": float(np.mean((y_test >= 0) == (y_pred >= 0))),
        }
    return {
        "metrics": metrics, "n_train": len(y_train), "n_test": len(y_test), "ch_names": ch_train,
        "test_ch_names": ch_test, "target": target, "task": task, "normalize": normalize,
        "train_dataset": train_tokens.dataset, "test_dataset": test_tokens.dataset,
        "y_true": y_test, "y_pred": y_pred,
    }
