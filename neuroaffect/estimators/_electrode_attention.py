"""Fitting and forward passes shared by the two electrode-attention estimators.

:class:`_ElectrodeAttentionBase` trains :class:`~neuroaffect.models.transformer.ElectrodeAttentionTransformer`
in skorch (AdamW, cosine learning-rate schedule, early stopping on :func:`~neuroaffect.estimators.neural.inner_split`)
with :class:`_TaskLoss`; :class:`~neuroaffect.estimators.transformer.ElectrodeAttentionClassifier` and
:class:`~neuroaffect.estimators.transformer.ElectrodeAttentionRegressor` add their targets and predictions.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from .._validation import check_finite, check_option, check_positive
from ..models.transformer import ElectrodeAttentionTransformer, make_config
from .neural import cosine_schedule, inner_split


class _TaskLoss(nn.Module):
    """Sum over tasks of cross-entropy (``task_sizes`` logits each) or of mean squared error."""

    def __init__(self, task_sizes, class_weights=None, label_smoothing=0.0, regression=False):
        super().__init__()
        self.task_sizes, self.label_smoothing, self.regression = list(task_sizes), label_smoothing, regression
        for i, w in enumerate(class_weights or []):
            self.register_buffer(f"weight{i}", torch.as_tensor(w, dtype=torch.float32))

    def forward(self, y_pred, y_true):
        if self.regression:
            return ((y_pred - y_true) ** 2).mean(0).sum()
        loss, start = 0.0, 0
        for i, size in enumerate(self.task_sizes):
            loss = loss + nn.functional.cross_entropy(
                y_pred[:, start:start + size], y_true[:, i],
                weight=getattr(self, f"weight{i}", None), label_smoothing=self.label_smoothing,
            )
            start += size
        return loss


class _ElectrodeAttentionBase(BaseEstimator):
    _regression = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        return tags

    # ---- input checks -------------------------------------------------------------------------
    def _check_X(self, X, *, reset):
        X = validate_data(self, X, reset=reset, allow_nd=True, dtype=np.float32, ensure_all_finite=False)
        if X.ndim == 2:
            n_bands = self.n_bands or 1
            if X.shape[1] % n_bands:
                raise ValueError(
                    f"2-D X of shape {X.shape} cannot be read as (n_windows, n_electrodes * n_bands) "
                    f"with n_bands={n_bands}."
                )
            X = X.reshape(len(X), -1, n_bands)
        elif X.ndim != 3:
            raise ValueError(
                f"X must have shape (n_windows, n_electrodes, n_bands) (3 dimensions), got shape {X.shape}."
            )
        check_finite(X, "X (tokens)")
        if reset:
            self.n_bands_ = X.shape[2]
        elif X.shape[2] != self.n_bands_:
            raise ValueError(f"X has {X.shape[2]} bands, but {type(self).__name__} was fitted with {self.n_bands_}.")
        return X

    def _electrodes(self, n_electrodes):
        if self.ch_names is None:
            return None, None
        from ..channels import ch_positions, normalize_ch_names

        names = normalize_ch_names(self.ch_names, source="the 'ch_names' parameter")
        if len(names) != n_electrodes:
            raise ValueError(
                f"ch_names has {len(names)} names but X has {n_electrodes} electrodes; give one name "
                "per electrode token, in the order of X's second axis."
            )
        return names, ch_positions(names)

    # ---- fitting ------------------------------------------------------------------------------
    def fit(self, X, y, groups=None, va=None):
        """Train on tokens.

        Parameters
        ----------
        X : ndarray, shape (n_windows, n_electrodes, n_bands)
            Band features per electrode (e.g. differential entropy). 2-D input is read as
            (n_windows, n_electrodes * n_bands) with ``n_bands`` from the parameter (default 1).
        y : ndarray, shape (n_windows,) or (n_windows, n_targets)
            One target per window, or several (e.g. valence, arousal, dominance).
        groups : ndarray, shape (n_windows,), optional
            Trial id of each window; the early-stopping validation split holds out whole trials
            (or whole subjects with ``validation_groups="subject"``: then trial keys
            ``"subject/session/trial"``, e.g. ``WindowTokens.trial_key``).
        va : ndarray, shape (n_windows, 2), optional
            Valence and arousal of each window in the common space [-1, 1]
            (:func:`neuroaffect.affect.to_common_space`); required when ``prototype_weight > 0``,
            where it picks each window's valence-arousal grid class. It is never read from ``y``:
            ``y`` carries no rating names or scales, so which columns are valence and arousal, and
            how to map them to [-1, 1], would be a guess.

        Returns
        -------
        self
        """
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        X = self._check_X(X, reset=True)
        y = np.asarray(y)
        if y.ndim not in (1, 2) or len(y) != len(X):
            raise ValueError(
                f"y must have shape (n_windows,) or (n_windows, n_targets) with n_windows={len(X)}, "
                f"got shape {y.shape}; expected one label (or one row of labels) per window."
            )
        for name in ("lr", "max_epochs", "batch_size"):
            check_positive(name, getattr(self, name))
        check_positive("weight_decay", self.weight_decay, strict=False)
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}.")
        check_option("device", self.device, ("auto", "cpu", "cuda") + tuple(f"cuda:{i}" for i in range(16)))
        check_option("precision", self.precision, ("float32", "bfloat16"))
        targets, task_sizes = self._encode_targets(y)
        # Input and target scaling (like class weights) are fitted on the training part of the
        # early-stopping split only, so the validation trials stay unseen.
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        train, valid = inner_split(self, len(X), groups, seed, None if self._regression else targets)
        self.early_stopping_ = valid is not None
        targets = self._scale_targets(targets, train)
        self.ch_names_, positions = self._electrodes(X.shape[1])
        check_positive("prototype_weight", self.prototype_weight, strict=False)
        check_positive("prototype_temperature", self.prototype_temperature)
        va = None if va is None else self._check_va(va, len(X))

        # Per-band standardisation (over the inner training windows and electrodes), so models never
        # see raw log-powers.
        self.mean_ = X[train].mean(axis=(0, 1))
        self.scale_ = X[train].std(axis=(0, 1)) + 1e-6
        Xs = ((X - self.mean_) / self.scale_).astype(np.float32)

        fields = dict(n_bands=X.shape[2], n_outputs=int(sum(task_sizes)), n_electrodes=X.shape[1])
        config = make_config(self.config, **fields)
        if config.electrodes == "positions" and positions is None:
            config = make_config(self.config, **fields, electrodes="learned")
        self.config_ = config
        alignment = self._alignment(config, va)
        device = ("cuda" if torch.cuda.is_available() else "cpu") if self.device == "auto" else self.device

        from skorch.callbacks import EarlyStopping, ProgressBar
        from skorch.dataset import Dataset
        from skorch.helper import predefined_split

        from ._net import AlignedNet

        callbacks = [("lr_schedule", cosine_schedule(self.lr, self.max_epochs))]
        if valid is not None:
            callbacks.append(("early_stopping", EarlyStopping(patience=self.patience, load_best=True)))
        if self.verbose and self.verbose > 1:
            callbacks.append(("progress", ProgressBar()))
        self.net_ = AlignedNet(
            ElectrodeAttentionTransformer,
            **alignment["net"],
            module__config=config,
            module__positions=positions,
            module__autocast_dtype=None if self.precision == "float32" else torch.bfloat16,
            criterion=_TaskLoss,
            criterion__task_sizes=task_sizes,
            criterion__class_weights=self._class_weights(targets[train], task_sizes),
            criterion__label_smoothing=getattr(self, "label_smoothing", 0.0),
            criterion__regression=self._regression,
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train__shuffle=True,
            train_split=None if valid is None else predefined_split(Dataset(Xs[valid], targets[valid])),
            callbacks=callbacks,
            device=device,
            verbose=int(bool(self.verbose)),
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if alignment["bins"] is None:
                self.net_.fit(Xs[train], targets[train])
            else:  # dict batches: the network adds the alignment term (validation stays task-only)
                self.net_.fit({"x": Xs[train], "bins": alignment["bins"][train]}, targets[train])
        self.n_epochs_ = len(self.net_.history)
        return self

    def _check_va(self, va, n):
        """Grid-independent checks of ``va``; returns it as a float array (n, 2)."""
        from ..affect.grid import _check_va

        va = np.asarray(va, dtype=float)
        if va.ndim != 2 or va.shape != (n, 2):
            raise ValueError(
                f"va must have shape (n_windows, 2) = (valence, arousal) with one row per window "
                f"(n_windows={n}), got shape {va.shape}."
            )
        return _check_va(va)

    def _alignment(self, config, va):
        """Prototype-alignment settings: skorch net kwargs and the grid class of each window."""
        off = {"net": {}, "bins": None}
        if self.prototype_weight == 0:
            return off
        if self.prototypes is None:
            raise ValueError(
                "prototype_weight > 0 needs prototypes (a PrototypeGrid or an (n_bins**2, embed_dim) array)."
            )
        if va is None:
            raise ValueError(
                "prototype_weight > 0 needs va=(valence, arousal) per window in [-1, 1] in fit(X, y, va=...)."
            )
        from ..affect.grid import va_bins
        from ._net import as_prototype_tensors

        protos, present, n_bins = as_prototype_tensors(self.prototypes)
        if protos.shape[1] != config.embed_dim:
            raise ValueError(
                f"prototypes have {protos.shape[1]} features but the model's embedding has "
                f"embed_dim={config.embed_dim}; build them from a model of the same width."
            )
        bins = va_bins(va, n_bins)
        bins = np.where(present.numpy()[bins], bins, -1).astype(np.int64)  # no prototype: no term
        net = dict(prototypes=protos, prototype_present=present, prototype_weight=float(self.prototype_weight),
                   prototype_temperature=float(self.prototype_temperature))
        return {"net": net, "bins": bins}

    # ---- prediction ---------------------------------------------------------------------------
    def embed(self, X, batch_size: int = 1024):
        """Pooled embedding the head reads (``module.embed``, evaluation mode), e.g. for prototypes.

        Parameters
        ----------
        X : ndarray, shape (n_windows, n_electrodes, n_bands)
        batch_size : int
            Windows per forward pass.

        Returns
        -------
        embeddings : ndarray, shape (n_windows, embed_dim), float64
        """
        check_is_fitted(self, "net_")
        X = self._check_X(X, reset=False)
        Xs = torch.from_numpy(((X - self.mean_) / self.scale_).astype(np.float32))
        module = self.net_.module_
        device, was_training = next(module.parameters()).device, module.training
        module.eval()
        try:
            with torch.no_grad():
                parts = [module.embed(Xs[i:i + batch_size].to(device)).cpu() for i in range(0, len(Xs), batch_size)]
        finally:
            module.train(was_training)
        return torch.cat(parts).double().numpy() if parts else np.zeros((0, self.config_.embed_dim))

    def _forward(self, X):
        """Network outputs (n_windows, n_outputs) as float64 numpy."""
        check_is_fitted(self, "net_")
        X = self._check_X(X, reset=False)
        Xs = ((X - self.mean_) / self.scale_).astype(np.float32)
        with torch.no_grad():
            out = self.net_.forward(Xs, training=False, device="cpu")
        return out.double().numpy()
