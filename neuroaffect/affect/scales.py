"""Declared rating scales and conversion to one normalised space.

Every rating carried by :class:`~neuroaffect.EEGTrials` has a :class:`RatingScale`. Continuous and
ordinal scales map linearly onto [-1, 1] (the low end to -1, the midpoint to 0), so labels from
datasets rated on different scales can be combined.
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
        Names of the categorical codes ``low, low + 1, ..., high``.
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
            raise ValueError(f"The {self.name} scale is categorical and has no numeric normalisation.")
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
