"""BIDS fMRI folders: find the runs, read each into per-trial parcel (or voxel) responses.

:func:`find_bids_runs` lists ``sub-*/[ses-*/]func/*_bold.nii[.gz]`` runs with their
``_events.tsv`` (and optional ``_desc-confounds_timeseries.tsv``); :func:`read_bids_fmri` extracts
parcel signals with a :class:`~neuroaffect.fmri.Parcellate` (or every voxel of a brain mask) and
turns each run into responses with :func:`~neuroaffect.fmri.responses_from_run`.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from .._validation import check_finite
from ..affect.scales import RatingScale
from .events import CONFOUND_STRATEGIES, confound_columns, read_confounds, read_events
from .glm import responses_from_run
from .images import axis_codes, load_image, repetition_time
from .responses import SAM_1_9, StimulusResponses

logger = logging.getLogger(__name__)

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
                   method: str = "glm", confounds="minimal",
                   t_r: float | None = None, stimulus_column: str | None = None,
                   vad_scale: RatingScale = SAM_1_9, progress: bool = False, mask_img=None,
                   **run_kwargs) -> StimulusResponses:
    """Read every BIDS run into per-trial parcel (or voxel) responses.

    Parameters
    ----------
    data_dir : path
        BIDS root (``sub-XX/[ses-YY/]func/sub-XX_task-T_run-R_bold.nii.gz`` + ``_events.tsv``).
    parcellate : Parcellate or "voxels", optional
        Parcel extractor (default ``Parcellate("seitzman300")``). A coordinate or image atlas is
        fitted on the first run if unfitted; a data-driven one must be fitted beforehand on training
        runs only. ``"voxels"``: one feature per voxel of ``mask_img`` (default: nilearn's
        ``compute_epi_mask`` of the first run), for a data-driven parcellation fitted inside each
        training fold (:class:`~neuroaffect.fmri.VoxelParcellation` as the first step of the
        estimator); ``info["mask_img"]`` holds the mask. Every run must be on the first run's grid.
    mask_img : niimg-like, optional
        Brain mask for ``parcellate="voxels"`` (resampled to the runs' grid, nearest neighbour, if it
        is on another).
    method : {"glm", "glm-lss", "lagged-mean"}
        See :func:`~neuroaffect.fmri.responses_from_run`.
    confounds : str, sequence of str or None
        Which columns of each run's ``_desc-confounds_timeseries.tsv`` are regressed out: a strategy
        of :data:`~neuroaffect.fmri.CONFOUND_STRATEGIES` or column names (see
        :func:`~neuroaffect.fmri.confound_columns`). The default ``"minimal"`` takes the 6 motion parameters (``trans_x``, ``trans_y``, ``trans_z``,
        ``rot_x``, ``rot_y``, ``rot_z``) and ``white_matter`` and ``csf``, those of them the file
        has; ``"all"`` takes every numeric column (fMRIPrep: 100-300, usually too many). ``None``:
        no confounds. A requested column a file lacks is an error naming the file.
    t_r : float, optional
        Repetition time (s); read from the JSON sidecar or NIfTI header if omitted.
    vad_scale : RatingScale
        Scale of the ``valence``/``arousal``/``dominance`` event columns, when present.
    **run_kwargs
        Passed to :func:`responses_from_run` (``hrf_model``, ``high_pass``, ``lag``, ...).
    """
    from sklearn.utils.validation import check_is_fitted

    from .parcels import DATA_DRIVEN, Parcellate

    if confounds is not None and not isinstance(confounds, str):
        confounds = [str(c) for c in confounds]
    if isinstance(confounds, str) and confounds not in CONFOUND_STRATEGIES:
        confound_columns("read_bids_fmri", [], confounds)  # raises the message listing the strategies
    runs = find_bids_runs(data_dir, task, subjects)
    parcellate = Parcellate("seitzman300") if parcellate is None else parcellate
    if isinstance(parcellate, str) and parcellate == "voxels":
        parcellate = _RunVoxels(mask_img).fit(str(runs[0]["bold"]))
    elif mask_img is not None:
        raise ValueError("read_bids_fmri: mask_img applies to parcellate='voxels'; give a Parcellate its own "
                         "mask_img.")
    if not isinstance(parcellate, Parcellate | _RunVoxels):
        raise ValueError(f"Invalid value for the 'parcellate' parameter: expected a Parcellate or 'voxels', got "
                         f"{parcellate!r}.")
    try:
        if not isinstance(parcellate, _RunVoxels):  # fitted above
            check_is_fitted(parcellate, "masker_")
    except Exception:
        if isinstance(parcellate.atlas, str) and parcellate.atlas in DATA_DRIVEN:
            raise ValueError(f"A {parcellate.atlas} parcellation must be fitted on training runs before "
                             "read_bids_fmri (fitting it on all runs would leak test data); or read the runs "
                             f"with parcellate='voxels' and put VoxelParcellation(method={parcellate.atlas!r}) "
                             "first in the estimator, so it is fitted in each training fold.") from None
        parcellate.fit(str(runs[0]["bold"]))
    logger.info("read_bids_fmri: %s", parcellate.resampling_)
    parts = []
    iterator = runs
    if progress:
        from .._logging import progress_bar

        iterator = progress_bar(runs, desc="fMRI runs")
    for r in iterator:
        img = load_image(str(r["bold"]), ndim=4, what="fMRI run")
        tr = t_r if t_r is not None else repetition_time(img, r["sidecar"])
        events = read_events(r["events"], stimulus_column)
        regressors = None
        if confounds is not None:
            if r["confounds"]:
                regressors = read_confounds(r["confounds"], confounds)
            elif not isinstance(confounds, str):
                raise FileNotFoundError(f"confounds={confounds} asks for columns but {r['bold']} has no "
                                        "_desc-confounds_timeseries.tsv next to it.")
        signals = parcellate.transform(img)
        label = "_".join(f"{k}-{r[v]}" for k, v in (("ses", "session"), ("run", "run")) if r[v])
        parts.append(responses_from_run(signals, events, tr, method=method, confounds=regressors,
                                        subject=r["subject"], run=label, vad_scale=vad_scale,
                                        feature_names=parcellate.parcel_names_, source=str(r["bold"]),
                                        **run_kwargs))
    out = StimulusResponses.concatenate(parts)
    out.dataset = str(data_dir)
    out.info["parcellation"] = parcellate.resampling_
    out.info["method"] = method
    out.info["confounds"] = "none" if confounds is None else confounds
    if isinstance(parcellate, _RunVoxels):
        out.info["mask_img"] = parcellate.mask_img_
    return out


class _RunVoxels:
    """Voxel time series of 4-D runs inside one brain mask (``read_bids_fmri(parcellate="voxels")``)."""

    def __init__(self, mask_img=None):
        self.mask_img = mask_img

    def fit(self, first_run):
        import nibabel as nib
        from nilearn.image import resample_to_img
        from nilearn.masking import compute_epi_mask

        ref = load_image(first_run, ndim=4, what="fMRI run")
        if self.mask_img is None:
            mask = compute_epi_mask(ref)
            how = f"nilearn compute_epi_mask of {first_run}"
        else:
            mask = load_image(self.mask_img, ndim=3, what="mask_img")
            how = "mask_img"
            if mask.shape[:3] != ref.shape[:3] or not np.allclose(mask.affine, ref.affine, atol=1e-4):
                mask = resample_to_img(mask, ref, interpolation="nearest", force_resample=True, copy_header=True)
                how += " (resampled to the runs' grid, nearest neighbour)"
        keep = np.nan_to_num(np.asarray(mask.dataobj, dtype=float)) != 0
        if not keep.any():
            raise ValueError(f"read_bids_fmri: the brain mask ({how}) has no voxel on the grid of {first_run}.")
        self.mask_img_ = nib.Nifti1Image(keep.astype(np.uint8), ref.affine)
        self._keep = keep
        self._grid = (ref.shape[:3], ref.affine)
        self.masker_ = self
        self.n_parcels_ = int(keep.sum())
        self.parcel_names_ = [f"{i}_{j}_{k}" for i, j, k in np.argwhere(keep)]
        self.resampling_ = (f"voxels: {self.n_parcels_} voxels of the brain mask ({how}); orientation: data axis "
                            f"codes {axis_codes(ref)}; no resampling of the data")
        return self

    def transform(self, img):
        shape, affine = self._grid
        where = getattr(img, "get_filename", lambda: None)() or "image"
        if img.shape[:3] != shape or not np.allclose(img.affine, affine, atol=1e-4):
            raise ValueError(f"{where}: grid {img.shape[:3]} differs from the first run's {shape}; "
                             "parcellate='voxels' needs every run on one grid (resample them, or use an atlas).")
        return check_finite(np.asarray(img.dataobj, dtype=np.float32)[self._keep].T.astype(float),
                            f"voxel signals of {where}")
