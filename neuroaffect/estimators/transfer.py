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

import copy
import functools

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
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


def _estimator_has(method):
    """For ``available_if``: the fitted estimator has ``method`` (the unfitted one before ``fit``)."""

    def check(self):
        return hasattr(self.estimator_ if hasattr(self, "estimator_") else self.estimator, method)

    return check


class MontageTransfer(MetaEstimatorMixin, BaseEstimator):
    """Fit a position-embedding transformer on one montage and predict on another.

    Parameters
    ----------
    estimator : ElectrodeAttentionClassifier or ElectrodeAttentionRegressor
        Unfitted; cloned in ``fit`` with ``ch_names`` set. Use a config that embeds positions
        (``config="default"``). It must read another montage from the ``ch_names`` argument of
        ``predict`` (``ch_names_at_predict = "argument"``, :data:`CH_NAMES_AT_PREDICT`); ``fit``
        refuses anything else (a pipeline, an estimator without ``ch_names``).
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
    ``fit`` is a metadata router (scikit-learn's metadata routing): with routing enabled (as the
    evaluation runner enables it) the fit metadata that ``estimator`` requests, ``groups``,
    ``metadata`` and ``held_out`` by default for the transformers (early stopping on held-out trials or subjects),
    go to its ``fit``. With routing disabled, ``fit(X, y)`` works as ever and any keyword
    arguments (``groups=``, ``held_out=``) go to ``estimator.fit`` as they are, for backward
    compatibility (the transformers take both). It checks the parameters first
    (``_parameter_constraints``: scikit-learn's ``InvalidParameterError``, naming the parameter
    and what it accepts), then the wrapped estimator's own in its ``fit``.

    Its tags (classifier or regressor) are the wrapped estimator's, so
    ``is_classifier(MontageTransfer(ElectrodeAttentionClassifier()))`` is True, and ``score`` is
    the wrapped estimator's own (window accuracy, R²) on the current montage. ``predict_proba``,
    ``embed`` and ``electrode_importance`` exist only where the wrapped estimator has them.

    ``ch_names_at_predict = "parameter"``: ``predict`` reads the montage of ``X`` from the
    ``ch_names`` parameter as it is then (see
    :data:`CH_NAMES_AT_PREDICT`), which is what
    :func:`~neuroaffect.affect.cross_dataset_evaluate` needs for ``channels="all"``.
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "ch_names": ["array-like", None],  # None is refused by fit, which names what it needs
    }
    #: Where ``predict`` reads the montage of ``X``: the ``ch_names`` parameter, set at predict time.
    ch_names_at_predict = "parameter"

    def __init__(self, estimator, ch_names=None):
        self.estimator = estimator
        self.ch_names = ch_names

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = copy.deepcopy(inner.classifier_tags)
        tags.regressor_tags = copy.deepcopy(inner.regressor_tags)
        tags.target_tags = copy.deepcopy(inner.target_tags)
        tags.input_tags = copy.deepcopy(inner.input_tags)
        tags.non_deterministic = inner.non_deterministic
        return tags

    def get_metadata_routing(self):
        """Fit metadata that ``estimator`` requests (``groups``, ``metadata``, ``held_out``) go to its ``fit``."""
        return MetadataRouter(owner=type(self).__name__).add_self_request(self).add(
            estimator=self.estimator, method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )

    def _check_estimator(self):
        how = ch_names_at_predict(self.estimator)
        if how == "argument":
            return
        name = type(self.estimator).__name__
        got = {None: f"{name}, which has no ch_names parameter (reads no electrode names)",
               "parameter": f"{name}, which reads the montage from its ch_names parameter at predict time "
                            "(use it directly, without MontageTransfer)"}[how]
        raise ValueError(
            "MontageTransfer's 'estimator' parameter must read another montage from the ch_names argument of "
            "predict (ch_names_at_predict='argument': ElectrodeAttentionClassifier or ElectrodeAttentionRegressor, "
            f"not in a pipeline); got {got}.")

    @_fit_context(prefer_skip_nested_validation=False)  # the estimator checks its own parameters
    def fit(self, X, y, **fit_params):
        """Fit a clone of ``estimator`` with ``ch_names``.

        ``fit_params``: with metadata routing enabled, routed to ``estimator.fit`` as it requests
        them (``groups``: trial ids, ``metadata``: the windows' id table, ``held_out``: what the
        evaluation holds out); with routing
        disabled, passed to it as they are.
        """
        if self.ch_names is None:
            raise ValueError("MontageTransfer needs ch_names (one name per electrode of X).")
        self._check_estimator()
        if _routing_enabled():
            params = process_routing(self, "fit", **fit_params).estimator.fit
        else:
            params = fit_params
        self.estimator_ = clone(self.estimator).set_params(ch_names=list(self.ch_names))
        self.estimator_.fit(X, y, **params)
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

    @available_if(_estimator_has("score"))
    def score(self, X, y, sample_weight=None):
        """The wrapped estimator's own ``score`` on the montage named by the current ``ch_names``.

        Window accuracy for the classifier (its ``threshold`` applied to ``y``), R² for the
        regressor: the fitted estimator's ``score``, run on a shallow copy whose ``predict`` reads
        the current montage (the fitted estimator itself is left as it is).
        """
        predict, names = self._fitted("predict")
        on_montage = copy.copy(self.estimator_)
        on_montage.predict = functools.partial(predict, ch_names=names)
        return on_montage.score(X, y, sample_weight=sample_weight)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities for tokens on the montage named by the current ``ch_names``."""
        predict_proba, names = self._fitted("predict_proba")
        return predict_proba(X, ch_names=names)

    @available_if(_estimator_has("embed"))
    def embed(self, X) -> np.ndarray:
        """Pooled embeddings (see :func:`pooled_embeddings`) on the current montage."""
        embed, names = self._fitted("embed")
        return embed(X, ch_names=names)

    @available_if(_estimator_has("electrode_importance"))
    def electrode_importance(self, X) -> np.ndarray:
        """Attention-rollout importance of each electrode of ``X`` (current montage; sums to 1).

        See :meth:`~neuroaffect.estimators.ElectrodeAttentionClassifier.electrode_importance`.
        """
        electrode_importance, names = self._fitted("electrode_importance")
        return electrode_importance(X, ch_names=names)
