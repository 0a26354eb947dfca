"""Turning a rating into the target of a task (binary, classes, regression).

A missing rating never becomes a label: :func:`make_target` raises for trials without one, or
leaves them out when asked to (``drop_unlabelled=True``), logging and recording how many.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from .._validation import MISSING_STRINGS, check_option, missing_labels  # noqa: F401 (re-exported)

logger = logging.getLogger(__name__)

TASKS = ("binary", "classes", "regression")


_SHOWN_KEYS = 5


@dataclass(frozen=True)
class Target:
    """The labels derived from one rating.

    Attributes
    ----------
    y : ndarray, shape (n_labelled_windows,)
        Class codes ``0..n_classes-1`` (int) or the rating itself in its scale's units (float).
    task : str
    rating : str
    class_names : tuple of str
        Empty for regression.
    windows : ndarray of int or None
        Indices of the tokens' windows that ``y`` labels, when unlabelled trials were dropped
        (``make_target(..., drop_unlabelled=True)``); None when ``y`` labels every window.
    unlabelled_dropped : dict
        ``{"trials": n, "windows": m}``: the unlabelled trials left out and their windows.
    """

    y: np.ndarray
    task: str
    rating: str
    class_names: tuple
    windows: np.ndarray | None = None
    unlabelled_dropped: dict = field(default_factory=lambda: {"trials": 0, "windows": 0})

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def is_classification(self) -> bool:
        return self.task != "regression"


def make_target(tokens, target: str = "valence", task: str = "binary", *, drop_unlabelled: bool = False) -> Target:
    """Derive the labels of ``task`` from the rating ``target`` of :class:`WindowTokens`.

    - ``"binary"``: high (rating >= the scale's midpoint, e.g. 5 on DEAP's 1-9, 3 on DREAMER's 1-5)
      vs low. Not defined for categorical scales.
    - ``"classes"``: categorical codes (SEED: negative, neutral, positive = 0, 1, 2); for ordinal and
      continuous scales the integer part of ``rating - low`` (DEAP 9 classes, DREAMER 5 classes).
    - ``"regression"``: the rating in its scale's units.

    Parameters
    ----------
    tokens : WindowTokens
    target : str, default="valence"
        One of ``tokens.rating_names``.
    task : {"binary", "classes", "regression"}, default="binary"
    drop_unlabelled : bool, default=False
        A trial is unlabelled when its rating is missing in one of its windows (see
        :func:`missing_labels`: NaN, and for object and string ratings also None, ``""``,
        ``"n/a"``). Such a rating is never turned into a label: by default it is an error; with
        True the trial's windows are left out (see :attr:`Target.windows`), and how many trials
        and windows is logged (logger ``neuroaffect.evaluation.targets``) and recorded in
        :attr:`Target.unlabelled_dropped`.

    Returns
    -------
    Target

    Raises
    ------
    ValueError
        If ``task`` is unknown or does not suit the rating's scale, if a trial is unlabelled and
        ``drop_unlabelled`` is False (the message names the first trials), if every trial is
        unlabelled, or if a rating is neither missing nor a number.
    """
    check_option("task", task, TASKS)
    raw = np.asarray(tokens.rating(target))
    scale = tokens.scale(target)
    if scale.kind == "categorical" and task != "classes":
        hint = " needs an ordered scale" if task == "binary" else " is not defined for it"
        raise ValueError(f"Rating {target!r} is categorical ({scale.name}); task={task!r}{hint}. Use task='classes'.")
    windows, dropped = labelled_windows(
        missing_labels(raw), tokens.trial_key, what=f"The {target!r} rating (parameter 'target')",
        drop_unlabelled=drop_unlabelled,
    )
    values = _as_numbers(raw if windows is None else raw[windows], target, scale)
    kept = {"windows": windows, "unlabelled_dropped": dropped}
    if task == "regression":
        return Target(values, task, target, (), **kept)
    if task == "binary":
        mid = scale.midpoint
        return Target((values >= mid).astype(int), task, target, (f"low (<{mid:g})", f"high (>={mid:g})"), **kept)
    n = int(np.floor(scale.high - scale.low)) + 1
    codes = np.clip(np.floor(values - scale.low).astype(int), 0, n - 1)
    if scale.kind == "categorical" and scale.categories:
        names = tuple(scale.categories)
    else:
        names = tuple(f"{scale.low + i:g}" for i in range(n))
    return Target(codes, task, target, names, **kept)


def labelled_windows(missing, trial_key, *, what: str, drop_unlabelled: bool) -> tuple[np.ndarray | None, dict]:
    """Windows to keep, given which windows miss their label; raise unless told to drop.

    Parameters
    ----------
    missing : ndarray of bool, shape (n_windows,)
    trial_key : ndarray of str, shape (n_windows,)
        A trial with one window missing its label is unlabelled as a whole.
    what : str
        How the labels are named in messages, e.g. ``"The 'valence' rating (parameter 'target')"``.
    drop_unlabelled : bool

    Returns
    -------
    windows : ndarray of int or None
        Indices of the windows of labelled trials; None when every trial is labelled.
    dropped : dict
        ``{"trials": n, "windows": m}`` left out (zeros when none).
    """
    if not isinstance(drop_unlabelled, bool | np.bool_):
        raise ValueError(f"Invalid value for the 'drop_unlabelled' parameter: expected True or False, "
                         f"got {drop_unlabelled!r}.")
    missing = np.asarray(missing, dtype=bool)
    if not missing.any():
        return None, {"trials": 0, "windows": 0}
    keys = np.asarray(trial_key).astype(str)
    unlabelled = list(dict.fromkeys(keys[missing].tolist()))
    in_unlabelled = np.isin(keys, unlabelled)
    shown = ", ".join(repr(k) for k in unlabelled[:_SHOWN_KEYS]) + (", ..." if len(unlabelled) > _SHOWN_KEYS else "")
    counts = f"{len(unlabelled)} trial(s) ({int(missing.sum())} window(s))"
    if not drop_unlabelled:
        raise ValueError(
            f"{what} is missing (NaN, None, '' or 'n/a') for {counts}, trial keys "
            f"(subject/session/trial) {shown}; expected a value for every trial, since a missing "
            "rating is never turned into a label. Fill the ratings in, or pass drop_unlabelled=True "
            "to leave these trials out (the number left out is logged and recorded in the results)."
        )
    if in_unlabelled.all():
        raise ValueError(
            f"{what} is missing for every trial ({counts}): drop_unlabelled=True left no window to "
            "evaluate; expected at least one labelled trial."
        )
    dropped = {"trials": len(unlabelled), "windows": int(in_unlabelled.sum())}
    logger.warning("%s is missing for %d trial(s): dropped them and their %d window(s) (drop_unlabelled=True): %s",
                   what, dropped["trials"], dropped["windows"], shown)
    return np.flatnonzero(~in_unlabelled), dropped


def _as_numbers(values, target, scale) -> np.ndarray:
    if values.dtype.kind in "iufb":
        return values.astype(float)
    out = np.empty(len(values))
    for i, v in enumerate(values):
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            shown = v.item() if isinstance(v, np.generic) else v
            raise ValueError(
                f"The {target!r} rating (parameter 'target') holds {shown!r}, which is neither a number nor a "
                f"missing value; expected numbers on the {scale.name} scale ({scale.low:g}..{scale.high:g})."
            ) from None
    return out
