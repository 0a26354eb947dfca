"""Affect representations: rating scales, emotion categories, valence-arousal grids."""

from .scales import RatingScale, get_scale

__all__ = ["RatingScale", "get_scale"]
