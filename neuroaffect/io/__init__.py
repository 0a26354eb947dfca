"""Readers: the public EEG emotion datasets and any recording MNE can read, into :class:`EEGTrials`.

Dataset readers (one module per format): :func:`read_deap`, :func:`read_seed`, :func:`read_seed_iv`,
:func:`read_dreamer`, :func:`read_eegmat` (real EEG, PhysioNet's mental-arithmetic study), and :func:`list_subjects`, which returns lazy per-subject
:class:`SubjectSource` objects (nothing is read until ``source.load()``). Generic readers:
:func:`read_recording` (EDF, BDF, BrainVision, FIF, EEGLAB, ... plus a ratings table) and, for a
BIDS EEG dataset through mne-bids, :func:`read_bids` (one recording), :func:`bids_sources` (the
whole dataset as lazy per-subject :class:`BIDSSubject` objects, for
:func:`~neuroaffect.features.tokens_for_dataset`) and :func:`read_bids_dataset` (all of it at once).
All return signals in volts, with standard 10-05 channel names and ratings on declared scales.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._validation import check_option
from ..trials import EEGTrials
from . import deap, dreamer, eegmat, seed, seed_iv
from ._common import SubjectSource, select
from .bids import BIDSSubject, bids_sources, read_bids, read_bids_dataset
from .deap import read_deap
from .dreamer import read_dreamer
from .eegmat import read_eegmat
from .recording import read_recording
from .seed import read_seed
from .seed_iv import read_seed_iv

DATASETS = ("deap", "seed", "seed_iv", "dreamer", "eegmat")
_MODULES = {"deap": deap, "seed": seed, "seed_iv": seed_iv, "dreamer": dreamer, "eegmat": eegmat}
#: dataset -> function(SubjectSource, **options) -> EEGTrials (used by SubjectSource.load).
READERS = {name: module.read_subject for name, module in _MODULES.items()}
_OPTIONS = {
    "deap": (),
    "seed": ("drop_cerebellar",),
    "seed_iv": ("sfreq", "drop_cerebellar", "n_trials"),
    "dreamer": (),
    "eegmat": (),
}


def list_subjects(dataset: str, data_dir, subjects=None, **reader_kwargs) -> list[SubjectSource]:
    """The subjects of a dataset folder, each with its files and a lazy ``load()``.

    Parameters
    ----------
    dataset : {"deap", "seed", "seed_iv", "dreamer", "eegmat"}
    data_dir : path-like
        As for the dataset's ``read_*`` function.
    subjects : int, str or list, optional
        Subject ids to keep (unknown ids raise ``ValueError`` listing the available ones).
    **reader_kwargs
        Options of the reader (SEED: ``drop_cerebellar``; SEED-IV: ``sfreq`` (required),
        ``drop_cerebellar``, ``n_trials``: see :func:`read_seed_iv`).

    Returns
    -------
    sources : list of SubjectSource
        In subject order.
    """
    check_option("dataset", dataset, DATASETS)
    unknown = sorted(set(reader_kwargs) - set(_OPTIONS[dataset]))
    if unknown:
        raise TypeError(
            f"Unknown option(s) {unknown} for the {dataset} reader; allowed: {list(_OPTIONS[dataset])}."
        )
    if dataset == "seed_iv" and "sfreq" not in reader_kwargs:
        raise TypeError(
            "SEED-IV needs an explicit sfreq (the documented rate of eeg_raw_data differs between "
            "sources: 200 Hz vs 1000 Hz); pass sfreq=..."
        )
    found = _MODULES[dataset].find_subjects(data_dir)
    chosen = select(found, subjects, dataset, data_dir)
    options = tuple(sorted(reader_kwargs.items()))
    return [SubjectSource(s, tuple(found[s]), dataset, options) for s in chosen]


def read_sources(sources: Sequence[SubjectSource], *, progress: bool = False) -> EEGTrials:
    """Load several subjects and concatenate them."""
    from .._logging import progress_bar

    parts = [s.load() for s in progress_bar(sources, desc="subjects", disable=not progress, leave=False)]
    return EEGTrials.concatenate(parts)


__all__ = [
    "DATASETS",
    "BIDSSubject",
    "bids_sources",
    "SubjectSource",
    "list_subjects",
    "read_bids",
    "read_bids_dataset",
    "read_deap",
    "read_dreamer",
    "read_eegmat",
    "read_recording",
    "read_seed",
    "read_seed_iv",
    "read_sources",
]
