"""The tables beside an fMRI run: BIDS ``events.tsv`` and fMRIPrep confounds.

:func:`read_events` gives one row per stimulus presentation; :func:`read_confounds` the nuisance
regressors chosen by a strategy of :data:`CONFOUND_STRATEGIES` (:func:`confound_columns`).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

from .._validation import FileFormatError, check_file
from .responses import VAD_NAMES

logger = logging.getLogger(__name__)

#: Columns holding per-stimulus ids, searched in this order. ``trial_type`` (a condition name) is
#: never used unless asked for: trials of one condition would collapse into one "stimulus".
STIMULUS_COLUMNS = ("stim_id", "stim_file")


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

#: Named confound selections for :func:`read_confounds` / :func:`~neuroaffect.fmri.read_bids_fmri` (column names of
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
