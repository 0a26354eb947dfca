"""The skorch network of the electrode-attention estimators, with an optional prototype-alignment term.

Imported lazily by :mod:`neuroaffect.estimators._electrode_attention` (skorch is only needed to fit).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from skorch import NeuralNet
from skorch.utils import to_tensor

from ..affect.prototypes import prototype_alignment_loss


class AlignedNet(NeuralNet):
    """``skorch.NeuralNet`` whose training loss may add a prototype-alignment term.

    Training batches given as a dict ``{"x": tokens, "bins": grid class per window}`` run the
    module with ``return_embedding=True`` and get the loss
    ``task loss + prototype_weight * prototype_alignment_loss(embedding, bins, prototypes, ...)``;
    windows with ``bins == -1`` (no prototype for their class) add nothing to the second term.
    Plain array batches (prediction, validation) behave exactly as in ``NeuralNet``.

    Parameters
    ----------
    prototypes : Tensor, shape (n_classes, embed_dim) or None
        Frozen prototypes (never trained).
    prototype_present : Tensor of bool, shape (n_classes,) or None
        Classes that have a prototype (the others are left out of the softmax).
    prototype_weight, prototype_temperature : float
        Weight of the term and temperature of its softmax.
    """

    def __init__(self, *args, prototypes=None, prototype_present=None, prototype_weight=0.0,
                 prototype_temperature=0.1, **kwargs):
        super().__init__(*args, **kwargs)
        self.prototypes = prototypes
        self.prototype_present = prototype_present
        self.prototype_weight = prototype_weight
        self.prototype_temperature = prototype_temperature

    def infer(self, x, **fit_params):
        if isinstance(x, Mapping) and "bins" in x:
            return self.module_(to_tensor(x["x"], device=self.device), return_embedding=True, **fit_params)
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if not isinstance(y_pred, tuple):
            return super().get_loss(y_pred, y_true, X=X, training=training)
        logits, embedding = y_pred
        loss = super().get_loss(logits, y_true, X=X, training=training)
        bins = to_tensor(X["bins"], device=self.device)
        keep = bins >= 0
        if self.prototype_weight > 0 and bool(keep.any()):
            loss = loss + self.prototype_weight * prototype_alignment_loss(
                embedding[keep], bins[keep], self.prototypes, self.prototype_temperature,
                present=None if self.prototype_present is None else self.prototype_present.cpu().numpy(),
            )
        return loss


def as_prototype_tensors(prototypes):
    """``(prototypes, present, n_bins)`` from a PrototypeGrid or an (n_bins**2, E) array.

    For an array, all-zero rows are classes without a prototype.
    """
    from ..affect.grid import PrototypeGrid

    if isinstance(prototypes, PrototypeGrid):
        protos = torch.tensor(np.array(prototypes.prototypes), dtype=torch.float32)
        present, n_bins = torch.tensor(np.array(prototypes.present, dtype=bool)), prototypes.n_bins
    else:
        protos = torch.tensor(np.array(prototypes, dtype=np.float32))
        present, n_bins = None, None
    if protos.ndim != 2:
        raise ValueError(
            f"prototypes must be a PrototypeGrid or an array of shape (n_bins**2, embed_dim), got "
            f"shape {tuple(protos.shape)}."
        )
    if not torch.isfinite(protos).all():
        raise ValueError("prototypes contain NaN or inf; expected finite embeddings.")
    if n_bins is None:
        n_bins = round(protos.shape[0] ** 0.5)
        if n_bins * n_bins != protos.shape[0]:
            raise ValueError(
                f"prototypes has {protos.shape[0]} rows, not a square number: expected one row per "
                "class of an n_bins x n_bins valence-arousal grid (25 for 5 x 5)."
            )
        present = protos.norm(dim=1) > 0
    if not bool(present.any()):
        raise ValueError("prototypes has no class with a prototype (all rows are zero / absent).")
    return protos.clone(), present.clone(), n_bins
