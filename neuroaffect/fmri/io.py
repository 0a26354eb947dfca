"""fMRI readers: BIDS runs, NSD-style HDF5 betas, plain arrays, stimulus embeddings.

All readers return :class:`~neuroaffect.fmri.StimulusResponses` (one row per presented stimulus).

- :func:`read_bids_fmri` finds ``sub-*/[ses-*/]func/*_bold.nii[.gz]`` runs with their
  ``_events.tsv`` (and optional ``_desc-confounds_timeseries.tsv``), extracts parcel signals with a
  :class:`~neuroaffect.fmri.Parcellate` and turns each run into per-trial responses with
  :func:`responses_from_run` (a least-squares-all GLM, or HRF-lagged averaging).
- :class:`NSDBetas` reads trial x feature betas from HDF5 lazily (rows on demand).
- :func:`load_embeddings` reads stimulus embeddings (ids + matrix) from HDF5 and
  :func:`align_embeddings` matches them to responses.
"""

from __future__ import annotations

import json
import logging
import re
from os import PathLike
from pathlib import Path

import numpy as np

from .._atomic import atomic_path, write_text_atomic
from .._validation import FileFormatError, check_file, check_finite, check_option, check_positive
from ..affect.scales import RatingScale
from .responses import SAM_1_9, VAD_NAMES, StimulusResponses

logger = logging.getLogger(__name__)

STIMULUS_COLUMNS = ("stim_id", "stim_file", "trial_type")


# --------------------------------------------------------------------------- images
def load_image(img, ndim: int | None = 4, what: str = "image"):
    """Load a path or image object with nibabel and check its dimensionality and values.

    Any format nibabel reads (NIfTI-1/2, Analyze, MGH, ...) is accepted. A 4-D image with one
    volume counts as 3-D and vice versa where that is unambiguous.

    Raises
    ------
    FileFormatError
        If the file is not an image nibabel can read, has the wrong number of dimensions, or holds
        NaN/inf.
    """
    import nibabel as nib

    if isinstance(img, str | PathLike):
        path = check_file(img, what)
        try:
            img = nib.load(path)
        except Exception as err:  # nibabel raises ImageFileError, ValueError, OSError, ...
            raise FileFormatError(path, f"not an image nibabel can read ({type(err).__name__}: {err}); "
                                        f"expected the {what} as NIfTI or Analyze.") from None
    elif not hasattr(img, "affine") or not hasattr(img, "dataobj"):
        raise TypeError(f"{what} must be a path or a nibabel image, got {type(img).__name__}.")
    where = img.get_filename() or f"in-memory {what}"
    if ndim is not None and img.ndim != ndim:
        if ndim == 3 and img.ndim == 4 and img.shape[3] == 1:
            img = img.slicer[..., 0]
        else:
            expect = "a 4-D time series (x, y, z, volumes)" if ndim == 4 else "a 3-D volume"
            raise FileFormatError(where, f"{what} is {img.ndim}-D with shape {img.shape}; expected {expect}.")
    if ndim == 4 and img.shape[3] < 2:
        raise FileFormatError(where, f"{what} has {img.shape[3]} volume(s); expected a time series.")
    data = np.asarray(img.dataobj)
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        bad = int((~np.isfinite(data)).sum())
        raise FileFormatError(where, f"{what} contains {bad} NaN/inf voxel value(s); expected finite "
                                     "values (mask or interpolate them first).")
    if not isinstance(img.dataobj, np.ndarray):  # keep the array just read: no second decompression
        filename = img.get_filename()
        img = img.__class__(data, img.affine, img.header)
        if filename:
            img.set_filename(filename)
    return img


def repetition_time(img, sidecar: Path | None = None) -> float:
    """TR in seconds from a BIDS JSON sidecar (``RepetitionTime``) or else the NIfTI header."""
    if sidecar is not None and sidecar.is_file():
        meta = json.loads(sidecar.read_text())
        if "RepetitionTime" in meta:
            return check_positive("RepetitionTime", float(meta["RepetitionTime"]))
    zooms = img.header.get_zooms()
    units = img.header.get_xyzt_units()[1] if hasattr(img.header, "get_xyzt_units") else "sec"
    if len(zooms) < 4 or not zooms[3] > 0:
        where = img.get_filename() or "image"
        raise FileFormatError(where, "no repetition time in the header or a JSON sidecar; pass t_r.")
    t_r = float(zooms[3])
    return t_r / 1000 if units == "msec" else t_r


# --------------------------------------------------------------------------- tables
def read_events(path, stimulus_column: str | None = None):
    """Read a BIDS ``events.tsv`` and check its onset/duration columns.

    Returns a DataFrame with ``onset``, ``duration`` (s) and ``stimulus`` (str) columns plus the
    file's other columns.
    """
    import pandas as pd

    path = check_file(path, "events file")
    try:
        events = pd.read_csv(path, sep="\t", na_values=["n/a"])
    except Exception as err:
        raise FileFormatError(path, f"not a tab-separated table ({err}).") from None
    missing = [c for c in ("onset", "duration") if c not in events.columns]
    if missing:
        raise FileFormatError(path, f"events table lacks the column(s) {missing}; expected BIDS columns "
                                    f"'onset' and 'duration' (seconds), got {list(events.columns)}.")
    for col in ("onset", "duration"):
        values = pd.to_numeric(events[col], errors="coerce")
        if values.isna().any():
            raise FileFormatError(path, f"column {col!r} has missing or non-numeric values; expected seconds.")
        events[col] = values.astype(float)
    if stimulus_column is None:
        stimulus_column = next((c for c in STIMULUS_COLUMNS if c in events.columns), None)
        if stimulus_column is None:
            raise FileFormatError(path, f"no stimulus id column; expected one of {STIMULUS_COLUMNS} "
                                        "or pass stimulus_column.")
    elif stimulus_column not in events.columns:
        raise FileFormatError(path, f"stimulus_column {stimulus_column!r} not among {list(events.columns)}.")
    events["stimulus"] = events[stimulus_column].astype(str)
    return events


def read_confounds(path, columns=None) -> np.ndarray:
    """Confound regressors (n_volumes, n_confounds) from a TSV; leading NaNs (fMRIPrep) become 0."""
    import pandas as pd

    path = check_file(path, "confounds file")
    table = pd.read_csv(path, sep="\t", na_values=["n/a"])
    if columns is not None:
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise FileFormatError(path, f"confounds lack column(s) {missing}.")
        table = table[list(columns)]
    table = table.select_dtypes("number")
    return table.fillna(0.0).to_numpy(float)


# --------------------------------------------------------------------------- one run -> responses
def responses_from_run(signals, events, t_r: float, *, method: str = "glm", confounds=None,
                       hrf_model: str = "glover", high_pass: float = 0.01, noise_model: str = "ar1",
                       lag: float = 5.0, psc: bool = True, subject="01", run="", vad_scale=SAM_1_9,
                       feature_names=()) -> StimulusResponses:
    """Per-trial responses from one run's signals.

    Parameters
    ----------
    signals : ndarray, shape (n_volumes, n_features)
        Parcel (or voxel) time series of the run.
    events : DataFrame
        From :func:`read_events` (``onset``, ``duration``, ``stimulus``; optional ``valence``,
        ``arousal``, ``dominance`` on ``vad_scale``).
    t_r : float
        Repetition time in seconds.
    method : {"glm", "lagged-mean"}
        ``"glm"``: a first-level GLM with one regressor per trial (least squares all) with ``hrf_model``,
        a cosine drift basis (``high_pass`` Hz), ``confounds`` and an ``noise_model`` (``"ar1"`` or
        ``"ols"``) error model; the responses are the trial betas. ``"lagged-mean"``: the mean signal
        over the volumes acquired between ``onset + lag`` and ``onset + duration + lag`` minus the run
        mean (confounds regressed out first).
    psc : bool
        Scale each feature to percent signal change of its run mean first (skipped for a feature
        whose mean is near zero, e.g. already standardised data).

    Returns
    -------
    StimulusResponses
        One row per event, in event order.
    """
    check_option("method", method, ("glm", "lagged-mean"))
    check_positive("t_r", t_r)
    Y = check_finite(np.asarray(signals, dtype=float), "run signals")
    n_vols = len(Y)
    if psc:
        mean = Y.mean(0)
        scale = np.abs(mean) > 1e-6 * (np.abs(Y).max() + 1e-12)
        Y = np.where(scale, 100 * (Y / np.where(scale, mean, 1) - 1), Y - mean)
    frame_times = np.arange(n_vols) * t_r
    onsets = events["onset"].to_numpy(float)
    late = onsets >= frame_times[-1] + t_r
    if late.any():
        raise ValueError(f"{late.sum()} event(s) start after the run ends ({n_vols} volumes x {t_r} s).")
    if confounds is not None:
        confounds = check_finite(np.asarray(confounds, dtype=float), "confounds")
        if confounds.ndim != 2 or len(confounds) != n_vols:
            raise ValueError(f"confounds must have shape ({n_vols}, n_confounds), got {confounds.shape}.")
    if method == "glm":
        import pandas as pd
        from nilearn.glm.first_level import make_first_level_design_matrix, run_glm

        trial_events = pd.DataFrame({
            "onset": onsets, "duration": events["duration"].to_numpy(float),
            "trial_type": [f"trial{i:05d}" for i in range(len(events))],
        })
        design = make_first_level_design_matrix(
            frame_times, trial_events, hrf_model=hrf_model, drift_model="cosine", high_pass=high_pass,
            add_regs=confounds,
            add_reg_names=None if confounds is None else [f"conf{i}" for i in range(confounds.shape[1])],
        )
        trial_cols = list(trial_events["trial_type"])
        if len(design.columns) > n_vols:
            raise ValueError(f"The GLM has {len(design.columns)} regressors for {n_vols} volumes; use "
                             "fewer confounds, a longer run or method='lagged-mean'.")
        labels, results = run_glm(Y, design.to_numpy(), noise_model=noise_model)
        idx = [design.columns.get_loc(c) for c in trial_cols]
        X = np.empty((len(trial_cols), Y.shape[1]))
        for label, res in results.items():
            X[:, labels == label] = res.theta[idx]
    else:
        if confounds is not None:
            C = np.column_stack([np.ones(n_vols), confounds - confounds.mean(0)])
            Y = Y - C[:, 1:] @ np.linalg.lstsq(C, Y, rcond=None)[0][1:]
        Y = Y - Y.mean(0)
        ends = onsets + events["duration"].to_numpy(float)
        X = np.empty((len(onsets), Y.shape[1]))
        for i, (start, stop) in enumerate(zip(onsets + lag, ends + lag, strict=True)):
            sel = (frame_times >= start) & (frame_times <= max(stop, start + t_r))
            if not sel.any():
                sel = np.abs(frame_times - start) == np.abs(frame_times - start).min()
            X[i] = Y[sel].mean(0)
    vad = None
    if all(c in events.columns for c in VAD_NAMES):
        vad = events[list(VAD_NAMES)].to_numpy(float)
    return StimulusResponses(X, events["stimulus"].to_numpy(), subject, run, vad,
                             vad_scale if vad is not None else None, tuple(feature_names))


# --------------------------------------------------------------------------- BIDS
_ENTITY = re.compile(r"(sub|ses|task|run)-([a-zA-Z0-9]+)")


def find_bids_runs(data_dir, task: str | None = None, subjects=None) -> list[dict]:
    """List BIDS functional runs: dicts with ``bold``, ``events``, ``confounds`` (or None), ``sidecar``,
    ``subject``, ``session``, ``run``."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"BIDS folder not found: {data_dir}")
    runs = []
    for bold in sorted(data_dir.glob("sub-*/**/func/*_bold.nii*")) + sorted(data_dir.glob("sub-*/func/*_bold.nii*")):
        ents = dict(_ENTITY.findall(bold.name))
        if task is not None and ents.get("task") != task:
            continue
        if subjects is not None and ents.get("sub") not in {str(s) for s in subjects}:
            continue
        stem = re.sub(r"_bold\.nii(\.gz)?$", "", bold.name)
        events = bold.with_name(stem + "_events.tsv")
        if not events.is_file():
            raise FileNotFoundError(f"events file not found for {bold}: expected {events}")
        confounds = next((p for p in (bold.with_name(stem + "_desc-confounds_timeseries.tsv"),
                                      bold.with_name(stem + "_confounds.tsv")) if p.is_file()), None)
        sidecar = bold.with_name(stem + "_bold.json")
        if not sidecar.is_file():
            sidecar = data_dir / f"task-{ents.get('task', '')}_bold.json"
        runs.append(dict(bold=bold, events=events, confounds=confounds, sidecar=sidecar,
                         subject=ents.get("sub", ""), session=ents.get("ses", ""), run=ents.get("run", "")))
    runs = list({str(r["bold"]): r for r in runs}.values())  # the two globs overlap
    if not runs:
        raise FileNotFoundError(f"no BIDS runs (sub-*/[ses-*/]func/*_bold.nii[.gz]) under {data_dir}"
                                + (f" for task {task!r}" if task else "") + ".")
    return runs


def read_bids_fmri(data_dir, parcellate=None, *, task: str | None = None, subjects=None,
                   method: str = "glm", use_confounds: bool = True, t_r: float | None = None,
                   stimulus_column: str | None = None, vad_scale: RatingScale = SAM_1_9,
                   progress: bool = False, **run_kwargs) -> StimulusResponses:
    """Read every BIDS run into per-trial parcel responses.

    Parameters
    ----------
    data_dir : path
        BIDS root (``sub-XX/[ses-YY/]func/sub-XX_task-T_run-R_bold.nii.gz`` + ``_events.tsv``).
    parcellate : Parcellate, optional
        Parcel extractor (default ``Parcellate("seitzman300")``). A coordinate or image atlas is
        fitted on the first run if unfitted; a data-driven one must be fitted beforehand on training
        runs only.
    method : {"glm", "lagged-mean"}
        See :func:`responses_from_run`.
    t_r : float, optional
        Repetition time (s); read from the JSON sidecar or NIfTI header if omitted.
    vad_scale : RatingScale
        Scale of the ``valence``/``arousal``/``dominance`` event columns, when present.
    **run_kwargs
        Passed to :func:`responses_from_run` (``hrf_model``, ``high_pass``, ``lag``, ...).
    """
    from sklearn.utils.validation import check_is_fitted

    from .parcels import DATA_DRIVEN, Parcellate

    runs = find_bids_runs(data_dir, task, subjects)
    parcellate = Parcellate("seitzman300") if parcellate is None else parcellate
    try:
        check_is_fitted(parcellate, "masker_")
    except Exception:
        if isinstance(parcellate.atlas, str) and parcellate.atlas in DATA_DRIVEN:
            raise ValueError(f"A {parcellate.atlas} parcellation must be fitted on training runs before "
                             "read_bids_fmri (fitting it on all runs would leak test data).") from None
        parcellate.fit(str(runs[0]["bold"]))
    logger.info("read_bids_fmri: %s", parcellate.resampling_)
    parts = []
    iterator = runs
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(runs, desc="fMRI runs")
    for r in iterator:
        img = load_image(str(r["bold"]), ndim=4, what="fMRI run")
        tr = t_r if t_r is not None else repetition_time(img, r["sidecar"])
        events = read_events(r["events"], stimulus_column)
        confounds = read_confounds(r["confounds"]) if (use_confounds and r["confounds"]) else None
        signals = parcellate.transform(img)
        label = "_".join(f"{k}-{r[v]}" for k, v in (("ses", "session"), ("run", "run")) if r[v])
        parts.append(responses_from_run(signals, events, tr, method=method, confounds=confounds,
                                        subject=r["subject"], run=label, vad_scale=vad_scale,
                                        feature_names=parcellate.parcel_names_, **run_kwargs))
    out = StimulusResponses.concatenate(parts)
    out.dataset = str(data_dir)
    out.info["parcellation"] = parcellate.resampling_
    out.info["method"] = method
    return out


# --------------------------------------------------------------------------- NSD-style HDF5
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
    """

    def __init__(self, path, betas_key="betas", stimulus_key="stimulus", scale=1.0, mask=None,
                 subject=None, vad_key="vad", vad_scale: RatingScale = SAM_1_9):
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
        except OSError as err:
            raise FileFormatError(self.path, f"not an HDF5 file ({err}).") from None
        if len(shape) < 2:
            raise FileFormatError(self.path, f"{betas_key!r} has shape {shape}; expected (n_trials, n_features...).")
        if n_stim != shape[0]:
            raise FileFormatError(self.path, f"{betas_key!r} has {shape[0]} trials but {stimulus_key!r} "
                                             f"has {n_stim} ids; expected one id per trial.")
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


def read_nsd_betas(path, indices=None, **kwargs) -> StimulusResponses:
    """Read trials of an NSD-style HDF5 betas file (see :class:`NSDBetas`)."""
    return NSDBetas(path, **kwargs).read(indices)


def _atomic_h5(path: Path, write) -> Path:
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        write(f)
    return Path(path)


def write_nsd_betas(path, responses: StimulusResponses) -> Path:
    """Write responses as an NSD-style HDF5 file (``betas``, ``stimulus``, optional ``vad``), atomically."""
    def write(f):
        f.create_dataset("betas", data=responses.X.astype(np.float32), chunks=True)
        f.create_dataset("stimulus", data=np.asarray(responses.stimulus, dtype="S"))
        f.attrs["subject"] = responses.subjects[0] if responses.subjects else ""
        if responses.vad is not None:
            f.create_dataset("vad", data=responses.vad)
            f.attrs["vad_scale"] = json.dumps([responses.vad_scale.name, responses.vad_scale.low,
                                               responses.vad_scale.high])
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


# --------------------------------------------------------------------------- a whole folder
def read_fmri_dir(data_dir, parcellate=None, *, method: str = "glm", task: str | None = None,
                  embeddings=None, progress: bool = False):
    """Read a folder of fMRI data and its stimulus embeddings (if any).

    NSD-style folders (``*_betas.h5`` files, one per subject) are read with :class:`NSDBetas`;
    anything else as BIDS with :func:`read_bids_fmri`. Embeddings come from ``embeddings`` (an
    HDF5 path) or ``<data_dir>/stimuli/embeddings.h5`` when present.

    Returns
    -------
    responses : StimulusResponses
    embeddings : tuple (ids, ndarray (n_ids, dim)) or None
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data folder not found: {data_dir}")
    nsd = sorted(data_dir.glob("*_betas.h5"))
    if nsd:
        responses = StimulusResponses.concatenate([NSDBetas(p).read() for p in nsd])
        responses.dataset = str(data_dir)
    else:
        responses = read_bids_fmri(data_dir, parcellate, method=method, task=task, progress=progress)
    path = Path(embeddings) if embeddings is not None else data_dir / "stimuli" / "embeddings.h5"
    emb = load_embeddings(path) if (embeddings is not None or path.is_file()) else None
    return responses, emb


def write_json_atomic(path, doc: dict) -> Path:
    """Write ``doc`` as indented JSON through a temporary file in the same folder."""
    text = json.dumps(doc, indent=2, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    return write_text_atomic(path, text)
