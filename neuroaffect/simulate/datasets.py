"""Simulated datasets in memory: the trials, ratings and subjects of DEAP, SEED, SEED-IV and DREAMER.

Every subject (and session) is generated from its own random stream derived from ``seed``, the
dataset and the subject number, so subject 3 is the same whether 3 or 30 subjects are simulated,
and :func:`simulate_trials` returns exactly what the matching reader returns from the files that
:mod:`neuroaffect.simulate.writers` writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._validation import check_option, check_positive
from ..affect.categories import categories_to_vad
from ..affect.scales import get_scale
from ..io import layouts as L
from ..trials import EEGTrials
from .eeg import FLAVOURS, EffectSizes, SubjectModel

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
    check_option("dataset", dataset, DATASETS)
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
