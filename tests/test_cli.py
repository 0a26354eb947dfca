"""The neuroaffect command end to end (tiny simulated data)."""

import json

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
    with pytest.raises(FileNotFoundError, match="results.json"):
        main(["report", "/nonexistent-folder"])
