"""fMRI readers: BIDS runs, NSD-style HDF5 betas, plain arrays, stimulus embeddings.

All readers return :class:`~neuroaffect.fmri.StimulusResponses` (one row per presented stimulus).

- :func:`read_bids_fmri` finds ``sub-*/[ses-*/]func/*_bold.nii[.gz]`` runs with their
  ``_events.tsv`` (and optional ``_desc-confounds_timeseries.tsv``), extracts parcel signals with a
  :class:`~neuroaffect.fmri.Parcellate` and turns each run into per-trial responses with
  :func:`responses_from_run` (a least-squares-all or least-squares-separate GLM, or HRF-lagged
  averaging); ``parcellate="voxels"`` keeps every voxel of a brain mask instead (for parcellations
  fitted inside each training fold).
- :class:`NSDBetas` reads trial x feature betas from HDF5 lazily (rows on demand).
- :func:`load_embeddings` reads stimulus embeddings (ids + matrix) from HDF5 and
  :func:`align_embeddings` matches them to responses.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from os import PathLike
from pathlib import Path

import numpy as np

from .._atomic import atomic_path, write_text_atomic
from .._validation import FileFormatError, check_file, check_finite, check_option, check_positive
from ..affect.scales import RatingScale
from .responses import SAM_1_9, VAD_NAMES, StimulusResponses

logger = logging.getLogger(__name__)

#: Columns holding per-stimulus ids, searched in this order. ``trial_type`` (a condition name) is
#: never used unless asked for: trials of one condition would collapse into one "stimulus".
STIMULUS_COLUMNS = ("stim_id", "stim_file")

#: How :func:`responses_from_run` estimates one response per trial: a GLM with every trial its own
#: regressor ("least squares all"), one GLM per trial ("least squares separate"), or a lagged mean.
RESPONSE_METHODS = ("glm", "glm-lss", "lagged-mean")


# --------------------------------------------------------------------------- images
#: How the voxel axes of an Analyze file (which stores no orientation) are read: ``"LAS"`` is
#: nibabel's and SPM's default (first axis right to left, "radiological"); ``"RAS"`` its mirror.
ANALYZE_ORIENTATIONS = ("LAS", "RAS")


def is_analyze(img) -> bool:
    """Whether ``img`` is an Analyze 7.5 image (``.img``/``.hdr`` without NIfTI magic)."""
    import nibabel as nib

    return isinstance(img, nib.analyze.AnalyzeImage) and not isinstance(img, nib.Nifti1Pair)


def axis_codes(img) -> str:
    """The image's voxel axis directions in world space, e.g. ``"RAS"`` or ``"LAS"``."""
    import nibabel as nib

    return "".join(nib.aff2axcodes(img.affine))


def _has_mat_file(img) -> bool:
    """SPM writes the voxel-to-world affine of an Analyze image to a ``.mat`` file beside it."""
    filename = img.get_filename()
    return bool(filename) and Path(filename).with_suffix(".mat").is_file()


def load_image(img, ndim: int | None = 4, what: str = "image", *, nonfinite: str | None = None,
               analyze_orientation: str = "LAS"):
    """Load a path or image object with nibabel and check its dimensionality and values.

    Any format nibabel reads (NIfTI-1/2, Analyze, MGH, ...) is accepted. A 4-D image with one
    volume counts as 3-D where ``ndim=3``.

    Parameters
    ----------
    img : path or nibabel image
    ndim : {3, 4, None}, default=4
        ``4``: a time series (``(x, y, z, volumes)``, at least 2 volumes); ``3``: one map (a
        contrast, beta or statistic image); ``None``: any (atlases).
    what : str
        What the image is, for messages (``"fMRI run"``, ``"map"``, ``"atlas"``).
    nonfinite : {"error", "keep"}, optional
        NaN/inf voxels: ``"error"`` refuses them, ``"keep"`` keeps them (SPM writes NaN outside
        the brain; :class:`~neuroaffect.fmri.Parcellate` leaves them out of parcel averages).
        Default ``"keep"`` for ``ndim=3`` and ``"error"`` otherwise. Their number is logged.
    analyze_orientation : {"LAS", "RAS"}, default="LAS"
        Analyze files store no orientation. ``"LAS"`` reads them as nibabel and SPM do by default
        (the first voxel axis runs from right to left); ``"RAS"`` mirrors that (first axis left to
        right). Reading an Analyze file warns; an SPM ``.mat`` file beside it gives the orientation,
        and then this parameter is ignored. It applies to files read from a path: an image object is
        taken with the affine it has. Every file's format, axis codes and number of NaN/inf voxels
        are logged (DEBUG).

    Returns
    -------
    nibabel image
        With its data in memory (read once).

    Raises
    ------
    FileFormatError
        If the file is not an image nibabel can read, is truncated or damaged, has the wrong number
        of dimensions, or holds NaN/inf where ``nonfinite="error"``. The message names the file.
    """
    import nibabel as nib

    check_option("analyze_orientation", analyze_orientation, ANALYZE_ORIENTATIONS)
    if nonfinite is None:
        nonfinite = "keep" if ndim == 3 else "error"
    check_option("nonfinite", nonfinite, ("error", "keep"))
    from_file = isinstance(img, str | PathLike)
    if from_file:
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
            expect = "a 4-D time series (x, y, z, volumes)" if ndim == 4 else "a 3-D volume (one map)"
            raise FileFormatError(where, f"{what} is {img.ndim}-D with shape {img.shape}; expected {expect}"
                                  + (" (pass a list of 3-D maps, or load_image(..., ndim=4) for a run)"
                                     if ndim == 3 else "") + ".")
    if ndim == 4 and img.shape[3] < 2:
        raise FileFormatError(where, f"{what} has {img.shape[3]} volume(s); expected a time series "
                                     "(for a single map use load_image(..., ndim=3)).")
    try:
        data = np.asarray(img.dataobj)
    except Exception as err:  # EOFError, zlib.error, OSError ("Expected n bytes, got m bytes")
        raise FileFormatError(where, f"could not read the voxel data of the {what} ({type(err).__name__}: "
                                     f"{err}); the file looks truncated or damaged: expected "
                                     f"{int(np.prod(img.shape))} voxels of {img.get_data_dtype()}.") from None
    affine = img.affine
    if from_file and is_analyze(img):
        if _has_mat_file(img):
            logger.info("%s: Analyze file with an SPM .mat file: orientation from the .mat file", where)
        else:
            warnings.warn(
                f"{where}: Analyze files store no orientation; reading it as {analyze_orientation} "
                f"(analyze_orientation={analyze_orientation!r}; 'LAS' is nibabel's and SPM's default, "
                "first voxel axis from right to left). If left and right come out mirrored, pass the "
                "other one, or convert the file to NIfTI with a known orientation.", UserWarning, stacklevel=2)
            if analyze_orientation == "RAS":
                affine = np.diag([-1.0, 1.0, 1.0, 1.0]) @ affine
    bad = int((~np.isfinite(data)).sum()) if data.dtype.kind == "f" else 0
    if bad and nonfinite == "error":
        raise FileFormatError(where, f"{what} contains {bad} NaN/inf voxel value(s); expected finite "
                                     "values (mask or interpolate them first).")
    if not isinstance(img.dataobj, np.ndarray) or affine is not img.affine:
        # keep the array just read (no second decompression) and the affine chosen above
        filename = img.get_filename()
        img = img.__class__(data, affine, img.header)
        if filename:
            img.set_filename(filename)
    if from_file:  # one line per file read (DEBUG: read_fmri_maps logs a summary at INFO)
        logger.debug("%s: %s, axis codes %s%s%s", where, type(img).__name__, axis_codes(img),
                     f" (Analyze, read as {analyze_orientation})" if is_analyze(img) and not _has_mat_file(img) else "",
                     f", {bad} of {data.size} voxel value(s) NaN/inf (kept)" if bad else "")
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

    Parameters
    ----------
    path : path
        Tab-separated events table (``n/a`` marks a missing value).
    stimulus_column : str, optional
        Column holding the stimulus id (default: ``stim_id``, else ``stim_file``). ``trial_type``
        names conditions, not stimuli: it is used only when passed here explicitly (when each
        condition is one stimulus).

    Returns
    -------
    DataFrame
        One row per stimulus event: ``onset``, ``duration`` (s) and ``stimulus`` (str) plus the
        file's other columns. Rows whose stimulus id is missing (``n/a``: fixation, responses, ...)
        are dropped with a warning giving their number and the file.

    Raises
    ------
    FileFormatError
        If a column is missing, an onset/duration is not a number, no row has a stimulus id, or a
        stimulus row lacks one of ``valence``/``arousal``/``dominance`` while the columns exist.
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
    if stimulus_column is None:
        stimulus_column = next((c for c in STIMULUS_COLUMNS if c in events.columns), None)
        if stimulus_column is None:
            hint = (" 'trial_type' holds condition names, not stimulus ids: all trials of a condition would become "
                    "one stimulus (and share the first one's ratings), so it is not used silently; pass "
                    "stimulus_column='trial_type' if each condition is one stimulus." if "trial_type" in events.columns
                    else "")
            raise FileFormatError(path, f"no stimulus id column; expected one of {STIMULUS_COLUMNS} "
                                        f"or pass stimulus_column.{hint}")
    elif stimulus_column not in events.columns:
        raise FileFormatError(path, f"stimulus_column {stimulus_column!r} not among {list(events.columns)}.")
    missing_id = events[stimulus_column].isna().to_numpy()
    if missing_id.any():
        # BIDS "n/a" (fixation, button presses, ...): not a stimulus presentation
        warnings.warn(f"{path}: dropped {int(missing_id.sum())} of {len(events)} event row(s) whose "
                      f"{stimulus_column!r} is missing ('n/a' or empty); they are not stimulus trials.",
                      stacklevel=2)
        events = events.loc[~missing_id].copy()
    if not len(events):
        raise FileFormatError(path, f"no event row has a stimulus id in column {stimulus_column!r}; "
                                    "expected at least one stimulus trial.")
    for col in ("onset", "duration"):
        values = pd.to_numeric(events[col], errors="coerce")
        if values.isna().any():
            raise FileFormatError(path, f"column {col!r} has missing or non-numeric values; expected seconds.")
        events[col] = values.astype(float)
    if all(c in events.columns for c in VAD_NAMES):
        no_vad = events[list(VAD_NAMES)].isna().any(axis=1).to_numpy()
        if no_vad.any():
            lines = (events.index[no_vad] + 2).tolist()[:5]  # file lines: 1-based, after the header
            raise FileFormatError(path, f"{int(no_vad.sum())} stimulus event(s) lack a valence, arousal or "
                                        f"dominance value (e.g. lines {lines}); expected ratings for every "
                                        "stimulus trial, or no such columns.")
    events = events.reset_index(drop=True)
    events["stimulus"] = events[stimulus_column].astype(str)
    return events


#: The six rigid-body motion parameters (fMRIPrep names; mm and rad).
MOTION_PARAMETERS = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")

#: Named confound selections for :func:`read_confounds` / :func:`read_bids_fmri` (column names of
#: fMRIPrep's ``desc-confounds_timeseries.tsv``). ``None`` means every numeric column.
CONFOUND_STRATEGIES = {
    "minimal": MOTION_PARAMETERS + ("white_matter", "csf"),
    "minimal+global": MOTION_PARAMETERS + ("white_matter", "csf", "global_signal"),
    "motion": MOTION_PARAMETERS,
    "all": None,
}


def confound_columns(path, available, confounds="minimal") -> list[str]:
    """Names of the confound columns to use from a table with columns ``available``.

    Parameters
    ----------
    path : path
        The confounds file (named in messages).
    available : sequence of str
        Its columns.
    confounds : str or sequence of str
        A strategy of :data:`CONFOUND_STRATEGIES` or explicit column names.

        - ``"minimal"`` (default): the 6 motion parameters ``trans_x .. rot_z`` plus the mean
          ``white_matter`` and ``csf`` signals (nilearn's ``"simple"`` strategy without its cosine
          terms: the GLM has its own drift model). Columns of a strategy that the file lacks are
          skipped (logged), e.g. the simulator writes motion and ``global_signal`` only; if it has
          none of them, no confound is used and a warning says so.
        - ``"minimal+global"``: the same plus ``global_signal`` (global signal regression).
        - ``"motion"``: the 6 motion parameters only.
        - ``"all"``: every numeric column. fMRIPrep files have 100-300 (CompCor components,
          cosines, derivatives, outlier spikes): rarely what you want.
        - A list of column names: exactly those; a missing one is an error.

    Raises
    ------
    FileFormatError
        If an explicitly requested column is not in the file.
    ValueError
        If ``confounds`` is an unknown strategy name.
    """
    available = [str(c) for c in available]
    if isinstance(confounds, str):
        if confounds not in CONFOUND_STRATEGIES:
            raise ValueError(f"Invalid value for the 'confounds' parameter: expected one of "
                             f"{sorted(CONFOUND_STRATEGIES)} or a list of column names, got {confounds!r} "
                             "(pass [name] for a single column).")
        wanted = CONFOUND_STRATEGIES[confounds]
        if wanted is None:
            return available
        chosen = [c for c in wanted if c in available]
        skipped = [c for c in wanted if c not in available]
        if not chosen:
            warnings.warn(f"{path}: none of the confounds={confounds!r} columns {list(wanted)} is in the "
                          f"file (it has {available[:10]}{' ...' if len(available) > 10 else ''}); no "
                          "confound is regressed. Pass confounds=[names] to choose columns.", stacklevel=3)
        elif skipped:
            logger.info("%s: confounds=%r: columns %s absent, using %s", path, confounds, skipped, chosen)
        return chosen
    wanted = [str(c) for c in confounds]
    missing = [c for c in wanted if c not in available]
    if missing:
        more = " ..." if len(available) > 20 else ""
        raise FileFormatError(path, f"confounds parameter asks for column(s) {missing} that the file lacks; "
                                    f"expected names among its columns {available[:20]}{more}.")
    return wanted


def read_confounds(path, columns="minimal") -> np.ndarray:
    """Confound regressors from a TSV (fMRIPrep ``desc-confounds_timeseries.tsv`` or similar).

    Parameters
    ----------
    path : path
        Tab-separated table, one row per volume.
    columns : str or sequence of str
        A named strategy or column names; see :func:`confound_columns` (default ``"minimal"``: the 6
        motion parameters plus ``white_matter`` and ``csf``, those present).

    Returns
    -------
    ndarray, shape (n_volumes, n_confounds)
        Leading NaNs (fMRIPrep's derivatives of the first volume) become 0. ``n_confounds`` may be 0.
    """
    import pandas as pd

    if columns is None:
        raise ValueError("Invalid value for the 'columns' parameter: expected a strategy of "
                         f"{sorted(CONFOUND_STRATEGIES)} or a list of column names, got None "
                         "(every numeric column is 'all').")
    path = check_file(path, "confounds file")
    try:
        table = pd.read_csv(path, sep="\t", na_values=["n/a"])
    except Exception as err:
        raise FileFormatError(path, f"not a tab-separated table ({err}).") from None
    if columns == "all":
        table = table.select_dtypes("number")
    else:
        names = confound_columns(path, table.columns, columns)
        table = table[names]
        text = [c for c in names if not pd.api.types.is_numeric_dtype(table[c])]
        if text:
            raise FileFormatError(path, f"confound column(s) {text} are not numeric; expected numbers per volume.")
    return table.fillna(0.0).to_numpy(float)


# --------------------------------------------------------------------------- one run -> responses
def responses_from_run(signals, events, t_r: float, *, method: str = "glm", confounds=None,
                       hrf_model: str = "glover", high_pass: float = 0.01, noise_model: str = "ar1",
                       lag: float = 5.0, psc: bool = True, subject="01", run="", vad_scale=SAM_1_9,
                       feature_names=(), source: str = "") -> StimulusResponses:
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
    method : {"glm", "glm-lss", "lagged-mean"}
        ``"glm"``: a first-level GLM with one regressor per trial (least squares all, LSA) with
        ``hrf_model``, a cosine drift basis (``high_pass`` Hz), ``confounds`` and an ``noise_model``
        (``"ar1"`` or ``"ols"``) error model; the responses are the trial betas. ``"glm-lss"``:
        least squares separate (LSS; Mumford et al. 2012, NeuroImage 59:2636-2643): one GLM per
        trial, with that trial as one regressor and the other trials as one regressor per condition
        (the events' ``trial_type``, one group when there is no such column), plus the same drifts
        and confounds; the response is the trial's beta. With trials close in time, LSA's
        regressors are collinear and its betas noisy; LSS trades that variance for some bias
        (neighbouring trials leak into each other's betas), which usually decodes better in fast
        event-related designs; with noise-free data only LSA recovers the amplitudes exactly.
        Both run nilearn's GLM (``make_first_level_design_matrix`` and ``run_glm``, the engine of
        ``FirstLevelModel``) on the signal arrays. ``"lagged-mean"``: the mean signal
        over the volumes acquired between ``onset + lag`` and ``onset + duration + lag``, after
        ``confounds`` are regressed out and the signal is linearly detrended and high-passed at
        ``high_pass`` Hz (``nilearn.signal.clean``: a cosine basis, as the GLM's drift model). An event whose window starts after the last volume
        (nothing of it was acquired) is dropped with a warning naming ``source`` and its onset.
    confounds : ndarray, shape (n_volumes, n_confounds), optional
        Nuisance regressors (e.g. from :func:`read_confounds`). ``"lagged-mean"`` refuses
        ``n_confounds >= n_volumes / 2``: regressing that many out leaves almost no signal.
    lag : float
        Seconds from onset to the window of ``"lagged-mean"`` (about the HRF peak).
    psc : bool
        Scale each feature to percent signal change of its run mean first (skipped for a feature
        whose mean is near zero, e.g. already standardised data).
    source : str
        The run's file, named in errors and warnings.

    Returns
    -------
    StimulusResponses
        One row per event, in event order (less events dropped as above).

    Raises
    ------
    ValueError
        If an event starts after the run ends, ``confounds`` has the wrong shape, or there are too
        many regressors for the number of volumes.
    """
    check_option("method", method, RESPONSE_METHODS)
    check_positive("t_r", t_r)
    Y = check_finite(np.asarray(signals, dtype=float), "run signals")
    n_vols = len(Y)
    if psc:
        mean = Y.mean(0)
        scale = np.abs(mean) > 1e-6 * (np.abs(Y).max() + 1e-12)
        Y = np.where(scale, 100 * (Y / np.where(scale, mean, 1) - 1), Y - mean)
    frame_times = np.arange(n_vols) * t_r
    onsets = events["onset"].to_numpy(float)
    where = f"{source}: " if source else ""
    late = onsets >= frame_times[-1] + t_r
    if late.any():
        raise ValueError(f"{where}{late.sum()} event(s) start after the run ends ({n_vols} volumes x {t_r} s).")
    if confounds is not None:
        confounds = check_finite(np.asarray(confounds, dtype=float), "confounds")
        if confounds.ndim != 2 or len(confounds) != n_vols:
            raise ValueError(f"{where}confounds must have shape ({n_vols}, n_confounds), got {confounds.shape}.")
        if confounds.shape[1] == 0:
            confounds = None
    if method in ("glm", "glm-lss"):
        import pandas as pd
        from nilearn.glm.first_level import make_first_level_design_matrix, run_glm

        trial_events = pd.DataFrame({
            "onset": onsets, "duration": events["duration"].to_numpy(float),
            "trial_type": [f"trial{i:05d}" for i in range(len(events))],
        })
        with warnings.catch_warnings():
            if method == "glm-lss":  # the all-trials design may be singular; LSS only takes its columns
                warnings.filterwarnings("ignore", message="Matrix is singular")
            design = make_first_level_design_matrix(
                frame_times, trial_events, hrf_model=hrf_model, drift_model="cosine", high_pass=high_pass,
                add_regs=confounds,
                add_reg_names=None if confounds is None else [f"conf{i}" for i in range(confounds.shape[1])],
            )
        trial_cols = list(trial_events["trial_type"])
        if method == "glm" and len(design.columns) > n_vols:
            raise ValueError(f"{where}the GLM has {len(design.columns)} regressors for {n_vols} volumes; "
                             "use fewer confounds (read_bids_fmri's confounds=), a longer run, "
                             "method='glm-lss' (one GLM per trial) or method='lagged-mean'.")
        n_conditions = events["trial_type"].nunique() if "trial_type" in events.columns else 1
        n_trial_cols = sum(str(c).startswith("trial") for c in design.columns)  # trial x basis function
        n_lss = len(design.columns) - n_trial_cols + n_trial_cols // len(trial_events) * (1 + n_conditions)
        if method == "glm-lss" and n_lss > n_vols:
            raise ValueError(f"{where}each least-squares-separate GLM has {n_lss} regressors for {n_vols} "
                             "volumes; use fewer confounds (read_bids_fmri's confounds=) or a longer run.")
        # a callable hrf_model names its columns "<trial>_<function name>"
        columns = list(design.columns)
        idx = [columns.index(c) if c in columns else next(k for k, d in enumerate(columns) if d.startswith(c + "_"))
               for c in trial_cols]
        if method == "glm":
            labels, results = run_glm(Y, design.to_numpy(), noise_model=noise_model)
            X = np.empty((len(trial_cols), Y.shape[1]))
            for label, res in results.items():
                X[:, labels == label] = res.theta[idx]
        else:
            conditions = (events["trial_type"].astype(str).to_numpy() if "trial_type" in events.columns
                          else np.full(len(events), "trials", dtype=object))
            X = _lss_betas(Y, design, trial_cols, conditions, noise_model)
    else:
        if confounds is not None:
            if confounds.shape[1] >= n_vols / 2:
                raise ValueError(
                    f"{where}lagged-mean with {confounds.shape[1]} confounds for {n_vols} volumes would "
                    "regress most of the signal away; expected fewer than half as many confounds as "
                    "volumes (choose columns with read_bids_fmri's confounds=, e.g. 'minimal')."
                )
            C = np.column_stack([np.ones(n_vols), confounds - confounds.mean(0)])
            Y = Y - C[:, 1:] @ np.linalg.lstsq(C, Y, rcond=None)[0][1:]
        from nilearn.signal import clean

        # slow drifts would otherwise move every lagged window of a run (the GLM has its cosine basis)
        Y = clean(Y, detrend=True, standardize=False, high_pass=high_pass if high_pass else None, t_r=t_r,
                  ensure_finite=True)
        Y = Y - Y.mean(0)
        ends = onsets + events["duration"].to_numpy(float)
        X = np.empty((len(onsets), Y.shape[1]))
        keep = np.ones(len(onsets), dtype=bool)
        for i, (start, stop) in enumerate(zip(onsets + lag, ends + lag, strict=True)):
            sel = (frame_times >= start) & (frame_times <= max(stop, start + t_r))
            if not sel.any():
                if start > frame_times[-1]:  # nothing of the window was acquired
                    keep[i] = False
                    continue
                sel = np.abs(frame_times - start) == np.abs(frame_times - start).min()
            X[i] = Y[sel].mean(0)
        if not keep.all():
            warnings.warn(
                f"{where}dropped {int((~keep).sum())} event(s) (onsets {onsets[~keep][:5].tolist()} s) whose "
                f"lagged-mean window (onset + {lag:g} s) starts after the last volume ({frame_times[-1]:g} s): "
                "no volume of their response was acquired.", stacklevel=2)
            if not keep.any():
                raise ValueError(f"{where}no event has a lagged-mean window inside the run.")
            X, events = X[keep], events.loc[keep].reset_index(drop=True)
    vad = None
    if all(c in events.columns for c in VAD_NAMES):
        vad = events[list(VAD_NAMES)].to_numpy(float)
    return StimulusResponses(X, events["stimulus"].to_numpy(), subject, run, vad,
                             vad_scale if vad is not None else None, tuple(feature_names))


def _lss_betas(Y, design, trial_cols, conditions, noise_model) -> np.ndarray:
    """Least-squares-separate betas: one GLM per trial, (n_trials, n_features).

    ``design`` is the least-squares-all design (one column per trial and basis function, drifts,
    confounds). Trial ``i``'s design keeps its own columns, replaces the other trials' columns by
    their sum per condition (and basis function: convolution is linear, so the sum is the regressor
    of those trials modelled together) and keeps the remaining columns.
    """
    from nilearn.glm.first_level import run_glm

    columns = list(design.columns)
    M = design.to_numpy()
    own = [[k for k, d in enumerate(columns) if d == c or d.startswith(c + "_")] for c in trial_cols]
    trial_idx = {k for ks in own for k in ks}
    rest = M[:, [k for k in range(len(columns)) if k not in trial_idx]]
    n_basis = len(own[0])
    # (n_trials, n_basis, n_vols): each trial's regressor(s), in basis order (the main one first)
    R = np.stack([M[:, ks].T for ks in own])
    groups = {c: np.flatnonzero(conditions == c) for c in dict.fromkeys(conditions)}
    sums = {c: R[i].sum(0) for c, i in groups.items()}  # (n_basis, n_vols) per condition
    X = np.empty((len(trial_cols), Y.shape[1]))
    for i in range(len(trial_cols)):
        others = []
        for c, members in groups.items():
            other = sums[c] - R[i] if conditions[i] == c else sums[c]
            if conditions[i] == c and len(members) == 1:
                continue  # the trial is its condition's only one: no "other trials" regressor
            others.extend(other[b] for b in range(n_basis))
        Mi = np.column_stack([R[i].T, *others, rest]) if others else np.column_stack([R[i].T, rest])
        labels, results = run_glm(Y, Mi, noise_model=noise_model)
        for label, res in results.items():
            X[i, labels == label] = res.theta[0]
    return X


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
        See :func:`responses_from_run`.
    confounds : str, sequence of str or None
        Which columns of each run's ``_desc-confounds_timeseries.tsv`` are regressed out: a strategy
        of :data:`CONFOUND_STRATEGIES` or column names (see :func:`confound_columns`). The default
        ``"minimal"`` takes the 6 motion parameters (``trans_x``, ``trans_y``, ``trans_z``,
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


# --------------------------------------------------------------------------- a whole folder
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
