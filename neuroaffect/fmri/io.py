"""fMRI readers: BIDS runs, NSD-style HDF5 betas, stimulus embeddings; one entry point per folder.

All readers return :class:`~neuroaffect.fmri.StimulusResponses` (one row per presented stimulus).
:func:`read_fmri_dir` reads a whole folder (NSD-style or BIDS) with its embeddings. The readers
live in one module per concept, and are re-exported here:

- :mod:`~neuroaffect.fmri.images`: :func:`load_image` (any nibabel format, checked),
  :func:`repetition_time`.
- :mod:`~neuroaffect.fmri.events`: :func:`read_events` (BIDS ``events.tsv``),
  :func:`read_confounds` and :data:`CONFOUND_STRATEGIES` (fMRIPrep confounds).
- :mod:`~neuroaffect.fmri.glm`: :func:`responses_from_run` (a least-squares-all or
  least-squares-separate GLM, or HRF-lagged averaging).
- :mod:`~neuroaffect.fmri.bids`: :func:`find_bids_runs`, :func:`read_bids_fmri` (parcels, or every
  voxel of a brain mask with ``parcellate="voxels"``, for parcellations fitted inside each
  training fold).
- :mod:`~neuroaffect.fmri.nsd`: :class:`NSDBetas` (trial x feature betas from HDF5, rows on
  demand), :func:`load_embeddings` and :func:`align_embeddings` (stimulus embeddings).
"""

from __future__ import annotations

import json
from pathlib import Path

from .._atomic import write_text_atomic
from ..affect.scales import RatingScale
from .bids import find_bids_runs, read_bids_fmri
from .events import (
    CONFOUND_STRATEGIES,
    MOTION_PARAMETERS,
    STIMULUS_COLUMNS,
    confound_columns,
    read_confounds,
    read_events,
)
from .glm import RESPONSE_METHODS, responses_from_run
from .images import ANALYZE_ORIENTATIONS, axis_codes, is_analyze, load_image, repetition_time
from .nsd import (
    NSDBetas,
    align_embeddings,
    load_embeddings,
    read_nsd_betas,
    write_embeddings,
    write_nsd_betas,
)
from .responses import SAM_1_9, StimulusResponses

__all__ = [
    "ANALYZE_ORIENTATIONS", "CONFOUND_STRATEGIES", "MOTION_PARAMETERS", "NSDBetas", "RESPONSE_METHODS",
    "STIMULUS_COLUMNS", "align_embeddings", "axis_codes", "confound_columns", "find_bids_runs", "is_analyze",
    "load_embeddings", "load_image", "read_bids_fmri", "read_confounds", "read_events", "read_fmri_dir",
    "read_nsd_betas", "repetition_time", "responses_from_run", "write_embeddings", "write_json_atomic",
    "write_nsd_betas", "write_text_atomic",
]


def read_fmri_dir(data_dir, parcellate=None, *, method: str = "glm", task: str | None = None,
                  embeddings=None, progress: bool = False, vad_scale: RatingScale | None = None,
                  confounds="minimal", mask_img=None):
    """Read a folder of fMRI data and its stimulus embeddings (if any).

    NSD-style folders (``*_betas.h5`` files, one per subject) are read with :class:`NSDBetas`;
    anything else as BIDS with :func:`read_bids_fmri`. Embeddings come from ``embeddings`` (an
    HDF5 path) or ``<data_dir>/stimuli/embeddings.h5`` when present.

    Parameters
    ----------
    vad_scale : RatingScale, optional
        Scale of the VAD ratings. Default: each HDF5 file's ``vad_scale`` attribute (else SAM 1-9);
        for BIDS, SAM 1-9. Given, it applies to every file.
    confounds : str, sequence of str or None
        BIDS only: see :func:`read_bids_fmri`.
    mask_img : niimg-like, optional
        BIDS with ``parcellate="voxels"`` only: see :func:`read_bids_fmri`.

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
        responses = StimulusResponses.concatenate([NSDBetas(p, vad_scale=vad_scale).read() for p in nsd])
        responses.dataset = str(data_dir)
    else:
        responses = read_bids_fmri(data_dir, parcellate, method=method, task=task, progress=progress,
                                   confounds=confounds, vad_scale=SAM_1_9 if vad_scale is None else vad_scale,
                                   mask_img=mask_img)
    path = Path(embeddings) if embeddings is not None else data_dir / "stimuli" / "embeddings.h5"
    emb = load_embeddings(path) if (embeddings is not None or path.is_file()) else None
    return responses, emb


def write_json_atomic(path, doc: dict) -> Path:
    """Write ``doc`` as indented JSON through a temporary file in the same folder."""
    text = json.dumps(doc, indent=2, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    return write_text_atomic(path, text)
