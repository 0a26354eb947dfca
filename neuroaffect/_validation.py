"""Small shared checks that give uniform, specific error messages.

Every public function validates its input through these helpers so that errors read the same way
everywhere: what was wrong, where (parameter or file) and what was expected.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np


class FileFormatError(ValueError):
    """A file exists but does not have the layout the reader expects (truncated, foreign, ...)."""

    def __init__(self, path: str | PathLike, problem: str):
        self.path = Path(path)
        super().__init__(f"{self.path}: {problem}")


def check_option(name: str, value, allowed) -> object:
    """Raise ``ValueError`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        allowed_str = ", ".join(repr(a) for a in allowed)
        raise ValueError(
            f"Invalid value for the {name!r} parameter. Allowed values are {allowed_str}, "
            f"but got {value!r}."
        )
    return value


def check_positive(name: str, value, *, strict: bool = True) -> float:
    """Raise ``ValueError`` unless ``value`` is a finite (strictly) positive number."""
    ok = isinstance(value, int | float | np.integer | np.floating) and np.isfinite(value)
    if not ok or (value <= 0 if strict else value < 0):
        expected = "a positive number" if strict else "a non-negative number"
        raise ValueError(f"Invalid value for the {name!r} parameter: expected {expected}, got {value!r}.")
    return value


def check_finite(array: np.ndarray, what: str) -> np.ndarray:
    """Raise ``ValueError`` naming ``what`` and the first bad position if ``array`` has NaN or inf."""
    array = np.asarray(array)
    if array.dtype.kind in "fc":
        bad = ~np.isfinite(array)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            kind = "NaN" if np.isnan(array[index]) else "inf"
            raise ValueError(
                f"{what} contains {int(bad.sum())} non-finite value(s) ({kind} first at index "
                f"{index}); expected finite samples. Interpolate or drop the bad segments first."
            )
    return array


def check_ndim(array: np.ndarray, ndim: int, name: str, axes: str) -> np.ndarray:
    """Raise ``ValueError`` unless ``array`` has ``ndim`` dimensions, described by ``axes``."""
    array = np.asarray(array)
    if array.ndim != ndim:
        raise ValueError(
            f"{name} must have shape {axes} ({ndim} dimensions), got shape {array.shape}."
        )
    return array


def check_file(path: str | PathLike, what: str = "file") -> Path:
    """Return ``path`` as a ``Path`` or raise ``FileNotFoundError`` saying what was looked for."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    return path
