"""Parcel signals from fMRI images: one scikit-learn transformer over nilearn's maskers.

Atlases that work offline: the coordinate atlases shipped inside nilearn (Seitzman 2018, 300 ROIs
of 4 or 5 mm; Power 2011, 264; Dosenbach 2010, 160: spheres as ``NiftiSpheresMasker`` defines them),
a user's label image (``NiftiLabelsMasker``) or probabilistic 4-D atlas (``NiftiMapsMasker``), or a
data-driven parcellation fitted on training images only (``nilearn.regions.Parcellations``).

Inputs follow nilearn's conventions: a 4-D run gives one row per volume, a 3-D map (a contrast,
beta or statistic image) one row, and a list of 3-D maps one row per map. NaN/inf voxels of maps
(SPM writes NaN outside the brain) are left out of the parcel averages.
"""

from __future__ import annotations

import logging
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._validation import check_finite, check_option
from .atlases import (
    COORD_ATLASES,
    SpheresMasker,
    _label_centroids,
    _map_centroids,
    _radii_text,
    coordinate_atlas,
    sphere_voxels,
)

logger = logging.getLogger(__name__)

DATA_DRIVEN = ("ward", "kmeans", "rena", "hierarchical_kmeans")


def _grid(img) -> str:
    zooms = img.header.get_zooms()[:3]
    return f"shape {img.shape[:3]}, voxels {'x'.join(f'{z:g}' for z in zooms)} mm"


def _same_grid(a, b) -> bool:
    return a.shape[:3] == b.shape[:3] and np.allclose(a.affine, b.affine)


class Parcellate(TransformerMixin, BaseEstimator):
    """Average fMRI signals within parcels: 4-D run -> (n_volumes, n_parcels); 3-D maps -> one row each.

    Parameters
    ----------
    atlas : {"seitzman300", "power264", "dosenbach160", "ward", "kmeans", "rena", \
"hierarchical_kmeans"} or niimg-like
        A shipped coordinate atlas (spheres: Seitzman's ROIs with their own 4 or 5 mm radii, Power's
        and Dosenbach's of 5 mm), a data-driven method (fitted on the images passed to :meth:`fit`,
        which must be training data only), or a user's atlas image: 3-D integer labels
        (0 = background; a 4-D image with one volume of integers is read as labels too, as SPM and
        Analyze atlases store them) or 4-D probabilistic maps.
    n_parcels : int, optional
        Number of parcels of a data-driven parcellation (default 100).
    radius : float, optional
        Sphere radius in mm for every ROI of a coordinate atlas (default: the atlas' own radii).
    mask_img : niimg-like, optional
        Brain mask restricting the voxels used.
    resampling_target : {"labels", "data"}
        For atlas images: which grid both are brought to. ``"labels"`` (default) resamples the data
        to the atlas (label image or probabilistic maps); ``"data"`` the atlas to the data. What was
        resampled is logged and stored in ``resampling_``.
    standardize : {None, "zscore_sample", "psc"}
        Signal scaling applied by the masker (4-D runs only).
    smoothing_fwhm : float, optional
        Spatial smoothing in mm before extraction (4-D runs only).
    random_state : int, optional
        Seed of data-driven parcellations.

    Attributes
    ----------
    masker_ : nilearn masker or SpheresMasker
        The fitted masker (runs with confounds, ``standardize`` or smoothing go through it).
    n_parcels_ : int
    parcel_names_ : list of str
    coords_ : ndarray, shape (n_parcels, 3)
        Parcel positions in the atlas' world space (MNI mm for MNI atlases): the seeds of a
        coordinate atlas, otherwise the centroids of the labels (weighted by the map for
        probabilistic maps).
    seeds_ : ndarray, shape (n_parcels, 3) or None
        Sphere centres in mm for coordinate atlases.
    radii_ : ndarray, shape (n_parcels,) or None
        Sphere radii in mm for coordinate atlases.
    resampling_ : str
        Which image was resampled to which grid (or that none was), the axis codes (orientation) of
        the data and the atlas, and the mask used.

    Examples
    --------
    >>> p = Parcellate("dosenbach160")  # doctest: +SKIP
    >>> signals = p.fit_transform("sub-01_task-x_bold.nii.gz")  # (n_volumes, 160)  # doctest: +SKIP
    >>> rows = p.fit_transform(["sub-01_con.nii", "sub-02_con.nii"])  # (2, 160): one per map  # doctest: +SKIP
    """

    _parameter_constraints: dict = {
        "atlas": "no_validation",  # a name, a path or an image: checked in fit
        "n_parcels": [Interval(Integral, 1, None, closed="left"), None],
        "radius": [Interval(Real, 0, None, closed="neither"), None],
        "mask_img": "no_validation",  # niimg-like
        "resampling_target": [StrOptions({"labels", "data"})],
        "standardize": [StrOptions({"zscore_sample", "psc"}), None],
        "smoothing_fwhm": [Interval(Real, 0, None, closed="left"), None],
        "random_state": ["random_state"],
    }

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

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, imgs, y=None):
        """Build the masker; fit a data-driven parcellation on ``imgs`` (training images only).

        Parameters
        ----------
        imgs : niimg-like or list of niimg-like
            4-D run(s) or 3-D map(s) (paths or images). Their grid is used to check the atlas
            overlaps them.
        """
        imgs_list = list(imgs) if isinstance(imgs, list | tuple) else [imgs]
        if not imgs_list:
            raise ValueError("Parcellate.fit needs at least one image.")
        ref = _load_any(imgs_list[0])
        self.seeds_ = self.radii_ = None
        self._labels_img = self._maps_img = None
        for cache in ("_sphere_cache", "_map_ops"):  # operators of a previous fit (other atlas/mask)
            self.__dict__.pop(cache, None)
        common = dict(standardize=self.standardize, smoothing_fwhm=self.smoothing_fwhm)
        if isinstance(self.atlas, str) and self.atlas in COORD_ATLASES:
            self._fit_spheres(ref, common)
        elif isinstance(self.atlas, str) and self.atlas in DATA_DRIVEN:
            self._fit_data_driven([ref] + [_load_any(i) for i in imgs_list[1:]], common)
        elif isinstance(self.atlas, str) and not self.atlas.endswith((".nii", ".nii.gz", ".img", ".hdr")):
            check_option("atlas", self.atlas, COORD_ATLASES + DATA_DRIVEN + ("<path to an atlas image>",))
        else:
            self._fit_image_atlas(ref, common)
        self.resampling_ += self._orientation_and_mask(ref)
        logger.info("Parcellate(%s): %s", self._atlas_name(), self.resampling_)
        return self

    def _atlas_name(self) -> str:
        return self.atlas if isinstance(self.atlas, str) else type(self.atlas).__name__

    def _orientation_and_mask(self, ref) -> str:
        from .io import axis_codes

        text = f"; orientation: data axis codes {axis_codes(ref)}"
        atlas = self._labels_img if self._labels_img is not None else self._maps_img
        if self.seeds_ is not None:
            text += " (MNI seeds placed through the data's affine)"
        elif atlas is not None:
            text += f", atlas axis codes {axis_codes(atlas)}"
        if self.mask_img is None:
            return text + "; mask: none (every voxel of the field of view)"
        mask = self._mask_on(ref)
        return text + f"; mask: mask_img, {int(mask.sum())} voxels on the data grid"

    def _fit_spheres(self, ref, common):
        seeds, names, radii = coordinate_atlas(self.atlas)
        if self.radius is not None:
            radii = np.full(len(seeds), float(self.radius))
        # a seed is usable when its sphere (NiftiSpheresMasker's rule, in mm) has a voxel in the
        # image's field of view and in mask_img
        mask = self._mask_on(ref)
        members = sphere_voxels(seeds, ref.shape[:3], ref.affine, radii, mask)
        inside = np.array([len(m) > 0 for m in members])
        if not inside.any():
            raise ValueError(
                f"The {self.atlas} atlas does not overlap the data: none of its {len(seeds)} MNI seeds "
                f"has a voxel within {_radii_text(radii)} in the image's field of view ({_grid(ref)})"
                + (" and mask_img" if mask is not None else "") + "; expected an image in MNI space."
            )
        if not inside.all():
            dropped = [n for n, keep in zip(names, inside, strict=True) if not keep]
            warnings.warn(f"{len(dropped)} of {len(seeds)} {self.atlas} seeds have no voxel within "
                          f"{_radii_text(radii[~inside])} in the image's field of view ({_grid(ref)})"
                          + (" and mask_img" if mask is not None else "")
                          + f" and are dropped: {dropped[:10]}{' ...' if len(dropped) > 10 else ''}.",
                          stacklevel=3)
        self.seeds_ = seeds[inside]
        self.radii_ = radii[inside]
        self.coords_ = self.seeds_.copy()
        self.parcel_names_ = [n for n, keep in zip(names, inside, strict=True) if keep]
        self.masker_ = SpheresMasker(self.seeds_, self.radii_, mask_img=self.mask_img, **common)
        self.n_parcels_ = len(self.seeds_)
        self._cache_spheres(ref, [m for m, keep in zip(members, inside, strict=True) if keep])
        self.resampling_ = (f"no resampling: {self.n_parcels_} spheres of {_radii_text(self.radii_)} "
                            f"evaluated in the data's own grid ({_grid(ref)})")

    def _fit_data_driven(self, imgs, common):
        import nibabel as nib
        from nilearn.regions import Parcellations

        n = 100 if self.n_parcels is None else int(self.n_parcels)
        maps = [i for i in imgs if i.ndim == 3]
        if maps and len(maps) != len(imgs):
            raise ValueError("Parcellate.fit: a mix of 3-D maps and 4-D runs; expected one kind.")
        mask = self.mask_img
        if not maps:  # runs must be finite
            from .io import load_image

            imgs = [load_image(i, ndim=4, what="fMRI run") for i in imgs]
        else:  # maps: fit on their stack, within the voxels finite in every map (and mask_img)
            for m in maps[1:]:
                if not _same_grid(m, maps[0]):
                    raise ValueError(f"Parcellate.fit: the maps are on different grids ({_grid(maps[0])} and "
                                     f"{_grid(m)}); expected one grid for a {self.atlas} parcellation.")
            data = np.stack([np.asarray(m.dataobj, dtype=np.float32) for m in maps], axis=-1)
            finite = np.isfinite(data).all(-1)
            if self.mask_img is not None:
                finite &= self._mask_on(maps[0])
            mask = nib.Nifti1Image(finite.astype(np.uint8), maps[0].affine)
            imgs = [nib.Nifti1Image(np.where(np.isfinite(data), data, 0), maps[0].affine)]
        total = len(maps) if maps else sum(i.shape[3] for i in imgs)
        if total < 2:
            raise ValueError(f"A {self.atlas} parcellation needs at least 2 volumes or maps to fit, got {total}.")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=FutureWarning)
            self.masker_ = Parcellations(
                self.atlas, n_parcels=n, mask=mask, random_state=self.random_state,
                smoothing_fwhm=self.smoothing_fwhm, standardize=self.standardize, verbose=0,
            ).fit(imgs if not maps else imgs[0])
        self._labels_img = self.masker_.labels_img_
        labels = np.unique(np.asarray(self._labels_img.dataobj))
        labels = labels[labels != 0]
        self._label_values = labels.astype(int)
        self.n_parcels_ = len(labels)
        self.parcel_names_ = [f"{self.atlas}_{i}" for i in range(self.n_parcels_)]
        self.coords_ = _label_centroids(self._labels_img, self._label_values)
        what = f"{len(maps)} training map(s)" if maps else f"{len(imgs)} training image(s)"
        self.resampling_ = (f"no resampling: {self.atlas} parcellation with {self.n_parcels_} parcels "
                            f"fitted on {what} in their grid ({_grid(imgs[0])})")

    def _fit_image_atlas(self, ref, common):
        from nilearn.image import resample_to_img
        from nilearn.maskers import NiftiLabelsMasker, NiftiMapsMasker

        from .io import load_image

        name = self.atlas if isinstance(self.atlas, str) else f"in-memory {type(self.atlas).__name__}"
        atlas = load_image(self.atlas, ndim=None, what="atlas")
        data = np.asarray(atlas.dataobj)
        if atlas.ndim == 4 and atlas.shape[3] == 1 and np.allclose(data, np.round(data)):
            logger.info("atlas %s: 4-D with one volume of integers: read as a 3-D label image", name)
            atlas = atlas.slicer[..., 0]
            data = data[..., 0]
        if atlas.ndim == 3:
            if not np.allclose(data, np.round(data)):
                raise ValueError(f"atlas image {name!r} is 3-D but not integer labels; pass a 4-D "
                                 "image for probabilistic maps.")
            labels = np.unique(data[data != 0]).astype(int)
            if not len(labels):
                raise ValueError(f"atlas image {name!r} has no label (every voxel is 0); expected integer "
                                 "labels > 0 for the parcels.")
            ref3 = ref.slicer[..., 0] if ref.ndim == 4 else ref
            on_data = resample_to_img(atlas, ref3, interpolation="nearest", force_resample=True,
                                      copy_header=True)
            present = np.unique(np.asarray(on_data.dataobj))
            outside = labels[~np.isin(labels, present)]
            if len(outside) == len(labels):
                raise ValueError(f"atlas {name!r} does not overlap the data ({_grid(ref)}): no label "
                                 "has a voxel in the data's field of view; expected both in the same space.")
            if len(outside):
                raise ValueError(
                    f"atlas {name!r}: {len(outside)} of {len(labels)} label(s) lie outside the data's field "
                    f"of view ({_grid(ref)}): {outside[:10].tolist()}{' ...' if len(outside) > 10 else ''}; "
                    "their parcel signals would be all zeros. Expected every label inside the image "
                    "(crop the atlas, or pass a mask_img that excludes those labels).")
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=DeprecationWarning)
                self.masker_ = NiftiLabelsMasker(atlas, mask_img=self.mask_img, keep_masked_labels=False,
                                                 resampling_target=self.resampling_target, **common).fit()
            self._labels_img, self._label_values = atlas, labels
            self.parcel_names_ = [f"label_{v}" for v in labels]
            self.coords_ = _label_centroids(atlas, labels)
        else:
            self._check_maps_overlap(atlas, ref, name)
            target = "maps" if self.resampling_target == "labels" else "data"
            self.masker_ = NiftiMapsMasker(atlas, mask_img=self.mask_img, resampling_target=target,
                                           **common).fit()
            self._maps_img = atlas
            self.parcel_names_ = [f"map_{i}" for i in range(atlas.shape[3])]
            self.coords_ = _map_centroids(atlas)
        self.n_parcels_ = len(self.parcel_names_)
        if _same_grid(atlas, ref):
            self.resampling_ = f"no resampling: atlas and data share one grid ({_grid(ref)})"
        elif self.resampling_target == "labels":
            self.resampling_ = f"data ({_grid(ref)}) resampled to the atlas grid ({_grid(atlas)})"
        else:
            self.resampling_ = f"atlas ({_grid(atlas)}) resampled to the data grid ({_grid(ref)})"

    @staticmethod
    def _check_maps_overlap(atlas, ref, name):
        """Every probabilistic map must have weight inside the data's field of view."""
        from nilearn.image import resample_to_img

        ref3 = ref.slicer[..., 0] if ref.ndim == 4 else ref
        if _same_grid(atlas, ref3):
            on_data = np.asarray(atlas.dataobj)
        else:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Resampling binary images")
                on_data = np.asarray(resample_to_img(atlas, ref3, interpolation="linear", force_resample=True,
                                                     copy_header=True).dataobj)
        weight = np.abs(np.nan_to_num(on_data)).reshape(-1, atlas.shape[3]).sum(0)
        empty = np.flatnonzero(weight <= 0)
        if len(empty) == atlas.shape[3]:
            raise ValueError(f"probabilistic atlas {name!r} ({atlas.shape[3]} maps) does not overlap the data "
                             f"({_grid(ref)}): no map has weight in the data's field of view; expected both "
                             "in the same space.")
        if len(empty):
            raise ValueError(f"probabilistic atlas {name!r}: map(s) {empty[:10].tolist()} have no weight in the "
                             f"data's field of view ({_grid(ref)}); expected every map inside the image.")

    # ------------------------------------------------------------------ transform
    def transform(self, imgs, confounds=None):
        """Parcel signals of 4-D runs or parcel values of 3-D maps (nilearn's conventions).

        Parameters
        ----------
        imgs : niimg-like or list of niimg-like
            A 4-D run, a list of 4-D runs, a 3-D map, or a list of 3-D maps.
        confounds : ndarray, shape (n_volumes, n_confounds), or a list of them, optional
            Runs only: regressed out by the nilearn masker. For a list of runs, a list with one
            entry (array or None) per run.

        Returns
        -------
        ndarray
            ``(n_volumes, n_parcels)`` for a run, a list of them for a list of runs, ``(1,
            n_parcels)`` for one map and ``(n_maps, n_parcels)`` for a list of maps. Map values are
            the means of each parcel's finite voxels (least-squares weights for probabilistic
            maps); NaN/inf voxels are left out and their number logged.

        Raises
        ------
        ValueError
            If a parcel has no voxel in a run, or no finite voxel in a map (the message names the
            parcels and the map), or runs and maps are mixed in one list.
        """
        check_is_fitted(self, "masker_")
        if isinstance(imgs, list | tuple):
            loaded = [_load_any(i) for i in imgs]
            if not loaded:
                raise ValueError("Parcellate.transform got an empty list; expected images.")
            kinds = {i.ndim for i in loaded}
            if kinds == {3}:
                if confounds is not None:
                    raise ValueError("Parcellate.transform: confounds apply to 4-D runs, not to 3-D maps.")
                return self._maps_transform(loaded)
            if kinds != {4}:
                raise ValueError("Parcellate.transform: a mix of 3-D maps and 4-D runs; expected a list of "
                                 "one kind (maps give one row each, runs one array each).")
            if confounds is None:
                confounds = [None] * len(loaded)
            elif not isinstance(confounds, list | tuple) or len(confounds) != len(loaded):
                got = f"a list of {len(confounds)}" if isinstance(confounds, list | tuple) else type(confounds).__name__
                raise ValueError(f"Parcellate.transform: confounds must be a list with one entry (array or None) "
                                 f"per image for a list of {len(loaded)} images, got {got}.")
            return [self._run_transform(i, c) for i, c in zip(loaded, confounds, strict=True)]
        img = _load_any(imgs)
        if img.ndim == 3:
            if confounds is not None:
                raise ValueError("Parcellate.transform: confounds apply to 4-D runs, not to a 3-D map.")
            return self._maps_transform([img])
        return self._run_transform(img, confounds)

    def _run_transform(self, img, confounds=None):
        from .io import load_image

        img = load_image(img, ndim=4, what="fMRI run")
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

    # ------------------------------------------------------------------ maps
    def _maps_transform(self, maps) -> np.ndarray:
        """One row per 3-D map: means of each parcel's finite voxels (NaN-aware)."""
        if self.standardize is not None or self.smoothing_fwhm:
            raise ValueError("Parcellate: standardize and smoothing_fwhm apply to 4-D runs; for 3-D maps "
                             "(parcel averages of finite voxels) set them to None (smooth the maps beforehand, "
                             "and standardise inside the estimator, fitted on training maps only).")
        rows = np.empty((len(maps), self.n_parcels_))
        total_bad = 0
        for n, img in enumerate(maps):
            where = img.get_filename() or f"map {n}"
            if self._maps_img is not None:
                rows[n], bad = self._map_lstsq(img, where)
            else:
                rows[n], bad = self._map_means(img, where)
            total_bad += bad
        if total_bad:
            logger.info("Parcellate(%s): %d NaN/inf voxel value(s) inside parcels left out of the averages "
                        "over %d map(s)", self._atlas_name(), total_bad, len(maps))
        return rows

    def _work_grid_values(self, img, atlas):
        """The map's values on the grid the parcels are defined on (NaN-aware resampling)."""
        if atlas is None or self.resampling_target == "data" or _same_grid(img, atlas):
            return img, np.asarray(img.dataobj, dtype=float)
        ref = atlas.slicer[..., 0] if atlas.ndim == 4 else atlas
        return ref, _resample_finite(img, ref)

    def _map_operator(self, grid):
        """(flat voxel indices, sparse parcel-by-voxel indicator) on ``grid``, cached per grid."""
        from scipy.sparse import csr_matrix

        key = (grid.shape[:3], grid.affine.tobytes())
        ops = self.__dict__.setdefault("_map_ops", {})
        if key in ops:
            return ops[key]
        mask = self._mask_on(grid)
        if self.seeds_ is not None:
            members = sphere_voxels(self.seeds_, grid.shape[:3], grid.affine, self.radii_, mask)
        else:
            from nilearn.image import resample_to_img

            labels_img = self._labels_img
            if not _same_grid(labels_img, grid):
                labels_img = resample_to_img(labels_img, grid, interpolation="nearest", force_resample=True,
                                             copy_header=True)
            lab = np.asarray(labels_img.dataobj).ravel()
            if mask is not None:
                lab = np.where(mask.ravel(), lab, 0)
            members = [np.flatnonzero(lab == v) for v in self._label_values]
        empty = [self.parcel_names_[k] for k, m in enumerate(members) if len(m) == 0]
        if empty:
            raise ValueError(f"{self._atlas_name()}: parcel(s) {empty[:10]} have no voxel on the map grid "
                             f"({_grid(grid)})" + (" inside mask_img" if mask is not None else "")
                             + "; expected every parcel inside the maps' field of view.")
        union, inverse = np.unique(np.concatenate(members), return_inverse=True)
        rows = np.repeat(np.arange(len(members)), [len(m) for m in members])
        M = csr_matrix((np.ones(len(rows)), (rows, inverse)), shape=(len(members), len(union)))
        ops[key] = (union, M)
        return ops[key]

    def _map_means(self, img, where):
        grid, values = self._work_grid_values(img, self._labels_img)
        union, M = self._map_operator(grid)
        v = values.ravel()[union]
        finite = np.isfinite(v)
        counts = M @ finite.astype(float)
        if (counts == 0).any():
            names = [self.parcel_names_[k] for k in np.flatnonzero(counts == 0)]
            sizes = np.asarray(M.sum(1)).ravel()[counts == 0].astype(int)
            raise ValueError(
                f"{where}: {len(names)} parcel(s) have no finite voxel (all NaN/inf): "
                + ", ".join(f"{n} ({s} voxels)" for n, s in list(zip(names, sizes, strict=True))[:10])
                + ("..." if len(names) > 10 else "")
                + "; expected each parcel to cover some brain voxels of the map (drop those parcels with a "
                  "mask_img, or use an atlas that fits the maps' brain mask).")
        means = (M @ np.where(finite, v, 0.0)) / counts
        return means, int((~finite).sum())

    def _map_lstsq(self, img, where):
        from nilearn.image import resample_to_img

        grid, values = self._work_grid_values(img, self._maps_img)
        maps = self._maps_img
        if not _same_grid(maps, grid):
            maps = resample_to_img(maps, grid, interpolation="continuous", force_resample=True, copy_header=True)
        W = np.asarray(maps.dataobj, dtype=float).reshape(-1, self.n_parcels_)
        v = values.ravel()
        use = np.ones(len(v), bool)
        mask = self._mask_on(grid)
        if mask is not None:
            use &= mask.ravel()
        finite = np.isfinite(v)
        bad = int((~finite & use & (np.abs(W).sum(1) > 0)).sum())
        use &= finite
        weight = np.abs(W[use]).sum(0)
        if (weight == 0).any():
            names = [self.parcel_names_[k] for k in np.flatnonzero(weight == 0)]
            raise ValueError(f"{where}: map(s) {names[:10]} of the probabilistic atlas have no finite voxel of "
                             "the image (all NaN/inf where they have weight); expected some brain voxels.")
        beta = np.linalg.lstsq(W[use], v[use], rcond=None)[0]
        return beta, bad

    # ------------------------------------------------------------------ helpers
    def _mask_on(self, img):
        """``mask_img`` as a boolean array on ``img``'s grid, or None."""
        if self.mask_img is None:
            return None
        from nilearn.image import resample_to_img

        from .io import load_image

        mask = load_image(self.mask_img, ndim=3, what="mask_img")
        ref = img.slicer[..., 0] if img.ndim == 4 else img
        if _same_grid(mask, ref):
            return np.nan_to_num(np.asarray(mask.dataobj)) != 0
        return np.nan_to_num(np.asarray(resample_to_img(mask, ref, interpolation="nearest", force_resample=True,
                                                         copy_header=True).dataobj)) != 0

    def _cache_key(self, img):
        return (img.shape[:3], img.affine.tobytes(), self.seeds_.tobytes(), self.radii_.tobytes())

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

        The cache is keyed by grid, seeds and radii and emptied by :meth:`fit`.
        """
        key = self._cache_key(img)
        cache = self.__dict__.get("_sphere_cache", {})
        if key not in cache:
            members = sphere_voxels(self.seeds_, img.shape[:3], img.affine, self.radii_, self._mask_on(img))
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


def _load_any(img):
    """A run or a map, NaN kept (runs are checked for finite values when transformed)."""
    from .io import load_image

    return load_image(img, ndim=None, what="image", nonfinite="keep")


def _resample_finite(img, ref) -> np.ndarray:
    """``img`` resampled (linear) to ``ref``'s grid, NaN/inf voxels left out (normalised weights).

    A target voxel is NaN where less than half of its interpolation weight falls on finite voxels.
    """
    import nibabel as nib
    from nilearn.image import resample_to_img

    data = np.asarray(img.dataobj, dtype=float)
    finite = np.isfinite(data)
    kw = dict(interpolation="linear", force_resample=True, copy_header=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Resampling binary images")  # the weights are meant linear
        num = np.asarray(resample_to_img(nib.Nifti1Image(np.where(finite, data, 0.0), img.affine), ref, **kw).dataobj)
        den = np.asarray(resample_to_img(nib.Nifti1Image(finite.astype(float), img.affine), ref, **kw).dataobj)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den >= 0.5, num / np.where(den > 0, den, 1.0), np.nan)
