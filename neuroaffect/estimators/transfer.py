"""Adapters for the electrode-attention transformer: pooled embeddings and other montages.

:class:`~neuroaffect.estimators.ElectrodeAttentionClassifier` / ``...Regressor`` embed electrodes
from their positions when given ``ch_names``, so a fitted model reads tokens of a montage it was
not trained on: its ``predict``, ``predict_proba``, ``embed`` and ``electrode_importance`` take
the electrodes of ``X`` as a ``ch_names`` argument. These adapters build on that:

- :func:`pooled_embeddings`: the pooled, layer-normalised token a fitted model feeds to its head
  (``module.embed``, the input of ``head``), for prototypes (:func:`~neuroaffect.affect.prototypes.model_prototypes`).
- :class:`MontageTransfer`: a meta-estimator whose ``ch_names`` parameter may change between
  ``fit`` and ``predict`` (what :func:`~neuroaffect.affect.cross_dataset_evaluate` needs for
  ``channels="all"``, where the montage travels as a parameter rather than as an argument).

An estimator declares whether it reads another montage from the ``ch_names`` argument of
``predict`` (the transformers: ``"argument"``) or from its ``ch_names`` parameter as it is at
predict time (:class:`MontageTransfer`: ``"parameter"``) with a class attribute
``ch_names_at_predict`` (:data:`CH_NAMES_AT_PREDICT`, read by :func:`ch_names_at_predict`).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted

from ..channels import normalize_ch_names

__all__ = ["CH_NAMES_AT_PREDICT", "MontageTransfer", "ch_names_at_predict", "pooled_embeddings"]

#: How an estimator with a ``ch_names`` parameter learns the montage of the ``X`` it predicts on,
#: declared by its class attribute ``ch_names_at_predict``:
#:
#: - ``"parameter"``: from its ``ch_names`` parameter as it is at predict time; set it to the
#:   montage of the test data (``set_params``) between ``fit`` and ``predict``.
#:   :class:`MontageTransfer` declares it; an estimator with a ``ch_names`` parameter that declares
#:   nothing is taken to work so (the contract of ``channels="all"`` in
#:   :func:`~neuroaffect.affect.cross_dataset_evaluate`).
#: - ``"argument"``: its ``ch_names`` parameter is the training montage, fixed by ``fit``; another
#:   montage is the ``ch_names`` argument of ``predict`` / ``predict_proba`` (the electrode-attention
#:   estimators declare it). :class:`MontageTransfer` wraps such an estimator into a
#:   ``"parameter"`` one.
CH_NAMES_AT_PREDICT = ("parameter", "argument")


def ch_names_at_predict(estimator) -> str | None:
    """How ``estimator`` reads the montage of the ``X`` it predicts on (:data:`CH_NAMES_AT_PREDICT`).

    Returns
    -------
    {"parameter", "argument"} or None
        Its declared ``ch_names_at_predict`` (``"parameter"`` if it declares none); None when it
        has no ``ch_names`` parameter (it reads no electrode names at all).
    """
    if "ch_names" not in estimator.get_params(deep=False):
        return None
    value = getattr(estimator, "ch_names_at_predict", "parameter")
    if value not in CH_NAMES_AT_PREDICT:
        raise ValueError(f"{type(estimator).__name__}.ch_names_at_predict is {value!r}; expected one of "
                         f"{CH_NAMES_AT_PREDICT} (see neuroaffect.estimators.transfer.CH_NAMES_AT_PREDICT).")
    return value


def pooled_embeddings(estimator, X, ch_names=None, batch_size: int = 1024) -> np.ndarray:
    """The pooled embedding (layer-normalised mean over electrode tokens) of a fitted transformer.

    The same as ``estimator.embed(X, batch_size=batch_size, ch_names=ch_names)``.

    Parameters
    ----------
    estimator : ElectrodeAttentionClassifier or ElectrodeAttentionRegressor
        Fitted.
    X : ndarray, shape (n_windows, n_electrodes, n_bands)
        Tokens (standardised here with the model's own per-band statistics).
    ch_names : list of str, optional
        Electrodes of ``X`` when they differ from the training montage (position-embedding models
        only).
    batch_size : int

    Returns
    -------
    embeddings : ndarray, shape (n_windows, embed_dim), float64
    """
    check_is_fitted(estimator, "net_")
    return estimator.embed(X, batch_size=batch_size, ch_names=ch_names)


class MontageTransfer(MetaEstimatorMixin, BaseEstimator):
    """Fit a position-embedding transformer on one montage and predict on another.

    Parameters
    ----------
    estimator : ElectrodeAttentionClassifier or ElectrodeAttentionRegressor
        Unfitted; cloned in ``fit`` with ``ch_names`` set. Use a config that embeds positions
        (``config="default"``).
    ch_names : list of str
        Electrodes of X's second axis. Set it to the test montage before ``predict`` (e.g. with
        ``set_params``); ``predict`` then hands it to the fitted estimator's ``ch_names``
        argument, which embeds those electrodes from their positions.

    Attributes
    ----------
    estimator_ : the fitted estimator
    fit_ch_names_ : list of str
        The montage used for training.
    classes_ : ndarray
        Class labels (classifiers only).

    Notes
    -----
    ``fit`` requests ``groups`` and ``held_out`` through scikit-learn's metadata routing by
    default and hands them to the estimator's ``fit`` (early stopping on held-out trials or
    subjects). It checks the parameters first (``_parameter_constraints``: scikit-learn's
    ``InvalidParameterError``, naming the parameter and what it accepts), then the wrapped
    estimator's own in its ``fit``.

    ``ch_names_at_predict = "parameter"``: ``predict`` reads the montage of ``X`` from the
    ``ch_names`` parameter as it is then (see
    :data:`CH_NAMES_AT_PREDICT`), which is what
    :func:`~neuroaffect.affect.cross_dataset_evaluate` needs for ``channels="all"``.
    """

    __metadata_request__fit = {"groups": True, "held_out": True}
    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "ch_names": ["array-like", None],  # None is refused by fit, which names what it needs
    }
    #: Where ``predict`` reads the montage of ``X``: the ``ch_names`` parameter, set at predict time.
    ch_names_at_predict = "parameter"

    def __init__(self, estimator, ch_names=None):
        self.estimator = estimator
        self.ch_names = ch_names

    @_fit_context(prefer_skip_nested_validation=False)  # the estimator checks its own parameters
    def fit(self, X, y, groups=None, held_out=None):
        """Fit a clone of ``estimator`` with ``ch_names``.

        ``groups`` (trial ids) and ``held_out`` (what the evaluation holds out) go to its ``fit``.
        """
        if self.ch_names is None:
            raise ValueError("MontageTransfer needs ch_names (one name per electrode of X).")
        self.estimator_ = clone(self.estimator).set_params(ch_names=list(self.ch_names))
        self.estimator_.fit(X, y, groups=groups, held_out=held_out)
        self.fit_ch_names_ = normalize_ch_names(self.ch_names, source="the 'ch_names' parameter")
        if hasattr(self.estimator_, "classes_"):
            self.classes_ = self.estimator_.classes_
        return self

    def _fitted(self, method):
        """The fitted estimator's ``method`` and the current montage (``NotFittedError`` before fit)."""
        check_is_fitted(self, "estimator_")
        names = normalize_ch_names(self.ch_names, source="the 'ch_names' parameter")
        return getattr(self.estimator_, method), names

    def predict(self, X):
        """Predictions for tokens on the montage named by the current ``ch_names``."""
        predict, names = self._fitted("predict")
        return predict(X, ch_names=names)

    def predict_proba(self, X):
        """Class probabilities for tokens on the montage named by the current ``ch_names``."""
        predict_proba, names = self._fitted("predict_proba")
        return predict_proba(X, ch_names=names)

    def embed(self, X) -> np.ndarray:
        """Pooled embeddings (see :func:`pooled_embeddings`) on the current montage."""
        embed, names = self._fitted("embed")
        return embed(X, ch_names=names)

    def electrode_importance(self, X) -> np.ndarray:
        """Attention-rollout importance of each electrode of ``X`` (current montage; sums to 1).

        See :meth:`~neuroaffect.estimators.ElectrodeAttentionClassifier.electrode_importance`.
        """
        electrode_importance, names = self._fitted("electrode_importance")
        return electrode_importance(X, ch_names=names)
