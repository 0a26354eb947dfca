"""Parcellate: shipped atlases offline, label atlases (exact means), resampling stated, overlap errors."""

import socket

import nibabel as nib
import numpy as np
import pytest
from sklearn.base import clone

from neuroaffect.fmri import Parcellate, coordinate_atlas

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")


@pytest.mark.parametrize("name,n", [("seitzman300", 300), ("power264", 264), ("dosenbach160", 160)])
def test_coordinate_atlases_ship_offline(no_network, name, n):
    seeds, labels, radii = coordinate_atlas(name)
    assert seeds.shape == (n, 3) and len(labels) == n and radii.shape == (n,)
    if name == "seitzman300":  # Seitzman 2018 gives each ROI its own radius: 61 of 4 mm, 239 of 5 mm
        assert sorted(np.unique(radii).tolist()) == [4.0, 5.0] and (radii == 4.0).sum() == 61
    else:
        assert (radii == 5.0).all()
    assert np.abs(seeds).max() < 110  # MNI mm


def _labels_run(shape=(10, 10, 10), n_vols=6, affine=None):
    """A 4-D run where voxel values are known, and a 2-label atlas on the same grid."""
    rng = np.random.RandomState(0)
    data = rng.rand(*shape, n_vols).astype(np.float32) + 1
    labels = np.zeros(shape, np.int16)
    labels[:5, :, :] = 1
    labels[5:8, :5, :] = 2
    affine = np.diag([2.0, 2.0, 2.0, 1.0]) if affine is None else affine
    return nib.Nifti1Image(data, affine), nib.Nifti1Image(labels, affine), data, labels


def test_label_atlas_means_exact():
    run, atlas, data, labels = _labels_run()
    p = Parcellate(atlas).fit(run)
    signals = p.transform(run)
    expected = np.stack([data[labels == k].mean(0) for k in (1, 2)], axis=1)
    np.testing.assert_allclose(signals, expected, rtol=1e-5)
    assert p.n_parcels_ == 2 and "no resampling" in p.resampling_
    assert list(p.get_feature_names_out()) == ["label_1", "label_2"]
    clone(p)  # sklearn contract


def test_resampling_is_stated(caplog):
    run, atlas, _, _ = _labels_run()
    coarse = nib.Nifti1Image(np.asarray(atlas.dataobj)[::2, ::2, ::2], np.diag([4.0, 4, 4, 1]))
    with caplog.at_level("INFO", logger="neuroaffect.fmri.parcels"):
        p = Parcellate(coarse).fit(run)
    assert p.resampling_.startswith("data (shape (10, 10, 10), voxels 2x2x2 mm) resampled to the atlas grid")
    assert "resampled" in caplog.text
    assert p.transform(run).shape == (6, 2)
    p = Parcellate(coarse, resampling_target="data").fit(run)
    assert p.resampling_.startswith("atlas (shape (5, 5, 5), voxels 4x4x4 mm) resampled to the data grid")


def test_atlas_that_does_not_overlap():
    run, atlas, _, _ = _labels_run()
    far = np.diag([2.0, 2, 2, 1])
    far[:3, 3] = 500.0
    with pytest.raises(ValueError, match="does not overlap the data"):
        Parcellate(nib.Nifti1Image(np.asarray(atlas.dataobj), far)).fit(run)
    # an image far from MNI space: no coordinate-atlas seed in its field of view
    with pytest.raises(ValueError, match="dosenbach160 atlas does not overlap the data"):
        Parcellate("dosenbach160").fit(nib.Nifti1Image(np.asarray(run.dataobj), far))


def test_unknown_atlas_name():
    run, _, _, _ = _labels_run()
    with pytest.raises(ValueError, match="'atlas'"):
        Parcellate("schaefer").fit(run)


def test_spheres_on_mni_grid_and_ward_fit_on_training_only():
    from nilearn.datasets import load_mni152_brain_mask

    mask = load_mni152_brain_mask(resolution=6)
    rng = np.random.RandomState(0)
    data = (rng.rand(*mask.shape, 8) * mask.get_fdata()[..., None]).astype(np.float32)
    run = nib.Nifti1Image(data, mask.affine)
    p = Parcellate("dosenbach160", mask_img=mask).fit(run)
    assert p.transform(run).shape == (8, 160)
    train, test = run.slicer[..., :5], run.slicer[..., 5:]
    ward = Parcellate("ward", n_parcels=20, mask_img=mask).fit(train)
    assert ward.n_parcels_ == 20
    assert "fitted on 1 training image" in ward.resampling_
    assert ward.transform(test).shape == (3, 20)


@pytest.mark.parametrize("resolution,atlas,masked", [(6, "seitzman300", False), (6, "power264", True),
                                                     (6, "dosenbach160", False), (4, "seitzman300", True)])
def test_fast_sphere_means_equal_nilearn_masker(resolution, atlas, masked):
    from nilearn.datasets import load_mni152_brain_mask

    mask = load_mni152_brain_mask(resolution=resolution)
    data = np.random.RandomState(1).rand(*mask.shape, 3).astype(np.float32)
    run = nib.Nifti1Image(data, mask.affine)
    p = Parcellate(atlas, mask_img=mask if masked else None).fit(run)
    np.testing.assert_allclose(p.transform(run), p._masker_transform(run), rtol=1e-5, atol=1e-6)


def test_probabilistic_maps_atlas():
    run, atlas, data, labels = _labels_run()
    maps = np.stack([(labels == k).astype(np.float32) for k in (1, 2)], axis=-1)
    p = Parcellate(nib.Nifti1Image(maps, atlas.affine)).fit(run)
    signals = p.transform(run)
    assert signals.shape == (6, 2) and p.parcel_names_ == ["map_0", "map_1"]
    # binary maps: the regression onto disjoint maps gives each region's mean
    expected = np.stack([data[labels == k].mean(0) for k in (1, 2)], axis=1)
    np.testing.assert_allclose(signals, expected, rtol=1e-4)


def _mni_run(resolution=6, n_vols=4, seed=0):
    from nilearn.datasets import load_mni152_brain_mask

    mask = load_mni152_brain_mask(resolution=resolution)
    data = np.random.RandomState(seed).rand(*mask.shape, n_vols).astype(np.float32) + 1
    return nib.Nifti1Image(data, mask.affine)


def test_refit_after_set_params_uses_the_new_spheres():
    from nilearn.maskers import NiftiSpheresMasker

    run = _mni_run()
    p = Parcellate("dosenbach160").fit(run)
    small = p.transform(run)  # fills the voxel cache for 5 mm spheres
    p.set_params(radius=12.0).fit(run)
    big = p.transform(run)
    ref = NiftiSpheresMasker(p.seeds_.tolist(), radius=12.0, allow_overlap=True).fit().transform(run)
    np.testing.assert_allclose(big, ref, rtol=1e-5, atol=1e-6)
    assert not np.allclose(big, small)
    p.set_params(atlas="power264", radius=None).fit(run)
    assert p.transform(run).shape == (4, p.n_parcels_) and p.n_parcels_ > 200


def test_list_transform_passes_each_images_confounds():
    run = _mni_run(n_vols=6)
    conf = np.random.RandomState(1).rand(6, 2)
    p = Parcellate("dosenbach160").fit(run)
    single = p.transform(run, confounds=conf)
    both = p.transform([run, run], confounds=[conf, None])
    np.testing.assert_allclose(both[0], single)
    np.testing.assert_allclose(both[1], p.transform(run))
    assert not np.allclose(both[0], both[1])
    with pytest.raises(ValueError, match="one entry .* per image for a list of 2 images, got a list of 1"):
        p.transform([run, run], confounds=[conf])
    with pytest.raises(ValueError, match="per image for a list of 2 images, got ndarray"):
        p.transform([run, run], confounds=conf)


def test_seeds_outside_the_field_of_view_are_dropped_by_name():
    run = _mni_run()
    crop = run.slicer[:, :, 18:]  # upper brain only: z from 36 mm on a 6 mm grid
    crop = nib.Nifti1Image(np.asarray(crop.dataobj), crop.affine)
    with pytest.warns(UserWarning, match=r"dosenbach160 seeds have no voxel within 5 mm .* dropped: \['inf cerebellum"):
        p = Parcellate("dosenbach160").fit(crop)
    assert not any("cerebellum" in n for n in p.parcel_names_)
    # every kept seed is within the radius of the image (the old test allowed radius / 2 *voxels*)
    assert p.seeds_[:, 2].min() >= crop.affine[2, 3] - 5.0
    signals = p.transform(crop)
    assert signals.shape == (4, p.n_parcels_)
    np.testing.assert_allclose(signals, p._masker_transform(crop), rtol=1e-5, atol=1e-6)
