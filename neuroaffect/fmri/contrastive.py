"""Brain -> embedding encoders: a contrastive projector (CLIP / MindEye losses) and a ridge baseline.

Both map brain responses X (n_samples, n_features) into a target embedding space Y (n_samples,
embed_dim) that the user supplies (precomputed image embeddings, text embeddings, ...), return
L2-normalised embeddings from ``transform`` and score by top-1 retrieval.

The contrastive loss
--------------------
With brain embeddings ``b_i`` and targets ``t_j`` (both unit norm) and a logit scale ``s`` (learnable,
``s = 1 / temperature``, initialised at 1/0.07 and capped at 100 as in CLIP), logits are
``L_ij = s * b_i . t_j``.

- ``loss="clip"``: symmetric cross-entropy, ``(CE(L, I) + CE(L^T, I)) / 2``.
- ``loss="mindeye"``: MindEye's schedule. For the first ``mixco_fraction`` of the epochs, BiMixCo:
  a random ``mixco_prob`` share of each batch's brain patterns is mixed with a permuted partner,
  ``x_i <- l_i x_i + (1 - l_i) x_p(i)`` with ``l_i ~ Beta(mixco_beta, mixco_beta)``, and the targets
  become soft (``l_i`` on ``t_i``, ``1 - l_i`` on ``t_p(i)``), in both directions. Then SoftCLIP:
  the targets of row ``i`` are ``softmax_j(t_i . t_j / soft_target_tau)`` in both directions.
"""

from __future__ import annotations

from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import check_finite, check_ndim

#: Default ridge regularisation grid.
ALPHAS = tuple(float(a) for a in np.logspace(-1, 5, 13))


def _check_X(estimator, X, *, reset, min_samples=1):
    """``X`` as float64 (n_samples, n_features), checked as scikit-learn checks it (``n_features_in_``
    set on ``reset``, compared otherwise); NaN and inf named with their position."""
    X = validate_data(estimator, X, reset=reset, dtype=np.float64, ensure_all_finite=False,
                      ensure_min_samples=min_samples)
    return check_finite(X, "X")


def _check_pair(X, Y, what_x="X", what_y="Y", estimator=None):
    """``X`` and ``Y`` with unit-norm rows; ``Y`` None is refused when ``estimator`` needs it (fit)."""
    X = check_finite(check_ndim(np.asarray(X, dtype=float), 2, what_x, "(n_samples, n_features)"), what_x)
    if Y is None:
        if estimator is not None:
            raise ValueError(f"{type(estimator).__name__} requires y to be passed, but the target y is None; expected "
                             f"the target embeddings {what_y} of shape (n_samples, embed_dim).")
        return X, None
    Y = check_finite(check_ndim(np.asarray(Y, dtype=float), 2, what_y, "(n_samples, embed_dim)"), what_y)
    if len(X) != len(Y):
        raise ValueError(f"{what_x} has {len(X)} samples but {what_y} has {len(Y)} embeddings; expected "
                         "one target embedding per brain sample (align them with align_embeddings).")
    norms = np.linalg.norm(Y, axis=1)
    if (norms == 0).any():
        raise ValueError(f"{what_y} has {(norms == 0).sum()} all-zero embedding(s); cannot normalise them.")
    return X, Y / norms[:, None]


def _normalize(Z):
    return Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)


class _RetrievalScore:
    """``score`` of the brain -> embedding encoders: top-1 retrieval, not a regressor's R^2 (they are
    transformers whose target is an embedding, judged by retrieval)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True  # the target embeddings Y
        return tags

    def predict(self, X):
        """The predicted embeddings, as :meth:`transform` (so scikit-learn's ``cross_val_predict``
        and ``cross_validate`` take the encoder as they take a multi-output regressor)."""
        return self.transform(X)

    def score(self, X, Y):
        """Top-1 retrieval accuracy brain -> embedding among the distinct targets of ``Y``.

        Rows of ``Y`` that are identical (repeats of one stimulus) are one candidate, so retrieving
        the target of a repeat is a hit. Ties are broken at random in expectation.

        Parameters
        ----------
        X : ndarray, shape (n_samples, n_features)
        Y : ndarray, shape (n_samples, embed_dim)
            True target of each sample.

        Returns
        -------
        float
            Mean top-1 hit; chance is ``1 / n_distinct`` (the number of distinct rows of ``Y``). See
            :func:`neuroaffect.fmri.retrieval_accuracy` for the standard 300-candidate protocol.
        """
        from .semantics import distinct_targets, expected_topk_hits

        _, Y = _check_pair(X, Y)
        pred = self.transform(X)
        if Y.shape[1] != pred.shape[1]:
            raise ValueError(
                f"Invalid shape for the 'Y' parameter: the encoder predicts {pred.shape[1]}-dimensional "
                f"embeddings (it was fitted on targets of embed_dim {pred.shape[1]}), so Y must have shape "
                f"(n_samples, {pred.shape[1]}); got {Y.shape[1]} dimensions (shape {Y.shape})."
            )
        first, label = distinct_targets(Y)
        return float(np.mean(expected_topk_hits(pred @ Y[first].T, label, 1)))


class RidgeEncoder(_RetrievalScore, TransformerMixin, BaseEstimator):
    """Ridge regression from brain responses to target embeddings (the standard baseline).

    Standardises X, fits ``RidgeCV`` (one alpha shared by all embedding dimensions, chosen by
    efficient leave-one-out) to unit-norm targets.

    Parameters
    ----------
    alphas : array-like
        Candidate regularisation strengths.

    Attributes
    ----------
    scaler_ : StandardScaler
    ridge_ : RidgeCV
    alpha_ : float
    n_features_in_ : int
    """

    _parameter_constraints: dict = {"alphas": ["array-like"]}

    def __init__(self, alphas=ALPHAS):
        self.alphas = alphas

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, Y):
        """Fit on X (n_samples, n_features) and Y (n_samples, embed_dim)."""
        from sklearn.linear_model import RidgeCV
        from sklearn.preprocessing import StandardScaler

        X = _check_X(self, X, reset=True)
        X, Y = _check_pair(X, Y, estimator=self)
        self.scaler_ = StandardScaler().fit(X)
        self.ridge_ = RidgeCV(alphas=np.asarray(self.alphas, float)).fit(self.scaler_.transform(X), Y)
        self.alpha_ = float(self.ridge_.alpha_)
        return self

    def transform(self, X):
        """L2-normalised predicted embeddings, shape (n_samples, embed_dim)."""
        check_is_fitted(self, "ridge_")
        X = _check_X(self, X, reset=False)
        return _normalize(self.ridge_.predict(self.scaler_.transform(X)))


class ContrastiveEncoder(_RetrievalScore, TransformerMixin, BaseEstimator):
    """Contrastive brain -> embedding projector (CLIP loss, optional MindEye BiMixCo/SoftCLIP).

    Trains in skorch, the training loop of the other neural estimators
    (:class:`neuroaffect.estimators._net.Net`; :mod:`neuroaffect.fmri._contrastive_net`): the loss
    couples the samples of a batch (each brain sample is scored against every target of the
    batch), and skorch computes the loss one batch at a time, on the batch's ``(X, Y)`` pairs
    together. Batches are a fresh permutation each epoch, cut into ``ceil(n / batch_size)`` batches
    of equal size (within one); BiMixCo mixes samples within a batch before its forward pass.

    Parameters
    ----------
    projector : {"mlp", "linear"}
        ``"mlp"``: Linear -> LayerNorm -> GELU -> Dropout, ``n_blocks`` residual blocks of the same,
        then Linear to ``embed_dim``. ``"linear"``: a single linear map.
    hidden_dim : int
    n_blocks : int
    dropout : float
    loss : {"clip", "mindeye"}
        See the module docstring.
    mixco_fraction : float
        Share of the epochs trained with BiMixCo (``loss="mindeye"`` only; MindEye: 1/3).
    mixco_prob : float
        Share of each batch that is mixed during BiMixCo.
    mixco_beta : float
        Parameter of the symmetric Beta distribution of the mixing weights.
    soft_target_tau : float
        Temperature of SoftCLIP's target-target softmax.
    init_temperature : float
        Initial temperature (logit scale = 1 / temperature).
    learn_temperature : bool
    max_epochs, batch_size : int
    lr, weight_decay : float
        AdamW settings (no weight decay on the logit scale); the learning rate follows the neural
        estimators' cosine schedule (:func:`~neuroaffect.estimators.neural.cosine_schedule`),
        stepped every batch, from ``lr`` to ``lr / 1000`` over all steps.
    device : str
        ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when available).
    n_threads : int, optional
        CPU threads torch may use during fit/transform (restored afterwards); ``None`` leaves torch's
        setting. On a busy shared machine 1 thread can be much faster than oversubscribed threads.
    random_state : int, RandomState or None
        Fixes initialisation, batches and mixing: results are reproducible on one device.
    verbose : bool
        Show a tqdm progress bar over epochs.

    Attributes
    ----------
    model_ : torch.nn.Module
        The trained projector (evaluation mode, on the CPU).
    mean_, scale_ : ndarray, shape (n_features,)
        Standardisation of X learned in fit.
    temperature_ : float
        Final temperature.
    loss_curve_ : list of float
        Mean training loss per epoch.
    n_features_in_, embed_dim_ : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Y = rng.standard_normal((64, 8)); X = Y @ rng.standard_normal((8, 20))
    >>> enc = ContrastiveEncoder(max_epochs=30, random_state=0).fit(X, Y)
    >>> enc.transform(X).shape
    (64, 8)
    """

    _parameter_constraints: dict = {
        "projector": [StrOptions({"mlp", "linear"})],
        "hidden_dim": [Interval(Integral, 1, None, closed="left")],
        "n_blocks": [Interval(Integral, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="both")],
        "loss": [StrOptions({"clip", "mindeye"})],
        "mixco_fraction": [Interval(Real, 0, 1, closed="both")],
        "mixco_prob": [Interval(Real, 0, 1, closed="both")],
        "mixco_beta": [Interval(Real, 0, None, closed="neither")],
        "soft_target_tau": [Interval(Real, 0, None, closed="neither")],
        "init_temperature": [Interval(Real, 0, None, closed="neither")],
        "learn_temperature": ["boolean"],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, projector="mlp", hidden_dim=256, n_blocks=2, dropout=0.1, loss="clip",
                 mixco_fraction=1 / 3, mixco_prob=0.5, mixco_beta=0.15, soft_target_tau=0.0075,
                 init_temperature=0.07, learn_temperature=True, max_epochs=100, batch_size=128,
                 lr=1e-3, weight_decay=1e-2, device="cpu", n_threads=None, random_state=None,
                 verbose=False):
        self.projector = projector
        self.hidden_dim = hidden_dim
        self.n_blocks = n_blocks
        self.dropout = dropout
        self.loss = loss
        self.mixco_fraction = mixco_fraction
        self.mixco_prob = mixco_prob
        self.mixco_beta = mixco_beta
        self.soft_target_tau = soft_target_tau
        self.init_temperature = init_temperature
        self.learn_temperature = learn_temperature
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, Y):
        """Train on brain responses X (n_samples, n_features) and targets Y (n_samples, embed_dim)."""
        from ..estimators.neural import resolve_device, seeded

        X = _check_X(self, X, reset=True, min_samples=2)  # a contrastive loss compares samples: 2 at least
        X, Y = _check_pair(X, Y, estimator=self)
        rng = check_random_state(self.random_state)
        device = resolve_device(self.device)
        # initialisation and dropout draw from torch's generator: seed a private copy of it
        with _threads(self.n_threads), seeded(rng.randint(2**31 - 1), device):
            return self._fit(X, Y, rng, device)

    def _fit(self, X, Y, rng, device):
        from ._contrastive_net import train

        self.mean_ = X.mean(0)
        self.scale_ = np.where(X.std(0) > 0, X.std(0), 1.0)
        net = train(self, (X - self.mean_) / self.scale_, Y, rng, device)
        module = net.module_.cpu().eval()
        self.model_ = module.projector
        self.temperature_ = 1.0 / module.log_scale.exp().item()
        self.loss_curve_ = [float(loss) for loss in net.history[:, "train_loss"]]
        self.embed_dim_ = Y.shape[1]
        return self

    def transform(self, X, batch_size=4096):
        """L2-normalised brain embeddings, shape (n_samples, embed_dim).

        The trained (float32) network runs in float64 here, so a sample's embedding does not depend
        on the other samples of its batch (float32 products round differently with the batch size).
        """
        import torch
        from torch.func import functional_call

        check_is_fitted(self, "model_")
        X = _check_X(self, X, reset=False)
        Xt = torch.as_tensor((X - self.mean_) / self.scale_, dtype=torch.float64)
        weights = {**dict(self.model_.named_parameters()), **dict(self.model_.named_buffers())}
        weights = {name: w.detach().double() for name, w in weights.items()}
        with torch.no_grad(), _threads(self.n_threads):
            out = [functional_call(self.model_, weights, (Xt[i:i + batch_size],)) for i in range(0, len(Xt), batch_size)]
        return _normalize(torch.cat(out).numpy() if out else np.zeros((0, self.embed_dim_)))


def __getattr__(name):
    # The projector class lives in neuroaffect.models.projector (torch loads only there); encoders
    # pickled before name it here (PEP 562: resolved on first access).
    if name == "ResidualMLP":
        from ..models.projector import ResidualMLP

        return ResidualMLP
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@contextmanager
def _threads(n):
    import torch

    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def soft_cross_entropy(logits, targets):
    """Mean over rows of ``-sum_j targets_ij log softmax(logits)_ij``."""
    return -(targets * logits.log_softmax(dim=1)).sum(dim=1).mean()
