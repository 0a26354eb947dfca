"""The trial container, channel names and positions."""

import mne
import numpy as np
import pytest

from neuroaffect import EEGTrials, RatingScale
from neuroaffect.channels import ch_positions, normalize_ch_names

CH = ["Fp1", "Fz", "Cz", "Oz"]


def make(n=3, n_times=256, **kw):
    rng = np.random.default_rng(0)
    return EEGTrials.from_arrays(rng.standard_normal((n, len(CH), n_times)) * 1e-5, 128.0, CH,
                                 np.full((n, 3), 5.0), **kw)


def test_names_are_normalised_to_10_05_spelling():
    assert normalize_ch_names(["FP1", "fz", "FCZ", "EEG O1", "Cz-REF", "cb1"]) == [
        "Fp1", "Fz", "FCz", "O1", "Cz", "CB1"]


def test_unknown_and_repeated_names_are_rejected_by_name():
    with pytest.raises(ValueError, match=r"Unknown channel name.*'XYZ'"):
        normalize_ch_names(["Fp1", "XYZ"])
    with pytest.raises(ValueError, match="Repeated.*Fp1"):
        normalize_ch_names(["FP1", "Fp1"])


def test_positions_match_mne_montage_and_cerebellar_sites_are_placed():
    pos = ch_positions(["Fp1", "Oz", "CB1", "CB2"])
    # MNE >= 1.12 calls the 10-05 template colin27_1005 (same positions); older MNE standard_1005.
    name = "colin27_1005" if "colin27_1005" in mne.channels.get_builtin_montages() else "standard_1005"
    montage = mne.channels.make_standard_montage(name).get_positions()["ch_pos"]
    np.testing.assert_allclose(pos[0], montage["Fp1"])
    np.testing.assert_allclose(pos[2], montage["I1"])
    assert pos[2, 0] < 0 < pos[3, 0]  # left and right of the midline


def test_container_holds_float32_volts_and_ids():
    t = make()
    assert t.n_trials == 3 and t.n_channels == 4 and t.signals[0].dtype == np.float32
    assert list(t.trial_keys) == ["1/1/1", "1/1/2", "1/1/3"]
    assert t.positions.shape == (4, 3)
    np.testing.assert_array_equal(t.rating("arousal"), 5.0)


def test_selection_channel_picking_and_concatenation():
    t = make(n=4)
    sub = t[[0, 2]]
    assert sub.n_trials == 2 and list(sub.trial) == [1, 3]
    np.testing.assert_array_equal(sub.signals[1], t.signals[2])
    picked = t.pick_channels(["OZ", "fp1"])
    assert picked.ch_names == ["Oz", "Fp1"]
    np.testing.assert_array_equal(picked.signals[0][0], t.signals[0][3])
    both = EEGTrials.concatenate([t[:2], t[2:]])
    assert both.n_trials == 4 and list(both.trial) == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="different sfreq"):
        EEGTrials.concatenate([t, EEGTrials.from_arrays(np.zeros((1, 4, 10)), 200, CH)])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_samples_are_reported_with_their_position(bad):
    data = np.zeros((2, 4, 100))
    data[1, 2, 7] = bad
    with pytest.raises(ValueError, match=r"signals\[1\].*non-finite.*index \(2, 7\)"):
        EEGTrials.from_arrays(data, 128, CH)


def test_shape_and_rating_errors():
    with pytest.raises(ValueError, match=r"\(n_trials, n_channels, n_times\)"):
        EEGTrials.from_arrays(np.zeros((4, 100)), 128, CH)
    with pytest.raises(ValueError, match="has 3 channels but ch_names has 4"):
        EEGTrials.from_arrays(np.zeros((2, 3, 100)), 128, CH)
    with pytest.raises(ValueError, match="off the 1-9 scale"):
        EEGTrials.from_arrays(np.zeros((2, 4, 100)), 128, CH, np.full((2, 3), 10.0))
    with pytest.raises(ValueError, match="'sfreq'"):
        EEGTrials.from_arrays(np.zeros((2, 4, 100)), 0, CH)


def test_round_trip_through_mne_epochs_keeps_data_and_metadata():
    t = make()
    epochs = t.to_epochs()
    assert epochs.ch_names == CH and epochs.info["sfreq"] == 128
    assert list(epochs.metadata["valence"]) == [5.0, 5.0, 5.0]
    back = EEGTrials.from_epochs(epochs, epochs.metadata[["valence", "arousal", "dominance"]].to_numpy())
    np.testing.assert_allclose(back.signals[2], t.signals[2])
    assert epochs.get_montage() is not None


def test_from_raw_cuts_trials_of_different_lengths_with_baselines():
    sfreq = 100.0
    data = np.arange(4 * 1000, dtype=float).reshape(4, 1000) * 1e-9
    raw = mne.io.RawArray(data, mne.create_info(CH, sfreq, "eeg"), verbose="error")
    t = EEGTrials.from_raw(raw, onsets=[1.0, 5.0], durations=[2.0, 3.5], baseline_duration=0.5)
    assert list(t.n_times) == [200, 350]
    np.testing.assert_allclose(t.signals[1][0, 0], data[0, 500], rtol=1e-6)
    np.testing.assert_allclose(t.baselines[0][0], data[0, 50:100], rtol=1e-6)
    with pytest.raises(ValueError, match="does not fit"):
        EEGTrials.from_raw(raw, onsets=[9.0], durations=[2.0])


def test_rating_scale_normalises_and_rejects_off_scale_values():
    scale = RatingScale("SAM 1-5", 1, 5, "ordinal")
    np.testing.assert_allclose(scale.normalize([1, 3, 5]), [-1, 0, 1])
    np.testing.assert_allclose(scale.denormalize(scale.normalize([2, 4])), [2, 4])
    with pytest.raises(ValueError, match="off the SAM 1-5 scale"):
        scale.validate([2.5])
    with pytest.raises(ValueError, match="NaN"):
        scale.validate([np.nan])


def test_ratings_must_be_one_row_per_trial_never_reshaped():
    signals = list(np.zeros((4, 4, 100)))
    names = ("valence", "arousal", "dominance")
    scales = dict.fromkeys(names, RatingScale("1-9", 1, 9))
    ids = dict(subject=np.array(["1"] * 4), session=np.ones(4, int), trial=np.arange(1, 5))
    by_trial = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9], [9, 8, 7]], float)
    ok = EEGTrials(signals, 128, CH, by_trial, names, scales, **ids)
    np.testing.assert_array_equal(ok.ratings[0], [1, 2, 3])
    # The transposed array has the same 12 values; it used to be reshaped into scrambled rows.
    with pytest.raises(ValueError, match=r"'ratings'.*expected \(n_trials, n_ratings\) = \(4, 3\).*got \(3, 4\)"):
        EEGTrials(signals, 128, CH, by_trial.T, names, scales, **ids)
    with pytest.raises(ValueError, match=r"'ratings'.*got \(12,\)"):
        EEGTrials(signals, 128, CH, by_trial.ravel(), names, scales, **ids)
    with pytest.raises(ValueError, match="has 2 column"):
        EEGTrials(signals, 128, CH, by_trial[:, :2], names, scales, **ids)
    # One rating column may be given as a vector.
    one = EEGTrials(signals, 128, CH, np.array([1.0, 2, 3, 4]), ("valence",),
                    {"valence": RatingScale("1-9", 1, 9)}, **ids)
    assert one.ratings.shape == (4, 1)


def test_concatenate_refuses_mixed_baselines_and_different_scales():
    with_base = make(n=2, baselines=list(np.zeros((2, 4, 128)) + 1e-6))
    without = make(n=2, subject=["2", "2"])
    both = EEGTrials.concatenate([with_base, with_base])
    assert len(both.baselines) == 4
    assert EEGTrials.concatenate([without, without]).baselines is None
    with pytest.raises(ValueError, match=r"only some parts carry baselines \(parts \[0\] do, parts \[1\] do not\)"):
        EEGTrials.concatenate([with_base, without])
    five = {k: RatingScale("1-5", 1, 5, "ordinal") for k in ("valence", "arousal", "dominance")}
    other_scale = EEGTrials.from_arrays(np.zeros((2, 4, 256)) + 1e-6, 128.0, CH, np.full((2, 3), 3.0),
                                        scales=five, subject=["3", "3"])
    with pytest.raises(ValueError, match=r"different scales.*'valence'.*1-9.*part 1.*1-5"):
        EEGTrials.concatenate([without, other_scale])


def test_old_10_20_names_are_the_10_05_sites_and_bipolar_names_are_refused():
    assert normalize_ch_names(["T3", "t4", "EEG T5-REF", "T6-LE"]) == ["T7", "T8", "P7", "P8"]
    with pytest.raises(ValueError, match=r"Repeated.*\['T7'\].*given as \['T3', 'T7'\]"):
        normalize_ch_names(["T3", "T7"])
    np.testing.assert_array_equal(ch_positions(["T5"]), ch_positions(["P7"]))
    # Reference suffixes are dropped; a difference of two electrodes is not one electrode.
    assert normalize_ch_names(["Fp1-A1", "fp2-M2", "O1-AR", "Oz-AVG"]) == ["Fp1", "Fp2", "O1", "Oz"]
    with pytest.raises(ValueError, match=r"Bipolar channel\(s\) in montage: \['T7-P7'\]"):
        normalize_ch_names(["Fz", "T7-P7"], source="montage")
    with pytest.raises(ValueError, match=r"Unknown channel name.*'Fp1-XYZ'"):
        normalize_ch_names(["Fp1-XYZ"])
    trials = EEGTrials.from_arrays(np.zeros((1, 2, 10)), 128.0, ["T3", "Cz"])
    assert trials.ch_names == ["T7", "Cz"] and trials.pick_channels(["T3"]).ch_names == ["T7"]


def test_ids_with_slashes_and_percent_signs_round_trip_through_trial_keys():
    # "s1/day1/run1/1" unescaped would parse as subject "s1/day1": a cross-subject split could then
    # train on the test subject's other sessions
    from neuroaffect.evaluation import parse_trial_keys

    ids = {"subject": ["s1", "s1", "s%2"], "session": ["day1/run1", "day2/run1", "a%2Fb"], "trial": [1, 2, "x/y"]}
    trials = EEGTrials.from_arrays(np.zeros((3, 2, 256)) + np.arange(256) * 1e-6, 128.0, ["Fz", "Cz"], **ids)
    keys = trials.trial_keys
    assert all(k.count("/") == 2 for k in keys)
    subject, session, trial = parse_trial_keys(keys)
    assert subject.tolist() == ids["subject"] and session.tolist() == ids["session"]
    assert trial.tolist() == ["1", "2", "x/y"]


def test_empty_data_and_empty_trials_are_refused_by_name():
    for empty, got in ((np.empty((0, 4, 100)), r"shape \(0, 4, 100\)"), ([], "an empty sequence")):
        with pytest.raises(ValueError, match=rf"'data' parameter: expected at least one trial.*got {got}"):
            EEGTrials.from_arrays(empty, 128, CH)
    with pytest.raises(ValueError, match=r"signals\[1\] of arrays is empty \(shape \(4, 0\)\)"):
        EEGTrials.from_arrays([np.zeros((4, 10)), np.zeros((4, 0))], 128, CH)
    with pytest.raises(ValueError, match=r"baselines\[0\] of arrays is empty"):
        make(n=1, baselines=[np.zeros((4, 0))])


def test_values_beyond_float32_are_reported_as_overflow_not_flat():
    data = np.zeros((2, 4, 100))
    data[1, 2, 7] = 1e39
    with pytest.raises(ValueError, match=r"signals\[1\] of arrays has finite values up to 1e\+39, which overflow float32"):
        EEGTrials.from_arrays(data, 128, CH)
    assert make().signals[0].max() < 1  # float64 input within range is fine


def test_complex_signals_are_refused():
    data = (np.ones((2, 4, 100)) * 1e-5).astype(complex)
    with pytest.raises(ValueError, match=r"signals\[0\] of arrays is complex \(complex128\); expected real"):
        EEGTrials.from_arrays(data, 128, CH)


def test_microvolts_given_as_volts_warn_with_the_factor():
    rng = np.random.default_rng(0)
    microvolts = 20 * rng.standard_normal((2, 4, 256))
    with pytest.warns(UserWarning, match=r"arrays have a median channel standard deviation of \d+\.?\d*, implausible for volts.*multiply them by 1e-6"):
        EEGTrials.from_arrays(microvolts, 128.0, CH)


def test_volts_including_a_large_dc_offset_do_not_warn(recwarn):
    rng = np.random.default_rng(0)
    volts = 2e-5 * rng.standard_normal((2, 4, 256)) + 4.2e-3  # DREAMER: about 4200 µV of offset
    volts[0, 1] *= 1e4  # one railing channel does not make the recording microvolts
    make()
    EEGTrials.from_arrays(volts, 128.0, CH)
    assert not [w for w in recwarn if "standard deviation" in str(w.message)]


# -- labels and ids from epochs.metadata (issue 15, item 1) ------------------------------------
def _epochs(metadata, n_channels=3, ch_names=("Fz", "Cz", "Pz"), types="eeg"):
    import pandas as pd

    metadata = pd.DataFrame(metadata)
    n = len(metadata)
    data = np.random.default_rng(1).normal(0, 1e-5, (n, len(ch_names), 256))
    info = mne.create_info(list(ch_names), 128.0, types)
    return mne.EpochsArray(data, info, metadata=metadata, verbose="error")


def test_from_epochs_reads_ids_ratings_and_conditions_from_metadata(caplog):
    import logging

    epochs = _epochs({
        "subject": ["s1", "s1", "s2", "s2", "s2"], "session": [1, 1, 2, 2, 2], "trial": [3, 4, 1, 2, 5],
        "valence": [1.0, 9.0, 5.5, 2.0, 7.0],
        "condition": ["rest", "task", "task", "rest", "task"],
    })
    with caplog.at_level(logging.INFO, logger="neuroaffect"):
        trials = EEGTrials.from_epochs(epochs, scales={"valence": RatingScale("SAM 1-9", 1, 9)})
    assert trials.rating_names == ("valence", "condition")
    assert trials.subject.tolist() == ["s1", "s1", "s2", "s2", "s2"]
    assert trials.session.tolist() == [1, 1, 2, 2, 2] and trials.trial.tolist() == [3, 4, 1, 2, 5]
    np.testing.assert_array_equal(trials.rating("valence"), [1.0, 9.0, 5.5, 2.0, 7.0])
    assert trials.scales["valence"] == RatingScale("SAM 1-9", 1, 9)
    condition = trials.scales["condition"]  # a categorical label, no numeric scale invented
    assert (condition.kind, condition.categories) == ("categorical", ("rest", "task"))
    np.testing.assert_array_equal(trials.rating("condition"), [0, 1, 1, 0, 1])
    np.testing.assert_allclose(trials.signals[2], epochs.get_data()[2], rtol=1e-6)
    assert any("'condition' is categorical" in r.getMessage() for r in caplog.records)
    # usable as a target with task="classes" only
    from neuroaffect.evaluation import make_target
    from neuroaffect.features import Tokenizer

    tokens = Tokenizer(window=1.0).transform(trials)
    target = make_target(tokens, "condition", task="classes")
    assert target.class_names == ("rest", "task") and target.y.tolist() == [0, 0, 1, 1, 1, 1, 0, 0, 1, 1]
    with pytest.raises(ValueError, match="categorical.*task='classes'"):
        make_target(tokens, "condition", task="binary")


def test_from_epochs_keeps_missing_labels_missing_never_a_class():
    import pandas as pd

    epochs = _epochs({
        "condition": ["rest", "", "task", "n/a", None, "rest"],
        "arousal": [2.0, 3.0, np.nan, 4.0, 5.0, 1.0],
        "group": pd.Categorical(["a", "b", np.nan, "a", "b", "a"], categories=["b", "a", "c"]),
    })
    trials = EEGTrials.from_epochs(epochs, scales={"arousal": "dreamer"})
    np.testing.assert_array_equal(trials.rating("condition"), [0, np.nan, 1, np.nan, np.nan, 0])
    np.testing.assert_array_equal(trials.rating("arousal"), [2, 3, np.nan, 4, 5, 1])
    # a pandas categorical keeps its categories and their order, used or not
    assert trials.scales["group"].categories == ("b", "a", "c")
    np.testing.assert_array_equal(trials.rating("group"), [1, 0, np.nan, 1, 0, 1])
    # no metadata id columns: subject "1", session 1, trials 1..n
    assert trials.trial_keys.tolist() == [f"1/1/{i}" for i in range(1, 7)]
    from neuroaffect.evaluation import make_target
    from neuroaffect.features import Tokenizer

    tokens = Tokenizer(window=1.0).transform(trials)
    with pytest.raises(ValueError, match=r"'condition' rating.*missing.*3 trial\(s\).*'1/1/2', '1/1/4', '1/1/5'"):
        make_target(tokens, "condition", task="classes")
    kept = make_target(tokens, "condition", task="classes", drop_unlabelled=True)
    assert kept.unlabelled_dropped == {"trials": 3, "windows": 6} and kept.y.tolist() == [0, 0, 1, 1, 0, 0]


def test_from_epochs_infers_numeric_scales_with_a_logged_warning(caplog):
    import logging

    epochs = _epochs({"valence": [1.0, 3.0, 8.0], "slider": [0.0, 55.5, 80.0], "hits": [120, 150, 200]})
    with caplog.at_level(logging.INFO, logger="neuroaffect"):
        trials = EEGTrials.from_epochs(epochs)
    scales = trials.scales
    assert (scales["valence"].low, scales["valence"].high, scales["valence"].kind) == (1, 9, "ordinal")
    assert (scales["slider"].low, scales["slider"].high, scales["slider"].kind) == (0, 100, "continuous")
    assert (scales["hits"].low, scales["hits"].high) == (120, 200)  # beyond the common scales: their range
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "no scale declared" in warning.getMessage() and "'slider' -> continuous 0..100" in warning.getMessage()


def test_from_epochs_errors_name_the_column_and_what_was_expected():
    with pytest.raises(ValueError, match=r"'condition' .*holds a single category \['rest'\].*scales=\{'condition'"):
        EEGTrials.from_epochs(_epochs({"condition": ["rest", "rest"]}))
    scale = RatingScale("cond", 0, 1, "categorical", ("rest", "task"))
    one = EEGTrials.from_epochs(_epochs({"condition": ["rest", "rest"]}), scales={"condition": scale})
    np.testing.assert_array_equal(one.rating("condition"), [0, 0])
    with pytest.raises(ValueError, match=r"holds \['sleep'\], not categories.*expected one of \['rest', 'task'\]"):
        EEGTrials.from_epochs(_epochs({"condition": ["rest", "sleep"]}), scales={"condition": scale})
    with pytest.raises(ValueError, match=r"off the DEAP SAM 1-9 scale"):
        EEGTrials.from_epochs(_epochs({"valence": [0.0, 5.0]}), scales="deap")
    with pytest.raises(ValueError, match=r"'subject' column of the metadata of the Epochs is missing at row\(s\) \[1\]"):
        EEGTrials.from_epochs(_epochs({"subject": ["a", None], "valence": [1.0, 2.0]}))
    with pytest.raises(ValueError, match=r"has no column\(s\) \['arousal'\]"):
        EEGTrials.from_epochs(_epochs({"valence": [1.0, 2.0]}), rating_names=["arousal"])


def test_from_epochs_without_metadata_has_no_labels_and_picks_electrodes(caplog):
    import logging

    epochs = _epochs({"x": [1.0, 2.0]}, ch_names=("EEG Fz", "EEG Cz", "ECG ECG", "EEG A2-A1"))
    epochs.metadata = None
    with caplog.at_level(logging.INFO, logger="neuroaffect"):
        trials = EEGTrials.from_epochs(epochs)
    assert trials.rating_names == () and trials.ratings.shape == (2, 0) and trials.ch_names == ["Fz", "Cz"]
    assert any("left out 2 non-EEG or bipolar channel(s): ECG ECG, EEG A2-A1" in r.getMessage() for r in caplog.records)


def test_to_epochs_and_back_round_trips_labels_scales_and_ids_exactly():
    five = RatingScale("SAM 1-5", 1, 5, "ordinal")
    emotion = RatingScale("SEED-IV emotion", 0, 3, "categorical", ("neutral", "sad", "fear", "happy"))
    codes = RatingScale("codes", -1, 1, "categorical")  # categorical without names: written as numbers
    ratings = np.array([[1, 3, -1], [5, np.nan, 0], [np.nan, 0, 1], [2, 1, 1]], float)
    trials = EEGTrials.from_arrays(
        np.random.default_rng(2).normal(0, 1e-5, (4, 4, 300)), 128.0, CH, ratings,
        rating_names=("valence", "emotion", "code"), scales={"valence": five, "emotion": emotion, "code": codes},
        subject=["a", "a", "b/x", "b/x"], session=[1, 2, 1, 1], trial=[7, 7, 1, 2], dataset="mine")
    epochs = trials.to_epochs()
    assert epochs.metadata.columns.tolist() == ["subject", "session", "trial", "valence", "emotion", "code"]
    emotion_column = epochs.metadata["emotion"]  # names, as a categorical with every category in order
    assert list(emotion_column.cat.categories) == ["neutral", "sad", "fear", "happy"]
    assert emotion_column.iloc[0] == "happy" and emotion_column.isna().tolist() == [False, True, False, False]
    back = EEGTrials.from_epochs(epochs)
    assert back.rating_names == trials.rating_names and back.scales == trials.scales
    np.testing.assert_array_equal(back.ratings, trials.ratings)  # NaN in the same places
    for name in ("subject", "session", "trial", "trial_keys"):
        assert getattr(back, name).tolist() == getattr(trials, name).tolist()
    assert back.dataset == "mine" and back.ch_names == trials.ch_names
    for a, b in zip(back.signals, trials.signals, strict=True):
        np.testing.assert_array_equal(a, b)
    # a selection of the epochs keeps its rows (positional, whatever the metadata index)
    part = EEGTrials.from_epochs(epochs[[1, 3]])
    assert part.trial_keys.tolist() == ["a/2/7", "b%2Fx/1/2"]
    np.testing.assert_array_equal(part.ratings, trials.ratings[[1, 3]])


def test_repr_is_compact_with_shapes_ids_and_labels():
    five = RatingScale("SAM 1-5", 1, 5, "ordinal")
    trials = EEGTrials.from_arrays(
        [np.full((4, 256), 1e-6) + np.arange(256) * 1e-8, np.full((4, 384), 1e-6) + np.arange(384) * 1e-8],
        128.0, CH, np.array([[3.0], [np.nan]]), rating_names=["valence"], scales={"valence": five},
        subject=["p1", "p2"], dataset="lab")
    text = repr(trials)
    assert text == ("<EEGTrials | lab, 2 trials x 4 channels x 256-384 samples (2-3 s) at 128 Hz, subjects "
                    "['p1', 'p2'], sessions [1], labels: valence (ordinal 1-5, 1 missing)>")
    many = make(n=6, subject=[f"s{i}" for i in range(6)])
    assert "subjects ['s0', 's1', 's2', ..., 's5'] (6)" in repr(many) and "\n" not in repr(many)
    assert "with baselines" in repr(make(n=1, baselines=[np.ones((4, 10)) * 1e-6]))
