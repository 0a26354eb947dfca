"""Turning a rating into the target of a task (binary, classes, regression)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_option

TASKS = ("binary", "classes", "regression")


@dataclass(frozen=True)
class Target:
    """The labels derived from one rating.

    Attributes
    ----------
    y : ndarray, shape (n_windows,)
        Class codes ``0..n_classes-1`` (int) or the rating itself in its scale's units (float).
    task : str
    rating : str
    class_names : tuple of str
        Empty for regression.
    """

    y: np.ndarray
    task: str
    rating: str
    class_names: tuple

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def is_classification(self) -> bool:
        return self.task != "regression"


def make_target(tokens, target: str = "valence", task: str = "binary") -> Target:
    """Derive the labels of ``task`` from the rating ``target`` of :class:`WindowTokens`.

    - ``"binary"``: high (rating >= the scale's midpoint, e.g. 5 on DEAP's 1-9, 3 on DREAMER's 1-5)
      vs low. Not defined for categorical scales.
    - ``"classes"``: categorical codes (SEED: negative, neutral, positive = 0, 1, 2); for ordinal and
      continuous scales the integer part of ``rating - low`` (DEAP 9 classes, DREAMER 5 classes).
    - ``"regression"``: the rating in its scale's units.
    """
    check_option("task", task, TASKS)
    values = np.asarray(tokens.rating(target), dtype=float)
    scale = tokens.scale(target)
    if task == "regression":
        if scale.kind == "categorical":
            raise ValueError(f"Rating {target!r} is categorical ({scale.name}); use task='classes'.")
        return Target(values, task, target, ())
    if task == "binary":
        if scale.kind == "categorical":
            raise ValueError(
                f"Rating {target!r} is categorical ({scale.name}); task='binary' needs an ordered scale. "
                "Use task='classes'."
            )
        mid = scale.midpoint
        return Target((values >= mid).astype(int), task, target, (f"low (<{mid:g})", f"high (>={mid:g})"))
    n = int(np.floor(scale.high - scale.low)) + 1
    codes = np.clip(np.floor(values - scale.low).astype(int), 0, n - 1)
    if scale.kind == "categorical" and scale.categories:
        names = tuple(scale.categories)
    else:
        names = tuple(f"{scale.low + i:g}" for i in range(n))
    return Target(codes, task, target, names)
