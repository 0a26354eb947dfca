"""read_recording (files MNE reads + a ratings table) and read_bids (mne-bids).

MNE's EDF export needs ``edfio`` and BrainVision export ``pybv``, neither installed here: recordings
are written as FIF by MNE, and as EDF and BrainVision by the small writers below (EDF: ASCII header
and 16-bit records; BrainVision: text header, text markers and raw float32 samples).
"""

import os

import mne
import numpy as np
import pandas as pd
import pytest

from neuroaffect._validation import FileFormatError
from neuroaffect.affect.scales import RatingScale, get_scale
from neuroaffect.io import read_bids, read_recording

SFREQ = 128.0
CH = ["FP1", "AF4", "Cz", "Oz"]


def write_brainvision(stem, data_uv, sfreq, ch_names, markers):
    """Minimal BrainVision writer: markers are (description, start sample, length in samples)."""
    base = os.path.basename(stem)
    data_uv.T.astype("<f4").tofile(f"{stem}.eeg")
    channels = "\n".join(f"Ch{i + 1}={name},,1,µV" for i, name in enumerate(ch_names))
    with open(f"{stem}.vhdr", "w", encoding="utf-8") as f:
        f.write(
            "Brain Vision Data Exchange Header File Version 1.0\n\n[Common Infos]\nCodepage=UTF-8\n"
            f"DataFile={base}.eeg\nMarkerFile={base}.vmrk\nDataFormat=BINARY\nDataOrientation=MULTIPLEXED\n"
            f"NumberOfChannels={len(ch_names)}\nSamplingInterval={1e6 / sfreq}\n\n[Binary Infos]\n"
            f"BinaryFormat=IEEE_FLOAT_32\n\n[Channel Infos]\n{channels}\n"
        )
    lines = "\n".join(
        f"Mk{i + 2}=Stimulus,{d},{s + 1},{n},0" for i, (d, s, n) in enumerate(markers)
    )
    with open(f"{stem}.vmrk", "w", encoding="utf-8") as f:
        f.write(
            "Brain Vision Data Exchange Marker File, Version 1.0\n\n[Common Infos]\nCodepage=UTF-8\n"
            f"DataFile={base}.eeg\n\n[Marker Infos]\nMk1=New Segment,,1,1,0\n{lines}\n"
        )
    return f"{stem}.vhdr"


def write_edf(path, data_uv, sfreq, ch_names, phys=500.0):
    """Minimal EDF writer (16-bit, 1 s records, no annotations); returns the quantised data in µV."""
    n_ch, n_times = data_uv.shape
    n_rec = n_times // int(sfreq)
    digital = np.clip(np.round(data_uv / phys * 32767), -32767, 32767).astype("<i2")
    fields = [
        ("0", 8),
        ("X X X X", 80),
        ("Startdate 01-JAN-2020 X X X", 80),
        ("01.01.20", 8),
        ("10.00.00", 8),
        (str(256 * (n_ch + 1)), 8),
        ("", 44),
        (str(n_rec), 8),
        ("1", 8),
        (str(n_ch), 4),
    ]
    per_signal = [
        ch_names,
        ["AgAgCl"] * n_ch,
        ["uV"] * n_ch,
        [f"{-phys:g}"] * n_ch,
        [f"{phys:g}"] * n_ch,
        ["-32767"] * n_ch,
        ["32767"] * n_ch,
        [""] * n_ch,
        [str(int(sfreq))] * n_ch,
        [""] * n_ch,
    ]
    widths = [16, 80, 8, 8, 8, 8, 8, 80, 8, 32]
    header = "".join(v.ljust(w) for v, w in fields)
    header += "".join(
        "".join(v.ljust(w) for v in values) for values, w in zip(per_signal, widths, strict=True)
    )
    records = digital[:, : n_rec * int(sfreq)].reshape(n_ch, n_rec, int(sfreq)).transpose(1, 0, 2)
    with open(path, "wb") as f:
        f.write(header.encode("ascii"))
        f.write(records.tobytes())
    return digital.astype(float) / 32767 * phys


@pytest.fixture()
def fif(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.normal(0, 1e-5, (5, int(30 * SFREQ)))
    info = mne.create_info([*CH, "ECG"], SFREQ, ["eeg"] * 4 + ["ecg"])
    raw = mne.io.RawArray(data, info, first_samp=300, verbose="error")
    raw.set_meas_date(1_600_000_000)
    # Onsets relative to the first sample (orig_time=None); "video1" occurs twice.
    raw.set_annotations(
        mne.Annotations([2.0, 9.0, 18.0], [5.0, 6.0, 0.0], ["video1", "video2", "video1"])
    )
    path = tmp_path / "rec_raw.fif"
    raw.save(path, verbose="error")
    return path, data


def test_fif_events_table_with_repeated_events_and_baseline(fif, tmp_path):
    path, data = fif
    table = pd.DataFrame(
        {
            "event": ["video1", "video2", "video1"],
            "duration": [np.nan, np.nan, 4.0],  # the third annotation has no duration: given here
            "valence": [7.5, 2.0, 5.0],
            "arousal": [3.0, 8.0, 5.5],
        }
    )
    table.to_csv(tmp_path / "ratings.csv", index=False)
    trials = read_recording(
        path, tmp_path / "ratings.csv", scales="deap", baseline=1.0, subject="7"
    )
    assert trials.ch_names == ["Fp1", "AF4", "Cz", "Oz"]  # EEG only, normalised
    assert trials.rating_names == ("valence", "arousal") and trials.scales["valence"] == get_scale(
        "deap"
    )
    spans = [(2.0, 5.0), (9.0, 6.0), (18.0, 4.0)]
    for signal, baseline, (onset, duration) in zip(
        trials.signals, trials.baselines, spans, strict=True
    ):
        start, stop = int(onset * SFREQ), int((onset + duration) * SFREQ)
        np.testing.assert_allclose(signal, data[:4, start:stop], rtol=1e-6)
        np.testing.assert_allclose(baseline, data[:4, start - int(SFREQ) : start], rtol=1e-6)
    np.testing.assert_array_equal(trials.ratings, table[["valence", "arousal"]].to_numpy())
    assert list(trials.subject) == ["7"] * 3 and list(trials.trial) == [1, 2, 3]
    assert trials.dataset == "rec_raw.fif"


@pytest.mark.parametrize("meas_date", [None, 1_600_000_000])
def test_fif_events_start_where_mne_puts_them_with_and_without_meas_date(tmp_path, meas_date):
    """Without meas_date the annotations have orig_time=None and count from sample 0 of the
    acquisition, which lies first_samp samples before the first stored sample."""
    n = int(30 * SFREQ)
    data = np.tile(np.arange(n) * 1e-8, (4, 1))  # each sample's value encodes its data index
    raw = mne.io.RawArray(data, mne.create_info(CH, SFREQ, "eeg"), first_samp=640, verbose="error")
    raw.set_meas_date(meas_date)
    raw.set_annotations(mne.Annotations([12.0], [2.0], ["go"]))  # 12 s after the first sample
    path = tmp_path / "rec_raw.fif"
    raw.save(path, verbose="error")
    trials = read_recording(path, pd.DataFrame({"event": ["go"], "valence": [5.0]}), scales="deap")
    stored = mne.io.read_raw(path, verbose="error")
    assert (stored.annotations.orig_time is None) == (meas_date is None)
    events, _ = mne.events_from_annotations(stored, verbose="error")
    start = int(round(trials.signals[0][0, 0] / 1e-8))
    assert start == events[0, 0] - 640 == int(12 * SFREQ)
    assert trials.n_times[0] == int(2 * SFREQ)


def test_fif_onset_table_tsv_and_explicit_columns(fif, tmp_path):
    path, data = fif
    table = pd.DataFrame(
        {
            "onset": [1.0, 10.0],
            "duration": [2.0, 3.0],
            "trial": [4, 9],
            "valence": [1, 5],
            "note": ["a", "b"],
        }
    )
    table.to_csv(tmp_path / "ratings.tsv", sep="\t", index=False)
    scale = RatingScale("SAM 1-5", 1, 5, "ordinal")
    trials = read_recording(
        path, tmp_path / "ratings.tsv", scales={"valence": scale}, rating_names=["valence"]
    )
    np.testing.assert_allclose(trials.signals[1], data[:4, 1280:1664], rtol=1e-6)
    assert list(trials.trial) == [4, 9] and trials.baselines is None
    assert (
        read_recording(path, table, scales=scale, rating_names=["valence"], sfreq=128.0).n_trials
        == 2
    )


def test_brainvision_markers(tmp_path):
    rng = np.random.default_rng(1)
    data_uv = rng.normal(0, 10, (4, int(20 * SFREQ)))
    vhdr = write_brainvision(
        str(tmp_path / "rec"), data_uv, SFREQ, CH, [("S  1", 256, 640), ("S  2", 1024, 512)]
    )
    table = pd.DataFrame({"event": ["Stimulus/S  2", "Stimulus/S  1"], "valence": [3.0, 4.0]})
    trials = read_recording(vhdr, table, scales=RatingScale("1-5", 1, 5))
    np.testing.assert_allclose(trials.signals[0], data_uv[:, 1024:1536] * 1e-6, rtol=1e-6)  # volts
    np.testing.assert_allclose(trials.signals[1], data_uv[:, 256:896] * 1e-6, rtol=1e-6)


def test_edf_onset_table(tmp_path):
    rng = np.random.default_rng(3)
    quantised = write_edf(tmp_path / "rec.edf", rng.normal(0, 20, (4, int(12 * SFREQ))), SFREQ, CH)
    table = pd.DataFrame({"onset": [1.0, 6.5], "duration": [3.0, 4.0], "arousal": [2.0, 9.0]})
    trials = read_recording(tmp_path / "rec.edf", table, scales="deap")
    assert trials.ch_names == ["Fp1", "AF4", "Cz", "Oz"] and trials.sfreq == SFREQ
    np.testing.assert_allclose(trials.signals[1], quantised[:, 832:1344] * 1e-6, atol=0.05e-6)


def test_recording_errors(fif, tmp_path):
    path, _ = fif
    table = pd.DataFrame({"event": ["video1"], "valence": [5.0]})
    with pytest.raises(FileNotFoundError, match="recording not found"):
        read_recording(tmp_path / "missing.fif", table, scales="deap")
    (tmp_path / "foreign_raw.fif").write_text("not a fif file")
    with pytest.raises(FileFormatError, match="foreign_raw.fif: cannot be read by mne.io.read_raw"):
        read_recording(tmp_path / "foreign_raw.fif", table, scales="deap")
    with pytest.raises(
        ValueError, match=r"names event 'video9'.*Annotations in the file: \['video1', 'video2'\]"
    ):
        read_recording(path, pd.DataFrame({"event": ["video9"], "valence": [5.0]}), scales="deap")
    with pytest.raises(ValueError, match="needs 'onset' and 'duration'"):
        read_recording(path, pd.DataFrame({"valence": [5.0]}), scales="deap")
    with pytest.raises(ValueError, match="off the DEAP SAM 1-9 scale"):
        read_recording(path, pd.DataFrame({"event": ["video1"], "valence": [12.0]}), scales="deap")
    with pytest.raises(ValueError, match="sampled at 128 Hz, but sfreq=256 Hz"):
        read_recording(path, table, scales="deap", sfreq=256.0)
    with pytest.raises(ValueError, match="does not fit inside the recording"):
        read_recording(
            path,
            pd.DataFrame({"onset": [25.0], "duration": [10.0], "valence": [5.0]}),
            scales="deap",
        )
    with pytest.raises(ValueError, match="no duration"):
        read_recording(
            path,
            pd.DataFrame({"event": ["video1", "video1"], "valence": [5.0, 5.0]}),
            scales="deap",
        )
    with pytest.raises(ValueError, match=r"column 'valence' .*holds names \['high'\].*DEAP SAM 1-9.*continuous"):
        read_recording(path, pd.DataFrame({"event": ["video1"], "valence": ["high"]}), scales="deap")
    with pytest.raises(ValueError, match=r"Unknown channel name\(s\) in .*rec_raw.fif.*'Q7'"):
        read_recording(path, table, scales="deap", rename={"Cz": "Q7"})
    with pytest.raises(FileNotFoundError, match="ratings table not found"):
        read_recording(path, tmp_path / "none.csv", scales="deap")


def test_recording_nan_samples_name_file_and_trial(tmp_path):
    data = np.zeros((4, int(10 * SFREQ)))
    data[2, 700] = np.nan
    raw = mne.io.RawArray(data, mne.create_info(CH, SFREQ, "eeg"), verbose="error")
    raw.save(tmp_path / "nan_raw.fif", verbose="error")
    table = pd.DataFrame({"onset": [0.0, 5.0], "duration": [2.0, 2.0], "valence": [5.0, 5.0]})
    with pytest.raises(ValueError, match=r"signals\[1\] of nan_raw.fif contains 1 non-finite"):
        read_recording(tmp_path / "nan_raw.fif", table, scales="deap")


# -- BIDS --------------------------------------------------------------------------------------
@pytest.fixture()
def bids_root(tmp_path):
    import mne_bids

    rng = np.random.default_rng(2)
    data_uv = rng.normal(0, 10, (4, int(20 * SFREQ)))
    vhdr = write_brainvision(
        str(tmp_path / "src"),
        data_uv,
        SFREQ,
        CH,
        [("S  1", 256, 384), ("S  2", 1024, 512), ("S  1", 1792, 384)],
    )
    raw = mne.io.read_raw(vhdr, verbose="error")
    root = tmp_path / "bids"
    bids_path = mne_bids.BIDSPath(subject="01", task="emotion", root=root, datatype="eeg")
    mne_bids.write_raw_bids(raw, bids_path, overwrite=True, verbose=False)
    return root, data_uv, bids_path.copy().update(suffix="events", extension=".tsv").fpath


def test_bids_ratings_in_events_tsv(bids_root):
    root, data_uv, events_path = bids_root
    events = pd.read_csv(events_path, sep="\t")
    stimuli = events["trial_type"].str.startswith("Stimulus")  # MNE < 1.9 also writes 'New Segment/'
    events.loc[stimuli, "valence"] = [6.0, 2.0, 8.0]
    events.to_csv(events_path, sep="\t", index=False, na_rep="n/a")
    trials = read_bids(root, "01", "emotion", scales="deap", rating_names=["valence"])
    assert trials.n_trials == 3 and list(trials.subject) == ["01"] * 3
    np.testing.assert_allclose(trials.signals[1], data_uv[:, 1024:1536] * 1e-6, rtol=1e-6)
    np.testing.assert_array_equal(trials.rating("valence"), [6.0, 2.0, 8.0])


def test_bids_ratings_table_by_trial_type(bids_root):
    root, data_uv, _ = bids_root
    table = pd.DataFrame({"trial_type": ["Stimulus/S  1"], "valence": [4], "arousal": [2]})
    trials = read_bids(
        root,
        "01",
        "emotion",
        scales=RatingScale("1-5", 1, 5, "ordinal"),
        ratings=table,
        baseline=0.5,
    )
    assert trials.n_trials == 2 and trials.rating_names == ("valence", "arousal")
    np.testing.assert_allclose(trials.signals[1], data_uv[:, 1792:2176] * 1e-6, rtol=1e-6)
    np.testing.assert_allclose(trials.baselines[0], data_uv[:, 192:256] * 1e-6, rtol=1e-6)
    with pytest.raises(FileNotFoundError, match="No events file"):
        read_bids(root, "02", "emotion", scales="deap", ratings=table)
    with pytest.raises(ValueError, match="no rating column"):
        read_bids(root, "01", "emotion", scales="deap")


def test_recording_without_eeg_channels(tmp_path):
    raw = mne.io.RawArray(
        np.zeros((2, 1280)), mne.create_info(["a", "b"], SFREQ, "misc"), verbose="error"
    )
    raw.save(tmp_path / "misc_raw.fif", verbose="error")
    table = pd.DataFrame({"onset": [0.0], "duration": [1.0], "valence": [5.0]})
    with pytest.raises(
        ValueError, match=r"misc_raw.fif has no EEG channel \(channel types: \['misc'\]\)"
    ):
        read_recording(tmp_path / "misc_raw.fif", table, scales="deap")


# -- conditions (categorical labels) and missing entries (issue 15, item 1) ---------------------
def test_conditions_table_with_empty_and_na_cells_stays_missing(fif, tmp_path):
    path, data = fif
    table = tmp_path / "conditions.tsv"
    table.write_text("onset\tduration\tcondition\tvalence\n2\t3\trest\t5\n9\t3\t\tn/a\n18\t3\ttask\t7\n"
                     "20\t2\tn/a\t3\n")
    trials = read_recording(path, table, scales={"valence": "deap"})
    condition = trials.scales["condition"]
    assert (condition.kind, condition.categories) == ("categorical", ("rest", "task"))
    np.testing.assert_array_equal(trials.rating("condition"), [0, np.nan, 1, np.nan])
    np.testing.assert_array_equal(trials.rating("valence"), [5, np.nan, 7, 3])
    assert trials.scales["valence"] == get_scale("deap")
    np.testing.assert_allclose(trials.signals[2], data[:4, int(18 * SFREQ):int(21 * SFREQ)], rtol=1e-6)


def test_edf_with_every_channel_typed_eeg_keeps_the_electrodes(tmp_path, caplog):
    import logging

    rng = np.random.default_rng(4)
    names = ["EEG Fp1", "EEG T3", "EEG A2-A1", "ECG ECG"]
    quantised = write_edf(tmp_path / "rec.edf", rng.normal(0, 20, (4, int(10 * SFREQ))), SFREQ, names)
    with caplog.at_level(logging.INFO, logger="neuroaffect"):
        trials = read_recording(tmp_path / "rec.edf", pd.DataFrame(
            {"onset": [1.0], "duration": [2.0], "condition": ["rest"]}),
            scales={"condition": RatingScale("condition", 0, 1, "categorical", ("rest", "task"))})
    assert trials.ch_names == ["Fp1", "T7"]
    np.testing.assert_allclose(trials.signals[0], quantised[:2, 128:384] * 1e-6, atol=0.05e-6)
    assert any("left out 2 non-EEG or bipolar channel(s): EEG A2-A1, ECG ECG" in r.getMessage() for r in caplog.records)


@pytest.fixture()
def bids_two_subjects(tmp_path):
    """sub-01 with one stimulus condition named, sub-02 with two; 'New Segment' events have no label."""
    import mne_bids

    root = tmp_path / "bids"
    rng = np.random.default_rng(5)
    conditions = {"01": ["happy", "happy", None], "02": ["sad", "happy", "sad"]}
    for subject, labels in conditions.items():
        vhdr = write_brainvision(str(tmp_path / f"src{subject}"), rng.normal(0, 10, (4, int(20 * SFREQ))), SFREQ, CH,
                                 [("S  1", 256, 384), ("S  2", 1024, 512), ("S  1", 1792, 384)])
        raw = mne.io.read_raw(vhdr, verbose="error")
        bids_path = mne_bids.BIDSPath(subject=subject, task="emotion", root=root, datatype="eeg")
        mne_bids.write_raw_bids(raw, bids_path, overwrite=True, verbose=False)
        events_path = bids_path.copy().update(suffix="events", extension=".tsv").fpath
        events = pd.read_csv(events_path, sep="\t")
        stimuli = events["trial_type"].str.startswith("Stimulus")
        events.loc[stimuli, "condition"] = labels
        events.to_csv(events_path, sep="\t", index=False, na_rep="n/a")
    return root


def test_bids_sources_share_one_scale_and_leave_out_unlabelled_events(bids_two_subjects, caplog):
    import logging

    import neuroaffect.io
    from neuroaffect.io import BIDSSubject, bids_sources, read_bids_dataset

    assert {"BIDSSubject", "bids_sources", "read_bids", "read_bids_dataset"} <= set(neuroaffect.io.__all__)
    with caplog.at_level(logging.INFO, logger="neuroaffect"):
        sources = bids_sources(bids_two_subjects)
    assert [s.subject for s in sources] == ["01", "02"] and all(isinstance(s, BIDSSubject) for s in sources)
    one, two = sources[0].load(), sources[1].load()
    # categories decided over every events.tsv: sub-01 alone names only "happy"
    assert one.scales == two.scales and one.scales["condition"].categories == ("happy", "sad")
    np.testing.assert_array_equal(one.rating("condition"), [0, 0])  # its third stimulus has no label
    np.testing.assert_array_equal(two.rating("condition"), [1, 0, 1])
    assert two.trial_keys.tolist() == ["02/1/1", "02/1/2", "02/1/3"]
    assert any("left out" in r.getMessage() and "without any label" in r.getMessage() for r in caplog.records)
    # naming the trial types keeps a trial without a label, with its label missing (never a class)
    kept = bids_sources(bids_two_subjects, subjects="sub-01", trial_types=["Stimulus/S  1", "Stimulus/S  2"])
    np.testing.assert_array_equal(kept[0].load().rating("condition"), [0, 0, np.nan])
    assert read_bids_dataset(bids_two_subjects).n_trials == 5
    with pytest.raises(ValueError, match=r"Unknown BIDS subject\(s\) \['03'\].*available subjects: \['01', '02'\]"):
        bids_sources(bids_two_subjects, subjects=["03"])
    with pytest.raises(ValueError, match=r"No events.tsv .* has the label column\(s\) \['valence'\]"):
        bids_sources(bids_two_subjects, rating_names=["valence"])
    with pytest.raises(FileNotFoundError, match="No eeg events.tsv file .* for task 'rest'"):
        bids_sources(bids_two_subjects, task="rest")


def test_bids_subjects_are_cached_by_their_files(bids_two_subjects, tmp_path, monkeypatch):
    from neuroaffect.features import Tokenizer, tokens_for_dataset
    from neuroaffect.io.bids import bids_sources

    loads = []
    original = type(bids_sources(bids_two_subjects)[0]).load
    monkeypatch.setattr(type(bids_sources(bids_two_subjects)[0]), "load",
                        lambda self: loads.append(self.subject) or original(self))
    cache = tmp_path / "bids.h5"
    first = tokens_for_dataset(bids_sources(bids_two_subjects), Tokenizer(window=0.5), cache=cache, progress=False)
    assert loads == ["01", "02"]
    loads.clear()
    tokens_for_dataset(bids_sources(bids_two_subjects), Tokenizer(window=0.5), cache=cache, progress=False)
    assert loads == []
    # relabelling sub-02's events changes its files: only sub-02 is read again, with the new labels
    events_path = next((bids_two_subjects / "sub-02" / "eeg").glob("*_events.tsv"))
    events = pd.read_csv(events_path, sep="\t")
    events["condition"] = events["condition"].replace({"sad": "happy", "happy": "sad"})
    events.to_csv(events_path, sep="\t", index=False, na_rep="n/a")
    again = tokens_for_dataset(bids_sources(bids_two_subjects), Tokenizer(window=0.5), cache=cache, progress=False)
    assert loads == ["02"]
    sub02 = again.subject == "02"
    np.testing.assert_array_equal(again.rating("condition")[sub02], 1 - first.rating("condition")[sub02])
