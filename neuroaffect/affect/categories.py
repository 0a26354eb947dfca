"""Emotion categories as Gaussians in valence-arousal-dominance (VAD) space.

Each category is a Gaussian with independent dimensions whose means and standard deviations are
the ratings of the matching emotion term in Russell & Mehrabian (1977), Table 4 (on -1..+1, the
same range as this library's common space). The probability of a category given a VAD point is its
likelihood times its prior, normalised over the categories considered (Bayes' rule). The table
ships as ``neuroaffect/data/russell_mehrabian_1977.csv``; its README gives the citation and the
provenance of every row, including the one row (``neutral``) that is this library's assumption and
not a published value.

Reading a category off a point this way, and placing a dataset's categories at the centres of the
matching terms (:data:`DATASET_TERMS`), are approximations: the published numbers describe how
judges rated emotion *words*, not how the datasets' participants felt.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from .._validation import check_finite, check_option
from .scales import RatingScale, as_scale

DIMS = ("valence", "arousal", "dominance")

#: The default categories of :class:`CategoryMixture`: terms of Table 4 for the usual "basic"
#: emotions (plus the two low-arousal states of the circumplex), in the table's own words.
DEFAULT_CATEGORIES = ("happy", "relaxed", "bored", "sad", "fearful", "angry", "disgusted", "surprised")

#: How each categorical dataset's categories are placed in VAD space: category -> table term.
#: An approximation: SEED's "positive"/"negative" film clips are comedies and tragedies, read here
#: as happy and sad; "neutral" is the library's assumed centre (see the data README).
DATASET_TERMS = {
    "SEED emotion": {"negative": "sad", "neutral": "neutral", "positive": "happy"},
    "SEED-IV emotion": {"neutral": "neutral", "sad": "sad", "fear": "fearful", "happy": "happy"},
}

_TABLE_FILE = "russell_mehrabian_1977.csv"


@dataclass(frozen=True)
class CategoryTable:
    """Rows of the category table, as arrays.

    Attributes
    ----------
    terms : tuple of str
    means, sds : ndarray, shape (n_terms, 3)
        Valence, arousal, dominance on -1..+1.
    sources : tuple of str
        ``"russell_mehrabian_1977_table4"`` for published rows, ``"assumption"`` for the library's.
    numbers : tuple of int or None
        Row number of the term in the paper's Table 4 (None for assumed rows).
    """

    terms: tuple
    means: np.ndarray
    sds: np.ndarray
    sources: tuple
    numbers: tuple

    def index(self, term: str) -> int:
        key = term.strip().lower()
        if key not in self.terms:
            raise ValueError(
                f"Unknown emotion term {term!r}; the table has {len(self.terms)} terms, e.g. "
                f"{', '.join(repr(t) for t in DEFAULT_CATEGORIES)}. See category_table().terms."
            )
        return self.terms.index(key)


@lru_cache(maxsize=1)
def category_table() -> CategoryTable:
    """The shipped table of emotion terms in VAD space (Russell & Mehrabian, 1977, Table 4)."""
    text = resources.files("neuroaffect").joinpath("data", _TABLE_FILE).read_text(encoding="utf-8")
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    means = np.array([[float(r[f"{d}_mean"]) for d in DIMS] for r in rows])
    sds = np.array([[float(r[f"{d}_sd"]) for d in DIMS] for r in rows])
    means.setflags(write=False)
    sds.setflags(write=False)
    return CategoryTable(
        terms=tuple(r["term"] for r in rows), means=means, sds=sds,
        sources=tuple(r["source"] for r in rows),
        numbers=tuple(int(r["number"]) if r["number"] else None for r in rows),
    )


def _dim_index(dims) -> list[int]:
    dims = (dims,) if isinstance(dims, str) else tuple(dims)
    if not dims or len(set(dims)) != len(dims):
        raise ValueError(f"dims must name distinct dimensions among {DIMS}, got {dims}.")
    for d in dims:
        check_option("dims", d, DIMS)
    return [DIMS.index(d) for d in dims]


def _points(vad, n_dims: int) -> np.ndarray:
    vad = np.asarray(vad, dtype=float)
    if vad.ndim == 1 and vad.shape[0] == n_dims:
        vad = vad[None]
    if vad.ndim != 2 or vad.shape[1] != n_dims:
        raise ValueError(f"vad must have shape (n, {n_dims}) (one column per dimension), got {vad.shape}.")
    return check_finite(vad, "vad")


class CategoryMixture:
    """Emotion categories as a mixture of Gaussians in (a subspace of) VAD space.

    Parameters
    ----------
    categories : sequence of str
        Terms of :func:`category_table` (case-insensitive), e.g. ``("happy", "sad")``.
    dims : sequence of {"valence", "arousal", "dominance"}
        The dimensions the points have, e.g. ``("valence", "arousal")`` for the circumplex.
    priors : array-like, shape (n_categories,), optional
        Prior probabilities of the categories (normalised here); equal by default.

    Attributes
    ----------
    categories : tuple of str
    means, sds : ndarray, shape (n_categories, n_dims)
    priors : ndarray, shape (n_categories,)

    Examples
    --------
    >>> mix = CategoryMixture(["happy", "sad", "fearful", "angry"])
    >>> mix.predict([[0.8, 0.5, 0.4]])
    array(['happy'], dtype='<U7')
    """

    def __init__(self, categories=DEFAULT_CATEGORIES, dims=DIMS, priors=None):
        table = category_table()
        categories = tuple(str(c).strip().lower() for c in categories)
        if not categories or len(set(categories)) != len(categories):
            raise ValueError(f"categories must be distinct terms, got {categories}.")
        rows = [table.index(c) for c in categories]
        cols = _dim_index(dims)
        self.categories = categories
        self.dims = tuple(DIMS[c] for c in cols)
        self.means = table.means[np.ix_(rows, cols)]
        self.sds = table.sds[np.ix_(rows, cols)]
        if priors is None:
            priors = np.full(len(categories), 1.0 / len(categories))
        priors = check_finite(np.asarray(priors, dtype=float), "priors")
        if priors.shape != (len(categories),) or (priors <= 0).any():
            raise ValueError(
                f"priors must be {len(categories)} positive numbers (one per category), got {priors}."
            )
        self.priors = priors / priors.sum()

    def log_likelihood(self, vad) -> np.ndarray:
        """Log density of each point under each category, shape (n, n_categories)."""
        x = _points(vad, len(self.dims))
        z = (x[:, None, :] - self.means[None]) / self.sds[None]
        return -0.5 * (z**2).sum(-1) - np.log(self.sds).sum(-1) - 0.5 * len(self.dims) * np.log(2 * np.pi)

    def probabilities(self, vad) -> np.ndarray:
        """Posterior probability of each category, shape (n, n_categories); rows sum to one.

        Parameters
        ----------
        vad : array-like, shape (n, n_dims)
            Points in the common space (columns in the order of ``dims``).
        """
        log_post = self.log_likelihood(vad) + np.log(self.priors)
        log_post -= log_post.max(axis=1, keepdims=True)
        post = np.exp(log_post)
        return post / post.sum(axis=1, keepdims=True)

    def predict(self, vad) -> np.ndarray:
        """Most probable category of each point, shape (n,)."""
        return np.asarray(self.categories)[self.probabilities(vad).argmax(axis=1)]

    def centre(self, category: str) -> np.ndarray:
        """The mean of a category's Gaussian, shape (n_dims,)."""
        key = str(category).strip().lower()
        if key not in self.categories:
            raise ValueError(f"Unknown category {category!r}; this mixture has {self.categories}.")
        return self.means[self.categories.index(key)].copy()

    def __repr__(self) -> str:
        return f"CategoryMixture({list(self.categories)}, dims={self.dims})"


def category_probabilities(vad, categories=DEFAULT_CATEGORIES, dims=DIMS) -> np.ndarray:
    """Probability of each emotion category for each VAD point, shape (n, n_categories).

    Shorthand for ``CategoryMixture(categories, dims).probabilities(vad)`` (equal priors).
    """
    return CategoryMixture(categories, dims).probabilities(vad)


def category_centre(term: str, dims=DIMS) -> np.ndarray:
    """The VAD centre (table means) of an emotion term, shape (n_dims,)."""
    table = category_table()
    return table.means[table.index(term), _dim_index(dims)].copy()


def _dataset_mapping(scale: RatingScale, mapping) -> dict:
    if scale.kind != "categorical":
        raise ValueError(
            f"The {scale.name} scale is {scale.kind}, not categorical; use to_common_space for it."
        )
    if mapping is None:
        if scale.name not in DATASET_TERMS:
            raise ValueError(
                f"No default mapping of the {scale.name} categories {scale.categories} to emotion "
                f"terms; pass mapping={{category: term}}."
            )
        mapping = DATASET_TERMS[scale.name]
    missing = [c for c in scale.categories if c not in mapping]
    if missing:
        raise ValueError(f"mapping lacks the {scale.name} categories {missing}.")
    return mapping


def vad_to_categories(vad, scale, dims=DIMS, mapping=None) -> np.ndarray:
    """Most probable category of a categorical scale for each VAD point (inverse of categories_to_vad).

    Parameters
    ----------
    vad : array-like, shape (n, n_dims)
        Points in the common space, e.g. a regressor's predictions.
    scale, dims, mapping
        As in :func:`categories_to_vad`.

    Returns
    -------
    codes : ndarray of float, shape (n,)
        Codes on ``scale`` (e.g. -1/0/1 for SEED), from a :class:`CategoryMixture` over the terms
        the scale's categories map to (equal priors).
    """
    scale = as_scale(scale)
    mapping = _dataset_mapping(scale, mapping)
    mixture = CategoryMixture([mapping[c] for c in scale.categories], dims=dims)
    return scale.low + mixture.probabilities(vad).argmax(axis=1).astype(float)


def categories_to_vad(codes, scale, dims=DIMS, mapping=None) -> np.ndarray:
    """Place categorical labels (e.g. SEED's -1/0/1) at the VAD centres of matching emotion terms.

    Parameters
    ----------
    codes : array-like of int, shape (n,)
        Codes on the categorical ``scale`` (``scale.low`` ... ``scale.high``).
    scale : RatingScale or str
        A categorical scale, or ``"seed"`` / ``"seed_iv"``.
    dims : sequence of str
        Dimensions to return.
    mapping : dict of str to str, optional
        Category name -> table term. Defaults to :data:`DATASET_TERMS` for the scale's name.

    Returns
    -------
    vad : ndarray, shape (n, n_dims)
        Points in the common space. An approximation (see the module docstring).
    """
    scale: RatingScale = as_scale(scale)
    mapping = _dataset_mapping(scale, mapping)
    codes = scale.validate(codes, what=f"{scale.name} codes")
    centres = np.array([category_centre(mapping[c], dims) for c in scale.categories])
    return centres[(codes - scale.low).astype(int)]
