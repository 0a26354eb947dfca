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


@pytest.mark.parametrize("method", ["glm", "glm-lss", "lagged-mean"])
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


def test_analysis_hrf_differs_from_the_simulated_one(tmp_path):
    """Data made with a Glover HRF delayed by 2 s (peak ~7 s) and analysed with the canonical one."""
    from neuroaffect.simulate.fmri import delayed_hrf

    root, truth = write_bids_fmri(tmp_path, n_subjects=1, n_runs=1, n_stimuli=24, resolution=6, snr=2.0,
                                  hrf_model=delayed_hrf(2.0), random_state=3)
    canonical = _recovery(read_bids_fmri(root, Parcellate("dosenbach160"), method="glm"), truth)[0]
    matched = _recovery(read_bids_fmri(root, Parcellate("dosenbach160"), method="glm",
                                       hrf_model=delayed_hrf(2.0)), truth)[0]
    lagged = _recovery(read_bids_fmri(root, Parcellate("dosenbach160"), method="lagged-mean"), truth)[0]
    # the mismatched HRF still recovers the encoding, though less well than the true response shape
    assert canonical > 0.4 and lagged > 0.4, (canonical, lagged)
    assert matched > canonical, (matched, canonical)


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
    # a 3-D volume is a map to Parcellate (one row), never a one-volume run
    from nilearn.datasets import load_mni152_brain_mask

    mask = load_mni152_brain_mask(resolution=8)
    nib.save(nib.Nifti1Image(np.ones(mask.shape, np.float32), mask.affine), tmp_path / "map.nii")
    assert Parcellate("dosenbach160").fit_transform(str(tmp_path / "map.nii")).shape == (1, 160)
    nib.save(nib.Nifti1Image(np.ones(mask.shape + (1,), np.float32), mask.affine), tmp_path / "one.nii")
    with pytest.raises(FileFormatError, match=r"one\.nii.*1 volume\(s\); expected a time series"):
        Parcellate("dosenbach160").fit(str(tmp_path / "map.nii")).transform(str(tmp_path / "one.nii"))


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


# ---------------------------------------------------------------- confounds (fMRIPrep-sized tables)
def _fmriprep_table(n, rng, with_tissue=True):
    cols = {c: rng.standard_normal(n) for c in ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")}
    if with_tissue:
        cols.update(white_matter=rng.standard_normal(n), csf=rng.standard_normal(n))
    cols["global_signal"] = rng.standard_normal(n)
    cols.update({f"a_comp_cor_{i:02d}": rng.standard_normal(n) for i in range(60)})
    cols["trans_x_derivative1"] = np.r_[np.nan, rng.standard_normal(n - 1)]  # fMRIPrep's leading n/a
    return pd.DataFrame(cols)


def test_read_confounds_strategies_and_columns(tmp_path):
    from neuroaffect.fmri.events import read_confounds

    rng = np.random.default_rng(0)
    path = tmp_path / "sub-01_task-x_desc-confounds_timeseries.tsv"
    table = _fmriprep_table(40, rng)
    table.to_csv(path, sep="\t", index=False, na_rep="n/a")
    minimal = read_confounds(path)  # default: 6 motion + white_matter + csf
    np.testing.assert_allclose(minimal, table[["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z",
                                               "white_matter", "csf"]].to_numpy())
    assert read_confounds(path, "minimal+global").shape == (40, 9)
    assert read_confounds(path, "motion").shape == (40, 6)
    everything = read_confounds(path, "all")
    assert everything.shape == (40, table.shape[1]) and everything[0, -1] == 0.0
    np.testing.assert_allclose(read_confounds(path, ["csf", "a_comp_cor_03"]), table[["csf", "a_comp_cor_03"]])
    with pytest.raises(FileFormatError, match=r"confounds_timeseries\.tsv.*\['framewise_displacement'\]"):
        read_confounds(path, ["csf", "framewise_displacement"])
    with pytest.raises(ValueError, match="'confounds' parameter.*'minimal'"):
        read_confounds(path, "csf")
    # the simulator's files: motion and global_signal only -> the 6 motion columns
    table[["global_signal", "trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]].to_csv(
        path, sep="\t", index=False)
    assert read_confounds(path).shape == (40, 6)
    pd.DataFrame({"dvars": rng.standard_normal(40)}).to_csv(path, sep="\t", index=False)
    with pytest.warns(UserWarning, match=r"confounds_timeseries\.tsv: none of the confounds='minimal'"):
        assert read_confounds(path).shape == (40, 0)


def test_read_bids_fmri_chooses_confound_columns(bids, tmp_path):
    import shutil

    root, truth = bids
    copy = tmp_path / "fmriprep"
    shutil.copytree(root, copy)
    rng = np.random.default_rng(0)
    for f in copy.glob("sub-*/func/*_desc-confounds_timeseries.tsv"):
        sim = pd.read_csv(f, sep="\t")
        extra = _fmriprep_table(len(sim), rng, with_tissue=False).drop(columns=list(sim.columns), errors="ignore")
        pd.concat([sim, extra], axis=1).to_csv(f, sep="\t", index=False, na_rep="n/a")
    subset = dict(subjects=["01"], task="affect")
    for method in ("glm", "lagged-mean"):
        out = read_bids_fmri(copy, Parcellate("dosenbach160"), method=method, **subset)
        assert out.info["confounds"] == "minimal"
        clean = truth.embedding_of(out.stimulus) @ truth.encoding[0]
        assert np.corrcoef(out.X.ravel(), clean.ravel())[0, 1] > 0.3
    # every column (68 for 47 volumes): lagged-mean refuses instead of regressing the signal away
    with pytest.raises(ValueError, match=r"run-1_bold\.nii\.gz: lagged-mean with 68 confounds for 47 volumes"):
        read_bids_fmri(copy, Parcellate("dosenbach160"), method="lagged-mean", confounds="all", **subset)
    with pytest.raises(FileFormatError, match=r"run-1_desc-confounds_timeseries\.tsv.*\['white_matter'\]"):
        read_bids_fmri(copy, Parcellate("dosenbach160"), confounds=["trans_x", "white_matter"], **subset)
    with pytest.raises(ValueError, match="'confounds' parameter"):
        read_bids_fmri(copy, Parcellate("dosenbach160"), confounds="compcor", **subset)
    none = read_bids_fmri(copy, Parcellate("dosenbach160"), confounds=None, **subset)
    assert none.info["confounds"] == "none"


def test_lagged_mean_refuses_too_many_confounds():
    rng = np.random.RandomState(0)
    signals = rng.rand(30, 4) + 10
    events = pd.DataFrame({"onset": [2.0, 20.0], "duration": [1.0, 1.0], "stimulus": ["a", "b"]})
    with pytest.raises(ValueError, match="lagged-mean with 15 confounds for 30 volumes"):
        responses_from_run(signals, events, 2.0, method="lagged-mean", confounds=rng.rand(30, 15))
    ok = responses_from_run(signals, events, 2.0, method="lagged-mean", confounds=rng.rand(30, 14))
    assert ok.X.shape == (2, 4)


def test_lagged_window_after_the_run_is_dropped_with_a_warning():
    rng = np.random.default_rng(0)
    Y = 100 + rng.standard_normal((100, 3))
    Y[-1] += 50.0  # a spike in the last volume: the old code returned it as event b's response
    events = pd.DataFrame({"onset": [20.0, 196.0], "duration": [2.0, 2.0], "stimulus": ["a", "b"]})
    with pytest.warns(UserWarning, match=r"run-1_bold\.nii\.gz: dropped 1 event\(s\) \(onsets \[196\.0\]"):
        out = responses_from_run(Y, events, 2.0, method="lagged-mean", lag=5.0, source="run-1_bold.nii.gz")
    assert out.stimulus.tolist() == ["a"]


def test_events_with_na_stimulus_rows_are_dropped(tmp_path):
    path = tmp_path / "sub-01_task-x_events.tsv"
    pd.DataFrame({"onset": [1.0, 2.0, 5.0, 6.0], "duration": [1.0, "n/a", 1.0, 0.0],
                  "stim_id": ["a", "n/a", "b", "n/a"], "trial_type": ["stim", "response", "stim", "response"],
                  "valence": [3.0, "n/a", 5.0, "n/a"], "arousal": [3.0, "n/a", 5.0, "n/a"],
                  "dominance": [3.0, "n/a", 5.0, "n/a"]}).to_csv(path, sep="\t", index=False)
    with pytest.warns(UserWarning, match=r"events\.tsv: dropped 2 of 4 event row\(s\) whose 'stim_id' is missing"):
        events = read_events(path)
    assert events["stimulus"].tolist() == ["a", "b"] and "nan" not in events["stimulus"].tolist()
    assert events["duration"].tolist() == [1.0, 1.0]
    # a stimulus trial without ratings names the file and line
    pd.DataFrame({"onset": [1.0, 5.0], "duration": [1.0, 1.0], "stim_id": ["a", "b"],
                  "valence": [3.0, "n/a"], "arousal": [3.0, 4.0], "dominance": [3.0, 4.0]}).to_csv(
        path, sep="\t", index=False)
    with pytest.raises(FileFormatError, match=r"events\.tsv.*1 stimulus event\(s\) lack.*lines \[3\]"):
        read_events(path)


# ---------------------------------------------------------------- NSD: scale and subjects
def test_nsd_file_keeps_its_vad_scale(tmp_path):
    import json

    import h5py

    from neuroaffect.affect.scales import RatingScale
    from neuroaffect.fmri import read_fmri_dir, write_nsd_betas

    rng = np.random.default_rng(0)
    scale = RatingScale("VAD -1..1", -1.0, 1.0)
    r = StimulusResponses(rng.standard_normal((10, 4)), [f"s{i}" for i in range(10)], "01", None,
                          rng.uniform(-1, 1, (10, 3)), scale)
    path = write_nsd_betas(tmp_path / "sub-01_betas.h5", r)
    back = read_nsd_betas(path)
    assert back.vad_scale == scale
    np.testing.assert_allclose(back.vad, r.vad)
    folder, _ = read_fmri_dir(tmp_path)
    assert folder.vad_scale == scale
    # an older file: [name, low, high] without kind
    with h5py.File(path, "r+") as f:
        f.attrs["vad_scale"] = json.dumps(["VAD -1..1", -1.0, 1.0])
    assert read_nsd_betas(path).vad_scale == scale
    # an explicit scale overrides the attribute, with a warning
    wide = RatingScale("wide", -5.0, 5.0)
    with pytest.warns(UserWarning, match="overrides the file's vad_scale attribute"):
        assert read_fmri_dir(tmp_path, vad_scale=wide)[0].vad_scale == wide
    with h5py.File(path, "r+") as f:
        f.attrs["vad_scale"] = "SAM"
    with pytest.raises(FileFormatError, match=r"sub-01_betas\.h5.*'vad_scale'"):
        read_nsd_betas(path)


def test_write_nsd_betas_refuses_several_subjects(tmp_path):
    from neuroaffect.fmri import write_nsd_betas

    r = StimulusResponses(np.zeros((4, 2)), ["a", "b", "a", "b"], ["01", "01", "02", "02"])
    with pytest.raises(ValueError, match=r"2 subjects \['01', '02'\]; expected one subject per file"):
        write_nsd_betas(tmp_path / "both_betas.h5", r)
    assert not (tmp_path / "both_betas.h5").exists()


def test_read_confounds_names_the_parameter_for_none(tmp_path):
    from neuroaffect.fmri.events import read_confounds

    path = tmp_path / "c.tsv"
    path.write_text("trans_x\tnote\n0.1\ta\n0.2\tb\n")
    assert read_confounds(path, "all").shape == (2, 1)  # the numeric columns only
    with pytest.raises(ValueError, match="'columns' parameter.*'all'"):
        read_confounds(path, None)


# ---------------------------------------------------------------- responses: repeats, ids, drifts
def test_average_repeats_refuses_conflicting_ratings():
    X = np.arange(8.0).reshape(4, 2)
    vad = [[5, 5, 5], [5, 5, 5], [2, 5, 5], [8, 5, 5]]
    r = StimulusResponses.from_arrays(X, ["a", "a", "b", "b"], vad=vad, vad_scale=SAM_1_9)
    with pytest.raises(ValueError, match=r"repeats of stimulus 'b' \(subject '01'\) have different valence ratings "
                                         r"\[2\.0, 8\.0\].*ratings='average'"):
        r.average_repeats()
    avg = r.average_repeats(ratings="average")
    np.testing.assert_allclose(avg.vad[:, 0], [5.0, 5.0])
    np.testing.assert_allclose(avg.X, [[1.0, 2.0], [5.0, 6.0]])
    same = StimulusResponses.from_arrays(X, ["a", "a", "b", "b"], vad=[[5, 5, 5]] * 2 + [[2, 5, 5]] * 2,
                                         vad_scale=SAM_1_9, targets={"rt": [0.5, 0.5, 0.7, np.nan]})
    out = same.average_repeats()  # equal ratings (a missing value is not a conflict) pass
    np.testing.assert_allclose(out.vad[:, 0], [5.0, 2.0])
    np.testing.assert_allclose(out.targets["rt"], [0.5, 0.7])
    with pytest.raises(ValueError, match="'ratings'"):
        same.average_repeats(ratings="first")


def test_stimulus_ids_never_fall_back_to_condition_names(tmp_path):
    path = tmp_path / "sub-01_task-x_events.tsv"
    pd.DataFrame({"onset": [1.0, 5.0, 9.0], "duration": [1.0, 1.0, 1.0], "trial_type": ["neg", "neg", "pos"],
                  "valence": [2, 3, 8], "arousal": [5, 5, 5], "dominance": [5, 5, 5]}).to_csv(path, sep="\t", index=False)
    with pytest.raises(FileFormatError, match=r"no stimulus id column.*'trial_type' holds condition names"):
        read_events(path)
    events = read_events(path, stimulus_column="trial_type")  # explicit: each condition is one stimulus
    assert events["stimulus"].tolist() == ["neg", "neg", "pos"]


def test_lagged_mean_detrends_and_high_passes():
    t_r, n = 2.0, 150
    t = np.arange(n) * t_r
    drift = 5.0 * t / t[-1] + 3.0 * np.cos(2 * np.pi * t / t[-1])  # linear + very slow drift, no response
    signals = 100 + np.column_stack([drift, -drift]) + 0.01 * np.random.RandomState(0).standard_normal((n, 2))
    onsets = np.arange(10.0, 270.0, 20.0)
    events = pd.DataFrame({"onset": onsets, "duration": 2.0, "stimulus": [f"s{i}" for i in range(len(onsets))]})
    out = responses_from_run(signals, events, t_r, method="lagged-mean", psc=False)
    # without detrending the lagged means would follow the drift (range ~8); after it they are ~flat
    assert np.ptp(out.X[:, 0]) < 0.5, np.ptp(out.X[:, 0])
    raw = np.array([drift[(t >= o + 5) & (t <= o + 7)].mean() for o in onsets])
    assert np.ptp(raw) > 5


# ---------------------------------------------------------------- least squares separate (LSS)
def _single_trial_run(gap, noise, n_trials=50, n_features=200, conditions=None, amplitudes=None, seed=0):
    """Signals made of each trial's canonical response times its amplitude, plus white noise."""
    from neuroaffect.simulate.fmri import _trial_regressors

    rng = np.random.RandomState(seed)
    t_r = 1.0
    onsets = 5.0 + np.cumsum(rng.uniform(*gap, size=n_trials))
    n_vols = int((onsets[-1] + 30.0) / t_r)
    R = _trial_regressors(onsets, np.ones(n_trials), n_vols, t_r)  # (n_vols, n_trials)
    A = 1.0 + 0.5 * rng.standard_normal((n_trials, n_features)) if amplitudes is None else amplitudes
    signals = 100.0 + R @ A + noise * rng.standard_normal((n_vols, n_features))
    events = pd.DataFrame({"onset": onsets, "duration": 1.0, "stimulus": [f"s{i}" for i in range(n_trials)]})
    if conditions is not None:
        events["trial_type"] = conditions
    return signals, events, t_r, A


def _betas(signals, events, t_r, method):
    return responses_from_run(signals, events, t_r, method=method, noise_model="ols", psc=False).X


def _fit_quality(B, A):
    rmse = np.sqrt(((B - A) ** 2).mean())
    r = np.mean([np.corrcoef(B[:, j], A[:, j])[0, 1] for j in range(A.shape[1])])  # over trials, per feature
    return rmse, r


def test_lss_trades_the_variance_of_collinear_trials_for_bias():
    """Trials 2-4 s apart (collinear regressors): LSA is unbiased but noisy, LSS less noisy but biased."""
    signals, events, t_r, A = _single_trial_run((2.0, 4.0), noise=0.0)
    lsa, lss = _betas(signals, events, t_r, "glm"), _betas(signals, events, t_r, "glm-lss")
    assert lsa.shape == lss.shape == A.shape
    # noise-free: least squares all recovers every amplitude; separate GLMs let neighbours leak in
    np.testing.assert_allclose(lsa, A, atol=1e-6)
    assert np.abs(lss - A).max() > 0.3
    signals, events, t_r, A = _single_trial_run((2.0, 4.0), noise=1.0)
    (rmse_lsa, r_lsa), (rmse_lss, r_lss) = (_fit_quality(_betas(signals, events, t_r, m), A) for m in ("glm", "glm-lss"))
    assert rmse_lss < 0.5 * rmse_lsa, (rmse_lss, rmse_lsa)
    assert r_lss > r_lsa + 0.1, (r_lss, r_lsa)
    # trials 14-18 s apart: barely collinear, and the two estimates agree closely
    signals, events, t_r, A = _single_trial_run((14.0, 18.0), noise=1.0)
    lsa, lss = _betas(signals, events, t_r, "glm"), _betas(signals, events, t_r, "glm-lss")
    assert np.corrcoef(lsa.ravel(), lss.ravel())[0, 1] > 0.95
    assert 0.8 < _fit_quality(lss, A)[0] / _fit_quality(lsa, A)[0] < 1.25


def test_lss_models_the_other_trials_per_condition():
    """Amplitudes constant within each of two conditions: per-condition nuisance regressors make LSS exact."""
    n = 40
    conditions = np.where(np.arange(n) % 2 == 0, "pos", "neg")
    amplitudes = np.where(conditions == "pos", 1.0, -1.0)[:, None] * np.ones((1, 3))
    signals, events, t_r, A = _single_trial_run((2.0, 4.0), noise=0.0, n_trials=n, n_features=3,
                                                amplitudes=amplitudes)
    # one "other trials" regressor (no trial_type column) cannot fit +1 and -1 neighbours
    assert np.abs(_betas(signals, events, t_r, "glm-lss") - A).max() > 0.2
    events["trial_type"] = conditions
    np.testing.assert_allclose(_betas(signals, events, t_r, "glm-lss"), A, atol=1e-6)


@pytest.mark.filterwarnings("ignore:Matrix is singular")  # the all-trials design of 80+ trials in 80 volumes
def test_lss_accepts_more_trials_than_least_squares_all_can_fit():
    signals, events, t_r, _ = _single_trial_run((0.5, 0.7), noise=1.0, n_trials=130, n_features=2)
    signals = signals[:80]  # 80 volumes
    events = events[events["onset"] < 75].reset_index(drop=True)
    assert len(events) > 80  # more trials than volumes
    with pytest.raises(ValueError, match="regressors for 80 volumes.*glm-lss"):
        responses_from_run(signals, events, t_r, method="glm")
    out = responses_from_run(signals, events, t_r, method="glm-lss", noise_model="ols")
    assert out.X.shape == (len(events), 2) and np.isfinite(out.X).all()


def test_bids_runs_as_voxels_inside_a_mask(bids):
    from nilearn.datasets import load_mni152_brain_mask

    root, truth = bids
    mask = load_mni152_brain_mask(resolution=12)  # another grid: resampled to the runs' 6 mm grid
    out = read_bids_fmri(root, "voxels", mask_img=mask, method="lagged-mean")
    keep = np.asarray(out.info["mask_img"].dataobj) != 0
    assert out.X.shape == (2 * 24, int(keep.sum())) and 1000 < keep.sum() < 20000
    assert "resampled to the runs' grid" in out.info["parcellation"]
    assert out.feature_names[0] == "_".join(map(str, np.argwhere(keep)[0]))
    with pytest.raises(ValueError, match="mask_img applies to parcellate='voxels'"):
        read_bids_fmri(root, Parcellate("dosenbach160"), mask_img=mask)
    with pytest.raises(ValueError, match="fitted on training runs.*parcellate='voxels'"):
        read_bids_fmri(root, Parcellate("ward"))
