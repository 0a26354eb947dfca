"""Recipe: decode a score from your own fMRI maps (one per subject, or one per trial).

``neuroaffect run fmri-maps --data-dir DIR --table FILE --target COLUMN [--atlas A] [--estimators E]``

The maps (NIfTI or Analyze 3-D images, NaN outside the brain allowed) and a table with one row per
map (``subject``, optional ``session``/``condition``/``map``, numeric targets) are read by
:func:`neuroaffect.fmri.read_fmri_maps`; see docs/fmri-maps.md. Without ``--data-dir`` the recipe
writes simulated subject-level maps (Analyze, LAS, a planted right-hemisphere effect) to
``<out>/simulated-maps`` and reads them back the same way.

Evaluation is the shared runner's (:func:`neuroaffect.evaluation.cross_validate_subjects`) on
:func:`neuroaffect.fmri.maps_to_tokens`: with ``--level between-subject`` (default) the samples are
subjects (all maps of a subject on one side of every split; label permutations move whole
subjects), k folds (``--cv kfold``) or leave one subject out (``--cv loo``); with ``--level
within-subject`` one model per subject over its trial maps. Regression, Pearson r primary, with
``--n-permutations`` label permutations giving each score's p-value and the empirical chance of r
(its permutation null mean: negative under leave-one-out, not 0). A training-mean baseline runs on
the same splits. The report is the EEG recipes' (``results.json``, ``report.md``, ``figures/``,
``report.html``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .._atomic import releases_output_locks
from ._options import check_run_options, int_at_least, n_jobs, positive_float

_PARCEL_HELP = ("seitzman300, power264, dosenbach160, an atlas image path, 'voxels' (whole brain), or a "
                "data-driven parcellation (ward, kmeans, rena, hierarchical_kmeans: fitted in each training fold)")


def _parser():
    p = argparse.ArgumentParser(prog="neuroaffect run fmri-maps", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data-dir", type=Path, help="folder of 3-D maps (default: simulated maps)")
    p.add_argument("--table", type=Path, help="CSV/TSV, one row per map: subject[, session, condition, map], targets")
    p.add_argument("--target", help="the table column to decode (default with simulated maps: score)")
    p.add_argument("--out", type=Path, default=Path("neuroaffect-results") / "fmri-maps", help="report folder")
    p.add_argument("--atlas", default="seitzman300", help=_PARCEL_HELP)
    p.add_argument("--n-parcels", type=int_at_least(2), default=100, help="data-driven parcellations: parcels")
    p.add_argument("--mask", type=Path, help="brain mask image (voxels and data-driven parcellations)")
    p.add_argument("--estimators", default="ridge,lasso-pcr",
                   help="comma-separated subset of ridge, lasso-pcr, frem, decoder (frem/decoder: --atlas voxels)")
    p.add_argument("--level", default="between-subject", choices=("between-subject", "within-subject"))
    p.add_argument("--cv", default="kfold", choices=("kfold", "loo"), help="k folds or leave one out")
    p.add_argument("--n-splits", type=int_at_least(2), default=5, help="folds for --cv kfold")
    p.add_argument("--n-permutations", type=int_at_least(0), default=100,
                   help="label permutations (p-values and the empirical chance of r); 0: none")
    p.add_argument("--analyze-orientation", default="LAS", choices=("LAS", "RAS"),
                   help="how Analyze files (no stored orientation) are read; LAS is nibabel's and SPM's default")
    p.add_argument("--n-subjects", type=int_at_least(6), default=40, help="simulated maps: subjects")
    p.add_argument("--effect-size", type=float, default=2.0,
                   help="simulated maps: planted effect per score SD, in voxel noise SDs (0: null)")
    p.add_argument("--n-jobs", type=n_jobs, default=1, help="parallel CV jobs (-1: all cores)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--resolution", type=positive_float, default=6.0, help=argparse.SUPPRESS)
    return p


def _check(args, parser):
    """Option errors before any computation (exit 2, one line)."""
    from ..fmri.decoders import DECODERS
    from ..fmri.parcels import COORD_ATLASES, DATA_DRIVEN

    if args.data_dir is not None:
        if args.table is None or args.target is None:
            parser.error("--data-dir needs --table FILE and --target COLUMN.")
        if not args.data_dir.is_dir():
            parser.error(f"--data-dir: {args.data_dir} is not a folder.")
        if not args.table.is_file():
            parser.error(f"--table: {args.table} not found.")
    elif args.table is not None:
        parser.error("--table needs --data-dir (the folder of maps).")
    names = [n.strip() for n in args.estimators.split(",") if n.strip()]
    unknown = [n for n in names if n not in DECODERS]
    if unknown or not names:
        parser.error(f"--estimators: unknown estimator(s) {unknown}; expected a comma-separated subset of "
                     f"{', '.join(DECODERS)}." if unknown else "--estimators: none given.")
    known = (*COORD_ATLASES, *DATA_DRIVEN, "voxels")
    if args.atlas not in known and not args.atlas.endswith((".nii", ".nii.gz", ".img", ".hdr")):
        parser.error(f"--atlas: expected one of {', '.join(known)} or an atlas image path, got {args.atlas!r}.")
    if args.atlas.endswith((".nii", ".nii.gz", ".img", ".hdr")) and not Path(args.atlas).is_file():
        parser.error(f"--atlas: {args.atlas} not found.")
    needs_voxels = [n for n in names if n in ("frem", "decoder")]
    if needs_voxels and args.atlas != "voxels":
        parser.error(f"--estimators {','.join(needs_voxels)} decode whole-brain voxels: pass --atlas voxels.")
    if args.mask is not None and not args.mask.is_file():
        parser.error(f"--mask: {args.mask} not found.")
    return names


def _data(args):
    from ..fmri import read_fmri_maps
    from ..fmri.parcels import DATA_DRIVEN
    from ..simulate.fmri import write_fmri_maps

    parcellate = "voxels" if args.atlas in DATA_DRIVEN else args.atlas
    if args.data_dir is None:
        root, table, _ = write_fmri_maps(args.out / "simulated-maps", n_subjects=args.n_subjects,
                                         effect_size=args.effect_size, file_format="analyze", orientation="LAS",
                                         resolution=args.resolution, random_state=args.seed)
        note = (f"SIMULATED subject-level maps ({args.n_subjects} subjects, Analyze files stored LAS, planted effect "
                f"size {args.effect_size:g} in a right-hemisphere blob at MNI (42, -24, 54), NaN outside the brain, "
                f"seed {args.seed}; neuroaffect.simulate.fmri.write_fmri_maps, in {root}): a positive control of "
                "the pipeline, not a result about real brains. Pass --data-dir, --table and --target for your maps.")
        target = args.target or "score"
    else:
        root, table, target = args.data_dir, args.table, args.target
        note = f"Data: {root} with table {table}"
    responses = read_fmri_maps(root, table, parcellate=parcellate, targets=[target],
                               analyze_orientation=args.analyze_orientation, mask_img=args.mask,
                               progress=not args.quiet)
    return responses, target, note, args.data_dir is None


def _estimator(name, args, responses):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ..fmri.decoders import LassoPCR, VoxelParcellation, make_decoder
    from ..fmri.evaluate import ALPHAS
    from ..fmri.parcels import DATA_DRIVEN

    mask = responses.info.get("mask_img")
    if args.atlas in DATA_DRIVEN:
        from sklearn.linear_model import RidgeCV

        parcels = VoxelParcellation(mask, method=args.atlas, n_parcels=args.n_parcels)
        if name == "ridge":
            return make_pipeline(parcels, StandardScaler(), RidgeCV(alphas=ALPHAS))
        return make_pipeline(parcels, LassoPCR())
    return make_decoder(name, mask_img=mask)


@releases_output_locks
def main(argv=None) -> int:
    """Run the recipe; returns the exit code."""
    from sklearn.dummy import DummyRegressor

    from ..evaluation import cross_validate_subjects, write_report
    from ..fmri import maps_to_tokens

    parser = _parser()
    args = parser.parse_args(argv)
    names = _check(args, parser)
    check_run_options(parser, args)  # --out: a folder that can be written, locked for this run
    t0 = time.perf_counter()
    responses, target, note, simulated = _data(args)
    tokens = maps_to_tokens(responses, target, level=args.level)
    missing = int((tokens.ratings[:, 0] != tokens.ratings[:, 0]).sum())
    n_subjects = len(responses.subjects)
    print(f"fmri-maps: {responses.n_stimuli} maps of {n_subjects} subject(s) x {responses.n_features} features "
          f"({responses.info['parcellation'].split(';')[0]}); target {target!r}"
          + (f" ({missing} missing: left out)" if missing else "") + (" (simulated)" if simulated else ""))
    protocol = "within-subject-loto" if args.cv == "loo" else "within-subject-kfold"
    kw = dict(target=target, task="regression", protocol=protocol, n_splits=args.n_splits, metric="pearson_r",
              random_state=args.seed, results_dir=args.out, n_jobs=args.n_jobs, progress=not args.quiet,
              drop_unlabelled=True)
    runs, rows = [], []
    for name in names:
        start = time.perf_counter()
        res = cross_validate_subjects(tokens, _estimator(name, args, responses),
                                      n_permutations=args.n_permutations, **kw)
        runs.append(res)
        s = res.summary
        # between-subject: one pooled group, whose own permutation p-value is the test (the group p-value
        # resamples that single null and would claim a resolution finer than 1 / (n_permutations + 1))
        p_value = (res.subjects[0].get("p_value") if args.level == "between-subject" else s.get("group_p_value"))
        rows.append((name, s["window"]["pearson_r"]["mean"], p_value, s["chance"]["pearson_r"],
                     s["window"]["ccc"]["mean"], s["window"]["rmse"]["mean"], time.perf_counter() - start))
    runs.append(cross_validate_subjects(tokens, DummyRegressor(), n_permutations=0, **kw))
    base_rmse = runs[-1].summary["window"]["rmse"]["mean"]
    unit = ("subjects (all maps of a subject on one side of every split)" if args.level == "between-subject"
            else "maps within each subject")
    cv = "leave one out" if args.cv == "loo" else f"{args.n_splits}-fold"
    mapping = f"fMRI maps mapping: a 'window' and a 'trial' are one map; {cv} over {unit}"
    if args.level == "between-subject":
        mapping += ("; the runner's single 'subject' is the pooled group ('group'), so its per-subject scores are "
                    "the scores across subjects")
    if args.n_permutations:
        chance = (f"Chance r is the mean of {args.n_permutations} label permutations ("
                  + ("whole subjects' labels" if args.level == "between-subject" else "maps' labels within subject")
                  + " permuted, full CV re-fitted), not 0: under leave-one-out it is negative.")
    else:
        chance = "No permutations were run (--n-permutations 0): chance r shown as 0 is theoretical, not empirical."
    notes = [note, f"Features: {responses.info['parcellation']}.", mapping + ". " + chance,
             "Runs: " + ", ".join(names) + ", then the training-mean baseline (DummyRegressor) on the same splits."]
    write_report(runs, args.out, title=f"neuroaffect fMRI maps: {target} (regression)", notes=notes,
                 compare=[(i, len(runs) - 1) for i in range(len(names))])
    print(f"{'estimator':>10}  {'r':>6}  {'p (perm)':>8}  {'chance r':>8}  {'CCC':>6}  {'RMSE':>7}  "
          f"{'RMSE(mean)':>10}  {'fit s':>6}")
    for name, r, p, chance, ccc, rmse, secs in rows:
        p_text = "n/a" if p is None else f"{p:.3g}"
        print(f"{name:>10}  {r:6.3f}  {p_text:>8}  {chance:8.3f}  {ccc:6.3f}  {rmse:7.3f}  {base_rmse:10.3f}  "
              f"{secs:6.1f}")
    print(f"({cv} over {unit}; chance r: mean of the permutation null" if args.n_permutations
          else f"({cv} over {unit}; no permutations: p-values n/a, chance r 0 is theoretical", end="")
    print("; RMSE(mean): training-mean baseline, in the target's units)")
    if simulated:
        print("(simulated maps: pass --data-dir, --table and --target for your own)")
    print(f"Report: {(args.out / 'report.html').resolve()}  (also report.md, results.json)")
    print(f"Time (s): {time.perf_counter() - t0:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
