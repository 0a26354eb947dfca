"""Tokens for a whole dataset, subject by subject, cached in one HDF5 file.

The cache holds one group per subject under ``/subjects``. Each group records a key, a SHA-256 of
every :class:`~neuroaffect.features.Tokenizer` parameter that changes the numbers,
:data:`~neuroaffect.features.FEATURES_VERSION` and what the subject's trials are:

- for a source read from files (:class:`~neuroaffect.io.SubjectSource`, ``BIDSSubject``): the files'
  identity (absolute path, size, modification time in ns and, on request, a hash of their first and
  last MiB), the source's dataset name and reader options (SEED-IV ``sfreq``, ``drop_cerebellar``,
  ...); the files are not read on a hit;
- for trials already in memory (an :class:`~neuroaffect.EEGTrials`, one's own data) and for a
  source without files: a hash of the trials themselves (:func:`trials_key`: signals, baselines,
  sampling rate, channel names, labels, their scales and the ids), so new data under an old subject
  id is never served the old tokens.

A subject is reused only when its key matches exactly; otherwise only that subject is recomputed.

Every stored array carries a SHA-256 of its dtype, shape and values in its ``sha256`` attribute, and
the group's metadata one in ``meta_sha256``; they are checked on every read. An entry that does not
match (a flipped bit on disk, an array overwritten in place) is reported with a :class:`CacheWarning`
naming the file and the entry, and recomputed. Entries written without checksums (by neuroaffect
before they were added) count as stale: they are recomputed silently and dropped from the file.

The file is never modified in place: new groups are written with the still-valid old ones to a
temporary file in the same folder, which then replaces the cache with :func:`os.replace`, so a crash
leaves either the old or the new file, never a partial one. New subjects are flushed every
``flush_interval`` seconds and when the run ends or fails, so an interrupted run resumes where it
stopped. An empty file, or an unreadable HDF5 file or group (truncated, missing datasets), is
reported with a :class:`CacheWarning` naming the file and rebuilt; a file that is not a token cache
at all (any other file that does not start with the HDF5 signature, or an HDF5 file without the
cache's format mark) is never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from urllib.parse import quote

import h5py
import numpy as np

from .._atomic import atomic_path
from .._logging import logger, progress_bar, verbose
from .._validation import FileFormatError, check_file
from ..affect.scales import RatingScale
from .bde import FEATURES_VERSION
from .filters import resolve_bands
from .tokens import WindowTokens

CACHE_FORMAT = "neuroaffect-window-tokens"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_PER_WINDOW = ("X", "ratings", "subject", "session", "trial_key", "start", "stop")
# The id table's other columns (WindowTokens.metadata), stored beside the per-window arrays; groups
# written before they were stored rebuild the table from trial_key when it is first used.
_ID_TABLE = ("trial", "subject_code", "session_code", "trial_code")
# Parameters that change how the work is done, not the numbers.
_NOT_IN_KEY = ("n_jobs",)
# Marks groups whose arrays and metadata carry SHA-256 checksums and the tokenizer settings
# (WindowTokens.features); groups without it are stale.
_INTEGRITY = "sha256+features"


class CacheWarning(UserWarning):
    """A cache file or one of its subjects could not be read, or is corrupt, and is being rebuilt."""


class _StaleEntry(Exception):
    """A group written without checksums, by an older version of the cache."""


class _CorruptEntry(ValueError):
    """A stored array or the group's metadata does not match its checksum."""


@verbose
def tokens_for_dataset(sources, tokenizer, cache=None, progress=True, *, hash_content=False,
                       flush_interval=30.0) -> WindowTokens:
    """BDE tokens of every subject, computed one subject at a time and optionally cached.

    Parameters
    ----------
    sources : EEGTrials, or sequence of SubjectSource or EEGTrials
        Objects with ``subject`` (str), ``files`` (tuple of paths the subject is read from) and
        ``load()`` returning that subject's :class:`~neuroaffect.EEGTrials`, as returned by
        :func:`neuroaffect.io.list_subjects`: only one subject's signals are in memory at a time.
        Or trials already in memory (your own data): an ``EEGTrials`` is split by subject (in order
        of first appearance) and each subject is cached under a hash of its trials
        (:func:`trials_key`). A source whose ``files`` is empty is loaded and keyed the same way.
    tokenizer : Tokenizer
    cache : path-like | None
        HDF5 file to read tokens from and store them in (created with its folder if missing).
        ``None`` computes everything.
    progress : bool
        Show a progress bar over subjects.
    hash_content : bool
        Also hash the first and last MiB of every source file, to notice files replaced with
        identical size and modification time.
    flush_interval : float
        Seconds between writes of newly computed subjects to the cache (it is always written at the
        end, and when the run stops on an error or an interrupt).

    Returns
    -------
    tokens : WindowTokens
        All subjects' windows, in the order of ``sources`` (of an ``EEGTrials``: subject by
        subject, each subject's trials in their order).

    Examples
    --------
    >>> import numpy as np
    >>> from neuroaffect import EEGTrials
    >>> from neuroaffect.features import Tokenizer, tokens_for_dataset
    >>> data = np.random.default_rng(0).normal(0, 1e-5, (4, 3, 512))
    >>> trials = EEGTrials.from_arrays(data, 128.0, ["Fz", "Cz", "Pz"], subject=["a", "a", "b", "b"])
    >>> tokens_for_dataset(trials, Tokenizer(), cache=None, progress=False).X.shape
    (16, 3, 4)
    """
    sources = _as_sources(sources)
    if not sources:
        raise ValueError("sources is empty: there are no subjects to tokenize.")
    names = [str(s.subject) for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"sources name subject(s) {duplicates} more than once.")
    store = None if cache is None else _TokenCache(cache, flush_interval)
    parts, n_cached = [], 0
    bar = progress_bar(sources, desc="BDE tokens", unit="subject", disable=not progress)
    try:
        for source in bar:
            key, trials = None, None
            if store is not None:
                if tuple(getattr(source, "files", None) or ()):
                    key = subject_key(source, tokenizer, hash_content=hash_content)
                else:  # nothing on disk identifies these trials: key them by their content
                    trials = source.load()
                    key = trials_key(trials, tokenizer)
                tokens = store.get(str(source.subject), key)
                if tokens is not None:
                    parts.append(tokens)
                    n_cached += 1
                    bar.set_postfix(cached=n_cached)
                    continue
            tokens = tokenizer.transform(trials if trials is not None else source.load())
            if store is not None:
                store.put(str(source.subject), key, tokens)
            parts.append(tokens)
    finally:
        bar.close()
        if store is not None:
            store.flush()
    logger.info("BDE tokens of %d subject(s): %d computed, %d read from the cache (%s).", len(sources),
                len(sources) - n_cached, n_cached, cache if cache is not None else "none")
    return WindowTokens.concatenate(parts)


class _TrialsSource:
    """One subject of trials already in memory, as a source (no files: keyed by content)."""

    files = ()

    def __init__(self, subject: str, trials):
        self.subject, self.trials, self.dataset = subject, trials, trials.dataset

    def load(self):
        return self.trials


def _as_sources(sources) -> list:
    """``sources`` as a list of sources; ``EEGTrials`` (alone or in the list) split by subject."""
    from ..trials import EEGTrials

    items = [sources] if isinstance(sources, EEGTrials) else list(sources)
    out = []
    for item in items:
        if isinstance(item, EEGTrials):
            subjects = np.asarray(item.subject).astype(str)
            for subject in dict.fromkeys(subjects.tolist()):
                out.append(_TrialsSource(subject, item[np.flatnonzero(subjects == subject)]))
        else:
            out.append(item)
    return out


def _tokenizer_identity(tokenizer) -> dict:
    params = {k: v for k, v in tokenizer.get_params().items() if k not in _NOT_IN_KEY}
    if "bands" in params:
        params["bands"] = [list(b) for b in resolve_bands(params["bands"])]
    return {
        "features_version": FEATURES_VERSION,
        "tokenizer": f"{type(tokenizer).__module__}.{type(tokenizer).__qualname__}",
        "params": params,
    }


def trials_key(trials, tokenizer) -> str:
    """The cache key of trials in memory: a SHA-256 of everything their tokens are made of.

    The samples of every signal and baseline (dtype, shape and bytes), the sampling rate, the
    channel names, the labels (names, values, scales), the subject / session / trial ids, the
    dataset name, the tokenizer's parameters and :data:`~neuroaffect.features.FEATURES_VERSION`:
    any change to one of them gives another key.

    Parameters
    ----------
    trials : EEGTrials
    tokenizer : Tokenizer

    Returns
    -------
    key : str
        64 hexadecimal digits.
    """
    ids = {name: np.asarray(getattr(trials, name)) for name in ("subject", "session", "trial")}
    header = {
        **_tokenizer_identity(tokenizer),
        "content": "trials",
        "sfreq": float(trials.sfreq),
        "ch_names": [str(c) for c in trials.ch_names],
        "dataset": str(trials.dataset),
        "rating_names": [str(n) for n in trials.rating_names],
        "scales": {n: asdict(trials.scales[n]) for n in trials.rating_names},
        "ids": {name: [str(v.dtype), v.astype(str).tolist()] for name, v in ids.items()},
        "n_signals": len(trials.signals),
        "n_baselines": None if trials.baselines is None else len(trials.baselines),
    }
    digest = hashlib.sha256(json.dumps(header, sort_keys=True, default=repr).encode())
    digest.update(_digest(np.asarray(trials.ratings, dtype=float)).encode())
    for signal in [*trials.signals, *(trials.baselines or ())]:
        digest.update(_digest(np.asarray(signal)).encode())
    return digest.hexdigest()


def subject_key(source, tokenizer, *, hash_content=False) -> str:
    """The cache key of one subject.

    A SHA-256 of the subject's files' identity, its dataset name and reader options (e.g. SEED-IV's
    ``sfreq``, ``drop_cerebellar``: they change what ``load()`` returns), the tokenizer's parameters
    and :data:`~neuroaffect.features.FEATURES_VERSION`. ``source`` may be any object with
    ``subject``, ``files`` and ``load()``; a missing ``dataset`` or ``options`` counts as ``None``
    and ``()``.
    """
    options = getattr(source, "options", None) or ()
    options = sorted((options.items() if isinstance(options, dict) else options), key=lambda kv: str(kv[0]))
    identity = {
        **_tokenizer_identity(tokenizer),
        "subject": str(source.subject),
        "dataset": getattr(source, "dataset", None),
        "options": [[str(k), v] for k, v in options],
        "files": [_file_identity(p, str(source.subject), hash_content) for p in source.files],
    }
    text = json.dumps(identity, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _file_identity(path, subject: str, hash_content: bool) -> dict:
    path = check_file(path, f"data file of subject {subject}")
    stat = path.stat()
    identity = {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if hash_content:
        digest = hashlib.sha256()
        mib = 1 << 20
        with open(path, "rb") as f:
            digest.update(f.read(mib))
            if stat.st_size > mib:
                f.seek(max(mib, stat.st_size - mib))
                digest.update(f.read(mib))
        identity["sha256_ends"] = digest.hexdigest()
    return identity


class _TokenCache:
    """Read groups lazily from the cache file; collect new ones and write them atomically."""

    def __init__(self, path, flush_interval: float):
        self.path = Path(path)
        self.flush_interval = flush_interval
        self.pending: dict[str, tuple[str, str, WindowTokens]] = {}
        self.dropped: set[str] = set()
        self.last_flush = time.monotonic()
        self.readable = self._check_file()

    def _check_file(self) -> bool:
        if not self.path.exists():
            return False
        if self.path.is_dir():
            raise FileFormatError(self.path, "is a folder; the token cache must be a file path (e.g. tokens.h5).")
        with open(self.path, "rb") as f:
            head = f.read(len(_HDF5_SIGNATURE))
        # Only an empty file may be rebuilt (below, with a CacheWarning): any other file that does
        # not start with the 8-byte HDF5 signature, however short, may be the user's data.
        if head and head != _HDF5_SIGNATURE:
            raise FileFormatError(
                self.path,
                f"is not an HDF5 file ({len(head)}-byte start {head!r} is not the HDF5 signature), so "
                "not a neuroaffect token cache; refusing to overwrite it. Choose another cache path.",
            )
        try:
            with h5py.File(self.path, "r") as f:
                fmt = f.attrs.get("format")
        except OSError as err:
            self._warn(f"cannot be opened ({err}); it is probably truncated. Rebuilding it.")
            return False
        if fmt != CACHE_FORMAT:
            raise FileFormatError(
                self.path,
                "is an HDF5 file but not a neuroaffect token cache; refusing to overwrite it. "
                "Choose another cache path.",
            )
        return True

    def _warn(self, problem: str) -> None:
        warnings.warn(f"Token cache {self.path} {problem}", CacheWarning, stacklevel=4)

    def get(self, subject: str, key: str) -> WindowTokens | None:
        """The cached tokens of ``subject`` if stored under exactly ``key``, else None."""
        if not self.readable:
            return None
        name = quote(subject, safe="")
        try:
            with h5py.File(self.path, "r") as f:
                group = f.get(f"subjects/{name}")
                if group is None or group.attrs.get("key") != key:
                    return None
                return _read_group(group)
        except _StaleEntry:
            return None
        except _CorruptEntry as err:
            self._warn(f"has a corrupt entry for subject {subject!r} ({err}); recomputing it.")
            self.dropped.add(name)
            return None
        except (OSError, KeyError, ValueError, TypeError) as err:
            self._warn(f"has an unreadable entry for subject {subject!r} ({err}); recomputing it.")
            self.dropped.add(name)
            return None

    def put(self, subject: str, key: str, tokens: WindowTokens) -> None:
        self.pending[quote(subject, safe="")] = (subject, key, tokens)
        if time.monotonic() - self.last_flush >= self.flush_interval:
            self.flush()

    def flush(self) -> None:
        """Write the old valid groups plus the new ones to a temporary file, then replace the cache."""
        if not self.pending and not self.dropped:
            return
        with atomic_path(self.path) as tmp, h5py.File(tmp, "w") as out:
            out.attrs["format"] = CACHE_FORMAT
            out.attrs["features_version"] = FEATURES_VERSION
            groups = out.create_group("subjects")
            if self.readable:
                self._copy_old_groups(groups)
            for name, (subject, key, tokens) in self.pending.items():
                _write_group(groups, name, subject, key, tokens)
        self.pending.clear()
        self.dropped.clear()
        self.readable = True
        self.last_flush = time.monotonic()

    def _copy_old_groups(self, groups) -> None:
        try:
            with h5py.File(self.path, "r") as old:
                names = list(old["subjects"]) if "subjects" in old else []
                for name in names:
                    if name in self.pending or name in self.dropped:
                        continue
                    try:
                        _read_group(old["subjects"][name])  # copy only groups that read back whole
                        old.copy(old["subjects"][name], groups, name=name)
                    except _StaleEntry:
                        continue
                    except _CorruptEntry as err:
                        self._warn(f"has a corrupt entry {name!r} ({err}); dropping it.")
                    except (OSError, KeyError, ValueError, TypeError) as err:
                        self._warn(f"has an unreadable entry {name!r} ({err}); dropping it.")
        except OSError as err:
            self._warn(f"cannot be read while updating it ({err}); keeping only the new subjects.")


def _write_group(parent, name: str, subject: str, key: str, tokens: WindowTokens) -> None:
    group = parent.create_group(name)
    table = tokens.metadata
    for field in (*_PER_WINDOW, "positions", *_ID_TABLE):
        value = np.asarray(table[field].to_numpy() if field in _ID_TABLE else getattr(tokens, field))
        if value.dtype.kind in "UO":
            # as text (an object array of mixed ids, e.g. sessions 1 and "x", is stored as its str values)
            dset = group.create_dataset(field, data=value.astype(str).astype(object), dtype=h5py.string_dtype())
            dset.attrs["text"] = True
            dset.attrs["sha256"] = _digest(value.astype(str))
        else:
            dset = group.create_dataset(field, data=value)
            dset.attrs["sha256"] = _digest(value)
    meta = {
        "rating_names": list(tokens.rating_names),
        "scales": {k: asdict(v) for k, v in tokens.scales.items()},
        "ch_names": list(tokens.ch_names),
        "band_names": list(tokens.band_names),
        "sfreq": tokens.sfreq,
        "dataset": tokens.dataset,
        "features": tokens.features,
    }
    text = json.dumps(meta)
    group.attrs["meta"] = text
    group.attrs["meta_sha256"] = _text_digest(text)
    group.attrs["integrity"] = _INTEGRITY
    group.attrs["subject"] = subject
    group.attrs["key"] = key  # written last: a group without its key is never reused


def _digest(value: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and values (text arrays: their UTF-8 strings)."""
    value = np.asarray(value)
    digest = hashlib.sha256()
    if value.dtype.kind == "U":
        digest.update(f"text{value.shape}".encode())
        for text in value.ravel().tolist():
            data = text.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "little") + data)
    else:
        value = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
        digest.update(f"{value.dtype.str}{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _read_group(group) -> WindowTokens:
    """The group's tokens; ``_StaleEntry`` without checksums, ``_CorruptEntry`` if one differs."""
    if group.attrs.get("integrity") != _INTEGRITY:
        raise _StaleEntry(group.name)
    arrays = {}
    for field in (*_PER_WINDOW, "positions", *_ID_TABLE):
        if field in _ID_TABLE and field not in group:
            continue
        dset = group[field]
        value = np.array(dset.asstr()[()], dtype=str) if dset.attrs.get("text", False) else dset[()]
        if dset.attrs.get("sha256") != _digest(value):
            raise _CorruptEntry(f"dataset {dset.name} does not match its SHA-256 checksum")
        arrays[field] = value
    if group.attrs.get("meta_sha256") != _text_digest(group.attrs["meta"]):
        raise _CorruptEntry(f"attribute 'meta' of {group.name} does not match its SHA-256 checksum")
    meta = json.loads(group.attrs["meta"])
    n_windows = len(arrays["X"])
    ragged = [f for f in (*_PER_WINDOW, *_ID_TABLE) if f in arrays and len(arrays[f]) != n_windows]
    X = arrays["X"]
    if ragged or X.ndim != 3 or X.shape[1:] != (len(meta["ch_names"]), len(meta["band_names"])):
        raise ValueError(f"inconsistent shapes (X {X.shape}, mismatched {ragged})")
    scales = {k: RatingScale(**{**v, "categories": tuple(v["categories"])}) for k, v in meta["scales"].items()}
    table = None
    if all(f in arrays for f in _ID_TABLE):
        import pandas as pd

        text = lambda a: np.array([str(v) for v in a], dtype=object)  # noqa: E731  (labels as in the keys)
        table = pd.DataFrame({"subject": text(arrays["subject"]), "session": text(arrays["session"]),
                              "trial": text(arrays["trial"]),
                              **{c: arrays[c].astype(np.int64) for c in _ID_TABLE[1:]},
                              "start": arrays["start"], "stop": arrays["stop"]})
    return WindowTokens(
        X=X, ratings=arrays["ratings"], rating_names=tuple(meta["rating_names"]), scales=scales,
        subject=arrays["subject"], session=arrays["session"], trial_key=arrays["trial_key"],
        start=arrays["start"], stop=arrays["stop"], ch_names=list(meta["ch_names"]),
        positions=arrays["positions"], band_names=tuple(meta["band_names"]), sfreq=float(meta["sfreq"]),
        dataset=meta["dataset"], features=meta.get("features", {}), _metadata=table,
    )
