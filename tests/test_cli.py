"""The neuroaffect command end to end (tiny simulated data)."""

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
    clean, leaky = doc["runs"]
    assert clean["config"]["protocol"] == "within-subject-kfold" and clean["config"]["leakage_free"]
    assert leaky["config"]["protocol"] == "leaky-segment-kfold" and not leaky["config"]["leakage_free"]
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
    (["--model", "eegnet"], "argument --model: invalid choice: 'eegnet'"),  # raw windows, not tokens
    (["--model", "tsception"], "argument --model: invalid choice: 'tsception'"),
    (["--subjects", "0"], "--subjects: without --data-dir one number is how many subjects to simulate; "
                          "expected >= 1, got 0"),
    (["--model-param", "foo=1"], "--model de-logreg --model-param: .*unexpected keyword argument 'foo'"),
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
        clean, leaky = json.loads((out / "results.json").read_text())["runs"]
        assert clean["config"]["protocol"] == "seed-iv-16-8" and leaky["config"]["protocol"] == "leaky-segment-kfold"
    with pytest.raises(SystemExit) as exit_:
        main(["run", "leakage-demo", "--dataset", "deap", "--sfreq", "200", "--quick", "--out", str(tmp_path / "b")])
    assert exit_.value.code == 2 and "--sfreq applies to SEED-IV only" in capsys.readouterr().err


def test_subjects_select_simulated_subjects(tmp_path):
    out = tmp_path / "o"
    assert main(["run", "deap", "--subjects", "1", "3", "--quick", "--quiet", "--n-splits", "2", "--out", str(out)]) == 0
    doc = json.loads((out / "results.json").read_text())
    assert [s["subject"] for s in doc["runs"][0]["subjects"]] == ["1", "3"]


def test_model_choices_are_the_token_estimators():
    from neuroaffect.estimators import ESTIMATORS
    from neuroaffect.recipes._eeg import token_estimators

    assert token_estimators() == ("de-logreg", "de-svm", "transformer", "transformer-reference", "dgcnn")
    assert set(ESTIMATORS) - set(token_estimators()) == {"eegnet", "tsception"}


def test_leakage_demo_keeps_a_typed_value_equal_to_the_deap_default(tmp_path, capsys):
    out = tmp_path / "typed"
    common = ["run", "leakage-demo", "--dataset", "seed", "--quick", "--quiet", "--n-permutations", "0"]
    assert main([*common, "--protocol", "within-subject-kfold", "--n-splits", "3", "--out", str(out)]) == 0
    clean, _ = json.loads((out / "results.json").read_text())["runs"]
    assert clean["config"]["protocol"] == "within-subject-kfold"
    assert clean["config"]["target"] == "emotion" and clean["config"]["task"] == "classes"  # filled for seed
    out = tmp_path / "default"
    assert main([*common, "--out", str(out)]) == 0
    clean, _ = json.loads((out / "results.json").read_text())["runs"]
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

    from neuroaffect.recipes._eeg import DATASETS
    from neuroaffect.simulate import write_seed_iv

    # the rate simulated SEED-IV data is read at is the simulator's own default
    assert DATASETS["seed_iv"]["reader"]["sfreq"] == inspect.signature(write_seed_iv).parameters["sfreq"].default
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
