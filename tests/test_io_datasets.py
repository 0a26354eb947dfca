"""Dataset readers read the simulator's files back exactly, and reject bad files with clear errors."""

import os
import pickle
import shutil
import struct

import numpy as np
import pytest
import scipy.io

from neuroaffect._validation import FileFormatError
from neuroaffect.io import layouts as L
from neuroaffect.io import list_subjects, read_deap, read_dreamer, read_seed, read_seed_iv
from neuroaffect.simulate import (
    simulate_trials,
    write_deap,
    write_dreamer,
    write_seed,
    write_seed_iv,
)


@pytest.fixture(scope="module")
def deap_dir(tmp_path_factory):
    return write_deap(
        tmp_path_factory.mktemp("deap"), 2, n_trials=3, trial_duration=2.0, seed=3, progress=False
    )


@pytest.fixture(scope="module")
def seed_dir(tmp_path_factory):
    return write_seed(
        tmp_path_factory.mktemp("seed"), 2, trial_duration=0.5, seed=4, progress=False
    )


@pytest.fixture(scope="module")
def seed_iv_dir(tmp_path_factory):
    return write_seed_iv(
        tmp_path_factory.mktemp("seed_iv"), 1, trial_duration=0.5, seed=5, progress=False
    )


@pytest.fixture(scope="module")
def dreamer_dir(tmp_path_factory):
    return write_dreamer(
        tmp_path_factory.mktemp("dreamer"),
        2,
        n_trials=3,
        trial_duration=2.0,
        seed=6,
        progress=False,
    )


def assert_same_trials(a, b):
    assert a.sfreq == b.sfreq and a.ch_names == b.ch_names and a.rating_names == b.rating_names
    assert len(a.signals) == len(b.signals)
    for x, y in zip(a.signals, b.signals, strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.ratings, b.ratings)
    for name in ("subject", "session", "trial"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert (a.baselines is None) == (b.baselines is None)
    for x, y in zip(a.baselines or [], b.baselines or [], strict=True):
        np.testing.assert_array_equal(x, y)


def copy_tree(src, dst):
    shutil.copytree(src, dst)
    return dst


# -- DEAP --------------------------------------------------------------------------------------
def test_deap_layout_and_exact_read_back(deap_dir):
    assert sorted(p.name for p in deap_dir.iterdir()) == ["s01.dat", "s02.dat"]
    raw = (deap_dir / "s02.dat").read_bytes()
    assert raw[:2] == b"\x80\x02"  # protocol 2, as written by Python 2
    assert b"numpy.core.multiarray" in raw and b"numpy._core" not in raw  # readable by numpy 1 too
    assert len(raw) < 3 * 40 * 640 * 8 * 1.01  # raw buffers (BINSTRING), not latin-1 text
    with open(deap_dir / "s02.dat", "rb") as f:
        content = pickle.load(f, encoding="latin1")
    assert content["data"].shape == (3, 40, 384 + 256) and content["data"].dtype == np.float64
    assert content["labels"].shape == (3, 4) and content["labels"].dtype == np.float64
    trials = read_deap(deap_dir)
    assert trials.dataset == "deap" and trials.sfreq == 128 and trials.n_trials == 6
    assert trials.ch_names == list(L.DEAP_EEG_CHANNELS) and trials.ch_names[16] == "Fp2"
    assert trials.rating_names == ("valence", "arousal", "dominance", "liking")
    assert trials.scales["valence"].high == 9
    s2 = trials[trials.subject == "2"]
    for t in range(3):  # volts, last 60 s -> signal, first 3 s -> baseline, EEG channels only
        np.testing.assert_allclose(s2.signals[t], content["data"][t, :32, 384:] * 1e-6, rtol=1e-6)
        np.testing.assert_allclose(s2.baselines[t], content["data"][t, :32, :384] * 1e-6, rtol=1e-6)
    np.testing.assert_array_equal(s2.ratings, content["labels"])
    assert list(s2.trial) == [1, 2, 3] and set(s2.session) == {1}
    assert_same_trials(trials, simulate_trials("deap", 2, 3, trial_duration=2.0, seed=3))


def test_deap_peripheral_channels_are_plausible(deap_dir):
    with open(deap_dir / "s01.dat", "rb") as f:
        data = pickle.load(f, encoding="latin1")["data"]
    peripheral = data[:, 32:]
    assert np.isfinite(peripheral).all()
    assert peripheral[:, 4].mean() > 500  # GSR level
    assert 25 < peripheral[:, 7].mean() < 40  # temperature in °C


def test_list_subjects_is_lazy_and_selects_by_id(deap_dir):
    sources = list_subjects("deap", deap_dir.parent)  # the parent folder is accepted too
    assert [s.subject for s in sources] == ["1", "2"]
    assert sources[1].files == (deap_dir / "s02.dat",)
    one = pickle.loads(pickle.dumps(sources[1])).load()  # sources travel to worker processes
    assert set(one.subject) == {"2"} and one.n_trials == 3
    for ids in ("s02", 2, "02", ["2"]):
        assert [s.subject for s in list_subjects("deap", deap_dir, ids)] == ["2"]
    assert read_deap(deap_dir, subjects=[2, 1]).subject[0] == "2"
    assert set(read_deap(deap_dir / "s02.dat").subject) == {"2"}  # a single file
    with pytest.raises(
        ValueError, match=r"Unknown deap subject.*\['7'\].*available subjects: \['1', '2'\]"
    ):
        list_subjects("deap", deap_dir, [7])
    with pytest.raises(ValueError, match="'dataset'"):
        list_subjects("deep", deap_dir)
    with pytest.raises(TypeError, match="Unknown option"):
        list_subjects("deap", deap_dir, sfreq=128)


def test_list_subjects_accepts_every_spelling(seed_iv_dir):
    """The dataset registry (issue 14, item 8): "seed-iv" and "seed_iv" are the same dataset."""
    hyphen, underscore = (list_subjects(name, seed_iv_dir, sfreq=200.0) for name in ("seed-iv", "seed_iv"))
    assert hyphen == underscore and hyphen[0].dataset == "seed_iv"  # one name in sources and cache keys
    for name in ("seed-iv", "seed_iv"):
        with pytest.raises(TypeError, match=r"SEED-IV needs an explicit sfreq .*200 Hz vs 1000 Hz"):
            list_subjects(name, seed_iv_dir)
    with pytest.raises(ValueError, match="'seed-iv'.*but got 'seed4'"):
        list_subjects("seed4", seed_iv_dir)


def test_every_registered_dataset_has_a_consistent_reader():
    import inspect

    import neuroaffect.io as nio
    from neuroaffect.evaluation import PROTOCOLS, get_protocol

    assert list(nio.DATASETS) == ["deap", "seed", "seed_iv", "dreamer", "eegmat"]
    for name, spec in nio.DATASETS.items():
        assert isinstance(spec, nio.DatasetSpec) and spec.name == name
        assert callable(getattr(nio, f"read_{name}")) and nio.READERS[name] is spec.read_subject
        assert all(nio.get_dataset(spelling) is spec for spelling in (*spec.spellings, spec.public_name))
        assert spec.target in spec.rating_names and spec.task in ("binary", "classes", "regression")
        assert spec.protocol in PROTOCOLS and (spec.within_subject or get_protocol(spec.protocol).scope != "subject")
        parameters = inspect.signature(spec.read_subject).parameters
        assert set(spec.options) == set(list(parameters)[1:])  # after the source
        for option, why in spec.required_options:
            assert parameters[option].default is inspect.Parameter.empty and why
    with pytest.raises(TypeError):
        nio.DATASETS["mine"] = nio.DATASETS["deap"]  # read-only


def test_deap_missing_and_empty(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_deap(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="No deap subject files"):
        read_deap(tmp_path)
    (tmp_path / "notes.dat").write_text("x")
    with pytest.raises(FileFormatError, match="not named like a DEAP subject file"):
        read_deap(tmp_path / "notes.dat")


def _write_pickle(path, obj):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def test_deap_bad_files(deap_dir, tmp_path):
    good = (deap_dir / "s01.dat").read_bytes()
    (tmp_path / "s01.dat").write_bytes(good[: len(good) // 2])
    with pytest.raises(FileFormatError, match=r"s01\.dat.*truncated"):
        read_deap(tmp_path)
    (tmp_path / "s01.dat").write_text("subject,valence\n1,5\n")
    with pytest.raises(FileFormatError, match=r"s01\.dat: cannot be unpickled"):
        read_deap(tmp_path)
    _write_pickle(tmp_path / "s01.dat", {"data": os.system})  # code, not arrays: refused, not run
    with pytest.raises(FileFormatError, match="refusing to load"):
        read_deap(tmp_path)
    _write_pickle(tmp_path / "s01.dat", {"eeg": np.zeros(3)})
    with pytest.raises(FileFormatError, match="expected a dict with keys 'data' and 'labels'"):
        read_deap(tmp_path)
    _write_pickle(
        tmp_path / "s01.dat", {"data": np.zeros((2, 32, 1000)), "labels": np.ones((2, 4))}
    )
    with pytest.raises(FileFormatError, match=r"'data' has shape \(2, 32, 1000\)"):
        read_deap(tmp_path)
    _write_pickle(
        tmp_path / "s01.dat", {"data": np.zeros((2, 40, 1000)), "labels": np.ones((2, 3))}
    )
    with pytest.raises(FileFormatError, match=r"'labels' has shape \(2, 3\)"):
        read_deap(tmp_path)
    data = np.zeros((2, 40, 1000))
    data[1, 5, 700] = np.nan
    _write_pickle(tmp_path / "s01.dat", {"data": data, "labels": np.ones((2, 4))})
    with pytest.raises(FileFormatError, match=r"s01\.dat: trial 2 .*NaN/inf"):
        read_deap(tmp_path)
    data[1, 5, 700] = 0
    _write_pickle(tmp_path / "s01.dat", {"data": data, "labels": np.full((2, 4), 11.0)})
    with pytest.raises(FileFormatError, match=r"s01\.dat.*off the DEAP SAM 1-9 scale"):
        read_deap(tmp_path)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_deap_file_re_saved_with_any_pickle_protocol_reads_back(deap_dir, tmp_path, protocol):
    """Protocol 5 stores arrays through numpy's _frombuffer (bytes -> array), which is allowed."""
    original = read_deap(deap_dir, subjects=1)
    with open(deap_dir / "s01.dat", "rb") as f:
        content = pickle.load(f, encoding="latin1")
    with open(tmp_path / "s01.dat", "wb") as f:
        pickle.dump(content, f, protocol=protocol)
    assert_same_trials(read_deap(tmp_path), original)


# -- SEED --------------------------------------------------------------------------------------
def test_seed_layout_order_and_exact_read_back(seed_dir, tmp_path):
    names = sorted(p.name for p in seed_dir.iterdir())
    assert "label.mat" in names and len(names) == 7
    np.testing.assert_array_equal(
        scipy.io.loadmat(seed_dir / "label.mat")["label"][0], L.SEED_LABELS
    )
    trials = read_seed(seed_dir)
    assert trials.n_trials == 2 * 3 * 15 and trials.sfreq == 200 and trials.n_channels == 62
    assert trials.ch_names == list(L.SEED_CHANNELS)
    assert trials.rating_names == ("emotion",)
    np.testing.assert_array_equal(trials.ratings[:15, 0], L.SEED_LABELS)
    assert list(trials.trial[:15]) == list(range(1, 16)) and list(np.unique(trials.session)) == [
        1,
        2,
        3,
    ]
    assert_same_trials(
        trials, simulate_trials("seed", 2, 15, trial_duration=0.5, n_sessions=3, seed=4)
    )
    # Trial 10 is variable eeg10 (string order would give eeg10 right after eeg1); session 2 is
    # the second date of the subject.
    files = sorted(p for p in seed_dir.iterdir() if p.name.startswith("1_"))
    mat = scipy.io.loadmat(files[1])
    key10 = next(k for k in mat if k.endswith("_eeg10"))
    s = trials[(trials.subject == "1") & (trials.session == 2)]
    np.testing.assert_allclose(s.signals[9], mat[key10] * 1e-6, rtol=1e-6)
    np.testing.assert_allclose(s.signals[1], mat[key10.replace("eeg10", "eeg2")] * 1e-6, rtol=1e-6)
    dropped = read_seed(seed_dir, subjects=1, drop_cerebellar=True)
    assert dropped.n_channels == 60 and "CB1" not in dropped.ch_names


def test_seed_subjects_in_numeric_order(seed_dir, tmp_path):
    root = copy_tree(seed_dir, tmp_path / "Preprocessed_EEG")
    for p in list(root.glob("2_*.mat")):
        p.rename(root / p.name.replace("2_", "10_", 1))
    sources = list_subjects("seed", tmp_path)
    assert [s.subject for s in sources] == ["1", "10"]
    assert sources[1].files[0].name == "label.mat" and len(sources[1].files) == 4


def _seed_copy(seed_dir, tmp_path):
    root = copy_tree(seed_dir, tmp_path / "Preprocessed_EEG")
    return root, sorted(root.glob("1_*.mat"))[0]


def test_seed_bad_files(seed_dir, tmp_path):
    root, first = _seed_copy(seed_dir, tmp_path)
    good = first.read_bytes()
    first.write_bytes(good[: len(good) // 2])
    with pytest.raises(FileFormatError, match=rf"{first.name}.*MATLAB"):
        read_seed(root, subjects=1)
    first.write_text("not a mat file")
    with pytest.raises(FileFormatError, match=rf"{first.name}"):
        read_seed(root, subjects=1)
    scipy.io.savemat(first, {"something": np.zeros((62, 10))})
    with pytest.raises(FileFormatError, match="no '<initials>_eegN' variables"):
        read_seed(root, subjects=1)
    scipy.io.savemat(first, {"ab_eeg1": np.zeros((61, 10))})
    with pytest.raises(FileFormatError, match=r"ab_eeg1 \(trial 1\) has shape \(61, 10\)"):
        read_seed(root, subjects=1)
    scipy.io.savemat(first, {"ab_eeg1": np.zeros((62, 10)), "ab_eeg3": np.zeros((62, 10))})
    with pytest.raises(FileFormatError, match="none missing"):
        read_seed(root, subjects=1)
    bad = np.zeros((62, 10))
    bad[3, 4] = np.inf
    scipy.io.savemat(first, {"ab_eeg1": np.zeros((62, 10)), "ab_eeg2": bad})
    with pytest.raises(
        FileFormatError, match=rf"{first.name}: variable ab_eeg2 \(trial 2\) contains 1 NaN/inf"
    ):
        read_seed(root, subjects=1)
    (root / "label.mat").unlink()
    with pytest.raises(FileNotFoundError, match="label.mat"):
        read_seed(root, subjects=2)


def _mat_v5_element_ends(data: bytes) -> list[int]:
    """Byte offsets where each top-level variable of an uncompressed MATLAB v5 file ends."""
    ends, offset = [], 128  # after the header
    while offset < len(data):
        _, n_bytes = struct.unpack("<II", data[offset:offset + 8])
        offset += 8 + n_bytes + (-n_bytes % 8)
        ends.append(offset)
    return ends


@pytest.mark.parametrize("how", ["cut", "rewritten"])
def test_seed_session_file_with_missing_trials_is_refused(seed_dir, tmp_path, how):
    root, first = _seed_copy(seed_dir, tmp_path)
    mat = scipy.io.loadmat(first)
    trials = sorted((k for k in mat if "_eeg" in k), key=lambda k: int(k.rsplit("eeg", 1)[1]))
    assert len(trials) == 15
    if how == "cut":  # an interrupted copy that stops between two variables
        data = first.read_bytes()
        first.write_bytes(data[: _mat_v5_element_ends(data)[11]])
    else:  # written like the simulator does, without the last three trials
        kept = {k: mat[k] for k in trials[:12]}
        scipy.io.savemat(first, kept, do_compression=False, oned_as="row")
    assert len([k for k in scipy.io.loadmat(first) if "_eeg" in k]) == 12  # scipy reads it silently
    with pytest.raises(
        FileFormatError, match=rf"{first.name}: holds 12 trials \(eeg1..eeg12\); expected 15.*truncated"
    ):
        read_seed(root, subjects=1)


def test_seed_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_seed(tmp_path / "missing")


# -- SEED-IV -----------------------------------------------------------------------------------
def test_seed_iv_layout_labels_and_explicit_sfreq(seed_iv_dir):
    assert sorted(p.name for p in seed_iv_dir.iterdir()) == ["1", "2", "3"]
    with pytest.raises(TypeError, match="sfreq"):
        read_seed_iv(seed_iv_dir)  # a required keyword: no silent default
    with pytest.raises(TypeError, match="explicit sfreq"):
        list_subjects("seed_iv", seed_iv_dir)
    trials = read_seed_iv(seed_iv_dir, sfreq=200.0)
    assert trials.n_trials == 72 and trials.sfreq == 200
    for session in (1, 2, 3):
        np.testing.assert_array_equal(
            trials.rating("emotion")[trials.session == session], L.SEED_IV_LABELS[session]
        )
    assert trials.scales["emotion"].categories == ("neutral", "sad", "fear", "happy")
    assert_same_trials(
        trials, simulate_trials("seed_iv", 1, 24, trial_duration=0.5, n_sessions=3, seed=5)
    )
    assert read_seed_iv(seed_iv_dir, sfreq=1000.0).sfreq == 1000.0
    with pytest.raises(ValueError, match="'sfreq'"):
        read_seed_iv(seed_iv_dir, sfreq=-1)


def test_seed_iv_missing_session_folder(seed_iv_dir, tmp_path):
    root = copy_tree(seed_iv_dir, tmp_path / "eeg_raw_data")
    shutil.rmtree(root / "3")
    with pytest.raises(FileNotFoundError, match="session folder"):
        read_seed_iv(tmp_path, sfreq=200.0)


@pytest.mark.parametrize("how", ["cut", "rewritten"])
def test_seed_iv_session_file_with_missing_trials_is_refused(seed_iv_dir, tmp_path, how):
    root = copy_tree(seed_iv_dir, tmp_path / "eeg_raw_data")
    second = next((root / "2").glob("1_*.mat"))
    mat = scipy.io.loadmat(second)
    trials = sorted((k for k in mat if "_eeg" in k), key=lambda k: int(k.rsplit("eeg", 1)[1]))
    assert len(trials) == 24
    if how == "cut":  # an interrupted copy that stops between two variables
        data = second.read_bytes()
        second.write_bytes(data[: _mat_v5_element_ends(data)[19]])
    else:
        scipy.io.savemat(second, {k: mat[k] for k in trials[:20]}, do_compression=False, oned_as="row")
    assert len([k for k in scipy.io.loadmat(second) if "_eeg" in k]) == 20  # scipy reads it silently
    match = rf"{second.name}: holds 20 trials \(eeg1..eeg20\); expected 24, as every SEED-IV session has.*truncated"
    with pytest.raises(FileFormatError, match=match):
        read_seed_iv(root, sfreq=200.0)
    with pytest.raises(FileFormatError, match=match):  # the lazy sources too (what the recipes read)
        list_subjects("seed_iv", root, sfreq=200.0)[0].load()


def test_seed_iv_smaller_datasets_are_read_when_said_so(tmp_path):
    root = write_seed_iv(tmp_path / "small", 1, n_trials=5, trial_duration=0.5, seed=5, progress=False)
    first = sorted((root / "1").glob("*.mat"))[0]
    with pytest.raises(FileFormatError, match=rf"{first.name}: holds 5 trials .*expected 24.*n_trials=N"):
        read_seed_iv(root, sfreq=200.0)  # strict by default: the real dataset has 24 per session
    trials = read_seed_iv(root, sfreq=200.0, n_trials=5)
    assert trials.trial.tolist() == [1, 2, 3, 4, 5] * 3
    for session in (1, 2, 3):  # the first five labels of each session's sequence
        np.testing.assert_array_equal(trials.rating("emotion")[trials.session == session],
                                      L.SEED_IV_LABELS[session][:5])
    assert_same_trials(trials, simulate_trials("seed_iv", 1, 5, trial_duration=0.5, n_sessions=3, seed=5))
    with pytest.raises(FileFormatError, match=rf"{first.name}: holds 5 trials .*expected 6, as n_trials=6 says"):
        read_seed_iv(root, sfreq=200.0, n_trials=6)
    with pytest.raises(FileFormatError, match=rf"{first.name}: holds trials \[1, 2, 3, 4, 5\]; expected .*N <= 4"):
        read_seed_iv(root, sfreq=200.0, n_trials=4)
    # n_trials is a reader option: part of the source (and so of the feature cache key)
    (source,) = list_subjects("seed_iv", root, sfreq=200.0, n_trials=5)
    assert dict(source.options)["n_trials"] == 5 and source.load().n_trials == 15
    for bad in (0, 25, 2.5, "5", True):
        with pytest.raises(ValueError, match=rf"'n_trials' parameter: expected None .* 1 to 24.*got {bad!r}"):
            read_seed_iv(root, sfreq=200.0, n_trials=bad)


# -- DREAMER -----------------------------------------------------------------------------------
def test_dreamer_structure_and_exact_read_back(dreamer_dir):
    mat = scipy.io.loadmat(dreamer_dir / "DREAMER.mat", verify_compressed_data_integrity=False)
    root = mat["DREAMER"][0, 0]
    stim = root["Data"][0, 1]["EEG"][0, 0]["stimuli"][0, 0][2, 0]
    assert stim.shape == (256, 14)  # time-major
    assert root["Data"][0, 1]["EEG"][0, 0]["baseline"][0, 0][0, 0].shape == (7808, 14)
    assert root["Data"][0, 0]["ScoreValence"][0, 0].shape == (3, 1)
    assert float(root["EEG_SamplingRate"][0, 0]) == 128
    trials = read_dreamer(dreamer_dir / "DREAMER.mat")
    assert trials.n_trials == 6 and trials.ch_names == list(L.DREAMER_CHANNELS)
    assert trials.baselines[0].shape == (14, 7808)
    np.testing.assert_allclose(trials.signals[5], stim.T * 1e-6, rtol=1e-6)
    assert trials.scales["valence"].kind == "ordinal" and set(np.unique(trials.ratings)) <= {
        1,
        2,
        3,
        4,
        5,
    }
    assert_same_trials(trials, simulate_trials("dreamer", 2, 3, trial_duration=2.0, seed=6))
    assert [s.subject for s in list_subjects("dreamer", dreamer_dir)] == ["1", "2"]


def test_a_mat_file_that_is_not_dreamer_is_named_as_such(tmp_path):
    path = tmp_path / "seed_session.mat"
    scipy.io.savemat(path, {"ab_eeg1": np.zeros((62, 10)), "ab_eeg2": np.zeros((62, 10))})
    with pytest.raises(
        FileFormatError,
        match=rf"{path}: is not a DREAMER file: it has no variable 'DREAMER' .*it holds variables "
        r"\['ab_eeg1', 'ab_eeg2'\]",
    ):
        read_dreamer(path)


def _mutated_dreamer(dreamer_dir, tmp_path, mutate):
    mat = scipy.io.loadmat(dreamer_dir / "DREAMER.mat")
    mutate(mat["DREAMER"][0, 0])
    scipy.io.savemat(tmp_path / "DREAMER.mat", {"DREAMER": mat["DREAMER"]})
    return tmp_path / "DREAMER.mat"


def test_dreamer_bad_files(dreamer_dir, tmp_path):
    with pytest.raises(FileNotFoundError):
        read_dreamer(tmp_path)
    good = (dreamer_dir / "DREAMER.mat").read_bytes()
    (tmp_path / "DREAMER.mat").write_bytes(good[: len(good) // 2])
    with pytest.raises(FileFormatError, match="DREAMER.mat"):
        read_dreamer(tmp_path)
    scipy.io.savemat(tmp_path / "DREAMER.mat", {"other": np.zeros(3)})
    with pytest.raises(FileFormatError, match="no variable 'DREAMER'"):
        read_dreamer(tmp_path)

    def short_baseline(root):  # 61 s at 100 Hz under a 128 Hz header: a rate mismatch
        root["Data"][0, 0]["EEG"][0, 0]["baseline"][0, 0][1, 0] = np.zeros((6100, 14))

    path = _mutated_dreamer(dreamer_dir, tmp_path, short_baseline)
    with pytest.raises(
        FileFormatError, match=r"baseline\{2\} has 6100 samples.*Sampling-rate mismatch"
    ):
        read_dreamer(path, subjects=1)

    def channel_major(root):
        root["Data"][0, 1]["EEG"][0, 0]["stimuli"][0, 0][0, 0] = np.zeros((14, 300))

    path = _mutated_dreamer(dreamer_dir, tmp_path, channel_major)
    with pytest.raises(
        FileFormatError, match=r"stimuli\{1\} has shape \(14, 300\); expected time-major"
    ):
        read_dreamer(path, subjects=2)

    def nan_sample(root):
        root["Data"][0, 1]["EEG"][0, 0]["stimuli"][0, 0][2, 0][10, 3] = np.nan

    path = _mutated_dreamer(dreamer_dir, tmp_path, nan_sample)
    with pytest.raises(
        FileFormatError,
        match=r"DREAMER.mat: DREAMER.Data\{2\}.EEG.stimuli\{3\} \(trial 3\) contains 1 NaN",
    ):
        read_dreamer(path, subjects=2)

    def unknown_channel(root):
        root["EEG_Electrodes"][0, 3] = np.array(["XYZ"])

    path = _mutated_dreamer(dreamer_dir, tmp_path, unknown_channel)
    with pytest.raises(ValueError, match=r"Unknown channel name\(s\) in .*DREAMER.mat.*XYZ"):
        read_dreamer(path)
