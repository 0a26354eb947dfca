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


def check_signal(array, what: str) -> np.ndarray:
    """``array`` as float32 ``(n_channels, n_times)``, or ``ValueError`` naming ``what``.

    Refuses complex values (the imaginary part would be dropped), empty arrays, NaN or inf, and
    finite values too large for float32 (they would become inf).
    """
    array = np.asarray(array)
    if array.dtype.kind == "c":
        raise ValueError(
            f"{what} is complex ({array.dtype}); expected real samples in volts. Pass the real part "
            "or the magnitude explicitly (np.real, np.abs) if that is what you mean."
        )
    array = check_ndim(array, 2, what, "(n_channels, n_times)")
    if array.size == 0:
        raise ValueError(
            f"{what} is empty (shape {array.shape}); expected (n_channels, n_times) with at least one "
            "channel and one sample."
        )
    check_finite(array, what)
    limit = float(np.finfo(np.float32).max)
    if array.dtype.kind == "f" and array.dtype.itemsize > 4:
        peak = float(np.abs(array).max())
        if peak > limit:
            raise ValueError(
                f"{what} has finite values up to {peak:.3g}, which overflow float32 (largest "
                f"{limit:.3g}); samples are stored as float32 volts. Check the units of the data."
            )
    return np.asarray(array, dtype=np.float32)


def check_file(path: str | PathLike, what: str = "file") -> Path:
    """Return ``path`` as a ``Path`` or raise ``FileNotFoundError`` saying what was looked for."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    return path


MISSING_STRINGS = ("", "n/a", "nan")
"""Strings that mark a missing label (compared after stripping whitespace and a sign, case-insensitively)."""


def missing_labels(values) -> np.ndarray:
    """Boolean mask of the missing entries of ``values``, same shape.

    NaN is missing in any array; in object and string arrays so are None and the
    :data:`MISSING_STRINGS` (``""``, ``"n/a"``, ``"nan"``; whitespace, sign and case ignored).
    """
    values = np.asarray(values)
    if values.dtype.kind in "fc":
        return np.isnan(values)
    if values.dtype.kind in "iub":
        return np.zeros(values.shape, dtype=bool)
    return np.array([_is_missing(v) for v in values.ravel()], dtype=bool).reshape(values.shape)


def _is_missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str | bytes):
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        return text.strip().lower().lstrip("+-") in MISSING_STRINGS
    try:
        return bool(value != value)  # NaN of any numeric type
    except TypeError:  # pandas.NA and similar markers refuse to compare: they are missing too
        return True
