"""Synthetic data with known ground truth, in the exact layouts of the public datasets.

EEG: :func:`simulate_trials` (in memory) and ``write_deap`` / ``write_seed`` / ``write_seed_iv`` /
``write_dreamer`` (files readable by :mod:`neuroaffect.io`), with affect effects of the sizes given
by :class:`EffectSizes`. The fMRI simulator lives in :mod:`neuroaffect.simulate.fmri` and is not
imported here (import it explicitly).
"""

from .datasets import (
    SEED_AFFECT,
    SEED_IV_AFFECT,
    simulate_trials,
    write_deap,
    write_dreamer,
    write_seed,
    write_seed_iv,
)
from .eeg import BANDS, EffectSizes, SubjectModel

__all__ = [
    "BANDS",
    "SEED_AFFECT",
    "SEED_IV_AFFECT",
    "EffectSizes",
    "SubjectModel",
    "simulate_trials",
    "write_deap",
    "write_dreamer",
    "write_seed",
    "write_seed_iv",
]
