"""scikit-learn estimators around :class:`~neuroaffect.models.transformer.ElectrodeAttentionTransformer`.

Training runs in skorch (AdamW, cosine learning-rate schedule, label smoothing, early stopping on an
inner validation split). The inner split is grouped by trial: pass ``metadata`` (the windows' id
table, ``tokens.metadata``) or ``groups`` (one trial id per window) to ``fit``; without them there
is no early stopping, because a split of windows would put
windows of one trial on both sides and stop on a leaky, optimistic validation score. ``fit``
requests ``groups``, ``metadata`` (the id table, whose codes name trials and subjects) and
``held_out`` (what the evaluation holds out, which
``validation_groups="auto"`` follows) through scikit-learn's metadata routing by default, so a
``Pipeline`` or a search routes them when routing is enabled.

Models fitted with ``ch_names`` embed electrodes from their positions: ``predict``,
``predict_proba``, ``embed`` and ``electrode_importance`` take the ``ch_names`` of another montage
(:class:`~neuroaffect.estimators.MontageTransfer` wraps this for the runner).
"""


from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from .._metrics import concordance_correlation
from .._validation import check_finite
from ..models.transformer import CONFIGS, TransformerConfig
from ._electrode_attention import _ElectrodeAttentionBase
from .neural import (
    MIN_VALIDATION_UNITS,
    TRAINING_CONSTRAINTS,
    VALIDATION_GROUPS,
    check_groups,
    check_no_nan_labels,
    class_weights,
    cosine_schedule,
    encode_classes,
    inner_split,
    mean_per_trial,
    trial_order,
)

# The helpers shared with the braindecode networks (the early-stopping split inner_split,
# MIN_VALIDATION_UNITS, the schedule) live in neuroaffect.estimators.neural; re-exported here, where
# they were first defined.
__all__ = [
    "MIN_VALIDATION_UNITS", "VALIDATION_GROUPS", "ElectrodeAttentionClassifier", "ElectrodeAttentionRegressor",
    "aligned_transformer_classifier", "aligned_transformer_regressor",
    "concordance_correlation", "cosine_schedule", "inner_split",
]

# The parameters both estimators share, in scikit-learn's declarative form (``_parameter_constraints``),
# checked at the start of ``fit``: the training parameters of every neural estimator, and the model's.
_CONSTRAINTS = {
    **TRAINING_CONSTRAINTS,
    "config": [StrOptions(set(CONFIGS)), dict, TransformerConfig],
    "ch_names": ["array-like", None],
    "n_bands": [Interval(Integral, 1, None, closed="left"), None],
    "precision": [StrOptions({"float32", "bfloat16"})],
    "prototypes": "no_validation",  # a PrototypeGrid or an (n_bins**2, embed_dim) array, checked in fit
    "prototype_weight": [Interval(Real, 0, np.inf, closed="left")],
    "prototype_temperature": [Interval(Real, 0, np.inf, closed="neither")],
}


class ElectrodeAttentionClassifier(ClassifierMixin, _ElectrodeAttentionBase):
    """Electrode-attention transformer classifier over band-feature tokens.

    Parameters
    ----------
    config : {"default", "medium", "reference"} or dict
        Model sizes: a name from :data:`neuroaffect.models.transformer.CONFIGS` or a dict of
        :class:`~neuroaffect.models.transformer.TransformerConfig` fields (on top of "default").
        ``"reference"`` is the published model (learned electrode table, about 0.66 M parameters).
    ch_names : list of str or None
        Electrode names in the order of X's second axis at ``fit``. With names, "default" embeds
        electrode identity from the 3-D montage positions, and ``predict``, ``predict_proba``,
        :meth:`embed` and :meth:`electrode_importance` can read tokens of another montage given by
        their own ``ch_names`` argument; without, a learned table sized from X is used.
    n_bands : int or None
        Bands per electrode when X is 2-D (n_windows, n_electrodes * n_bands); None means 1.
    threshold : float, sequence of float or None
        Binarise continuous ratings: class 1 where ``y >= threshold`` (per column if a sequence),
        e.g. 5 for DEAP's 1-9 scales. None: y holds class labels already.
    lr, weight_decay : float
        AdamW learning rate (cosine-annealed to ``lr / 1000`` over ``max_epochs``) and weight decay.
    max_epochs, batch_size : int
        Training length and mini-batch size. Small batches (32) give few-trial data enough
        optimiser steps: with 256, 40 trials within one subject make 3 steps per epoch and the
        model stays at chance (benchmarks/RESULTS.md).
    label_smoothing : float
        Cross-entropy label smoothing.
    patience : int or None
        Early-stopping patience in epochs on the validation loss (None: no early stopping). Early
        stopping runs only when the validation split holds at least
        :data:`MIN_VALIDATION_UNITS` (5) trials or subjects of every class; with fewer (e.g. 40
        trials per subject within subject) training runs the fixed ``max_epochs`` schedule.
    validation_fraction : float
        Fraction of training *trials* (or subjects, see ``validation_groups``) held out for early
        stopping (needs ``metadata`` or ``groups`` in ``fit``). Input standardisation, target
        scaling and balanced class weights are fitted on the remaining (inner training) windows only.
    validation_groups : {"auto", "trial", "subject"}
        What the early-stopping split holds out. "trial" holds out whole trials: right when the
        test data come from the training subjects (within-subject or pooled protocols).
        "subject" holds out whole subjects, so the stopping epoch is chosen for unseen subjects:
        right when the model is tested on subjects it was not trained on (leave-one-subject-out,
        cross-dataset); ``metadata`` must then give the subjects, at least 2 of them. "auto" (default) follows ``fit``'s ``held_out`` metadata (what the
        evaluation holds out): "subject" when ``held_out="subject"`` and at least 3 subjects
        train, else "trial" (so "trial" when fitted directly without it);
        :func:`neuroaffect.evaluation.cross_validate_subjects` passes ``held_out="subject"``
        under protocols that hold out subjects. The estimator cannot tell the protocol from the
        data, hence the parameter and the metadata.
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
    validation_groups_ : {"trial", "subject"} or None
        What the early-stopping split held out (``validation_groups`` resolved); None without
        early stopping.
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

    _parameter_constraints: dict = {
        **_CONSTRAINTS,
        "threshold": [Real, "array-like", None],
        "label_smoothing": [Interval(Real, 0, 1, closed="both")],
        "class_weight": [StrOptions({"balanced"}), dict, list, None],
    }

    def __init__(
        self, config="default", ch_names=None, n_bands=None, threshold=None, lr=1e-3, max_epochs=100,
        batch_size=32, weight_decay=1e-3, label_smoothing=0.1, patience=15, validation_fraction=0.2,
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
        self._multi = y.ndim == 2
        y2 = y.reshape(len(y), -1)
        if self.threshold is not None:
            threshold = np.broadcast_to(np.asarray(self.threshold, dtype=float), (y2.shape[1],))
            y2 = y2.astype(float)
            check_no_nan_labels(y2)  # NaN >= threshold would silently become class 0
            y2 = (y2 >= threshold).astype(int)
        classes, codes = [], []
        for column in y2.T:
            values, code = encode_classes(
                column, hint="pass threshold=... to binarise ratings, or use ElectrodeAttentionRegressor")
            classes.append(values)
            codes.append(code)
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
        return [class_weights(given if given == "balanced" else given[t], values, column)
                for t, (values, column) in enumerate(zip(classes, codes.T, strict=True))]

    def _split_probabilities(self, logits):
        classes = self.classes_ if self._multi else [self.classes_]
        out, start = [], 0
        for values in classes:
            z = logits[:, start:start + len(values)]
            z = np.exp(z - z.max(axis=1, keepdims=True))
            out.append(z / z.sum(axis=1, keepdims=True))
            start += len(values)
        return out

    def predict_proba(self, X, ch_names=None):
        """Class probabilities per window: (n_windows, n_classes), or a list of those for 2-D y.

        Parameters
        ----------
        X : ndarray, shape (n_windows, n_electrodes, n_bands)
        ch_names : list of str, optional
            The electrodes of ``X`` when they differ from the training montage: a model that
            embeds electrode positions (fitted with ``ch_names``, config "default") reads another
            montage from its positions. A ``ValueError`` for a model with a learned electrode
            table. None (default): X holds the training montage.
        """
        probas = self._split_probabilities(self._forward(X, ch_names, "predict_proba"))
        return probas if self._multi else probas[0]

    def _labels(self, probas):
        classes = self.classes_ if self._multi else [self.classes_]
        labels = [c[p.argmax(axis=1)] for c, p in zip(classes, probas, strict=True)]
        return np.stack(labels, axis=1) if self._multi else labels[0]

    def predict(self, X, ch_names=None):
        """Class label per window: (n_windows,), or (n_windows, n_targets) for 2-D y.

        ``ch_names``: the electrodes of ``X`` when they differ from the training montage (see
        :meth:`predict_proba`).
        """
        return self._labels(self._split_probabilities(self._forward(X, ch_names, "predict")))

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
    term per column) and predictions are returned in the original units. ``score`` is R^2 (averaged
    over columns), as for every scikit-learn regressor; Lin's concordance correlation coefficient
    (CCC, the field's metric for continuous affect) is
    :func:`~neuroaffect.estimators.concordance_correlation` of ``y`` and :meth:`predict`, and the
    ``"ccc"`` metric of :func:`~neuroaffect.evaluation.cross_validate_subjects`.

    Parameters
    ----------
    config, ch_names, n_bands, lr, max_epochs, batch_size, weight_decay, patience, validation_fraction, validation_groups, device, precision, prototypes, prototype_weight, prototype_temperature, random_state, verbose
        As in :class:`ElectrodeAttentionClassifier`.

    Attributes
    ----------
    net_, config_, n_epochs_, early_stopping_, validation_groups_, n_features_in_, mean_, scale_
        As in :class:`ElectrodeAttentionClassifier`.
    y_mean_, y_scale_ : ndarray, shape (n_targets,)
        Target standardisation (fitted on the inner training split, like ``mean_``).
    """

    _regression = True
    _parameter_constraints: dict = dict(_CONSTRAINTS)

    def __init__(
        self, config="default", ch_names=None, n_bands=None, lr=1e-3, max_epochs=100, batch_size=32,
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

    def predict(self, X, ch_names=None):
        """Predicted ratings: (n_windows,), or (n_windows, n_targets) for 2-D y.

        ``ch_names``: the electrodes of ``X`` when they differ from the training montage (see
        :meth:`ElectrodeAttentionClassifier.predict_proba`).
        """
        y = self._forward(X, ch_names, "predict") * self.y_scale_ + self.y_mean_
        return y if self._multi else y[:, 0]

    def predict_trials(self, X, groups):
        """Mean window prediction per trial; returns ``(y_pred, trial_ids)`` (ids in order of appearance)."""
        groups = check_groups(groups, len(X))
        ids, index = trial_order(groups)
        return mean_per_trial(self.predict(X), index, len(ids)), ids


def aligned_transformer_classifier(**params):
    """Pipeline(SubjectStandardScaler, ElectrodeAttentionClassifier(**params)).

    Each subject's tokens are standardised over that subject's windows (a test subject's over its
    own test windows, without labels: transductive) before the transformer; on EEGMAT
    leave-one-subject-out this is the transformer's best pipeline (benchmarks/RESULTS.md). Fit and
    predict with ``metadata`` (``tokens.metadata``) under scikit-learn's metadata routing, as
    :func:`~neuroaffect.evaluation.cross_validate_subjects` does; the transformer takes it too
    (early stopping on held-out trials or subjects).
    """
    from sklearn.pipeline import make_pipeline

    from .alignment import SubjectStandardScaler

    return make_pipeline(SubjectStandardScaler(), ElectrodeAttentionClassifier(**params))


def aligned_transformer_regressor(**params):
    """Regression counterpart of :func:`aligned_transformer_classifier`."""
    from sklearn.pipeline import make_pipeline

    from .alignment import SubjectStandardScaler

    return make_pipeline(SubjectStandardScaler(), ElectrodeAttentionRegressor(**params))
