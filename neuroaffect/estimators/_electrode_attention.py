"""Fitting and forward passes shared by the two electrode-attention estimators.

:class:`_ElectrodeAttentionBase` trains :class:`~neuroaffect.models.transformer.ElectrodeAttentionTransformer`
in skorch (AdamW, cosine learning-rate schedule, early stopping on :func:`~neuroaffect.estimators.neural.inner_split`)
with :class:`_TaskLoss`; :class:`~neuroaffect.estimators.transformer.ElectrodeAttentionClassifier` and
:class:`~neuroaffect.estimators.transformer.ElectrodeAttentionRegressor` add their targets and predictions.

``fit`` requests its ``groups``, ``metadata`` and ``held_out`` metadata by default (scikit-learn metadata routing),
so a ``Pipeline`` or a search hands them on when routing is enabled. Prediction, ``embed`` and
``electrode_importance`` read tokens of the training montage, or, with ``ch_names``, of another
montage (models that embed electrode positions only).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from torch import nn

from .._validation import check_finite
from ..models.transformer import ElectrodeAttentionTransformer, make_config
from .neural import (
    fit_seed,
    inner_split,
    require_y,
    resolve_device,
    resolve_validation_groups,
    seeded,
    training_plan,
)


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
    # Routed by default to fit when metadata routing is enabled (in a Pipeline, a search, the runner).
    __metadata_request__fit = {"groups": True, "metadata": True, "held_out": True}
    #: The ``ch_names`` parameter is the training montage; another montage is the ``ch_names``
    #: argument of ``predict`` / ``predict_proba`` (see
    #: :data:`neuroaffect.estimators.transfer.CH_NAMES_AT_PREDICT`; ``MontageTransfer`` wraps it).
    ch_names_at_predict = "argument"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        return tags

    # ---- input checks -------------------------------------------------------------------------
    def _check_X(self, X, *, reset, other_montage=False):
        if other_montage:  # another electrode count than at fit: no n_features_in_ check
            X = check_array(X, allow_nd=True, dtype=np.float32, ensure_all_finite=False)
        else:
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
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, groups=None, va=None, held_out=None, *, metadata=None):
        """Train on tokens.

        The parameters are checked first, against ``_parameter_constraints`` (scikit-learn's
        ``InvalidParameterError``, a ``ValueError`` naming the parameter and what it accepts);
        what one parameter cannot say alone (``ch_names`` against X's electrodes,
        ``prototype_weight > 0`` without ``prototypes``) is checked as the data arrive.

        Parameters
        ----------
        X : ndarray, shape (n_windows, n_electrodes, n_bands)
            Band features per electrode (e.g. differential entropy). 2-D input is read as
            (n_windows, n_electrodes * n_bands) with ``n_bands`` from the parameter (default 1).
        y : ndarray, shape (n_windows,) or (n_windows, n_targets)
            One target per window, or several (e.g. valence, arousal, dominance).
        groups : ndarray, shape (n_windows,), optional
            Trial id of each window; the early-stopping validation split holds out whole trials.
            Requested by default through metadata routing (a Pipeline or a search with routing
            enabled routes it here).
        va : ndarray, shape (n_windows, 2), optional
            Valence and arousal of each window in the common space [-1, 1]
            (:func:`neuroaffect.affect.to_common_space`); required when ``prototype_weight > 0``,
            where it picks each window's valence-arousal grid class. It is never read from ``y``:
            ``y`` carries no rating names or scales, so which columns are valence and arousal, and
            how to map them to [-1, 1], would be a guess. Not requested by default: in a Pipeline
            under metadata routing, request it with ``set_fit_request(va=True)``.
        held_out : {"subject", "trial"} or None, optional
            What the evaluation around this fit holds out from the model: "subject" when it will
            be tested on subjects absent from ``X`` (leave-one-subject-out, cross-dataset),
            "trial" when on unseen trials of the training subjects. ``validation_groups="auto"``
            follows it: early stopping holds out whole subjects when ``held_out="subject"`` and
            ``metadata`` spans at least 3 subjects, else trials
            (:func:`~neuroaffect.estimators.neural.resolve_validation_groups`). Requested by
            default through metadata routing; :func:`~neuroaffect.evaluation.cross_validate_subjects`
            passes it from the protocol.
        metadata : pandas.DataFrame, shape (n_windows, n_columns), optional
            The windows' id table (``WindowTokens.metadata``; or any table with ``subject``,
            ``session`` and ``trial`` columns): its trial codes are the trials early stopping holds
            out (in place of ``groups``), its subjects those ``validation_groups="subject"`` holds
            out. Requested by default through metadata routing.

        Returns
        -------
        self
        """
        require_y(self, y)
        X = self._check_X(X, reset=True)
        y = np.asarray(y)
        if y.ndim not in (1, 2) or len(y) != len(X):
            raise ValueError(
                f"y must have shape (n_windows,) or (n_windows, n_targets) with n_windows={len(X)}, "
                f"got shape {y.shape}; expected one label (or one row of labels) per window."
            )
        targets, task_sizes = self._encode_targets(y)
        # Input and target scaling (like class weights) are fitted on the training part of the
        # early-stopping split only, so the validation trials stay unseen.
        seed = fit_seed(self.random_state)
        train, valid = inner_split(self, len(X), groups, seed, None if self._regression else targets,
                                   held_out=held_out, metadata=metadata)
        self.early_stopping_ = valid is not None
        self.validation_groups_ = (resolve_validation_groups(self.validation_groups, groups, held_out, metadata)
                                   if self.early_stopping_ else None)
        targets = self._scale_targets(targets, train)
        self.ch_names_, positions = self._electrodes(X.shape[1])
        va = None if va is None else self._check_va(va, len(X))

        # Per-band standardisation (over the inner training windows and electrodes), so models never
        # see raw log-powers.
        self.mean_ = X[train].mean(axis=(0, 1))
        self.scale_ = X[train].std(axis=(0, 1)) + 1e-6
        Xs = ((X - self.mean_) / self.scale_).astype(np.float32)

        fields = dict(n_bands=X.shape[2], n_outputs=int(sum(task_sizes)), n_chans=X.shape[1])
        config = make_config(self.config, **fields)
        if config.electrodes == "positions" and positions is None:
            config = make_config(self.config, **fields, electrodes="learned")
        self.config_ = config
        alignment = self._alignment(config, va)
        device = resolve_device(self.device)

        from skorch.callbacks import ProgressBar

        from ._net import AlignedNet

        plan = training_plan(self, Xs, targets, valid)  # the cosine schedule; early stopping on valid
        if self.verbose and self.verbose > 1:
            plan["callbacks"].append(("progress", ProgressBar()))
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
            **plan,
            device=device,
            verbose=int(bool(self.verbose)),
        )
        with seeded(seed, device):
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
    def _tokens(self, X, ch_names, method):
        """Checked, standardised tokens of ``X`` and the positions (tensor) of the montage that
        ``ch_names`` names, or None for the training montage."""
        check_is_fitted(self, "net_")
        names = None
        if ch_names is not None:
            from ..channels import normalize_ch_names

            names = normalize_ch_names(ch_names, source=f"the 'ch_names' argument of {method}")
        if names is None or (self.ch_names_ is not None and names == list(self.ch_names_)):
            X, positions = self._check_X(X, reset=False), None
        else:
            if self.config_.electrodes != "positions":
                raise ValueError(
                    f"The 'ch_names' argument of {method} names another montage than the model was fitted on "
                    f"({'no ch_names' if self.ch_names_ is None else f'{len(self.ch_names_)} electrodes'}), but "
                    "this model has a learned electrode table (fitted without ch_names, or with the 'reference' "
                    f"config): it cannot read another montage. Expected ch_names=None or the training montage "
                    f"({self.ch_names_}); to transfer across montages, fit with ch_names and config='default'."
                )
            X = self._check_X(X, reset=False, other_montage=True)
            if len(names) != X.shape[1]:
                raise ValueError(
                    f"The 'ch_names' argument of {method}: ch_names has {len(names)} names but X has "
                    f"{X.shape[1]} electrodes; expected one name per electrode of X's second axis, in its order."
                )
            from ..channels import ch_positions

            positions = torch.as_tensor(ch_positions(names), dtype=torch.float32)
        return ((X - self.mean_) / self.scale_).astype(np.float32), positions

    def _module_pass(self, Xs, positions, batch_size, run):
        """Evaluation-mode passes of the network over standardised tokens ``Xs`` in batches.

        ``run(module, batch, positions)`` returns one tensor per batch; the results are
        concatenated (float64 numpy). The module's training mode is restored afterwards.
        """
        module = self.net_.module_
        device, was_training = next(module.parameters()).device, module.training
        pos = None if positions is None else positions.to(device)
        module.eval()
        try:
            with torch.no_grad():
                parts = [run(module, torch.from_numpy(Xs[i:i + batch_size]).to(device), pos).cpu()
                         for i in range(0, len(Xs), batch_size)]
        finally:
            module.train(was_training)
        return torch.cat(parts).double().numpy() if parts else None

    def embed(self, X, batch_size: int = 1024, ch_names=None):
        """Pooled embedding the head reads (``module.embed``, evaluation mode), e.g. for prototypes.

        Parameters
        ----------
        X : ndarray, shape (n_windows, n_electrodes, n_bands)
        batch_size : int
            Windows per forward pass.
        ch_names : list of str, optional
            The electrodes of ``X`` when they differ from the training montage (models that
            embed electrode positions only, i.e. fitted with ``ch_names`` and the "default"
            config; a ``ValueError`` otherwise). None: X holds the training montage.

        Returns
        -------
        embeddings : ndarray, shape (n_windows, embed_dim), float64
        """
        Xs, positions = self._tokens(X, ch_names, "embed")
        out = self._module_pass(Xs, positions, batch_size, lambda m, xb, pos: m.embed(xb, positions=pos))
        return np.zeros((0, self.config_.embed_dim)) if out is None else out

    def electrode_importance(self, X, batch_size: int = 1024, ch_names=None) -> np.ndarray:
        """How much each electrode feeds the prediction, by attention rollout on the windows ``X``.

        Each layer's head-averaged attention, mixed half-and-half with the identity (the residual
        path), is multiplied through the layers
        (:func:`~neuroaffect.estimators.interpret.attention_rollout`); an electrode's importance
        is its mean share over the output tokens, averaged over the windows: a unitless fraction,
        class-agnostic (where the model looks, not which way it votes). The importances sum to 1.
        :func:`~neuroaffect.evaluation.cross_validate_subjects` calls this method on each fold's
        test windows for the report's topomap.

        Parameters
        ----------
        X : ndarray, shape (n_windows, n_electrodes, n_bands)
            Tokens to explain.
        batch_size : int
            Windows per forward pass.
        ch_names : list of str, optional
            The electrodes of ``X`` when they differ from the training montage (see :meth:`embed`).

        Returns
        -------
        importance : ndarray, shape (n_electrodes,)
            Mean rollout share of each electrode of ``X`` (sums to 1).
        """
        from .interpret import attention_rollout

        Xs, positions = self._tokens(X, ch_names, "electrode_importance")

        def rollout(module, xb, pos):
            _, maps = module(xb, positions=pos, need_weights=True)
            return attention_rollout(maps).mean(dim=1).sum(dim=0, keepdim=True).double()

        out = self._module_pass(Xs, positions, batch_size, rollout)
        if out is None:
            raise ValueError("X has no windows; expected at least one window to explain.")
        return out.sum(axis=0) / len(Xs)

    def _forward(self, X, ch_names=None, method="predict"):
        """Network outputs (n_windows, n_outputs) as float64 numpy, on the montage of ``ch_names``."""
        Xs, positions = self._tokens(X, ch_names, method)
        if positions is None:  # the training montage: skorch's own evaluation pass
            with torch.no_grad():
                out = self.net_.forward(Xs, training=False, device="cpu")
            return out.double().numpy()
        out = self._module_pass(Xs, positions, 1024, lambda m, xb, pos: m(xb, positions=pos))
        return np.zeros((0, self.config_.n_outputs)) if out is None else out
