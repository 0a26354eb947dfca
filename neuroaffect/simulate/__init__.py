"""Synthetic data with known ground truth, in the exact layouts of the public datasets.

EEG: :func:`simulate_trials` (in memory) and ``write_deap`` / ``write_seed`` / ``write_seed_iv`` /
``write_dreamer`` (files readable by :mod:`neuroaffect.io`), with affect effects of the sizes given
by :class:`EffectSizes` and the label / subject structure of :class:`StudyDesign` (:data:`REALISTIC`:
like real studies, with ``EffectSizes.realistic()`` and few trials). The fMRI simulator lives in :mod:`neuroaffect.simulate.fmri` and is not
imported here (import it explicitly).
"""

from .datasets import REALISTIC, SEED_AFFECT, SEED_IV_AFFECT, StudyDesign, simulate_trials
from .eeg import BANDS, EffectSizes, SubjectModel
from .writers import write_deap, write_dreamer, write_seed, write_seed_iv

__all__ = [
    "BANDS",
    "REALISTIC",
    "SEED_AFFECT",
    "SEED_IV_AFFECT",
    "EffectSizes",
    "StudyDesign",
    "SubjectModel",
    "simulate_trials",
    "write_deap",
    "write_dreamer",
    "write_seed",
    "write_seed_iv",
]
