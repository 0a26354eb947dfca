"""The field's network baselines in the same scikit-learn API as the transformer.

* braindecode networks trained by braindecode's ``EEGClassifier`` / ``EEGRegressor`` (skorch):
  DGCNN (Song et al. 2018) on DE tokens (n_windows, n_electrodes, n_bands), EEGNet (Lawhern et al.
  2018) and TSception (Ding et al. 2020) on raw windows (n_windows, n_channels, n_times) in volts.
  braindecode is imported only when one of these is fitted, and is an optional extra:
  ``pip install "neuroaffect[braindecode]"``.

``fit`` requests ``groups`` (trial ids, for early stopping on held-out trials) and ``held_out``
(what the evaluation holds out, which ``validation_groups="auto"`` follows) through scikit-learn's
metadata routing by default, as the electrode-attention estimators do.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import check_finite, check_option, check_positive
from .neural import (
    check_class_labels,
    check_groups,
    cosine_schedule,
    inner_split,
    mean_per_trial,
    resolve_validation_groups,
    trial_order,
)

__all__ = ["BraindecodeClassifier", "BraindecodeRegressor"]


_MODELS = {"dgcnn": "DGCNN", "eegnet": "EEGNet", "tsception": "TSception"}


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


class _BraindecodeBase(BaseEstimator):
    _regression = False
    # Routed by default to fit when metadata routing is enabled (in a Pipeline, a search, the runner).
    __metadata_request__fit = {"groups": True, "held_out": True}

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
        check_finite(X, "X")
        if not reset and X.shape[2] != self.n_times_:
            raise ValueError(f"X has {X.shape[2]} values per channel, but the model was fitted on {self.n_times_}.")
        return X

    def fit(self, X, y, groups=None, held_out=None):
        """Train the network.

        Parameters
        ----------
        X : ndarray, shape (n_windows, n_electrodes, n_bands) for "dgcnn", else (n_windows, n_channels, n_times)
            DE tokens, or raw windows in volts.
        y : ndarray, shape (n_windows,)
            Class labels (classifier) or ratings (regressor).
        groups : ndarray, shape (n_windows,), optional
            Trial id per window; enables early stopping on held-out trials (held-out subjects with
            ``validation_groups="subject"``: then trial keys ``"subject/session/trial"``).
            Requested by default through metadata routing.
        held_out : {"subject", "trial"} or None, optional
            What the evaluation around this fit holds out from the model; ``validation_groups="auto"``
            holds out subjects when it is "subject" and ``groups`` span at least 3 subjects, else
            trials (:func:`~neuroaffect.estimators.neural.resolve_validation_groups`). Requested
            by default through metadata routing.

        Returns
        -------
        self
        """
        check_option("model", self.model, tuple(_MODELS))
        braindecode = import_braindecode(f"{type(self).__name__}(model={self.model!r})")
        for name in ("lr", "max_epochs", "batch_size"):
            check_positive(name, getattr(self, name))
        X = self._check_X(X, reset=True)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"y must have one label per window ({len(X)},), got shape {y.shape}.")
        if self.model == "tsception" and self.sfreq is None:
            raise ValueError("TSception needs the sampling frequency: pass sfreq (Hz).")
        if self.model == "dgcnn" and self.ch_names is None:
            raise ValueError("DGCNN builds its initial graph from electrode positions: pass ch_names.")
        if self.ch_names is not None and len(self.ch_names) != X.shape[1]:
            raise ValueError(f"ch_names has {len(self.ch_names)} names but X has {X.shape[1]} channels.")
        targets, n_outputs = self._encode_targets(y)
        # Input and target scaling are fitted on the training part of the early-stopping split
        # only, so the validation trials stay unseen.
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        train, valid = inner_split(self, len(X), groups, seed, None if self._regression else targets,
                                   held_out=held_out)
        self.early_stopping_ = valid is not None
        self.validation_groups_ = (resolve_validation_groups(self.validation_groups, groups, held_out)
                                   if self.early_stopping_ else None)
        targets = self._scale_targets(targets, train)
        self.n_times_ = X.shape[2]
        # DE tokens: per-band z-scores; raw windows: one scale (volts -> about unit variance).
        axes = (0, 1) if self.model == "dgcnn" else None
        self.mean_ = X[train].mean(axis=axes) if axes else np.float32(0.0)
        self.scale_ = X[train].std(axis=axes) + 1e-12
        Xs = ((X - self.mean_) / self.scale_).astype(np.float32)

        from skorch.callbacks import EarlyStopping
        from skorch.dataset import Dataset
        from skorch.helper import predefined_split

        callbacks = [("lr_schedule", cosine_schedule(self.lr, self.max_epochs))]
        if valid is not None:
            callbacks.append(("early_stopping", EarlyStopping(patience=self.patience, load_best=True)))
        module_params = dict(
            n_chans=X.shape[1], n_outputs=n_outputs, n_times=X.shape[2], sfreq=self.sfreq,
            chs_info=None if self.ch_names is None else _chs_info(self.ch_names),
        )
        module_params.update(self.model_params or {})
        Net = braindecode.EEGRegressor if self._regression else braindecode.EEGClassifier
        extra = {} if self._regression else {"criterion__label_smoothing": self.label_smoothing,
                                             "criterion__weight": self._class_weights(targets[train], n_outputs)}
        self.net_ = Net(
            getattr(braindecode.models, _MODELS[self.model]),
            **{f"module__{k}": v for k, v in module_params.items()},
            **extra,
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train__drop_last=False,
            train_split=None if valid is None else predefined_split(Dataset(Xs[valid], targets[valid])),
            callbacks=callbacks,
            device=("cuda" if torch.cuda.is_available() else "cpu") if self.device == "auto" else self.device,
            verbose=int(bool(self.verbose)),
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
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
        Channel names (required by "dgcnn", whose initial graph comes from electrode positions).
    sfreq : float or None
        Sampling frequency in Hz of raw windows (required by "tsception").
    model_params : dict or None
        Extra keyword arguments of the braindecode model (e.g. ``{"drop_prob": 0.25}``).
    lr, weight_decay, max_epochs, batch_size, label_smoothing, patience, validation_fraction, validation_groups, device, random_state, verbose
        As in :class:`~neuroaffect.estimators.ElectrodeAttentionClassifier` (early stopping only
        with enough validation trials per class, else the fixed ``max_epochs`` schedule).
    class_weight : "balanced", dict or None, default="balanced"
        Cross-entropy class weights: "balanced" weights classes inversely to their frequency in
        the inner training split; a dict maps class label to weight.

    Attributes
    ----------
    classes_ : ndarray
        Class labels.
    early_stopping_ : bool
        Whether early stopping ran.
    validation_groups_ : {"trial", "subject"} or None
        What the early-stopping split held out; None without early stopping.
    net_ : braindecode.EEGClassifier
        The trained network.
    mean_, scale_ : ndarray or float
        Input standardisation (per band for "dgcnn", one scale for raw windows), fitted on the
        inner training split (the early-stopping validation trials excluded).
    """

    def __init__(
        self, model="dgcnn", ch_names=None, sfreq=None, model_params=None, lr=1e-3, max_epochs=100,
        batch_size=64, weight_decay=1e-3, label_smoothing=0.0, patience=15, validation_fraction=0.2,
        validation_groups="auto", class_weight="balanced", device="auto", random_state=None, verbose=0,
    ):
        self.model = model
        self.ch_names = ch_names
        self.sfreq = sfreq
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

    def _class_weights(self, codes, n_classes):
        """Cross-entropy weights per class code (float32 tensor), or None."""
        if self.class_weight is None:
            return None
        if isinstance(self.class_weight, dict):
            missing = [c for c in self.classes_.tolist() if c not in self.class_weight]
            if missing:
                raise ValueError(f"class_weight has no weight for class(es) {missing}.")
            weights = np.array([self.class_weight[c] for c in self.classes_.tolist()], dtype=float)
        else:
            check_option("class_weight", self.class_weight, ("balanced", None))
            counts = np.bincount(codes, minlength=n_classes).astype(float)
            weights = len(codes) / (n_classes * np.maximum(counts, 1.0))
        return torch.as_tensor(weights, dtype=torch.float32)

    def _encode_targets(self, y):
        check_class_labels(y, hint="use BraindecodeRegressor for continuous ratings or binarise them first")
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("Classifier can't train when only one class is present.")
        return codes.astype(np.int64), len(self.classes_)

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

    Parameters are those of :class:`BraindecodeClassifier` except ``label_smoothing``.

    Attributes
    ----------
    net_ : braindecode.EEGRegressor
        The trained network.
    early_stopping_, validation_groups_, mean_, scale_
        As in :class:`BraindecodeClassifier`.
    y_mean_, y_scale_ : float
        Target standardisation, fitted on the inner training split.
    """

    _regression = True

    def __init__(
        self, model="dgcnn", ch_names=None, sfreq=None, model_params=None, lr=1e-3, max_epochs=100,
        batch_size=64, weight_decay=1e-3, patience=15, validation_fraction=0.2, validation_groups="auto",
        device="auto", random_state=None, verbose=0,
    ):
        self.model = model
        self.ch_names = ch_names
        self.sfreq = sfreq
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
