"""The neuroaffect command end to end (tiny simulated data)."""

import importlib.util
import json
import re
import shlex

import pytest

from neuroaffect.cli import main


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROAFFECT_CACHE", str(tmp_path / "cache"))


def test_run_default_main_job_quick(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["run", "--quick", "--quiet", "--n-permutations", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "LEAKY" in printed and "leakage-free" in printed and "report.html" in printed
    assert "simulated" in printed
    doc = json.loads((out / "results.json").read_text())
    clean, leaky, *baselines = doc["runs"]
    assert clean["config"]["protocol"] == "within-subject-kfold" and clean["config"]["leakage_free"]
    # the leak within the same scope: each subject's windows shuffled into folds
    assert leaky["config"]["protocol"] == "leaky-within-subject-kfold" and not leaky["config"]["leakage_free"]
    assert leaky["config"]["scope"] == clean["config"]["scope"] == "subject"
    assert [b["config"]["name"] for b in baselines] == ["majority", "stratified", "aligned-riemann"]
    assert leaky["leakage"]["leaked_test_fraction"] > 0.9 and clean["leakage"]["leaked_test_fraction"] == 0
    m = clean["config"]["metric"]
    assert leaky["summary"]["window"][m]["mean"] > clean["summary"]["window"][m]["mean"] + 0.15
    assert "SIMULATED" in doc["notes"][0]
    assert (out / "report.html").is_file() and (out / "report.md").is_file()

    # re-render from JSON alone
    (out / "report.md").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "report.md").is_file() and "LEAKY" in capsys.readouterr().out


def test_simulate_then_run_on_the_written_folder(tmp_path, capsys):
    data = tmp_path / "sim"
    assert main(["simulate", "deap", "--out", str(data), "--subjects", "2", "--trials", "6",
                 "--trial-duration", "4", "--quiet"]) == 0
    assert "data_preprocessed_python" in capsys.readouterr().out
    out = tmp_path / "res"
    assert main(["run", "deap", "--data-dir", str(data / "data_preprocessed_python"), "--n-splits", "3",
                 "--quiet", "--out", str(out), "--no-feature-cache"]) == 0
    doc = json.loads((out / "results.json").read_text())
    assert [s["subject"] for s in doc["runs"][0]["subjects"]] == ["1", "2"]
    assert doc["runs"][0]["subjects"][0]["n_trials"] == 6
    assert "Data:" in doc["notes"][0]


def test_cli_errors_and_listing(capsys):
    assert main(["run", "no-such-recipe"]) == 2
    assert "unknown recipe" in capsys.readouterr().err
    assert main(["recipes"]) == 0
    listed = capsys.readouterr().out
    assert "leakage-demo" in listed and "fmri-semantic" in listed
    with pytest.raises(SystemExit):
        main(["report"])
    capsys.readouterr()
    assert main(["report", "/nonexistent-folder"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neuroaffect report: error: /nonexistent-folder: no such folder") and err.count("\n") == 1


@pytest.mark.parametrize("option, message", [
    (["--model", "nosuch"], "argument --model: invalid choice: 'nosuch'"),
    (["--n-splits", "1"], "argument --n-splits: expected an integer >= 2, got 1"),
    (["--n-jobs", "0"], "argument --n-jobs: expected a non-zero integer"),
    (["--n-permutations", "-1"], "argument --n-permutations: expected an integer >= 0"),
    (["--window", "0"], "argument --window: expected a positive number"),
    (["--window", "inf"], "argument --window: expected a positive number, got inf"),
    (["--model", "eegnets"], "argument --model: invalid choice: 'eegnets'"),
    (["--baselines", "nothing"], "argument --baselines: invalid choice: 'nothing'"),
    (["--subjects", "0"], "--subjects: without --data-dir one number is how many subjects to simulate; "
                          "expected >= 1, got 0"),
    (["--model-param", "foo=1"], "--model aligned-de-logreg --model-param: .*unexpected keyword argument 'foo'"),
    (["--model-param", "foo"], "--model-param expects KEY=VALUE, got 'foo'"),
    (["--subjects", "1", "9"], r"--subjects: Unknown deap subject\(s\) \['9'\].*available subjects: \['1', '2', '3'\]"),
])
def test_bad_option_values_are_one_line_usage_errors(option, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "deap", *option, "--quick", "--quiet", "--out", str(tmp_path / "o")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert re.search(f"^neuroaffect run deap: error: {message}", err.splitlines()[-1])


def test_leakage_demo_on_seed_iv_files_takes_sfreq_and_both_spellings(tmp_path, capsys):
    data = tmp_path / "sim"
    assert main(["simulate", "seed-iv", "--out", str(data), "--subjects", "1", "--trial-duration", "3", "--quiet"]) == 0
    data_dir = capsys.readouterr().out.split("--data-dir ")[-1].split(" --sfreq")[0].strip()
    common = ["--data-dir", data_dir, "--quiet", "--n-permutations", "0", "--no-feature-cache"]
    with pytest.raises(SystemExit) as exit_:
        main(["run", "leakage-demo", "--dataset", "seed_iv", *common, "--out", str(tmp_path / "a")])
    assert exit_.value.code == 2 and "needs --sfreq with --data-dir" in capsys.readouterr().err
    for spelling in ("seed_iv", "seed-iv"):
        out = tmp_path / spelling
        assert main(["run", "leakage-demo", "--dataset", spelling, "--sfreq", "200", *common, "--out", str(out)]) == 0
        clean, leaky, *_ = json.loads((out / "results.json").read_text())["runs"]
        assert clean["config"]["protocol"] == "seed-iv-16-8" and leaky["config"]["protocol"] == "leaky-within-subject-kfold"
    with pytest.raises(SystemExit) as exit_:
        main(["run", "leakage-demo", "--dataset", "deap", "--sfreq", "200", "--quick", "--out", str(tmp_path / "b")])
    assert exit_.value.code == 2 and "--sfreq applies to SEED-IV only" in capsys.readouterr().err


def test_subjects_select_simulated_subjects(tmp_path):
    out = tmp_path / "o"
    assert main(["run", "deap", "--subjects", "1", "3", "--quick", "--quiet", "--n-splits", "2", "--out", str(out)]) == 0
    doc = json.loads((out / "results.json").read_text())
    assert [s["subject"] for s in doc["runs"][0]["subjects"]] == ["1", "3"]


def test_every_estimator_is_a_model_choice_and_the_default_is_recommended():
    from neuroaffect.estimators import ESTIMATORS, RECOMMENDED
    from neuroaffect.recipes._eeg import build_parser

    p = build_parser("deap", prog="neuroaffect run deap", description="")
    model = next(a for a in p._actions if a.dest == "model")
    assert set(model.choices) == set(ESTIMATORS) and model.default == RECOMMENDED
    args = p.parse_args([])
    assert args.baselines == ["majority", "stratified", "aligned-riemann"]
    assert p.parse_args(["--baselines"]).baselines == []


def test_raw_window_model_and_baselines_in_one_report(tmp_path):
    """EEGNet's raw-window route (and the Riemannian baseline's) through the recipe; baselines labelled."""
    out = tmp_path / "raw"
    assert main(["run", "deap", "--quick", "--quiet", "--n-splits", "2", "--model", "riemann",
                 "--baselines", "majority", "--out", str(out)]) == 0
    doc = json.loads((out / "results.json").read_text())
    runs = doc["runs"]
    assert [r["config"]["name"] for r in runs] == ["riemann", "majority"]
    assert [r["config"]["baseline"] for r in runs] == [False, True]
    assert runs[0]["config"]["features"]["kind"] == "raw" and runs[1]["config"]["features"]["kind"] == "bde"
    assert "baseline" in (out / "report.md").read_text()


def test_leakage_demo_keeps_a_typed_value_equal_to_the_deap_default(tmp_path, capsys):
    out = tmp_path / "typed"
    common = ["run", "leakage-demo", "--dataset", "seed", "--quick", "--quiet", "--n-permutations", "0"]
    assert main([*common, "--protocol", "within-subject-kfold", "--n-splits", "3", "--out", str(out)]) == 0
    clean, *_ = json.loads((out / "results.json").read_text())["runs"]
    assert clean["config"]["protocol"] == "within-subject-kfold"
    assert clean["config"]["target"] == "emotion" and clean["config"]["task"] == "classes"  # filled for seed
    out = tmp_path / "default"
    assert main([*common, "--out", str(out)]) == 0
    clean, *_ = json.loads((out / "results.json").read_text())["runs"]
    assert clean["config"]["protocol"] == "seed-9-6"
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["run", "leakage-demo", "--help"])
    assert exit_.value.code == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "default: None" not in printed
    assert "(default: per --dataset: deap within-subject-kfold, dreamer within-subject-kfold, seed seed-9-6, " \
           "seed-iv seed-iv-16-8)" in printed


@pytest.mark.parametrize("argv", [["run", "seed-iv"], ["run", "leakage-demo", "--dataset", "seed-iv"]])
def test_sfreq_without_data_dir_is_refused(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--sfreq", "1000", "--quick", "--quiet", "--out", str(tmp_path / "o")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1].endswith("error: --sfreq applies with --data-dir only: without it the simulated "
                                         "SEED-IV data is used, which is written at 200 Hz.")
    assert not (tmp_path / "o").exists()


def test_simulate_seed_iv_prints_a_command_that_runs(tmp_path, capsys):
    import inspect

    from neuroaffect.recipes._eeg import SIMULATED
    from neuroaffect.simulate import write_seed_iv

    # the rate simulated SEED-IV data is read at is the simulator's own default
    assert SIMULATED["seed_iv"]["reader"]["sfreq"] == inspect.signature(write_seed_iv).parameters["sfreq"].default
    assert main(["simulate", "seed-iv", "--out", str(tmp_path / "sim"), "--subjects", "1", "--trial-duration", "3",
                 "--quiet"]) == 0
    nxt = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Next: ")][0]
    argv = shlex.split(nxt[len("Next: "):])
    assert argv[:3] == ["neuroaffect", "run", "seed-iv"] and argv[-2:] == ["--sfreq", "200"]
    out = tmp_path / "res"
    assert main([*argv[1:], "--quiet", "--no-feature-cache", "--out", str(out)]) == 0
    assert json.loads((out / "results.json").read_text())["runs"][0]["config"]["protocol"] == "seed-iv-16-8"


@pytest.mark.parametrize("argv, message", [
    (["deap", "--trials", "-3"], "argument --trials: expected an integer >= 1, got -3"),
    (["deap", "--subjects", "0"], "argument --subjects: expected an integer >= 1, got 0"),
    (["seed", "--trial-duration", "0"], "argument --trial-duration: expected a positive number, got 0"),
    (["fmri-bids", "--resolution", "0"], "argument --resolution: expected an integer >= 1, got 0"),
    (["deap", "--resolution", "6"], "--resolution applies to fmri-bids only."),
    (["fmri-nsd", "--resolution", "6"], "--resolution applies to fmri-bids only."),
    (["fmri-bids", "--trial-duration", "3"], "--trial-duration applies to the EEG datasets only."),
])
def test_simulate_bad_option_values_are_one_line_usage_errors(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", *argv, "--out", str(tmp_path / "o"), "--quiet"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.splitlines()[-1] == f"neuroaffect simulate: error: {message}"
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ user errors: one line, exit 2, before any work

def _one_line_usage_error(argv, capsys, prog="neuroaffect run deap"):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith(f"{prog}: error: ")
    return last[len(f"{prog}: error: "):]


@pytest.mark.parametrize("option, message", [
    (["--data-dir", "{tmp}/nowhere"], "--data-dir {tmp}/nowhere: no such file or folder; expected the dataset's folder."),
    (["--out", "{tmp}/afile"], "--out {tmp}/afile: is a file; expected a folder (created if missing)."),
    (["--out", "{tmp}/afile/sub"], "--out {tmp}/afile/sub: cannot be written (a file is in the way of the folder); "
                                   "expected a folder you can write to."),
    (["--target", "valnce"], "--target 'valnce': not a rating of DEAP; expected one of valence, arousal, dominance, liking."),
    (["--model-param", "C=-1"], "--model aligned-de-logreg --model-param: The 'C' parameter of LogisticRegression must be a float "
                                "in the range (0.0, inf]. Got -1 instead."),
])
def test_user_errors_are_reported_before_any_work(option, message, tmp_path, capsys):
    (tmp_path / "afile").write_text("not a folder")
    option = [o.format(tmp=tmp_path) for o in option]
    argv = ["run", "deap", "--quick", "--quiet", "--out", str(tmp_path / "o"), *option]
    assert _one_line_usage_error(argv, capsys) == message.format(tmp=tmp_path)
    assert not (tmp_path / "cache").exists()  # nothing simulated, no features computed


def test_target_is_checked_against_the_dataset_of_the_leakage_demo(tmp_path, capsys):
    argv = ["run", "leakage-demo", "--dataset", "seed", "--target", "valence", "--quick", "--out", str(tmp_path / "o")]
    assert _one_line_usage_error(argv, capsys, "neuroaffect run leakage-demo") == \
        "--target 'valence': not a rating of SEED; expected one of emotion."


def test_dataset_ratings_are_the_readers_ratings(tmp_path):
    from neuroaffect.io import list_subjects
    from neuroaffect.recipes._eeg import SIMULATED, dataset_ratings
    from neuroaffect.simulate import simulate_trials

    for dataset in ("deap", "dreamer", "seed", "seed_iv"):
        trials = simulate_trials(dataset, n_subjects=1, n_trials=SIMULATED[dataset]["quick"]["n_trials"], trial_duration=1.0)
        assert tuple(trials.rating_names) == dataset_ratings(dataset)
    assert main(["simulate", "dreamer", "--out", str(tmp_path / "d"), "--subjects", "1", "--trials", "2",
                 "--trial-duration", "2", "--quiet"]) == 0
    (source,) = list_subjects("dreamer", tmp_path / "d")
    assert tuple(source.load().rating_names) == dataset_ratings("dreamer")
    assert dataset_ratings("eegmat")[0] == "condition"


def test_cuda_device_without_a_gpu_is_a_usage_error(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    argv = ["run", "deap", "--quick", "--model", "transformer", "--model-param", "device=cuda", "--out", str(tmp_path / "o")]
    assert _one_line_usage_error(argv, capsys) == (
        "--model transformer --model-param device=cuda: no CUDA GPU is available here (torch.cuda.is_available() is "
        "False); use cpu, or auto to use a GPU where there is one.")
    assert not (tmp_path / "cache").exists()
    argv = ["run", "fmri-semantic", "--quick", "--device", "cuda", "--out", str(tmp_path / "s.json")]
    assert _one_line_usage_error(argv, capsys, "neuroaffect run fmri-semantic").startswith(
        "--device cuda: no CUDA GPU is available here")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    argv = ["run", "deap", "--quick", "--model", "transformer", "--model-param", "device=cuda:3", "--out", str(tmp_path / "o")]
    assert _one_line_usage_error(argv, capsys).endswith("device=cuda:3: this machine has 1 CUDA device(s) (cuda:0 ... cuda:0).")


def test_fmri_out_and_data_dir_are_checked(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert _one_line_usage_error(["run", "fmri-vad", "--quick", "--out", str(tmp_path / "afile")], capsys,
                                 "neuroaffect run fmri-vad") == \
        f"--out {tmp_path / 'afile'}: is a file; expected a folder (created if missing)."
    assert _one_line_usage_error(["run", "fmri-semantic", "--quick", "--out", str(tmp_path / "afile")], capsys,
                                 "neuroaffect run fmri-semantic") == \
        f"--out {tmp_path / 'afile'}: is a file; expected a folder (created if missing)."
    assert _one_line_usage_error(["run", "fmri-vad", "--data-dir", str(tmp_path / "none"), "--out", str(tmp_path / "o")],
                                 capsys, "neuroaffect run fmri-vad").startswith(f"--data-dir {tmp_path / 'none'}: no such")
    assert _one_line_usage_error(["simulate", "deap", "--out", str(tmp_path / "afile")], capsys, "neuroaffect simulate") \
        == f"--out {tmp_path / 'afile'}: is a file; expected a folder (created if missing)."


def test_data_dir_without_the_dataset_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    argv = ["run", "deap", "--data-dir", str(tmp_path / "empty"), "--quiet", "--out", str(tmp_path / "o")]
    assert _one_line_usage_error(argv, capsys).startswith(f"--data-dir {tmp_path / 'empty'}: ")


@pytest.mark.parametrize("option, message", [
    (["--n-splits", "11"], "--protocol within-subject-kfold --n-splits 11: Cannot make n_splits=11 folds of whole "
                           "trials from 10 trial(s) of subject '1'"),
    (["--protocol", "leave-one-session-out"], "--protocol leave-one-session-out: Subject '1' has a single session"),
])
def test_splits_the_data_cannot_give_are_one_line_before_any_fit(option, message, tmp_path, capsys):
    out = tmp_path / "o"
    argv = ["run", "deap", "--quick", "--quiet", "--out", str(out), *option]
    assert _one_line_usage_error(argv, capsys).startswith(message)
    assert not (out / "folds").exists() and not (out / "results.json").exists()


def test_task_the_rating_does_not_allow_is_a_usage_error(tmp_path, capsys):
    argv = ["run", "seed", "--quick", "--quiet", "--task", "binary", "--out", str(tmp_path / "o")]
    assert _one_line_usage_error(argv, capsys, "neuroaffect run seed") == \
        "--task binary: the rating 'emotion' is categorical (SEED emotion); use --task classes."


def test_unexpected_errors_are_one_line_exit_1_and_debug_shows_the_traceback(tmp_path, capsys, monkeypatch):
    import neuroaffect.features

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire\n  (second line)")

    monkeypatch.setattr(neuroaffect.features, "tokens_for_dataset", broken)
    argv = ["run", "deap", "--quick", "--quiet", "--out", str(tmp_path / "o")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == ("neuroaffect run deap: error: RuntimeError: disk on fire (second line) "
                                    "(run with --debug for the traceback)")
    with pytest.raises(RuntimeError, match="disk on fire"):
        main([*argv, "--debug"])
    with pytest.raises(RuntimeError, match="disk on fire"):
        main(["--debug", *argv])


def test_interrupt_is_one_line(tmp_path, capsys, monkeypatch):
    import neuroaffect.features

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(neuroaffect.features, "tokens_for_dataset", interrupted)
    assert main(["run", "deap", "--quick", "--quiet", "--out", str(tmp_path / "o")]) == 130
    assert capsys.readouterr().err == "neuroaffect run deap: interrupted\n"


def test_main_job_built_in_data_is_a_positive_control(tmp_path, monkeypatch):
    """The default (not --quick) simulated data carry an effect the recommended pipeline finds
    leakage-free, and the within-subject leak inflates it (issue 16, item 7)."""
    monkeypatch.setenv("NEUROAFFECT_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "main"
    assert main(["run", "--quiet", "--n-permutations", "0", "--baselines", "--out", str(out)]) == 0
    clean, leaky = json.loads((out / "results.json").read_text())["runs"]
    window = clean["summary"]["window"]["balanced_accuracy"]
    assert clean["config"]["name"] == "aligned-de-logreg" and clean["config"]["n_subjects"] == 8
    assert window["mean"] > 0.57 and window["ci_low"] > 0.5  # above chance, over subjects
    assert leaky["summary"]["window"]["balanced_accuracy"]["mean"] > window["mean"] + 0.2


@pytest.mark.parametrize("recipe", ["deap", "leakage-demo"])
def test_unlabelled_trials_stop_the_run_unless_drop_unlabelled(recipe, tmp_path, capsys, monkeypatch):
    """A missing rating is never made a class (issue 15, item 2): the dataset recipes stop naming the
    trial and the option; with --drop-unlabelled every run, baselines included, leaves it out and
    records it in results.json."""
    import numpy as np

    import neuroaffect.io

    read_deap = neuroaffect.io.READERS["deap"]

    def one_missing_valence(source, **options):  # subject 1's trial 2 was never rated
        trials = read_deap(source, **options)
        if source.subject == "1":
            trials.ratings[1, list(trials.rating_names).index("valence")] = np.nan
        return trials

    monkeypatch.setitem(neuroaffect.io.READERS, "deap", one_missing_valence)
    out = tmp_path / "o"
    argv = ["run", recipe, "--quick", "--quiet", "--no-feature-cache", "--n-permutations", "0",
            "--baselines", "majority", "--out", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert re.search(r"error: ValueError: The 'valence' rating .*missing.* for 1 trial\(s\).*'1/1/2'.* "
                     r"On the command line: --drop-unlabelled\.", err), err
    assert not (out / "results.json").exists()
    assert main([*argv, "--drop-unlabelled"]) == 0
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert [r["config"]["name"] for r in runs][-1] == "majority" and len(runs) == (3 if recipe == "leakage-demo" else 2)
    for run in runs:
        assert run["config"]["unlabelled_dropped"] == {"trials": 1, "windows": 10}
        assert [(s["subject"], s["n_trials"]) for s in run["subjects"]] == [("1", 9), ("2", 10), ("3", 10)]


def test_audit_says_what_a_split_file_leaks(tmp_path, capsys):
    import numpy as np

    keys = ["s1/1/1", "s1/1/1", "s1/1/2", "s1/1/2", "s1/1/3", "s1/1/3"]
    clean = {"trial_key": keys, "folds": [{"train": [0, 1, 2, 3], "test": [4, 5]},
                                          {"train": [2, 3, 4, 5], "test": [0, 1]}]}
    (tmp_path / "clean.json").write_text(json.dumps(clean))
    assert main(["audit", str(tmp_path / "clean.json")]) == 0
    out = capsys.readouterr().out
    assert "6 windows, 3 trials, 2 folds (no start/stop: overlapping windows not measured)" in out
    assert "fold 1: 4 train / 2 test windows, 2 / 1 trials: clean" in out and out.rstrip().endswith("clean: no fold "
                                                                                                     "shares a trial between train and test.")
    # the same windows from another tool as .npz, with spans, one fold shuffled at window level
    np.savez(tmp_path / "leaky.npz", trial_key=np.array(keys), start=np.array([0, 64] * 3), stop=np.array([128, 192] * 3),
             train_0=np.array([0, 1, 2, 3]), test_0=np.array([4, 5]), train_1=np.array([0, 2, 4]), test_1=np.array([1, 3, 5]))
    assert main(["audit", str(tmp_path / "leaky.npz")]) == 1
    out = capsys.readouterr().out
    assert "fold 0: 4 train / 2 test windows, 2 / 1 trials: clean" in out
    assert ("fold 1: 3 train / 3 test windows, 3 / 3 trials: LEAKY: 3 trial(s) in train and test (first 's1/1/1'), "
            "100.0% of test windows leaked, 100.0% overlap a training window") in out
    assert "LEAKY: 1 of 2 folds share trials between train and test." in out
    # a file it cannot read is a one-line usage error (exit 2), naming the file and what was expected
    for name, content, message in [
        ("missing.json", None, "no such file"),
        ("bad.json", {"trial_key": keys, "folds": [{"train": [0], "test": [6]}]},
         "fold 0 test indexes window 6; expected indices >= 0 and < 6"),
        ("nokeys.json", {"folds": [{"train": [0], "test": [1]}]}, "no 'trial_key'"),
        ("half.json", {**clean, "start": [0] * 6}, "give both 'start' and 'stop'"),
        ("splits.csv", "", "unknown suffix '.csv'; expected .json or .npz"),
    ]:
        if content is not None:
            (tmp_path / name).write_text(content if isinstance(content, str) else json.dumps(content))
        assert main(["audit", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"neuroaffect audit: error: split file '{tmp_path / name}': ") and message in err, err
        assert err.count("\n") == 1


@pytest.mark.parametrize("dataset, complete", [("seed", 15), ("seed-iv", 24)])
def test_simulate_refuses_sessions_shorter_than_the_reader_accepts(tmp_path, capsys, dataset, complete):
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", dataset, "--trials", "3", "--out", str(tmp_path / "s")])
    assert exit_.value.code == 2
    assert f"every {dataset.upper()} session holds {complete} trials" in capsys.readouterr().err


@pytest.mark.parametrize("spelling", ["seed-iv", "seed_iv"])
def test_simulate_accepts_both_spellings_of_a_dataset(tmp_path, capsys, spelling):
    """The dataset registry (issue 14, item 8): "seed_iv" names SEED-IV as "seed-iv" does."""
    from neuroaffect.io import list_subjects

    assert main(["simulate", spelling, "--out", str(tmp_path / "s"), "--subjects", "1", "--trial-duration", "1",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Wrote simulated SEED-IV data" in out and "Next: neuroaffect run seed-iv --data-dir " in out
    data_dir = out.split("--data-dir ")[-1].split(" --sfreq")[0].strip()
    assert [s.subject for s in list_subjects(spelling, data_dir, sfreq=200.0)] == ["1"]
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", spelling.replace("seed", "seed4"), "--out", str(tmp_path / "t")])
    assert exit_.value.code == 2 and "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:  # real data only: no simulated stand-in
        main(["simulate", "eegmat", "--out", str(tmp_path / "t")])
    assert exit_.value.code == 2 and "invalid choice: 'eegmat'" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("braindecode") is None,
                    reason='braindecode is an optional extra, not installed here: pip install "neuroaffect[braindecode]"')
def test_raw_window_network_runs_in_a_recipe(tmp_path):
    """EEGNet takes raw windows: the recipe computes them (issue 15, item 8)."""
    out = tmp_path / "eegnet"
    assert main(["run", "deap", "--quick", "--quiet", "--n-splits", "2", "--model", "eegnet", "--model-param",
                 "max_epochs=1", "--baselines", "--out", str(out)]) == 0
    (run,) = json.loads((out / "results.json").read_text())["runs"]
    assert run["config"]["features"]["kind"] == "raw" and run["config"]["features"]["sfreq"] == 128.0
