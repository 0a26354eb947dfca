"""Independent fixtures for the four dataset readers (issue 15, item 10).

Each test writes a small file in the published layout of its dataset, from the facts in the
project's reference (shared/reference/eeg-datasets.md, copied below as literals), with plain
pickle / scipy.io: never through neuroaffect.io.layouts or neuroaffect.simulate, which the readers
share. The reader's output is then pinned: channel order, label tables, units, shapes, ids. A wrong
channel order or label table in layouts.py (and so in both the readers and the simulator) fails here.
"""

import pickle

import numpy as np
import pytest
import scipy.io

from neuroaffect.io import read_deap, read_dreamer, read_seed, read_seed_iv

# ---- facts from eeg-datasets.md (verbatim) ------------------------------------------------------
DEAP_GENEVA = ("FP1 AF3 F3 F7 FC5 FC1 C3 T7 CP5 CP1 P3 P7 PO3 O1 OZ PZ FP2 AF4 FZ F4 F8 FC6 FC2 CZ C4 T8 "
               "CP6 CP2 P4 P8 PO4 O2").split()
SEED_CHANNELS = ("FP1 FPZ FP2 AF3 AF4 F7 F5 F3 F1 FZ F2 F4 F6 F8 FT7 FC5 FC3 FC1 FCZ FC2 FC4 FC6 FT8 T7 C5 "
                 "C3 C1 CZ C2 C4 C6 T8 TP7 CP5 CP3 CP1 CPZ CP2 CP4 CP6 TP8 P7 P5 P3 P1 PZ P2 P4 P6 P8 PO7 "
                 "PO5 PO3 POZ PO4 PO6 PO8 CB1 O1 OZ O2 CB2").split()
SEED_LABELS = [1, 0, -1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 0, 1, -1]
SEED_IV_LABELS = {
    1: "1,2,3,0,2,0,0,1,0,1,2,1,1,1,2,3,2,2,3,3,0,3,0,3",
    2: "2,1,3,0,0,2,0,2,3,3,2,3,2,0,1,1,2,1,0,3,0,1,3,1",
    3: "1,2,2,1,3,3,3,1,1,2,1,0,2,3,3,0,2,3,0,0,2,0,1,0",
}
SEED_IV_LABELS = {s: [int(v) for v in text.split(",")] for s, text in SEED_IV_LABELS.items()}
DREAMER_CHANNELS = "AF3 F7 F3 FC5 T7 P7 O1 O2 P8 T8 FC6 F4 F8 AF4".split()


def upper(names):
    return [str(n).upper() for n in names]


def marked(n_channels, n_times, trial, rng):
    """Samples in µV where channel c carries the offset 100 * (c + 1) and trial t adds t: a channel
    or trial read in the wrong place shows up in its mean."""
    return (100.0 * (np.arange(n_channels)[:, None] + 1) + trial + rng.normal(0, 1, (n_channels, n_times)))


# ---- DEAP: data_preprocessed_python/sNN.dat -----------------------------------------------------
def test_deap_reader_pins_the_published_layout(tmp_path):
    rng = np.random.default_rng(0)
    n_trials = 3  # the real files have 40; every other size is the published one
    data = np.stack([marked(40, 8064, t, rng) for t in range(n_trials)])  # (trials, 40 channels, 8064)
    data[:, 32:] = 1e6  # peripheral channels 33-40 (hEOG ... temperature): never EEG
    labels = np.array([[1.0, 9.0, 5.5, 2.25], [3.0, 4.0, 6.0, 7.0], [8.5, 1.5, 1.0, 9.0]])
    folder = tmp_path / "data_preprocessed_python"
    folder.mkdir()
    with open(folder / "s07.dat", "wb") as f:  # a Python 2 era pickle: protocol 2
        pickle.dump({"labels": labels, "data": data}, f, protocol=2)
    trials = read_deap(tmp_path)
    assert upper(trials.ch_names) == DEAP_GENEVA and trials.sfreq == 128.0
    assert trials.rating_names == ("valence", "arousal", "dominance", "liking")
    np.testing.assert_array_equal(trials.ratings, labels)
    assert trials.subject.tolist() == ["7"] * 3 and trials.trial.tolist() == [1, 2, 3]
    # 3 s baseline (384 samples) then the 60 s trial (7680 samples), in volts
    assert [s.shape for s in trials.signals] == [(32, 7680)] * 3
    assert [b.shape for b in trials.baselines] == [(32, 384)] * 3
    np.testing.assert_allclose(trials.signals[2], data[2, :32, 384:] * 1e-6, rtol=1e-6)
    np.testing.assert_allclose(trials.baselines[1], data[1, :32, :384] * 1e-6, rtol=1e-6)
    assert trials.scales["valence"].low == 1 and trials.scales["valence"].high == 9


# ---- SEED: Preprocessed_EEG/{subject}_{date}.mat + label.mat -----------------------------------
def test_seed_reader_pins_the_published_layout(tmp_path):
    rng = np.random.default_rng(1)
    root = tmp_path / "Preprocessed_EEG"
    root.mkdir()
    scipy.io.savemat(root / "label.mat", {"label": np.array([SEED_LABELS])})
    lengths = {}
    # Files listed out of date order; variables written out of numeric order (eeg10 before eeg2 as strings).
    for session_date, offset in (("20140601", 2000), ("20131027", 0), ("20131110", 1000)):
        arrays = {}
        for number in sorted(range(1, 16), key=str):
            n_times = 200 + 10 * number + offset // 100  # 200 Hz; lengths differ per trial and session
            arrays[f"djc_eeg{number}"] = marked(62, n_times, number + offset, rng)
            lengths[(session_date, number)] = n_times
        scipy.io.savemat(root / f"3_{session_date}.mat", arrays)
    trials = read_seed(tmp_path)
    assert upper(trials.ch_names) == SEED_CHANNELS and trials.sfreq == 200.0
    assert trials.rating_names == ("emotion",)
    assert trials.scales["emotion"].categories == ("negative", "neutral", "positive")
    np.testing.assert_array_equal(trials.rating("emotion"), SEED_LABELS * 3)  # the same in every session
    assert trials.session.tolist() == [1] * 15 + [2] * 15 + [3] * 15  # by recording date
    assert trials.trial.tolist() == list(range(1, 16)) * 3 and set(trials.subject) == {"3"}
    dates = ["20131027", "20131110", "20140601"]
    assert [s.shape for s in trials.signals] == [(62, lengths[(d, n)]) for d in dates for n in range(1, 16)]
    # trial 10 of session 2 (the file of 20131110) is djc_eeg10 of that file, in volts
    mean_of_channel_0 = trials.signals[15 + 9][0].mean() * 1e6
    assert mean_of_channel_0 == pytest.approx(100 + 10 + 1000, abs=0.5)
    assert trials.signals[15 + 9][61].mean() * 1e6 == pytest.approx(6200 + 10 + 1000, abs=0.5)
    # the labels are read from label.mat, not from a table inside the reader
    scipy.io.savemat(root / "label.mat", {"label": np.array([SEED_LABELS[::-1]])})
    np.testing.assert_array_equal(read_seed(tmp_path, subjects=3).rating("emotion"), SEED_LABELS[::-1] * 3)


# ---- SEED-IV: eeg_raw_data/{1,2,3}/{subject}_{date}.mat ----------------------------------------
def test_seed_iv_reader_pins_the_published_layout(tmp_path):
    rng = np.random.default_rng(2)
    root = tmp_path / "eeg_raw_data"
    for session in (1, 2, 3):
        (root / str(session)).mkdir(parents=True)
        arrays = {f"cz_eeg{n}": marked(62, 100 + n, 10 * session + n, rng) for n in sorted(range(1, 25), key=str)}
        scipy.io.savemat(root / str(session) / f"12_2018040{session}.mat", arrays)
    trials = read_seed_iv(tmp_path, sfreq=1000.0)  # the rate is a parameter, never assumed
    assert upper(trials.ch_names) == SEED_CHANNELS and trials.sfreq == 1000.0
    assert trials.scales["emotion"].categories == ("neutral", "sad", "fear", "happy")
    np.testing.assert_array_equal(trials.rating("emotion"), SEED_IV_LABELS[1] + SEED_IV_LABELS[2] + SEED_IV_LABELS[3])
    assert trials.session.tolist() == [1] * 24 + [2] * 24 + [3] * 24
    assert trials.trial.tolist() == list(range(1, 25)) * 3 and set(trials.subject) == {"12"}
    assert [s.shape for s in trials.signals] == [(62, 100 + n) for _ in range(3) for n in range(1, 25)]
    # session 3, trial 17 (label 2, fear): cz_eeg17 of folder 3
    assert trials.signals[48 + 16][0].mean() * 1e6 == pytest.approx(100 + 30 + 17, abs=0.5)
    assert trials.rating("emotion")[48 + 16] == 2
    with pytest.raises(TypeError, match="sfreq"):
        read_seed_iv(tmp_path)


# ---- DREAMER: DREAMER.mat -------------------------------------------------------------------------
def _cell(arrays):
    cell = np.empty((len(arrays), 1), dtype=object)
    for i, a in enumerate(arrays):
        cell[i, 0] = a
    return cell


def test_dreamer_reader_pins_the_published_layout(tmp_path):
    rng = np.random.default_rng(3)
    n_subjects, n_clips = 2, 18
    subjects, expected = np.empty((1, n_subjects), dtype=object), {}
    for s in range(n_subjects):
        # time-major cells: stimuli (T, 14) of different lengths, baselines (7808, 14) = 61 s at 128 Hz
        stimuli = [marked(14, 128 * (2 + (t % 3)), 20 * s + t, rng).T.astype(np.float32) for t in range(n_clips)]
        baselines = [marked(14, 7808, -1 - s, rng).T.astype(np.float32) for _ in range(n_clips)]
        scores = {name: rng.integers(1, 6, (n_clips, 1)).astype(np.uint8)
                  for name in ("ScoreValence", "ScoreArousal", "ScoreDominance")}
        subjects[0, s] = {"Age": 22 + s, "Gender": "male", "EEG": {"stimuli": _cell(stimuli), "baseline": _cell(baselines)},
                          "ECG": {"stimuli": _cell([np.zeros((10, 2))] * n_clips)}, **scores}
        expected[s] = (stimuli, baselines, scores)
    electrodes = np.empty((1, 14), dtype=object)
    electrodes[0, :] = DREAMER_CHANNELS
    scipy.io.savemat(tmp_path / "DREAMER.mat", {"DREAMER": {
        "Data": subjects, "EEG_SamplingRate": 128, "EEG_Electrodes": electrodes,
        "noOfSubjects": n_subjects, "noOfVideoSequences": n_clips,
    }})
    trials = read_dreamer(tmp_path)
    assert upper(trials.ch_names) == DREAMER_CHANNELS and trials.sfreq == 128.0
    assert trials.rating_names == ("valence", "arousal", "dominance")
    assert trials.subject.tolist() == ["1"] * 18 + ["2"] * 18 and trials.trial.tolist() == list(range(1, 19)) * 2
    stimuli, baselines, scores = expected[1]
    np.testing.assert_array_equal(trials.rating("arousal")[18:], scores["ScoreArousal"].ravel())
    np.testing.assert_array_equal(trials.rating("valence")[:18], expected[0][2]["ScoreValence"].ravel())
    # (T, 14) in µV becomes (14, T) in volts; DC offsets are kept
    assert [s.shape for s in trials.signals[18:]] == [(14, 128 * (2 + t % 3)) for t in range(18)]
    np.testing.assert_allclose(trials.signals[18 + 5], stimuli[5].T * 1e-6, rtol=1e-6)
    assert trials.baselines[18 + 5].shape == (14, 7808)
    np.testing.assert_allclose(trials.baselines[18 + 5], baselines[5].T * 1e-6, rtol=1e-6)
    assert trials.scales["valence"].kind == "ordinal" and (trials.scales["valence"].low, trials.scales["valence"].high) == (1, 5)
