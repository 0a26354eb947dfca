"""Declared rating scales and conversion to one normalised space.

Every rating carried by :class:`~neuroaffect.EEGTrials` has a :class:`RatingScale`. Continuous and
ordinal scales map linearly onto [-1, 1] (the low end to -1, the midpoint to 0), so labels from
datasets rated on different scales can be combined: DEAP's 1-9 ratings and DREAMER's 1-5 scores
both become values in [-1, 1] where 0 is the scale's midpoint (DEAP 5, DREAMER 3), which is also
where the field's binary high/low threshold sits. Categorical scales (SEED, SEED-IV) have no
numeric normalisation; :func:`neuroaffect.affect.categories_to_vad` places their categories in the
common space through a published table (an approximation).

A scale of your own is one line: ``RatingScale("slider 0-100", 0, 100)``; pass it wherever a
scale or a dataset name is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_option


@dataclass(frozen=True)
class RatingScale:
    """The scale a rating was collected on.

    Parameters
    ----------
    name : str
        A label for the scale, e.g. ``"SAM 1-9"``.
    low, high : float
        Ends of the scale. For ``kind="categorical"`` the smallest and largest code.
    kind : {"continuous", "ordinal", "categorical"}
        Continuous ratings take any value in [low, high]; ordinal ones only integers; categorical
        ones are codes with no order (``categories`` names them).
    categories : tuple of str, optional
        Names of the categorical codes ``low, low + 1, ..., high``: ``high - low + 1`` distinct
        names (or none, for unnamed codes).

    Raises
    ------
    ValueError
        If ``high <= low``; for a categorical scale, if ``low``/``high`` are not integers or
        ``categories`` does not name each code once.
    """

    name: str
    low: float
    high: float
    kind: str = "continuous"
    categories: tuple[str, ...] = ()

    def __post_init__(self):
        check_option("kind", self.kind, ("continuous", "ordinal", "categorical"))
        if not self.high > self.low:
            raise ValueError(f"RatingScale {self.name!r}: high ({self.high}) must exceed low ({self.low}).")
        if self.kind == "categorical":
            if self.low != np.round(self.low) or self.high != np.round(self.high):
                raise ValueError(f"RatingScale {self.name!r}: a categorical scale's low and high are the "
                                 f"smallest and largest integer codes, got {self.low!r} and {self.high!r}.")
            n_codes = int(round(self.high - self.low)) + 1
            if self.categories and len(self.categories) != n_codes:
                raise ValueError(
                    f"RatingScale {self.name!r}: categories has {len(self.categories)} name(s) "
                    f"{tuple(self.categories)} for the {n_codes} codes {int(self.low)}..{int(self.high)}; "
                    "expected one name per code (or none)."
                )
            if len(set(self.categories)) != len(self.categories):
                raise ValueError(f"RatingScale {self.name!r}: categories {tuple(self.categories)} repeat a "
                                 "name; expected distinct names.")

    @property
    def midpoint(self) -> float:
        return (self.low + self.high) / 2

    def validate(self, values, what: str = "ratings") -> np.ndarray:
        """Return ``values`` as float array; raise ``ValueError`` if any lie off the scale or is NaN."""
        values = np.asarray(values, dtype=float)
        if np.isnan(values).any():
            raise ValueError(f"{what} contain NaN; expected values on the {self.name} scale.")
        off = (values < self.low) | (values > self.high)
        if self.kind != "continuous":
            off |= values != np.round(values)
        if off.any():
            bad = values[off][:5].tolist()
            raise ValueError(
                f"{what} hold values off the {self.name} scale ({self.kind} {self.low:g}..{self.high:g}): "
                f"{bad}."
            )
        return values

    def normalize(self, values) -> np.ndarray:
        """Map ratings linearly onto [-1, 1]."""
        if self.kind == "categorical":
            raise ValueError(
                f"The {self.name} scale is categorical and has no numeric normalisation; place its "
                f"categories in VAD space with neuroaffect.affect.categories_to_vad."
            )
        values = self.validate(values)
        return 2 * (values - self.low) / (self.high - self.low) - 1

    def denormalize(self, values) -> np.ndarray:
        """Inverse of :meth:`normalize` (no rounding for ordinal scales)."""
        values = np.asarray(values, dtype=float)
        return (values + 1) * (self.high - self.low) / 2 + self.low


SCALES = {
    "deap": RatingScale("DEAP SAM 1-9", 1.0, 9.0, "continuous"),
    "dreamer": RatingScale("DREAMER SAM 1-5", 1.0, 5.0, "ordinal"),
    "seed": RatingScale("SEED emotion", -1, 1, "categorical", ("negative", "neutral", "positive")),
    "seed_iv": RatingScale("SEED-IV emotion", 0, 3, "categorical", ("neutral", "sad", "fear", "happy")),
}


def get_scale(name: str) -> RatingScale:
    """Return the declared scale of a known dataset (``"deap"``, ``"dreamer"``, ``"seed"``, ``"seed_iv"``)."""
    check_option("name", name, tuple(SCALES))
    return SCALES[name]


def as_scale(scale) -> RatingScale:
    """Return ``scale`` if it is a :class:`RatingScale`, else the declared scale of that dataset name."""
    if isinstance(scale, RatingScale):
        return scale
    if isinstance(scale, str):
        return get_scale(scale)
    raise TypeError(
        f"Expected a RatingScale or a dataset name ({', '.join(map(repr, SCALES))}), "
        f"got {type(scale).__name__}."
    )


def _column_scales(scales, n_columns: int) -> list[RatingScale]:
    if isinstance(scales, RatingScale | str):
        return [as_scale(scales)] * n_columns
    scales = [as_scale(s) for s in scales]
    if len(scales) != n_columns:
        raise ValueError(
            f"Got {len(scales)} scale(s) for {n_columns} rating column(s); pass one scale per "
            f"column or a single scale for all."
        )
    return scales


def _as_columns(values, what: str) -> tuple[np.ndarray, tuple]:
    values = np.asarray(values, dtype=float)
    if values.ndim > 2:
        raise ValueError(f"{what} must have shape (n,) or (n, n_ratings), got shape {values.shape}.")
    return (values.reshape(-1, 1) if values.ndim < 2 else values), values.shape


def to_common_space(ratings, scales) -> np.ndarray:
    """Map ratings from their declared scales onto the common space [-1, 1].

    Parameters
    ----------
    ratings : float or array-like, shape (n,) or (n, n_ratings)
        Ratings on their own scales, one column per rating.
    scales : RatingScale or str, or sequence of them
        One scale per column (a :class:`RatingScale` or a dataset name such as ``"deap"``), or a
        single scale used for every column.

    Returns
    -------
    values : ndarray, shape like ``ratings``
        Normalised ratings: the low end of each scale maps to -1, the high end to +1.

    Raises
    ------
    ValueError
        If a rating is NaN or off its scale (or not an integer on an ordinal scale), or a scale is
        categorical (use :func:`neuroaffect.affect.categories_to_vad` for those).

    Examples
    --------
    >>> to_common_space([[1.0, 5.0], [9.0, 3.0]], ["deap", "dreamer"])
    array([[-1.,  1.],
           [ 1.,  0.]])
    """
    values, shape = _as_columns(ratings, "ratings")
    out = np.empty_like(values)
    for j, scale in enumerate(_column_scales(scales, values.shape[1])):
        out[:, j] = scale.normalize(values[:, j])
    return out.reshape(shape)


def from_common_space(values, scales, *, round_ordinal: bool = False) -> np.ndarray:
    """Inverse of :func:`to_common_space`: map values in [-1, 1] back onto the declared scales.

    Parameters
    ----------
    values : array-like, shape (n,) or (n, n_ratings)
        Values in the common space, e.g. a regressor's predictions (clip them first if the model can
        leave [-1, 1]).
    scales : RatingScale or str, or sequence of them
        As in :func:`to_common_space`.
    round_ordinal : bool
        Round values on ordinal scales to the nearest allowed integer.

    Returns
    -------
    ratings : ndarray, shape like ``values``
    """
    values, shape = _as_columns(values, "values")
    if np.isnan(values).any():
        raise ValueError("values contain NaN; expected finite values in [-1, 1].")
    off = np.abs(values) > 1 + 1e-12
    if off.any():
        raise ValueError(
            f"values hold {int(off.sum())} value(s) outside the common space [-1, 1] (first: "
            f"{values[off][0]!r}); clip predictions with np.clip(values, -1, 1) first."
        )
    out = np.empty_like(values)
    for j, scale in enumerate(_column_scales(scales, values.shape[1])):
        if scale.kind == "categorical":
            raise ValueError(f"The {scale.name} scale is categorical and has no numeric values.")
        out[:, j] = np.clip(scale.denormalize(values[:, j]), scale.low, scale.high)
        if round_ordinal and scale.kind == "ordinal":
            out[:, j] = np.round(out[:, j])
    return out.reshape(shape)
