"""Your own fMRI maps: 3-D images in, NaN left out of parcels, orientation, bad files, the maps table,
the whole-brain decoders and the fmri-maps recipe, on simulated subject-level maps with a planted effect."""

import json
import logging
import re
import warnings

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neuroaffect._validation import FileFormatError
from neuroaffect.affect.scales import RatingScale
from neuroaffect.evaluation import SampleContainer
from neuroaffect.fmri import (
    LassoPCR,
    NiftiDecoderRegressor,
    Parcellate,
    StimulusResponses,
    VoxelParcellation,
    load_image,
    maps_to_tokens,
    read_fmri_maps,
)
from neuroaffect.simulate.fmri import maps_grid, simulate_maps, write_analyze, write_fmri_maps

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")


def _label_maps(n_maps=3, seed=0):
    """3-D maps with NaN in known places and a 2-label atlas on the same grid."""
    rng = np.random.RandomState(seed)
    shape = (8, 8, 8)
    labels = np.zeros(shape, np.int16)
    labels[:4] = 1
    labels[4:7, :4] = 2
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    maps = []
    for _ in range(n_maps):
        data = rng.rand(*shape).astype(np.float32) + 1
        data[rng.rand(*shape) < 0.2] = np.nan
        data[0, 0, 0] = np.inf
        maps.append(data)
    return [nib.Nifti1Image(d, affine) for d in maps], nib.Nifti1Image(labels, affine), maps, labels


def _expected_means(maps, labels, values=(1, 2)):
    out = []
    for d in maps:
        d = np.where(np.isfinite(d), d, np.nan)
        out.append([np.nanmean(d[labels == k]) for k in values])
    return np.array(out)


# ---------------------------------------------------------------- load_image
def test_load_image_reads_a_single_map_with_nan(tmp_path):
    imgs, _, data, _ = _label_maps(1)
    nib.save(imgs[0], tmp_path / "con_0001.nii")
    img = load_image(tmp_path / "con_0001.nii", ndim=3)
    np.testing.assert_array_equal(np.isnan(np.asarray(img.dataobj)), np.isnan(data[0]))
    with pytest.raises(FileFormatError, match=r"con_0001\.nii.*3-D.*expected a 4-D time series"):
        load_image(tmp_path / "con_0001.nii", ndim=4)
    with pytest.raises(FileFormatError, match=r"con_0001\.nii.*NaN/inf"):
        load_image(tmp_path / "con_0001.nii", ndim=3, nonfinite="error")
    run = nib.Nifti1Image(np.ones((4, 4, 4, 3), np.float32), np.eye(4))
    nib.save(run, tmp_path / "run.nii")
    with pytest.raises(FileFormatError, match=r"run\.nii.*4-D.*expected a 3-D volume \(one map\)"):
        load_image(tmp_path / "run.nii", ndim=3)


@pytest.mark.parametrize("name", ["trunc.nii", "trunc.nii.gz"])
def test_truncated_image_names_the_file(tmp_path, name):
    full = tmp_path / ("full" + name[5:])
    nib.save(nib.Nifti1Image(np.random.RandomState(0).rand(10, 12, 8).astype(np.float32), np.eye(4)), full)
    raw = full.read_bytes()
    (tmp_path / name).write_bytes(raw[: len(raw) // 2])
    with pytest.raises(FileFormatError, match=rf"{name.replace('.', '[.]')}: could not read the voxel data .*truncated"):
        load_image(tmp_path / name, ndim=3)


@pytest.mark.parametrize("name", ["notes.nii", "con_0001.img", "table.nii.gz"])
def test_non_image_file_names_the_file(tmp_path, name):
    (tmp_path / name).write_text("subject,score\n01,3\n")
    if name.endswith(".img"):
        (tmp_path / "con_0001.hdr").write_text("not a header")
    with pytest.raises(FileFormatError, match=rf"{name.split('.')[0]}.*not an image nibabel can read"):
        load_image(tmp_path / name, ndim=3)


def _lateral_map(x_sign=1.0):
    """A RAS map on maps_grid(12) that is 1 in the hemisphere of ``x_sign`` and 0 elsewhere."""
    grid = maps_grid(12)
    ijk = np.indices(grid.shape).reshape(3, -1).T
    x = (ijk @ grid.affine[:3, :3].T + grid.affine[:3, 3])[:, 0].reshape(grid.shape)
    return nib.Nifti1Image((np.sign(x) == x_sign).astype(np.float32), grid.affine)


def test_analyze_orientation_warns_and_is_chosen(tmp_path, caplog):
    right = _lateral_map(+1)  # ones in the right hemisphere (x > 0)
    write_analyze(right, tmp_path / "ras.img", orientation="RAS")  # voxels stored left to right
    write_analyze(right, tmp_path / "las.img", orientation="LAS")  # as SPM stores them
    assert not (tmp_path / "ras.mat").exists()

    def right_fraction(img):
        data = np.asarray(img.dataobj)
        ijk = np.argwhere(data > 0)
        x = (ijk @ img.affine[:3, :3].T + img.affine[:3, 3])[:, 0]
        return float((x > 0).mean())

    with caplog.at_level("DEBUG", logger="neuroaffect.fmri.images"):
        with pytest.warns(UserWarning, match=r"ras\.img: Analyze files store no orientation; reading it as LAS"):
            default = load_image(tmp_path / "ras.img", ndim=3)
    assert "axis codes LAS (Analyze, read as LAS)" in caplog.text
    assert right_fraction(default) == 0.0  # nibabel's default mirrors a file stored RAS
    with pytest.warns(UserWarning, match="reading it as RAS"):
        chosen = load_image(tmp_path / "ras.img", ndim=3, analyze_orientation="RAS")
    assert right_fraction(chosen) == 1.0
    with pytest.warns(UserWarning, match="reading it as LAS"):
        assert right_fraction(load_image(tmp_path / "las.img", ndim=3)) == 1.0
    # an image object is taken as it is: no second flip, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = load_image(chosen, ndim=3, analyze_orientation="RAS")
    np.testing.assert_array_equal(again.affine, chosen.affine)
    with pytest.raises(ValueError, match="'analyze_orientation'.*'LAS', 'RAS'.*'LPS'"):
        load_image(tmp_path / "ras.img", ndim=3, analyze_orientation="LPS")


def test_analyze_with_spm_mat_file_takes_its_orientation(tmp_path):
    img = _lateral_map(+1)
    nib.save(nib.Spm2AnalyzeImage(np.asarray(img.dataobj), img.affine), tmp_path / "spm.img")
    assert (tmp_path / "spm.mat").is_file()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no orientation warning: the .mat file gives it
        loaded = load_image(tmp_path / "spm.img", ndim=3, analyze_orientation="RAS")
    np.testing.assert_allclose(loaded.affine, img.affine)


# ---------------------------------------------------------------- Parcellate on maps
def test_list_of_maps_gives_one_row_per_map_without_nan(caplog):
    imgs, atlas, data, labels = _label_maps(3)
    with caplog.at_level("INFO", logger="neuroaffect.fmri.parcels"):
        rows = Parcellate(atlas).fit_transform(imgs)
    assert rows.shape == (3, 2)
    np.testing.assert_allclose(rows, _expected_means(data, labels), rtol=1e-6)
    bad = sum(int((~np.isfinite(d[labels > 0])).sum()) for d in data)
    assert f"{bad} NaN/inf voxel value(s) inside parcels left out" in caplog.text
    p = Parcellate(atlas).fit(imgs[0])
    assert p.transform(imgs[1]).shape == (1, 2)  # one 3-D map: one row (nilearn's convention)
    np.testing.assert_allclose(p.transform(imgs[1])[0], rows[1])


def test_parcel_without_finite_voxel_is_named(tmp_path):
    imgs, atlas, data, labels = _label_maps(2)
    data[1][labels == 2] = np.nan
    nib.save(nib.Nifti1Image(data[1], imgs[1].affine), tmp_path / "sub-02_con.nii")
    p = Parcellate(atlas).fit(imgs[0])
    with pytest.raises(ValueError, match=r"sub-02_con\.nii: 1 parcel\(s\) have no finite voxel.*label_2 \(96 voxels\)"):
        p.transform([imgs[0], str(tmp_path / "sub-02_con.nii")])


def test_maps_and_runs_agree_on_spheres():
    mask = maps_grid(6)
    rng = np.random.RandomState(3)
    stack = rng.rand(*mask.shape, 3).astype(np.float32)
    run = nib.Nifti1Image(stack, mask.affine)
    maps = [nib.Nifti1Image(stack[..., k], mask.affine) for k in range(3)]
    p = Parcellate("dosenbach160").fit(maps)
    np.testing.assert_allclose(p.transform(maps), p.transform(run), rtol=1e-5)
    np.testing.assert_allclose(p.coords_, p.seeds_)
    with pytest.raises(ValueError, match="mix of 3-D maps and 4-D runs"):
        p.transform([maps[0], run])
    with pytest.raises(ValueError, match="standardize and smoothing_fwhm apply to 4-D runs"):
        Parcellate("dosenbach160", standardize="zscore_sample").fit(maps).transform(maps)


def test_seitzman_rois_keep_their_own_radii():
    mask = maps_grid(4)
    img = nib.Nifti1Image(np.random.RandomState(0).rand(*mask.shape).astype(np.float32), mask.affine)
    own = Parcellate("seitzman300").fit(img)
    assert sorted(np.unique(own.radii_).tolist()) == [4.0, 5.0]
    assert "own radii (61 of 4 mm, 239 of 5 mm)" in own.resampling_
    forced = Parcellate("seitzman300", radius=5.0).fit(img)
    small = own.radii_ == 4.0
    # the 4 mm ROIs average fewer voxels than 5 mm spheres would; the 5 mm ones are unchanged
    a, b = own.transform([img])[0], forced.transform([img])[0]
    np.testing.assert_allclose(a[~small], b[~small])
    assert not np.allclose(a[small], b[small])
    # nilearn's masker, one per radius, gives the same signals as the fast path
    run = nib.Nifti1Image(np.stack([np.asarray(img.dataobj)] * 2, -1), img.affine)
    np.testing.assert_allclose(own.transform(run), own._masker_transform(run), rtol=1e-5, atol=1e-6)


def test_probabilistic_maps_on_maps_leave_nan_out():
    from nilearn.maskers import NiftiMapsMasker

    imgs, _, data, labels = _label_maps(2)
    weights = np.stack([(labels == k).astype(np.float32) * (1 + 0.1 * k) for k in (1, 2)], -1)
    atlas = nib.Nifti1Image(weights, imgs[0].affine)
    rows = Parcellate(atlas).fit_transform(imgs)
    expected = np.array([[np.nanmean(np.where(np.isfinite(d), d, np.nan)[labels == k]) / (1 + 0.1 * k)
                          for k in (1, 2)] for d in data])
    np.testing.assert_allclose(rows, expected, rtol=1e-5)  # disjoint maps: least squares = scaled means
    finite = [nib.Nifti1Image(np.nan_to_num(d, nan=1.0, posinf=1.0), imgs[0].affine) for d in data]
    run = nib.Nifti1Image(np.stack([np.asarray(f.dataobj) for f in finite], -1), imgs[0].affine)
    ref = NiftiMapsMasker(atlas).fit().transform(run)
    np.testing.assert_allclose(Parcellate(atlas).fit_transform(finite), ref, rtol=1e-4)
    np.testing.assert_allclose(Parcellate(atlas).fit(finite[0]).coords_[0], [1.5 * 3, 3.5 * 3, 3.5 * 3])


def test_coarse_atlas_resamples_maps_without_spreading_nan():
    imgs, atlas, data, labels = _label_maps(2)
    coarse = nib.Nifti1Image(np.asarray(atlas.dataobj)[::2, ::2, ::2], np.diag([6.0, 6, 6, 1]))
    p = Parcellate(coarse).fit(imgs[0])
    assert "resampled to the atlas grid" in p.resampling_
    rows = p.transform(imgs)
    assert np.isfinite(rows).all()
    # values stay within the range of the finite voxels (a NaN-spreading resampler would give NaN)
    finite = np.concatenate([d[np.isfinite(d)] for d in data])
    assert finite.min() <= rows.min() and rows.max() <= finite.max()


def test_label_atlas_with_trailing_singleton_axis_is_labels():
    imgs, atlas, data, labels = _label_maps(2)
    four_d = nib.Nifti1Image(np.asarray(atlas.dataobj)[..., None], atlas.affine)
    p = Parcellate(four_d).fit(imgs[0])
    assert p.parcel_names_ == ["label_1", "label_2"]
    np.testing.assert_allclose(p.transform(imgs), _expected_means(data, labels), rtol=1e-6)
    centroid = np.argwhere(labels == 2).mean(0) * 3.0
    np.testing.assert_allclose(p.coords_[1], centroid)


def test_label_outside_the_field_of_view_is_an_error(tmp_path):
    imgs, _, _, _ = _label_maps(1)
    big = np.zeros((16, 8, 8), np.int16)
    big[:4] = 1
    big[12:] = 7  # beyond x = 24 mm: outside the 8-voxel maps
    nib.save(nib.Nifti1Image(big, imgs[0].affine), tmp_path / "atlas.nii.gz")
    with pytest.raises(ValueError, match=r"atlas\.nii\.gz'?: 1 of 2 label\(s\) lie outside the data's field of view.*\[7\]"):
        Parcellate(str(tmp_path / "atlas.nii.gz")).fit(imgs[0])


def test_probabilistic_atlas_that_does_not_overlap_fails_at_fit(tmp_path):
    imgs, _, _, labels = _label_maps(1)
    far = np.diag([3.0, 3, 3, 1])
    far[:3, 3] = 600.0
    maps = np.stack([(labels == k).astype(np.float32) for k in (1, 2)], -1)
    nib.save(nib.Nifti1Image(maps, far), tmp_path / "prob_atlas.nii.gz")
    with pytest.raises(ValueError, match=r"probabilistic atlas '.*prob_atlas\.nii\.gz' \(2 maps\) does not overlap"):
        Parcellate(str(tmp_path / "prob_atlas.nii.gz")).fit(imgs[0])


def test_resampling_states_orientation_and_mask():
    imgs, atlas, _, _ = _label_maps(1)
    p = Parcellate(atlas).fit(imgs[0])
    assert "orientation: data axis codes RAS, atlas axis codes RAS" in p.resampling_
    assert "mask: none" in p.resampling_
    mask = nib.Nifti1Image((np.asarray(atlas.dataobj) > 0).astype(np.uint8), atlas.affine)
    p = Parcellate(atlas, mask_img=mask).fit(imgs[0])
    assert f"mask: mask_img, {int((np.asarray(atlas.dataobj) > 0).sum())} voxels on the data grid" in p.resampling_


def test_ward_fits_on_a_list_of_maps():
    maps, _ = simulate_maps(8, effect_size=1.0, resolution=12, random_state=0)
    p = Parcellate("ward", n_parcels=10).fit(maps[:6])
    assert p.n_parcels_ == 10 and "fitted on 6 training map(s)" in p.resampling_
    rows = p.transform(maps[6:])
    assert rows.shape == (2, 10) and np.isfinite(rows).all()
    assert p.coords_.shape == (10, 3)


# ---------------------------------------------------------------- simulator, table, reader
@pytest.fixture(scope="module")
def nifti_maps(tmp_path_factory):
    return write_fmri_maps(tmp_path_factory.mktemp("maps"), n_subjects=30, effect_size=2.0, random_state=0)


def _best_parcel(responses):
    y = responses.targets["score"]
    r = np.array([np.corrcoef(responses.X[:, j], y)[0, 1] for j in range(responses.n_features)])
    best = int(np.argmax(r))
    return r[best], np.asarray(responses.info["coords"])[best]


def test_simulated_maps_plant_the_effect_and_nan_outside_the_brain(nifti_maps):
    root, table, truth = nifti_maps
    frame = pd.read_csv(table, sep="\t", dtype={"subject": str})
    assert list(frame.columns) == ["subject", "score"] and frame["subject"].iloc[0] == "01"
    img = nib.load(root / "sub-01_map.nii.gz")
    data = np.asarray(img.dataobj)
    inside = np.asarray(truth.mask_img.dataobj) > 0
    assert np.isnan(data[~inside]).all() and np.isfinite(data[inside]).all()
    out = read_fmri_maps(root, table)
    assert out.X.shape == (30, 300) and out.subjects[0] == "01"
    np.testing.assert_allclose(out.targets["score"], frame["score"].to_numpy())
    r, where = _best_parcel(out)
    assert r > 0.6 and np.linalg.norm(where - truth.effect_centre) < 15, (r, where)
    # a null simulation plants nothing
    maps, null = simulate_maps(30, effect_size=0.0, random_state=0)
    p = Parcellate("seitzman300").fit(maps[0])
    X = p.transform(maps)
    r0 = [abs(np.corrcoef(X[:, j], null.table["score"])[0, 1]) for j in range(X.shape[1])]
    assert np.median(r0) < 0.2


def test_analyze_maps_mirror_unless_the_orientation_is_given(tmp_path):
    root, table, truth = write_fmri_maps(tmp_path, n_subjects=24, effect_size=3.0, file_format="analyze",
                                         orientation="RAS", random_state=1)
    assert sorted(p.suffix for p in root.glob("sub-01_map.*")) == [".hdr", ".img"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wrong = read_fmri_maps(root, table)
    orientation = [w for w in caught if "store no orientation" in str(w.message)]
    assert len(orientation) == 1 and "24 of 24 maps are Analyze files" in str(orientation[0].message)
    _, where_wrong = _best_parcel(wrong)
    assert where_wrong[0] < 0  # the right-hemisphere effect shows up on the left
    with pytest.warns(UserWarning, match="read as RAS"):
        right = read_fmri_maps(root, table, analyze_orientation="RAS")
    r, where = _best_parcel(right)
    assert where[0] > 0 and np.linalg.norm(where - truth.effect_centre) < 15 and r > 0.6
    assert right.info["orientation"] == ["RAS"] * 24 and "axis codes RAS" in right.info["parcellation"]


def test_maps_table_errors_name_file_row_and_column(tmp_path, nifti_maps):
    root, table, _ = nifti_maps
    frame = pd.read_csv(table, sep="\t", dtype={"subject": str})
    bad = tmp_path / "no_subject.csv"
    frame.rename(columns={"subject": "participant"}).to_csv(bad, index=False)
    with pytest.raises(FileFormatError, match=r"no_subject\.csv: the maps table has no 'subject' column"):
        read_fmri_maps(root, bad)
    with pytest.raises(FileFormatError, match=r"target column\(s\) \['age'\] not in the maps table"):
        read_fmri_maps(root, table, targets="age")
    text = frame.assign(score=frame["score"].astype(str))
    text.loc[3, "score"] = "high"
    text.to_csv(tmp_path / "text.tsv", sep="\t", index=False)
    with pytest.raises(FileFormatError, match=r"text\.tsv: target column 'score' holds non-numeric values \(file lines \[5\]"):
        read_fmri_maps(root, tmp_path / "text.tsv", targets="score")
    extra = pd.concat([frame, pd.DataFrame({"subject": ["99"], "score": [1.0]})])
    extra.to_csv(tmp_path / "extra.tsv", sep="\t", index=False)
    with pytest.raises(FileFormatError, match=r"extra\.tsv: line 32 \(subject '99'\): no map file"):
        read_fmri_maps(root, tmp_path / "extra.tsv")
    frame.assign(map=[f"sub-{s}_nope.nii" for s in frame["subject"]]).to_csv(tmp_path / "map.tsv", sep="\t", index=False)
    with pytest.raises(FileNotFoundError, match=r"map\.tsv: line 2: map file .*sub-01_nope\.nii not found"):
        read_fmri_maps(root, tmp_path / "map.tsv")


def test_ambiguous_map_files_ask_for_a_map_column(tmp_path):
    maps, truth = simulate_maps(2, resolution=12, random_state=0)
    for k, img in enumerate(maps):
        nib.save(img, tmp_path / f"sub-{k + 1:02d}_con_0001.nii")
        nib.save(img, tmp_path / f"sub-{k + 1:02d}_con_0002.nii")
    truth.table.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(FileFormatError, match=r"line 2 \(subject '01'\): 2 map files match.*'map' column"):
        read_fmri_maps(tmp_path, tmp_path / "t.csv")
    with_files = truth.table.assign(map=[f"sub-{k + 1:02d}_con_0002.nii" for k in range(2)])
    with_files.to_csv(tmp_path / "t2.csv", index=False)
    out = read_fmri_maps(tmp_path, tmp_path / "t2.csv", parcellate="dosenbach160")
    assert [f.rsplit("/", 1)[-1] for f in out.info["files"]] == ["sub-01_con_0002.nii", "sub-02_con_0002.nii"]


def test_voxels_keep_what_is_finite_in_every_map(tmp_path):
    maps, truth = simulate_maps(4, resolution=12, random_state=0)
    data = np.asarray(maps[2].dataobj).copy()
    inside = np.argwhere(np.isfinite(data))[0]
    data[tuple(inside)] = np.nan
    maps[2] = nib.Nifti1Image(data, maps[2].affine)
    for k, img in enumerate(maps):
        nib.save(img, tmp_path / f"sub-{k + 1:02d}.nii.gz")
    truth.table.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    out = read_fmri_maps(tmp_path, tmp_path / "t.tsv", parcellate="voxels")
    n_brain = int((np.asarray(truth.mask_img.dataobj) > 0).sum())
    assert out.X.shape == (4, n_brain - 1) and np.isfinite(out.X).all()
    assert int(np.asarray(out.info["mask_img"].dataobj).sum()) == n_brain - 1
    with pytest.raises(ValueError, match="VoxelParcellation"):
        read_fmri_maps(tmp_path, tmp_path / "t.tsv", parcellate="ward")


def test_maps_to_tokens_keeps_subjects_whole(tmp_path):
    root, table, _ = write_fmri_maps(tmp_path, n_subjects=6, n_maps=2, resolution=12, random_state=0)
    out = read_fmri_maps(root, table, parcellate="dosenbach160")
    assert list(out.run[:2]) == ["1", "2"] and list(out.subject[:2]) == ["01", "01"]
    tokens = maps_to_tokens(out, "score")
    assert set(tokens.subject) == {"group"}
    assert tokens.trial_key[0] == tokens.trial_key[1] == "group/maps/01" and len(set(tokens.trial_key)) == 6
    within = maps_to_tokens(out, "score", level="within-subject")
    assert list(within.subject[:2]) == ["01", "01"] and within.trial_key[0] != within.trial_key[1]
    np.testing.assert_array_equal(within.trial_key, out.trial_keys())
    # a response container with the target as its one rating, on its observed range (no NaN sampling rate)
    for samples in (tokens, within):
        assert isinstance(samples, StimulusResponses) and isinstance(samples, SampleContainer)
        assert samples.X.shape == out.X.shape and samples.feature_names == out.feature_names
        assert samples.rating_names == ("score",) and not hasattr(samples, "sfreq")
        np.testing.assert_array_equal(samples.ratings[:, 0], out.targets["score"])
        np.testing.assert_array_equal(samples.rating("score"), out.targets["score"])
        scale = samples.scale("score")
        assert (scale.low, scale.high) == (out.targets["score"].min(), out.targets["score"].max())
        assert samples[[0, 2]].rating_names == ("score",) and samples[[0, 2]].scale("score") == scale
        assert samples.dataset == out.dataset == str(root)  # the responses name their dataset: kept
    out.targets["score"][1] += 1.0
    with pytest.raises(ValueError, match="target 'score' differs between the maps of subject '01'"):
        maps_to_tokens(out, "score")
    with pytest.raises(ValueError, match="'target'.*\\['score'\\].*'age'"):
        maps_to_tokens(out, "age")


@pytest.mark.parametrize("level", ["between-subject", "within-subject"])
def test_maps_to_tokens_names_the_dataset_fmri_maps_where_the_responses_name_none(level):
    r = StimulusResponses.from_arrays(np.arange(8.0).reshape(4, 2), ["m1", "m2", "m3", "m4"],
                                      subject=["01", "02", "03", "04"], targets={"score": np.arange(4.0)})
    assert r.dataset == "fmri"  # the container's default: no name given
    assert maps_to_tokens(r, "score", level=level).dataset == "fmri-maps"
    r.dataset = "my-study"
    assert maps_to_tokens(r, "score", level=level).dataset == "my-study"


def test_targets_with_a_scale_are_ratings_of_the_responses():
    y = np.array([1.0, np.nan, 3.0, 4.0])
    scale = RatingScale("score 0-10", 0.0, 10.0)
    r = StimulusResponses.from_arrays(np.zeros((4, 2)), list("abcd"), targets={"score": y, "age": np.arange(4.0)},
                                      target_scales={"score": scale})
    assert r.rating_names == ("score",) and r.scale("score") is scale  # "age" has no scale: not a rating
    np.testing.assert_array_equal(r.ratings, y[:, None])
    assert StimulusResponses.concatenate([r[:2], r[2:]]).rating_names == ("score",)
    assert r.average_repeats().rating_names == ("score",)
    with pytest.raises(ValueError, match=r"Unknown rating 'age'; these responses have \('score',\)"):
        r.rating("age")
    with pytest.raises(ValueError, match="target 'score' hold values off the score 0-10 scale"):
        StimulusResponses.from_arrays(np.zeros((4, 2)), list("abcd"), targets={"score": y * 5},
                                      target_scales={"score": scale})
    with pytest.raises(ValueError, match="target_scales names 'age', which is not among the targets"):
        StimulusResponses.from_arrays(np.zeros((4, 2)), list("abcd"), targets={"score": y},
                                      target_scales={"age": scale})


# ---------------------------------------------------------------- decoders and the runner
def test_lasso_pcr_recovers_a_spatially_extended_pattern():
    from sklearn.base import clone
    from sklearn.linear_model import Lasso

    # maps = 3 spatial patterns with subject loadings + noise; the score follows the first loading
    rng = np.random.RandomState(0)
    loadings = rng.randn(60, 3)
    patterns = rng.randn(3, 150)
    X = loadings @ patterns + 0.5 * rng.randn(60, 150)
    y = loadings[:, 0] + 0.1 * rng.randn(60)
    model = LassoPCR(random_state=0).fit(X[:45, :, None], y[:45])  # runner tokens (n, features, 1) accepted
    assert np.corrcoef(model.predict(X[45:]), y[45:])[0, 1] > 0.9
    # the weight map points along the score's pattern, and beats a lasso on the raw features
    assert abs(np.corrcoef(model.coef_, patterns[0])[0, 1]) > 0.5
    raw = Lasso(alpha=0.1).fit(X[:45], y[:45]).predict(X[45:])
    assert np.corrcoef(model.predict(X[45:]), y[45:])[0, 1] > np.corrcoef(raw, y[45:])[0, 1]
    np.testing.assert_allclose(model.predict(X[45:]), X[45:] @ model.coef_ + model.intercept_)
    assert model.n_components_ == 44 and model.alpha_ > 0
    clone(model)
    with pytest.raises(ValueError, match="'n_components'.*1..44"):
        LassoPCR(n_components=80).fit(X[:45], y[:45])


def test_nilearn_decoders_and_fold_fitted_parcellation_on_voxels(nifti_maps):
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.pipeline import make_pipeline

    root, table, _ = nifti_maps
    v = read_fmri_maps(root, table, parcellate="voxels")
    y, mask = v.targets["score"], v.info["mask_img"]
    cv = KFold(5, shuffle=True, random_state=0)
    frem = cross_val_predict(NiftiDecoderRegressor(mask, random_state=0), v.X, y, cv=cv)
    assert np.corrcoef(frem, y)[0, 1] > 0.4
    ward = make_pipeline(VoxelParcellation(mask, n_parcels=30, random_state=0), LassoPCR(random_state=0))
    assert np.corrcoef(cross_val_predict(ward, v.X, y, cv=cv), y)[0, 1] > 0.4
    with pytest.raises(ValueError, match="X has 10 features but mask_img has"):
        NiftiDecoderRegressor(mask).fit(v.X[:, :10], y)


def test_runner_recovers_the_effect_and_calibrates_the_null(tmp_path):
    from neuroaffect.evaluation import cross_validate_subjects
    from neuroaffect.fmri import make_decoder

    def run(effect, estimator, protocol):
        root, table, _ = write_fmri_maps(tmp_path / f"e{effect}", n_subjects=30, effect_size=effect, random_state=0)
        tokens = maps_to_tokens(read_fmri_maps(root, table), "score")
        res = cross_validate_subjects(tokens, estimator, target="score", task="regression", protocol=protocol,
                                      metric="pearson_r", n_permutations=19, progress=False)
        assert res.leakage["leaked_test_fraction"] == 0
        return res.subjects[0]["window"]["pearson_r"], res.subjects[0]["p_value"], res.summary["chance"]["pearson_r"]

    r, p, chance = run(2.5, LassoPCR(), "within-subject-kfold")
    assert r > 0.5 and p == pytest.approx(1 / 20) and chance < 0.2
    r0, p0, chance0 = run(0.0, make_decoder("ridge"), "within-subject-loto")
    # leave-one-out with a shrunk model: predictions lean away from the held-out value, so the
    # empirical chance of r is clearly negative (not 0), and a null r that low is not significant
    assert chance0 < -0.2 and r0 < 0.2 and p0 > 0.5


# ---------------------------------------------------------------- the recipe
def test_fmri_maps_recipe_on_simulated_maps(tmp_path, capsys):
    from neuroaffect.cli import main

    out = tmp_path / "maps"
    assert main(["run", "fmri-maps", "--out", str(out), "--n-subjects", "30", "--effect-size", "2.5",
                 "--n-permutations", "9", "--estimators", "lasso-pcr", "--quiet"]) == 0
    for name in ("results.json", "report.md", "report.html", "figures/run0-scores.png"):
        assert (out / name).is_file(), name
    doc = json.loads((out / "results.json").read_text())
    model, base = doc["runs"]
    assert model["config"]["metric"] == "pearson_r" and model["config"]["n_permutations"] == 9
    assert model["summary"]["window"]["pearson_r"]["mean"] > 0.4
    assert model["summary"]["chance"]["pearson_r"] != 0 and model["summary"]["chance_source"] == "permutation"
    assert "Dummy" in base["config"]["estimator"]
    printed = capsys.readouterr().out
    assert "lasso-pcr" in printed and "Time (s):" in printed and "report.html" in printed
    assert "whole subjects' labels permuted" in (out / "report.md").read_text()


def test_fmri_maps_recipe_on_a_folder_with_voxels(tmp_path, nifti_maps, capsys):
    from neuroaffect.recipes import fmri_maps

    root, table, _ = nifti_maps
    out = tmp_path / "voxels"
    assert fmri_maps.main(["--data-dir", str(root), "--table", str(table), "--target", "score", "--atlas", "voxels",
                           "--estimators", "ridge,decoder", "--cv", "loo", "--n-permutations", "0", "--out", str(out),
                           "--quiet"]) == 0
    doc = json.loads((out / "results.json").read_text())
    assert [r["config"]["protocol"] for r in doc["runs"]] == ["within-subject-loto"] * 3
    assert "voxels finite in all 30 maps" in (out / "report.md").read_text()


def test_fmri_maps_recipe_fits_a_data_driven_parcellation_per_fold(tmp_path, nifti_maps, capsys):
    from neuroaffect.recipes import fmri_maps

    root, table, _ = nifti_maps
    out = tmp_path / "ward"
    assert fmri_maps.main(["--data-dir", str(root), "--table", str(table), "--target", "score", "--atlas", "ward",
                           "--n-parcels", "20", "--estimators", "ridge", "--n-permutations", "0", "--out", str(out),
                           "--quiet"]) == 0
    model = json.loads((out / "results.json").read_text())["runs"][0]
    assert "VoxelParcellation" in model["config"]["estimator"] and "n_parcels=20" in model["config"]["estimator"]
    assert model["summary"]["window"]["pearson_r"]["mean"] > 0.3
    assert "no permutations: p-values n/a" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["--data-dir", "."], "--data-dir needs --table FILE and --target COLUMN"),
    (["--table", "t.csv"], "--table needs --data-dir"),
    (["--estimators", "svm"], r"--estimators: unknown estimator\(s\) \['svm'\]"),
    (["--estimators", "frem"], "decode whole-brain voxels: pass --atlas voxels"),
    (["--atlas", "schaefer"], "--atlas: expected one of seitzman300"),
])
def test_fmri_maps_bad_options_are_usage_errors(argv, message, tmp_path, capsys):
    from neuroaffect.recipes import fmri_maps

    with pytest.raises(SystemExit) as exit_info:
        fmri_maps.main(argv + ["--out", str(tmp_path / "x")])
    assert exit_info.value.code == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "x").exists()  # refused before anything is written


def test_read_fmri_maps_logs_a_summary(nifti_maps, caplog):
    root, table, _ = nifti_maps
    with caplog.at_level(logging.INFO, logger="neuroaffect.fmri.maps"):
        read_fmri_maps(root, table, parcellate="dosenbach160")
    assert "read_fmri_maps: 30 maps (0 Analyze, read as LAS); axis codes RAS (30)" in caplog.text
