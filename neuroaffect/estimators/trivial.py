"""Trivial baselines: what a model must beat before "above chance" means anything.

On imbalanced labels the majority class already scores above 0.5 accuracy (and exactly 0.5
balanced accuracy); a stratified guess shows the spread of chance-level scores. Both take any X.
"""

from __future__ import annotations

from sklearn.dummy import DummyClassifier, DummyRegressor

__all__ = ["majority_class", "mean_rating", "median_rating", "stratified_guess"]


def majority_class(**params):
    """``DummyClassifier(strategy="most_frequent")``: always the training fold's most frequent class."""
    return DummyClassifier(**{"strategy": "most_frequent", **params})


def stratified_guess(**params):
    """``DummyClassifier(strategy="stratified")``: random classes in the training fold's proportions."""
    return DummyClassifier(**{"strategy": "stratified", **params})


def mean_rating(**params):
    """``DummyRegressor(strategy="mean")``: always the training fold's mean rating."""
    return DummyRegressor(**{"strategy": "mean", **params})


def median_rating(**params):
    """``DummyRegressor(strategy="median")``: always the training fold's median rating."""
    return DummyRegressor(**{"strategy": "median", **params})
