"""Band differential entropy: closed forms on white noise, scaling laws, filters, errors."""

import numpy as np
import pytest
from scipy import signal
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from neuroaffect import EEGTrials
from neuroaffect.features import (
    BAND_PRESETS,
    DEFAULT_BANDS,
    BandDifferentialEntropy,
    Tokenizer,
    check_bands,
    differential_entropy,
    resolve_bands,
)
from neuroaffect.features.filters import design_filters, sosfiltfilt_rows

CH16 = ["Fz", "Cz", "Pz", "Oz", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "T7", "T8", "Fp1", "Fp2"]
SIGMA = 1e-5  # volts


def noise_trials(sfreq, seconds, n_channels=16, seed=0, n_trials=1):
    rng = np.random.default_rng(seed)
    data = SIGMA * rng.standard_normal((n_trials, n_channels, int(round(seconds * sfreq))))
    return EEGTrials.from_arrays(data, sfreq, CH16[:n_channels])


def mean_variance(de):
    """Invert DE (nats) to variances and average them over windows and channels, per band.

    Averaging variances rather than DE avoids the log's (Jensen) bias on short windows.
    """
    return (np.exp(2 * de.astype(np.float64)) / (2 * np.pi * np.e)).mean(axis=(0, 1))


@pytest.mark.parametrize("method", ["sos", "fft"])
@pytest.mark.parametrize("sfreq", [128.0, 200.0, 1000.0])
def test_white_noise_matches_filter_response_and_ideal_band(sfreq, method):
    seconds, n_channels = 300.0, 16
    trials = noise_trials(sfreq, seconds, n_channels, seed=int(sfreq))
    tokens = Tokenizer(window=10.0, method=method).transform(trials)
    measured = mean_variance(tokens.X)
    for (name, lo, hi), sos, var in zip(DEFAULT_BANDS, design_filters(None, sfreq), measured, strict=True):
        # Zero phase = the filter applied twice: white noise keeps s2 * mean |H|^4 over [0, Nyquist).
        _, h = signal.sosfreqz(sos, worN=1 << 16)
        expected = SIGMA**2 * np.mean(np.abs(h) ** 4)
        # The variance estimate of noise of bandwidth B over T seconds has relative sd ~ 1/sqrt(B T).
        rel_sd = 1 / np.sqrt((hi - lo) * seconds * n_channels)
        assert abs(var / expected - 1) < 4 * rel_sd, (name, sfreq, var / expected)
        # The ideal band keeps s2 * 2 (hi - lo) / sfreq; the Butterworth's roll-off keeps ~0.90 of it.
        ideal_de = 0.5 * np.log(2 * np.pi * np.e * SIGMA**2 * 2 * (hi - lo) / sfreq)
        measured_de = 0.5 * np.log(2 * np.pi * np.e * var)
        assert -0.08 < measured_de - ideal_de < 0.0, (name, sfreq, measured_de - ideal_de)


def test_reference_method_white_noise_matches_causal_response():
    sfreq = 200.0
    X = SIGMA * np.random.default_rng(5).standard_normal((40, 4, int(20 * sfreq)))
    bde = BandDifferentialEntropy(sfreq, method="reference").fit(X)
    measured = mean_variance(bde.transform(X))
    for (b, a), var in zip(bde.filters_, measured, strict=True):
        _, h = signal.freqz(b, a, worN=1 << 16)
        expected = SIGMA**2 * np.mean(np.abs(h) ** 2)  # one causal pass: |H|^2
        assert abs(var / expected - 1) < 0.05


def test_scaling_shifts_de_by_log_c_and_log2_is_nats_over_ln2():
    trials = noise_trials(128.0, 6.0, 4, seed=3)
    c = 3.7
    scaled = EEGTrials.from_arrays([s * c for s in trials.signals], 128.0, trials.ch_names)
    nats = Tokenizer().transform(trials).X
    np.testing.assert_allclose(Tokenizer().transform(scaled).X - nats, np.log(c), atol=2e-5)
    bits = Tokenizer(log_base=2).transform(trials).X
    np.testing.assert_allclose(bits, nats / np.log(2), rtol=1e-6)
    bits_scaled = Tokenizer(log_base=2).transform(scaled).X
    np.testing.assert_allclose(bits_scaled - bits, np.log2(c), atol=3e-5)
    windows = np.stack(trials.signals)[:, :, :256]
    de = BandDifferentialEntropy(128.0).fit_transform(windows)
    np.testing.assert_allclose(BandDifferentialEntropy(128.0).fit_transform(c * windows) - de, np.log(c), atol=2e-5)


def test_differential_entropy_closed_form():
    var = np.array([1.0, 2.0, 1e-10])
    np.testing.assert_allclose(differential_entropy(var), 0.5 * np.log(2 * np.pi * np.e * var))
    np.testing.assert_allclose(differential_entropy(var, 2), 0.5 * np.log2(2 * np.pi * np.e * var))


def test_default_is_window_length_invariant_reference_loses_power_to_transients():
    """Filtering the continuous trial once gives the same band power whatever the window length;
    filtering every window from rest (the published pipeline) loses power to the start-up transient
    on short windows, most in the narrow low bands."""
    trials = noise_trials(128.0, 400.0, 16, seed=1)
    power = {}
    for method in ("sos", "reference"):
        for window in (8.0, 1.0, 0.5):
            power[method, window] = mean_variance(Tokenizer(window=window, method=method).transform(trials).X)
    for window in (1.0, 0.5):
        np.testing.assert_allclose(power["sos", window] / power["sos", 8.0], 1.0, atol=0.015)
    ratio_1s = power["reference", 1.0] / power["reference", 8.0]
    ratio_half = power["reference", 0.5] / power["reference", 8.0]
    assert ratio_1s[0] < 0.8 and ratio_half[0] < 0.5  # theta
    assert np.all(ratio_half < ratio_1s) and np.all(ratio_1s < 0.97)
    # On long windows the two agree once their different bandwidths are accounted for.
    sos_bw = [np.mean(np.abs(signal.sosfreqz(s, 1 << 14)[1]) ** 4) for s in design_filters(None, 128.0)]
    ref_bw = [np.mean(np.abs(signal.freqz(b, a, 1 << 14)[1]) ** 2)
              for b, a in design_filters(None, 128.0, "reference")]
    expected = np.array(ref_bw) / np.array(sos_bw)
    np.testing.assert_allclose(power["reference", 8.0] / power["sos", 8.0], expected, rtol=0.04)


def test_reference_tokenizer_equals_reference_transformer_on_cut_windows():
    trials = noise_trials(128.0, 5.0, 3, seed=2, n_trials=2)
    tokens = Tokenizer(window=1.0, hop=0.5, method="reference", log_base=2, zscore=True).transform(trials)
    windows = np.concatenate([
        np.stack([s[:, a:b] for a, b in zip(tokens.start[tokens.trial_key == key],
                                             tokens.stop[tokens.trial_key == key], strict=True)])
        for key, s in zip(trials.trial_keys, trials.signals, strict=True)
    ])
    bde = BandDifferentialEntropy(128.0, method="reference", log_base=2, zscore=True)
    np.testing.assert_allclose(tokens.X, bde.fit_transform(windows), rtol=1e-5)


def test_zscore_makes_tokens_scale_free():
    trials = noise_trials(128.0, 6.0, 4, seed=4)
    scaled = EEGTrials.from_arrays([s * 50 for s in trials.signals], 128.0, trials.ch_names)
    for method in ("sos", "reference"):
        a = Tokenizer(zscore=True, method=method).transform(trials).X
        b = Tokenizer(zscore=True, method=method).transform(scaled).X
        np.testing.assert_allclose(a, b, atol=2e-5)
        assert abs(a.mean()) < 3  # z-scored: entropy of O(1) variances, not of 1e-10 V^2
    windows = np.stack(trials.signals)[:, :, :256]
    bde = BandDifferentialEntropy(128.0, zscore=True)
    np.testing.assert_allclose(bde.fit_transform(windows), bde.fit_transform(windows * 50), atol=2e-5)


def test_fft_equals_sos_away_from_the_edges():
    trials = noise_trials(200.0, 40.0, 4, seed=6, n_trials=2)
    sos = Tokenizer(hop=0.5, method="sos").transform(trials)
    fft = Tokenizer(hop=0.5, method="fft").transform(trials)
    interior = (sos.start >= 6 * 200) & (sos.stop <= 34 * 200)
    np.testing.assert_allclose(fft.X[interior], sos.X[interior], atol=2e-5)
    assert np.abs(fft.X - sos.X).max() > 1e-3  # the edge windows do differ (different edge handling)
    # A window that is a whole trial is filtered the same way by the transformer and the Tokenizer.
    for method in ("sos", "fft"):
        whole = Tokenizer(window=40.0, method=method).transform(trials).X
        X = np.stack(trials.signals)
        np.testing.assert_allclose(BandDifferentialEntropy(200.0, method=method).fit_transform(X), whole,
                                   rtol=1e-6)


def test_sosfiltfilt_rows_equals_scipy():
    x = np.random.default_rng(0).standard_normal((5, 700))
    for sos in design_filters("with-delta", 200.0):
        np.testing.assert_allclose(sosfiltfilt_rows(sos, x), signal.sosfiltfilt(sos, x, axis=-1),
                                   rtol=1e-10, atol=1e-12)


def test_filter_sfreq_reproduces_the_hard_coded_rate():
    """Designing for 128 Hz on 200 Hz data moves every band edge by 200/128 (the published bug)."""
    sfreq = 200.0
    t = np.arange(int(4 * sfreq)) / sfreq
    # 6 Hz is theta at the true rate; with filters designed for 128 Hz the theta band covers 6.25-12.5 Hz.
    x = np.sin(2 * np.pi * 10.0 * t)[None, None, :] * np.ones((1, 2, 1))
    right = BandDifferentialEntropy(sfreq, method="reference").fit_transform(x)[0, 0]
    buggy = BandDifferentialEntropy(sfreq, method="reference", filter_sfreq=128).fit_transform(x)[0, 0]
    assert np.argmax(right) == 1  # alpha (8-14 Hz)
    assert np.argmax(buggy) == 0  # "theta", really 6.25-12.5 Hz


def test_band_presets_and_forms():
    assert resolve_bands(None) == DEFAULT_BANDS
    assert resolve_bands("with-delta")[0] == ("delta", 1.0, 4.0)
    assert resolve_bands({"a": (8, 13)}) == (("a", 8.0, 13.0),)
    assert resolve_bands([("a", 8, 13)]) == (("a", 8.0, 13.0),)
    assert set(BAND_PRESETS) >= {"standard", "with-delta", "seed"}
    X = SIGMA * np.random.default_rng(0).standard_normal((3, 2, 512))
    out = BandDifferentialEntropy(256.0, bands="seed").fit(X)
    assert out.transform(X).shape == (3, 2, 5)
    assert out.get_feature_names_out().tolist() == ["delta", "theta", "alpha", "beta", "gamma"]


def test_sklearn_contract():
    bde = BandDifferentialEntropy(128.0, bands="with-delta", log_base=2)
    assert clone(bde).get_params() == bde.get_params()
    X = SIGMA * np.random.default_rng(0).standard_normal((6, 3, 256))
    pipe = make_pipeline(bde, FunctionTransformer(lambda t: t.reshape(len(t), -1)))
    out = pipe.fit_transform(X)
    assert out.shape == (6, 15) and out.dtype == np.float32
    with pytest.raises(Exception, match="not fitted"):
        BandDifferentialEntropy(128.0).transform(X)


# -- errors ------------------------------------------------------------------------------------
def test_band_above_nyquist_names_band_and_sfreq():
    with pytest.raises(ValueError, match=r"'gamma' \(31-49 Hz\).*Nyquist.*sfreq=64"):
        check_bands(None, 64.0)
    X = np.zeros((2, 2, 64))
    with pytest.raises(ValueError, match="'gamma'.*sfreq=64"):
        BandDifferentialEntropy(64.0).fit(X)
    trials = noise_trials(90.0, 3.0, 2)
    with pytest.raises(ValueError, match="'gamma'.*sfreq=90"):
        Tokenizer().transform(trials)


@pytest.mark.parametrize("bands, message", [
    ([("a", 8, 4)], "0 < l_freq < h_freq"),
    ([("a", 0, 4)], "0 < l_freq < h_freq"),
    ([("a", 4, 8), ("a", 8, 12)], "distinct band names"),
    ([(4, 8)], r"\(name, l_freq, h_freq\)"),
    ("nope", "Allowed values"),
])
def test_bad_bands(bands, message):
    with pytest.raises(ValueError, match=message):
        resolve_bands(bands)


def test_nan_windows_wrong_shapes_and_bad_options():
    X = SIGMA * np.random.default_rng(0).standard_normal((4, 2, 256))
    bde = BandDifferentialEntropy(128.0).fit(X)
    bad = X.copy()
    bad[2, 1, 7] = np.nan
    with pytest.raises(ValueError, match=r"X contains 1 non-finite.*NaN first at index \(2, 1, 7\)"):
        bde.transform(bad)
    with pytest.raises(ValueError, match=r"X must have shape \(n_windows, n_channels, n_times\)"):
        bde.transform(X[0])
    with pytest.raises(ValueError, match="20 samples.*need more than 27"):
        bde.transform(X[:, :, :20])
    with pytest.raises(ValueError, match="log_base"):
        BandDifferentialEntropy(128.0, log_base=10).fit(X)
    with pytest.raises(ValueError, match="method"):
        BandDifferentialEntropy(128.0, method="fir").fit(X)
    with pytest.raises(ValueError, match="order"):
        BandDifferentialEntropy(128.0, order=0).fit(X)
    with pytest.raises(ValueError, match="filter_sfreq only applies to method='reference'"):
        BandDifferentialEntropy(128.0, filter_sfreq=128).fit(X)
    with pytest.raises(ValueError, match="sfreq"):
        BandDifferentialEntropy(-1.0).fit(X)


@pytest.mark.parametrize("method", ["sos", "fft", "reference"])
@pytest.mark.parametrize("level", [0.0, 4200e-6])  # 4200 uV: a disconnected Emotiv electrode
def test_flat_channel_is_a_clear_error(method, level):
    X = SIGMA * np.random.default_rng(0).standard_normal((3, 2, 256))
    X[1, 1] = level
    with pytest.raises(ValueError, match="Zero peak-to-peak amplitude at window 1, channel 1: a flat signal"):
        BandDifferentialEntropy(128.0, method=method).fit_transform(X)
    trials = noise_trials(128.0, 3.0, 3)
    trials.signals[0][2] = level
    with pytest.raises(ValueError, match="trial 1/1/1, window 0, channel Pz: a flat signal"):
        Tokenizer(method=method).transform(trials)
    # Only the flat window is refused, also with overlapping windows.
    trials = noise_trials(128.0, 3.0, 3)
    trials.signals[0][1, 160:224] = level  # exactly the 6th window of 64 samples with hop 32
    with pytest.raises(ValueError, match="trial 1/1/1, window 5, channel Cz: a flat signal"):
        Tokenizer(method=method, window=0.5, hop=0.25).transform(trials)
    Tokenizer(method=method, window=0.5, hop=0.5).transform(trials)  # no whole window is flat
    base = noise_trials(128.0, 3.0, 3, seed=9).signals
    base[0] = base[0].copy()
    base[0][2, -128:] = level
    with_base = EEGTrials.from_arrays(np.stack(noise_trials(128.0, 3.0, 3).signals), 128.0,
                                      CH16[:3], baselines=base)
    with pytest.raises(ValueError, match="baseline of trial 1/1/1, channel Pz, segment 2: a flat signal"):
        Tokenizer(method=method, baseline="average-de").transform(with_base)
    Tokenizer(method=method, baseline="average-segments").transform(with_base)  # the average is not flat


def test_reference_removes_each_window_mean_so_a_dc_offset_changes_nothing():
    """DREAMER's signals keep a ~4200 uV offset: filtered from rest, it would be a step whose response
    swamps the band variance (-7 instead of -11 nats)."""
    rng = np.random.default_rng(0)
    noise = 5e-6 * rng.standard_normal((2, 4, 128 * 6))
    base = 5e-6 * rng.standard_normal((2, 4, 128 * 3))
    offset = 4200e-6 + 50e-6 * np.arange(4)[:, None]  # a different offset per channel
    plain = EEGTrials.from_arrays(noise, 128.0, CH16[:4], baselines=list(base))
    shifted = EEGTrials.from_arrays(noise + offset, 128.0, CH16[:4], baselines=list(base + offset))
    for baseline in ("none", "average-segments", "average-de"):
        a = Tokenizer(method="reference", baseline=baseline).transform(plain).X
        b = Tokenizer(method="reference", baseline=baseline).transform(shifted).X
        np.testing.assert_allclose(a, b, atol=2e-3)  # float32 rounding of the offset signal only
    np.testing.assert_allclose(Tokenizer(method="reference", baseline="none").transform(plain).X.mean(),
                               Tokenizer(baseline="none").transform(plain).X.mean(), atol=0.3)
    # The transformer on cut windows does the same: mean removed per window and channel, then lfilter.
    windows = np.stack(shifted.signals)[:, :, :128].astype(np.float64)
    centred = windows - windows.mean(axis=-1, keepdims=True)
    expected = [0.5 * np.log(2 * np.pi * np.e * signal.lfilter(b, a, centred, axis=-1).var(axis=-1))
                for b, a in design_filters(None, 128.0, "reference")]
    np.testing.assert_allclose(BandDifferentialEntropy(128.0, method="reference").fit_transform(windows),
                               np.stack(expected, axis=-1), rtol=1e-5)


@pytest.mark.parametrize("sfreq, bands, band, filter_sfreq", [
    (1000.0, None, "theta", None),  # 4-8 Hz: poles outside the unit circle
    (1000.0, [("alpha", 8.0, 14.0)], "alpha", None),  # a pole at 1.005
    (250.0, "with-delta", "delta", None),
    (256.0, "with-delta", "delta", None),
    (200.0, "seed", "delta", None),  # stable, but its impulse response is 2.6e-2 off
    (1000.0, "with-delta", "delta", 500.0),
])
def test_reference_refuses_unusable_ba_filters(sfreq, bands, band, filter_sfreq):
    name = "sfreq" if filter_sfreq is None else "filter_sfreq"
    rate = sfreq if filter_sfreq is None else filter_sfreq
    with pytest.raises(ValueError, match=rf"band '{band}' .*order 5\) designed for {name}={rate:g} Hz is "
                                         r"(unstable|inaccurate).*method='sos'.*filter_sfreq"):
        BandDifferentialEntropy(sfreq, bands=bands, method="reference", filter_sfreq=filter_sfreq).fit()
    BandDifferentialEntropy(sfreq, bands=bands, method="sos").fit()


@pytest.mark.parametrize("sfreq, bands, filter_sfreq", [
    (128.0, None, None),  # DEAP
    (128.0, "with-delta", None),
    (200.0, None, None),  # SEED
    (200.0, "seed", 128.0),  # the published SEED set-up
    (1000.0, [("beta", 14.0, 31.0), ("gamma", 31.0, 49.0)], None),
])
def test_reference_keeps_usable_ba_filters_and_they_match_the_sos_design(sfreq, bands, filter_sfreq):
    bde = BandDifferentialEntropy(sfreq, bands=bands, method="reference", filter_sfreq=filter_sfreq).fit()
    x = np.random.default_rng(0).standard_normal(int(4 * sfreq))
    design = sfreq if filter_sfreq is None else filter_sfreq
    for (_, lo, hi), (b, a) in zip(bde.bands_, bde.filters_, strict=True):
        sos = signal.butter(5, [lo, hi], btype="bandpass", fs=design, output="sos")
        ratio = signal.lfilter(b, a, x).var() / signal.sosfilt(sos, x).var()
        assert abs(0.5 * np.log(ratio)) < 1e-3


def test_errors_name_baseline_segment_and_filter_sfreq():
    trials = EEGTrials.from_arrays(np.stack(noise_trials(128.0, 5.0, 2).signals), 128.0, CH16[:2],
                                   baselines=noise_trials(128.0, 3.0, 2, seed=1).signals)
    for segment in (0, -1.0):
        with pytest.raises(ValueError, match=rf"'baseline_segment' parameter: expected a positive number, got {segment}"):
            Tokenizer(baseline_segment=segment).transform(trials)
    with pytest.raises(ValueError, match=r"'baseline_segment' parameter: 0.001 s is less than one sample"):
        Tokenizer(baseline_segment=0.001).transform(trials)
    Tokenizer(baseline="none", baseline_segment=0).transform(trials)  # unused, so not checked
    X = np.random.default_rng(0).standard_normal((3, 2, 256))
    with pytest.raises(ValueError, match=r"'g' \(31-70 Hz\) reaches the Nyquist frequency \(64 Hz\) of filter_sfreq=128"):
        BandDifferentialEntropy(1000.0, method="reference", filter_sfreq=128, bands=[("g", 31, 70)]).fit(X)
    with pytest.raises(ValueError, match="'filter_sfreq' parameter"):
        Tokenizer(method="reference", filter_sfreq=0).transform(trials)
