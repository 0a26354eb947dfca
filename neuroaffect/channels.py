"""Electrode names and positions.

Names are normalised to MNE's ``standard_1005`` spelling (``FP1`` -> ``Fp1``, ``FCZ`` -> ``FCz``) and
positions come from that montage, in metres, head coordinates. The two cerebellar sites of the
Neuroscan caps used by SEED (``CB1``, ``CB2``) are not part of the 10-05 system; they sit one row
below O1/O2 and are given the positions of the 10-05 sites ``I1``/``I2`` (an approximation, stated
in every place that uses it).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

import numpy as np

logger = logging.getLogger("neuroaffect")

#: Extra electrodes that are not in the 10-05 montage, and the 10-05 site used for their position.
EXTRA_SITES = {"CB1": "I1", "CB2": "I2"}

#: Old 10-20 names and the 10-05 names of the same sites. The montage also lists the old names (at
#: the same positions), so they are mapped explicitly: otherwise ``T3`` and ``T7`` would pass as
#: two different electrodes.
OLD_NAMES = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}

#: Reference suffixes some recorders append (``"Fp1-REF"``, TUH's ``"FP1-LE"`` / ``"FP1-AR"``): the
#: channel is that electrode against a reference, so the suffix is dropped. Any other ``"X-Y"`` is a
#: bipolar derivation (the difference of two electrodes) and is refused.
REFERENCE_SUFFIXES = ("REF", "A1", "A2", "M1", "M2", "A1A2", "M1M2", "LE", "AR", "AVG", "CAR")

#: Names of channels that are not scalp EEG (after an optional type prefix such as "ECG "), as
#: recorders write them: heart, eyes, muscles, triggers, breathing, skin conductance, auxiliaries.
NON_EEG = re.compile(
    r"(ECG|EKG|EOG|HEOG|VEOG|[LR]EOG|EMG|STATUS|STI\d*|TRIG(GER)?|EVENT|RESP|GSR|EDA|PLETH|PULSE|"
    r"SPO2|TEMP|PHOTIC|EXG\d*|MISC\d*|HR|BP|ERG)\b.*",
    re.IGNORECASE,
)
#: Type prefixes some recorders put before the name ("EEG Fp1", "ECG ECG" in EDF files).
TYPE_PREFIX = re.compile(r"(EEG|ECG|EKG|EOG|EMG|RESP|MISC|STIM)\s+", re.IGNORECASE)


def standard_montage_name(system: str = "1005") -> str:
    """The name of MNE's template montage of the 10-``system`` system in the installed MNE.

    MNE 1.12 renamed the templates (``standard_1005`` -> ``colin27_1005``, same positions) and warns
    with a ``FutureWarning`` on the old names; the new name is used where the installed MNE has it,
    the old one otherwise, so no deprecation warning reaches the user.

    Parameters
    ----------
    system : {"1005", "1020"}

    Returns
    -------
    name : str
        ``"colin27_<system>"`` or ``"standard_<system>"``.
    """
    import mne

    new = f"colin27_{system}"
    return new if new in mne.channels.get_builtin_montages() else f"standard_{system}"


@lru_cache(maxsize=1)
def _standard_positions() -> dict[str, np.ndarray]:
    import mne

    montage = mne.channels.make_standard_montage(standard_montage_name("1005"))
    return {name: np.asarray(pos, dtype=float) for name, pos in montage.get_positions()["ch_pos"].items()}


@lru_cache(maxsize=1)
def _upper_to_standard() -> dict[str, str]:
    lookup = {name.upper(): name for name in _standard_positions()}
    lookup.update({name: name for name in EXTRA_SITES})
    # Old 10-20 names still found in files; always mapped (the montage has them too, see OLD_NAMES).
    lookup.update(OLD_NAMES)
    return lookup


def normalize_ch_names(ch_names, *, source: str = "ch_names") -> list[str]:
    """Return the standard 10-05 spelling of each electrode name.

    Parameters
    ----------
    ch_names : sequence of str
        Electrode names in any case (``"FP1"``, ``"fp1"``, ``"Fp1"``), optionally with an ``"EEG "``
        prefix or a reference suffix (``"-REF"``, ``"-A1"``, ``"-LE"``, ...: see
        ``REFERENCE_SUFFIXES``) as written by some recorders. Old 10-20 names (``T3``, ``T4``,
        ``T5``, ``T6``) become their 10-05 names (``T7``, ``T8``, ``P7``, ``P8``).
    source : str
        What to name in the error message (a file or parameter).

    Returns
    -------
    names : list of str
        Standard names, in the same order.

    Raises
    ------
    ValueError
        If a name is not in the 10-05 montage (nor one of ``EXTRA_SITES``), is a bipolar derivation
        such as ``"T7-P7"``, or names repeat (also through an old name: ``["T3", "T7"]``).
    """
    ch_names = list(ch_names)
    lookup = _upper_to_standard()
    out, unknown, bipolar = [], [], []
    for raw in ch_names:
        key = str(raw).strip().upper()
        if key.startswith("EEG "):
            key = key[4:].strip()
        if "-" in key:
            head, _, tail = key.partition("-")
            if tail.strip() in REFERENCE_SUFFIXES:
                key = head.strip()
            elif head.strip() in lookup and tail.strip() in lookup:
                bipolar.append(str(raw))
                continue
        if key in lookup:
            out.append(lookup[key])
        else:
            unknown.append(str(raw))
    if bipolar:
        raise ValueError(
            f"Bipolar channel(s) in {source}: {bipolar}. A channel 'X-Y' is the difference of two "
            f"electrodes and has no single position; use referential channels or drop these. "
            f"Recognised reference suffixes: {list(REFERENCE_SUFFIXES)}; if Y is the common "
            f"reference of every channel (e.g. 'Fp1-Cz'), rename the channels first (e.g. "
            f"read_recording(..., rename={{'Fp1-Cz': 'Fp1'}}))."
        )
    if unknown:
        raise ValueError(
            f"Unknown channel name(s) in {source}: {unknown}. Expected names of the standard 10-05 "
            f"montage (e.g. 'Fp1', 'AF3', 'Cz') or {sorted(EXTRA_SITES)}; pick EEG channels only "
            f"or rename them first."
        )
    duplicates = sorted({name for name in out if out.count(name) > 1})
    if duplicates:
        given = [str(raw) for raw, name in zip(ch_names, out, strict=True) if name in duplicates]
        raise ValueError(
            f"Repeated channel name(s) in {source}: {duplicates} (given as {given}; old 10-20 names "
            f"count as their 10-05 names: {OLD_NAMES})."
        )
    return out


def pick_eeg_channels(ch_names, *, source: str = "ch_names") -> tuple[list[int], list[str]]:
    """The scalp EEG electrodes among a file's channels, leaving the others out with one log line.

    Channels left out: non-EEG channels (ECG, EOG, EMG, Status, triggers, ...: see ``NON_EEG``,
    also after a type prefix such as ``"ECG ECG"``) and bipolar derivations (``"T7-P7"``, and
    ``"A2-A1"``, one reference site against the other: a difference of two electrodes has no
    single position). Every other name must be an electrode
    (see :func:`normalize_ch_names`, which handles prefixes, reference suffixes and old names).

    Parameters
    ----------
    ch_names : sequence of str
        The channel names as the file writes them.
    source : str
        What to name in the log line and in errors (a file or parameter).

    Returns
    -------
    picks : list of int
        Indices of the EEG electrodes in ``ch_names``.
    names : list of str
        Their standard 10-05 names.
    """
    lookup = _upper_to_standard()
    picks, dropped = [], []
    for i, raw in enumerate(ch_names):
        key = str(raw).strip()
        bare = TYPE_PREFIX.sub("", key, count=1)
        head, dash, tail = bare.upper().partition("-")
        head, tail = head.strip(), tail.strip()
        # "A2-A1": one reference site against another (linked-ear recordings keep it), not EEG.
        bipolar = dash and (
            (head in REFERENCE_SUFFIXES and tail in REFERENCE_SUFFIXES)
            or (tail not in REFERENCE_SUFFIXES and (head in lookup or tail in lookup))
        )
        if NON_EEG.fullmatch(bare) or (TYPE_PREFIX.match(key) and not key.upper().startswith("EEG")) or bipolar:
            dropped.append(str(raw))
        else:
            picks.append(i)
    names = normalize_ch_names([ch_names[i] for i in picks], source=source)
    if dropped:
        logger.info("%s: left out %d non-EEG or bipolar channel(s): %s", source, len(dropped), ", ".join(dropped))
    return picks, names


def ch_positions(ch_names) -> np.ndarray:
    """Positions of standard electrode names.

    Parameters
    ----------
    ch_names : sequence of str
        Names as returned by :func:`normalize_ch_names`.

    Returns
    -------
    positions : ndarray, shape (n_channels, 3)
        Head-coordinate positions in metres.
    """
    positions = _standard_positions()
    names = normalize_ch_names(ch_names)
    return np.stack([positions[EXTRA_SITES.get(name, name)] for name in names])


def make_montage(ch_names):
    """An ``mne.channels.DigMontage`` for ``ch_names`` (extra sites placed as documented above)."""
    import mne

    names = normalize_ch_names(ch_names)
    return mne.channels.make_dig_montage(
        ch_pos=dict(zip(names, ch_positions(names), strict=True)), coord_frame="head"
    )
