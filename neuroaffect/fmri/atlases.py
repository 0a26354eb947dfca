"""Atlas geometry for :class:`~neuroaffect.fmri.Parcellate`: shipped coordinate atlases and spheres.

:func:`coordinate_atlas` reads the coordinate atlases shipped inside nilearn (Seitzman 2018, 300
ROIs of 4 or 5 mm; Power 2011, 264; Dosenbach 2010, 160); :func:`sphere_voxels` finds each seed's
sphere by ``NiftiSpheresMasker``'s rule and :class:`SpheresMasker` extracts spheres of several
radii; the centroid helpers place the parcels of label and probabilistic atlases.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_option

COORD_ATLASES = ("seitzman300", "power264", "dosenbach160")


def coordinate_atlas(name: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Seeds (n_rois, 3) in MNI mm, ROI labels and each ROI's sphere radius (n_rois,) in mm.

    Read from the copies inside nilearn's wheel (no download). Seitzman 2018 gives each ROI its
    own radius (4 or 5 mm); Power 2011 and Dosenbach 2010 use 5 mm spheres.
    """
    check_option("atlas", name, COORD_ATLASES)
    from nilearn import datasets

    if name == "seitzman300":
        b = datasets.fetch_coords_seitzman_2018()
        seeds = np.asarray(b.rois, dtype=float)
        labels = [f"{net}_{i}" for i, net in enumerate(np.asarray(b.networks))]
        radii = np.asarray(b.radius, dtype=float).ravel()
        if radii.size == 1:
            radii = np.full(len(seeds), float(radii[0]))
        return seeds, labels, radii
    if name == "power264":
        b = datasets.fetch_coords_power_2011()
        seeds = b.rois[["x", "y", "z"]].to_numpy(float)
        return seeds, [f"power_{r}" for r in b.rois["roi"]], np.full(len(seeds), 5.0)
    b = datasets.fetch_coords_dosenbach_2010()
    seeds = b.rois[["x", "y", "z"]].to_numpy(float)
    return seeds, [str(lab) for lab in b.labels], np.full(len(seeds), 5.0)


def _radii_text(radii) -> str:
    values = np.unique(radii)
    if len(values) == 1:
        return f"{values[0]:g} mm"
    counts = [int((radii == v).sum()) for v in values]
    return "own radii (" + ", ".join(f"{c} of {v:g} mm" for c, v in zip(counts, values, strict=True)) + ")"


def sphere_voxels(seeds, shape, affine, radius, mask=None) -> list[np.ndarray]:
    """Flat (C-order) voxel indices of each seed's sphere, by ``NiftiSpheresMasker``'s rule.

    A voxel belongs to a sphere if its centre lies within ``radius`` mm of the seed (``radius``: one
    value, or one per seed); the voxel nearest the seed and the first voxel whose truncated world
    coordinates equal the seed's are added too (so small spheres on coarse grids are never empty).
    ``mask`` (bool, ``shape``) restricts the candidates.
    """
    from scipy.spatial import cKDTree

    seeds = np.asarray(seeds, dtype=float)
    radii = np.broadcast_to(np.asarray(radius, dtype=float), (len(seeds),))
    shape = tuple(int(n) for n in shape)
    cand = np.arange(int(np.prod(shape))) if mask is None else np.flatnonzero(np.asarray(mask).ravel())
    ijk = np.column_stack(np.unravel_index(cand, shape))
    xyz = ijk @ affine[:3, :3].T + affine[:3, 3]
    tree = cKDTree(xyz)
    inv = np.linalg.inv(affine)
    extra = float(np.linalg.norm(affine[:3, :3].sum(1))) + 1.0
    members = []
    for seed, radius in zip(seeds, radii, strict=True):
        found = set(tree.query_ball_point(seed, radius))
        near = np.round(inv[:3, :3] @ seed + inv[:3, 3]).astype(int)
        if np.all((near >= 0) & (near < shape)):
            pos = np.searchsorted(cand, np.ravel_multi_index(tuple(near), shape))
            if pos < len(cand) and cand[pos] == np.ravel_multi_index(tuple(near), shape):
                found.add(int(pos))
        close = np.asarray(sorted(tree.query_ball_point(seed, radius + extra)), dtype=int)
        if close.size:
            same = np.all(xyz[close].astype(int) == seed.astype(int), axis=1)
            if same.any():
                found.add(int(close[np.argmax(same)]))
        members.append(cand[np.asarray(sorted(found), dtype=int)])
    return members


class SpheresMasker:
    """Spheres of several radii: one ``NiftiSpheresMasker`` per radius, columns in seed order.

    nilearn's masker takes one radius; atlases whose ROIs have their own radii (Seitzman 2018) are
    extracted by one masker per distinct radius, and the columns put back in seed order.

    Parameters
    ----------
    seeds : ndarray, shape (n_seeds, 3)
        MNI mm.
    radii : ndarray, shape (n_seeds,)
        mm.
    **kwargs
        Passed to every ``NiftiSpheresMasker`` (``mask_img``, ``standardize``, ``smoothing_fwhm``).
    """

    def __init__(self, seeds, radii, **kwargs):
        from nilearn.maskers import NiftiSpheresMasker

        self.seeds = np.asarray(seeds, dtype=float)
        self.radii = np.asarray(radii, dtype=float)
        self.groups = []
        for r in np.unique(self.radii):
            idx = np.flatnonzero(self.radii == r)
            # neighbouring ROIs (>= 10 mm apart) can share a boundary voxel on fine grids
            masker = NiftiSpheresMasker(self.seeds[idx].tolist(), radius=float(r), allow_overlap=True, **kwargs)
            self.groups.append((idx, masker.fit()))

    def transform(self, img, confounds=None) -> np.ndarray:
        out = None
        for idx, masker in self.groups:
            part = np.asarray(masker.transform(img, confounds=confounds), dtype=float)
            if out is None:
                out = np.empty((len(part), len(self.seeds)))
            out[:, idx] = part
        return out


def _label_centroids(labels_img, values) -> np.ndarray:
    """World-space centroid (mm) of each label's voxels."""
    lab = np.asarray(labels_img.dataobj)
    out = np.empty((len(values), 3))
    for k, v in enumerate(values):
        ijk = np.argwhere(lab == v).mean(0)
        out[k] = labels_img.affine[:3, :3] @ ijk + labels_img.affine[:3, 3]
    return out


def _map_centroids(maps_img) -> np.ndarray:
    """World-space centroid (mm) of each probabilistic map, weighted by its positive values."""
    data = np.clip(np.nan_to_num(np.asarray(maps_img.dataobj, dtype=float)), 0, None)
    grid = np.indices(maps_img.shape[:3]).reshape(3, -1).T
    out = np.empty((maps_img.shape[3], 3))
    for k in range(maps_img.shape[3]):
        w = data[..., k].ravel()
        ijk = (grid * w[:, None]).sum(0) / w.sum() if w.sum() > 0 else np.full(3, np.nan)
        out[k] = maps_img.affine[:3, :3] @ ijk + maps_img.affine[:3, 3]
    return out
