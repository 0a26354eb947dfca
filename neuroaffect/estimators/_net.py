"""The skorch networks of the neural estimators: :class:`Net`, the one training loop they share.

- :class:`Net`: ``skorch.NeuralNet`` that also pickles modules with torch parametrizations (the
  braindecode networks' max-norm constraints); the braindecode networks
  (:mod:`neuroaffect.estimators.networks`) train in it directly.
- :class:`AlignedNet`: the electrode-attention estimators' net, with an optional
  prototype-alignment term (:mod:`neuroaffect.estimators._electrode_attention`).
- The fMRI contrastive encoder's net (an in-batch contrastive loss) subclasses :class:`Net` in
  :mod:`neuroaffect.fmri._contrastive_net`.

Imported lazily by the estimators (skorch is only needed to fit).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from skorch import NeuralNet
from skorch.utils import to_device, to_tensor
from torch.nn.utils import parametrize

from ..affect.prototypes import prototype_alignment_loss


def _parametrized(module) -> bool:
    return isinstance(module, torch.nn.Module) and any(parametrize.is_parametrized(m) for m in module.modules())


class Net(NeuralNet):
    """``skorch.NeuralNet`` whose fitted state pickles also when its module has torch parametrizations.

    torch refuses to pickle a parametrized module (braindecode's EEGNet constrains its spatial
    filters' norm with one), so skorch's pickling, which pickles the module, fails. Such a net
    pickles its module and optimizer as ``state_dict`` s instead, and unpickling builds them again
    from the net's parameters (``module__*``, ``optimizer__*``; under a forked torch generator, so
    that unpickling draws nothing from the caller's) and loads the saved states. Other nets pickle
    as in skorch.
    """

    _STATE_DICTS = "_neuroaffect_state_dicts_"

    def __getstate__(self):
        module = self.__dict__.get("module_")
        if not _parametrized(module):
            return super().__getstate__()
        hidden = {key: self.__dict__.pop(key) for key in ("module_", "optimizer_") if key in self.__dict__}
        try:
            state = super().__getstate__()
        finally:
            self.__dict__.update(hidden)
        optimizer = hidden.get("optimizer_")
        state[self._STATE_DICTS] = {
            "module": {k: v.detach().cpu() for k, v in module.state_dict().items()},
            "training": module.training,
            "optimizer": None if optimizer is None else _to_cpu(optimizer.state_dict()),
        }
        return state

    def __setstate__(self, state):
        saved = state.pop(self._STATE_DICTS, None)
        super().__setstate__(state)
        if saved is None:
            return
        with torch.random.fork_rng(devices=[]):  # building the module draws initial weights
            self.initialize_module()
        self.module_ = to_device(self.module_, self.device)
        self.module_.load_state_dict(saved["module"])
        self.module_.train(saved["training"])
        if saved["optimizer"] is not None:
            self.initialize_optimizer()
            self.optimizer_.load_state_dict(saved["optimizer"])


def _to_cpu(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_cpu(v) for v in value)
    return value


class AlignedNet(Net):
    """:class:`Net` whose training loss may add a prototype-alignment term.

    Training batches given as a dict ``{"x": tokens, "bins": grid class per window}`` run the
    module with ``return_embedding=True`` and get the loss
    ``task loss + prototype_weight * prototype_alignment_loss(embedding, bins, prototypes, ...)``;
    windows with ``bins == -1`` (no prototype for their class) add nothing to the second term.
    Plain array batches (prediction, validation) behave exactly as in :class:`Net`.

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
