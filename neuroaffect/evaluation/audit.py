"""The leakage audit: what a train/test split shares, checked against what its protocol promises.

:func:`audit_split` measures shared trials and overlapping windows (:class:`SplitAudit`);
:func:`check_split` raises :class:`LeakageError` when a leakage-free split leaks, or when a held-out
unit (subject, session, stimulus) is on both sides. :func:`read_split_file` reads splits made by
other tools, and :func:`check_index_splits` validates precomputed (train, test) indices.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .._keys import _factorize


class LeakageError(RuntimeError):
    """A split put windows of one trial (or overlapping windows) in both train and test."""


@dataclass(frozen=True)
class SplitAudit:
    """What a train/test split shares.

    Attributes
    ----------
    n_train_windows, n_test_windows : int
    n_train_trials, n_test_trials : int
    shared_trials : int
        Trials with windows on both sides.
    leaked_test_fraction : float
        Fraction of test windows whose trial also has windows in train.
    overlapping_test_fraction : float
        Fraction of test windows whose sample span ``[start, stop)`` overlaps a training window of
        the same trial.
    """

    n_train_windows: int
    n_test_windows: int
    n_train_trials: int
    n_test_trials: int
    shared_trials: int
    leaked_test_fraction: float
    overlapping_test_fraction: float

    @property
    def clean(self) -> bool:
        return self.shared_trials == 0 and self.overlapping_test_fraction == 0

    def to_dict(self) -> dict:
        return asdict(self)


def audit_split(trial_key, start, stop, train, test) -> SplitAudit:
    """Measure how much a split's test windows share with its training windows.

    Parameters
    ----------
    trial_key : array-like, shape (n_windows,)
        The trial of each window: its key (``tokens.trial_key``) or any other trial id, e.g. the
        integer ``tokens.metadata["trial_code"]`` (windows with equal ids share a trial).
    start, stop : array-like of int, shape (n_windows,)
        Window spans in samples within their trial (``stop`` exclusive).
    train, test : array-like of int
        Indices of the training and test windows.

    Returns
    -------
    SplitAudit
    """
    keys = np.asarray(trial_key)
    keys = _factorize(keys if keys.dtype.kind in "iu" else keys.astype(str))  # the work is on integer codes
    start, stop = np.asarray(start), np.asarray(stop)
    train, test = np.asarray(train, dtype=int), np.asarray(test, dtype=int)
    train_trials, test_trials = np.unique(keys[train]), np.unique(keys[test])
    shared = np.intersect1d(train_trials, test_trials)
    leaked = np.isin(keys[test], shared)
    overlapping = np.zeros(len(test), dtype=bool)
    for trial in shared:
        tr = train[keys[train] == trial]
        te_pos = np.flatnonzero(keys[test] == trial)
        order = np.argsort(start[tr], kind="stable")
        tr_start, tr_stop_max = start[tr][order], np.maximum.accumulate(stop[tr][order])
        # A training window overlaps [s, e) iff some train start < e has its stop > s.
        n_before = np.searchsorted(tr_start, stop[test[te_pos]], side="left")
        has = n_before > 0
        overlapping[te_pos[has]] = tr_stop_max[n_before[has] - 1] > start[test[te_pos[has]]]
    n_test = max(len(test), 1)
    return SplitAudit(
        n_train_windows=len(train), n_test_windows=len(test),
        n_train_trials=len(train_trials), n_test_trials=len(test_trials),
        shared_trials=len(shared), leaked_test_fraction=float(leaked.sum() / n_test),
        overlapping_test_fraction=float(overlapping.sum() / n_test),
    )


def check_split(trial_key, start, stop, train, test, *, leakage_free=True, where="split",
                held_out=None) -> SplitAudit:
    """Audit a split; raise :class:`LeakageError` if it leaks and ``leakage_free`` is claimed.

    Parameters
    ----------
    trial_key : array-like of str, shape (n_windows,)
    start, stop : array-like of int, shape (n_windows,)
        Window spans in samples within their trial (``stop`` exclusive).
    train, test : array-like of int
        Indices of the training and test windows.
    leakage_free : bool, default=True
        Whether the split claims to keep whole trials on one side (then any shared trial or
        overlapping window raises).
    where : str, default="split"
        Names the split in error messages.
    held_out : dict of str to array-like, optional
        Units the protocol holds out as a whole, each mapped to one id per window, e.g.
        ``{"subject": tokens.subject}`` for leave-one-subject-out. An id present on both sides
        raises :class:`LeakageError`, whatever ``leakage_free`` says (the trial keys alone cannot
        show that a subject was trained on, e.g. when an id contains ``"/"``).

    Returns
    -------
    SplitAudit

    Raises
    ------
    LeakageError
        If the split shares a trial (or overlapping windows) while ``leakage_free``, or shares a
        unit of ``held_out``.
    """
    train_idx, test_idx = np.asarray(train, dtype=int), np.asarray(test, dtype=int)
    for unit, ids in (held_out or {}).items():
        ids = np.asarray(ids).astype(str)
        if len(ids) != len(trial_key):
            raise ValueError(
                f"held_out[{unit!r}] has {len(ids)} ids but there are {len(trial_key)} windows; "
                "expected one id per window."
            )
        shared_units = np.intersect1d(ids[train_idx], ids[test_idx])
        if len(shared_units):
            raise LeakageError(
                f"{where}: {len(shared_units)} {unit}(s) have windows in both train and test "
                f"(first: {str(shared_units[0])!r}); this protocol must hold out whole {unit}s."
            )
    audit = audit_split(trial_key, start, stop, train, test)
    if leakage_free and not audit.clean:
        keys = np.asarray(trial_key).astype(str)
        shared = np.intersect1d(keys[np.asarray(train, dtype=int)], keys[np.asarray(test, dtype=int)])
        raise LeakageError(
            f"{where}: {audit.shared_trials} trial(s) have windows in both train and test "
            f"({audit.leaked_test_fraction:.1%} of test windows, {audit.overlapping_test_fraction:.1%} "
            f"overlapping a training window; first trial {str(shared[0])!r}). A leakage-free protocol "
            "must keep whole trials on one side."
        )
    return audit


def check_index_splits(splits, n_windows: int | None, *, what: str = "Invalid value for the 'cv' parameter") -> list[tuple[np.ndarray, np.ndarray]]:
    """Validate precomputed splits: a list of (train, test) integer index arrays into ``n_windows`` windows.

    Parameters
    ----------
    splits : iterable of (array-like of int, array-like of int)
        One (train, test) pair per fold.
    n_windows : int or None
        Number of windows the indices point into (None: indices are only checked to be >= 0).
    what : str, default="Invalid value for the 'cv' parameter"
        Starts the error messages (names the parameter or file).

    Returns
    -------
    list of (ndarray of int, ndarray of int)

    Raises
    ------
    ValueError
        If a fold is not a pair of non-empty 1-D integer arrays with indices in ``[0, n_windows)``,
        or there is no fold.
    """
    out = []
    for fold, pair in enumerate(splits):
        try:
            train, test = pair
        except (TypeError, ValueError):
            raise ValueError(f"{what}: fold {fold} must be a (train, test) pair of index "
                             f"arrays, got {type(pair).__name__}.") from None
        arrays = []
        for side, idx in (("train", train), ("test", test)):
            idx = np.asarray(idx)
            if idx.ndim != 1 or not len(idx) or idx.dtype.kind not in "iu":
                raise ValueError(f"{what}: fold {fold} {side} must be a non-empty 1-D array of "
                                 f"integer window indices, got shape {idx.shape} and dtype {idx.dtype}.")
            if idx.min() < 0 or (n_windows is not None and idx.max() >= n_windows):
                bad = int(idx.min() if idx.min() < 0 else idx.max())
                raise ValueError(f"{what}: fold {fold} {side} indexes window {bad}; expected "
                                 "indices >= 0" + ("." if n_windows is None else
                                                   f" and < {n_windows} (the number of windows)."))
            arrays.append(idx.astype(int))
        out.append((arrays[0], arrays[1]))
    if not out:
        raise ValueError(f"{what}: expected at least one (train, test) fold, got none.")
    return out


def read_split_file(path) -> dict:
    """Read train/test splits made by another tool, to audit them with :func:`audit_split`.

    Two formats, told apart by the file's suffix:

    - JSON (``.json``): ``{"trial_key": [...], "folds": [{"train": [...], "test": [...]}, ...],
      "start": [...], "stop": [...]}``;
    - NumPy (``.npz``): arrays ``trial_key``, ``train_0``, ``test_0``, ``train_1``, ``test_1``, ...
      and optionally ``start`` and ``stop``.

    ``trial_key`` names each window's trial (any string per trial, e.g. ``"subject/session/trial"``),
    shape (n_windows,); ``train``/``test`` are integer indices into those windows; ``start`` and
    ``stop`` (optional, both or neither) are each window's span in samples within its trial
    (``stop`` exclusive), shape (n_windows,).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    dict
        ``trial_key`` (ndarray of str), ``start`` and ``stop`` (ndarray of int, or None when the
        file has none) and ``folds`` (list of (train, test) index arrays).

    Raises
    ------
    ValueError
        If the file cannot be read or does not hold these fields (the message names the file).

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "splits.json"
    >>> _ = path.write_text(json.dumps({"trial_key": ["a", "a", "b", "b"],
    ...                                 "folds": [{"train": [0, 2], "test": [1, 3]}]}))
    >>> splits = read_split_file(path)
    >>> audit_split(splits["trial_key"], [0, 1, 0, 1], [1, 2, 1, 2], *splits["folds"][0]).shared_trials
    2
    """
    import json
    from pathlib import Path

    path = Path(path)
    where = f"split file {str(path)!r}"
    try:
        if path.suffix.lower() == ".json":
            doc = json.loads(path.read_text())
            if not isinstance(doc, dict) or not isinstance(doc.get("folds"), list):
                raise ValueError("expected a JSON object with 'trial_key' and 'folds' (a list of "
                                 "{'train': [...], 'test': [...]})")
            folds = []
            for i, fold in enumerate(doc["folds"]):
                if not isinstance(fold, dict) or not {"train", "test"} <= set(fold):
                    raise ValueError(f"fold {i} must be an object with 'train' and 'test' index lists")
                folds.append((np.asarray(fold["train"]), np.asarray(fold["test"])))
            fields = {k: doc.get(k) for k in ("trial_key", "start", "stop")}
        elif path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as data:
                fields = {k: data[k] if k in data.files else None for k in ("trial_key", "start", "stop")}
                n = sum(1 for k in data.files if k.startswith("train_"))
                missing = [f"{side}_{i}" for i in range(n) for side in ("train", "test") if f"{side}_{i}" not in data.files]
                if missing:
                    raise ValueError(f"missing array(s) {missing}; expected train_0, test_0, train_1, test_1, ...")
                folds = [(data[f"train_{i}"], data[f"test_{i}"]) for i in range(n)]
        else:
            raise ValueError(f"unknown suffix {path.suffix!r}; expected .json or .npz")
    except FileNotFoundError:
        raise ValueError(f"{where}: no such file.") from None
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{where}: cannot be read ({err}).") from None
    except ValueError as err:
        raise ValueError(f"{where}: {err}.") from None
    if fields["trial_key"] is None:
        raise ValueError(f"{where}: no 'trial_key' (one trial key per window) in it.")
    keys = np.asarray(fields["trial_key"]).astype(str)
    if keys.ndim != 1:
        raise ValueError(f"{where}: 'trial_key' must be 1-D (one key per window), got shape {keys.shape}.")
    if (fields["start"] is None) != (fields["stop"] is None):
        raise ValueError(f"{where}: give both 'start' and 'stop' (window spans) or neither.")
    spans = {}
    for name in ("start", "stop"):
        if fields[name] is not None:
            spans[name] = np.asarray(fields[name])
            if spans[name].shape != keys.shape or spans[name].dtype.kind not in "iu":
                raise ValueError(f"{where}: '{name}' must hold one integer per window ({len(keys)}), got shape "
                                 f"{spans[name].shape} and dtype {spans[name].dtype}.")
    folds = check_index_splits(folds, len(keys), what=where)
    return {"trial_key": keys, "start": spans.get("start"), "stop": spans.get("stop"), "folds": folds}
