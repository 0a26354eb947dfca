"""The EEG simulator: determinism, realistic spectra, recoverable affect effects, trial fingerprints."""

import numpy as np
import pytest
from scipy.signal import periodogram, welch

from neuroaffect.simulate import SEED_IV_AFFECT, EffectSizes, SubjectModel, simulate_trials
from neuroaffect.simulate.eeg import FLAVOURS, LEFT_FRONTAL, RIGHT_FRONTAL


def band_db(trials, low, high, nperseg_s=2.0):
    """Band power (dB re 1 V²) per trial and channel, from Welch spectra; shape (n_trials, n_channels)."""
    x = np.stack(trials.signals).astype(float)
    f, p = welch(x, fs=trials.sfreq, nperseg=int(nperseg_s * trials.sfreq), axis=-1)
    band = (f >= low) & (f <= high)
    return 10 * np.log10(p[..., band].mean(-1))


def idx(trials, names):
    return [list(trials.ch_names).index(n) for n in names if n in trials.ch_names]


def test_deterministic_and_subject_streams_independent_of_n_subjects():
    a = simulate_trials(
        "dreamer", n_subjects=2, n_trials=3, trial_duration=2.0, baseline_duration=0, seed=7
    )
    b = simulate_trials(
        "dreamer", n_subjects=3, n_trials=3, trial_duration=2.0, baseline_duration=0, seed=7
    )
    c = simulate_trials(
        "dreamer", n_subjects=2, n_trials=3, trial_duration=2.0, baseline_duration=0, seed=8
    )
    for x, y in zip(a.signals, b.signals[:6], strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.ratings, b.ratings[:6])
    assert not np.allclose(a.signals[0], c.signals[0])
    assert list(b.subject) == ["1"] * 3 + ["2"] * 3 + ["3"] * 3


def test_psd_scaling_matches_the_model():
    """The frequency-domain synthesis produces the PSD it is given (no effects, no artefacts)."""
    from neuroaffect.simulate.eeg import Flavour

    flavour = Flavour(blink_uv=0.0, drift_uv=0.0)
    model = SubjectModel(["O1", "Oz", "O2", "Cz"], 128.0, np.random.default_rng(0), flavour)
    rng = np.random.default_rng(1)
    x = np.stack([model.segment(rng, 128 * 20, effects=EffectSizes.none()) for _ in range(20)])
    # The synthesis is circular, so a rectangular-window periodogram has no leakage.
    f, p = periodogram(x, fs=128.0, window="boxcar", axis=-1)
    expected = model.psd(f) * 10 ** (model.gain_db[:, None] / 10)
    band = (f >= 1) & (f < 61)
    ratio = p.mean(0)[:, band] / expected[:, band]
    smoothed = ratio.reshape(4, -1, 100).mean(-1)  # 5 Hz bins: 2000 periodogram values each
    assert np.abs(np.log10(smoothed)).max() < 0.05
    assert abs(np.log10(ratio.mean())) < 0.01
    np.testing.assert_allclose(x.var(-1).mean(0), expected[:, 1:].sum(1) * f[1], rtol=0.05)


def test_realistic_spectrum_alpha_peak_and_amplitude():
    trials = simulate_trials(
        "seed_iv", n_subjects=3, n_trials=2, trial_duration=20.0, effects=EffectSizes.none(), seed=3
    )
    x = np.stack(trials.signals) * 1e6
    rms = x.std(-1)
    assert 5 < np.median(rms) < 60  # µV, like scalp EEG
    f, p = welch(
        x[:, idx(trials, ["O1", "Oz", "O2"])],
        fs=trials.sfreq,
        nperseg=int(4 * trials.sfreq),
        axis=-1,
    )
    for s in ["1", "2", "3"]:
        spectrum = p[trials.subject == s].mean((0, 1))
        search = (f >= 6) & (f <= 14)
        peak = f[search][np.argmax(spectrum[search])]
        assert 8.5 <= peak <= 12.0
        # Aperiodic fall-off: 2-4 Hz power well above 30-40 Hz power.
        assert spectrum[(f >= 2) & (f <= 4)].mean() > 10 * spectrum[(f >= 30) & (f <= 40)].mean()
    peaks = [
        f[(f >= 6) & (f <= 14)][
            np.argmax(p[trials.subject == s].mean((0, 1))[(f >= 6) & (f <= 14)])
        ]
        for s in "123"
    ]
    assert len(set(peaks)) > 1  # subject-specific alpha frequency


def test_spatial_correlation_decreases_with_distance():
    trials = simulate_trials(
        "seed_iv", n_subjects=1, n_trials=2, trial_duration=20.0, effects=EffectSizes.none(), seed=0
    )
    x = np.concatenate(trials.signals, axis=1)
    from scipy.signal import butter, sosfiltfilt

    x = sosfiltfilt(
        butter(4, [15, 40], "bandpass", fs=trials.sfreq, output="sos"), x
    )  # away from blinks/alpha
    corr = np.corrcoef(x)
    near = corr[trials.ch_names.index("C3"), trials.ch_names.index("C1")]
    far = corr[trials.ch_names.index("C3"), trials.ch_names.index("O2")]
    assert near > 0.3 and abs(far) < 0.15


def test_blinks_on_frontal_channels_only():
    from neuroaffect.simulate.eeg import Flavour

    names = ["Fp1", "AF3", "Cz", "Pz"]
    power = {}
    for blink in (0.0, 100.0):
        model = SubjectModel(names, 128.0, np.random.default_rng(0), Flavour(blink_uv=blink))
        x = model.segment(np.random.default_rng(1), 128 * 60, effects=EffectSizes.none())
        f, p = welch(x, fs=128.0, nperseg=512, axis=-1)
        power[blink] = 10 * np.log10(p[:, (f >= 0.5) & (f <= 3)].mean(-1))
    gain = power[100.0] - power[0.0]
    assert gain[0] > 6 and gain[1] > 2  # Fp1, AF3
    assert gain[3] < 0.5  # Pz


FEW = ["Fp1", "AF3", "F3", "Fp2", "AF4", "F4", "Cz", "Pz", "O1", "O2"]


def _faa_slope(effects, seed=0):
    trials = simulate_trials(
        "seed_iv",
        n_subjects=1,
        n_trials=24,
        trial_duration=20.0,
        effects=effects,
        seed=seed,
        ch_names=FEW,
    )
    alpha = band_db(trials, 8.5, 12.5)
    faa = alpha[:, idx(trials, RIGHT_FRONTAL)].mean(1) - alpha[:, idx(trials, LEFT_FRONTAL)].mean(1)
    valence = np.array([SEED_IV_AFFECT[int(c)][0] for c in trials.rating("emotion")])
    return np.polyfit(valence, faa, 1)[0], np.corrcoef(valence, faa)[0, 1]


def test_valence_effect_frontal_alpha_asymmetry_recovered():
    slope, r = _faa_slope(EffectSizes(valence_asymmetry_db=3.0, fingerprint_db=0.0))
    assert slope == pytest.approx(3.0, rel=0.2) and r > 0.8
    slope, r = _faa_slope(EffectSizes(valence_asymmetry_db=-3.0, fingerprint_db=0.0))
    assert slope == pytest.approx(-3.0, rel=0.2)
    slope, _ = _faa_slope(EffectSizes.none())
    assert abs(slope) < 0.5


def test_default_effects_deap_signs_and_arousal_effects():
    """With the default (modest) sizes, fingerprints and DEAP's preprocessing, the signs are recovered."""
    trials = simulate_trials("deap", n_subjects=1, n_trials=40, trial_duration=12.0, seed=1)
    scale = trials.scales["valence"]
    valence, arousal = (
        scale.normalize(trials.rating("valence")),
        scale.normalize(trials.rating("arousal")),
    )
    alpha, beta = band_db(trials, 8.5, 12.5), band_db(trials, 14, 29)
    faa = alpha[:, idx(trials, RIGHT_FRONTAL)].mean(1) - alpha[:, idx(trials, LEFT_FRONTAL)].mean(1)
    assert np.corrcoef(valence, faa)[0, 1] > 0.2
    posterior = [i for i, n in enumerate(trials.ch_names) if n.startswith(("P", "O"))]
    defaults = EffectSizes()
    alpha_slope = np.polyfit(arousal, alpha[:, posterior].mean(1), 1)[0]
    beta_slope = np.polyfit(arousal, beta.mean(1), 1)[0]
    assert alpha_slope == pytest.approx(defaults.arousal_alpha_db, abs=0.4)
    assert beta_slope == pytest.approx(defaults.arousal_beta_db, abs=0.3)


def test_trial_fingerprint_makes_windows_of_one_trial_alike():
    def within_between(effects):
        trials = simulate_trials(
            "seed_iv",
            n_subjects=1,
            n_trials=8,
            trial_duration=40.0,
            effects=effects,
            seed=5,
            ch_names=FEW,
        )
        x = np.stack(trials.signals).astype(float)  # (trials, channels, times)
        n_win = 8
        windows = x.reshape(x.shape[0], x.shape[1], n_win, -1)
        f, p = welch(windows, fs=trials.sfreq, nperseg=int(trials.sfreq), axis=-1)
        feats = np.stack(
            [
                10 * np.log10(p[..., (f >= lo) & (f < hi)].mean(-1))
                for lo, hi in [(4, 8), (8, 13), (13, 30), (30, 45)]
            ],
            -1,
        )
        feats = feats.transpose(0, 2, 1, 3).reshape(
            x.shape[0], n_win, -1
        )  # (trials, windows, features)
        flat = feats.reshape(-1, feats.shape[-1])
        d = np.linalg.norm(flat[:, None] - flat[None], axis=-1)
        label = np.repeat(np.arange(x.shape[0]), n_win)
        same = label[:, None] == label[None]
        off_diag = ~np.eye(len(label), dtype=bool)
        return d[same & off_diag].mean(), d[~same].mean()

    within, between = within_between(EffectSizes(fingerprint_db=2.0, fingerprint_fraction=0.5))
    assert within < 0.85 * between
    within0, between0 = within_between(EffectSizes.none())
    assert within0 > 0.95 * between0


def test_flavours_deap_is_band_limited_and_dreamer_has_dc_offset():
    deap = simulate_trials("deap", n_subjects=1, n_trials=2, trial_duration=10.0, seed=0)
    assert deap.baselines[0].shape == (32, 384)
    assert np.abs(np.stack(deap.signals).sum(1)).max() < 1e-9  # common average reference
    power = band_db(deap, 1, 2.5).mean() - band_db(deap, 8, 12).mean()
    assert power < -20  # below the 4 Hz high-pass
    dreamer = simulate_trials("dreamer", n_subjects=1, n_trials=1, trial_duration=5.0, seed=0)
    assert 3.5e-3 < np.mean(dreamer.signals[0]) < 5e-3  # ~4200 µV Emotiv offset
    assert dreamer.baselines[0].shape == (14, 61 * 128)
    assert FLAVOURS["seed"].passband == (0.0, 75.0)


def test_dominance_effect_on_frontal_beta():
    effects = EffectSizes(dominance_beta_db=2.0, fingerprint_db=0.0)
    trials = simulate_trials(
        "dreamer",
        1,
        30,
        trial_duration=10.0,
        baseline_duration=0,
        effects=effects,
        seed=4,
        ch_names=FEW,
    )
    dominance = trials.scales["dominance"].normalize(trials.rating("dominance"))
    beta = band_db(trials, 14, 29)
    frontal = idx(trials, ["AF3", "F3", "AF4", "F4"])
    others = idx(trials, ["Cz", "Pz", "O1", "O2"])
    assert np.polyfit(dominance, beta[:, frontal].mean(1), 1)[0] == pytest.approx(2.0, rel=0.25)
    assert abs(np.polyfit(dominance, beta[:, others].mean(1), 1)[0]) < 0.4
