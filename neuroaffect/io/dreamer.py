"""DREAMER reader (``DREAMER.mat``, one file for all subjects).

MATLAB layout: ``DREAMER.Data{s}.EEG.stimuli{t}`` (n_times, 14) and ``DREAMER.Data{s}.EEG.baseline{t}``
(7808, 14) = 61 s, time-major, at ``DREAMER.EEG_SamplingRate`` (128 Hz), channels
``DREAMER.EEG_Electrodes`` (Emotiv EPOC order); ``DREAMER.Data{s}.ScoreValence`` / ``ScoreArousal`` /
``ScoreDominance`` (18 x 1, integers 1-5). With scipy that is
``mat["DREAMER"][0, 0]["Data"][0, s]["EEG"][0, 0]["stimuli"][0, 0][t, 0]``.

Values are taken to be µV. Emotiv raw values carry a DC offset of about 4200 µV per channel, which
is kept in ``signals`` and ``baselines``. The band-pass filters of
:class:`~neuroaffect.features.Tokenizer` reject it: the zero-phase methods (``"sos"``, ``"fft"``)
filter the continuous trial with edge padding, and ``method="reference"`` removes each channel's
window mean before its causal filter starts from rest (the published TorchEEG code does not; on
DREAMER the offset's step response would then dominate every band's variance). Anything else that
uses the raw amplitudes (plots, a global z-score, ...) sees the offset. The whole file is read once
and kept (one file at a time) while its subjects are loaded.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from .._validation import FileFormatError
from ..affect.scales import get_scale
from ..channels import normalize_ch_names
from ..trials import EEGTrials
from . import layouts as L
from ._common import DatasetSpec, SubjectSource, check_samples, loadmat


def _file(path) -> Path:
    path = Path(path)
    if path.is_dir():
        path = path / "DREAMER.mat"
    if not path.is_file():
        raise FileNotFoundError(f"DREAMER file not found: {path}")
    return path


def _field(struct, name: str, path: Path, where: str):
    names = struct.dtype.names or ()
    if name not in names:
        raise FileFormatError(
            path,
            f"{where} has no field {name!r} (fields: {list(names)}); expected the DREAMER layout.",
        )
    return struct[name]


def _scalar_struct(value, path, where):
    """Unwrap the (1, 1) arrays scipy uses for MATLAB structs and cells holding one struct."""
    value = np.asarray(value)
    while value.dtype == object and value.size == 1:
        value = np.asarray(value.flat[0])
    if value.dtype.names is None or value.size != 1:
        raise FileFormatError(
            path, f"{where} is not a MATLAB struct (got {value.dtype}, shape {value.shape})."
        )
    return value.flat[0]


@lru_cache(maxsize=1)
def _load(path: Path, mtime_ns: int, size: int):
    mat = loadmat(path, "DREAMER.mat (a struct 'DREAMER')", variable_names=["DREAMER"])
    if "DREAMER" not in mat:
        raise FileFormatError(
            path,
            "is not a DREAMER file: it has no variable 'DREAMER' (the struct with Data, "
            f"EEG_SamplingRate and EEG_Electrodes){_variables_found(path)}.",
        )
    root = _scalar_struct(mat["DREAMER"], path, "'DREAMER'")
    data = np.asarray(_field(root, "Data", path, "DREAMER"))
    sfreq = float(
        np.asarray(_field(root, "EEG_SamplingRate", path, "DREAMER"), dtype=float).ravel()[0]
    )
    electrodes = [
        str(np.asarray(e).ravel()[0])
        for e in np.asarray(_field(root, "EEG_Electrodes", path, "DREAMER")).ravel()
    ]
    ch_names = normalize_ch_names(electrodes, source=f"{path} (DREAMER.EEG_Electrodes)")
    return data.ravel(), sfreq, ch_names


def _variables_found(path: Path) -> str:
    """``"; it holds variables [...]"`` for an error message, or ``""`` if they cannot be listed."""
    import scipy.io

    try:
        names = [name for name, _, _ in scipy.io.whosmat(path)]
    except Exception:
        return ""
    return f"; it holds variables {names}" if names else "; it holds no variables"


def _loaded(path: Path):
    stat = path.stat()
    return _load(path, stat.st_mtime_ns, stat.st_size)


def find_subjects(path) -> dict[str, tuple[Path, ...]]:
    """Subject id (``"1"`` ...) -> (DREAMER.mat,)."""
    path = _file(path)
    data, _, _ = _loaded(path)
    return {str(s): (path,) for s in range(1, data.size + 1)}


def _cells(value, path, where, n_channels):
    cells = np.asarray(value).ravel()
    if cells.size == 1 and np.asarray(cells[0]).dtype == object:
        cells = np.asarray(cells[0]).ravel()
    out = []
    for t, cell in enumerate(cells, start=1):
        array = np.asarray(cell)
        if array.ndim != 2 or array.shape[1] != n_channels:
            raise FileFormatError(
                path,
                f"{where}{{{t}}} has shape {array.shape}; expected time-major (n_times, {n_channels}).",
            )
        check_samples(array, path, f"{where}{{{t}}} (trial {t})")
        out.append(array.T * 1e-6)
    return out


def read_subject(source: SubjectSource) -> EEGTrials:
    """Read one DREAMER subject: 14 channels in volts at 128 Hz, 61 s baselines, scores 1-5."""
    (path,) = source.files
    data, sfreq, ch_names = _loaded(path)
    index = int(source.subject)
    where = f"DREAMER.Data{{{index}}}"
    subject = _scalar_struct(data[index - 1], path, where)
    eeg = _scalar_struct(_field(subject, "EEG", path, where), path, f"{where}.EEG")
    stimuli = _cells(
        _field(eeg, "stimuli", path, f"{where}.EEG"), path, f"{where}.EEG.stimuli", len(ch_names)
    )
    baselines = _cells(
        _field(eeg, "baseline", path, f"{where}.EEG"), path, f"{where}.EEG.baseline", len(ch_names)
    )
    n_base = int(round(L.DREAMER_BASELINE_SECONDS * sfreq))
    for t, b in enumerate(baselines, start=1):
        if b.shape[1] != n_base:
            raise FileFormatError(
                path,
                f"{where}.EEG.baseline{{{t}}} has {b.shape[1]} samples = {b.shape[1] / sfreq:g} s at "
                f"EEG_SamplingRate {sfreq:g} Hz; DREAMER baselines last {L.DREAMER_BASELINE_SECONDS} s "
                f"({n_base} samples). Sampling-rate mismatch or foreign file.",
            )
    scores = []
    for name in L.DREAMER_SCORE_FIELDS:
        column = np.asarray(_field(subject, name, path, where), dtype=float).ravel()
        if column.size != len(stimuli):
            raise FileFormatError(
                path, f"{where}.{name} has {column.size} values for {len(stimuli)} stimuli."
            )
        check_samples(column, path, f"{where}.{name}")
        scores.append(column)
    if len(baselines) != len(stimuli):
        raise FileFormatError(
            path, f"{where}.EEG has {len(stimuli)} stimuli but {len(baselines)} baselines."
        )
    n = len(stimuli)
    scale = get_scale("dreamer")
    try:
        return EEGTrials(
            signals=stimuli,
            sfreq=sfreq,
            ch_names=ch_names,
            ratings=np.column_stack(scores),
            rating_names=L.DREAMER_RATINGS,
            scales={name: scale for name in L.DREAMER_RATINGS},
            subject=np.array([source.subject] * n),
            session=np.ones(n, dtype=int),
            trial=np.arange(1, n + 1),
            baselines=baselines,
            dataset="dreamer",
        )
    except ValueError as err:
        raise FileFormatError(path, f"{where}: {err}") from err


SPEC = DatasetSpec(
    name="dreamer", title="DREAMER", find_subjects=find_subjects, read_subject=read_subject,
    rating_names=L.DREAMER_RATINGS, target="valence", task="binary", protocol="within-subject-kfold",
)


def read_dreamer(path, subjects=None, *, progress: bool = False) -> EEGTrials:
    """Read ``DREAMER.mat``.

    Parameters
    ----------
    path : path-like
        ``DREAMER.mat`` or the folder holding it.
    subjects : int, str or list, optional
        Subject numbers (``1`` ... ``23``); all by default.
    progress : bool
        Show a progress bar over subjects.

    Returns
    -------
    trials : EEGTrials
        14 channels in volts at ``EEG_SamplingRate`` (128 Hz); ``baselines`` the 61 s recorded
        before each clip; ratings valence / arousal / dominance (integers 1-5); session 1, trials
        1-18 in clip order.
    """
    from . import list_subjects, read_sources

    return read_sources(list_subjects("dreamer", path, subjects), progress=progress)
