"""Own data on real EEG (issue 15, items 1 and 7): the docs page "Your own recordings" runs as written,
the Epochs round trip on the EEGMAT files, and ``neuroaffect run bids`` end to end on a small BIDS
dataset written from them. Skipped, saying why, where the EEGMAT files are absent (CI has them)."""

import json
import os
import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neuroaffect import EEGTrials
from neuroaffect.io import read_eegmat

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "own-recordings.md"
EEGMAT = Path(os.environ.get("NEUROAFFECT_EEGMAT", ROOT.parent / "shared" / "data" / "eegmat"))
needs_eegmat = pytest.mark.skipif(
    not (EEGMAT / "Subject00_1.edf").is_file(),
    reason=f"real EEGMAT files not found at {EEGMAT} (the project's ../shared/data/eegmat; CI has it; "
           "or set NEUROAFFECT_EEGMAT)",
)
# The page names the folder as it is seen from the repository root.
PAGE_EEGMAT = '"../shared/data/eegmat"'


def page_blocks():
    """(kind, first line number, code) of every ```python and ```console block of the page."""
    text = PAGE.read_text(encoding="utf-8")
    blocks = []
    for match in re.finditer(r"^```(python|console)\n(.*?)^```$", text, flags=re.S | re.M):
        blocks.append((match[1], text[: match.start()].count("\n") + 2, match[2]))
    return blocks


def test_the_page_is_linked_and_covers_the_four_ways():
    assert "(own-recordings.md)" in (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    blocks = page_blocks()
    code = "\n".join(c for _, _, c in blocks)
    for api in ("EEGTrials.from_epochs(", "read_recording(", "bids_sources(", "EEGTrials.from_arrays(",
                "neuroaffect run bids"):
        assert api in code, f"the page shows no example of {api}"
    assert sum(kind == "python" for kind, _, _ in blocks) >= 8
    assert PAGE_EEGMAT in blocks[0][2]  # the folder every example reads (replaced by the tests)


@needs_eegmat
def test_every_example_of_the_page_runs(tmp_path, monkeypatch, capsys):
    """The page's blocks in order, in one namespace, in a scratch folder, on the EEGMAT files."""
    from neuroaffect.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEUROAFFECT_CACHE", str(tmp_path / "cache"))
    namespace = {"__name__": "own_recordings_page"}
    ran = []
    for kind, line, code in page_blocks():
        where = f"docs/own-recordings.md, block at line {line}"
        if kind == "python":
            code = code.replace(PAGE_EEGMAT, repr(str(EEGMAT)))
            exec(compile(code, where, "exec"), namespace)
        else:
            for command in code.splitlines():
                if command.startswith("neuroaffect "):
                    assert main(shlex.split(command)[1:]) == 0, f"{where}: {command} failed"
        ran.append(line)
    assert len(ran) == len(page_blocks())
    # what the examples built is what the page says they build
    trials, tokens = namespace["trials"], namespace["tokens"]
    assert trials.n_trials == 24 and trials.ch_names[6] == "T7" and trials.scales["condition"].categories == ("rest", "arithmetic")
    assert namespace["result"].config["protocol"] == "leave-one-subject-out"
    assert namespace["one"].n_trials == 3 and namespace["one"].rating("condition").tolist() == [0, 0, 0]
    assert namespace["back"].scales == {"condition": namespace["CONDITION"]}
    assert tokens.X.shape[1:] == (19, 4) and sorted(set(tokens.subject)) == ["00", "01", "02", "03"]
    report = json.loads((tmp_path / "results-bids" / "results.json").read_text())
    assert report["runs"][0]["config"]["protocol"] == "leave-one-subject-out"
    assert report["runs"][0]["config"]["target"] == "condition"


@needs_eegmat
def test_epochs_round_trip_on_the_real_files(tmp_path):
    trials = read_eegmat(EEGMAT, subjects=[0, 1, 2])
    back = EEGTrials.from_epochs(trials.to_epochs())
    assert back.rating_names == ("condition", "count_quality", "n_subtractions", "age", "gender")
    assert back.scales == trials.scales
    np.testing.assert_array_equal(back.ratings, trials.ratings)
    assert back.trial_keys.tolist() == trials.trial_keys.tolist() == [f"{s}/1/{t}" for s in "012" for t in (1, 2)]
    assert back.dataset == "eegmat" and back.ch_names == trials.ch_names
    n = int(trials.n_times.min())  # to_epochs crops to the shortest trial (the 60 s arithmetic recordings)
    for a, b in zip(back.signals, trials.signals, strict=True):
        np.testing.assert_array_equal(a, b[:, :n])
    # Through a FIF file the metadata columns survive (not their scales): declared again, equal again.
    path = tmp_path / "eegmat-epo.fif"
    trials.to_epochs().save(path, verbose="error")
    import mne

    saved = mne.read_epochs(path, verbose="error")
    again = EEGTrials.from_epochs(saved, scales=trials.scales)
    np.testing.assert_array_equal(again.ratings, trials.ratings)
    assert again.trial_keys.tolist() == trials.trial_keys.tolist()
    assert again.rating("condition").tolist() == [0, 1] * 3  # rest, arithmetic: never a made-up order


# ---- neuroaffect run bids --------------------------------------------------------------------
def write_eegmat_bids(root: Path, subjects, *, segments=((0.0, 20.0), (20.0, 20.0), (40.0, 20.0)), extra=None):
    """A BIDS copy of EEGMAT subjects: run 1 rest, run 2 arithmetic, ``segments`` (onset, duration)
    as events with the label column 'condition' (and the columns of ``extra(subject, run)``)."""
    import mne
    import mne_bids

    for subject in subjects:
        for run, condition in ((1, "rest"), (2, "arithmetic")):
            raw = mne.io.read_raw_edf(EEGMAT / f"Subject{subject}_{run}.edf", verbose="error")
            onsets, durations = zip(*segments, strict=True)
            raw.set_annotations(mne.Annotations(list(onsets), list(durations), condition))
            bids_path = mne_bids.BIDSPath(subject=subject, task="arithmetic", run=run, datatype="eeg", root=root)
            mne_bids.write_raw_bids(raw, bids_path, overwrite=True, verbose=False)
            events_path = bids_path.copy().update(suffix="events", extension=".tsv").fpath
            events = pd.read_csv(events_path, sep="\t")
            events["condition"] = condition
            for name, values in (extra(subject, run) if extra else {}).items():
                events[name] = values
            events.to_csv(events_path, sep="\t", index=False, na_rep="n/a")
    return root


@needs_eegmat
def test_run_bids_leave_one_subject_out_gives_the_dataset_recipes_report(tmp_path, monkeypatch):
    from neuroaffect._atomic import _HELD
    from neuroaffect.cli import main

    monkeypatch.setenv("NEUROAFFECT_CACHE", str(tmp_path / "cache"))
    root = write_eegmat_bids(tmp_path / "bids", ["00", "01", "02"])
    out = tmp_path / "out"
    held = set(_HELD)
    assert main(["run", "bids", "--data-dir", str(root), "--target", "condition", "--out", str(out),
                 "--quiet", "--window", "2"]) == 0
    assert (out / ".neuroaffect.lock").is_file() and set(_HELD) == held  # locked while it ran, released after
    doc = json.loads((out / "results.json").read_text())
    run = doc["runs"][0]
    config = run["config"]
    assert config["protocol"] == "leave-one-subject-out" and config["leakage_free"]
    assert config["target"] == "condition" and config["task"] == "classes"
    assert config["class_names"] == ["arithmetic", "rest"]  # the column's names, sorted: no invented scale
    assert run["leakage"]["leaked_test_fraction"] == 0
    assert [s["subject"] for s in run["subjects"]] == ["00", "01", "02"]
    # the model and the baselines, as the dataset recipes run them (aligned-riemann on raw windows)
    assert [(r["config"]["name"], r["config"]["baseline"]) for r in doc["runs"]] == [
        ("aligned-de-logreg", False), ("majority", True), ("stratified", True), ("aligned-riemann", True)]
    assert doc["runs"][3]["config"]["features"]["kind"] == "raw" and config["features"]["kind"] == "bde"
    assert doc["notes"][0].startswith("Data: BIDS dataset") and "'condition' column" in doc["notes"][0]
    for name in ("report.md", "report.html"):
        assert (out / name).is_file()
    assert list((tmp_path / "cache" / "features").glob("bids-*-tokens.h5"))  # tokens cached


@needs_eegmat
def test_run_bids_one_subject_is_within_subject_kfold_and_unlabelled_trials_need_a_choice(tmp_path, monkeypatch, capsys):
    from neuroaffect.cli import main

    monkeypatch.setenv("NEUROAFFECT_CACHE", str(tmp_path / "cache"))
    segments = tuple((10.0 * i, 10.0) for i in range(6))  # six 10 s trials per recording
    valence = {1: [2, 3, "n/a", 2, 1, 3], 2: [7, 8, 9, 6, 8, 7]}
    root = write_eegmat_bids(tmp_path / "bids", ["00"], segments=segments,
                             extra=lambda subject, run: {"valence": valence[run]})
    out = tmp_path / "out"
    argv = ["run", "bids", "--data-dir", str(root), "--target", "valence", "--out", str(out), "--quiet",
            "--n-splits", "3", "--window", "2"]
    assert main(argv) == 1  # a missing rating is never made a class: the run stops and says which trial
    assert re.search(r"error: ValueError: The 'valence' rating .*missing.*1 trial\(s\).*'00/1/3'.*--drop-unlabelled",
                     capsys.readouterr().err)
    assert main([*argv, "--drop-unlabelled"]) == 0
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert runs[0]["config"]["protocol"] == "within-subject-kfold" and runs[0]["config"]["task"] == "binary"
    assert [r["config"]["unlabelled_dropped"]["trials"] for r in runs] == [1, 1, 1, 1]  # baselines too
    assert "valence" in capsys.readouterr().out


@needs_eegmat
def test_run_bids_option_errors_name_what_was_expected(tmp_path, capsys):
    from neuroaffect.cli import main

    root = write_eegmat_bids(tmp_path / "bids", ["00"], segments=((0.0, 20.0),))
    cases = [
        (["--target", "valence"], "--target 'valence': not a label column of the events.tsv files"),
        (["--target", "condition", "--subjects", "07"], "Unknown BIDS subject(s) ['07']"),
        (["--target", "condition", "--quick"], "--quick: the bids recipe reads your data"),
        (["--target", "condition", "--bids-task", "rest"], "No eeg events.tsv file"),
    ]
    for extra, message in cases:
        with pytest.raises(SystemExit) as exit_:
            main(["run", "bids", "--data-dir", str(root), "--out", str(tmp_path / "out"), "--quiet", *extra])
        assert exit_.value.code == 2
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["run", "bids", "--target", "condition"])
    assert exit_.value.code == 2 and "--data-dir" in capsys.readouterr().err
