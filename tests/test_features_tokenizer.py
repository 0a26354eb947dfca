"""Tokenizer: windows, bookkeeping for leakage-free splits, baselines, errors."""

import numpy as np
import pytest

from neuroaffect import EEGTrials
from neuroaffect.features import Tokenizer
from neuroaffect.features.windows import (
    average_segments,
    window_samples,
    window_starts,
    window_variance,
)

CH = ["Fz", "Cz", "Pz"]
SFREQ = 128.0


def make_trials(lengths, seed=0, baseline_seconds=None, dataset="arrays", subject="7"):
    rng = np.random.default_rng(seed)
    signals = [1e-5 * rng.standard_normal((len(CH), n)) for n in lengths]
    baselines = None
    if baseline_seconds is not None:
        baselines = [1e-5 * rng.standard_normal((len(CH), int(baseline_seconds * SFREQ))) for _ in lengths]
    ratings = np.column_stack([np.arange(1, len(lengths) + 1)] * 3).astype(float)
    return EEGTrials.from_arrays(signals, SFREQ, CH, ratings, subject=[subject] * len(lengths),
                                 baselines=baselines, dataset=dataset)


def test_windows_bookkeeping_with_unequal_trials_and_overlap():
    lengths = [640, 400, 640, 300]
    trials = make_trials(lengths)
    tokens = Tokenizer(window=1.0, hop=0.5).transform(trials)
    per_trial = [len(window_starts(n, 128, 64)) for n in lengths]
    assert per_trial == [9, 5, 9, 3]
    assert tokens.X.shape == (sum(per_trial), 3, 4) and tokens.X.dtype == np.float32
    expected_keys = np.repeat(trials.trial_keys, per_trial)
    np.testing.assert_array_equal(tokens.trial_key, expected_keys)  # trial order kept
    np.testing.assert_array_equal(tokens.ratings[:, 0], np.repeat([1, 2, 3, 4], per_trial))
    np.testing.assert_array_equal(tokens.start[:9], np.arange(9) * 64)
    np.testing.assert_array_equal(tokens.stop - tokens.start, 128)
    assert np.all(tokens.stop <= np.repeat(lengths, per_trial))
    assert tokens.subject.tolist() == ["7"] * len(tokens)
    assert tokens.ch_names == CH and tokens.band_names == ("theta", "alpha", "beta", "gamma")
    assert tokens.positions.shape == (3, 3) and tokens.sfreq == SFREQ
    # Each trial's tokens do not depend on which other trials are processed with it.
    alone = Tokenizer(window=1.0, hop=0.5).transform(trials[[1]])
    np.testing.assert_allclose(alone.X, tokens.X[9:14], rtol=1e-6)


def test_window_helpers():
    assert window_samples(1.0, None, 128.0) == (128, 128)
    assert window_samples(4.0, 0.91, 128.0) == (512, 116)
    np.testing.assert_array_equal(window_starts(10, 4, 3), [0, 3, 6])
    assert window_starts(3, 4, 1).size == 0
    x = np.random.default_rng(0).standard_normal((2, 50))
    slow = np.array([[x[r, s : s + 8].var() for s in window_starts(50, 8, 3)] for r in range(2)])
    np.testing.assert_allclose(window_variance(x, 8, 3), slow)
    np.testing.assert_allclose(window_variance(x, 8, 3, max_elements=10), slow)
    np.testing.assert_allclose(window_variance(x, 8, 8), [[x[r, s : s + 8].var() for s in (0, 8, 16, 24, 32, 40)]
                                                          for r in range(2)])
    # Baseline segments: the last whole segments are averaged sample by sample.
    np.testing.assert_allclose(average_segments(np.arange(7.0), 3), [2.5, 3.5, 4.5])
    with pytest.raises(ValueError, match="window"):
        window_samples(0.001, None, 128.0)
    with pytest.raises(ValueError, match="hop"):
        window_samples(1.0, -1.0, 128.0)


def periodic_trials(seconds=8, baseline_equal=True, dataset="deap"):
    """Signals that repeat every second, with the baseline equal to the signal."""
    t = np.arange(int(seconds * SFREQ)) / SFREQ
    rng = np.random.default_rng(0)
    freqs = [5, 6, 7, 9, 11, 13, 17, 23, 29, 33, 41, 47]
    signal = np.stack([sum(rng.normal() * np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in freqs)
                       for _ in CH]) * 1e-5
    return EEGTrials.from_arrays([signal], SFREQ, CH, [[5, 5, 5]],
                                 baselines=[signal.copy()] if baseline_equal else None, dataset=dataset)


def test_baseline_equal_to_signal_gives_zero():
    trials = periodic_trials(seconds=32)
    # Per-window filtering: every 1-s window and the averaged segment are the same signal.
    ref = Tokenizer(method="reference", baseline="average-segments").transform(trials)
    np.testing.assert_allclose(ref.X, 0.0, atol=1e-4)
    # Continuous filtering: identical away from the trial's edges, where the filter's edge handling
    # acts (and leaks into the averaged baseline with weight 1/32).
    sos = Tokenizer(baseline="average-segments").transform(trials)
    np.testing.assert_allclose(sos.X[2:-2], 0.0, atol=0.01)
    # DE-domain average: on average over windows, exactly zero.
    de = Tokenizer(baseline="average-de").transform(trials)
    np.testing.assert_allclose(de.X.mean(axis=0), 0.0, atol=1e-5)
    no = Tokenizer(baseline="none").transform(trials)
    assert np.abs(no.X).min() > 5  # uncorrected DE of microvolt signals is far from zero


def test_baseline_modes_and_auto():
    trials = make_trials([640, 640], baseline_seconds=3, dataset="deap")
    raw = Tokenizer(baseline="none").transform(trials).X
    auto = Tokenizer().transform(trials).X
    explicit = Tokenizer(baseline="average-segments").transform(trials).X
    np.testing.assert_array_equal(auto, explicit)
    assert not np.allclose(auto, raw)
    # The subtracted baseline is the same for every window of a trial.
    shift = (raw - auto)[:5]
    np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape), atol=1e-5)
    # Averaging three segments of unrelated noise divides their variance by ~3.
    de_avg = Tokenizer(baseline="average-de").transform(trials).X
    offset = (auto - de_avg).mean()
    assert abs(offset - 0.5 * np.log(3)) < 0.15
    # Without baselines, "auto" means none; an explicit mode is an error.
    plain = make_trials([640, 640], dataset="seed")
    np.testing.assert_array_equal(Tokenizer().transform(plain).X, Tokenizer(baseline="none").transform(plain).X)
    with pytest.raises(ValueError, match="baseline='average-segments' needs baseline segments.*seed"):
        Tokenizer(baseline="average-segments").transform(plain)
    with pytest.raises(ValueError, match="Allowed values"):
        Tokenizer(baseline="mean").transform(plain)


def test_baseline_dreamer_length_and_uneven_segments():
    trials = make_trials([384], baseline_seconds=61, dataset="dreamer")
    out = Tokenizer().transform(trials)
    assert np.isfinite(out.X).all()
    # 2.5 s of baseline with 1 s segments: the last two whole seconds are used.
    short = make_trials([384], baseline_seconds=2.5)
    last_two = EEGTrials.from_arrays(short.signals, SFREQ, CH, short.ratings,
                                     baselines=[b[:, 64:] for b in short.baselines])
    np.testing.assert_allclose(Tokenizer(method="reference").transform(short).X,
                               Tokenizer(method="reference").transform(last_two).X, rtol=1e-6)
    tiny = make_trials([384], baseline_seconds=0.5)
    with pytest.raises(ValueError, match="shorter than one baseline_segment"):
        Tokenizer().transform(tiny)


def test_zscore_with_baseline_is_scale_free():
    trials = make_trials([640, 512], baseline_seconds=3)
    scaled = EEGTrials.from_arrays([s * 20 for s in trials.signals], SFREQ, CH, trials.ratings,
                                   baselines=[b * 20 for b in trials.baselines])
    for method in ("sos", "reference"):
        for baseline in ("average-segments", "average-de"):
            tok = Tokenizer(zscore=True, method=method, baseline=baseline)
            np.testing.assert_allclose(tok.transform(trials).X, tok.transform(scaled).X, atol=3e-5)


def test_window_longer_than_trial_is_a_clear_error():
    trials = make_trials([640, 100, 90])
    with pytest.raises(ValueError, match=r"longer than 2 trial\(s\).*7/1/2 \(100 samples at 128 Hz\)"):
        Tokenizer(window=1.0).transform(trials)


def test_n_jobs_does_not_change_results():
    trials = make_trials([640, 640, 512], baseline_seconds=3)
    one = Tokenizer(hop=0.25, n_jobs=1).transform(trials).X
    two = Tokenizer(hop=0.25, n_jobs=2).transform(trials).X
    np.testing.assert_array_equal(one, two)


def test_concatenate_tokens_requires_the_same_meaning_of_every_column():
    import dataclasses

    from neuroaffect.affect.scales import RatingScale
    from neuroaffect.features import WindowTokens

    tokens = Tokenizer().transform(make_trials([384, 256]))
    both = WindowTokens.concatenate([tokens, tokens[:2]])
    assert len(both) == len(tokens) + 2 and both.sfreq == tokens.sfreq
    five = {k: RatingScale("1-5", 1, 5, "ordinal") for k in tokens.rating_names}
    for change, message in (
        (dict(sfreq=256.0), r"different sfreq: part 0 has 128\.0, part 1 has 256\.0"),
        (dict(rating_names=("arousal", "valence", "dominance")), "different rating_names"),
        (dict(scales=five), r"different scales for rating\(s\) \['valence', 'arousal', 'dominance'\].*1-5"),
        (dict(band_names=("a", "b", "c", "d")), "different band_names"),
        (dict(ch_names=["Fz", "Cz", "Oz"]), "different ch_names"),
        (dict(positions=tokens.positions + 0.01), "different positions"),
    ):
        with pytest.raises(ValueError, match=message):
            WindowTokens.concatenate([tokens, dataclasses.replace(tokens, **change)])
