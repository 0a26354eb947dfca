"""The network of :class:`~neuroaffect.fmri.ContrastiveEncoder` and its training in skorch.

Imported by ``ContrastiveEncoder.fit`` (torch and skorch load only then). The encoder trains in the
neural estimators' skorch net (:class:`neuroaffect.estimators._net.Net`), as the transformer and the
braindecode networks do: skorch draws the batches, calls the module and computes the loss one
batch at a time, and an in-batch contrastive loss is exactly such a per-batch loss. Each batch's
``(X, Y)`` pairs reach :class:`ContrastiveLoss` together, which scores every brain sample against
every target of the batch. What the generic loop does not know is added here:

- :class:`EvenBatches`: each epoch a fresh permutation cut into ``ceil(n / batch_size)`` batches
  of equal size (within one), so that no batch is a small remainder with few negatives;
- BiMixCo (``loss="mindeye"``): :class:`ContrastiveNet` mixes a batch's brain patterns
  (:func:`mixco`) before the forward pass during the first ``mixco_epochs`` epochs and hands the
  mixing weights to the loss as soft targets;
- the logit scale is capped at 100 after every optimizer step, as in CLIP.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from skorch.callbacks import Callback
from skorch.dataset import unpack_data
from skorch.utils import to_tensor
from torch import nn

from ..estimators._net import Net
from ..estimators.neural import cosine_schedule
from ..models.projector import ResidualMLP
from . import contrastive

#: Cap of the logit scale (1 / temperature), as in CLIP.
MAX_LOGIT_SCALE = 100.0


class ContrastiveModule(nn.Module):
    """The projector (:class:`~neuroaffect.models.projector.ResidualMLP`, or one linear map) and the
    logit scale: ``forward(x)`` returns ``(projector(x), scale)``.

    ``scale = exp(log_scale)``, ``log_scale`` initialised at ``log(1 / init_temperature)`` and
    trained only with ``learn_temperature``.
    """

    def __init__(self, n_in, n_out, projector="mlp", hidden_dim=256, n_blocks=2, dropout=0.1,
                 init_temperature=0.07, learn_temperature=True):
        super().__init__()
        if projector == "linear":
            self.projector = nn.Linear(n_in, n_out)
        else:
            self.projector = ResidualMLP(n_in, int(hidden_dim), n_out, int(n_blocks), dropout)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / init_temperature)),
                                      requires_grad=bool(learn_temperature))

    def forward(self, x):
        return self.projector(x), self.log_scale.exp()


class ContrastiveLoss(nn.Module):
    """Symmetric contrastive loss over one batch of (brain embedding, target embedding) pairs.

    Logits ``L = scale * normalize(b) @ t.T`` (targets ``t`` unit norm); the loss is
    ``(CE(L, T) + CE(L.T, T_t)) / 2`` with soft cross-entropy
    (:func:`~neuroaffect.fmri.contrastive.soft_cross_entropy`) and targets ``T``: the identity
    (CLIP's InfoNCE), SoftCLIP's ``softmax_j(t_i . t_j / soft_target_tau)`` in both directions
    (``soft_target_tau`` given), or BiMixCo's mixing weights (``mixing`` given; ``T_t = mixing.T``).
    """

    def __init__(self, soft_target_tau=None):
        super().__init__()
        self.soft_target_tau = soft_target_tau

    def forward(self, y_pred, y_true, mixing=None):
        embedding, scale = y_pred
        logits = scale * F.normalize(embedding, dim=1) @ y_true.T  # (B, B)
        if mixing is not None:
            targets, targets_t = mixing, mixing.T  # BiMixCo: the mixing weights of each target, column-wise
        elif self.soft_target_tau is not None:
            # SoftCLIP (MindEye's soft_clip_loss): the same row-softmax targets both ways
            targets = targets_t = F.softmax(y_true @ y_true.T / self.soft_target_tau, dim=1)
        else:
            targets = targets_t = torch.eye(len(y_true), device=logits.device)
        # looked up in the module at each call (tests follow the targets through it)
        return (contrastive.soft_cross_entropy(logits, targets)
                + contrastive.soft_cross_entropy(logits.T, targets_t)) / 2


def mixco(xb, rng, prob, beta):
    """Mix a share ``prob`` of the batch with permuted partners; return mixed X and soft targets (B, B).

    ``x_i <- l_i x_i + (1 - l_i) x_p(i)`` with ``l_i ~ Beta(beta, beta)`` for the mixed rows (1
    for the others); row ``i`` of the targets holds ``l_i`` on ``i`` and ``1 - l_i`` on ``p(i)``.
    """
    B = len(xb)
    lam = np.ones(B)
    mixed = rng.rand(B) < prob
    lam[mixed] = rng.beta(beta, beta, size=mixed.sum())
    partner = rng.permutation(B)
    targets = np.zeros((B, B))
    np.add.at(targets, (np.arange(B), np.arange(B)), lam)
    np.add.at(targets, (np.arange(B), partner), 1 - lam)
    lam_t = torch.as_tensor(lam, dtype=xb.dtype, device=xb.device)[:, None]
    xb = lam_t * xb + (1 - lam_t) * xb[torch.as_tensor(partner, device=xb.device)]
    return xb, torch.as_tensor(targets, dtype=xb.dtype, device=xb.device)


class EvenBatches:
    """Batch sampler: each epoch a permutation of ``n`` indices cut into ``ceil(n / batch_size)``
    batches whose sizes differ by one at most (drawn from the ``numpy`` generator ``rng``)."""

    def __init__(self, n, batch_size, rng):
        self.n, self.batch_size, self.rng = n, batch_size, rng

    def __len__(self):
        return max(1, math.ceil(self.n / self.batch_size))

    def __iter__(self):
        for batch in np.array_split(self.rng.permutation(self.n), len(self)):
            yield batch.tolist()


class ContrastiveNet(Net):
    """:class:`~neuroaffect.estimators._net.Net` for an in-batch contrastive loss.

    Parameters (beside skorch's)
    ----------------------------
    random_state : numpy.random.RandomState
        Draws the batches (:class:`EvenBatches`) and the BiMixCo mixing.
    mixco_epochs : int
        Epochs (the first ones) trained with BiMixCo.
    mixco_prob, mixco_beta : float
        Share of each batch mixed, and the parameter of the Beta distribution of the weights.
    """

    def __init__(self, *args, random_state=None, mixco_epochs=0, mixco_prob=0.5, mixco_beta=0.15, **kwargs):
        super().__init__(*args, **kwargs)
        self.random_state = random_state
        self.mixco_epochs = mixco_epochs
        self.mixco_prob = mixco_prob
        self.mixco_beta = mixco_beta

    def get_iterator(self, dataset, training=False):
        if not training:
            return super().get_iterator(dataset, training=training)
        return self.iterator_train(dataset, batch_sampler=EvenBatches(len(dataset), self.batch_size, self.random_state))

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        mixing = None
        if len(self.history) <= self.mixco_epochs:  # the history has a row for the current epoch
            Xi, mixing = mixco(to_tensor(Xi, device=self.device), self.random_state, self.mixco_prob,
                               self.mixco_beta)
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True, mixing=mixing)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def get_loss(self, y_pred, y_true, X=None, training=False, mixing=None):
        return self.criterion_(y_pred, to_tensor(y_true, device=self.device), mixing)

    def train_step(self, batch, **fit_params):
        step = super().train_step(batch, **fit_params)
        with torch.no_grad():
            self.module_.log_scale.clamp_(max=math.log(MAX_LOGIT_SCALE))
        return step


class EpochProgress(Callback):
    """A progress bar over the epochs (:func:`neuroaffect._logging.progress_bar`)."""

    def __init__(self, desc):
        self.desc = desc

    def on_train_begin(self, net, **kwargs):
        from .._logging import progress_bar

        self.bar_ = progress_bar(total=net.max_epochs, desc=self.desc)

    def on_epoch_end(self, net, **kwargs):
        self.bar_.update()

    def on_train_end(self, net, **kwargs):
        self.bar_.close()


def train(encoder, X, Y, rng, device):
    """Train the network of ``encoder`` (a ContrastiveEncoder) on standardised ``X`` and unit-norm ``Y``.

    Returns the fitted :class:`ContrastiveNet`. The caller seeds torch's generator (initialisation
    and dropout); ``rng`` draws the batches and the mixing.
    """
    n_batches = len(EvenBatches(len(X), int(encoder.batch_size), rng))
    callbacks = [("lr_schedule", cosine_schedule(encoder.lr, int(encoder.max_epochs), steps_per_epoch=n_batches))]
    if encoder.verbose:
        callbacks.append(("progress", EpochProgress(type(encoder).__name__)))
    net = ContrastiveNet(
        ContrastiveModule,
        module__n_in=X.shape[1],
        module__n_out=Y.shape[1],
        module__projector=encoder.projector,
        module__hidden_dim=encoder.hidden_dim,
        module__n_blocks=encoder.n_blocks,
        module__dropout=encoder.dropout,
        module__init_temperature=encoder.init_temperature,
        module__learn_temperature=encoder.learn_temperature,
        criterion=ContrastiveLoss,
        criterion__soft_target_tau=encoder.soft_target_tau if encoder.loss == "mindeye" else None,
        optimizer=torch.optim.AdamW,
        optimizer__weight_decay=encoder.weight_decay,
        optimizer__param_groups=[("log_scale", {"weight_decay": 0.0})],
        lr=encoder.lr,
        max_epochs=int(encoder.max_epochs),
        batch_size=int(encoder.batch_size),
        train_split=None,
        callbacks=callbacks,
        random_state=rng,
        mixco_epochs=round(encoder.mixco_fraction * encoder.max_epochs) if encoder.loss == "mindeye" else 0,
        mixco_prob=encoder.mixco_prob,
        mixco_beta=encoder.mixco_beta,
        device=device,
        verbose=0,
    )
    return net.fit(X.astype(np.float32), Y.astype(np.float32))
