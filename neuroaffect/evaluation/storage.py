"""Resume storage of the cross-validation runner: one file per finished job, keyed by content hashes.

Each (permutation, scope, fold) job of :func:`~neuroaffect.evaluation.cross_validate_subjects` is
stored atomically as ``<results_dir>/folds/<scope>-p<perm>-f<fold>-<key>.npz``. The key hashes
the estimator's type and parameter values (:func:`_estimator_key`), the splitter, the target, the
seed, the package version, the scope's data (:func:`_data_hash`) and the fold's train and test
indices, so a re-run with the same inputs reuses the file and any change recomputes the job.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import joblib
import numpy as np
from sklearn.base import BaseEstimator

from .._atomic import atomic_path

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _estimator_key(estimator) -> str:
    """A hash of the estimator's type and parameter values (not their reprs), stable across processes.

    Part of the resume-cache key: estimators differing in any parameter value, including the
    middle of a large array that ``repr`` would elide, get different keys.
    """
    return joblib.hash(_canonical(estimator), hash_name="sha1")


def _canonical(value):
    """Stand-in for a parameter value that pickles the same for equal values in any process.

    Estimators (anything with ``get_params``) become their type and canonical parameters, so nested
    estimators hash by their parameters, never by identity; containers are canonicalised
    recursively (dicts with sorted keys); anything else is hashed by content with
    :func:`joblib.hash` (arrays by their bytes), or, if it cannot be pickled, by its repr without
    memory addresses.
    """
    if isinstance(value, BaseEstimator) or (not isinstance(value, type) and callable(getattr(value, "get_params", None))):
        try:
            params = value.get_params(deep=False)
        except TypeError:
            params = None
        if isinstance(params, dict):
            cls = type(value)
            return ("estimator", cls.__module__, cls.__qualname__,
                    [(str(k), _canonical(v)) for k, v in sorted(params.items(), key=lambda kv: str(kv[0]))])
    if isinstance(value, dict):
        items = [(_canonical(k), _canonical(v)) for k, v in value.items()]
        return ("dict", type(value).__qualname__, sorted(items, key=lambda kv: repr(kv[0])))
    if isinstance(value, list | tuple):
        return (type(value).__qualname__, [_canonical(v) for v in value])
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return value
    try:
        return ("hash", type(value).__module__, type(value).__qualname__, joblib.hash(value, hash_name="sha1"))
    except Exception:  # not picklable (e.g. a lambda): fall back to its repr, without memory addresses
        return ("repr", _ADDRESS.sub("", repr(value)))


def _hash(*parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode())
        h.update(b"\0")
    return h.hexdigest()


def _data_hash(tokens, idx) -> str:
    h = hashlib.sha256()
    for arr in (tokens.X[idx], tokens.ratings[idx], tokens.start[idx], tokens.stop[idx]):
        arr = np.ascontiguousarray(arr)
        h.update(str((arr.dtype.str, arr.shape)).encode())
        h.update(arr.tobytes())
    h.update("\n".join(np.asarray(tokens.trial_key)[idx].astype(str).tolist()).encode())
    h.update(repr((tokens.rating_names, list(tokens.ch_names), tokens.band_names, float(tokens.sfreq))).encode())
    return h.hexdigest()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(name))


def _save_npz_atomic(path: Path, arrays: dict) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})


def _load_npz(path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}
