"""Prototype alignment: pull a model's embeddings towards frozen valence-arousal prototypes.

The loss is the cross-entropy of the cosine similarities between each embedding and every class
prototype (scaled by ``1 / temperature``) against the sample's grid class: it rewards embeddings
that point at their own class's prototype more than at the others'. Prototypes come from
:func:`neuroaffect.affect.grid.va_prototypes` on another (teacher) model and are never updated.

The electrode-attention estimators use it as an optional training term
(:class:`~neuroaffect.estimators.ElectrodeAttentionClassifier` / ``...Regressor``: parameters
``prototypes`` (a :class:`~neuroaffect.affect.grid.PrototypeGrid` or an (n_bins**2, E) array),
``prototype_weight`` and ``prototype_temperature``, and ``fit(X, y, va=...)``): with the network's
pooled embedding ``z`` (batch, E) (``module.embed``) and the batch's valence-arousal ``va`` in [-1, 1],
``loss = task_loss + prototype_weight * prototype_alignment_loss(z, va_bins(va), protos, temperature, present)``.
"""

from __future__ import annotations

import numpy as np

from .grid import PrototypeGrid, va_prototypes


def prototype_alignment_loss(embeddings, bin_labels, prototypes, temperature: float = 0.1, present=None):
    """Cross-entropy of cosine similarity to frozen prototypes.

    Parameters
    ----------
    embeddings : torch.Tensor, shape (batch, n_features)
        Embeddings of the model being trained (gradients flow into them).
    bin_labels : torch.Tensor or array-like of int, shape (batch,)
        Grid class of each sample (:func:`~neuroaffect.affect.grid.va_bins`).
    prototypes : torch.Tensor, ndarray or PrototypeGrid, shape (n_classes, n_features)
        Frozen class prototypes (detached here: no gradient reaches them).
    temperature : float
        Softmax temperature (> 0); smaller is sharper.
    present : array-like of bool, shape (n_classes,), optional
        Classes that have a prototype; the others are left out of the softmax. Taken from the
        :class:`PrototypeGrid` when one is given.

    Returns
    -------
    loss : torch.Tensor, scalar
        Mean over the batch.
    """
    import torch
    import torch.nn.functional as F

    if not (isinstance(temperature, int | float) and np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"Invalid value for the 'temperature' parameter: expected a positive number, got {temperature!r}.")
    if isinstance(prototypes, PrototypeGrid):
        present = prototypes.present if present is None else present
        prototypes = prototypes.prototypes
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings must have shape (batch, n_features), got {tuple(embeddings.shape)}.")
    protos = prototypes if torch.is_tensor(prototypes) else torch.tensor(np.asarray(prototypes))
    protos = protos.detach().to(device=embeddings.device, dtype=embeddings.dtype)
    if protos.ndim != 2 or protos.shape[1] != embeddings.shape[1]:
        raise ValueError(
            f"prototypes must have shape (n_classes, {embeddings.shape[1]}) to match the embeddings, "
            f"got {tuple(protos.shape)}."
        )
    labels = torch.as_tensor(bin_labels, device=embeddings.device).long()
    if labels.shape != (embeddings.shape[0],):
        raise ValueError(f"bin_labels must have shape ({embeddings.shape[0]},), got {tuple(labels.shape)}.")
    if labels.numel() and (labels.min() < 0 or labels.max() >= protos.shape[0]):
        raise ValueError(f"bin_labels must lie in 0..{protos.shape[0] - 1}.")
    logits = F.normalize(embeddings, dim=1) @ F.normalize(protos, dim=1).T / temperature
    if present is not None:
        present = torch.as_tensor(np.asarray(present, dtype=bool), device=embeddings.device)
        if present.shape != (protos.shape[0],):
            raise ValueError(f"present must have shape ({protos.shape[0]},), got {tuple(present.shape)}.")
        if not present[labels].all():
            raise ValueError("Some samples fall in grid classes that have no prototype (present is False).")
        logits = logits.masked_fill(~present, float("-inf"))
    return F.cross_entropy(logits, labels)


def model_prototypes(embed, X, va, n_bins: int = 5, empty: str = "mask") -> PrototypeGrid:
    """Prototypes of a fitted model: its embeddings of ``X`` averaged per valence-arousal class.

    Parameters
    ----------
    embed : callable
        ``embed(X) -> (n, n_features)``, e.g. a fitted estimator's method returning its pooled
        embedding.
    X : array-like
        Inputs the model accepts, e.g. tokens (n_windows, n_electrodes, n_bands).
    va : array-like, shape (n, 2)
        Valence and arousal of each input in the common space.
    n_bins, empty
        As in :func:`~neuroaffect.affect.grid.va_prototypes`.
    """
    if not callable(embed):
        raise TypeError(f"embed must be a callable returning (n, n_features) embeddings, got {type(embed).__name__}.")
    emb = embed(X)
    if hasattr(emb, "detach"):
        emb = emb.detach().cpu().numpy()
    return va_prototypes(emb, va, n_bins=n_bins, empty=empty)
