"""Adapters for the electrode-attention transformer: pooled embeddings and other montages.

:class:`~neuroaffect.estimators.ElectrodeAttentionClassifier` / ``...Regressor`` embed electrodes
from their positions when given ``ch_names``, so a fitted model can read tokens of a montage it
was not trained on. These adapters use that without changing the estimators:

- :func:`pooled_embeddings`: the pooled, layer-normalised token a fitted model feeds to its head
  (``module.embed``, the input of ``head``), for prototypes (:func:`~neuroaffect.affect.prototypes.model_prototypes`).
- :class:`MontageTransfer`: a meta-estimator whose ``ch_names`` may change between ``fit`` and
  ``predict`` (what :func:`~neuroaffect.affect.cross_dataset_evaluate` needs for
  ``channels="all"``).
"""

from __future__ import annotations

from unittest import mock

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..channels import ch_positions, normalize_ch_names


def _module_pass(estimator, X, ch_names, batch_size: int, embed: bool = False):
    """Run the fitted network on ``X`` (optionally with other electrodes): its outputs, or with
    ``embed`` its pooled embeddings (``module.embed``)."""
    import torch

    check_is_fitted(estimator, "net_")
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 3:
        raise ValueError(f"X must have shape (n_windows, n_electrodes, n_bands), got shape {X.shape}.")
    if X.shape[2] != estimator.n_bands_:
        raise ValueError(f"X has {X.shape[2]} bands, but the model was fitted with {estimator.n_bands_}.")
    if not np.isfinite(X).all():
        raise ValueError("X (tokens) contains NaN or inf; expected finite band features.")
    module = estimator.net_.module_
    positions = None
    if ch_names is not None:
        if module.config.electrodes != "positions":
            raise ValueError(
                "This model has a learned electrode table (no ch_names at fit, or the 'reference' "
                "config): it cannot read another montage. Fit it with ch_names and config='default'."
            )
        names = normalize_ch_names(ch_names, source="ch_names")
        if len(names) != X.shape[1]:
            raise ValueError(f"ch_names has {len(names)} names but X has {X.shape[1]} electrodes.")
        positions = torch.as_tensor(ch_positions(names), dtype=torch.float32)
    Xs = ((X - estimator.mean_) / estimator.scale_).astype(np.float32)
    device = next(module.parameters()).device
    run = module.embed if embed else module
    parts = []
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(Xs), batch_size):
                xb = torch.from_numpy(Xs[start:start + batch_size]).to(device)
                pos = None if positions is None else positions.to(device)
                parts.append(run(xb, positions=pos).cpu())
    finally:
        module.train(was_training)
    width = module.config.embed_dim if embed else module.config.n_outputs
    return torch.cat(parts).double().numpy() if parts else np.zeros((0, width))


def pooled_embeddings(estimator, X, ch_names=None, batch_size: int = 1024) -> np.ndarray:
    """The pooled embedding (layer-normalised mean over electrode tokens) of a fitted transformer.

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
    return _module_pass(estimator, X, ch_names, batch_size, embed=True)


class MontageTransfer(MetaEstimatorMixin, BaseEstimator):
    """Fit a position-embedding transformer on one montage and predict on another.

    Parameters
    ----------
    estimator : ElectrodeAttentionClassifier or ElectrodeAttentionRegressor
        Unfitted; cloned in ``fit`` with ``ch_names`` set. Use a config that embeds positions
        (``config="default"``).
    ch_names : list of str
        Electrodes of X's second axis. Set it to the test montage before ``predict`` (e.g. with
        ``set_params``); the fitted network then embeds those electrodes from their positions.

    Attributes
    ----------
    estimator_ : the fitted estimator
    fit_ch_names_ : list of str
        The montage used for training.
    classes_ : ndarray
        Class labels (classifiers only).
    """

    def __init__(self, estimator, ch_names=None):
        self.estimator = estimator
        self.ch_names = ch_names

    def fit(self, X, y, groups=None):
        """Fit a clone of ``estimator`` with ``ch_names``; ``groups`` (trial ids) go to its ``fit``."""
        if self.ch_names is None:
            raise ValueError("MontageTransfer needs ch_names (one name per electrode of X).")
        self.estimator_ = clone(self.estimator).set_params(ch_names=list(self.ch_names)).fit(X, y, groups=groups)
        self.fit_ch_names_ = normalize_ch_names(self.ch_names, source="the 'ch_names' parameter")
        if hasattr(self.estimator_, "classes_"):
            self.classes_ = self.estimator_.classes_
        return self

    def _call(self, method, X):
        check_is_fitted(self, "estimator_")
        names = normalize_ch_names(self.ch_names, source="the 'ch_names' parameter")
        if names == self.fit_ch_names_:
            return getattr(self.estimator_, method)(X)
        outputs = _module_pass(self.estimator_, X, names, batch_size=1024)
        # reuse the estimator's own decoding of network outputs (labels, probabilities, rescaling)
        with mock.patch.object(self.estimator_, "_forward", lambda _X: outputs):
            return getattr(self.estimator_, method)(X)

    def predict(self, X):
        """Predictions for tokens on the montage named by the current ``ch_names``."""
        return self._call("predict", X)

    def predict_proba(self, X):
        """Class probabilities for tokens on the montage named by the current ``ch_names``."""
        return self._call("predict_proba", X)

    def embed(self, X) -> np.ndarray:
        """Pooled embeddings (see :func:`pooled_embeddings`) on the current montage."""
        check_is_fitted(self, "estimator_")
        names = normalize_ch_names(self.ch_names, source="the 'ch_names' parameter")
        return pooled_embeddings(self.estimator_, X, None if names == self.fit_ch_names_ else names)
