"""One fMRI run -> one response per trial: a GLM (least squares all or separate) or a lagged mean.

:func:`responses_from_run` takes a run's parcel or voxel signals and its events table
(:func:`~neuroaffect.fmri.read_events`) and returns :class:`~neuroaffect.fmri.StimulusResponses`.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._validation import check_finite, check_option, check_positive
from .responses import SAM_1_9, VAD_NAMES, StimulusResponses

#: How :func:`responses_from_run` estimates one response per trial: a GLM with every trial its own
#: regressor ("least squares all"), one GLM per trial ("least squares separate"), or a lagged mean.
RESPONSE_METHODS = ("glm", "glm-lss", "lagged-mean")


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
        From :func:`~neuroaffect.fmri.read_events` (``onset``, ``duration``, ``stimulus``; optional ``valence``,
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
        Nuisance regressors (e.g. from :func:`~neuroaffect.fmri.read_confounds`). ``"lagged-mean"`` refuses
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
