"""Train on one dataset, test on another: labels in the common space, montages reconciled.

Two datasets rarely share a montage (DEAP has 32 electrodes, DREAMER 14) or a rating scale (1-9
vs 1-5). :func:`cross_dataset_cv` puts both label sets in the common space of
:mod:`neuroaffect.affect.scales` (binary high/low = value >= 0, i.e. DEAP >= 5 and DREAMER >= 3)
and either restricts both token sets to the electrodes they share, which works with any
estimator, or keeps every electrode of each montage for estimators that embed electrodes by
position and read the montage from their ``ch_names`` parameter at predict time (e.g.
``ElectrodeAttentionClassifier`` in :class:`~neuroaffect.estimators.MontageTransfer`).

Which estimators ``channels="all"`` takes is decided by a declared capability, never by a class
name: the estimator must have a ``ch_names`` parameter and read the montage of ``X`` from it at
predict time, i.e. its class attribute ``ch_names_at_predict`` is ``"parameter"`` (as
:class:`~neuroaffect.estimators.MontageTransfer` declares) or absent (an estimator of your own
with a ``ch_names`` parameter). One that declares ``"argument"`` (the electrode-attention
estimators: the parameter is the training montage, another montage is an argument of ``predict``)
is refused before fitting, with the advice to wrap it in ``MontageTransfer``
(:data:`neuroaffect.estimators.transfer.CH_NAMES_AT_PREDICT`).

It runs through the cross-validation runner with protocol ``"cross-dataset"`` and returns a
:class:`~neuroaffect.evaluation.CVResult`, so :func:`~neuroaffect.evaluation.write_report`
renders it (per-subject scores of the test dataset, leakage audit, figures). The two token sets
are concatenated with subject ids and trial keys prefixed by their dataset (``"deap:s01/0/3"``);
the protocol's single split trains on every window of the first dataset and tests on every window
of the second. With ``channels="all"`` the concatenated tokens hold the union of both montages,
NaN where a dataset lacks an electrode, and the estimator is wrapped so that each side sees only
its own electrodes. :func:`cross_dataset_evaluate` returns the pooled test-set metrics of the same
run, with the ``CVResult`` under ``"result"``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping, process_routing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._validation import check_option
from .categories import DIMS
from .scales import RatingScale
from .space import common_vad

#: The scale of the labels handed to the runner (common valence-arousal-dominance space).
COMMON_SCALE = RatingScale("common space [-1, 1]", -1.0, 1.0, "continuous")


def _pick(tokens, ch_names, normalize):
    X = tokens.X[:, [tokens.ch_names.index(ch) for ch in ch_names], :].astype(np.float64)
    if normalize is not None:
        groups = np.asarray(tokens.subject) if normalize == "subject" else np.zeros(len(X), int)
        for g in np.unique(groups):
            sel = groups == g
            X[sel] = (X[sel] - X[sel].mean(axis=0)) / (X[sel].std(axis=0) + 1e-8)
    return X.astype(np.float32)


class _PresentElectrodes(MetaEstimatorMixin, BaseEstimator):
    """Fit and predict ``estimator`` on the electrodes present (finite in every window) of each
    ``X``, with its ``ch_names`` set to them.

    The runner takes one token array; with two montages it holds their union, NaN where a dataset
    lacks an electrode. This wrapper hands the estimator each side's own montage.

    Parameters
    ----------
    estimator : estimator
        Has a ``ch_names`` parameter that it honours at predict time (``ch_names_at_predict``
        ``"parameter"`` or undeclared; e.g. :class:`~neuroaffect.estimators.MontageTransfer`).
    ch_names : list of str
        The electrodes of the union array, in its order.
    """

    def __init__(self, estimator, ch_names):
        self.estimator = estimator
        self.ch_names = ch_names

    def _select(self, X):
        X = np.asarray(X)
        present = np.isfinite(X).all(axis=(0, 2))
        if not present.any():
            raise ValueError("No electrode is finite in every window of X; expected one montage per call.")
        return X[:, present], [ch for ch, keep in zip(self.ch_names, present, strict=True) if keep]

    def get_metadata_routing(self):
        """Fit metadata (trial keys, the protocol's held-out unit) go on to ``estimator``'s fit."""
        return MetadataRouter(owner=type(self).__name__).add(
            estimator=self.estimator, method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )

    def fit(self, X, y, **fit_params):
        """Fit a clone of ``estimator`` on the present electrodes; ``fit_params`` are routed to it
        (scikit-learn's metadata routing, as the evaluation runner enables it)."""
        routed = process_routing(self, "fit", **fit_params)
        X, names = self._select(X)
        self.estimator_ = clone(self.estimator).set_params(ch_names=names)
        self.estimator_.fit(X, y, **routed.estimator.fit)
        if hasattr(self.estimator_, "classes_"):
            self.classes_ = self.estimator_.classes_
        return self

    def _call(self, method, X):
        check_is_fitted(self, "estimator_")
        X, names = self._select(X)
        self.estimator_.set_params(ch_names=names)
        return getattr(self.estimator_, method)(X)

    def predict(self, X):
        return self._call("predict", X)

    @available_if(lambda self: hasattr(self.estimator, "predict_proba"))
    def predict_proba(self, X):
        return self._call("predict_proba", X)


def _prefixes(train_tokens, test_tokens):
    a, b = (str(t.dataset).replace(":", "_") for t in (train_tokens, test_tokens))
    return (f"{a}-train", f"{b}-test") if a == b else (a, b)


def _combine(train_tokens, test_tokens, X_train, X_test, ch_names, values, target):
    """One WindowTokens holding both sets: dataset-prefixed ids, the common-space ``target`` rating."""
    from ..features.tokens import WindowTokens

    prefix = _prefixes(train_tokens, test_tokens)
    parts = (train_tokens, test_tokens)

    def ids(name):
        return np.concatenate([np.char.add(f"{p}:", np.asarray(getattr(t, name)).astype(str))
                               for p, t in zip(prefix, parts, strict=True)])

    positions = {}
    for t in parts:
        positions.update(zip(t.ch_names, np.asarray(t.positions, dtype=float), strict=True))
    return WindowTokens(
        X=np.concatenate([X_train, X_test]).astype(np.float32), ratings=values[:, None],
        rating_names=(target,), scales={target: COMMON_SCALE}, subject=ids("subject"),
        session=np.concatenate([np.asarray(t.session).astype(str) for t in parts]), trial_key=ids("trial_key"),
        start=np.concatenate([t.start for t in parts]), stop=np.concatenate([t.stop for t in parts]),
        ch_names=list(ch_names), positions=np.array([positions[ch] for ch in ch_names]),
        band_names=tuple(train_tokens.band_names), sfreq=float(train_tokens.sfreq),
        dataset=f"{prefix[0]} -> {prefix[1]}",
    )


def cross_dataset_cv(
    train_tokens, test_tokens, estimator, target: str = "valence", task: str = "binary",
    threshold: float = 0.0, channels: str = "common", normalize: str | None = "subject", *,
    metric=None, n_permutations=0, results_dir=None, random_state=0, progress=True,
):
    """Fit ``estimator`` on one dataset's windows, score it on another's, as a ``CVResult``.

    Parameters
    ----------
    train_tokens, test_tokens, estimator, target, task, threshold, channels, normalize
        As in :func:`cross_dataset_evaluate`.
    metric, n_permutations, results_dir, random_state, progress
        As in :func:`~neuroaffect.evaluation.cross_validate_subjects`. A permutation shuffles whole
        trials' labels within every subject of both datasets and re-fits.

    Returns
    -------
    result : CVResult
        Protocol ``"cross-dataset"``: one split, every training-dataset window -> every
        test-dataset window, audited for shared trials. ``subjects`` holds the test dataset's
        subjects only (ids ``"<test dataset>:<subject>"``; the training ones are listed in
        ``config["untested_subjects"]``). ``config`` also names ``train_dataset``,
        ``test_dataset``, ``channels``, ``ch_names`` (training montage), ``test_ch_names``,
        ``normalize``, ``threshold`` and ``label_space``. Pass it to
        :func:`~neuroaffect.evaluation.write_report`.

    Raises
    ------
    ValueError
        As :func:`cross_dataset_evaluate`.
    """
    from ..evaluation import Target, cross_validate_subjects

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

    values = np.concatenate([common_vad(t, dims=(target,))[:, 0] for t in (train_tokens, test_tokens)])
    n_train = len(train_tokens.X)
    if task == "binary":
        y = (values >= threshold).astype(int)
        if len(np.unique(y[:n_train])) < 2:
            raise ValueError(
                f"The training labels of {target!r} hold one class only (threshold {threshold:g}); "
                f"binary training needs both."
            )
        labels = Target(y, "binary", target, (f"low (<{threshold:g})", f"high (>={threshold:g})"))
    else:
        labels = Target(values, "regression", target, ())

    model = clone(estimator)
    if channels == "common":
        ch_train = [ch for ch in train_tokens.ch_names if ch in set(test_tokens.ch_names)]
        if not ch_train:
            raise ValueError(
                f"The montages share no electrode ({train_tokens.dataset}: {len(train_tokens.ch_names)}, "
                f"{test_tokens.dataset}: {len(test_tokens.ch_names)}); use channels='all' with a "
                f"position-aware estimator."
            )
        ch_test = ch_names = ch_train
        if "ch_names" in model.get_params():
            model.set_params(ch_names=list(ch_train))
        X_train, X_test = _pick(train_tokens, ch_train, normalize), _pick(test_tokens, ch_test, normalize)
    else:
        from ..estimators.transfer import ch_names_at_predict

        reads = ch_names_at_predict(model)
        if reads is None:
            raise ValueError(
                f"channels='all' needs an estimator with a 'ch_names' parameter (electrode embeddings "
                f"from positions); {type(model).__name__} has none. Use channels='common'."
            )
        if reads != "parameter":
            raise ValueError(
                f"channels='all' needs an estimator that reads the test montage from its 'ch_names' "
                f"parameter at predict time; {type(model).__name__} declares ch_names_at_predict={reads!r} "
                f"(its parameter is the montage it was fitted on). Wrap it in "
                f"neuroaffect.estimators.MontageTransfer to predict on another montage."
            )
        ch_train, ch_test = list(train_tokens.ch_names), list(test_tokens.ch_names)
        ch_names = ch_train + [ch for ch in ch_test if ch not in set(ch_train)]
        n_bands = len(train_tokens.band_names)
        X_train = np.full((n_train, len(ch_names), n_bands), np.nan, np.float32)
        X_test = np.full((len(test_tokens.X), len(ch_names), n_bands), np.nan, np.float32)
        X_train[:, [ch_names.index(ch) for ch in ch_train]] = _pick(train_tokens, ch_train, normalize)
        X_test[:, [ch_names.index(ch) for ch in ch_test]] = _pick(test_tokens, ch_test, normalize)
        model = _PresentElectrodes(model, ch_names=list(ch_names))

    tokens = _combine(train_tokens, test_tokens, X_train, X_test, ch_names, values, target)
    result = cross_validate_subjects(
        tokens, model, target=labels, cv="cross-dataset", metric=metric, n_permutations=n_permutations,
        results_dir=results_dir, random_state=random_state, progress=progress,
    )
    result.config.update({
        "train_dataset": str(train_tokens.dataset), "test_dataset": str(test_tokens.dataset),
        "channels": channels, "ch_names": list(ch_train), "test_ch_names": list(ch_test), "normalize": normalize,
        "threshold": float(threshold) if task == "binary" else None,
        "label_space": f"{target} in the common valence-arousal-dominance space [-1, 1]",
    })
    return result


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
        If it requests ``groups`` or ``metadata`` by metadata routing (the neural estimators
        request both by default), it gets the training windows' trial keys or id table. Parameters named
        ``*random_state`` left None are set to 0.
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
        predicting, and honour it at predict time: its ``ch_names_at_predict`` class attribute
        absent or ``"parameter"`` (:data:`neuroaffect.estimators.transfer.CH_NAMES_AT_PREDICT`).
        Estimators that declare ``"argument"`` (the transformer estimators) are refused: wrap
        them in :class:`~neuroaffect.estimators.MontageTransfer`.
    normalize : {"subject", "dataset"} or None
        Standardise every token feature (electrode x band) to zero mean and unit variance within
        each subject (or each dataset) before fitting and predicting. Datasets differ in recording
        chain, filtering and baseline length, which shifts DE levels far more than affect does;
        this label-free step removes those offsets. It uses the test subjects' features (never
        their labels), as cross-subject EEG work commonly does. None: tokens as they are.

    Returns
    -------
    result : dict
        ``metrics`` pooled over all test windows (binary: accuracy, balanced_accuracy, f1_macro,
        majority_rate of the test labels; regression: ccc, pearson_r, rmse, sign_agreement),
        ``n_train``, ``n_test``, ``ch_names`` (used for training), ``test_ch_names``, ``target``,
        ``task``, ``normalize``, ``train_dataset``, ``test_dataset``, ``y_true`` and ``y_pred``
        (test windows in ``test_tokens`` order), and ``result``: the
        :class:`~neuroaffect.evaluation.CVResult` of the run (:func:`cross_dataset_cv`), with
        per-subject scores and the leakage audit, for :func:`~neuroaffect.evaluation.write_report`.

    Raises
    ------
    ValueError
        If the two sets share trials (a cross-dataset test would then leak), have different bands,
        share no electrode (``channels="common"``), or the training labels hold one class only.
    """
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    from ..evaluation.metrics import concordance_correlation, pearson_r

    cv = cross_dataset_cv(train_tokens, test_tokens, estimator, target=target, task=task, threshold=threshold,
                          channels=channels, normalize=normalize, progress=False)
    tested = cv.predictions["fold"] >= 0
    y_test, y_pred = cv.predictions["y_true"][tested], cv.predictions["y_pred"][tested]
    if task == "binary":
        y_test, y_pred = y_test.astype(int), y_pred.astype(int)
        metrics = {
            "accuracy": float(accuracy_score(y_test, y_pred)),
            "balanced_accuracy": float(balanced_accuracy_score(y_test, y_pred)),
            "f1_macro": float(f1_score(y_test, y_pred, average="macro")),
            "majority_rate": float(max(y_test.mean(), 1 - y_test.mean())),
        }
    else:
        y_test, y_pred = y_test.astype(float), y_pred.astype(float).ravel()
        metrics = {
            "ccc": concordance_correlation(y_test, y_pred),
            "pearson_r": pearson_r(y_test, y_pred),
            "rmse": float(np.sqrt(np.mean((y_test - y_pred) ** 2))),
            "sign_agreement": float(np.mean((y_test >= 0) == (y_pred >= 0))),
        }
    c = cv.config
    return {
        "metrics": metrics, "n_train": len(train_tokens.X), "n_test": int(tested.sum()), "ch_names": c["ch_names"],
        "test_ch_names": c["test_ch_names"], "target": target, "task": task, "normalize": normalize,
        "train_dataset": train_tokens.dataset, "test_dataset": test_tokens.dataset,
        "y_true": y_test, "y_pred": y_pred, "result": cv,
    }
