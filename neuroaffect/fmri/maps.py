"""Your own fMRI maps: a folder of 3-D images (one per subject or trial) plus a table of targets.

Subject-level contrast maps (SPM ``con_*.img``, FSL ``cope*.nii.gz``, ...) or trial-level beta maps
come as a folder of 3-D images and a table with one row per map: the ``subject``, optionally the
``session`` and ``condition``, and numeric targets (a behavioural score, a rating). One function,
:func:`read_fmri_maps`, turns them into :class:`~neuroaffect.fmri.StimulusResponses` (parcel
averages of the finite voxels, or the voxels themselves), and :func:`maps_to_tokens` makes the
chosen target their rating (and, between subjects, the subjects their samples) for the shared
cross-validation runner of :mod:`neuroaffect.evaluation`, which takes a ``StimulusResponses`` as
it is.

Two designs:

- ``level="between-subject"`` (one score per subject, e.g. a questionnaire): the samples are the
  subjects. The runner sees one pooled group (subject id ``"group"``) whose "trials" are the
  subjects, so folds and label permutations move whole subjects (all maps of a subject together).
- ``level="within-subject"`` (trial-level maps with per-trial ratings): the runner's usual
  subject-dependent protocols, one model per subject.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import numpy as np

from .._validation import FileFormatError, check_file, check_option
from ..affect.scales import RatingScale
from .responses import StimulusResponses

logger = logging.getLogger(__name__)

#: Image files recognised in a maps folder (an Analyze pair is found through its ``.img``).
MAP_SUFFIXES = (".nii", ".nii.gz", ".img")
#: Columns of the maps table with a meaning (the others are targets when numeric).
ID_COLUMNS = ("subject", "session", "condition")
#: Names a column giving each row's map file may have (path relative to the maps folder).
MAP_COLUMNS = ("map", "file", "path", "filename")
LEVELS = ("between-subject", "within-subject")
#: The subject id of the one pooled group in ``level="between-subject"`` tokens.
GROUP = "group"
#: The dataset name of :func:`maps_to_tokens`'s samples when the responses name none.
MAPS_DATASET = "fmri-maps"


def read_maps_table(path):
    """Read the table of maps: CSV (``.csv``) or tab-separated (``.tsv``, ``.txt``), one row per map.

    Id columns (``subject``, ``session``, ``condition`` and a map-file column) are read as text, so
    ``01`` stays ``01``.

    Raises
    ------
    FileFormatError
        If the file is not a table or has no ``subject`` column.
    """
    import pandas as pd

    path = check_file(path, "maps table")
    sep = "," if path.suffix.lower() == ".csv" else "\t" if path.suffix.lower() in (".tsv", ".txt") else None
    try:
        table = pd.read_csv(path, sep=sep, engine="python" if sep is None else "c", na_values=["n/a"],
                            dtype=str, keep_default_na=True)
    except Exception as err:
        raise FileFormatError(path, f"not a CSV/TSV table ({type(err).__name__}: {err}).") from None
    table.columns = [str(c).strip() for c in table.columns]
    if "subject" not in table.columns:
        raise FileFormatError(path, f"the maps table has no 'subject' column; expected one row per map with "
                                    f"columns subject[, session, condition, map], targets; got {list(table.columns)}.")
    if not len(table):
        raise FileFormatError(path, "the maps table has no rows; expected one row per map.")
    if table["subject"].isna().any():
        lines = (np.flatnonzero(table["subject"].isna()) + 2).tolist()[:5]
        raise FileFormatError(path, f"rows without a subject id (file lines {lines}); expected one on every row.")
    return table


def _tokens(text: str) -> set[str]:
    return {t for t in re.split(r"[\\/_\-.\s]+", text.lower()) if t}


def _strip_suffix(name: str) -> str:
    for suffix in (".nii.gz", ".nii", ".img", ".hdr"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def find_map_files(data_dir) -> list[Path]:
    """Image files under ``data_dir`` (recursively): ``*.nii``, ``*.nii.gz`` and Analyze ``*.img``."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"maps folder not found: {data_dir}")
    files = [p for p in sorted(data_dir.rglob("*")) if p.is_file() and p.name.lower().endswith(MAP_SUFFIXES)]
    return files


def _locate(table, data_dir: Path, table_path, map_column):
    """Each row's map file: from the map column, or the one file whose path holds the row's ids."""
    if map_column is not None:
        out = []
        for line, value in zip(np.arange(len(table)) + 2, table[map_column], strict=True):
            if not isinstance(value, str) or not value.strip():
                raise FileFormatError(table_path, f"line {line}: empty {map_column!r}; expected the map's file "
                                                  f"name (relative to {data_dir}).")
            path = Path(value.strip())
            path = path if path.is_absolute() else data_dir / path
            if not path.is_file():
                raise FileNotFoundError(f"{table_path}: line {line}: map file {path} not found (column "
                                        f"{map_column!r}, relative to the maps folder {data_dir}).")
            out.append(path)
        return out
    files = find_map_files(data_dir)
    if not files:
        raise FileNotFoundError(f"no map files ({', '.join('*' + s for s in MAP_SUFFIXES)}) under {data_dir}.")
    file_tokens = [_tokens(_strip_suffix(str(f.relative_to(data_dir)))) for f in files]
    ids = [c for c in ID_COLUMNS if c in table.columns]
    out, used = [], {}
    for n, row in enumerate(table[ids].itertuples(index=False)):
        line = n + 2
        values = {c: v for c, v in zip(ids, row, strict=True) if isinstance(v, str) and v.strip()}
        need = set().union(*(_tokens(v) for v in values.values()))
        hits = [f for f, toks in zip(files, file_tokens, strict=True) if need <= toks]
        described = ", ".join(f"{c} {v!r}" for c, v in values.items())
        if not hits:
            raise FileFormatError(table_path, f"line {line} ({described}): no map file under {data_dir} has all of "
                                              f"{sorted(need)} in its name or folders; expected one such file, or "
                                              f"a {MAP_COLUMNS[0]!r} column naming each row's file.")
        if len(hits) > 1:
            names = [str(h.relative_to(data_dir)) for h in hits[:5]]
            raise FileFormatError(table_path, f"line {line} ({described}): {len(hits)} map files match "
                                              f"({names}); expected one. Add a {MAP_COLUMNS[0]!r} column naming "
                                              "each row's file.")
        if hits[0] in used:
            raise FileFormatError(table_path, f"lines {used[hits[0]]} and {line} both match {hits[0]}; expected one "
                                              f"row per map (add a {MAP_COLUMNS[0]!r} column).")
        used[hits[0]] = line
        out.append(hits[0])
    return out


def _target_columns(table, table_path, targets, map_column):
    import pandas as pd

    skip = set(ID_COLUMNS) | ({map_column} if map_column else set())
    if targets is None:
        names = []
        for c in table.columns:
            if c in skip:
                continue
            values = pd.to_numeric(table[c], errors="coerce")
            if values.notna().any() and values.notna().sum() == table[c].notna().sum():
                names.append(c)
    else:
        names = [targets] if isinstance(targets, str) else [str(t) for t in targets]
        missing = [t for t in names if t not in table.columns]
        if missing:
            raise FileFormatError(table_path, f"target column(s) {missing} not in the maps table; expected names "
                                              f"among its columns {list(table.columns)}.")
    out = {}
    for name in names:
        values = pd.to_numeric(table[name], errors="coerce")
        bad = values.isna() & table[name].notna()
        if bad.any():
            lines = (np.flatnonzero(bad) + 2).tolist()[:5]
            raise FileFormatError(table_path, f"target column {name!r} holds non-numeric values (file lines "
                                              f"{lines}, e.g. {table[name][bad].iloc[0]!r}); expected numbers "
                                              "('n/a' or empty for a missing value).")
        out[name] = values.to_numpy(float)
    return out


def read_fmri_maps(data_dir, table, *, parcellate="seitzman300", targets=None, map_column=None,
                   analyze_orientation: str = "LAS", mask_img=None, progress: bool = False) -> StimulusResponses:
    """Read a folder of 3-D maps and their table into one :class:`StimulusResponses`.

    Parameters
    ----------
    data_dir : path
        Folder holding the maps (NIfTI ``.nii``/``.nii.gz`` or Analyze ``.img``/``.hdr``; searched
        recursively, so SPM's one folder per subject works).
    table : path
        CSV or TSV, one row per map: ``subject`` (required), ``session`` and ``condition``
        (optional), an optional map-file column (``map``, ``file``, ``path`` or ``filename``: path
        relative to ``data_dir``) and numeric target columns. Without a map-file column each row's
        map is the one file whose name or folders contain all of the row's ids as tokens (split at
        ``_ - . /``), e.g. ``sub-07_con_0001.nii`` for subject ``07``.
    parcellate : Parcellate, str or "voxels", default="seitzman300"
        Features of each map: a :class:`~neuroaffect.fmri.Parcellate` (fitted on the first map if
        not fitted), an atlas name or image path for one, or ``"voxels"``: every voxel inside
        ``mask_img`` that is finite in all maps (for the whole-brain decoders of
        :mod:`neuroaffect.fmri.decoders`). A data-driven parcellation ("ward", ...) cannot be
        fitted here (it would see the test maps): use ``"voxels"`` and
        :class:`~neuroaffect.fmri.decoders.VoxelParcellation` inside the estimator.
    targets : str or sequence of str, optional
        Target columns (default: every numeric column besides the id and map columns).
    map_column : str, optional
        The map-file column (default: the first of ``map``, ``file``, ``path``, ``filename``
        present).
    analyze_orientation : {"LAS", "RAS"}, default="LAS"
        How Analyze files, which store no orientation, are read (see
        :func:`~neuroaffect.fmri.load_image`). One warning covers all Analyze files read.
    mask_img : niimg-like, optional
        Brain mask (with ``"voxels"``; passed to a ``Parcellate`` built from a name).
    progress : bool, default=False

    Returns
    -------
    StimulusResponses
        One row per table row, in table order: ``subject``, ``run`` = session (``""`` if none),
        ``stimulus`` = condition (else the map's file name without suffix, so every map is its own
        trial; maps sharing a condition are repeats of it), ``targets`` = {column: values (NaN where
        missing)}, ``feature_names`` = parcel names (or ``"x_y_z"`` voxel indices). ``info`` holds
        ``"files"``, ``"parcellation"`` (``resampling_``: orientation, mask, resampling),
        ``"orientation"`` (axis codes per map), ``"nonfinite_voxels"`` (NaN/inf count per map)
        and, for voxels, ``"mask_img"``.

    Raises
    ------
    FileFormatError
        If the table lacks columns, holds non-numeric targets, a row matches no or several map
        files, or a map is not a readable 3-D image (the message names the file).
    ValueError
        If a parcel has no finite voxel in a map (named with the map), or the maps have different
        grids (voxels).
    """
    from .images import axis_codes, load_image
    from .parcels import DATA_DRIVEN, Parcellate

    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"maps folder not found: {data_dir}")
    table_path = Path(table)
    frame = read_maps_table(table_path)
    if map_column is None:
        map_column = next((c for c in MAP_COLUMNS if c in frame.columns), None)
    elif map_column not in frame.columns:
        raise FileFormatError(table_path, f"map_column {map_column!r} not among {list(frame.columns)}.")
    target_values = _target_columns(frame, table_path, targets, map_column)
    files = _locate(frame, data_dir, table_path, map_column)

    iterator = files
    if progress:
        from .._logging import progress_bar

        iterator = progress_bar(files, desc="maps", unit="map")
    maps, analyze = [], []
    for f in iterator:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            img = load_image(f, ndim=3, what="map", analyze_orientation=analyze_orientation)
        for w in caught:
            if "Analyze files store no orientation" in str(w.message):
                analyze.append(f)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        maps.append(img)
    if analyze:
        warnings.warn(f"{len(analyze)} of {len(files)} maps are Analyze files (e.g. {analyze[0]}), which store no "
                      f"orientation; read as {analyze_orientation} (analyze_orientation={analyze_orientation!r}; "
                      "'LAS', first voxel axis from right to left, is nibabel's and SPM's default). If a "
                      "right-lateralised effect comes out on the left, pass the other orientation.",
                      UserWarning, stacklevel=2)
    nonfinite = [int((~np.isfinite(np.asarray(m.dataobj, dtype=float))).sum()) for m in maps]
    info = {"files": [str(f) for f in files], "orientation": [axis_codes(m) for m in maps],
            "nonfinite_voxels": nonfinite, "analyze_orientation": analyze_orientation if analyze else None}
    codes = {c: info["orientation"].count(c) for c in dict.fromkeys(info["orientation"])}
    logger.info("read_fmri_maps: %d maps (%d Analyze, read as %s); axis codes %s; NaN/inf voxels per map %d..%d",
                len(maps), len(analyze), analyze_orientation, ", ".join(f"{c} ({n})" for c, n in codes.items()),
                min(nonfinite), max(nonfinite))
    if isinstance(parcellate, str) and parcellate == "voxels":
        X, names, mask = _voxels(maps, mask_img, files)
        info["parcellation"] = (f"voxels: {X.shape[1]} voxels finite in all {len(maps)} maps"
                                + (" inside mask_img" if mask_img is not None else "")
                                + f"; orientation: axis codes {sorted(set(info['orientation']))}; no resampling")
        info["mask_img"] = mask
    else:
        if not isinstance(parcellate, Parcellate):
            parcellate = Parcellate(parcellate, mask_img=mask_img)
        if not hasattr(parcellate, "n_parcels_"):  # not fitted yet
            if isinstance(parcellate.atlas, str) and parcellate.atlas in DATA_DRIVEN:
                raise ValueError(f"A {parcellate.atlas} parcellation fitted on all maps would see the test maps; "
                                 "read the maps with parcellate='voxels' and put VoxelParcellation("
                                 f"{parcellate.atlas!r}) in the estimator, so it is fitted in each training "
                                 "fold.")
            parcellate.fit(maps[0])
        X = parcellate.transform(maps)
        names = parcellate.parcel_names_
        info["parcellation"] = parcellate.resampling_
        info["coords"] = parcellate.coords_
    logger.info("read_fmri_maps: %d maps x %d features; %s", len(maps), X.shape[1], info["parcellation"])
    stems = np.array([_strip_suffix(f.name) for f in files], dtype=object)
    stimulus = (np.where(frame["condition"].isna(), stems, frame["condition"].astype(str)) if "condition" in frame.columns
                else stems)
    run = frame["session"].fillna("").to_numpy() if "session" in frame.columns else ""
    return StimulusResponses(X, stimulus, frame["subject"].str.strip().to_numpy(), run,
                             feature_names=tuple(names), dataset=str(data_dir), info=info,
                             targets=target_values)


def _voxels(maps, mask_img, files):
    """Voxels finite in every map (and inside ``mask_img``): (n_maps, n_voxels), names, mask image."""
    import nibabel as nib
    from nilearn.image import resample_to_img

    from .images import load_image

    ref = maps[0]
    for m, f in zip(maps[1:], files[1:], strict=True):
        if m.shape[:3] != ref.shape[:3] or not np.allclose(m.affine, ref.affine, atol=1e-4):
            raise ValueError(f"{f}: grid {m.shape[:3]} (affine {np.round(m.affine[:3], 3).tolist()}) differs from "
                             f"{files[0]}'s {ref.shape[:3]}; parcellate='voxels' needs every map on one grid "
                             "(resample them, or use an atlas).")
    data = np.stack([np.asarray(m.dataobj, dtype=float) for m in maps])
    keep = np.isfinite(data).all(0)
    if mask_img is not None:
        mask = load_image(mask_img, ndim=3, what="mask_img")
        if mask.shape[:3] != ref.shape[:3] or not np.allclose(mask.affine, ref.affine):
            mask = resample_to_img(mask, ref, interpolation="nearest", force_resample=True, copy_header=True)
        keep &= np.nan_to_num(np.asarray(mask.dataobj)) != 0
    if not keep.any():
        raise ValueError(f"No voxel is finite in all {len(maps)} maps" + (" and inside mask_img" if mask_img is not None
                                                                            else "")
                         + "; expected maps sharing a brain mask.")
    dropped = int((np.isfinite(data).any(0) & ~keep).sum())
    if dropped:
        logger.info("read_fmri_maps: %d voxel(s) finite in some maps but NaN/inf in others left out", dropped)
    ijk = np.argwhere(keep)
    names = tuple(f"{i}_{j}_{k}" for i, j, k in ijk)
    return data[:, keep], names, nib.Nifti1Image(keep.astype(np.uint8), ref.affine)


def maps_to_tokens(responses: StimulusResponses, target: str, level: str = "between-subject") -> StimulusResponses:
    """Maps with a numeric target as the samples the runner evaluates, the target as their rating.

    Parameters
    ----------
    responses : StimulusResponses
        From :func:`read_fmri_maps` (with ``targets``).
    target : str
        The target column.
    level : {"between-subject", "within-subject"}, default="between-subject"
        ``"between-subject"``: samples are subjects. The result holds one subject, ``"group"``,
        whose stimuli are the subjects (run ``"maps"``, so trial keys ``"group/maps/<subject>"``):
        every map of a subject shares one key, so a subject is never on both sides of a split and
        label permutations move whole subjects. The target must then be constant within each
        subject. Use the runner's ``"within-subject-kfold"`` (k folds of subjects) or
        ``"within-subject-loto"`` (leave one subject out). ``"within-subject"``: one model per
        subject over its maps (keys ``subject/session/condition``;
        :meth:`StimulusResponses.trial_keys`).

    Returns
    -------
    StimulusResponses
        A sample container of :func:`~neuroaffect.evaluation.cross_validate_subjects`
        (:class:`~neuroaffect.evaluation.SampleContainer`): ``X`` (n_maps, n_features) as read,
        ``feature_names``, ``dataset`` (``"fmri-maps"`` where the responses name none: an empty
        name or the default ``"fmri"`` of a container built by hand) and ``info``
        of ``responses``; ``targets`` holds ``target`` only, which is also its one rating
        (``rating_names == (target,)``), on a scale spanning its observed range
        (``target_scales``). NaN where missing: pass ``drop_unlabelled=True`` to the runner to
        leave those maps out. Like every response container it has no sampling rate, bands or
        electrode positions (results record ``sfreq`` None and the parcel names).

    Raises
    ------
    ValueError
        If ``target`` is not one of the responses' targets, is constant, or (between-subject)
        differs between maps of one subject.
    """
    check_option("level", level, LEVELS)
    if not responses.targets or target not in responses.targets:
        raise ValueError(f"Invalid value for the 'target' parameter: the responses have targets "
                         f"{sorted(responses.targets or {})}, but got {target!r}.")
    y = np.asarray(responses.targets[target], dtype=float)
    finite = y[np.isfinite(y)]
    if finite.size < 2 or finite.min() == finite.max():
        raise ValueError(f"target {target!r} has {finite.size} non-missing value(s), all equal; expected a varying "
                         "numeric target.")
    if level == "between-subject":
        for s in responses.subjects:
            own = y[(responses.subject == s) & np.isfinite(y)]
            if own.size and own.min() != own.max():
                raise ValueError(f"target {target!r} differs between the maps of subject {s!r} ({sorted(set(own))[:5]}); "
                                 "level='between-subject' needs one value per subject (average the maps per "
                                 "subject, or use level='within-subject').")
        # one pooled group whose "stimuli" are the subjects: keys group/maps/<subject>
        stimulus, subject, run = responses.subject, GROUP, "maps"
    else:
        stimulus, subject, run = responses.stimulus, responses.subject, responses.run
    named = responses.dataset not in ("", StimulusResponses.__dataclass_fields__["dataset"].default)
    dataset = str(responses.dataset) if named else MAPS_DATASET
    lo, hi = float(finite.min()), float(finite.max())
    scale = RatingScale(f"{target} (observed {lo:g}..{hi:g})", lo, hi)
    return StimulusResponses(
        responses.X, stimulus, subject, run, feature_names=responses.feature_names,
        dataset=dataset, info=dict(responses.info), targets={target: y},
        target_scales={target: scale},
    )
