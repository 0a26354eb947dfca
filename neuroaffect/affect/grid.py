"""A valence x arousal grid: bin labels and per-bin prototype embeddings.

The common space's valence and arousal, each in [-1, 1], are cut into ``n_bins`` equal bins
(5 x 5 = 25 classes by default). Bin edges belong to the bin above them except +1, which belongs to
the last bin, so -1 and +1 are both inside the grid. A point within ``1e-9`` bin widths below an edge
counts as on it: ratings converted from a scale (DEAP's 5.8 is 0.19999999999999996, not 0.2) land
in the bin their exact value belongs to. The class of a point is
``valence_bin * n_bins + arousal_bin`` (valence-major).

A fitted model's embeddings averaged per bin and L2-normalised give one prototype per class: a
compact, frozen summary of the affect structure a model has learned, which another model can be
trained to align with (:func:`neuroaffect.affect.prototypes.prototype_alignment_loss`; the idea of
NeuroGaze-Distill, arXiv 2509.11916).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_finite, check_ndim


def _check_n_bins(n_bins) -> int:
    if not isinstance(n_bins, int | np.integer) or isinstance(n_bins, bool) or n_bins < 1:
        raise ValueError(f"Invalid value for the 'n_bins' parameter: expected a positive integer, got {n_bins!r}.")
    return int(n_bins)


def _check_va(va) -> np.ndarray:
    va = check_ndim(np.asarray(va, dtype=float), 2, "va", "(n, 2) = (valence, arousal)")
    if va.shape[1] != 2:
        raise ValueError(f"va must have shape (n, 2) = (valence, arousal), got shape {va.shape}.")
    check_finite(va, "va")
    off = np.abs(va) > 1
    if off.any():
        raise ValueError(
            f"va holds {int(off.sum())} value(s) outside the common space [-1, 1] (first: "
            f"{va[off][0]!r}); convert ratings with to_common_space first."
        )
    return va


#: Points closer than this (in bin widths) below a bin edge count as on the edge.
_EDGE_TOL = 1e-9


def va_bin_edges(n_bins: int = 5) -> np.ndarray:
    """Edges of the bins along one axis, shape (n_bins + 1,), from -1 to 1."""
    return np.linspace(-1.0, 1.0, _check_n_bins(n_bins) + 1)


def va_bins(va, n_bins: int = 5) -> np.ndarray:
    """Grid class of each valence-arousal point.

    Parameters
    ----------
    va : array-like, shape (n, 2)
        Valence and arousal in the common space [-1, 1] (both ends included).
    n_bins : int
        Bins per axis.

    Returns
    -------
    labels : ndarray of int, shape (n,)
        ``valence_bin * n_bins + arousal_bin``, in ``0 .. n_bins**2 - 1``.

    Examples
    --------
    >>> va_bins([[-1.0, -1.0], [0.0, 0.0], [1.0, 1.0]])
    array([ 0, 12, 24])
    """
    n_bins = _check_n_bins(n_bins)
    va = _check_va(va)
    # tolerant floor: a point a rounding error below an edge (e.g. a converted rating) is on it
    idx = np.clip(np.floor((va + 1) / 2 * n_bins + _EDGE_TOL), 0, n_bins - 1).astype(int)
    return idx[:, 0] * n_bins + idx[:, 1]


def va_bin_centres(n_bins: int = 5) -> np.ndarray:
    """Centre (valence, arousal) of every class, shape (n_bins**2, 2), in class order."""
    edges = va_bin_edges(n_bins)
    mids = (edges[:-1] + edges[1:]) / 2
    v, a = np.meshgrid(mids, mids, indexing="ij")
    return np.column_stack([v.ravel(), a.ravel()])


@dataclass(frozen=True)
class PrototypeGrid:
    """Per-class prototype embeddings of a valence-arousal grid.

    Attributes
    ----------
    prototypes : ndarray, shape (n_bins**2, n_features), float32
        L2-normalised mean embedding of each class; all-zero rows for empty classes.
    counts : ndarray of int, shape (n_bins**2,)
        Number of samples that fell in each class.
    n_bins : int
    """

    prototypes: np.ndarray
    counts: np.ndarray
    n_bins: int

    @property
    def present(self) -> np.ndarray:
        """Boolean mask of the classes that had samples (and so have a prototype)."""
        return self.counts > 0


def va_prototypes(embeddings, va, n_bins: int = 5, empty: str = "mask") -> PrototypeGrid:
    """Mean embedding per valence-arousal class, L2-normalised.

    Parameters
    ----------
    embeddings : array-like, shape (n, n_features)
        Embeddings from a fitted model (e.g. the pooled token of a transformer).
    va : array-like, shape (n, 2)
        Valence and arousal of each sample in the common space [-1, 1].
    n_bins : int
        Bins per axis.
    empty : {"mask", "raise"}
        What to do with classes that got no sample: keep an all-zero row and mark the class absent
        in ``present`` (exclude it from the alignment loss with that mask), or raise.

    Returns
    -------
    PrototypeGrid

    Notes
    -----
    Deterministic: sums are accumulated in float64 in sample order, so the same input gives the
    same prototypes bit for bit. An embedding that averages to zero in a bin cannot be normalised
    and raises.
    """
    if empty not in ("mask", "raise"):
        raise ValueError(f"Invalid value for the 'empty' parameter. Allowed values are 'mask', 'raise', but got {empty!r}.")
    emb = check_ndim(np.asarray(embeddings, dtype=np.float64), 2, "embeddings", "(n, n_features)")
    check_finite(emb, "embeddings")
    labels = va_bins(va, n_bins)
    if len(labels) != len(emb):
        raise ValueError(f"Got {len(emb)} embeddings but {len(labels)} valence-arousal points.")
    n_classes = n_bins**2
    counts = np.bincount(labels, minlength=n_classes)
    if empty == "raise" and (counts == 0).any():
        missing = np.flatnonzero(counts == 0).tolist()
        raise ValueError(f"Classes {missing} of the {n_bins}x{n_bins} grid have no sample.")
    sums = np.zeros((n_classes, emb.shape[1]))
    np.add.at(sums, labels, emb)
    present = counts > 0
    means = sums[present] / counts[present, None]
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError("The mean embedding of a class is exactly zero and has no direction.")
    protos = np.zeros_like(sums)
    protos[present] = means / norms
    protos = protos.astype(np.float32)
    protos.setflags(write=False)
    return PrototypeGrid(prototypes=protos, counts=counts, n_bins=n_bins)
