"""Affect representations: rating scales, a common VAD space, emotion categories, valence-arousal grids.

Torch-dependent parts (:mod:`neuroaffect.affect.prototypes`) and plotting
(:mod:`neuroaffect.affect.plotting`) are imported from their modules, not here, and the
cross-dataset evaluation (scikit-learn, the CV runner) loads on first use, so that importing this
package (which every ``EEGTrials`` does, for its rating scales) stays cheap.
"""

from .categories import (
    DATASET_TERMS,
    DEFAULT_CATEGORIES,
    CategoryMixture,
    categories_to_vad,
    category_centre,
    category_probabilities,
    category_table,
    vad_to_categories,
)
from .grid import PrototypeGrid, va_bin_centres, va_bin_edges, va_bins, va_prototypes
from .scales import SCALES, RatingScale, as_scale, from_common_space, get_scale, to_common_space
from .space import common_vad

__all__ = [
    "DATASET_TERMS", "DEFAULT_CATEGORIES", "SCALES", "CategoryMixture", "PrototypeGrid",
    "RatingScale", "as_scale", "categories_to_vad", "category_centre", "category_probabilities",
    "category_table", "common_vad", "cross_dataset_cv", "cross_dataset_evaluate", "from_common_space", "get_scale",
    "to_common_space", "va_bin_centres", "va_bin_edges", "va_bins", "va_prototypes", "vad_to_categories",
]


def __getattr__(name):
    if name in ("cross_dataset_cv", "cross_dataset_evaluate"):
        from . import cross_dataset

        return getattr(cross_dataset, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
