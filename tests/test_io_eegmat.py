"""The EEGMAT reader and recipe on the real PhysioNet files in ../shared/data/eegmat, and channel picking."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import mne
import numpy as np
import pandas as pd
import pytest

from neuroaffect._validation import FileFormatError
from neuroaffect.channels import pick_eeg_channels
from neuroaffect.io import list_subjects, read_eegmat
from neuroaffect.io.eegmat import trim_padding
from neuroaffect.trials import EEGTrials

EEGMAT = Path(os.environ.get("NEUROAFFECT_EEGMAT", Path(__file__).resolve().parents[2] / "shared" / "data" / "eegmat"))
needs_eegmat = pytest.mark.skipif(
    not (EEGMAT / "Subject00_1.edf").is_file(),
    reason=f"real EEGMAT files not found at {EEGMAT} (the project's ../shared/data/eegmat; CI has it; "
           "or set NEUROAFFECT_EEGMAT)",
)
SCALP = ["Fp1", "Fp2", "F3", "F4", "F7", "F8", "T7", "T8", "C3", "C4", "P7", "P8", "P3", "P4", "O1", "O2", "Fz", "Cz", "Pz"]


# ---- channel picking (no files needed) -------------------------------------------------------
def test_pick_eeg_channels_leaves_out_non_eeg_and_bipolar_with_one_log_line(caplog):
    names = ["EEG Fp1", "EEG T3", "Pz-REF", "EEG A2-A1", "ECG ECG", "Status", "HEOG", "EXG1", "T7-P7", "O1-A1"]
    with caplog.at_level(logging.INFO, logger="neuroaffect"):
        picks, standard = pick_eeg_channels(names, source="rec.edf")
    assert picks == [0, 1, 2, 9] and standard == ["Fp1", "T7", "Pz", "O1"]
    (line,) = [r.getMessage() for r in caplog.records]
    assert line == "rec.edf: left out 6 non-EEG or bipolar channel(s): EEG A2-A1, ECG ECG, Status, HEOG, EXG1, T7-P7"


def test_pick_eeg_channels_still_refuses_unknown_electrodes():
    with pytest.raises(ValueError, match=r"Unknown channel name\(s\) in rec.edf: \['Qq9'\]"):
        pick_eeg_channels(["Fp1", "Qq9"], source="rec.edf")


def test_trim_padding_drops_trailing_constant_blocks_only():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(3, 1000))
    padded = np.concatenate([signal, np.full((3, 120), 0.5), np.full((3, 80), -0.25)], axis=1)
    np.testing.assert_array_equal(trim_padding(padded, "x.edf"), signal)
    short_plateau = np.concatenate([signal, np.full((3, 10), 0.5)], axis=1)  # < 0.1 s: kept
    np.testing.assert_array_equal(trim_padding(short_plateau, "x.edf"), short_plateau)


# ---- the real files ---------------------------------------------------------------------------
@needs_eegmat
def test_list_subjects_finds_the_release_layout():
    sources = list_subjects("eegmat", EEGMAT)
    assert [s.subject for s in sources] == [str(i) for i in range(8)]
    assert [p.name for p in sources[3].files] == ["Subject03_1.edf", "Subject03_2.edf"]
    assert [s.subject for s in list_subjects("eegmat", EEGMAT, ["Subject02", "05", 7])] == ["2", "5", "7"]


@needs_eegmat
def test_read_eegmat_matches_mne_and_the_subject_table(caplog):
    with caplog.at_level(logging.INFO, logger="neuroaffect"):
        trials = read_eegmat(EEGMAT, subjects=[0, 4])
    assert trials.ch_names == SCALP and trials.sfreq == 500.0 and trials.dataset == "eegmat"
    assert list(trials.subject) == ["0", "0", "4", "4"] and list(trials.trial) == [1, 2, 1, 2]
    np.testing.assert_array_equal(trials.rating("condition"), [0, 1, 0, 1])
    table = pd.read_csv(EEGMAT / "subject-info.csv").set_index("Subject")
    for column, name in (("Count quality", "count_quality"), ("Number of subtractions", "n_subtractions"), ("Age", "age")):
        info = table[column]
        np.testing.assert_array_equal(trials.rating(name), [info["Subject00"]] * 2 + [info["Subject04"]] * 2)
    genders = trials.scales["gender"].categories
    assert [genders[int(g)] for g in trials.rating("gender")] == [table["Gender"]["Subject00"]] * 2 + [
        table["Gender"]["Subject04"]] * 2
    # Recordings proper: 180 s rest (168 s for subject 4) and 60 s arithmetic, padding dropped.
    np.testing.assert_allclose(trials.n_times / 500.0, [180.0, 60.0, 168.2, 60.0], atol=0.2)
    assert any("ECG ECG" in r.getMessage() and "EEG A2-A1" in r.getMessage() for r in caplog.records)
    # Independent reference: MNE reading the same file, in volts, channel by channel (T3 is T7).
    raw = mne.io.read_raw_edf(EEGMAT / "Subject04_2.edf", verbose="error")
    expected = raw.get_data(picks=["EEG Fp1", "EEG T3", "EEG Pz"])[:, : trials.n_times[3]]
    np.testing.assert_allclose(trials.signals[3][[0, 6, 18]], expected, rtol=1e-6)
    assert 1e-6 < np.std(trials.signals[3]) < 1e-4  # microvolt-scale EEG stored in volts


@needs_eegmat
def test_from_raw_on_a_real_edf_keeps_the_scalp_channels(caplog):
    raw = mne.io.read_raw_edf(EEGMAT / "Subject01_2.edf", preload=True, verbose="error")
    assert "ECG ECG" in raw.ch_names and set(raw.get_channel_types()) == {"eeg"}  # EDF has no types
    with caplog.at_level(logging.INFO, logger="neuroaffect"):
        trials = EEGTrials.from_raw(raw, [0.0, 30.0], [10.0, 10.0], [[1.0], [9.0]], rating_names=["valence"])
    assert trials.ch_names == SCALP and trials.n_trials == 2
    assert [r.getMessage() for r in caplog.records if "left out" in r.getMessage()] == [
        f"{EEGMAT / 'Subject01_2.edf'}: left out 2 non-EEG or bipolar channel(s): EEG A2-A1, ECG ECG"]
    np.testing.assert_allclose(trials.signals[1][2], raw.get_data(picks=["EEG F3"])[0, 15000:20000], rtol=1e-6)


@needs_eegmat
def test_a_subject_with_one_recording_is_an_error_naming_the_missing_file(tmp_path):
    for name in ("Subject00_1.edf", "Subject00_2.edf", "Subject01_1.edf"):
        (tmp_path / name).symlink_to(EEGMAT / name)
    with pytest.raises(FileFormatError, match=r"Subject01_2.edf.*subject 1 has only its _1 recording"):
        list_subjects("eegmat", tmp_path)


def _cli(*args, cwd):
    env = dict(os.environ, NEUROAFFECT_CACHE=str(cwd / "cache"))
    return subprocess.run([sys.executable, "-m", "neuroaffect.cli", "run", "eegmat", *args],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


@needs_eegmat
def test_recipe_runs_leave_one_subject_out_on_four_real_subjects(tmp_path):
    out = tmp_path / "report"
    done = _cli("--data-dir", str(EEGMAT), "--subjects", "0", "1", "2", "3", "--quiet", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run, *baselines = json.loads((out / "results.json").read_text())["runs"]
    assert [b["config"]["name"] for b in baselines] == ["majority", "stratified", "aligned-riemann"]
    assert all(b["config"]["baseline"] for b in baselines) and not run["config"]["baseline"]
    config = run["config"]
    assert config["name"] == "aligned-de-logreg" and config["alignment"] == [
        "per-subject feature standardisation (transductive: each test subject aligned on its own unlabelled test windows)"]
    assert (config["protocol"], config["dataset"], config["target"], config["task"]) == (
        "leave-one-subject-out", "eegmat", "condition", "classes")
    assert config["class_names"] == ["rest", "arithmetic"] and config["n_trials"] == 8
    assert [s["subject"] for s in run["subjects"]] == ["0", "1", "2", "3"]
    assert (out / "report.html").is_file() and "simulated" not in done.stdout.lower()


@needs_eegmat
@pytest.mark.parametrize("args, message", [
    (["--protocol", "within-subject-kfold"], "single recording per subject"),
    (["--protocol", "within-subject-loto"], "single recording per subject"),
])
def test_recipe_refuses_within_subject_protocols(tmp_path, args, message):
    done = _cli("--data-dir", str(EEGMAT), *args, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_recipe_needs_the_data_folder(tmp_path):
    done = _cli("--quiet", cwd=tmp_path)
    assert done.returncode == 2 and "real data only" in done.stderr and "--data-dir" in done.stderr


@needs_eegmat
def test_a_missing_count_quality_stays_missing_and_the_recipe_needs_drop_unlabelled(tmp_path, monkeypatch, capsys):
    """An empty "Count quality" cell is never made a class (issue 15, item 2), on the real files:
    the reader keeps it missing, the recipe stops naming the trials, --drop-unlabelled leaves them out."""
    from neuroaffect.cli import main

    monkeypatch.setenv("NEUROAFFECT_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "eegmat"
    data.mkdir()
    for subject in ("00", "01", "02", "03"):
        for run in (1, 2):
            (data / f"Subject{subject}_{run}.edf").symlink_to(EEGMAT / f"Subject{subject}_{run}.edf")
    table = pd.read_csv(EEGMAT / "subject-info.csv")
    table.loc[table["Subject"] == "Subject02", "Count quality"] = np.nan
    table.to_csv(data / "subject-info.csv", index=False)
    assert ",\n" in (data / "subject-info.csv").read_text()  # an empty cell, as a spreadsheet writes it
    quality = read_eegmat(data, subjects=[1, 2]).rating("count_quality")
    np.testing.assert_array_equal(np.isnan(quality), [False, False, True, True])
    argv = ["run", "eegmat", "--data-dir", str(data), "--target", "count_quality", "--window", "2", "--quiet",
            "--baselines", "majority", "--out", str(tmp_path / "o")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "'count_quality' rating (parameter 'target') is missing" in err and "'2/1/1', '2/1/2'" in err
    assert "On the command line: --drop-unlabelled." in err
    assert main([*argv, "--drop-unlabelled"]) == 0
    runs = json.loads((tmp_path / "o" / "results.json").read_text())["runs"]
    assert [r["config"]["unlabelled_dropped"] for r in runs] == [{"trials": 2, "windows": 120}] * 2
    assert [s["subject"] for s in runs[0]["subjects"]] == ["0", "1", "3"]
