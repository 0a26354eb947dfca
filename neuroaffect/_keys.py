"""Trial keys ``"subject/session/trial"`` (the unit that no split may cut) and the id table.

``"%"`` and ``"/"`` inside ids are escaped as ``%25`` and ``%2F``, so every key splits back into
exactly its three ids whatever they contain.

The keys are for display, results files, cache keys and the per-window ``groups`` that
scikit-learn routes to estimators. Code that needs a window's subject, session or trial reads the
id table instead (:func:`trial_table`: ``EEGTrials.metadata``, ``WindowTokens.metadata``), whose
integer codes are made once, when the container is built; :func:`keys_table` builds it from keys
where only keys are at hand (the one place they are parsed).
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


# -- the trial table ---------------------------------------------------------------------------
#: The id columns of a trial table: labels (text, as in the keys) and their integer codes.
ID_LABELS = ("subject", "session", "trial")
ID_CODES = ("subject_code", "session_code", "trial_code")


def _factorize(values: np.ndarray) -> np.ndarray:
    """Integer codes 0, 1, ... of ``values`` in order of first appearance (int64)."""
    import pandas as pd

    return np.asarray(pd.factorize(values)[0], dtype=np.int64)


def _nested_codes(outer: np.ndarray, inner_labels: np.ndarray) -> np.ndarray:
    """One code per distinct (outer code, inner label) pair, in order of first appearance."""
    inner = _factorize(inner_labels)
    width = int(inner.max(initial=-1)) + 1
    return _factorize(outer * max(width, 1) + inner)


def _labels(values, n: int | None, name: str) -> np.ndarray:
    """Ids as text, each ``str(value)`` exactly as :func:`make_trial_keys` writes it (before escaping)."""
    values = np.asarray(values)
    if values.ndim != 1 or (n is not None and len(values) != n):
        raise ValueError(f"{name} must have shape ({n},) (one id per row), got {values.shape}.")
    if values.dtype.kind == "U":
        return values.astype(object)
    return np.array([str(v) for v in values], dtype=object)


def trial_table(subject, session, trial, **columns):
    """The id table of a container: one row per trial (or window), labels and integer codes.

    Parameters
    ----------
    subject, session, trial : array-like, shape (n,)
        Ids of each row; kept as text (``str(value)``, as in the trial keys).
    **columns : array-like, shape (n,)
        Further columns, appended as given (e.g. the windows' ``start`` and ``stop``).

    Returns
    -------
    table : pandas.DataFrame, shape (n, 6 + len(columns))
        Columns ``subject``, ``session``, ``trial`` (text labels), then ``subject_code``,
        ``session_code``, ``trial_code`` (int64, numbered from 0 in order of first appearance), then
        ``columns``. Sessions and trials are nested: ``session_code`` numbers the distinct (subject,
        session) pairs and ``trial_code`` the distinct (subject, session, trial) triples, so one
        code names one session (one trial) across the whole table, as one trial key does.
    """
    import pandas as pd

    subject = _labels(subject, None, "subject")
    n = len(subject)
    session, trial = _labels(session, n, "session"), _labels(trial, n, "trial")
    subject_code = _factorize(subject)
    session_code = _nested_codes(subject_code, session)
    trial_code = _nested_codes(session_code, trial)
    extra = {}
    for name, values in columns.items():
        values = np.asarray(values)
        if values.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},) (one value per row), got {values.shape}.")
        extra[name] = values
    return pd.DataFrame({"subject": subject, "session": session, "trial": trial, "subject_code": subject_code,
                         "session_code": session_code, "trial_code": trial_code, **extra})


def keys_table(groups, n_samples: int | None = None, **columns):
    """The id table of trial keys (:func:`trial_table` of their parsed ids; keys checked as
    :func:`check_trial_keys`), for containers and callers that hold only the keys."""
    subject, session, trial = parse_trial_keys(check_trial_keys(groups, n_samples))
    return trial_table(subject, session, trial, **columns)


def is_trial_table(value) -> bool:
    """Whether ``value`` is a table with the id labels and codes (:func:`trial_table`)."""
    columns = getattr(value, "columns", None)
    return columns is not None and set(ID_LABELS + ID_CODES) <= set(columns)


def as_trial_table(groups, n_samples: int | None = None):
    """``groups`` (trial keys, or a trial table such as ``WindowTokens.metadata``) as a trial table
    with a fresh 0..n-1 index; keys are parsed once here."""
    if is_trial_table(groups):
        if n_samples is not None and len(groups) != n_samples:
            raise ValueError(f"groups has {len(groups)} entries but X has {n_samples} windows.")
        return groups.reset_index(drop=True)
    return keys_table(groups, n_samples)


def table_keys(table) -> np.ndarray:
    """The trial keys ``"subject/session/trial"`` of a trial table's rows (ids escaped)."""
    return make_trial_keys(table["subject"].to_numpy(), table["session"].to_numpy(), table["trial"].to_numpy())


def take_rows(table, index):
    """Rows ``index`` (integer array) of a table, re-indexed 0..k-1; codes are kept as they are."""
    return table.iloc[np.asarray(index, dtype=np.intp)].reset_index(drop=True)


def check_metadata(metadata, n_samples: int | None = None, *, name: str = "metadata"):
    """``metadata`` (one row per sample) as an id table with a fresh 0..n-1 index, for estimators.

    Parameters
    ----------
    metadata : pandas.DataFrame, shape (n_samples, n_columns)
        A trial table (:func:`trial_table`: ``WindowTokens.metadata``, ``EEGTrials.metadata``, or
        the runner's rows of them), whose codes are kept, or any table with a ``subject`` column
        (and optionally ``session`` and ``trial``), whose codes are made here from the labels
        (a missing ``session`` is one session per subject).
    n_samples : int, optional
        The number of rows of X.
    name : str
        The parameter's name, for error messages.

    Returns
    -------
    table : pandas.DataFrame
        ``subject_code`` always; ``session_code`` and ``trial_code`` when ``trial`` was given.
    """
    import pandas as pd

    if not isinstance(metadata, pd.DataFrame):
        raise ValueError(
            f"{name} must be a pandas DataFrame with one row per sample and a 'subject' column "
            f"(e.g. WindowTokens.metadata), got {type(metadata).__name__}.")
    if n_samples is not None and len(metadata) != n_samples:
        raise ValueError(f"{name} has {len(metadata)} rows but X has {n_samples} samples.")
    if is_trial_table(metadata):
        return metadata.reset_index(drop=True)
    if "subject" not in metadata.columns:
        raise ValueError(f"{name} must have a 'subject' column (one subject id per sample); it has "
                         f"{list(map(str, metadata.columns))}.")
    subject = _labels(metadata["subject"].to_numpy(), None, f"{name}['subject']")
    if "trial" in metadata.columns:
        session = metadata["session"].to_numpy() if "session" in metadata.columns else np.zeros(len(subject), int)
        return trial_table(subject, session, metadata["trial"].to_numpy())
    return pd.DataFrame({"subject": subject, "subject_code": _factorize(subject)})


#: Default of the ``groups`` parameters deprecated in 0.2 (removed in 0.3): tells "not passed" from None.
DEPRECATED = "deprecated"


def groups_given(groups) -> bool:
    """Whether a deprecated ``groups`` parameter was passed (not None, not :data:`DEPRECATED`)."""
    return groups is not None and not (isinstance(groups, str) and groups == DEPRECATED)
