"""fMRI loaders: the simulator's BIDS and NSD-style files round-trip, and bad input fails clearly."""

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neuroaffect._validation import FileFormatError
from neuroaffect.fmri import (
    NSDBetas,
    Parcellate,
    StimulusResponses,
    align_embeddings,
    find_bids_runs,
    load_embeddings,
    load_image,
    read_bids_fmri,
    read_events,
    read_nsd_betas,
    responses_from_run,
)
from neuroaffect.fmri.responses import SAM_1_9
from neuroaffect.simulate.fmri import simulate_responses, write_bids_fmri, write_nsd_fmri

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")


@pytest.fixture(scope="module")
def bids(tmp_path_factory):
    root = tmp_path_factory.mktemp("bids")
    return write_bids_fmri(root, n_subjects=2, n_runs=2, n_stimuli=24, resolution=6, snr=1.0,
                           random_state=0)


def _recovery(responses, truth):
    """Correlation of the loaded responses with the simulator's noiseless parcel responses."""
    rs = []
    for s, subject in enumerate(truth.subjects):
        sub = responses[responses.subject == subject]
        clean = truth.embedding_of(sub.stimulus) @ truth.encoding[s]
        rs.append(np.corrcoef(sub.X.ravel(), clean.ravel())[0, 1])
    return np.array(rs)


@pytest.mark.parametrize("method", ["glm", "lagged-mean"])
def test_bids_round_trip_recovers_encoding(bids, method):
    root, truth = bids
    out = read_bids_fmri(root, Parcellate("dosenbach160"), method=method)
    assert out.X.shape == (2 * 24, 160)
    assert set(out.subjects) == {"01", "02"}
    assert sorted(set(out.stimulus)) == sorted(truth.stimulus)
    # VAD read from events.tsv equals the truth for each stimulus
    np.testing.assert_allclose(out.vad, truth.vad[[list(truth.stimulus).index(s) for s in out.stimulus]],
                               atol=1e-3)
    assert out.vad_scale == SAM_1_9
    assert "no resampling" in out.info["parcellation"]
    r = _recovery(out, truth)
    assert (r > 0.3).all(), r
    # shuffling stimulus labels destroys the match: the recovery is not an artefact
    shuffled = out[np.random.RandomState(0).permutation(len(out))]
    shuffled.stimulus = out.stimulus
    assert (_recovery(shuffled, truth) < 0.15).all()


def test_glm_betas_match_simulated_amplitudes_noise_free(tmp_path):
    root, truth = write_bids_fmri(tmp_path, n_subjects=1, n_runs=1, n_stimuli=12, resolution=6,
                                  snr=1e6, random_state=1)
    out = read_bids_fmri(root, Parcellate("dosenbach160"), method="glm")
    assert _recovery(out, truth)[0] > 0.95


def test_embeddings_file_and_alignment(bids):
    root, truth = bids
    ids, emb = load_embeddings(root / "stimuli" / "embeddings.h5")
    np.testing.assert_array_equal(ids, truth.stimulus)
    np.testing.assert_allclose(emb, truth.embeddings, atol=1e-6)
    out = StimulusResponses.from_arrays(np.zeros((3, 2)), truth.stimulus[[2, 0, 2]])
    np.testing.assert_allclose(align_embeddings(out, ids, emb), truth.embeddings[[2, 0, 2]], atol=1e-6)
    with pytest.raises(ValueError, match="no embedding"):
        align_embeddings(StimulusResponses.from_arrays(np.zeros((1, 2)), ["nope"]), ids, emb)
    with pytest.raises(ValueError, match="one per id"):
        align_embeddings(out, ids[:-1], emb)


def test_nsd_round_trip_is_lazy_and_ordered(tmp_path):
    root, truth = write_nsd_fmri(tmp_path, n_subjects=1, n_stimuli=30, n_repeats=2, n_parcels=12,
                                 random_state=0)
    path = root / "sub-01_betas.h5"
    reader = NSDBetas(path)
    assert len(reader) == 60 and reader.subject == "01"
    full = reader.read()
    part = reader.read([7, 3, 3, 59], chunk=2)
    np.testing.assert_allclose(part.X, full.X[[7, 3, 3, 59]], rtol=1e-6)
    np.testing.assert_array_equal(part.stimulus, full.stimulus[[7, 3, 3, 59]])
    np.testing.assert_allclose(part.vad, full.vad[[7, 3, 3, 59]])
    sim, _ = simulate_responses(n_subjects=1, n_stimuli=30, n_repeats=2, n_parcels=12, random_state=0)
    np.testing.assert_allclose(full.X, sim.X, rtol=1e-5, atol=1e-5)  # float32 storage
    avg = full.average_repeats()
    assert avg.n_stimuli == 30
    np.testing.assert_allclose(avg.X[0], full.X[full.stimulus == avg.stimulus[0]].mean(0))
    masked = read_nsd_betas(path, mask=np.arange(12) < 5, scale=2.0)
    np.testing.assert_allclose(masked.X, full.X[:, :5] / 2, rtol=1e-6)


def test_plain_arrays_and_analyze_image(tmp_path):
    r = StimulusResponses.from_arrays(np.ones((4, 3)), ["a", "b", "a", "c"], subject="07")
    assert r.subjects == ["07"] and r.n_features == 3
    data = np.random.RandomState(0).rand(5, 6, 7, 4).astype(np.float32)
    img = nib.AnalyzeImage(data, np.diag([3.0, 3, 3, 1]))
    nib.save(img, tmp_path / "run.img")
    loaded = load_image(tmp_path / "run.img", ndim=4)
    np.testing.assert_allclose(np.asarray(loaded.dataobj), data)


# ---------------------------------------------------------------- bad input
def test_not_an_image(tmp_path):
    bad = tmp_path / "bold.nii.gz"
    bad.write_text("hello")
    with pytest.raises(FileFormatError, match=r"bold\.nii\.gz.*not an image nibabel can read"):
        load_image(bad)


def test_3d_where_4d_needed(tmp_path):
    nib.save(nib.Nifti1Image(np.ones((4, 4, 4), np.float32), np.eye(4)), tmp_path / "vol.nii")
    with pytest.raises(FileFormatError, match=r"vol\.nii.*3-D.*expected a 4-D time series"):
        load_image(tmp_path / "vol.nii", ndim=4)
    with pytest.raises(FileFormatError, match="4-D time series"):
        Parcellate("dosenbach160").fit(str(tmp_path / "vol.nii"))


def test_nan_image(tmp_path):
    data = np.ones((4, 4, 4, 3), np.float32)
    data[1, 2, 3, 0] = np.nan
    nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / "nan.nii")
    with pytest.raises(FileFormatError, match=r"nan\.nii.*NaN"):
        load_image(tmp_path / "nan.nii")


def test_events_without_onset_or_duration(tmp_path):
    path = tmp_path / "sub-01_task-x_events.tsv"
    pd.DataFrame({"onset": [1.0], "stim_id": ["a"]}).to_csv(path, sep="\t", index=False)
    with pytest.raises(FileFormatError, match=r"events\.tsv.*\['duration'\].*'onset' and 'duration'"):
        read_events(path)
    pd.DataFrame({"onset": [1.0], "duration": ["x"], "stim_id": ["a"]}).to_csv(path, sep="\t", index=False)
    with pytest.raises(FileFormatError, match="'duration' has missing or non-numeric"):
        read_events(path)


def test_events_missing_file_reported(bids, tmp_path):
    root, _ = bids
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    victim = next(copy.glob("sub-01/func/*_events.tsv"))
    victim.unlink()
    with pytest.raises(FileNotFoundError, match="events file not found"):
        find_bids_runs(copy)


def test_nan_in_responses_and_mismatched_lengths():
    with pytest.raises(ValueError, match="non-finite"):
        StimulusResponses.from_arrays(np.array([[1.0, np.nan]]), ["a"])
    with pytest.raises(ValueError, match="stimulus has 1 entries but X has 2 rows"):
        StimulusResponses.from_arrays(np.zeros((2, 2)), ["a"])
    with pytest.raises(ValueError, match="off the SAM 1-9 scale"):
        StimulusResponses.from_arrays(np.zeros((1, 2)), ["a"], vad=[[0.0, 5, 5]], vad_scale=SAM_1_9)


def test_responses_from_run_checks_confounds_and_timing():
    signals = np.random.RandomState(0).rand(30, 4) + 10
    events = pd.DataFrame({"onset": [2.0, 20.0], "duration": [1.0, 1.0], "stimulus": ["a", "b"]})
    with pytest.raises(ValueError, match=r"confounds must have shape \(30, n_confounds\)"):
        responses_from_run(signals, events, 2.0, confounds=np.zeros((29, 2)))
    late = events.assign(onset=[2.0, 100.0])
    with pytest.raises(ValueError, match="start after the run ends"):
        responses_from_run(signals, late, 2.0)
    with pytest.raises(ValueError, match="'method'"):
        responses_from_run(signals, events, 2.0, method="mean")
