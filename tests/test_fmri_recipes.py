"""The fmri-semantic and fmri-vad recipes run end to end and write their JSON results."""

import json

import pytest

from neuroaffect.recipes import fmri_semantic, fmri_vad
from neuroaffect.simulate.fmri import write_bids_fmri, write_nsd_fmri

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")


def test_fmri_vad_quick_simulated(tmp_path, capsys):
    out = tmp_path / "vad.json"
    assert fmri_vad.main(["--quick", "--out", str(out), "--snr", "1.0"]) == 0
    doc = json.loads(out.read_text())
    assert set(doc["results"]) == {"within-subject", "cross-subject"}
    assert doc["results"]["within-subject"]["mean"]["arousal"]["pearson_r"]["mean"] > 0.3
    assert "cross-subject" in capsys.readouterr().out


def test_fmri_vad_on_nsd_folder(tmp_path):
    root, _ = write_nsd_fmri(tmp_path / "nsd", n_subjects=2, n_stimuli=40, n_repeats=2, n_parcels=20,
                             random_state=0)
    out = tmp_path / "vad.json"
    assert fmri_vad.main(["--data-dir", str(root), "--out", str(out), "--n-splits", "4"]) == 0
    assert json.loads(out.read_text())["n_stimuli"] == 80


def test_fmri_semantic_on_bids_folder(tmp_path, capsys):
    root, _ = write_bids_fmri(tmp_path / "bids", n_subjects=1, n_runs=2, n_stimuli=30, resolution=6,
                              snr=2.0, random_state=0)
    out = tmp_path / "sem.json"
    code = fmri_semantic.main(["--data-dir", str(root), "--atlas", "dosenbach160", "--out", str(out),
                               "--encoders", "ridge,clip", "--epochs", "5", "--threads", "1",
                               "--n-splits", "3"])
    assert code == 0
    doc = json.loads(out.read_text())
    ridge = doc["results"]["ridge"]["subjects"]["01"]
    assert ridge["chance"]["top1"] == pytest.approx(1 / 30)
    assert ridge["brain_to_embedding"]["top5"] > 5 / 30  # above chance from 30 real BIDS trials
    assert "top1 b->e" in capsys.readouterr().out


def test_fmri_vad_on_bids_folder(tmp_path):
    root, _ = write_bids_fmri(tmp_path / "bids", n_subjects=2, n_runs=1, n_stimuli=20, resolution=6,
                              snr=2.0, random_state=0)
    out = tmp_path / "vad.json"
    assert fmri_vad.main(["--data-dir", str(root), "--atlas", "dosenbach160", "--method", "lagged-mean",
                          "--out", str(out), "--n-splits", "4"]) == 0
    doc = json.loads(out.read_text())
    assert doc["n_stimuli"] == 40 and doc["results"]["within-subject"]["scale"] == "VAD 1-9"
