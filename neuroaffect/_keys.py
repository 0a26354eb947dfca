"""Trial keys ``"subject/session/trial"``: the unit that no split may cut.

``"%"`` and ``"/"`` inside ids are escaped as ``%25`` and ``%2F``, so every key splits back into
exactly its three ids whatever they contain.
"""

from __future__ import annotations

import re

import numpy as np


def _escape(value) -> str:
    return str(value).replace("%", "%25").replace("/", "%2F")


def _unescape(part: str) -> str:
    return part.replace("%2F", "/").replace("%25", "%")


def make_trial_keys(subject, session, trial) -> np.ndarray:
    """Keys ``"subject/session/trial"`` (ids escaped), shape (n,), from three id arrays of shape (n,)."""
    return np.array([f"{_escape(s)}/{_escape(se)}/{_escape(t)}"
                     for s, se, t in zip(subject, session, trial, strict=True)], dtype=str)


def split_trial_keys(keys) -> list[tuple[str, str, str]] | str:
    """The (subject, session, trial) ids of each key, unescaped; a key that has no three parts is
    returned alone (a ``str``) for the caller's error message."""
    parts = []
    for key in keys:
        split = key.split("/")
        if len(split) != 3:
            return key
        parts.append(tuple(_unescape(p) for p in split))
    return parts


def natural_key(value):
    """Sort key putting ``"s2"`` before ``"s10"`` and ``"2"`` before ``"10"`` (digit runs compare as numbers)."""
    text = str(value)
    parts = tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", text) if t)
    return parts, text


def check_trial_keys(groups, n_samples: int | None = None) -> np.ndarray:
    """``groups`` as a 1-D str array of trial keys (one per window; ``n_samples`` of them when given)."""
    if groups is None:
        raise ValueError(
            "The 'groups' parameter is required: pass the windows' trial keys "
            "(groups=tokens.trial_key) so whole trials stay on one side of every split."
        )
    keys = np.asarray(groups).astype(str)
    if keys.ndim != 1:
        raise ValueError(f"groups must be 1-D (one trial key per window), got shape {keys.shape}.")
    if n_samples is not None and len(keys) != n_samples:
        raise ValueError(f"groups has {len(keys)} entries but X has {n_samples} windows.")
    return keys


def parse_trial_keys(groups) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split trial keys ``"subject/session/trial"`` into subject, session and trial id arrays.

    Parameters
    ----------
    groups : array-like of str, shape (n_windows,)
        Keys as :class:`~neuroaffect.EEGTrials` and the fMRI responses build them (``"%"`` and
        ``"/"`` inside ids escaped as ``%25`` and ``%2F``).

    Returns
    -------
    subject, session, trial : ndarray of str, shape (n_windows,)
        The ids, unescaped.
    """
    keys = check_trial_keys(groups)
    parts = split_trial_keys(keys.tolist())
    if isinstance(parts, str):
        raise ValueError(
            f"groups must be trial keys 'subject/session/trial' (WindowTokens.trial_key; '/' inside an id "
            f"escaped as '%2F'), got {parts!r}."
        )
    subject, session, trial = (np.array(col, dtype=str) for col in zip(*parts, strict=True))
    return subject, session, trial
