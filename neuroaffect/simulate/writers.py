"""Write the simulated datasets in the exact file layouts of DEAP, SEED, SEED-IV and DREAMER.

Each writer generates the subjects with :func:`~neuroaffect.simulate.simulate_trials` (one random
stream per subject and session, so subject 3 is the same whether 3 or 30 subjects are written) and
writes one subject at a time, each file atomically (temporary file, then ``os.replace``); the
matching reader of :mod:`neuroaffect.io` returns exactly what :func:`simulate_trials` returns.
"""

from __future__ import annotations

import datetime
import pickle
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._atomic import atomic_path
from .._validation import check_positive
from ..io import layouts as L
from .datasets import _CODE, StudyDesign, _check_count, _simulate_session
from .eeg import EffectSizes, blink_trace


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
