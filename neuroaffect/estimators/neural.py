"""What the neural estimators share: the early-stopping split, label and group checks, trial averages.

:func:`inner_split` holds out whole trials (or subjects) for early stopping, and only when the
split is large enough (:data:`MIN_VALIDATION_UNITS`); the electrode-attention transformer
(:mod:`neuroaffect.estimators.transformer`) and the braindecode networks
(:mod:`neuroaffect.estimators.networks`) use it, the label checks and the per-trial averages.

Metadata the neural estimators take in ``fit`` (both requested by default through scikit-learn's
metadata routing, ``__metadata_request__fit``, so a ``Pipeline`` or a search routes them when
routing is enabled; :func:`~neuroaffect.evaluation.cross_validate_subjects` passes them where
consumed):

- ``groups``: the windows' trial ids (trial keys ``"subject/session/trial"`` to hold out subjects);
  without them there is no early stopping.
- ``held_out`` (:data:`HELD_OUT`): what the evaluation around this fit holds out from the model,
  ``"subject"`` when it will be tested on subjects absent from its training data
  (leave-one-subject-out, cross-dataset), ``"trial"`` when on unseen trials (or sessions,
  stimuli, windows) of its training subjects, None when not said. ``validation_groups="auto"``
  follows it (:func:`resolve_validation_groups`).
"""

from __future__ import annotations

import functools
import logging
import warnings

import numpy as np
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold
from sklearn.utils.multiclass import check_classification_targets

from .._validation import check_option

#: How :func:`inner_split` groups the windows it holds out for early stopping.
VALIDATION_GROUPS = ("auto", "trial", "subject")

#: Values of the ``held_out`` fit metadata: what the evaluation holds out from the fitted model.
HELD_OUT = ("subject", "trial", None)

#: ``validation_groups="auto"`` holds out subjects (under ``held_out="subject"``) only when the
#: training groups span at least this many subjects, so that an inner fit of a nested search
#: still trains on at least 2; with fewer it holds out trials.
MIN_SUBJECTS_AUTO = 3


#: Early stopping runs only when its validation split holds at least this many trials (or
#: subjects) of every class (regression: twice as many in all); with fewer, the validation loss
#: is too noisy to pick an epoch (on real few-trial data it rose from epoch 1 and the model
#: restored epoch 1), so training runs the fixed ``max_epochs`` cosine schedule instead.
MIN_VALIDATION_UNITS = 5


def resolve_validation_groups(validation_groups, groups, held_out=None) -> str:
    """What the early-stopping split holds out: ``"trial"`` or ``"subject"``.

    ``"trial"`` and ``"subject"`` are returned as given. ``"auto"`` (the estimators' default)
    follows the ``held_out`` fit metadata: ``"subject"`` when ``held_out == "subject"`` and
    ``groups`` (trial keys ``"subject/session/trial"``) span at least :data:`MIN_SUBJECTS_AUTO`
    (3) subjects, so the stopping epoch is chosen for subjects the model has not seen, as the
    evaluation measures; otherwise ``"trial"``. The estimator cannot tell the protocol from the
    data, hence the metadata.

    Parameters
    ----------
    validation_groups : {"auto", "trial", "subject"}
        The estimator's parameter.
    groups : array-like of shape (n_windows,) or None
        The fit's trial ids (only read for ``"auto"`` under ``held_out="subject"``).
    held_out : {"subject", "trial"} or None
        What the evaluation holds out (see the module docstring).

    Returns
    -------
    str
        ``"trial"`` or ``"subject"``.
    """
    check_option("validation_groups", validation_groups, VALIDATION_GROUPS)
    check_option("held_out", held_out, HELD_OUT)
    if validation_groups != "auto":
        return validation_groups
    if held_out != "subject" or groups is None:
        return "trial"
    from .._keys import parse_trial_keys

    n_subjects = len(np.unique(parse_trial_keys(np.asarray(groups))[0]))
    return "subject" if n_subjects >= MIN_SUBJECTS_AUTO else "trial"


def inner_split(estimator, n, groups, seed, classes=None, held_out=None):
    """Indices ``(train, valid)`` of the early-stopping split of ``n`` windows.

    ``valid`` is None (no early stopping) when ``estimator.patience`` is None,
    ``estimator.validation_fraction`` is 0, ``groups`` is None (then a warning says why: a split
    of windows would leak trials into the validation set), or the split would hold fewer than
    :data:`MIN_VALIDATION_UNITS` trials (subjects) of some class (then a log line says so).
    Otherwise ``valid`` holds out whole trials, stratified by class, or whole subjects
    (``groups`` must then be trial keys ``"subject/session/trial"``, see
    :func:`neuroaffect.evaluation.splitters.parse_trial_keys`), as
    :func:`resolve_validation_groups` reads ``estimator.validation_groups`` and ``held_out``
    (the fit metadata: what the evaluation holds out).

    ``classes``: class code per window (classification), or None (regression).
    """
    how = getattr(estimator, "validation_groups", "trial")
    check_option("validation_groups", how, VALIDATION_GROUPS)
    check_option("held_out", held_out, HELD_OUT)
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
    how = resolve_validation_groups(how, groups, held_out)
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


def cosine_schedule(lr, max_epochs):
    """skorch callback: cosine annealing of the learning rate from ``lr`` to ``lr / 1000``."""
    from skorch.callbacks import LRScheduler

    return LRScheduler(policy="CosineAnnealingLR", T_max=max_epochs, eta_min=lr * 1e-3)
