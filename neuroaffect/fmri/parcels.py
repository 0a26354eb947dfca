"""Parcel signals from fMRI images: one scikit-learn transformer over nilearn's maskers.

Atlases that work offline: the coordinate atlases shipped inside nilearn (Seitzman 2018, 300 ROIs;
Power 2011, 264; Dosenbach 2010, 160: spheres through ``NiftiSpheresMasker``), a user's label image
(``NiftiLabelsMasker``) or probabilistic 4-D atlas (``NiftiMapsMasker``), or a data-driven
parcellation fitted on training images only (``nilearn.regions.Parcellations``).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import check_finite, check_option, check_positive

logger = logging.getLogger(__name__)

COORD_ATLASES = ("seitzman300", "power264", "dosenbach160")
DATA_DRIVEN = ("ward", "kmeans", "rena", "hierarchical_kmeans")


def coordinate_atlas(name: str) -> tuple[np.ndarray, list[str], float]:
    """Seeds (n_rois, 3) in MNI mm, ROI labels and the sphere radius (mm) of a shipped atlas.

    Read from the copies inside nilearn's wheel (no download).
    """
    check_option("atlas", name, COORD_ATLASES)
    from nilearn import datasets

    if name == "seitzman300":
        b = datasets.fetch_coords_seitzman_2018()
        seeds = np.asarray(b.rois, dtype=float)
        labels = [f"{net}_{i}" for i, net in enumerate(np.asarray(b.networks))]
        return seeds, labels, float(np.asarray(b.radius)[0])
    if name == "power264":
        b = datasets.fetch_coords_power_2011()
        seeds = b.rois[["x", "y", "z"]].to_numpy(float)
        return seeds, [f"power_{r}" for r in b.rois["roi"]], 5.0
    b = datasets.fetch_coords_dosenbach_2010()
    return b.rois[["x", "y", "z"]].to_numpy(float), [str(lab) for lab in b.labels], 5.0


def _grid(img) -> str:
    zooms = img.header.get_zooms()[:3]
    return f"shape {img.shape[:3]}, voxels {'x'.join(f'{z:g}' for z in zooms)} mm"


def sphere_voxels(seeds, shape, affine, radius, mask=None) -> list[np.ndarray]:
    """Flat (C-order) voxel indices of each seed's sphere, by ``NiftiSpheresMasker``'s rule.

    A voxel belongs to a sphere if its centre lies within ``radius`` mm of the seed; the voxel
    nearest the seed and the first voxel whose truncated world coordinates equal the seed's are
    added too (so small spheres on coarse grids are never empty). ``mask`` (bool, ``shape``)
    restricts the candidates.
    """
    from scipy.spatial import cKDTree

    shape = tuple(int(n) for n in shape)
    cand = np.arange(int(np.prod(shape))) if mask is None else np.flatnonzero(np.asarray(mask).ravel())
    ijk = np.column_stack(np.unravel_index(cand, shape))
    xyz = ijk @ affine[:3, :3].T + affine[:3, 3]
    tree = cKDTree(xyz)
    inv = np.linalg.inv(affine)
    reach = radius + float(np.linalg.norm(affine[:3, :3].sum(1))) + 1.0
    members = []
    for seed in np.asarray(seeds, dtype=float):
        found = set(tree.query_ball_point(seed, radius))
        near = np.round(inv[:3, :3] @ seed + inv[:3, 3]).astype(int)
        if np.all((near >= 0) & (near < shape)):
            pos = np.searchsorted(cand, np.ravel_multi_index(tuple(near), shape))
            if pos < len(cand) and cand[pos] == np.ravel_multi_index(tuple(near), shape):
                found.add(int(pos))
        close = np.asarray(sorted(tree.query_ball_point(seed, reach)), dtype=int)
        if close.size:
            same = np.all(xyz[close].astype(int) == seed.astype(int), axis=1)
            if same.any():
                found.add(int(close[np.argmax(same)]))
        members.append(cand[np.asarray(sorted(found), dtype=int)])
    return members


class Parcellate(TransformerMixin, BaseEstimator):
    """Average fMRI signals within parcels: 4-D image -> (n_volumes, n_parcels).

    Parameters
    ----------
    atlas : {"seitzman300", "power264", "dosenbach160", "ward", "kmeans", "rena", \
"hierarchical_kmeans"} or niimg-like
        A shipped coordinate atlas (spheres of ``radius`` mm), a data-driven method (fitted on
        the images passed to :meth:`fit`, which must be training data only), or a user's atlas
        image: 3-D integer labels (0 = background) or 4-D probabilistic maps.
    n_parcels : int, optional
        Number of parcels of a data-driven parcellation (default 100).
    radius : float, optional
        Sphere radius in mm for coordinate atlases (default: the atlas' own, 5 mm).
    mask_img : niimg-like, optional
        Brain mask restricting the voxels used.
    resampling_target : {"labels", "data"}
        For atlas images: which grid both are brought to. ``"labels"`` (default) resamples the data
        to the atlas (label image or probabilistic maps); ``"data"`` the atlas to the data. What was resampled is logged and stored in
        ``resampling_``.
    standardize : {None, "zscore_sample", "psc"}
        Signal scaling applied by the masker.
    smoothing_fwhm : float, optional
        Spatial smoothing in mm before extraction.
    random_state : int, optional
        Seed of data-driven parcellations.

    Attributes
    ----------
    masker_ : nilearn masker
        The fitted masker.
    n_parcels_ : int
    parcel_names_ : list of str
    seeds_ : ndarray, shape (n_parcels, 3) or None
        Sphere centres in mm for coordinate atlases.
    resampling_ : str
        Which image was resampled to which grid (or that none was).

    Examples
    --------
    >>> p = Parcellate("dosenbach160")  # doctest: +SKIP
    >>> signals = p.fit_transform("sub-01_task-x_bold.nii.gz")  # (n_volumes, 160)  # doctest: +SKIP
    """

    def __init__(self, atlas="seitzman300", n_parcels=None, radius=None, mask_img=None,
                 resampling_target="labels", standardize=None, smoothing_fwhm=None,
                 random_state=0):
        self.atlas = atlas
        self.n_parcels = n_parcels
        self.radius = radius
        self.mask_img = mask_img
        self.resampling_target = resampling_target
        self.standardize = standardize
        self.smoothing_fwhm = smoothing_fwhm
        self.random_state = random_state

    def fit(self, imgs, y=None):
        """Build the masker; fit a data-driven parcellation on ``imgs`` (training images only).

        Parameters
        ----------
        imgs : niimg-like or list of niimg-like
            4-D run(s) (paths or images). Their grid is used to check the atlas overlaps them.
        """
        from .io import load_image

        check_option("resampling_target", self.resampling_target, ("labels", "data"))
        check_option("standardize", self.standardize, (None, "zscore_sample", "psc"))
        imgs_list = imgs if isinstance(imgs, list | tuple) else [imgs]
        if not imgs_list:
            raise ValueError("Parcellate.fit needs at least one image.")
        ref = load_image(imgs_list[0], ndim=4, what="fMRI run")
        self.seeds_ = None
        self.__dict__.pop("_sphere_cache", None)  # voxel lists of a previous fit (other seeds/radius/mask)
        common = dict(standardize=self.standardize, smoothing_fwhm=self.smoothing_fwhm)
        if isinstance(self.atlas, str) and self.atlas in COORD_ATLASES:
            self._fit_spheres(ref, common)
        elif isinstance(self.atlas, str) and self.atlas in DATA_DRIVEN:
            self._fit_data_driven([load_image(i, ndim=4, what="fMRI run") for i in imgs_list], common)
        elif isinstance(self.atlas, str) and not self.atlas.endswith((".nii", ".nii.gz", ".img", ".hdr")):
            check_option("atlas", self.atlas, COORD_ATLASES + DATA_DRIVEN + ("<path to an atlas image>",))
        else:
            self._fit_image_atlas(ref, common)
        logger.info("Parcellate(%s): %s", self._atlas_name(), self.resampling_)
        return self

    def _atlas_name(self) -> str:
        return self.atlas if isinstance(self.atlas, str) else type(self.atlas).__name__

    def _fit_spheres(self, ref, common):
        from nilearn.maskers import NiftiSpheresMasker

        seeds, names, radius = coordinate_atlas(self.atlas)
        if self.radius is not None:
            radius = check_positive("radius", self.radius)
        # a seed is usable when its sphere (NiftiSpheresMasker's rule, in mm) has a voxel in the
        # image's field of view and in mask_img
        mask = self._mask_on(ref)
        members = sphere_voxels(seeds, ref.shape[:3], ref.affine, radius, mask)
        inside = np.array([len(m) > 0 for m in members])
        if not inside.any():
            raise ValueError(
                f"The {self.atlas} atlas does not overlap the data: none of its {len(seeds)} MNI seeds "
                f"has a voxel within {radius:g} mm in the image's field of view ({_grid(ref)})"
                + (" and mask_img" if mask is not None else "") + "; expected an image in MNI space."
            )
        if not inside.all():
            dropped = [n for n, keep in zip(names, inside, strict=True) if not keep]
            warnings.warn(f"{len(dropped)} of {len(seeds)} {self.atlas} seeds have no voxel within {radius:g} mm "
                          f"in the image's field of view ({_grid(ref)})"
                          + (" and mask_img" if mask is not None else "")
                          + f" and are dropped: {dropped[:10]}{' ...' if len(dropped) > 10 else ''}.",
                          stacklevel=3)
        self.seeds_ = seeds[inside]
        self.parcel_names_ = [n for n, keep in zip(names, inside, strict=True) if keep]
        # neighbouring ROIs (>= 10 mm apart) can share a boundary voxel on fine grids
        self.masker_ = NiftiSpheresMasker(self.seeds_.tolist(), radius=radius, mask_img=self.mask_img,
                                          allow_overlap=True, **common).fit()
        self.n_parcels_ = len(self.seeds_)
        self._cache_spheres(ref, [m for m, keep in zip(members, inside, strict=True) if keep])
        self.resampling_ = (f"no resampling: {self.n_parcels_} spheres of {radius:g} mm evaluated in "
                            f"the data's own grid ({_grid(ref)})")

    def _fit_data_driven(self, imgs, common):
        from nilearn.regions import Parcellations

        n = 100 if self.n_parcels is None else int(self.n_parcels)
        total = sum(i.shape[3] for i in imgs)
        if total < 2:
            raise ValueError(f"A {self.atlas} parcellation needs at least 2 volumes to fit, got {total}.")
        smoothing = self.smoothing_fwhm
        self.masker_ = Parcellations(
            self.atlas, n_parcels=n, mask=self.mask_img, random_state=self.random_state,
            smoothing_fwhm=smoothing, standardize=self.standardize, verbose=0,
        ).fit(imgs)
        labels = np.unique(self.masker_.labels_img_.get_fdata())
        self.n_parcels_ = int((labels != 0).sum())
        self.parcel_names_ = [f"{self.atlas}_{i}" for i in range(self.n_parcels_)]
        self.resampling_ = (f"no resampling: {self.atlas} parcellation with {self.n_parcels_} parcels "
                            f"fitted on {len(imgs)} training image(s) in their grid ({_grid(imgs[0])})")

    def _fit_image_atlas(self, ref, common):
        from nilearn.image import resample_to_img
        from nilearn.maskers import NiftiLabelsMasker, NiftiMapsMasker

        from .io import load_image

        atlas = load_image(self.atlas, ndim=None, what="atlas")
        if atlas.ndim == 3:
            data = np.asarray(atlas.dataobj)
            if not np.allclose(data, np.round(data)):
                raise ValueError(f"atlas image {self.atlas!r} is 3-D but not integer labels; pass a 4-D "
                                 "image for probabilistic maps.")
            labels = np.unique(data[data != 0]).astype(int)
            on_data = resample_to_img(atlas, ref, interpolation="nearest", force_resample=True,
                                      copy_header=True)
            present = np.unique(np.asarray(on_data.dataobj))
            if not np.isin(labels, present).any():
                raise ValueError(f"atlas {self.atlas!r} does not overlap the data ({_grid(ref)}): no label "
                                 "has a voxel in the data's field of view; expected both in the same space.")
            self.masker_ = NiftiLabelsMasker(atlas, mask_img=self.mask_img, keep_masked_labels=False,
                                             resampling_target=self.resampling_target, **common).fit()
            self.parcel_names_ = [f"label_{v}" for v in labels]
        else:
            target = "maps" if self.resampling_target == "labels" else "data"
            self.masker_ = NiftiMapsMasker(atlas, mask_img=self.mask_img, resampling_target=target,
                                           **common).fit()
            self.parcel_names_ = [f"map_{i}" for i in range(atlas.shape[3])]
        self.n_parcels_ = len(self.parcel_names_)
        if atlas.shape[:3] == ref.shape[:3] and np.allclose(atlas.affine, ref.affine):
            self.resampling_ = f"no resampling: atlas and data share one grid ({_grid(ref)})"
        elif self.resampling_target == "labels":
            self.resampling_ = f"data ({_grid(ref)}) resampled to the atlas grid ({_grid(atlas)})"
        else:
            self.resampling_ = f"atlas ({_grid(atlas)}) resampled to the data grid ({_grid(ref)})"

    def transform(self, imgs, confounds=None):
        """Parcel signals of one 4-D image (or a list of them).

        Parameters
        ----------
        imgs : niimg-like or list of niimg-like
            4-D run(s).
        confounds : ndarray, shape (n_volumes, n_confounds), or a list of them, optional
            Regressed out by the nilearn masker. For a list of images, a list with one entry
            (array or None) per image.

        Returns
        -------
        signals : ndarray, shape (n_volumes, n_parcels), or a list of them for a list input.
        """
        check_is_fitted(self, "masker_")
        from .io import load_image

        if isinstance(imgs, list | tuple):
            if confounds is None:
                confounds = [None] * len(imgs)
            elif not isinstance(confounds, list | tuple) or len(confounds) != len(imgs):
                got = f"a list of {len(confounds)}" if isinstance(confounds, list | tuple) else type(confounds).__name__
                raise ValueError(f"Parcellate.transform: confounds must be a list with one entry (array or None) "
                                 f"per image for a list of {len(imgs)} images, got {got}.")
            return [self.transform(i, c) for i, c in zip(imgs, confounds, strict=True)]
        img = load_image(imgs, ndim=4, what="fMRI run")
        if self.seeds_ is not None and confounds is None and self.standardize is None and not self.smoothing_fwhm:
            signals = self._sphere_means(img)
        else:
            signals = self._masker_transform(img, confounds)
        if signals.shape[1] != self.n_parcels_:
            raise ValueError(
                f"{self._atlas_name()}: {self.n_parcels_ - signals.shape[1]} parcel(s) have no voxel in "
                f"this image ({_grid(img)}); expected every parcel to overlap the data."
            )
        where = getattr(img, "get_filename", lambda: None)() or "image"
        return check_finite(signals, f"parcel signals of {where}")

    def _masker_transform(self, img, confounds=None):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=FutureWarning)
            signals = self.masker_.transform(img, confounds=confounds)
        return np.asarray(signals, dtype=float)

    def _mask_on(self, img):
        """``mask_img`` as a boolean array on ``img``'s grid, or None."""
        if self.mask_img is None:
            return None
        from nilearn.image import resample_to_img

        from .io import load_image

        mask = load_image(self.mask_img, ndim=3, what="mask_img")
        ref = img.slicer[..., 0] if img.ndim == 4 else img
        return np.asarray(resample_to_img(mask, ref, interpolation="nearest", force_resample=True,
                                          copy_header=True).dataobj) != 0

    def _cache_key(self, img):
        return (img.shape[:3], img.affine.tobytes(), self.seeds_.tobytes(), float(self.masker_.radius))

    def _cache_spheres(self, img, members):
        from scipy.sparse import csr_matrix

        union, inverse = np.unique(np.concatenate(members), return_inverse=True)
        rows = np.repeat(np.arange(len(members)), [len(m) for m in members])
        weights = np.concatenate([np.full(len(m), 1.0 / len(m)) for m in members])
        cache = self.__dict__.setdefault("_sphere_cache", {})
        cache.clear()
        cache[self._cache_key(img)] = (union, csr_matrix((weights, (rows, inverse)),
                                                         shape=(len(members), len(union))))

    def _sphere_means(self, img):
        """Sphere means as ``NiftiSpheresMasker`` defines them, with the voxel lists computed once
        per grid (nilearn searches Python lists of all voxels for every seed on every call).

        The cache is keyed by grid, seeds and radius and emptied by :meth:`fit`.
        """
        key = self._cache_key(img)
        cache = self.__dict__.get("_sphere_cache", {})
        if key not in cache:
            members = sphere_voxels(self.seeds_, img.shape[:3], img.affine, self.masker_.radius,
                                    self._mask_on(img))
            if any(len(m) == 0 for m in members):
                return self._masker_transform(img)  # nilearn raises its "empty spheres" error
            self._cache_spheres(img, members)
            cache = self.__dict__["_sphere_cache"]
        union, W = cache[key]
        ijk = np.unravel_index(union, img.shape[:3])  # index the 4-D array: no copy of F-ordered data
        return np.asarray(W @ np.asarray(img.dataobj)[ijk].astype(float)).T

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "masker_")
        return np.asarray(self.parcel_names_, dtype=object)
