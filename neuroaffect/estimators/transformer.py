"""scikit-learn estimators around :class:`~neuroaffect.models.transformer.ElectrodeAttentionTransformer`.

Training runs in skorch (AdamW, cosine learning-rate schedule, label smoothing, early stopping on an
inner validation split). The inner split is grouped by trial: pass ``groups`` (one trial id per
window) to ``fit``; without them there is no early stopping, because a split of windows would put
windows of one trial on both sides and stop on a leaky, optimistic validation score.
"""

from __future__ import annotations

import functools
import logging
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from .._metrics import concordance_correlation
from .._validation import check_finite, check_option, check_positive
from ..models.transformer import ElectrodeAttentionTransformer, make_config

__all__ = ["ElectrodeAttentionClassifier", "ElectrodeAttentionRegressor", "concordance_correlation"]


#: How :func:`inner_split` groups the windows it holds out for early stopping.
VALIDATION_GROUPS = ("auto", "trial", "subject")


#: Early stopping runs only when its validation split holds at least this many trials (or
#: subjects) of every class (regression: twice as many in all); with fewer, the validation loss
#: is too noisy to pick an epoch (on real few-trial data it rose from epoch 1 and the model
#: restored epoch 1), so training runs the fixed ``max_epochs`` cosine schedule instead.
MIN_VALIDATION_UNITS = 5


def inner_split(estimator, n, groups, seed, classes=None):
    """Indices ``(train, valid)`` of the early-stopping split of ``n`` windows.

    ``valid`` is None (no early stopping) when ``estimator.patience`` is None,
    ``estimator.validation_fraction`` is 0, ``groups`` is None (then a warning says why: a split
    of windows would leak trials into the validation set), or the split would hold fewer than
    :data:`MIN_VALIDATION_UNITS` trials (subjects) of some class (then a log line says so).
    Otherwise ``valid`` holds out whole trials (``estimator.validation_groups`` "trial", or
    "auto", the default, which the evaluation runner turns into "subject" where the protocol
    tests unseen subjects), stratified by class, or whole subjects (``"subject"``: ``groups``
    must then be trial keys ``"subject/session/trial"``, see
    :func:`neuroaffect.evaluation.splitters.parse_trial_keys`).

    ``classes``: class code per window (classification), or None (regression).
    """
    how = getattr(estimator, "validation_groups", "trial")
    check_option("validation_groups", how, VALIDATION_GROUPS)
    how = "trial" if how == "auto" else how
    everything = np.arange(n)
    if estimator.patience is None or estimator.validation_fraction == 0:
        return everything, None
    if groups is None:
        warnings.warn(
            f"{type(estimator).__name__}.fit got no groups (trial ids), so its validation split could "
            "not hold out whole trials; early stopping is off and training runs for max_epochs. "
            "Pass groups=<trial id per window> to enable it.",
            UserWarning,
            stacklevel=3,
        )
        return everything, None
    groups = check_groups(groups, n)
    units = groups
    if how == "subject":
        from .._keys import parse_trial_keys

        units = parse_trial_keys(groups)[0]
        subjects = np.unique(units)
        if len(subjects) < 2:
            raise ValueError(
                "validation_groups='subject' holds out whole subjects for early stopping, so groups must "
                f"span at least 2 subjects; got only {subjects.tolist()}. Use validation_groups='trial' "
                "(or patience=None) when training on one subject."
            )
    if len(np.unique(units)) < 2:
        raise ValueError("Early stopping needs windows from at least 2 trials in groups.")
    fraction = estimator.validation_fraction
    if classes is None:
        per_class = {"all": len(np.unique(units)) / 2}
    else:
        classes = np.asarray(classes).reshape(n, -1)[:, 0]
        per_class = {c: len(np.unique(units[classes == c])) for c in np.unique(classes)}
    held = {c: int(np.ceil(fraction * k)) for c, k in per_class.items()}
    if min(held.values()) < MIN_VALIDATION_UNITS:
        _log_once(f"{type(estimator).__name__}: early stopping off, training runs max_epochs={estimator.max_epochs}: "
                  f"a validation split of {fraction:g} would hold {min(held.values())} {how}(s) per class (at least "
                  f"{MIN_VALIDATION_UNITS} needed to choose an epoch).")
        return everything, None
    if classes is not None and how == "trial":
        splitter = StratifiedGroupKFold(n_splits=max(2, round(1 / fraction)), shuffle=True, random_state=seed % (2**32))
        train, valid = next(splitter.split(everything, classes, groups=units))
        return train, valid
    splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    return next(splitter.split(everything, groups=units))


@functools.cache
def _log_once(message: str) -> None:
    """Log ``message`` at INFO once per process (not once per fold)."""
    logging.getLogger("neuroaffect").info(message)


def check_no_nan_labels(y, name="y"):
    """Raise ``ValueError`` naming ``name`` if the labels ``y`` contain NaN (float or object arrays)."""
    y = np.asarray(y)
    if y.dtype.kind in "fc":
        missing = np.isnan(y)
    elif y.dtype == object:
        missing = np.array([isinstance(v, float | np.floating) and np.isnan(v) for v in y.ravel()], dtype=bool)
    else:
        return
    if missing.any():
        raise ValueError(
            f"{name} contains NaN labels ({int(missing.sum())} of {missing.size}); expected a class label "
            "for every window: drop the unlabelled windows (and their X rows and groups) before fit."
        )


def check_class_labels(y, name="y", hint="use the regressor for continuous ratings or binarise them first"):
    """Raise ``ValueError`` unless ``y`` holds class labels (no NaN, not continuous values)."""
    check_no_nan_labels(y, name)
    try:
        check_classification_targets(y)
    except ValueError as err:  # keep scikit-learn's "Unknown label type: ..." first (its checks match it)
        raise ValueError(f"{err} {name} must hold class labels; {hint}.") from None


def check_groups(groups, n):
    """``groups`` as an array with one trial id per window, or ``ValueError``."""
    groups = np.asarray(groups)
    if groups.ndim != 1 or len(groups) != n:
        raise ValueError(f"groups must have one trial id per window ({n}), got shape {groups.shape}.")
    return groups


def trial_order(groups):
    """Trial ids in order of first appearance, and each window's trial index into them."""
    groups = np.asarray(groups)
    ids, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return ids[order], rank[inverse.ravel()]


def mean_per_trial(values, index, n_trials):
    """Average rows of ``values`` (n_windows, ...) per trial index -> (n_trials, ...)."""
    values = np.asarray(values, dtype=float)
    sums = np.zeros((n_trials,) + values.shape[1:])
    np.add.at(sums, index, values)
    return sums / np.bincount(index, minlength=n_trials).reshape((-1,) + (1,) * (values.ndim - 1))


def cosine_schedule(lr, max_epochs):
    """skorch callback: cosine annealing of the learning rate from ``lr`` to ``lr / 1000``."""
    from skorch.callbacks import LRScheduler

    return LRScheduler(policy="CosineAnnealingLR", T_max=max_epochs, eta_min=lr * 1e-3)


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


class ElectrodeAttentionClassifier(ClassifierMixin, _ElectrodeAttentionBase):
    """Electrode-attention transformer classifier over band-feature tokens.

    Parameters
    ----------
    config : {"default", "reference"} or dict
        Model sizes: a name from :data:`neuroaffect.models.transformer.CONFIGS` or a dict of
        :class:`~neuroaffect.models.transformer.TransformerConfig` fields (on top of "default").
        ``"reference"`` is the published model (learned electrode table, about 0.66 M parameters).
    ch_names : list of str or None
        Electrode names in the order of X's second axis. With names, "default" embeds electrode
        identity from the 3-D montage positions; without, a learned table sized from X is used.
    n_bands : int or None
        Bands per electrode when X is 2-D (n_windows, n_electrodes * n_bands); None means 1.
    threshold : float, sequence of float or None
        Binarise continuous ratings: class 1 where ``y >= threshold`` (per column if a sequence),
        e.g. 5 for DEAP's 1-9 scales. None: y holds class labels already.
    lr, weight_decay : float
        AdamW learning rate (cosine-annealed to ``lr / 1000`` over ``max_epochs``) and weight decay.
    max_epochs, batch_size : int
        Training length and mini-batch size.
    label_smoothing : float
        Cross-entropy label smoothing.
    patience : int or None
        Early-stopping patience in epochs on the validation loss (None: no early stopping). Early
        stopping runs only when the validation split holds at least
        :data:`MIN_VALIDATION_UNITS` (5) trials or subjects of every class; with fewer (e.g. 40
        trials per subject within subject) training runs the fixed ``max_epochs`` schedule.
    validation_fraction : float
        Fraction of training *trials* (or subjects, see ``validation_groups``) held out for early
        stopping (needs ``groups`` in ``fit``). Input standardisation, target scaling and balanced
        class weights are fitted on the remaining (inner training) windows only.
    validation_groups : {"auto", "trial", "subject"}
        What the early-stopping split holds out. "trial" holds out whole trials: right when the
        test data come from the training subjects (within-subject or pooled protocols).
        "subject" holds out whole subjects, so the stopping epoch is chosen for unseen subjects:
        right when the model is tested on subjects it was not trained on (leave-one-subject-out,
        cross-dataset); ``groups`` must then be trial keys ``"subject/session/trial"`` spanning at
        least 2 subjects. "auto" (default) is "trial" when the estimator is fitted directly;
        :func:`neuroaffect.evaluation.cross_validate_subjects` makes it "subject" under protocols
        that hold out subjects when at least 3 subjects train. The estimator cannot tell the
        protocol from the data, hence the parameter.
    class_weight : "balanced", dict, list of dict or None
        "balanced" weights classes inversely to their frequency in the inner training split (the
        validation trials never count); a dict maps class label to weight (a list: one per column).
    device : {"auto", "cpu", "cuda"}
        Where to train; "auto" picks CUDA when available.
    precision : {"float32", "bfloat16"}
        "bfloat16" runs the network under ``torch.autocast`` (bfloat16 matrix products, float32
        weights and losses): about 2x faster training on CPUs with AVX512-BF16 / AMX and on GPUs.
    prototypes : PrototypeGrid, array of shape (n_bins**2, embed_dim), or None
        Frozen valence-arousal prototypes (:func:`neuroaffect.affect.grid.va_prototypes`, e.g.
        :func:`neuroaffect.affect.prototypes.model_prototypes` of a fitted teacher). In an array,
        all-zero rows mark classes without a prototype.
    prototype_weight : float
        Weight of the prototype-alignment term added to the training loss (0: off). The term is
        :func:`neuroaffect.affect.prototypes.prototype_alignment_loss` of the pooled embedding
        (:meth:`embed`) against the prototypes, with each window's class from ``fit``'s ``va``;
        windows whose class has no prototype add nothing. The early-stopping validation loss is
        the task loss only.
    prototype_temperature : float
        Softmax temperature of the alignment term.
    random_state : int, RandomState or None
        Seeds weights, shuffling, dropout and the validation split. Same seed, same predictions (CPU).
    verbose : int
        0 silent, 1 per-epoch table, 2 also a progress bar per epoch.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        Class labels (a list with one array per target column for 2-D y).
    net_ : skorch.NeuralNet
        The trained network (``net_.module_`` is the torch module, ``net_.history`` the log).
    config_ : TransformerConfig
        The configuration used.
    n_epochs_ : int
        Epochs run (fewer than ``max_epochs`` after early stopping).
    early_stopping_ : bool
        Whether early stopping ran (see ``patience``).
    n_features_in_ : int
        Number of electrodes (X's second axis).
    mean_, scale_ : ndarray, shape (n_bands,)
        Per-band standardisation of the tokens, fitted on the inner training split (the
        early-stopping validation trials excluded).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 4, 3)); y = (X[:, 0, 0] > 0).astype(int)
    >>> clf = ElectrodeAttentionClassifier(config=dict(embed_dim=8, depth=1, n_heads=2, head_dim=4),
    ...                                    max_epochs=2, patience=None, random_state=0).fit(X, y)
    >>> clf.predict_proba(X).shape
    (40, 2)
    """

    def __init__(
        self, config="default", ch_names=None, n_bands=None, threshold=None, lr=1e-3, max_epochs=100,
        batch_size=256, weight_decay=1e-3, label_smoothing=0.1, patience=15, validation_fraction=0.2,
        validation_groups="auto", class_weight="balanced", device="auto", precision="float32", prototypes=None,
        prototype_weight=0.0, prototype_temperature=0.1, random_state=None, verbose=0,
    ):
        self.config = config
        self.ch_names = ch_names
        self.n_bands = n_bands
        self.threshold = threshold
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
        self.precision = precision
        self.prototypes = prototypes
        self.prototype_weight = prototype_weight
        self.prototype_temperature = prototype_temperature
        self.random_state = random_state
        self.verbose = verbose

    def _encode_targets(self, y):
        if not isinstance(self.class_weight, dict | list):
            check_option("class_weight", self.class_weight, ("balanced", None))
        self._multi = y.ndim == 2
        y2 = y.reshape(len(y), -1)
        if self.threshold is not None:
            threshold = np.broadcast_to(np.asarray(self.threshold, dtype=float), (y2.shape[1],))
            y2 = y2.astype(float)
            check_no_nan_labels(y2)  # NaN >= threshold would silently become class 0
            y2 = (y2 >= threshold).astype(int)
        classes, codes = [], []
        for column in y2.T:
            check_class_labels(column, hint="pass threshold=... to binarise ratings, or use ElectrodeAttentionRegressor")
            values, code = np.unique(column, return_inverse=True)
            if len(values) < 2:
                raise ValueError("Classifier can't train when only one class is present.")
            classes.append(values)
            codes.append(code.ravel())
        self.classes_ = classes if self._multi else classes[0]
        return np.stack(codes, axis=1).astype(np.int64), [len(c) for c in classes]

    def _scale_targets(self, targets, train):
        return targets

    def _class_weights(self, codes, task_sizes):
        """Per-task class weights from the inner training split only (never the validation trials)."""
        if self.class_weight is None:
            return None
        classes = self.classes_ if self._multi else [self.classes_]
        given = self.class_weight
        if isinstance(given, dict):
            given = [given] * len(classes)
        if isinstance(given, list) and len(given) != len(classes):
            raise ValueError(f"class_weight has {len(given)} dicts for {len(classes)} target columns.")
        weights = []
        for t, (column, size) in enumerate(zip(codes.T, task_sizes, strict=True)):
            if given == "balanced":
                counts = np.bincount(column, minlength=size).astype(float)
                weights.append(np.where(counts > 0, len(column) / (size * np.maximum(counts, 1)), 0.0))
            else:
                weights.append(np.array([float(given[t].get(c, 1.0)) for c in classes[t]]))
        return weights

    def _split_probabilities(self, logits):
        classes = self.classes_ if self._multi else [self.classes_]
        out, start = [], 0
        for values in classes:
            z = logits[:, start:start + len(values)]
            z = np.exp(z - z.max(axis=1, keepdims=True))
            out.append(z / z.sum(axis=1, keepdims=True))
            start += len(values)
        return out

    def predict_proba(self, X):
        """Class probabilities per window: (n_windows, n_classes), or a list of those for 2-D y."""
        probas = self._split_probabilities(self._forward(X))
        return probas if self._multi else probas[0]

    def _labels(self, probas):
        classes = self.classes_ if self._multi else [self.classes_]
        labels = [c[p.argmax(axis=1)] for c, p in zip(classes, probas, strict=True)]
        return np.stack(labels, axis=1) if self._multi else labels[0]

    def predict(self, X):
        """Class label per window: (n_windows,), or (n_windows, n_targets) for 2-D y."""
        return self._labels(self._split_probabilities(self._forward(X)))

    def predict_proba_trials(self, X, groups):
        """Mean window probability per trial.

        Returns
        -------
        proba : ndarray, shape (n_trials, n_classes), or a list of those for 2-D y
        trial_ids : ndarray, shape (n_trials,)
            Trial ids in order of first appearance in ``groups``.
        """
        groups = check_groups(groups, len(X))
        ids, index = trial_order(groups)
        probas = [mean_per_trial(p, index, len(ids)) for p in self._split_probabilities(self._forward(X))]
        return (probas if self._multi else probas[0]), ids

    def predict_trials(self, X, groups):
        """Class per trial from its mean window probability; returns ``(y_pred, trial_ids)``."""
        probas, ids = self.predict_proba_trials(X, groups)
        return self._labels(probas if self._multi else [probas]), ids

    def score(self, X, y, sample_weight=None):
        """Window accuracy (mean over target columns for 2-D y)."""
        y_pred, y = self.predict(X), np.asarray(y)
        if self.threshold is not None:
            y = (y.astype(float) >= np.asarray(self.threshold, dtype=float)).astype(int)
        correct = (y_pred == y).reshape(len(y), -1).mean(axis=1)
        return float(np.average(correct, weights=sample_weight))


class ElectrodeAttentionRegressor(RegressorMixin, _ElectrodeAttentionBase):
    """Electrode-attention transformer regressor of continuous ratings (e.g. valence, arousal, dominance).

    Targets are standardised per column for training (mean squared error on z-scores, one loss
    term per column) and predictions are returned in the original units. ``score`` is Lin's
    concordance correlation coefficient (CCC, the field's metric for continuous affect, averaged
    over columns), not R^2.

    Parameters
    ----------
    config, ch_names, n_bands, lr, max_epochs, batch_size, weight_decay, patience, validation_fraction, validation_groups, device, precision, prototypes, prototype_weight, prototype_temperature, random_state, verbose
        As in :class:`ElectrodeAttentionClassifier`.

    Attributes
    ----------
    net_, config_, n_epochs_, n_features_in_, mean_, scale_
        As in :class:`ElectrodeAttentionClassifier`.
    y_mean_, y_scale_ : ndarray, shape (n_targets,)
        Target standardisation (fitted on the inner training split, like ``mean_``).
    """

    _regression = True

    def __init__(
        self, config="default", ch_names=None, n_bands=None, lr=1e-3, max_epochs=100, batch_size=256,
        weight_decay=1e-3, patience=15, validation_fraction=0.2, validation_groups="auto", device="auto",
        precision="float32", prototypes=None, prototype_weight=0.0, prototype_temperature=0.1,
        random_state=None, verbose=0,
    ):
        self.config = config
        self.ch_names = ch_names
        self.n_bands = n_bands
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.validation_groups = validation_groups
        self.device = device
        self.precision = precision
        self.prototypes = prototypes
        self.prototype_weight = prototype_weight
        self.prototype_temperature = prototype_temperature
        self.random_state = random_state
        self.verbose = verbose

    def _encode_targets(self, y):
        self._multi = y.ndim == 2
        y2 = np.asarray(y, dtype=float).reshape(len(y), -1)
        check_finite(y2, "y")
        return y2, [1] * y2.shape[1]

    def _scale_targets(self, y2, train):
        """Standardise per column with the statistics of the inner training windows ``train``."""
        self.y_mean_, self.y_scale_ = y2[train].mean(axis=0), y2[train].std(axis=0) + 1e-12
        return ((y2 - self.y_mean_) / self.y_scale_).astype(np.float32)

    def _class_weights(self, targets, task_sizes):
        return None

    @property
    def predict_proba(self):
        raise AttributeError(
            "ElectrodeAttentionRegressor has no predict_proba: it predicts continuous ratings. Use "
            "ElectrodeAttentionClassifier (e.g. threshold=5 for DEAP) for class probabilities."
        )

    def predict(self, X):
        """Predicted ratings: (n_windows,), or (n_windows, n_targets) for 2-D y."""
        y = self._forward(X) * self.y_scale_ + self.y_mean_
        return y if self._multi else y[:, 0]

    def predict_trials(self, X, groups):
        """Mean window prediction per trial; returns ``(y_pred, trial_ids)`` (ids in order of appearance)."""
        groups = check_groups(groups, len(X))
        ids, index = trial_order(groups)
        return mean_per_trial(self.predict(X), index, len(ids)), ids

    def score(self, X, y, sample_weight=None):
        """Concordance correlation coefficient (mean over target columns); ``sample_weight`` unsupported."""
        if sample_weight is not None:
            raise ValueError("ElectrodeAttentionRegressor.score does not support sample_weight.")
        return concordance_correlation(y, self.predict(X))
