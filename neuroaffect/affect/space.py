"""Labels of any dataset in the common valence-arousal-dominance space."""

from __future__ import annotations

import numpy as np

from .categories import DIMS, _dim_index, categories_to_vad
from .scales import as_scale


def common_vad(data, dims=DIMS, category_rating: str = "emotion", mapping=None) -> np.ndarray:
    """Valence/arousal/dominance of every trial or window, in the common space [-1, 1].

    Parameters
    ----------
    data : EEGTrials or WindowTokens
        Anything with ``ratings`` (n, n_ratings), ``rating_names`` and ``scales``.
    dims : sequence of {"valence", "arousal", "dominance"}
        Dimensions to return, in this order.
    category_rating : str
        Name of the categorical rating used when ``data`` has no numeric rating of a requested
        dimension (SEED and SEED-IV call it ``"emotion"``).
    mapping : dict of str to str, optional
        Category -> emotion term, passed to :func:`~neuroaffect.affect.categories_to_vad`.

    Returns
    -------
    vad : ndarray, shape (n, n_dims)
        Numeric ratings normalised with their declared scales; categorical labels placed at the
        centres of the matching emotion terms (an approximation, see
        :mod:`neuroaffect.affect.categories`).

    Raises
    ------
    ValueError
        If a dimension is neither rated numerically nor derivable from a categorical rating.
    """
    cols = _dim_index(dims)
    names = tuple(data.rating_names)
    out = np.empty((len(data.ratings), len(cols)))
    for j, c in enumerate(cols):
        dim = DIMS[c]
        if dim in names:
            out[:, j] = as_scale(data.scales[dim]).normalize(data.ratings[:, names.index(dim)])
        elif category_rating in names:
            scale = as_scale(data.scales[category_rating])
            codes = data.ratings[:, names.index(category_rating)]
            out[:, j] = categories_to_vad(codes, scale, dims=(dim,), mapping=mapping)[:, 0]
        else:
            raise ValueError(
                f"No {dim!r} rating and no categorical {category_rating!r} rating to derive it from; "
                f"these data have ratings {names}."
            )
    return out
