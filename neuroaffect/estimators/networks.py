"""The field's network baselines in the same scikit-learn API as the transformer.

* braindecode networks trained in the neural estimators' skorch net (:class:`~neuroaffect.estimators._net.Net`,
  the training loop of the electrode-attention transformer and the fMRI contrastive encoder too):
  DGCNN (Song et al. 2018) on DE tokens (n_windows, n_electrodes, n_bands), EEGNet (Lawhern et al.
  2018) and TSception (Ding et al. 2020) on raw windows (n_windows, n_channels, n_times) in volts.
  braindecode supplies the networks; it is imported only when one of these is fitted, and is an
  optional extra: ``pip install "neuroaffect[braindecode]"``.

The networks are built with braindecode's vocabulary: ``n_chans`` and ``n_times`` from ``X``,
``n_outputs`` from ``y``, ``sfreq`` and ``chs_info`` from the parameters of the same names
(``chs_info``: MNE-style channel dicts, e.g. ``raw.info["chs"]``, whose names and positions the
networks read; or built from ``ch_names`` and the standard montage's positions).

``fit`` requests ``groups`` (trial ids, for early stopping on held-out trials), ``metadata`` (the
windows' id table: trials and subjects) and ``held_out`` (what the evaluation holds out, which
``validation_groups="auto"`` follows) through scikit-learn's
metadata routing by default, as the electrode-attention estimators do.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import check_finite
from .neural import (
    TRAINING_CONSTRAINTS,
    check_groups,
    check_window_labels,
    class_weights,
    encode_classes,
    fit_seed,
    inner_split,
    mean_per_trial,
    resolve_device,
    resolve_validation_groups,
    seeded,
    training_plan,
    trial_order,
)

__all__ = ["BraindecodeClassifier", "BraindecodeRegressor"]


_MODELS = {"dgcnn": "DGCNN", "eegnet": "EEGNet", "tsception": "TSception"}

# The parameters both wrappers share, in scikit-learn's declarative form (validated in fit).
_CONSTRAINTS = {
    "model": [StrOptions(set(_MODELS))],
    "ch_names": ["array-like", None],
    "sfreq": [Interval(Real, 0, np.inf, closed="neither"), None],
    "chs_info": [list, tuple, None],
    "model_params": [dict, None],
    **TRAINING_CONSTRAINTS,
}


def import_braindecode(estimator):
    """``braindecode``, or one ImportError that names the extra that installs it."""
    try:
        import braindecode
        import braindecode.models  # noqa: F401  (loads torchaudio: fails on a mismatched torch)
    except (ImportError, OSError) as err:
        raise ImportError(
            f"{estimator} needs braindecode, an optional extra with its own torch/torchaudio pair: "
            f'pip install "neuroaffect[braindecode]" ({type(err).__name__}: {err})'
        ) from err
    return braindecode


def _chs_info(ch_names):
    """``mne.Info['chs']`` with montage positions for ``ch_names`` (what braindecode models read)."""
    import mne

    from ..channels import make_montage, normalize_ch_names

    names = normalize_ch_names(ch_names, source="the 'ch_names' parameter")
    info = mne.create_info(names, sfreq=100.0, ch_types="eeg")
    info.set_montage(make_montage(names))
    return info["chs"]


def _check_chs_info(chs_info, n_chans):
    """Copies of the channel dicts of ``chs_info``, one per channel of X, or ``ValueError``."""
    chs = list(chs_info)
    bad = [i for i, ch in enumerate(chs) if not isinstance(ch, Mapping) or "ch_name" not in ch]
    if bad:
        raise ValueError(
            f"chs_info must be MNE-style channel dicts with a 'ch_name' (and a 'loc' position), e.g. "
            f"raw.info['chs']; entry {bad[0]} is {chs[bad[0]]!r}."
        )
    if len(chs) != n_chans:
        raise ValueError(f"chs_info describes {len(chs)} channels but X has {n_chans} channels; expected one "
                         "channel dict per channel of X, in the order of X's second axis.")
    return [dict(ch) for ch in chs]


class _BraindecodeBase(BaseEstimator):
    _regression = False
    # Routed by default to fit when metadata routing is enabled (in a Pipeline, a search, the runner).
    __metadata_request__fit = {"groups": True, "metadata": True, "held_out": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = False
        return tags

    def _check_X(self, X, *, reset):
        X = validate_data(self, X, reset=reset, allow_nd=True, dtype=np.float32, ensure_all_finite=False)
        what = "(n_windows, n_electrodes, n_bands)" if self.model == "dgcnn" else "(n_windows, n_channels, n_times)"
        if X.ndim != 3:
            raise ValueError(f"X must have shape {what} (3 dimensions), got shape {X.shape}.")
        if X.shape[1] == 0:  # scikit-learn's message for 2-D X (its check of 0 features skips 3-D arrays)
            raise ValueError(f"X has no channel: found array with 0 feature(s) (shape=({X.shape[0]}, 0)) while a "
                             f"minimum of 1 is required (X has shape {X.shape}, expected {what}).")
        if X.shape[2] == 0:
            raise ValueError(f"X has windows of 0 values per channel (shape {X.shape}); expected {what} with at "
                             "least one value per channel.")
        check_finite(X, "X")
        if not reset and X.shape[2] != self.n_times_:
            raise ValueError(f"X has {X.shape[2]} values per channel, but the model was fitted on {self.n_times_}.")
        return X

    def _channels(self, n_chans):
        """The ``chs_info`` handed to the network: the parameter's, or built from ``ch_names``; None without either."""
        if self.chs_info is not None:
            chs = _check_chs_info(self.chs_info, n_chans)
            if self.ch_names is not None and [str(c) for c in self.ch_names] != [str(ch["ch_name"]) for ch in chs]:
                raise ValueError(
                    f"ch_names ({list(self.ch_names)}) and chs_info ({[ch['ch_name'] for ch in chs]}) name different "
                    "channels; pass one of them (chs_info carries the names and positions)."
                )
            return chs
        if self.ch_names is None:
            return None
        if len(self.ch_names) != n_chans:
            raise ValueError(f"ch_names has {len(self.ch_names)} names but X has {n_chans} channels.")
        return _chs_info(self.ch_names)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, groups=None, held_out=None, *, metadata=None):
        """Train the network.

        Parameters
        ----------
        X : ndarray, shape (n_windows, n_electrodes, n_bands) for "dgcnn", else (n_windows, n_channels, n_times)
            DE tokens, or raw windows in volts.
        y : ndarray, shape (n_windows,)
            Class labels (classifier) or ratings (regressor). A column vector (n_windows, 1) is
            ravelled, with scikit-learn's ``DataConversionWarning``.
        groups : ndarray, shape (n_windows,), optional
            Trial id per window; enables early stopping on held-out trials. Requested by default
            through metadata routing.
        held_out : {"subject", "trial"} or None, optional
            What the evaluation around this fit holds out from the model; ``validation_groups="auto"``
            holds out subjects when it is "subject" and ``metadata`` spans at least 3 subjects, else
            trials (:func:`~neuroaffect.estimators.neural.resolve_validation_groups`). Requested
            by default through metadata routing.
        metadata : pandas.DataFrame, shape (n_windows, n_columns), optional
            The windows' id table (``WindowTokens.metadata``): trial codes (in place of
            ``groups``) and the subjects ``validation_groups="subject"`` holds out. Requested by
            default through metadata routing.

        Returns
        -------
        self
        """
        braindecode = import_braindecode(f"{type(self).__name__}(model={self.model!r})")
        X = self._check_X(X, reset=True)
        y = check_window_labels(self, y, len(X))
        if self.model == "tsception" and self.sfreq is None:
            raise ValueError("TSception needs the sampling frequency: pass sfreq (Hz).")
        chs_info = self._channels(X.shape[1])
        if self.model == "dgcnn" and chs_info is None:
            raise ValueError("DGCNN builds its initial graph from electrode positions: pass ch_names (or chs_info).")
        targets, n_outputs = self._encode_targets(y)
        # Input and target scaling are fitted on the training part of the early-stopping split
        # only, so the validation trials stay unseen.
        seed = fit_seed(self.random_state)
        train, valid = inner_split(self, len(X), groups, seed, None if self._regression else targets,
                                   held_out=held_out, metadata=metadata)
        self.early_stopping_ = valid is not None
        self.validation_groups_ = (resolve_validation_groups(self.validation_groups, groups, held_out, metadata)
                                   if self.early_stopping_ else None)
        targets = self._scale_targets(targets, train)
        self.n_times_ = X.shape[2]
        # DE tokens: per-band z-scores; raw windows: one scale (volts -> about unit variance).
        axes = (0, 1) if self.model == "dgcnn" else None
        self.mean_ = X[train].mean(axis=axes) if axes else np.float32(0.0)
        self.scale_ = X[train].std(axis=axes) + 1e-12
        Xs = ((X - self.mean_) / self.scale_).astype(np.float32)

        from ._net import Net

        # braindecode's signal vocabulary; model_params may override any of it
        module_params = dict(n_chans=X.shape[1], n_outputs=n_outputs, n_times=X.shape[2], sfreq=self.sfreq,
                             chs_info=chs_info)
        module_params.update(self.model_params or {})
        if self._regression:
            criterion = {"criterion": torch.nn.MSELoss}
        else:
            weights = class_weights(self.class_weight, self.classes_, targets[train])
            criterion = {"criterion": torch.nn.CrossEntropyLoss, "criterion__label_smoothing": self.label_smoothing,
                         "criterion__weight": None if weights is None else torch.as_tensor(weights, dtype=torch.float32)}
        device = resolve_device(self.device)
        self.net_ = Net(
            getattr(braindecode.models, _MODELS[self.model]),
            **{f"module__{k}": v for k, v in module_params.items()},
            **criterion,
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train__shuffle=True,
            **training_plan(self, Xs, targets, valid),
            device=device,
            verbose=int(bool(self.verbose)),
        )
        with seeded(seed, device):
            self.net_.fit(Xs[train], targets[train])
        return self

    def _scale_targets(self, targets, train):
        return targets

    def _forward(self, X):
        check_is_fitted(self, "net_")
        X = self._check_X(X, reset=False)
        with torch.no_grad():
            out = self.net_.forward(((X - self.mean_) / self.scale_).astype(np.float32), training=False)
        return out.double().numpy()


class BraindecodeClassifier(ClassifierMixin, _BraindecodeBase):
    """A braindecode network (DGCNN, EEGNet, TSception) as a classifier with grouped early stopping.

    Parameters
    ----------
    model : {"dgcnn", "eegnet", "tsception"}
        Network. "dgcnn" takes DE tokens (n_windows, n_electrodes, n_bands); the others take raw
        windows (n_windows, n_channels, n_times) in volts.
    ch_names : list of str or None
        Channel names, in the order of X's second axis: standard 10-05 names, placed at the
        standard montage's positions. "dgcnn" needs them (or ``chs_info``): its initial graph
        comes from electrode positions.
    sfreq : float or None
        Sampling frequency in Hz of raw windows (required by "tsception"); braindecode's ``sfreq``.
    chs_info : list of dict or None
        MNE-style channel dicts (braindecode's ``chs_info``), one per channel of X in order, e.g.
        ``raw.info["chs"]`` or ``epochs.info["chs"]`` of the recording the windows come from: the
        networks read each channel's ``"ch_name"`` and its position (``"loc"``, metres, head
        coordinates), so the recording's own positions replace the standard montage's. Instead of
        ``ch_names`` (with both, they must name the same channels).
    model_params : dict or None
        Extra keyword arguments of the braindecode model (e.g. ``{"drop_prob": 0.25}``); they
        override the signal arguments the wrapper passes (``n_chans``, ``n_times`` from X,
        ``n_outputs`` from y, ``sfreq``, ``chs_info``).
    lr, weight_decay, max_epochs, batch_size, label_smoothing, patience, validation_fraction, validation_groups, device, random_state, verbose
        As in :class:`~neuroaffect.estimators.ElectrodeAttentionClassifier` (early stopping only
        with enough validation trials per class, else the fixed ``max_epochs`` schedule).
    class_weight : "balanced", dict or None, default="balanced"
        Cross-entropy class weights: "balanced" weights classes inversely to their frequency in
        the inner training split; a dict maps class label to weight (classes it does not name
        weigh 1, as in scikit-learn and :class:`~neuroaffect.estimators.ElectrodeAttentionClassifier`).

    Attributes
    ----------
    classes_ : ndarray
        Class labels.
    early_stopping_ : bool
        Whether early stopping ran.
    validation_groups_ : {"trial", "subject"} or None
        What the early-stopping split held out; None without early stopping.
    net_ : skorch.NeuralNet
        The trained network (:class:`neuroaffect.estimators._net.Net`, the neural estimators'
        skorch net: ``net_.module_`` is the braindecode model, ``net_.history`` the log,
        ``net_.criterion_`` the cross-entropy with its class weights).
    mean_, scale_ : ndarray or float
        Input standardisation (per band for "dgcnn", one scale for raw windows), fitted on the
        inner training split (the early-stopping validation trials excluded).
    """

    _parameter_constraints: dict = {
        **_CONSTRAINTS,
        "label_smoothing": [Interval(Real, 0, 1, closed="both")],
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def __init__(
        self, model="dgcnn", ch_names=None, sfreq=None, chs_info=None, model_params=None, lr=1e-3, max_epochs=100,
        batch_size=64, weight_decay=1e-3, label_smoothing=0.0, patience=15, validation_fraction=0.2,
        validation_groups="auto", class_weight="balanced", device="auto", random_state=None, verbose=0,
    ):
        self.model = model
        self.ch_names = ch_names
        self.sfreq = sfreq
        self.chs_info = chs_info
        self.model_params = model_params
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.validation_groups = validation_groups
        self.class_weight = class_weight
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _encode_targets(self, y):
        self.classes_, codes = encode_classes(
            y, hint="use BraindecodeRegressor for continuous ratings or binarise them first")
        return codes, len(self.classes_)

    def predict_proba(self, X):
        """Class probabilities per window, shape (n_windows, n_classes)."""
        z = self._forward(X)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Class label per window, shape (n_windows,)."""
        check_is_fitted(self, "net_")
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def predict_proba_trials(self, X, groups):
        """Mean window probability per trial; returns ``(proba, trial_ids)``."""
        ids, index = trial_order(check_groups(groups, len(X)))
        return mean_per_trial(self.predict_proba(X), index, len(ids)), ids

    def predict_trials(self, X, groups):
        """Class per trial from its mean window probability; returns ``(y_pred, trial_ids)``."""
        check_is_fitted(self, "net_")
        proba, ids = self.predict_proba_trials(X, groups)
        return self.classes_[proba.argmax(axis=1)], ids


class BraindecodeRegressor(RegressorMixin, _BraindecodeBase):
    """A braindecode network as a regressor of one continuous rating; ``score`` is R^2 (scikit-learn's).

    The concordance correlation (CCC) is :func:`~neuroaffect.estimators.concordance_correlation` of
    ``y`` and :meth:`predict`, and the ``"ccc"`` metric of the evaluation runner.

    Parameters are those of :class:`BraindecodeClassifier` except ``label_smoothing`` and
    ``class_weight``.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained network (:class:`neuroaffect.estimators._net.Net`; mean squared error on
        standardised targets).
    early_stopping_, validation_groups_, mean_, scale_
        As in :class:`BraindecodeClassifier`.
    y_mean_, y_scale_ : float
        Target standardisation, fitted on the inner training split.
    """

    _regression = True
    _parameter_constraints: dict = dict(_CONSTRAINTS)

    def __init__(
        self, model="dgcnn", ch_names=None, sfreq=None, chs_info=None, model_params=None, lr=1e-3, max_epochs=100,
        batch_size=64, weight_decay=1e-3, patience=15, validation_fraction=0.2, validation_groups="auto",
        device="auto", random_state=None, verbose=0,
    ):
        self.model = model
        self.ch_names = ch_names
        self.sfreq = sfreq
        self.chs_info = chs_info
        self.model_params = model_params
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.validation_groups = validation_groups
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _encode_targets(self, y):
        return check_finite(np.asarray(y, dtype=float), "y"), 1

    def _scale_targets(self, y, train):
        """Standardise with the statistics of the inner training windows ``train``."""
        self.y_mean_, self.y_scale_ = y[train].mean(), y[train].std() + 1e-12
        return ((y - self.y_mean_) / self.y_scale_).astype(np.float32)[:, None]

    def predict(self, X):
        """Predicted rating per window, shape (n_windows,)."""
        return self._forward(X)[:, 0] * self.y_scale_ + self.y_mean_

    def predict_trials(self, X, groups):
        """Mean window prediction per trial; returns ``(y_pred, trial_ids)``."""
        ids, index = trial_order(check_groups(groups, len(X)))
        return mean_per_trial(self.predict(X), index, len(ids)), ids
