"""The fmri-semantic (JSON + Markdown) and fmri-vad (the EEG report) recipes end to end; simulate fmri-*."""

import json

import pytest

from neuroaffect.recipes import fmri_semantic, fmri_vad
from neuroaffect.simulate.fmri import write_bids_fmri, write_nsd_fmri

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")


def _runs(out):
    doc = json.loads((out / "results.json").read_text())
    return {(r["config"]["protocol"], r["config"]["target"], "Dummy" in r["config"]["estimator"]): r
            for r in doc["runs"]}, doc


def test_fmri_vad_quick_simulated_writes_the_eeg_report(tmp_path, capsys):
    out = tmp_path / "vad"
    assert fmri_vad.main(["--quick", "--out", str(out), "--snr", "1.0", "--quiet"]) == 0
    for name in ("results.json", "report.md", "report.html", "run-info.json", "figures/run0-scores.png"):
        assert (out / name).is_file(), name
    runs, doc = _runs(out)
    assert len(runs) == 12 and len(doc["comparisons"]) == 6
    for protocol in ("within-subject-kfold", "leave-one-subject-out-stimulus-kfold"):
        for dim in ("valence", "arousal", "dominance"):
            model, base = runs[(protocol, dim, False)], runs[(protocol, dim, True)]
            assert model["leakage"]["leaked_test_fraction"] == 0
            assert model["summary"]["window"]["ccc"]["mean"] > 0.3
            assert model["summary"]["window"]["rmse"]["mean"] < base["summary"]["window"]["rmse"]["mean"]
    assert not list((out / "figures").glob("*importance*"))  # no electrode topomap for parcels
    assert "fMRI mapping" in (out / "report.md").read_text()
    printed = capsys.readouterr().out
    assert "leave-one-subject-out-stimulus-kfold" in printed and "report.html" in printed


def test_fmri_vad_on_nsd_folder(tmp_path):
    root, _ = write_nsd_fmri(tmp_path / "nsd", n_subjects=2, n_stimuli=40, n_repeats=2, n_parcels=20,
                             random_state=0)
    out = tmp_path / "vad"
    assert fmri_vad.main(["--data-dir", str(root), "--out", str(out), "--n-splits", "4", "--quiet",
                          "--protocol", "within-subject", "--keep-repeats"]) == 0
    runs, _ = _runs(out)
    assert len(runs) == 6
    run = runs[("within-subject-kfold", "valence", False)]
    # 2 subjects x 40 stimuli x 2 repeats kept as windows; the repeats share a trial
    assert run["config"]["n_windows"] == 160 and run["config"]["n_trials"] == 80


def test_simulate_fmri_from_the_cli(tmp_path, capsys):
    from neuroaffect.cli import main

    assert main(["simulate", "fmri-bids", "--out", str(tmp_path / "bids"), "--subjects", "1", "--trials", "8",
                 "--resolution", "12", "--seed", "1"]) == 0
    func = tmp_path / "bids" / "sub-01" / "func"
    assert sorted(p.name for p in func.glob("*_events.tsv")) == [
        "sub-01_task-affect_run-1_events.tsv", "sub-01_task-affect_run-2_events.tsv"]
    assert main(["simulate", "fmri-nsd", "--out", str(tmp_path / "nsd"), "--subjects", "2", "--trials", "10"]) == 0
    assert sorted(p.name for p in (tmp_path / "nsd").glob("*_betas.h5")) == ["sub-01_betas.h5", "sub-02_betas.h5"]
    assert "fmri-vad --data-dir" in capsys.readouterr().out
    for option, message in ((["fmri-nsd", "--resolution", "6"], "fmri-bids only"),
                            (["fmri-bids", "--trial-duration", "3"], "EEG datasets only")):
        with pytest.raises(SystemExit) as exit_:
            main(["simulate", *option, "--out", str(tmp_path / "x")])
        assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_fmri_semantic_on_bids_folder(tmp_path, capsys):
    root, _ = write_bids_fmri(tmp_path / "bids", n_subjects=1, n_runs=2, n_stimuli=30, resolution=6,
                              snr=2.0, random_state=0)
    out = tmp_path / "sem"
    code = fmri_semantic.main(["--data-dir", str(root), "--atlas", "dosenbach160", "--out", str(out),
                               "--encoders", "ridge,clip", "--epochs", "5", "--threads", "1",
                               "--n-splits", "3"])
    assert code == 0
    doc = json.loads((out / "results.json").read_text())
    ridge = doc["results"]["ridge"]["subjects"]["01"]
    assert ridge["chance"]["top1"] == pytest.approx(1 / 30)
    assert ridge["brain_to_embedding"]["top5"] > 5 / 30  # above chance from 30 real BIDS trials
    printed = capsys.readouterr().out
    assert "top1 b->e" in printed and "[2/2] clip: done in" in printed and "Time (s):" in printed
    md = (out / "report.md").read_text()
    assert "| ridge | 01 |" in md and "chance@1" in md and "two-way identification = 0.5" in md
    page = (out / "report.html").read_text()
    assert "<td>ridge</td>" in page and "figures/retrieval.png" in page
    assert (out / "figures" / "retrieval.png").stat().st_size > 1000


def test_fmri_semantic_quiet_and_out_folder_checks(tmp_path, capsys):
    out = tmp_path / "quiet"
    assert fmri_semantic.main(["--quick", "--encoders", "ridge", "--out", str(out), "--quiet", "--n-splits", "3"]) == 0
    printed = capsys.readouterr().out
    assert "[1/1]" not in printed and "simulating" not in printed  # --quiet: no progress lines
    assert "top1 b->e" in printed and "Time (s):" in printed and (out / "report.html").is_file()
    with pytest.raises(SystemExit) as exit_:
        fmri_semantic.main(["--quick", "--out", str(tmp_path / "sem.json")])
    assert exit_.value.code == 2 and "expected a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        fmri_semantic.main(["--quick", "--full", "--out", str(tmp_path / "x")])
    assert exit_.value.code == 2


def test_fmri_vad_on_bids_folder(tmp_path):
    root, _ = write_bids_fmri(tmp_path / "bids", n_subjects=2, n_runs=1, n_stimuli=20, resolution=6,
                              snr=2.0, random_state=0)
    out = tmp_path / "vad"
    assert fmri_vad.main(["--data-dir", str(root), "--atlas", "dosenbach160", "--method", "lagged-mean",
                          "--out", str(out), "--n-splits", "4", "--quiet"]) == 0
    runs, _ = _runs(out)
    assert len(runs) == 12
    assert all(r["config"]["n_windows"] == 40 for r in runs.values())


def test_fmri_vad_nsd_folder_keeps_the_files_scale(tmp_path, capsys):
    from neuroaffect.affect.scales import RatingScale
    from neuroaffect.fmri import write_nsd_betas
    from neuroaffect.simulate.fmri import simulate_responses

    sim, _ = simulate_responses(n_subjects=2, n_stimuli=30, n_repeats=1, n_parcels=12, random_state=0)
    scale = RatingScale("VAD -1..1", -1.0, 1.0)
    sim.vad, sim.vad_scale = (sim.vad - 5.0) / 4.0, scale  # SAM 1-9 -> -1..1
    root = tmp_path / "nsd"
    root.mkdir()
    for s in sim.subjects:
        write_nsd_betas(root / f"sub-{s}_betas.h5", sim[sim.subject == s])
    out = tmp_path / "vad"
    argv = ["--data-dir", str(root), "--out", str(out), "--n-splits", "3", "--quiet", "--protocol", "within-subject"]
    assert fmri_vad.main(argv) == 0
    assert "scale VAD -1..1" in capsys.readouterr().out
    # --scale-low/--scale-high override the files' attribute (here: a wider declared scale)
    with pytest.warns(UserWarning, match="overrides the file's vad_scale"):
        assert fmri_vad.main(argv + ["--scale-low", "-2", "--scale-high", "2", "--out", str(tmp_path / "v2")]) == 0
    assert "scale VAD -2-2" in capsys.readouterr().out


def test_fmri_vad_compares_contrastive_estimators_with_ridge(tmp_path, capsys):
    out = tmp_path / "vad"
    assert fmri_vad.main(["--quick", "--out", str(out), "--snr", "1.0", "--quiet", "--protocol", "within-subject",
                          "--estimators", "ridge,contrastive,contrastive-nearest", "--epochs", "30"]) == 0
    doc = json.loads((out / "results.json").read_text())
    names = [r["config"]["name"] for r in doc["runs"]]
    assert names == ["ridge", "contrastive + ridge head", "contrastive + nearest rated stimuli", "training mean"] * 3
    assert [r["config"]["target"] for r in doc["runs"]] == [d for d in ("valence", "arousal", "dominance")
                                                            for _ in range(4)]
    assert len(doc["comparisons"]) == 9
    for run in doc["runs"][1:3]:
        assert run["config"]["estimator_params"]["head"] in ("ridge", "nearest")
        assert run["summary"]["window"]["ccc"]["mean"] > 0.2, run["config"]["name"]
        assert run["leakage"]["leaked_test_fraction"] == 0
    printed = capsys.readouterr().out
    assert "contrastive-nearest" in printed and "Contrastive estimators" in (out / "report.md").read_text()


def test_fmri_vad_fits_a_data_driven_parcellation_in_each_training_fold(tmp_path, monkeypatch, capsys):
    from neuroaffect.fmri import VoxelParcellation

    root, _ = write_bids_fmri(tmp_path / "bids", n_subjects=1, n_runs=2, n_stimuli=60, resolution=6, snr=2.0,
                              random_state=0)
    fitted = []
    original = VoxelParcellation.fit
    monkeypatch.setattr(VoxelParcellation, "fit", lambda self, X, y=None: fitted.append(X.shape) or original(self, X, y))
    out = tmp_path / "vad"
    assert fmri_vad.main(["--data-dir", str(root), "--atlas", "ward", "--n-parcels", "100", "--protocol",
                          "within-subject", "--n-splits", "4", "--quiet", "--out", str(out)]) == 0
    runs, doc = _runs(out)
    n_voxels = fitted[0][1]
    assert n_voxels > 5000  # voxel responses inside the first run's EPI mask
    # one parcellation per (dimension, fold), each on that fold's 45 training responses, never on all 60
    assert fitted == [(45, n_voxels)] * 12  # the responses as they are: (n_responses, n_voxels)
    model = runs[("within-subject-kfold", "dominance", False)]
    assert "VoxelParcellation" in model["config"]["estimator"]
    assert model["config"]["estimator_params"]["voxelparcellation__method"] == "ward"
    assert model["summary"]["window"]["pearson_r"]["mean"] > 0.3
    assert "ward parcellation (100 parcels) fitted in each training fold" in (out / "report.md").read_text()
    # the contrastive estimators need the stimulus embeddings the simulator wrote
    (root / "stimuli" / "embeddings.h5").unlink()
    with pytest.raises(SystemExit) as exit_:
        fmri_vad.main(["--data-dir", str(root), "--estimators", "contrastive", "--out", str(tmp_path / "v2")])
    assert exit_.value.code == 2
    assert "--estimators contrastive need stimulus embeddings: pass --embeddings FILE" in capsys.readouterr().err


@pytest.mark.parametrize("recipe, option, message", [
    ("fmri-vad", ["--n-splits", "1"], "argument --n-splits: expected an integer >= 2, got 1"),
    ("fmri-vad", ["--estimators", "ridge,svm"], "--estimators: unknown estimator(s) ['svm']; expected a "
                                                "comma-separated subset of ridge, contrastive, contrastive-nearest."),
    ("fmri-vad", ["--atlas", "ward"], "--atlas ward: a data-driven parcellation is fitted on voxel responses of "
                                      "BIDS runs; pass --data-dir"),
    ("fmri-vad", ["--atlas", "schaefer"], "--atlas: expected one of seitzman300, power264, dosenbach160, ward"),
    ("fmri-vad", ["--method", "lss"], "argument --method: invalid choice: 'lss'"),
    ("fmri-vad", ["--n-jobs", "0"], "argument --n-jobs: expected a non-zero integer"),
    ("fmri-vad", ["--snr", "0"], "argument --snr: expected a positive number, got 0"),
    ("fmri-semantic", ["--n-splits", "1"], "argument --n-splits: expected an integer >= 2, got 1"),
    ("fmri-semantic", ["--epochs", "0"], "argument --epochs: expected an integer >= 1, got 0"),
    ("fmri-semantic", ["--threads", "0"], "argument --threads: expected an integer >= 1, got 0"),
    ("fmri-semantic", ["--snr", "-1"], "argument --snr: expected a positive number, got -1"),
    ("fmri-semantic", ["--encoders", "ridge,foo"], "--encoders: unknown encoder(s) ['foo']; expected a "
                                                   "comma-separated subset of ridge, clip, clip-linear, mindeye."),
    ("fmri-semantic", ["--encoders", ","], "--encoders: no encoder given"),
])
def test_fmri_bad_option_values_are_one_line_usage_errors(recipe, option, message, tmp_path, capsys):
    from neuroaffect.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["run", recipe, *option, "--quick", "--out", str(tmp_path / "o")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith(f"neuroaffect run {recipe}: error: {message}")
    assert not (tmp_path / "o").exists()


def test_cross_val_predict_without_any_split_raises():
    from sklearn.model_selection import cross_val_predict

    from neuroaffect.fmri import RidgeEncoder, StimulusKFold
    from neuroaffect.simulate.fmri import simulate_responses

    responses, truth = simulate_responses(n_subjects=1, n_stimuli=12, n_repeats=1, n_parcels=6, embed_dim=4,
                                          random_state=0)
    X, Y, groups = responses.X, truth.embeddings, responses.trial_key
    with pytest.raises(ValueError, match="'n_splits' parameter: expected an integer >= 2.*n_splits=1"):
        cross_val_predict(RidgeEncoder(), X, Y, cv=StimulusKFold(n_splits=1), groups=groups)
    assert cross_val_predict(RidgeEncoder(), X, Y, cv=StimulusKFold(n_splits=2), groups=groups).shape == (12, 4)
