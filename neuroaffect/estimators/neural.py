"""What the neural estimators share: early stopping, the training set-up, target checks, trial averages.

The neural estimators are one family: each trains a torch module in skorch
(:class:`neuroaffect.estimators._net.Net` and its subclasses) with AdamW and the cosine schedule of
:func:`cosine_schedule`: the electrode-attention transformer
(:mod:`neuroaffect.estimators.transformer`), the braindecode networks
(:mod:`neuroaffect.estimators.networks`) and the fMRI contrastive encoder
(:class:`neuroaffect.fmri.ContrastiveEncoder`). What they share lives here:

- the early-stopping split :func:`inner_split` (whole trials or subjects, and only when the split
  is large enough: :data:`MIN_VALIDATION_UNITS`) and :func:`training_plan` (the skorch callbacks
  and validation split it gives);
- the training parameters' constraints (:data:`TRAINING_CONSTRAINTS`), the device and the seed:
  :func:`resolve_device`, :func:`fit_seed`, :func:`seeded`;
- the targets: :func:`require_y`, :func:`check_window_labels`, :func:`encode_classes`,
  :func:`class_weights`, :func:`check_class_labels`;
- the per-trial averages :func:`trial_order` and :func:`mean_per_trial`.

Where the networks name the same things as braindecode, they use its constructor vocabulary:
``n_chans`` (channels, or electrode tokens), ``n_outputs``, ``chs_info`` (MNE-style channel dicts,
e.g. ``raw.info["chs"]``) and ``sfreq``.

Metadata the neural estimators take in ``fit`` (all three requested by default through scikit-learn's
metadata routing, ``__metadata_request__fit``, so a ``Pipeline`` or a search routes them when
routing is enabled; :func:`~neuroaffect.evaluation.cross_validate_subjects` passes them where
consumed):

- ``groups``: the windows' trial ids (any id per window; windows that share one form one trial);
  without them (or ``metadata``) there is no early stopping.
- ``metadata``: the windows' id table (``WindowTokens.metadata``: subject, session and trial with
  integer codes); its trial codes are the trials, its subject codes the subjects that
  ``validation_groups="subject"`` holds out.
- ``held_out`` (:data:`HELD_OUT`): what the evaluation around this fit holds out from the model,
  ``"subject"`` when it will be tested on subjects absent from its training data
  (leave-one-subject-out, cross-dataset), ``"trial"`` when on unseen trials (or sessions,
  stimuli, windows) of its training subjects, None when not said. ``validation_groups="auto"``
  follows it (:func:`resolve_validation_groups`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from .._validation import check_option

#: How :func:`inner_split` groups the windows it holds out for early stopping.
VALIDATION_GROUPS = ("auto", "trial", "subject")

#: Values of the ``held_out`` fit metadata: what the evaluation holds out from the fitted model.
HELD_OUT = ("subject", "trial", None)

#: ``validation_groups="auto"`` holds out subjects (under ``held_out="subject"``) only when the
#: training groups span at least this many subjects, so that an inner fit of a nested search
#: still trains on at least 2; with fewer it holds out trials.
MIN_SUBJECTS_AUTO = 3


#: The training parameters every neural estimator has, in scikit-learn's declarative form
#: (``_parameter_constraints``, validated at the start of ``fit``); finite bounds where a value must
#: be finite.
TRAINING_CONSTRAINTS = {
    "lr": [Interval(Real, 0, np.inf, closed="neither")],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "weight_decay": [Interval(Real, 0, np.inf, closed="left")],
    "patience": [Interval(Integral, 0, None, closed="left"), None],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "validation_groups": [StrOptions(set(VALIDATION_GROUPS))],
    "device": [StrOptions({"auto", "cpu", "cuda", *(f"cuda:{i}" for i in range(16))})],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


#: Early stopping runs only when its validation split holds at least this many trials (or
#: subjects) of every class (regression: twice as many in all); with fewer, the validation loss
#: is too noisy to pick an epoch (on real few-trial data it rose from epoch 1 and the model
#: restored epoch 1), so training runs the fixed ``max_epochs`` cosine schedule instead.
MIN_VALIDATION_UNITS = 5


def validation_units(groups, metadata, n, unit):
    """Integer code per window of the trial or subject it belongs to, shape (n,), or None.

    ``unit="trial"``: the trials of ``metadata`` when it names them (``subject``, ``session`` and
    ``trial`` columns), else ``groups`` (any trial id per window), else None. ``unit="subject"``:
    ``metadata``'s subjects, else None; from trial keys ``"subject/session/trial"`` in ``groups``
    alone with a ``FutureWarning`` (deprecated since 0.2: pass ``metadata``).

    Codes number the units in the sorted order of their labels (trials: of their keys), as the
    ids themselves sort: a seed draws the same early-stopping split from the table as from the
    trial keys.
    """
    from .._keys import check_metadata, keys_table, table_keys

    def ranks(labels):
        return np.unique(np.asarray(labels).astype(str), return_inverse=True)[1].astype(np.int64).ravel()

    if metadata is not None:
        table = check_metadata(metadata, n)
        if unit == "subject":
            return ranks(table["subject"].to_numpy(dtype=object))
        if "trial" in table.columns:
            return ranks(table_keys(table))
    if groups is None:
        return None
    groups = check_groups(groups, n)
    if unit == "trial":
        return ranks(groups)
    warnings.warn(
        "Holding out subjects for early stopping by reading them from the trial keys in groups is deprecated "
        "since 0.2 and will be removed in 0.3: pass metadata=tokens.metadata (a table with a 'subject' column), "
        "as cross_validate_subjects does.", FutureWarning, stacklevel=4)
    return ranks(keys_table(groups.astype(str))["subject"].to_numpy(dtype=object))


def resolve_validation_groups(validation_groups, groups, held_out=None, metadata=None) -> str:
    """What the early-stopping split holds out: ``"trial"`` or ``"subject"``.

    ``"trial"`` and ``"subject"`` are returned as given. ``"auto"`` (the estimators' default)
    follows the ``held_out`` fit metadata: ``"subject"`` when ``held_out == "subject"`` and the
    windows span at least :data:`MIN_SUBJECTS_AUTO` (3) subjects (``metadata``'s), so the stopping
    epoch is chosen for subjects the model has not seen, as the evaluation measures; otherwise
    ``"trial"``. The estimator cannot tell the protocol from the data, hence the metadata.

    Parameters
    ----------
    validation_groups : {"auto", "trial", "subject"}
        The estimator's parameter.
    groups : array-like of shape (n_windows,) or None
        The fit's trial ids.
    held_out : {"subject", "trial"} or None
        What the evaluation holds out (see the module docstring).
    metadata : pandas.DataFrame, shape (n_windows, n_columns), optional
        The fit's id table (only read for ``"auto"`` under ``held_out="subject"``).

    Returns
    -------
    str
        ``"trial"`` or ``"subject"``.
    """
    check_option("validation_groups", validation_groups, VALIDATION_GROUPS)
    check_option("held_out", held_out, HELD_OUT)
    if validation_groups != "auto":
        return validation_groups
    if held_out != "subject" or (groups is None and metadata is None):
        return "trial"
    n = len(metadata) if metadata is not None else len(np.asarray(groups))
    subjects = validation_units(groups, metadata, n, "subject")
    return "subject" if subjects is not None and len(np.unique(subjects)) >= MIN_SUBJECTS_AUTO else "trial"


def inner_split(estimator, n, groups, seed, classes=None, held_out=None, metadata=None):
    """Indices ``(train, valid)`` of the early-stopping split of ``n`` windows.

    ``valid`` is None (no early stopping) when ``estimator.patience`` is None,
    ``estimator.validation_fraction`` is 0, neither ``groups`` nor ``metadata`` is given (then a
    warning says why: a split of windows would leak trials into the validation set), or the split
    would hold fewer than :data:`MIN_VALIDATION_UNITS` trials (subjects) of some class (then a log
    line says so). Otherwise ``valid`` holds out whole trials, stratified by class, or whole
    subjects (:func:`validation_units`), as :func:`resolve_validation_groups` reads
    ``estimator.validation_groups``, ``held_out`` (the fit metadata: what the evaluation holds out)
    and ``metadata``.

    ``classes``: class code per window (classification), or None (regression).
    """
    how = getattr(estimator, "validation_groups", "trial")
    check_option("validation_groups", how, VALIDATION_GROUPS)
    check_option("held_out", held_out, HELD_OUT)
    everything = np.arange(n)
    if estimator.patience is None or estimator.validation_fraction == 0:
        return everything, None
    if groups is None and metadata is None:
        warnings.warn(
            f"{type(estimator).__name__}.fit got no groups (trial ids) and no metadata, so its validation split "
            "could not hold out whole trials; early stopping is off and training runs for max_epochs. "
            "Pass groups=<trial id per window> (or metadata=tokens.metadata) to enable it.",
            UserWarning,
            stacklevel=3,
        )
        return everything, None
    how = resolve_validation_groups(how, groups, held_out, metadata)
    units = validation_units(groups, metadata, n, how)
    if units is None:  # a table of subjects only, no trial ids: as without groups
        warnings.warn(
            f"{type(estimator).__name__}.fit got metadata without trial ids ('session' and 'trial' columns) and no "
            "groups, so its validation split could not hold out whole trials; early stopping is off and training "
            "runs for max_epochs. Pass metadata=tokens.metadata (or groups=<trial id per window>) to enable it.",
            UserWarning, stacklevel=3)
        return everything, None
    if how == "subject" and len(np.unique(units)) < 2:
        from .._keys import check_metadata, keys_table

        table = check_metadata(metadata, n) if metadata is not None else keys_table(np.asarray(groups).astype(str))
        raise ValueError(
            "validation_groups='subject' holds out whole subjects for early stopping, so the windows must "
            f"span at least 2 subjects; got only {table['subject'].iloc[0]!r}. Use validation_groups='trial' "
            "(or patience=None) when training on one subject."
        )
    if len(np.unique(units)) < 2:
        raise ValueError("Early stopping needs windows from at least 2 trials in groups.")
    fraction = estimator.validation_fraction
    n_folds = max(2, round(1 / fraction))
    if classes is not None and how == "trial" and len(np.unique(units)) >= n_folds:
        classes = np.asarray(classes).reshape(n, -1)[:, 0]
        splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed % (2**32))
        with warnings.catch_warnings():  # "The least populated class ...": judged below
            warnings.simplefilter("ignore", UserWarning)
            train, valid = next(splitter.split(everything, classes, groups=units))
    else:
        if classes is not None:
            classes = np.asarray(classes).reshape(n, -1)[:, 0]
        train, valid = next(GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed).split(everything,
                                                                                                       groups=units))
    # Judge the split drawn: every class must have enough held-out trials (subjects) to rank epochs.
    if classes is None:
        held, need = len(np.unique(units[valid])), 2 * MIN_VALIDATION_UNITS
    else:
        held = min(len(np.unique(units[valid][classes[valid] == c])) for c in np.unique(classes))
        need = MIN_VALIDATION_UNITS
    if held < need:
        _log_once(f"{type(estimator).__name__}: early stopping off, training runs max_epochs={estimator.max_epochs}: "
                  f"a validation split of {fraction:g} holds {held} {how}(s) {'in all' if classes is None else 'of a class'} "
                  f"(at least {need} needed to choose an epoch).")
        return everything, None
    return train, valid


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


def cosine_schedule(lr, max_epochs, steps_per_epoch=None):
    """skorch callback: cosine annealing of the learning rate from ``lr`` to ``lr / 1000``.

    Stepped once per epoch over ``max_epochs`` epochs, or, with ``steps_per_epoch``, once per
    training batch over ``max_epochs * steps_per_epoch`` batches (the contrastive encoder, whose
    runs are a few epochs of a few batches).
    """
    from skorch.callbacks import LRScheduler

    if steps_per_epoch is None:
        return LRScheduler(policy="CosineAnnealingLR", T_max=max_epochs, eta_min=lr * 1e-3)
    return LRScheduler(policy="CosineAnnealingLR", T_max=max_epochs * steps_per_epoch, eta_min=lr * 1e-3,
                       step_every="batch")


def training_plan(estimator, X, targets, valid):
    """The skorch ``callbacks`` and ``train_split`` of a neural estimator's fit, as a dict.

    The cosine schedule (:func:`cosine_schedule` of ``estimator.lr`` over ``estimator.max_epochs``),
    and, when ``valid`` (indices of the windows :func:`inner_split` held out) is not None, early
    stopping on ``(X[valid], targets[valid])`` with ``estimator.patience``, the best epoch's
    weights restored at the end. Without ``valid``, no validation split (``train_split=None``).
    """
    from skorch.callbacks import EarlyStopping
    from skorch.dataset import Dataset
    from skorch.helper import predefined_split

    callbacks = [("lr_schedule", cosine_schedule(estimator.lr, estimator.max_epochs))]
    if valid is None:
        return {"callbacks": callbacks, "train_split": None}
    callbacks.append(("early_stopping", EarlyStopping(patience=estimator.patience, load_best=True)))
    return {"callbacks": callbacks, "train_split": predefined_split(Dataset(X[valid], targets[valid]))}


def resolve_device(device):
    """The torch device of an estimator's ``device`` parameter: ``"auto"`` is CUDA when available."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def fit_seed(random_state) -> int:
    """The seed of one fit, drawn from ``random_state`` (torch's generator, the early-stopping split)."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


@contextlib.contextmanager
def seeded(seed, device="cpu"):
    """Run the block with torch's generators seeded by ``seed``, and restore them afterwards.

    Initialisation, shuffling (skorch's iterator) and dropout draw from torch's global generators:
    forking them keeps a fit reproducible under its ``random_state`` and leaves the caller's
    random streams alone (the CUDA generator of ``device`` too, where training runs on CUDA).
    """
    import torch

    device = torch.device(device)
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(int(seed))
        yield


def require_y(estimator, y):
    """Raise scikit-learn's ``ValueError`` when a supervised ``fit`` gets ``y=None``."""
    if y is None:
        raise ValueError(f"{type(estimator).__name__} requires y to be passed, but the target y is None.")


def check_window_labels(estimator, y, n_windows):
    """``y`` as one target per window (1-D), as scikit-learn reads it for a single-output estimator.

    ``None`` is refused (:func:`require_y`); a column vector (n_windows, 1) is ravelled with
    scikit-learn's ``DataConversionWarning``; any other shape, or another length than
    ``n_windows``, is a ``ValueError``.
    """
    require_y(estimator, y)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if y.ndim != 1 or len(y) != n_windows:
        raise ValueError(f"y must have one label per window ({n_windows},), got shape {y.shape}.")
    return y


def encode_classes(labels, hint):
    """``(classes, codes)`` of one column of class labels, checked (:func:`check_class_labels`).

    ``classes`` are the sorted distinct labels and ``codes`` (int64) each window's index into them;
    fewer than 2 classes is a ``ValueError`` (scikit-learn's message).
    """
    check_class_labels(labels, hint=hint)
    classes, codes = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise ValueError("Classifier can't train when only one class is present.")
    return classes, codes.ravel().astype(np.int64)


def class_weights(class_weight, classes, codes):
    """Cross-entropy weight per class (float64, in the order of ``classes``), or None.

    Parameters
    ----------
    class_weight : "balanced", dict or None
        "balanced": ``n / (n_classes * count)`` with the counts of ``codes`` (the inner training
        windows only, never the validation trials); 0 for a class absent from them (it has no
        window to weigh). A dict maps class label to weight; classes it does not name weigh 1, as
        in scikit-learn. None: no weights.
    classes : ndarray
        The class labels.
    codes : ndarray of int
        The training windows' class codes (indices into ``classes``).
    """
    if class_weight is None:
        return None
    n_classes = len(classes)
    if isinstance(class_weight, dict):
        return np.array([float(class_weight.get(c, 1.0)) for c in np.asarray(classes).tolist()])
    check_option("class_weight", class_weight, ("balanced", None))
    counts = np.bincount(codes, minlength=n_classes).astype(float)
    return np.where(counts > 0, len(codes) / (n_classes * np.maximum(counts, 1.0)), 0.0)
