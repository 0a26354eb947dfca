"""Synthetic fMRI with a known stimulus -> brain encoding map, in real MNI geometry.

Ground truth (:class:`FMRIGroundTruth`): stimulus embeddings (unit vectors with cluster structure, or
embeddings the caller supplies, e.g. real text embeddings), one linear encoding map per subject
(embedding -> parcel responses; a shared map plus a subject-specific deviation) and a VAD map
(embedding -> valence/arousal/dominance through ``tanh``, on the SAM 1-9 scale), so that both the
semantics and the affect of a stimulus can be decoded from the responses.

Two levels of simulation:

- :func:`simulate_responses`: per-stimulus parcel responses directly (fast; for estimator tests).
- :func:`simulate_maps` / :func:`write_fmri_maps`: subject- or trial-level 3-D maps (one per subject or
  trial) with a planted brain-behaviour effect (a blob whose amplitude follows a score), NaN outside
  the brain mask, written as NIfTI or as Analyze in a chosen orientation, plus the table of scores:
  the positive control for :func:`~neuroaffect.fmri.read_fmri_maps` and the ``fmri-maps`` recipe.
- :func:`write_bids_fmri`: whole BIDS datasets. Each parcel's response is a Gaussian blob around the
  parcel's centre (a shipped nilearn coordinate atlas) inside nilearn's MNI152 brain mask at the
  requested resolution; trials are convolved with the Glover HRF; spatially smooth, temporally AR(1)
  noise, a slow drift and a global confound (listed in the confounds TSV) are added.
  :func:`write_nsd_fmri` writes NSD-style HDF5 betas instead.

``snr`` is the ratio of the evoked amplitude's standard deviation to the noise standard deviation:
per parcel and trial in :func:`simulate_responses`, per voxel and volume in :func:`write_bids_fmri`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state

from .._atomic import atomic_path, write_text_atomic
from .._validation import check_option, check_positive
from ..fmri.responses import SAM_1_9, VAD_NAMES, StimulusResponses


@dataclass
class FMRIGroundTruth:
    """What a simulation was generated from.

    Attributes
    ----------
    stimulus : ndarray of str, shape (n_stimuli,)
    embeddings : ndarray, shape (n_stimuli, embed_dim)
        Unit-norm stimulus embeddings.
    clusters : ndarray of int, shape (n_stimuli,)
        Cluster of each stimulus (-1 when embeddings were supplied).
    encoding : ndarray, shape (n_subjects, embed_dim, n_parcels)
        Each subject's linear map from embedding to parcel response (unit-variance responses).
    vad_map : ndarray, shape (embed_dim, 3)
        ``vad = 5 + 4 * tanh(embeddings @ vad_map)`` on the SAM 1-9 scale.
    vad : ndarray, shape (n_stimuli, 3)
    seeds : ndarray, shape (n_parcels, 3) or None
        Parcel centres in MNI mm (image simulations).
    snr : float
    subjects : list of str
    """

    stimulus: np.ndarray
    embeddings: np.ndarray
    clusters: np.ndarray
    encoding: np.ndarray
    vad_map: np.ndarray
    vad: np.ndarray
    seeds: np.ndarray | None
    snr: float
    subjects: list
    atlas: str = ""

    vad_scale = SAM_1_9

    def embedding_of(self, stimulus_ids) -> np.ndarray:
        """Embeddings (n, embed_dim) of the given stimulus ids."""
        lookup = {s: i for i, s in enumerate(self.stimulus)}
        return self.embeddings[[lookup[str(s)] for s in stimulus_ids]]


def make_stimuli(n_stimuli=120, embed_dim=32, n_clusters=6, cluster_spread=1.0, embeddings=None,
                 random_state=None):
    """Stimulus ids, unit-norm embeddings (n_stimuli, embed_dim) and cluster labels.

    Random embeddings are cluster centres plus isotropic spread (``cluster_spread`` relative to
    the unit centre norm). Supplied ``embeddings`` (e.g. text embeddings) are only normalised.
    """
    rng = check_random_state(random_state)
    if embeddings is not None:
        E = np.asarray(embeddings, dtype=float)
        if E.ndim != 2:
            raise ValueError(f"embeddings must have shape (n_stimuli, embed_dim), got {E.shape}.")
        clusters = np.full(len(E), -1)
    else:
        centres = rng.standard_normal((n_clusters, embed_dim))
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        clusters = rng.randint(n_clusters, size=n_stimuli)
        E = centres[clusters] + cluster_spread * rng.standard_normal((n_stimuli, embed_dim)) / np.sqrt(embed_dim)
    E = E / np.linalg.norm(E, axis=1, keepdims=True)
    ids = np.asarray([f"stim{i:04d}" for i in range(len(E))], dtype=object)
    return ids, E, clusters


def make_ground_truth(n_subjects=2, n_parcels=100, n_stimuli=120, embed_dim=32, n_clusters=6,
                      snr=1.0, subject_variability=0.3, vad_gain=1.0, embeddings=None, seeds=None,
                      atlas="", random_state=None) -> FMRIGroundTruth:
    """Draw stimuli, per-subject encoding maps and the VAD map (see the module docstring)."""
    rng = check_random_state(random_state)
    check_positive("snr", snr)
    ids, E, clusters = make_stimuli(n_stimuli, embed_dim, n_clusters, embeddings=embeddings, random_state=rng)
    d = E.shape[1]
    shared = rng.standard_normal((d, n_parcels))
    enc = np.stack([shared + subject_variability * rng.standard_normal((d, n_parcels))
                    for _ in range(n_subjects)])
    # unit variance of each parcel's response over stimuli, so snr has one meaning
    enc /= (E @ enc).std(axis=1, keepdims=True) + 1e-12
    vad_map = rng.standard_normal((d, 3))
    vad_map *= vad_gain / ((E @ vad_map).std(0) + 1e-12)
    vad = np.clip(5 + 4 * np.tanh(E @ vad_map), 1, 9)
    subjects = [f"{s + 1:02d}" for s in range(n_subjects)]
    return FMRIGroundTruth(ids, E, clusters, enc, vad_map, vad, seeds, float(snr), subjects, atlas)


def simulate_responses(n_subjects=2, n_stimuli=120, n_repeats=1, n_parcels=100, embed_dim=32,
                       n_clusters=6, snr=1.0, subject_variability=0.3, vad_gain=1.0, embeddings=None,
                       random_state=None) -> tuple[StimulusResponses, FMRIGroundTruth]:
    """Per-stimulus parcel responses: ``X = embeddings @ encoding[subject] + noise / snr``.

    Returns
    -------
    responses : StimulusResponses
        ``n_subjects * n_stimuli * n_repeats`` rows with VAD on SAM 1-9.
    truth : FMRIGroundTruth
    """
    rng = check_random_state(random_state)
    truth = make_ground_truth(n_subjects, n_parcels, n_stimuli, embed_dim, n_clusters, snr,
                              subject_variability, vad_gain, embeddings, random_state=rng)
    parts = []
    for s, subject in enumerate(truth.subjects):
        idx = np.tile(np.arange(len(truth.stimulus)), n_repeats)
        signal = truth.embeddings[idx] @ truth.encoding[s]
        X = signal + rng.standard_normal(signal.shape) / snr
        run = np.repeat([f"rep-{r + 1}" for r in range(n_repeats)], len(truth.stimulus))
        parts.append(StimulusResponses(X, truth.stimulus[idx], subject, run, truth.vad[idx], SAM_1_9,
                                       tuple(f"parcel{j}" for j in range(n_parcels)), "simulated"))
    return StimulusResponses.concatenate(parts), truth


# --------------------------------------------------------------------------- images
def _atomic_save_img(img, path: Path):
    import nibabel as nib

    with atomic_path(path) as tmp:
        nib.save(img, tmp)


def _blob_patterns(mask, seeds, fwhm):
    """Sparse (n_parcels, n_mask_voxels) Gaussian blobs around ``seeds`` (mm), peak 1."""
    from scipy.sparse import csr_matrix
    from scipy.spatial import cKDTree

    ijk = np.argwhere(mask.get_fdata() > 0)
    xyz = ijk @ mask.affine[:3, :3].T + mask.affine[:3, 3]
    sigma = fwhm / np.sqrt(8 * np.log(2))
    tree = cKDTree(xyz)
    rows, cols, vals = [], [], []
    for j, seed in enumerate(seeds):
        near = tree.query_ball_point(seed, 3 * sigma)
        if not near:
            near = [int(tree.query(seed)[1])]
        near = np.asarray(near)
        d2 = ((xyz[near] - seed) ** 2).sum(1)
        rows.append(np.full(len(near), j))
        cols.append(near)
        vals.append(np.exp(-d2 / (2 * sigma ** 2)))
    P = csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                   shape=(len(seeds), len(xyz)))
    return ijk, P


def delayed_hrf(delay: float = 2.0):
    """A Glover HRF that starts ``delay`` seconds late (peak near 5 + delay s), as an ``hrf_model``
    callable for nilearn and :func:`write_bids_fmri`: data simulated with it test how an analysis with
    the canonical HRF copes with a response of another shape."""
    from nilearn.glm.first_level.hemodynamic_models import glover_hrf

    def hrf(t_r, oversampling=50, time_length=32.0, onset=0.0):
        return glover_hrf(t_r, oversampling, time_length, onset + delay)

    hrf.__name__ = f"glover_delayed_{delay:g}s"
    return hrf


def _trial_regressors(onsets, durations, n_vols, t_r, hrf_model="glover"):
    import pandas as pd
    from nilearn.glm.first_level import make_first_level_design_matrix

    events = pd.DataFrame({"onset": onsets, "duration": durations,
                           "trial_type": [f"t{i:05d}" for i in range(len(onsets))]})
    design = make_first_level_design_matrix(np.arange(n_vols) * t_r, events, hrf_model=hrf_model,
                                            drift_model=None)
    columns = list(design.columns)  # a callable hrf_model names them "<trial>_<function name>"
    picks = [c if c in columns else next(d for d in columns if d.startswith(c + "_")) for c in events["trial_type"]]
    return design[picks].to_numpy()


def simulate_run(truth, subject_index, trial_stimuli, *, mask, ijk, patterns, t_r=2.0,
                 trial_duration=2.0, isi=(3.0, 6.0), signal_pct=2.0, noise_fwhm=8.0, ar1=0.3,
                 hrf_model="glover", random_state=None):
    """One run: (4-D image, events DataFrame, confounds DataFrame) for the given trial order.

    ``hrf_model``: the response shape the data are made with (a nilearn name or a callable such as
    :func:`delayed_hrf`)."""
    import nibabel as nib
    import pandas as pd
    from scipy.ndimage import gaussian_filter

    rng = check_random_state(random_state)
    n_trials = len(trial_stimuli)
    gaps = trial_duration + rng.uniform(*isi, size=n_trials)
    onsets = 4.0 + np.concatenate([[0.0], np.cumsum(gaps[:-1])])
    n_vols = int(np.ceil((onsets[-1] + trial_duration + 16.0) / t_r))
    lookup = {s: i for i, s in enumerate(truth.stimulus)}
    stim_idx = np.array([lookup[s] for s in trial_stimuli])
    amplitudes = truth.embeddings[stim_idx] @ truth.encoding[subject_index]  # (n_trials, n_parcels)
    R = _trial_regressors(onsets, np.full(n_trials, trial_duration), n_vols, t_r, hrf_model)  # (n_vols, n_trials)
    R = R / np.abs(R).max()
    signal = signal_pct * (patterns.T @ (R @ amplitudes).T).T  # (n_vols, n_mask_voxels)

    shape = mask.shape
    sigma_vox = noise_fwhm / np.sqrt(8 * np.log(2)) / np.abs(np.diag(mask.affine)[:3])
    noise_sd = signal_pct / truth.snr
    frame_times = np.arange(n_vols) * t_r
    drift = 0.5 * np.cos(np.pi * frame_times / frame_times[-1])
    global_conf = np.cumsum(rng.standard_normal(n_vols)) * 0.05
    data = np.zeros(shape + (n_vols,), dtype=np.float32)
    inside = tuple(ijk.T)
    prev = None
    for t in range(n_vols):
        white = gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma_vox)
        white /= white[inside].std() + 1e-12
        prev = white if prev is None else ar1 * prev + np.sqrt(1 - ar1 ** 2) * white
        vol = data[..., t]
        vol[inside] = 100.0 + drift[t] + global_conf[t] + signal[t] + noise_sd * prev[inside]
    img = nib.Nifti1Image(data, mask.affine)
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = t_r
    vad = truth.vad[stim_idx]
    events = pd.DataFrame({"onset": np.round(onsets, 3), "duration": trial_duration,
                           "trial_type": "stimulus", "stim_id": trial_stimuli,
                           **{name: np.round(vad[:, k], 4) for k, name in enumerate(VAD_NAMES)}})
    motion = np.cumsum(rng.standard_normal((n_vols, 6)) * 0.01, axis=0)
    confounds = pd.DataFrame(motion, columns=["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"])
    confounds.insert(0, "global_signal", global_conf)
    return img, events, confounds


def write_bids_fmri(out_dir, n_subjects=2, n_runs=2, n_stimuli=40, n_repeats=1, *, resolution=6,
                    atlas="dosenbach160", snr=1.0, t_r=2.0, trial_duration=2.0, isi=(3.0, 6.0),
                    embed_dim=32, n_clusters=6, subject_variability=0.3, blob_fwhm=10.0,
                    noise_fwhm=8.0, signal_pct=2.0, embeddings=None, task="affect",
                    hrf_model="glover", random_state=None) -> tuple[Path, FMRIGroundTruth]:
    """Write a simulated BIDS dataset and return ``(root, truth)``.

    Layout: ``sub-XX/func/sub-XX_task-<task>_run-R_bold.nii.gz`` with ``_events.tsv`` (``onset``,
    ``duration``, ``trial_type``, ``stim_id``, ``valence``, ``arousal``, ``dominance`` on SAM 1-9) and
    ``_desc-confounds_timeseries.tsv``; ``task-<task>_bold.json`` (``RepetitionTime``),
    ``dataset_description.json`` and ``stimuli/embeddings.h5`` (stimulus ids and embeddings).
    Every subject sees every stimulus ``n_repeats`` times, spread over ``n_runs`` runs.

    Parameters
    ----------
    resolution : int
        Voxel size in mm of nilearn's MNI152 brain mask the data live in (6 mm: 34x40x33; 2 mm:
        99x117x95).
    atlas : {"seitzman300", "power264", "dosenbach160"}
        Whose ROI centres carry the parcel responses.
    snr : float
        Evoked-amplitude standard deviation over per-voxel, per-volume noise standard deviation.
    hrf_model : str or callable, default="glover"
        The haemodynamic response the data are made with (a nilearn ``hrf_model`` name, or a
        callable such as :func:`delayed_hrf`); analyses need not assume the same one.
    """
    from nilearn.datasets import load_mni152_brain_mask

    from ..fmri.atlases import COORD_ATLASES, coordinate_atlas
    from ..fmri.nsd import write_embeddings

    check_option("atlas", atlas, COORD_ATLASES)
    check_positive("t_r", t_r)
    rng = check_random_state(random_state)
    seeds, _, _ = coordinate_atlas(atlas)
    truth = make_ground_truth(n_subjects, len(seeds), n_stimuli, embed_dim, n_clusters, snr,
                              subject_variability, embeddings=embeddings, seeds=seeds, atlas=atlas,
                              random_state=rng)
    mask = load_mni152_brain_mask(resolution=resolution)
    ijk, patterns = _blob_patterns(mask, seeds, blob_fwhm)
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    write_text_atomic(root / "dataset_description.json", json.dumps(
        {"Name": "neuroaffect simulated fMRI", "BIDSVersion": "1.9.0", "DatasetType": "raw",
         "GeneratedBy": [{"Name": "neuroaffect.simulate.fmri"}]}, indent=2))
    write_text_atomic(root / f"task-{task}_bold.json", json.dumps(
        {"RepetitionTime": t_r, "TaskName": task}, indent=2))
    write_embeddings(root / "stimuli" / "embeddings.h5", truth.stimulus, truth.embeddings)
    for s, subject in enumerate(truth.subjects):
        order = rng.permutation(np.tile(truth.stimulus, n_repeats))
        func = root / f"sub-{subject}" / "func"
        func.mkdir(parents=True, exist_ok=True)
        for r, trials in enumerate(np.array_split(order, n_runs)):
            img, events, confounds = simulate_run(
                truth, s, list(trials), mask=mask, ijk=ijk, patterns=patterns, t_r=t_r,
                trial_duration=trial_duration, isi=isi, signal_pct=signal_pct, noise_fwhm=noise_fwhm,
                hrf_model=hrf_model, random_state=rng)
            stem = f"sub-{subject}_task-{task}_run-{r + 1}"
            _atomic_save_img(img, func / f"{stem}_bold.nii.gz")
            write_text_atomic(func / f"{stem}_events.tsv", events.to_csv(sep="\t", index=False))
            write_text_atomic(func / f"{stem}_desc-confounds_timeseries.tsv",
                               confounds.to_csv(sep="\t", index=False))
    return root, truth


def write_nsd_fmri(out_dir, n_subjects=2, n_stimuli=120, n_repeats=2, n_parcels=100, snr=1.0,
                   embed_dim=32, random_state=None) -> tuple[Path, FMRIGroundTruth]:
    """Write NSD-style HDF5 betas (``sub-XX_betas.h5``) plus ``stimuli/embeddings.h5``."""
    from ..fmri.nsd import write_embeddings, write_nsd_betas

    responses, truth = simulate_responses(n_subjects, n_stimuli, n_repeats, n_parcels, embed_dim,
                                          snr=snr, random_state=random_state)
    root = Path(out_dir)
    for subject in truth.subjects:
        write_nsd_betas(root / f"sub-{subject}_betas.h5", responses[responses.subject == subject])
    write_embeddings(root / "stimuli" / "embeddings.h5", truth.stimulus, truth.embeddings)
    return root, truth


# --------------------------------------------------------------------------- subject-level maps
@dataclass
class MapsGroundTruth:
    """What :func:`simulate_maps` planted.

    Attributes
    ----------
    table : DataFrame
        One row per map: ``subject`` (and ``session`` when several maps per subject) and ``score``.
    pattern : ndarray, shape (x, y, z)
        The effect's spatial pattern (a Gaussian blob, peak 1) on the maps' grid.
    effect_centre : ndarray, shape (3,)
        Centre of the blob in MNI mm (default in the right hemisphere, x > 0).
    effect_size : float
        Blob amplitude per standard deviation of the score, in units of the voxel noise SD.
    mask_img : Nifti1Image
        The brain mask; maps are NaN outside it.
    """

    table: object
    pattern: np.ndarray
    effect_centre: np.ndarray
    effect_size: float
    mask_img: object


def maps_grid(resolution: int = 6):
    """nilearn's MNI152 brain mask on a grid symmetric about x = 0 whose origin is a whole voxel.

    Analyze headers store the origin as a whole voxel index: on this grid a map written in either
    orientation (LAS or RAS) keeps its exact MNI coordinates.
    """
    import nibabel as nib
    from nilearn.datasets import load_mni152_brain_mask
    from nilearn.image import resample_to_img

    r = float(resolution)
    lo = -r * np.ceil(np.array([90.0, 126.0, 72.0]) / r)
    hi = r * np.ceil(np.array([90.0, 90.0, 108.0]) / r)
    shape = tuple(int(n) for n in np.round((hi - lo) / r) + 1)
    affine = np.diag([r, r, r, 1.0])
    affine[:3, 3] = lo
    target = nib.Nifti1Image(np.zeros(shape, np.uint8), affine)
    mask = resample_to_img(load_mni152_brain_mask(resolution=int(resolution)), target, interpolation="nearest",
                           force_resample=True, copy_header=True)
    return nib.Nifti1Image((np.asarray(mask.dataobj) > 0).astype(np.uint8), affine)


def simulate_maps(n_subjects=30, n_maps=1, effect_size=1.0, *, target_level="subject", resolution=6,
                  effect_centre=(42.0, -24.0, 54.0), effect_fwhm=16.0, noise_fwhm=10.0,
                  subject_sd=0.0, random_state=None):
    """Subject- or trial-level 3-D maps with a planted brain-behaviour effect.

    ``map = effect_size * z(score) * blob + smooth noise`` inside nilearn's MNI brain mask, NaN
    outside (as SPM writes contrast maps). The noise is Gaussian white noise smoothed to
    ``noise_fwhm`` mm and scaled to unit standard deviation per voxel; the blob is a Gaussian of
    ``effect_fwhm`` mm around ``effect_centre`` (by default right-hemisphere sensorimotor cortex).

    Parameters
    ----------
    n_subjects : int, default=30
    n_maps : int, default=1
        Maps per subject (sessions or trials).
    effect_size : float, default=1.0
        Blob amplitude per score standard deviation, in noise SDs. 0 gives a null effect.
    target_level : {"subject", "map"}, default="subject"
        ``"subject"``: one score per subject (all its maps share it; a between-subject design);
        ``"map"``: one score per map (trial-level ratings; a within-subject design).
    resolution : int, default=6
        Voxel size in mm (see :func:`maps_grid`).
    effect_centre : sequence of 3 floats, default=(42, -24, 54)
        MNI mm.
    effect_fwhm, noise_fwhm : float
        mm.
    subject_sd : float, default=0.0
        SD of a per-subject offset of all its maps (noise shared by a subject's maps).
    random_state : int, optional

    Returns
    -------
    maps : list of Nifti1Image
        In RAS orientation, float32, NaN outside the brain.
    truth : MapsGroundTruth
        With the table (``subject``, ``session`` when ``n_maps > 1``, ``score``).
    """
    import nibabel as nib
    import pandas as pd
    from scipy.ndimage import gaussian_filter

    check_option("target_level", target_level, ("subject", "map"))
    check_positive("n_subjects", n_subjects)
    rng = check_random_state(random_state)
    mask_img = maps_grid(resolution)
    mask = np.asarray(mask_img.dataobj) > 0
    affine = mask_img.affine
    ijk = np.indices(mask.shape).reshape(3, -1).T
    xyz = ijk @ affine[:3, :3].T + affine[:3, 3]
    centre = np.asarray(effect_centre, dtype=float)
    sigma = effect_fwhm / np.sqrt(8 * np.log(2))
    pattern = np.exp(-((xyz - centre) ** 2).sum(1) / (2 * sigma ** 2)).reshape(mask.shape)
    sigma_vox = noise_fwhm / np.sqrt(8 * np.log(2)) / float(resolution)
    subjects = [f"{s + 1:02d}" for s in range(n_subjects)]
    if target_level == "subject":
        per_subject = rng.standard_normal(n_subjects)
        scores = np.repeat(per_subject, n_maps)
    else:
        scores = rng.standard_normal(n_subjects * n_maps)
    z = (scores - scores.mean()) / (scores.std() + 1e-12)
    maps = []
    for n in range(n_subjects * n_maps):
        if n % n_maps == 0:
            offset = subject_sd * rng.standard_normal()
        noise = gaussian_filter(rng.standard_normal(mask.shape), sigma_vox)
        noise /= noise[mask].std() + 1e-12
        data = effect_size * z[n] * pattern + noise + offset
        maps.append(nib.Nifti1Image(np.where(mask, data, np.nan).astype(np.float32), affine))
    table = pd.DataFrame({"subject": np.repeat(subjects, n_maps)})
    if n_maps > 1:
        table["session"] = np.tile([str(k + 1) for k in range(n_maps)], n_subjects)
    table["score"] = np.round(50 + 10 * scores, 6)
    return maps, MapsGroundTruth(table, pattern, centre, float(effect_size), mask_img)


def write_analyze(img, path, orientation: str = "LAS") -> Path:
    """Write a RAS-oriented image as an Analyze ``.img``/``.hdr`` pair whose voxels are stored in
    ``orientation`` (``"LAS"``: first axis right to left, as SPM writes; ``"RAS"``: left to right).

    Analyze stores voxel sizes and (SPM) a whole-voxel origin, but no orientation and no ``.mat``
    file here: a reader must be told the orientation (nibabel assumes LAS). The grid must have its
    world origin on a whole voxel (:func:`maps_grid`).
    """
    import nibabel as nib

    check_option("orientation", orientation, ("LAS", "RAS"))
    path = Path(path)
    if path.suffix != ".img":
        raise ValueError(f"Analyze path must end in .img, got {path}.")
    affine = img.affine
    if not np.allclose(affine[:3, :3], np.diag(np.diag(affine[:3, :3]))) or (np.diag(affine)[:3] <= 0).any():
        raise ValueError("write_analyze expects a RAS image with a diagonal affine (e.g. maps_grid's).")
    data = np.asarray(img.dataobj, dtype=np.float32)
    origin = np.linalg.solve(affine[:3, :3], -affine[:3, 3])  # voxel of world (0, 0, 0)
    if not np.allclose(origin, np.round(origin)):
        raise ValueError(f"the world origin falls at voxel {origin.tolist()}, not on a whole voxel; Analyze cannot "
                         "store it (use maps_grid()).")
    if orientation == "LAS":
        data = data[::-1]
        origin[0] = data.shape[0] - 1 - origin[0]
    out = nib.Spm2AnalyzeImage(data, None)
    out.header.set_zooms(tuple(float(z) for z in np.diag(affine)[:3]))
    out.header["origin"][:3] = np.round(origin).astype(int) + 1  # SPM: 1-based
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(out, path)
    path.with_suffix(".mat").unlink(missing_ok=True)  # no orientation beside the file
    return path


def write_fmri_maps(out_dir, n_subjects=30, n_maps=1, effect_size=1.0, *, file_format="nifti",
                    orientation="LAS", table_name="participants.tsv", random_state=None,
                    **kwargs) -> tuple[Path, Path, MapsGroundTruth]:
    """Write :func:`simulate_maps` maps and their table; return ``(maps folder, table path, truth)``.

    Files: ``sub-XX[_ses-S]_map.nii.gz`` (``file_format="nifti"``) or ``sub-XX[_ses-S]_map.img``
    + ``.hdr`` (``"analyze"``, voxels stored in ``orientation``), and ``table_name`` (tab-separated:
    ``subject``, ``session`` when ``n_maps > 1``, ``score``) in the same folder.

    Parameters
    ----------
    file_format : {"nifti", "analyze"}
    orientation : {"LAS", "RAS"}
        Analyze only: how the voxels are stored (see :func:`write_analyze`).
    **kwargs
        Passed to :func:`simulate_maps` (``target_level``, ``resolution``, ``effect_centre``, ...).
    """
    check_option("file_format", file_format, ("nifti", "analyze"))
    maps, truth = simulate_maps(n_subjects, n_maps, effect_size, random_state=random_state, **kwargs)
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    for img, row in zip(maps, truth.table.itertuples(index=False), strict=True):
        stem = f"sub-{row.subject}" + (f"_ses-{row.session}" if "session" in truth.table.columns else "") + "_map"
        if file_format == "nifti":
            _atomic_save_img(img, root / f"{stem}.nii.gz")
        else:
            write_analyze(img, root / f"{stem}.img", orientation)
    table_path = write_text_atomic(root / table_name, truth.table.to_csv(sep="\t", index=False))
    return root, Path(table_path), truth
