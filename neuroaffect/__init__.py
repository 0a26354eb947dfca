"""neuroaffect: decode affect and meaning from EEG and fMRI, with leakage-free evaluation.

Importing the package is cheap: heavy dependencies (MNE, nilearn, braindecode, torch) load in the
modules that use them.
"""

from ._logging import set_log_level
from .affect.scales import RatingScale
from .trials import EEGTrials

__version__ = "0.2.0"

__all__ = ["EEGTrials", "RatingScale", "__version__", "set_log_level"]
