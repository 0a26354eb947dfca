"""Trial keys ``"subject/session/trial"``: the unit that no split may cut.

``"%"`` and ``"/"`` inside ids are escaped as ``%25`` and ``%2F``, so every key splits back into
exactly its three ids whatever they contain.
"""

from __future__ import annotations

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
