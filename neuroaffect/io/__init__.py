"""Readers: the public EEG emotion datasets and any recording MNE can read, into :class:`EEGTrials`.

Dataset readers (one module per format): :func:`read_deap`, :func:`read_seed`, :func:`read_seed_iv`,
:func:`read_dreamer`, :func:`read_eegmat` (real EEG, PhysioNet's mental-arithmetic study), and :func:`list_subjects`, which returns lazy per-subject
:class:`SubjectSource` objects (nothing is read until ``source.load()``). Each dataset reader module
declares what is known about its dataset in one :class:`DatasetSpec` (``SPEC``: name and aliases,
how subjects are found, reader options, ratings, the conventional target, task and protocol); they
form the registry :data:`DATASETS`, which :func:`get_dataset` reads in any spelling ("seed-iv" or
"seed_iv"), and which the recipes and the ``neuroaffect`` command read too. Generic readers:
:func:`read_recording` (EDF, BDF, BrainVision, FIF, EEGLAB, ... plus a ratings table) and, for a
BIDS EEG dataset through mne-bids, :func:`read_bids` (one recording), :func:`bids_sources` (the
whole dataset as lazy per-subject :class:`BIDSSubject` objects, for
:func:`~neuroaffect.features.tokens_for_dataset`) and :func:`read_bids_dataset` (all of it at once).
All return signals in volts, with standard 10-05 channel names and ratings on declared scales.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

from .._validation import check_option
from ..trials import EEGTrials
from . import deap, dreamer, eegmat, seed, seed_iv
from ._common import DatasetSpec, SubjectSource, select
from .bids import BIDSSubject, bids_sources, read_bids, read_bids_dataset
from .deap import read_deap
from .dreamer import read_dreamer
from .eegmat import read_eegmat
from .recording import read_recording
from .seed import read_seed
from .seed_iv import read_seed_iv

#: The dataset registry: name -> :class:`DatasetSpec`, as each reader module declares it (read-only).
DATASETS = MappingProxyType({m.SPEC.name: m.SPEC for m in (deap, seed, seed_iv, dreamer, eegmat)})
#: Every spelling of every dataset -> its spec.
_SPELLINGS = {spelling: spec for spec in DATASETS.values() for spelling in spec.spellings}
#: dataset -> function(SubjectSource, **options) -> EEGTrials (used by SubjectSource.load).
READERS = {name: spec.read_subject for name, spec in DATASETS.items()}


def get_dataset(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of dataset ``name``, in any of its spellings ("seed_iv" or "seed-iv").

    Raises ``ValueError`` listing the accepted names for any other value.
    """
    check_option("dataset", name, tuple(_SPELLINGS))
    return _SPELLINGS[name]


def list_subjects(dataset: str, data_dir, subjects=None, **reader_kwargs) -> list[SubjectSource]:
    """The subjects of a dataset folder, each with its files and a lazy ``load()``.

    Parameters
    ----------
    dataset : {"deap", "seed", "seed_iv", "dreamer", "eegmat"}
        A name of :data:`DATASETS` or an alias (``"seed-iv"``).
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
    spec = get_dataset(dataset)
    unknown = sorted(set(reader_kwargs) - set(spec.options))
    if unknown:
        raise TypeError(
            f"Unknown option(s) {unknown} for the {spec.name} reader; allowed: {list(spec.options)}."
        )
    for option, why in spec.required_options:
        if option not in reader_kwargs:
            raise TypeError(f"{spec.title} needs an explicit {option} ({why}); pass {option}=...")
    found = spec.find_subjects(data_dir)
    chosen = select(found, subjects, spec.name, data_dir)
    options = tuple(sorted(reader_kwargs.items()))
    return [SubjectSource(s, tuple(found[s]), spec.name, options) for s in chosen]


def read_sources(sources: Sequence[SubjectSource], *, progress: bool = False) -> EEGTrials:
    """Load several subjects and concatenate them."""
    from .._logging import progress_bar

    parts = [s.load() for s in progress_bar(sources, desc="subjects", disable=not progress, leave=False)]
    return EEGTrials.concatenate(parts)


__all__ = [
    "DATASETS",
    "BIDSSubject",
    "DatasetSpec",
    "bids_sources",
    "get_dataset",
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
