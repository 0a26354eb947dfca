"""fMRI images: load any nibabel format with checked dimensionality, orientation and values.

:func:`load_image` is what every fMRI reader uses to open a run, a map, a mask or an atlas;
:func:`repetition_time` reads a run's TR.
"""

from __future__ import annotations

import json
import logging
import warnings
from os import PathLike
from pathlib import Path

import numpy as np

from .._validation import FileFormatError, check_file, check_option, check_positive

logger = logging.getLogger(__name__)

#: How the voxel axes of an Analyze file (which stores no orientation) are read: ``"LAS"`` is
#: nibabel's and SPM's default (first axis right to left, "radiological"); ``"RAS"`` its mirror.
ANALYZE_ORIENTATIONS = ("LAS", "RAS")


def is_analyze(img) -> bool:
    """Whether ``img`` is an Analyze 7.5 image (``.img``/``.hdr`` without NIfTI magic)."""
    import nibabel as nib

    return isinstance(img, nib.analyze.AnalyzeImage) and not isinstance(img, nib.Nifti1Pair)


def axis_codes(img) -> str:
    """The image's voxel axis directions in world space, e.g. ``"RAS"`` or ``"LAS"``."""
    import nibabel as nib

    return "".join(nib.aff2axcodes(img.affine))


def _has_mat_file(img) -> bool:
    """SPM writes the voxel-to-world affine of an Analyze image to a ``.mat`` file beside it."""
    filename = img.get_filename()
    return bool(filename) and Path(filename).with_suffix(".mat").is_file()


def load_image(img, ndim: int | None = 4, what: str = "image", *, nonfinite: str | None = None,
               analyze_orientation: str = "LAS"):
    """Load a path or image object with nibabel and check its dimensionality and values.

    Any format nibabel reads (NIfTI-1/2, Analyze, MGH, ...) is accepted. A 4-D image with one
    volume counts as 3-D where ``ndim=3``.

    Parameters
    ----------
    img : path or nibabel image
    ndim : {3, 4, None}, default=4
        ``4``: a time series (``(x, y, z, volumes)``, at least 2 volumes); ``3``: one map (a
        contrast, beta or statistic image); ``None``: any (atlases).
    what : str
        What the image is, for messages (``"fMRI run"``, ``"map"``, ``"atlas"``).
    nonfinite : {"error", "keep"}, optional
        NaN/inf voxels: ``"error"`` refuses them, ``"keep"`` keeps them (SPM writes NaN outside
        the brain; :class:`~neuroaffect.fmri.Parcellate` leaves them out of parcel averages).
        Default ``"keep"`` for ``ndim=3`` and ``"error"`` otherwise. Their number is logged.
    analyze_orientation : {"LAS", "RAS"}, default="LAS"
        Analyze files store no orientation. ``"LAS"`` reads them as nibabel and SPM do by default
        (the first voxel axis runs from right to left); ``"RAS"`` mirrors that (first axis left to
        right). Reading an Analyze file warns; an SPM ``.mat`` file beside it gives the orientation,
        and then this parameter is ignored. It applies to files read from a path: an image object is
        taken with the affine it has. Every file's format, axis codes and number of NaN/inf voxels
        are logged (DEBUG).

    Returns
    -------
    nibabel image
        With its data in memory (read once).

    Raises
    ------
    FileFormatError
        If the file is not an image nibabel can read, is truncated or damaged, has the wrong number
        of dimensions, or holds NaN/inf where ``nonfinite="error"``. The message names the file.
    """
    import nibabel as nib

    check_option("analyze_orientation", analyze_orientation, ANALYZE_ORIENTATIONS)
    if nonfinite is None:
        nonfinite = "keep" if ndim == 3 else "error"
    check_option("nonfinite", nonfinite, ("error", "keep"))
    from_file = isinstance(img, str | PathLike)
    if from_file:
        path = check_file(img, what)
        try:
            img = nib.load(path)
        except Exception as err:  # nibabel raises ImageFileError, ValueError, OSError, ...
            raise FileFormatError(path, f"not an image nibabel can read ({type(err).__name__}: {err}); "
                                        f"expected the {what} as NIfTI or Analyze.") from None
    elif not hasattr(img, "affine") or not hasattr(img, "dataobj"):
        raise TypeError(f"{what} must be a path or a nibabel image, got {type(img).__name__}.")
    where = img.get_filename() or f"in-memory {what}"
    if ndim is not None and img.ndim != ndim:
        if ndim == 3 and img.ndim == 4 and img.shape[3] == 1:
            img = img.slicer[..., 0]
        else:
            expect = "a 4-D time series (x, y, z, volumes)" if ndim == 4 else "a 3-D volume (one map)"
            raise FileFormatError(where, f"{what} is {img.ndim}-D with shape {img.shape}; expected {expect}"
                                  + (" (pass a list of 3-D maps, or load_image(..., ndim=4) for a run)"
                                     if ndim == 3 else "") + ".")
    if ndim == 4 and img.shape[3] < 2:
        raise FileFormatError(where, f"{what} has {img.shape[3]} volume(s); expected a time series "
                                     "(for a single map use load_image(..., ndim=3)).")
    try:
        data = np.asarray(img.dataobj)
    except Exception as err:  # EOFError, zlib.error, OSError ("Expected n bytes, got m bytes")
        raise FileFormatError(where, f"could not read the voxel data of the {what} ({type(err).__name__}: "
                                     f"{err}); the file looks truncated or damaged: expected "
                                     f"{int(np.prod(img.shape))} voxels of {img.get_data_dtype()}.") from None
    affine = img.affine
    if from_file and is_analyze(img):
        if _has_mat_file(img):
            logger.info("%s: Analyze file with an SPM .mat file: orientation from the .mat file", where)
        else:
            warnings.warn(
                f"{where}: Analyze files store no orientation; reading it as {analyze_orientation} "
                f"(analyze_orientation={analyze_orientation!r}; 'LAS' is nibabel's and SPM's default, "
                "first voxel axis from right to left). If left and right come out mirrored, pass the "
                "other one, or convert the file to NIfTI with a known orientation.", UserWarning, stacklevel=2)
            if analyze_orientation == "RAS":
                affine = np.diag([-1.0, 1.0, 1.0, 1.0]) @ affine
    bad = int((~np.isfinite(data)).sum()) if data.dtype.kind == "f" else 0
    if bad and nonfinite == "error":
        raise FileFormatError(where, f"{what} contains {bad} NaN/inf voxel value(s); expected finite "
                                     "values (mask or interpolate them first).")
    if not isinstance(img.dataobj, np.ndarray) or affine is not img.affine:
        # keep the array just read (no second decompression) and the affine chosen above
        filename = img.get_filename()
        img = img.__class__(data, affine, img.header)
        if filename:
            img.set_filename(filename)
    if from_file:  # one line per file read (DEBUG: read_fmri_maps logs a summary at INFO)
        logger.debug("%s: %s, axis codes %s%s%s", where, type(img).__name__, axis_codes(img),
                     f" (Analyze, read as {analyze_orientation})" if is_analyze(img) and not _has_mat_file(img) else "",
                     f", {bad} of {data.size} voxel value(s) NaN/inf (kept)" if bad else "")
    return img


def repetition_time(img, sidecar: Path | None = None) -> float:
    """TR in seconds from a BIDS JSON sidecar (``RepetitionTime``) or else the NIfTI header."""
    if sidecar is not None and sidecar.is_file():
        meta = json.loads(sidecar.read_text())
        if "RepetitionTime" in meta:
            return check_positive("RepetitionTime", float(meta["RepetitionTime"]))
    zooms = img.header.get_zooms()
    units = img.header.get_xyzt_units()[1] if hasattr(img.header, "get_xyzt_units") else "sec"
    if len(zooms) < 4 or not zooms[3] > 0:
        where = img.get_filename() or "image"
        raise FileFormatError(where, "no repetition time in the header or a JSON sidecar; pass t_r.")
    t_r = float(zooms[3])
    return t_r / 1000 if units == "msec" else t_r
