"""Write synthetic datasets in the exact file layouts of DEAP, SEED, SEED-IV and DREAMER.

Every subject (and session) is generated from its own random stream derived from ``seed``, the
dataset and the subject number, so subject 3 is the same whether 3 or 30 subjects are written, and
:func:`simulate_trials` returns exactly what the matching reader returns from the written files.
Files are written one subject at a time, each atomically (temporary file, then ``os.replace``).
"""

from __future__ import annotations

import datetime
import pickle
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._atomic import atomic_path
from .._validation import check_option, check_positive
from ..affect.categories import categories_to_vad
from ..affect.scales import get_scale
from ..io import get_dataset
from ..io import layouts as L
from ..trials import EEGTrials
from .eeg import FLAVOURS, EffectSizes, SubjectModel, blink_trace

DATASETS = ("deap", "seed", "seed_iv", "dreamer")


@dataclass(frozen=True)
class StudyDesign:
    """The label and between-subject structure of a simulated study.

    Parameters
    ----------
    high_fraction : float or None
        DEAP / DREAMER: the fraction of each subject's trials rated high on valence (at or above
        the scale's midpoint, the usual binary threshold), e.g. 0.75 for a 1:3 imbalance; arousal,
        dominance and liking follow valence as usual. None: ratings uniform on the scale.
    subject_gain_db : float
        Standard deviation (dB) of each subject's per-electrode gains (between-subject offsets).
    """

    high_fraction: float | None = None
    subject_gain_db: float = 1.0

    def __post_init__(self):
        if self.high_fraction is not None and not 0 < self.high_fraction < 1:
            raise ValueError(f"Invalid value for the 'high_fraction' parameter: expected a number in (0, 1), "
                             f"got {self.high_fraction!r}.")
        check_positive("subject_gain_db", self.subject_gain_db)


#: A study like the real ones that defeated the simulator's easy default: a 1:3 valence imbalance
#: and large subject offsets (use with few trials, e.g. 16 per subject, and
#: ``EffectSizes.realistic()``); 1/f background, blinks and drifts are always simulated.
REALISTIC = StudyDesign(high_fraction=0.75, subject_gain_db=3.0)
_CODE = {name: i + 1 for i, name in enumerate(DATASETS)}


def _category_affect(dataset: str) -> dict[int, tuple[float, float, float]]:
    scale = get_scale(dataset)
    codes = np.arange(int(scale.low), int(scale.high) + 1)
    vad = categories_to_vad(codes, scale)
    return {int(c): tuple(float(v) for v in point) for c, point in zip(codes, vad, strict=True)}


#: Normalised (valence, arousal, dominance) that drives the effects of each emotion category: the
#: VAD centres of the matching Russell & Mehrabian (1977) terms (see ``affect.categories_to_vad``).
SEED_AFFECT = _category_affect("seed")
SEED_IV_AFFECT = _category_affect("seed_iv")

_DEFAULT_CHANNELS = {
    "deap": L.DEAP_EEG_CHANNELS,
    "seed": L.SEED_CHANNELS,
    "seed_iv": L.SEED_CHANNELS,
    "dreamer": L.DREAMER_CHANNELS,
}
_DEFAULT_SFREQ = {
    "deap": L.DEAP_SFREQ,
    "seed": L.SEED_SFREQ,
    "seed_iv": 200.0,
    "dreamer": L.DREAMER_SFREQ,
}


# -- ratings ---------------------------------------------------------------------------------
def _ratings(dataset: str, rng, n_trials: int, session: int, high_fraction: float | None = None):
    """Dataset-native ratings (n_trials, n_ratings) and normalised affect (n_trials, 3)."""
    if high_fraction is not None and dataset in ("deap", "dreamer"):
        high = rng.permutation(np.arange(n_trials) < int(round(high_fraction * n_trials)))
    if dataset == "deap":
        if high_fraction is None:
            valence = rng.uniform(1, 9, n_trials)
        else:
            valence = np.where(high, rng.uniform(5, 9, n_trials), rng.uniform(1, 4.99, n_trials))
        arousal = np.clip(rng.uniform(1, 9, n_trials) + 0.3 * np.abs(valence - 5), 1, 9)
        dominance = np.clip(5 + 0.4 * (valence - 5) + rng.normal(0, 1.5, n_trials), 1, 9)
        liking = np.clip(5 + 0.7 * (valence - 5) + rng.normal(0, 1.2, n_trials), 1, 9)
        ratings = np.round(np.column_stack([valence, arousal, dominance, liking]), 2)
        return ratings, get_scale("deap").normalize(ratings[:, :3])
    if dataset == "dreamer":
        ratings = rng.integers(1, 6, (n_trials, 3)).astype(float)
        if high_fraction is not None:
            ratings[:, 0] = np.where(high, rng.integers(3, 6, n_trials), rng.integers(1, 3, n_trials))
        return ratings, get_scale("dreamer").normalize(ratings)
    labels = _category_labels(dataset, n_trials, session)
    proxy = SEED_AFFECT if dataset == "seed" else SEED_IV_AFFECT
    return labels[:, None].astype(float), np.array(
        [proxy[int(c)] for c in labels], dtype=float
    ).reshape(-1, 3)


def _category_labels(dataset, n_trials, session):
    sequence = L.SEED_LABELS if dataset == "seed" else L.SEED_IV_LABELS[(session - 1) % 3 + 1]
    return np.resize(np.asarray(sequence), n_trials)


def _check_count(name: str, value, maximum: int | None = None) -> int:
    if (
        not isinstance(value, int | np.integer)
        or value < 1
        or (maximum is not None and value > maximum)
    ):
        upper = f"1..{maximum}" if maximum else "a positive integer"
        raise ValueError(
            f"Invalid value for the {name!r} parameter: expected {upper}, got {value!r}."
        )
    return int(value)


# -- one subject -----------------------------------------------------------------------------
def _durations(dataset, seed, session, n_trials, trial_duration):
    if trial_duration is not None:
        check_positive("trial_duration", trial_duration)
        return np.full(n_trials, float(trial_duration))
    if dataset == "deap":
        return np.full(n_trials, L.DEAP_STIMULUS_SAMPLES / L.DEAP_SFREQ)
    if dataset == "seed":
        return np.resize(np.asarray(L.SEED_CLIP_SECONDS, dtype=float), n_trials)
    # The same film clips for every subject: lengths depend on the session only.
    rng = np.random.default_rng([seed, _CODE[dataset], 0, session])
    low, high = (100, 240) if dataset == "seed_iv" else (65, 393)
    return np.round(rng.uniform(low, high, n_trials))


def _simulate_session(
    dataset,
    seed,
    subject,
    session,
    *,
    n_trials,
    trial_duration,
    baseline_duration,
    ch_names,
    sfreq,
    effects,
    design=None,
):
    """Signals and baselines in µV (float64), native ratings and ids of one subject's session."""
    design = StudyDesign() if design is None else design
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(
            f"Invalid value for the 'seed' parameter: expected an integer >= 0, got {seed!r}."
        )
    model = SubjectModel(
        ch_names, sfreq, np.random.default_rng([seed, _CODE[dataset], subject]), FLAVOURS[dataset],
        gain_sd_db=design.subject_gain_db,
    )
    rng = np.random.default_rng([seed, _CODE[dataset], subject, session, 1])
    ratings, affect = _ratings(dataset, rng, n_trials, session, design.high_fraction)
    lengths = np.round(_durations(dataset, seed, session, n_trials, trial_duration) * sfreq).astype(
        int
    )
    if lengths.min() < 2 or (baseline_duration and round(baseline_duration * sfreq) < 2):
        raise ValueError(
            f"Trials and baselines must last at least 2 samples at {sfreq:g} Hz; got "
            f"trial_duration={trial_duration!r}, baseline_duration={baseline_duration!r}."
        )
    signals = [model.segment(rng, int(n), affect[i], effects) for i, n in enumerate(lengths)]
    baselines = None
    if baseline_duration:
        n_base = int(round(baseline_duration * sfreq))
        baselines = [model.segment(rng, n_base, fingerprint=False) for _ in range(n_trials)]
    return signals, baselines, ratings


def simulate_trials(
    dataset: str = "deap",
    n_subjects: int = 2,
    n_trials: int = 10,
    *,
    trial_duration: float | None = 10.0,
    baseline_duration: float | None = None,
    n_sessions: int = 1,
    ch_names: Sequence[str] | None = None,
    sfreq: float | None = None,
    effects: EffectSizes | None = None,
    design: StudyDesign | None = None,
    seed: int = 0,
) -> EEGTrials:
    """Simulated trials in memory, as the dataset's reader would return them.

    Parameters
    ----------
    dataset : {"deap", "seed", "seed_iv", "dreamer"}
        ``"seed-iv"`` is accepted for ``"seed_iv"`` (any spelling of :func:`neuroaffect.io.get_dataset`).
        Sets the default channels, sampling rate, ratings (DEAP: continuous 1-9 valence, arousal,
        dominance, liking; DREAMER: integer 1-5 valence, arousal, dominance; SEED / SEED-IV: the
        fixed emotion sequences) and the recording style (DEAP: 4-45 Hz, common average).
    n_subjects, n_trials : int
        Subjects are numbered ``"1"``, ``"2"``, ...; trials 1..n_trials in each session.
    trial_duration : float or None
        Seconds per trial; ``None`` uses the dataset's clip lengths.
    baseline_duration : float or None
        Seconds of resting baseline per trial; ``None``: the dataset's (DEAP 3 s, DREAMER 61 s,
        SEED / SEED-IV none). ``0`` for none.
    n_sessions : int
        Sessions per subject (SEED / SEED-IV use the session's label sequence).
    ch_names, sfreq : optional
        Override the dataset's montage and sampling rate.
    effects : EffectSizes, optional
        Affect effect sizes (default :class:`EffectSizes()`; like real studies:
        ``EffectSizes.realistic()``).
    design : StudyDesign, optional
        Label imbalance and subject offsets (default: balanced ratings, 1 dB offsets; like real
        studies: :data:`REALISTIC`).
    seed : int
        Same seed, same parameters: same data; equal to what ``write_<dataset>`` writes with them.

    Returns
    -------
    trials : EEGTrials
        Signals in volts.
    """
    check_option("dataset", dataset, tuple(s for name in DATASETS for s in get_dataset(name).spellings))
    dataset = get_dataset(dataset).name
    _check_count("n_subjects", n_subjects)
    _check_count("n_trials", n_trials)
    _check_count("n_sessions", n_sessions)
    ch_names = list(_DEFAULT_CHANNELS[dataset] if ch_names is None else ch_names)
    sfreq = _DEFAULT_SFREQ[dataset] if sfreq is None else sfreq
    check_positive("sfreq", sfreq)
    if baseline_duration is None:
        baseline_duration = {
            "deap": L.DEAP_BASELINE_SAMPLES / L.DEAP_SFREQ,
            "dreamer": L.DREAMER_BASELINE_SECONDS,
        }.get(dataset, 0)
    effects = EffectSizes() if effects is None else effects
    parts = []
    for subject in range(1, n_subjects + 1):
        for session in range(1, n_sessions + 1):
            signals, baselines, ratings = _simulate_session(
                dataset,
                seed,
                subject,
                session,
                n_trials=n_trials,
                trial_duration=trial_duration,
                baseline_duration=baseline_duration,
                ch_names=ch_names,
                sfreq=sfreq,
                effects=effects,
                design=design,
            )
            parts.append(
                _to_trials(dataset, signals, baselines, ratings, ch_names, sfreq, subject, session)
            )
    return EEGTrials.concatenate(parts)


def _to_trials(dataset, signals_uv, baselines_uv, ratings, ch_names, sfreq, subject, session):
    names = (
        L.DEAP_RATINGS
        if dataset == "deap"
        else L.DREAMER_RATINGS
        if dataset == "dreamer"
        else ("emotion",)
    )
    scale = get_scale(dataset)
    n = len(signals_uv)
    return EEGTrials(
        signals=[(s * 1e-6).astype(np.float32) for s in signals_uv],
        sfreq=sfreq,
        ch_names=ch_names,
        ratings=ratings,
        rating_names=names,
        scales={name: scale for name in names},
        subject=np.array([str(subject)] * n),
        session=np.full(n, session),
        trial=np.arange(1, n + 1),
        baselines=None
        if baselines_uv is None
        else [(b * 1e-6).astype(np.float32) for b in baselines_uv],
        dataset=dataset,
    )


# -- writing ---------------------------------------------------------------------------------
def _atomic_write(path: Path, write: Callable) -> None:
    """Call ``write(file_object)`` on a temporary file next to ``path``, then rename it."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        write(f)


class _Py2Pickler(pickle._Pickler):
    """Protocol-2 pickler that stores bytes as Python 2 ``str`` (BINSTRING), as DEAP's files do.

    Python 3 writes bytes under protocol 2 through ``_codecs.encode`` of a latin-1 text, about 1.5
    times larger; real DEAP files hold the raw array buffers, read back with ``encoding="latin1"``.
    numpy's functions are named by their numpy 1 module (``numpy.core.multiarray``), as in DEAP.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_bytes(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes

    def save_global(self, obj, name=None):
        # numpy >= 2 lives in numpy._core; name numpy.core (which numpy 2 still resolves) so
        # numpy 1.x and Python 2 era code can read the files too.
        module = getattr(obj, "__module__", None) or ""
        if module.startswith("numpy._core"):
            module = module.replace("numpy._core", "numpy.core", 1)
            self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode("ascii"))
            self.memoize(obj)
            return
        super().save_global(obj, name)


def _savemat(path: Path, variables: dict) -> None:
    import scipy.io

    _atomic_write(
        path, lambda f: scipy.io.savemat(f, variables, do_compression=False, oned_as="row")
    )


def _progress(iterable, progress: bool, desc: str):
    from .._logging import progress_bar

    return progress_bar(iterable, desc=desc, disable=not progress, leave=False)


def _deap_peripheral(seed, subject, n_trials, n_times) -> np.ndarray:
    """Plausible peripheral channels 33-40, shape (n_trials, 8, n_times) (arbitrary units as in DEAP)."""
    rng = np.random.default_rng([seed, _CODE["deap"], subject, 1, 2])
    fs = L.DEAP_SFREQ
    t = np.arange(n_times) / fs
    gsr_level, resp_level, pleth_level = (
        rng.uniform(1e3, 1e4),
        rng.uniform(-1e3, 1e3),
        rng.uniform(-1e3, 1e3),
    )
    heart, breath = rng.uniform(1.0, 1.4), rng.uniform(0.2, 0.35)
    out = np.empty((n_trials, 8, n_times))
    for i in range(n_trials):
        out[i, 0] = np.cumsum(rng.normal(0, 2.0, n_times))  # hEOG: slow saccadic wandering
        out[i, 1] = 3 * blink_trace(rng, n_times, fs, 100.0) + rng.normal(0, 5, n_times)  # vEOG
        out[i, 2:4] = rng.normal(0, 10.0, (2, n_times))  # zygomaticus / trapezius EMG
        out[i, 4] = gsr_level + np.cumsum(rng.normal(0, 3.0, n_times))  # GSR
        out[i, 5] = resp_level + 800 * np.sin(2 * np.pi * breath * t + rng.uniform(0, 6.3))
        pulse = np.sin(2 * np.pi * heart * t) + 0.4 * np.sin(4 * np.pi * heart * t + 1.0)
        out[i, 6] = pleth_level + 500 * pulse + rng.normal(0, 20, n_times)
        out[i, 7] = rng.uniform(30, 34) + 0.01 * np.cumsum(
            rng.normal(0, 0.05, n_times)
        )  # skin temperature
    return out


def write_deap(
    out_dir,
    n_subjects: int = 32,
    *,
    n_trials: int = L.DEAP_N_TRIALS,
    trial_duration: float = L.DEAP_STIMULUS_SAMPLES / L.DEAP_SFREQ,
    effects: EffectSizes | None = None,
    design: StudyDesign | None = None,
    seed: int = 0,
    progress: bool = True,
) -> Path:
    """Write ``data_preprocessed_python/s01.dat ...`` as in DEAP (``effects``, ``design``: as in :func:`simulate_trials`).

    Each file is a Python-2-style protocol-2 pickle (array buffers as BINSTRING; read with
    ``pickle.load(f, encoding="latin1")``) of a dict
    with ``"data"`` (n_trials, 40, 384 + trial_duration * 128) float64 in µV (channels 1-32 EEG in
    Geneva order, 33-40 peripheral; the first 3 s of each trial are the baseline) and ``"labels"``
    (n_trials, 4) float64 valence, arousal, dominance, liking on 1-9. Defaults: the real layout
    (32 subjects, 40 trials of 60 s).

    Returns
    -------
    data_dir : Path
        ``out_dir / "data_preprocessed_python"``.
    """
    _check_count("n_subjects", n_subjects)
    _check_count("n_trials", n_trials)
    data_dir = Path(out_dir) / "data_preprocessed_python"
    for subject in _progress(range(1, n_subjects + 1), progress, "DEAP subjects"):
        signals, baselines, ratings = _simulate_session(
            "deap",
            seed,
            subject,
            1,
            n_trials=n_trials,
            trial_duration=trial_duration,
            baseline_duration=L.DEAP_BASELINE_SAMPLES / L.DEAP_SFREQ,
            ch_names=L.DEAP_EEG_CHANNELS,
            sfreq=L.DEAP_SFREQ,
            effects=effects,
            design=design,
        )
        eeg = np.stack(
            [np.concatenate([b, s], axis=1) for b, s in zip(baselines, signals, strict=True)]
        )
        data = np.concatenate(
            [eeg, _deap_peripheral(seed, subject, n_trials, eeg.shape[-1])], axis=1
        )
        content = {"data": data, "labels": ratings.astype(np.float64)}
        _atomic_write(
            data_dir / f"s{subject:02d}.dat",
            lambda f, c=content: _Py2Pickler(f, protocol=2).dump(c),
        )
        del signals, baselines, eeg, data, content
    return data_dir


def _initials(rng) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return "".join(rng.choice(list(letters), int(rng.integers(2, 4))))


def _session_dates(seed, dataset, subject, n_sessions) -> list[str]:
    rng = np.random.default_rng([seed, _CODE[dataset], subject, 0, 3])
    start = datetime.date(2013 if dataset == "seed" else 2016, 4, 1) + datetime.timedelta(
        days=int(rng.integers(0, 180))
    )
    offsets = np.cumsum(rng.integers(3, 15, n_sessions)) - 3
    return [(start + datetime.timedelta(days=int(d))).strftime("%Y%m%d") for d in offsets]


def _write_seed_like(
    dataset, out_dir, folder, n_subjects, n_trials, trial_duration, sfreq, effects, seed, progress
):
    root = Path(out_dir) / folder
    for subject in _progress(range(1, n_subjects + 1), progress, f"{dataset} subjects"):
        initials = _initials(np.random.default_rng([seed, _CODE[dataset], subject, 0, 4]))
        for session, date in enumerate(_session_dates(seed, dataset, subject, 3), start=1):
            signals, _, _ = _simulate_session(
                dataset,
                seed,
                subject,
                session,
                n_trials=n_trials,
                trial_duration=trial_duration,
                baseline_duration=0,
                ch_names=L.SEED_CHANNELS,
                sfreq=sfreq,
                effects=effects,
            )
            variables = {f"{initials}_eeg{i}": s for i, s in enumerate(signals, start=1)}
            target = (
                root / f"{subject}_{date}.mat"
                if dataset == "seed"
                else root / str(session) / f"{subject}_{date}.mat"
            )
            _savemat(target, variables)
            del signals, variables
    return root


def write_seed(
    out_dir,
    n_subjects: int = 15,
    *,
    n_trials: int = 15,
    trial_duration: float | None = None,
    effects: EffectSizes | None = None,
    seed: int = 0,
    progress: bool = True,
) -> Path:
    """Write ``Preprocessed_EEG/{subject}_{YYYYMMDD}.mat`` (3 sessions per subject) and ``label.mat``.

    Each file holds ``<initials>_eeg1 ... <initials>_eeg{n_trials}``, arrays (62, n_times) float64 in
    µV at 200 Hz; ``label.mat`` holds ``label`` (1, 15) with the fixed SEED sequence. Categories
    drive the effects through :data:`SEED_AFFECT`. ``trial_duration=None`` uses the clip lengths
    of the real recordings (185-265 s).

    Returns
    -------
    data_dir : Path
        ``out_dir / "Preprocessed_EEG"``.
    """
    _check_count("n_subjects", n_subjects)
    if n_trials != len(L.SEED_LABELS):
        raise ValueError(
            f"Invalid value for the 'n_trials' parameter: a SEED session holds {len(L.SEED_LABELS)} trials "
            f"(the reader refuses shorter session files as truncated), got {n_trials!r}."
        )
    root = _write_seed_like(
        "seed",
        out_dir,
        "Preprocessed_EEG",
        n_subjects,
        n_trials,
        trial_duration,
        L.SEED_SFREQ,
        effects,
        seed,
        progress,
    )
    _savemat(root / "label.mat", {"label": np.array([L.SEED_LABELS], dtype=np.int16)})
    return root


def write_seed_iv(
    out_dir,
    n_subjects: int = 15,
    *,
    sfreq: float = 200.0,
    n_trials: int = 24,
    trial_duration: float | None = None,
    effects: EffectSizes | None = None,
    seed: int = 0,
    progress: bool = True,
) -> Path:
    """Write ``eeg_raw_data/{1,2,3}/{subject}_{date}.mat`` with ``<initials>_eeg1..24`` (62, n_times) in µV.

    Labels are not written (SEED-IV has no label file; they are the fixed per-session sequences).
    ``sfreq`` is the rate the signals are generated at: the reader must be told the same rate.

    Returns
    -------
    data_dir : Path
        ``out_dir / "eeg_raw_data"``.
    """
    _check_count("n_subjects", n_subjects)
    _check_count("n_trials", n_trials, 24)
    check_positive("sfreq", sfreq)
    return _write_seed_like(
        "seed_iv",
        out_dir,
        "eeg_raw_data",
        n_subjects,
        n_trials,
        trial_duration,
        sfreq,
        effects,
        seed,
        progress,
    )


def _cell(arrays, shape) -> np.ndarray:
    cell = np.empty(shape, dtype=object)
    for i, a in enumerate(arrays):
        cell.flat[i] = a
    return cell


def write_dreamer(
    out_dir,
    n_subjects: int = L.DREAMER_N_SUBJECTS,
    *,
    n_trials: int = L.DREAMER_N_TRIALS,
    trial_duration: float | None = None,
    effects: EffectSizes | None = None,
    seed: int = 0,
    progress: bool = True,
) -> Path:
    """Write ``DREAMER.mat`` with the struct layout of the real file.

    ``DREAMER.Data{s}.EEG.stimuli{t}`` (n_times, 14) and ``.baseline{t}`` (7808, 14) are time-major
    float64 in µV (with the Emotiv DC offset of about 4200 µV), ``ScoreValence`` / ``ScoreArousal``
    / ``ScoreDominance`` (n_trials, 1) integers 1-5, plus ECG (256 Hz, 2 leads), ``Age``,
    ``Gender``, ``EEG_SamplingRate``, ``EEG_Electrodes``, ``noOfSubjects``, ``noOfVideoSequences``.
    With scipy this reads back as ``mat["DREAMER"][0, 0]["Data"][0, s]["EEG"][0, 0]["stimuli"][0, 0][t, 0]``.
    ``trial_duration=None`` draws clip lengths of 65-393 s (the same clips for every subject).
    All subjects are held in memory (one file).

    Returns
    -------
    data_dir : Path
        ``out_dir`` (containing ``DREAMER.mat``).
    """
    _check_count("n_subjects", n_subjects)
    _check_count("n_trials", n_trials)
    out_dir = Path(out_dir)
    subjects = []
    for subject in _progress(range(1, n_subjects + 1), progress, "DREAMER subjects"):
        signals, baselines, ratings = _simulate_session(
            "dreamer",
            seed,
            subject,
            1,
            n_trials=n_trials,
            trial_duration=trial_duration,
            baseline_duration=L.DREAMER_BASELINE_SECONDS,
            ch_names=L.DREAMER_CHANNELS,
            sfreq=L.DREAMER_SFREQ,
            effects=effects,
        )
        rng = np.random.default_rng([seed, _CODE["dreamer"], subject, 1, 2])
        ecg_stim = [rng.normal(0, 50, (s.shape[1] * 2, 2)) + 2000 for s in signals]
        ecg_base = [rng.normal(0, 50, (b.shape[1] * 2, 2)) + 2000 for b in baselines]
        subjects.append(
            {
                "Age": str(int(rng.integers(22, 34))),
                "Gender": "male" if rng.random() < 0.6 else "female",
                "EEG": {
                    "stimuli": _cell([s.T for s in signals], (n_trials, 1)),
                    "baseline": _cell([b.T for b in baselines], (n_trials, 1)),
                },
                "ECG": {
                    "stimuli": _cell(ecg_stim, (n_trials, 1)),
                    "baseline": _cell(ecg_base, (n_trials, 1)),
                },
                **{field: ratings[:, [j]] for j, field in enumerate(L.DREAMER_SCORE_FIELDS)},
            }
        )
    root = {
        "Data": _cell(subjects, (1, n_subjects)),
        "EEG_SamplingRate": float(L.DREAMER_SFREQ),
        "ECG_SamplingRate": 256.0,
        "EEG_Electrodes": _cell(list(L.DREAMER_CHANNELS), (1, len(L.DREAMER_CHANNELS))),
        "ECG_Electrodes": _cell(["ECG1", "ECG2"], (1, 2)),
        "noOfSubjects": float(n_subjects),
        "noOfVideoSequences": float(n_trials),
        "Disclaimer": "Synthetic data written by neuroaffect.simulate; not the DREAMER recordings.",
    }
    _savemat(out_dir / "DREAMER.mat", {"DREAMER": root})
    return out_dir
