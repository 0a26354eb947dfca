"""NSD-style HDF5 files: trial x feature betas (read lazily) and stimulus embeddings.

An NSD-style folder holds one ``*_betas.h5`` per subject (:class:`NSDBetas`, :func:`write_nsd_betas`)
and ``stimuli/embeddings.h5`` (:func:`load_embeddings`, :func:`write_embeddings`);
:func:`align_embeddings` matches embeddings to responses by stimulus id.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from .._atomic import atomic_path
from .._validation import FileFormatError, check_file, check_finite, check_positive
from ..affect.scales import RatingScale
from .responses import SAM_1_9, StimulusResponses


class NSDBetas:
    """Lazy reader of trial x feature betas in HDF5 (NSD style).

    The file holds a dataset ``betas_key`` of shape (n_trials, ...) (trailing dimensions are
    flattened: parcels or voxels) and a dataset ``stimulus_key`` with one stimulus id per trial.
    Rows are read only when asked for (:meth:`read`), in chunks, so files larger than memory work.

    Parameters
    ----------
    path : path
    betas_key, stimulus_key : str
    scale : float
        Divide stored values by this (NSD stores int16 betas x 300).
    mask : ndarray of bool, optional
        Voxel/feature mask over the flattened trailing dimensions (e.g. an ROI).
    subject : str, optional
        Subject id (default: the file's ``subject`` attribute or its stem).
    vad_key : str, optional
        Dataset with (n_trials, 3) VAD on ``vad_scale`` (read if present).
    vad_scale : RatingScale, optional
        Scale of the VAD ratings. Default: the file's ``vad_scale`` attribute (JSON ``[name, low,
        high(, kind)]``, written by :func:`write_nsd_betas`), else SAM 1-9. A scale passed here
        overrides the attribute (with a warning when they differ).
    """

    def __init__(self, path, betas_key="betas", stimulus_key="stimulus", scale=1.0, mask=None,
                 subject=None, vad_key="vad", vad_scale: RatingScale | None = None):
        import h5py

        self.path = check_file(path, "HDF5 betas file")
        try:
            with h5py.File(self.path, "r") as f:
                for key in (betas_key, stimulus_key):
                    if key not in f:
                        raise FileFormatError(self.path, f"no dataset {key!r}; found {sorted(f.keys())}.")
                shape = f[betas_key].shape
                n_stim = f[stimulus_key].shape[0]
                self.subject = str(subject if subject is not None else f.attrs.get("subject", self.path.stem))
                self.has_vad = vad_key is not None and vad_key in f
                stored = f.attrs.get("vad_scale")
        except OSError as err:
            raise FileFormatError(self.path, f"not an HDF5 file ({err}).") from None
        if len(shape) < 2:
            raise FileFormatError(self.path, f"{betas_key!r} has shape {shape}; expected (n_trials, n_features...).")
        if n_stim != shape[0]:
            raise FileFormatError(self.path, f"{betas_key!r} has {shape[0]} trials but {stimulus_key!r} "
                                             f"has {n_stim} ids; expected one id per trial.")
        file_scale = None if stored is None else _parse_vad_scale(self.path, stored)
        if vad_scale is None:
            vad_scale = SAM_1_9 if file_scale is None else file_scale
        elif file_scale is not None and (vad_scale.low, vad_scale.high) != (file_scale.low, file_scale.high):
            warnings.warn(f"{self.path}: vad_scale {vad_scale.name} ({vad_scale.low:g}..{vad_scale.high:g}) "
                          f"overrides the file's vad_scale attribute {file_scale.name} "
                          f"({file_scale.low:g}..{file_scale.high:g}).", stacklevel=2)
        self.betas_key, self.stimulus_key, self.vad_key, self.vad_scale = betas_key, stimulus_key, vad_key, vad_scale
        self.scale = check_positive("scale", scale)
        self.n_trials = shape[0]
        self.n_voxels = int(np.prod(shape[1:]))
        self.mask = None if mask is None else np.asarray(mask, bool).ravel()
        if self.mask is not None and self.mask.size != self.n_voxels:
            raise ValueError(f"mask has {self.mask.size} entries; expected {self.n_voxels} (flattened "
                             f"{shape[1:]}) for {self.path}.")

    def __len__(self) -> int:
        return self.n_trials

    def stimulus_ids(self) -> np.ndarray:
        import h5py

        with h5py.File(self.path, "r") as f:
            ids = f[self.stimulus_key][:]
        return np.asarray([i.decode() if isinstance(i, bytes) else str(i) for i in ids], dtype=object)

    def read(self, indices=None, chunk: int = 256) -> StimulusResponses:
        """Read the given trials (default all) as :class:`StimulusResponses`, ``chunk`` rows at a time."""
        import h5py

        idx = np.arange(self.n_trials) if indices is None else np.asarray(indices, int).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_trials):
            raise IndexError(f"trial indices must be in [0, {self.n_trials}) for {self.path}.")
        order = np.argsort(idx, kind="stable")
        rows = []
        with h5py.File(self.path, "r") as f:
            d = f[self.betas_key]
            sorted_idx = idx[order]
            for start in range(0, len(sorted_idx), chunk):
                part = sorted_idx[start:start + chunk]
                uniq, inv = np.unique(part, return_inverse=True)  # h5py needs increasing, unique indices
                block = d[uniq].reshape(len(uniq), -1)[inv]
                if self.mask is not None:
                    block = block[:, self.mask]
                rows.append(np.asarray(block, float) / self.scale)
            vad = f[self.vad_key][:][idx] if self.has_vad else None
        X = np.empty((len(idx), rows[0].shape[1] if rows else 0))
        if rows:
            X[order] = np.concatenate(rows)
        check_finite(X, f"betas in {self.path}")
        return StimulusResponses(X, self.stimulus_ids()[idx], self.subject, "", vad,
                                 self.vad_scale if vad is not None else None, dataset=str(self.path))


def _parse_vad_scale(path, stored) -> RatingScale:
    """The RatingScale of an HDF5 ``vad_scale`` attribute: JSON ``[name, low, high]`` or with ``kind``."""
    try:
        value = json.loads(stored.decode() if isinstance(stored, bytes) else str(stored))
        if not isinstance(value, list) or len(value) not in (3, 4):
            raise ValueError("not a list of 3 or 4 items")
        name, low, high, *kind = value
        return RatingScale(str(name), float(low), float(high), *(str(k) for k in kind))
    except (ValueError, TypeError) as err:
        raise FileFormatError(path, f"attribute 'vad_scale' is {stored!r} ({err}); expected JSON "
                                    "[name, low, high] or [name, low, high, kind].") from None


def read_nsd_betas(path, indices=None, **kwargs) -> StimulusResponses:
    """Read trials of an NSD-style HDF5 betas file (see :class:`NSDBetas`)."""
    return NSDBetas(path, **kwargs).read(indices)


def _atomic_h5(path: Path, write) -> Path:
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        write(f)
    return Path(path)


def write_nsd_betas(path, responses: StimulusResponses) -> Path:
    """Write one subject's responses as an NSD-style HDF5 file, atomically.

    The file holds ``betas`` (n_trials, n_features) float32, ``stimulus`` ids, optional ``vad``
    (n_trials, 3), and the attributes ``subject`` and ``vad_scale`` (JSON ``[name, low, high,
    kind]``, read back by :class:`NSDBetas`).

    Raises
    ------
    ValueError
        If ``responses`` hold more than one subject (the format has one subject per file).
    """
    if len(responses.subjects) > 1:
        raise ValueError(f"write_nsd_betas({str(path)!r}): responses hold {len(responses.subjects)} subjects "
                         f"{responses.subjects[:5]}; expected one subject per file (write "
                         "responses[responses.subject == s] to one file per subject s).")

    def write(f):
        f.create_dataset("betas", data=responses.X.astype(np.float32), chunks=True)
        f.create_dataset("stimulus", data=np.asarray(responses.stimulus, dtype="S"))
        f.attrs["subject"] = responses.subjects[0] if responses.subjects else ""
        if responses.vad is not None:
            f.create_dataset("vad", data=responses.vad)
            f.attrs["vad_scale"] = json.dumps([responses.vad_scale.name, responses.vad_scale.low,
                                               responses.vad_scale.high, responses.vad_scale.kind])
    return _atomic_h5(path, write)


# --------------------------------------------------------------------------- embeddings
def write_embeddings(path, ids, embeddings) -> Path:
    """Write stimulus embeddings (``stimulus`` ids, ``embeddings`` (n, dim)) to HDF5 atomically."""
    embeddings = check_finite(np.asarray(embeddings, dtype=np.float32), "embeddings")

    def write(f):
        f.create_dataset("stimulus", data=np.asarray([str(i) for i in ids], dtype="S"))
        f.create_dataset("embeddings", data=embeddings)
    return _atomic_h5(path, write)


def load_embeddings(path, key: str = "embeddings", ids_key: str = "stimulus") -> tuple[np.ndarray, np.ndarray]:
    """Read stimulus embeddings (image or text) from HDF5: ``(ids (n,), embeddings (n, dim))``."""
    import h5py

    path = check_file(path, "embeddings file")
    try:
        with h5py.File(path, "r") as f:
            for k in (key, ids_key):
                if k not in f:
                    raise FileFormatError(path, f"no dataset {k!r}; found {sorted(f.keys())}.")
            emb = np.asarray(f[key][:], dtype=float)
            ids = f[ids_key][:]
    except OSError as err:
        raise FileFormatError(path, f"not an HDF5 file ({err}).") from None
    if emb.ndim != 2 or len(emb) != len(ids):
        raise FileFormatError(path, f"{key!r} has shape {emb.shape} for {len(ids)} ids; expected (n_ids, dim).")
    ids = np.asarray([i.decode() if isinstance(i, bytes) else str(i) for i in ids], dtype=object)
    return ids, check_finite(emb, f"embeddings in {path}")


def align_embeddings(responses: StimulusResponses, ids, embeddings) -> np.ndarray:
    """The embedding of each response's stimulus: (n_stimuli, dim); error if an id is missing."""
    embeddings = np.asarray(embeddings, dtype=float)
    ids = [str(i) for i in ids]
    if len(ids) != len(embeddings):
        raise ValueError(f"{len(ids)} stimulus ids but {len(embeddings)} embeddings; expected one per id.")
    lookup = {s: i for i, s in enumerate(ids)}
    missing = sorted({s for s in responses.stimulus if s not in lookup})
    if missing:
        raise ValueError(f"{len(missing)} stimulus id(s) of the responses have no embedding, e.g. "
                         f"{missing[:3]}; expected every id in the embeddings file.")
    return embeddings[[lookup[s] for s in responses.stimulus]]
