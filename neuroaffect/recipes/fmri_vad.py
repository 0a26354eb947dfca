"""Recipe: decode valence, arousal and dominance from fMRI parcel responses.

``neuroaffect run fmri-vad [--data-dir DIR] [--out DIR] [--quick] [--estimators ridge,contrastive,...]``

Without ``--data-dir`` the fMRI simulator provides the data (VAD derived from the stimulus
embeddings through a known map). With ``--data-dir``: a BIDS folder whose ``events.tsv`` carry
``valence``, ``arousal`` and ``dominance`` columns (on ``--scale-low``..``--scale-high``, default
1..9), or an NSD-style folder of ``*_betas.h5`` files with a ``vad`` dataset (on the files' own
``vad_scale`` attribute unless ``--scale-low``/``--scale-high`` are given). BIDS confounds: the
``--confounds`` strategy (default ``minimal``: 6 motion parameters, white matter, CSF).

Evaluation is the EEG side's: :func:`neuroaffect.evaluation.cross_validate_subjects` on the
:class:`~neuroaffect.fmri.StimulusResponses` themselves (a sample container: one sample per
stimulus response, one feature per parcel, repeats of a stimulus sharing a trial key), regression, CCC primary with Pearson r and RMSE, and the same report (``results.json``,
``report.md``, ``figures/``, ``report.html``) as the EEG recipes. Protocols (a stimulus is never on
both sides of a split; the runner audits every split): ``within-subject-kfold`` (k folds of each
subject's stimuli) and ``leave-one-subject-out-stimulus-kfold`` (the test subject's stimuli of one
fold, decoded by a model trained on the other subjects' other stimuli). Decoders (``--estimators``):
``ridge`` on parcels (standardised; alpha by leave-one-out; default), ``contrastive`` (a contrastive
brain -> stimulus-embedding encoder with a ridge VAD head on its learned embedding) and
``contrastive-nearest`` (the same encoder; VAD of the nearest rated training stimuli in the embedding
space), all fitted inside each training fold (:class:`~neuroaffect.fmri.ContrastiveVADRegressor`),
next to a training-mean baseline on the same splits. The contrastive decoders need stimulus
embeddings (the simulator's; ``<data-dir>/stimuli/embeddings.h5`` or ``--embeddings``). BIDS runs
become parcel responses with a coordinate atlas or an atlas image, or with a data-driven
parcellation (``--atlas ward``, ``kmeans``, ``rena``, ``hierarchical_kmeans``): the runs are then read
as voxel responses inside a brain mask and the parcellation is fitted on each fold's training
responses (:class:`~neuroaffect.fmri.VoxelParcellation` as the estimator's first step).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .._atomic import releases_output_locks
from ._options import check_run_options, int_at_least, n_jobs, positive_float


def _parser():
    p = argparse.ArgumentParser(prog="neuroaffect run fmri-vad", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data-dir", type=Path, help="BIDS or NSD-style folder (default: simulated data)")
    p.add_argument("--out", type=Path, default=Path("neuroaffect-results") / "fmri-vad", help="report folder")
    p.add_argument("--quick", action="store_true", help="small simulated data (a smoke run)")
    p.add_argument("--protocol", default="both", choices=("both", "within-subject", "cross-subject"),
                   help="cross-subject needs 2+ subjects; 'both' runs it only when there are")
    p.add_argument("--not-stimulus-disjoint", action="store_true",
                   help="cross-subject: plain leave-one-subject-out (training subjects keep the test stimuli)")
    p.add_argument("--keep-repeats", action="store_true",
                   help="one sample per presentation (repeats share a trial key) instead of averaging repeats")
    p.add_argument("--atlas", default="seitzman300",
                   help="parcellation for BIDS data: seitzman300, power264, dosenbach160, an atlas image path, or a "
                        "data-driven parcellation (ward, kmeans, rena, hierarchical_kmeans: fitted in each training fold)")
    p.add_argument("--n-parcels", type=int_at_least(2), default=100, help="data-driven parcellations: parcels")
    p.add_argument("--mask", type=Path, help="brain mask image for BIDS runs (default for data-driven parcellations: "
                                             "nilearn's compute_epi_mask of the first run)")
    p.add_argument("--method", default="glm", choices=("glm", "glm-lss", "lagged-mean"),
                   help="per-trial responses: GLM least squares all, GLM least squares separate, or lagged mean")
    p.add_argument("--estimators", default="ridge",
                   help="comma-separated subset of ridge (on parcels), contrastive (contrastive encoder + ridge VAD "
                        "head), contrastive-nearest (contrastive encoder, VAD of the nearest rated stimuli)")
    p.add_argument("--embeddings", type=Path,
                   help="HDF5 stimulus embeddings for the contrastive estimators (default: <data-dir>/stimuli/embeddings.h5)")
    p.add_argument("--epochs", type=int_at_least(1), default=100, help="contrastive encoder: training epochs")
    p.add_argument("--threads", type=int_at_least(1), default=1, help="contrastive encoder: torch CPU threads")
    p.add_argument("--scale-low", type=float, default=None,
                   help="low end of the VAD scale (default: an NSD file's vad_scale attribute, else 1)")
    p.add_argument("--scale-high", type=float, default=None,
                   help="high end of the VAD scale (default: an NSD file's vad_scale attribute, else 9)")
    p.add_argument("--confounds", default="minimal", choices=("minimal", "minimal+global", "motion", "all", "none"),
                   help="BIDS confound columns regressed out (minimal: 6 motion parameters + white_matter + csf)")
    p.add_argument("--n-splits", type=int_at_least(2), default=5, help="folds of stimuli")
    p.add_argument("--n-jobs", type=n_jobs, default=1, help="parallel (subject, fold) jobs (-1: all cores)")
    p.add_argument("--snr", type=positive_float, default=0.25, help="simulator signal-to-noise ratio")
    p.add_argument("--n-permutations", type=int_at_least(0), default=0,
                   help="label permutations per model run: p-values and the empirical chance of CCC (0: none, "
                        "chance shown as the theoretical 0)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


ESTIMATORS = {"ridge": "ridge", "contrastive": "contrastive + ridge head",
              "contrastive-nearest": "contrastive + nearest rated stimuli"}


def _check(args, parser):
    """Option errors before any computation (exit 2, one line); returns the estimator names."""
    from ..fmri.parcels import COORD_ATLASES, DATA_DRIVEN

    names = [n.strip() for n in args.estimators.split(",") if n.strip()]
    unknown = [n for n in names if n not in ESTIMATORS]
    if unknown or not names:
        parser.error(f"--estimators: unknown estimator(s) {unknown}; expected a comma-separated subset of "
                     f"{', '.join(ESTIMATORS)}." if unknown else "--estimators: none given.")
    image = args.atlas.endswith((".nii", ".nii.gz", ".img", ".hdr"))
    if args.atlas not in (*COORD_ATLASES, *DATA_DRIVEN) and not image:
        parser.error(f"--atlas: expected one of {', '.join(COORD_ATLASES + DATA_DRIVEN)} or an atlas image path, "
                     f"got {args.atlas!r}.")
    if image and not Path(args.atlas).is_file():
        parser.error(f"--atlas: {args.atlas} not found.")
    if args.mask is not None and not args.mask.is_file():
        parser.error(f"--mask: {args.mask} not found.")
    nsd = args.data_dir is not None and Path(args.data_dir).is_dir() and any(Path(args.data_dir).glob("*_betas.h5"))
    if args.atlas in DATA_DRIVEN and (args.data_dir is None or nsd):
        parser.error(f"--atlas {args.atlas}: a data-driven parcellation is fitted on voxel responses of BIDS runs; "
                     "pass --data-dir with BIDS runs (the simulated default and NSD-style files hold parcel "
                     "responses; `neuroaffect simulate fmri-bids` writes runs).")
    if args.embeddings is not None and not args.embeddings.is_file():
        parser.error(f"--embeddings: {args.embeddings} not found.")
    contrastive = [n for n in names if n.startswith("contrastive")]
    if contrastive and args.data_dir is not None and args.embeddings is None \
            and not (Path(args.data_dir) / "stimuli" / "embeddings.h5").is_file():
        parser.error(f"--estimators {','.join(contrastive)} need stimulus embeddings: pass --embeddings FILE or put "
                     f"them in {Path(args.data_dir) / 'stimuli' / 'embeddings.h5'}.")
    return names


def _data(args):
    from ..affect.scales import RatingScale
    from ..fmri import Parcellate, StimulusEmbeddings, read_fmri_dir
    from ..fmri.parcels import DATA_DRIVEN
    from ..simulate.fmri import simulate_responses

    if args.data_dir is None:
        sim = dict(n_subjects=3 if args.quick else 5, n_stimuli=60 if args.quick else 200, n_repeats=2,
                   n_parcels=100 if args.quick else 300, embed_dim=32, snr=args.snr, random_state=args.seed)
        responses, truth = simulate_responses(**sim)
        embeddings = StimulusEmbeddings(truth.stimulus, truth.embeddings)
        note = (f"SIMULATED fMRI responses ({sim['n_subjects']} subjects, {sim['n_stimuli']} stimuli x "
                f"{sim['n_repeats']} repeats, {sim['n_parcels']} parcels, snr {args.snr:g}, seed {args.seed}; "
                "neuroaffect.simulate.fmri): a demonstration of the pipeline, not a result about real brains. "
                "Pass --data-dir to use real data.")
        return responses, embeddings, note, True
    scale = None  # NSD files: their own vad_scale attribute; BIDS events: SAM 1-9
    if args.scale_low is not None or args.scale_high is not None:
        low = 1.0 if args.scale_low is None else args.scale_low
        high = 9.0 if args.scale_high is None else args.scale_high
        scale = RatingScale(f"VAD {low:g}-{high:g}", low, high)
    confounds = None if args.confounds == "none" else args.confounds
    data_driven = args.atlas in DATA_DRIVEN
    parcellate = "voxels" if data_driven else Parcellate(args.atlas, mask_img=args.mask)
    responses, emb = read_fmri_dir(args.data_dir, parcellate, method=args.method, vad_scale=scale,
                                   confounds=confounds, embeddings=args.embeddings,
                                   mask_img=args.mask if data_driven else None, progress=not args.quiet)
    embeddings = None if emb is None else StimulusEmbeddings(*emb)
    return responses, embeddings, f"Data: {args.data_dir}", False


def _estimator(name, args, responses, embeddings):
    """A fresh estimator for ``--estimators`` name; a data-driven parcellation is its first step."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ..fmri import (
        ContrastiveEncoder,
        ContrastiveVADRegressor,
        VoxelParcellation,
        make_vad_decoder,
    )
    from ..fmri.evaluate import ALPHAS
    from ..fmri.parcels import DATA_DRIVEN

    parcels = None
    if args.atlas in DATA_DRIVEN:
        parcels = VoxelParcellation(responses.info["mask_img"], method=args.atlas, n_parcels=args.n_parcels)
    if name == "ridge":
        return make_vad_decoder() if parcels is None else make_pipeline(parcels, StandardScaler(),
                                                                        RidgeCV(alphas=ALPHAS))
    encoder = ContrastiveEncoder(max_epochs=args.epochs, n_threads=args.threads)
    if parcels is not None:
        encoder = make_pipeline(parcels, encoder)
    return ContrastiveVADRegressor(embeddings, encoder, head="ridge" if name == "contrastive" else "nearest",
                                   random_state=args.seed)


@releases_output_locks
def main(argv=None) -> int:
    """Run the recipe; returns the exit code."""
    from ..evaluation import write_report
    from ..fmri import VAD_NAMES, evaluate_vad
    from ..fmri.parcels import DATA_DRIVEN

    args = (parser := _parser()).parse_args(argv)
    names = _check(args, parser)
    check_run_options(parser, args)  # --data-dir exists, --out writable and locked for this run
    t0 = time.perf_counter()
    responses, embeddings, note, simulated = _data(args)
    if not args.keep_repeats:
        responses = responses.average_repeats()
    protocols = ["within-subject", "cross-subject"] if args.protocol == "both" else [args.protocol]
    if args.protocol == "both" and len(responses.subjects) < 2:
        protocols = ["within-subject"]
    print(f"fmri-vad: {responses.n_stimuli} stimulus responses x {responses.n_features} features, "
          f"{len(responses.subjects)} subject(s); scale {responses.vad_scale.name}"
          + (" (simulated)" if simulated else ""))
    if any(n.startswith("contrastive") for n in names) and embeddings is None:
        raise ValueError(f"{args.data_dir}: no stimulus embeddings were read; the contrastive estimators need them "
                         "(--embeddings FILE or stimuli/embeddings.h5).")
    runs, pairs, rows = [], [], []
    for protocol in protocols:
        results = []
        for k, name in enumerate(names):
            start = time.perf_counter()
            if not args.quiet and len(names) > 1:
                print(f"  {protocol}: {name} ...", flush=True)
            results.append(evaluate_vad(
                responses, _estimator(name, args, responses, embeddings), protocol=protocol, n_splits=args.n_splits,
                stimulus_disjoint=not args.not_stimulus_disjoint, random_state=args.seed, results_dir=args.out,
                n_jobs=args.n_jobs, progress=not args.quiet, n_permutations=args.n_permutations,
                baseline=k == 0, name=ESTIMATORS[name]))
            results[-1]["seconds"] = time.perf_counter() - start
        for dim in VAD_NAMES:
            base_index = len(runs) + len(names)
            for name, res in zip(names, results, strict=True):
                pairs.append((len(runs), base_index))
                runs.append(res["runs"][dim])
                m, b = res["mean"][dim], results[0]["baseline"][dim]
                rows.append((res["protocol"], name, dim, m["ccc"]["mean"], m["pearson_r"]["mean"], m["rmse"]["mean"],
                             b["rmse"]["mean"], res["chance"][dim]["chance"], res["chance"][dim]["group_p_value"]))
            runs.append(results[0]["baseline_runs"][dim])
    described = ", ".join(f"{ESTIMATORS[n]}" for n in names)
    features = responses.info.get("parcellation", "parcels").split(";")[0]
    if args.atlas in DATA_DRIVEN and not simulated:
        features = f"{args.atlas} parcellation ({args.n_parcels} parcels) fitted in each training fold on {features}"
    notes = [note, f"Features: {features}." + (f" Responses: {responses.info['method']}." if "method" in responses.info
                                                else ""),
             "fMRI mapping: a 'window' is one stimulus response (one beta or repeat-averaged beta), a "
             "'trial' is one stimulus of one subject (its repeats share a trial key and are averaged at "
             f"trial level), 'electrodes' are parcels (or voxels). Runs: for each dimension, {described}, then the "
             "training-mean baseline (DummyRegressor) on the same splits; comparisons pair each model with it."]
    if any(n.startswith("contrastive") for n in names):
        notes.append("Contrastive estimators (ContrastiveVADRegressor): a brain -> stimulus-embedding encoder "
                     f"(ContrastiveEncoder, CLIP loss, {args.epochs} epochs) trained on each fold's training "
                     "responses and their stimuli's embeddings, then VAD read from its embedding: a ridge head "
                     "fitted on the training responses' embeddings (contrastive), or the mean rating of the 10 "
                     "training stimuli nearest to the predicted embedding (contrastive-nearest).")
    write_report(runs, args.out, title=f"neuroaffect fMRI: valence, arousal, dominance (regression), {described}",
                 notes=notes, compare=pairs)
    width = max(len(n) for n in names)
    print(f"{'protocol':>38}  {'estimator':>{width}}  {'dimension':>9}  {'CCC':>6}  {'chance':>6}  {'p':>6}  "
          f"{'r':>6}  {'RMSE':>6}  {'RMSE(mean)':>10}")
    for p, name, dim, ccc, r, rmse, base, chance, p_value in rows:
        p_text = "n/a" if p_value is None else f"{p_value:.3g}"
        print(f"{p:>38}  {name:>{width}}  {dim:>9}  {ccc:6.3f}  {chance:6.3f}  {p_text:>6}  {r:6.3f}  {rmse:6.3f}  "
              f"{base:10.3f}")
    if args.n_permutations:
        print(f"(mean over subjects; chance: mean CCC of {args.n_permutations} label permutations, p: group "
              "permutation p-value; RMSE(mean): training-mean baseline, in the scale's units)")
    else:
        print("(mean over subjects; RMSE(mean): training-mean baseline, in the scale's units; chance: the theoretical "
              "0, pass --n-permutations N for the empirical chance and p-values)")
    if simulated:
        print("(simulated data: pass --data-dir for real data)")
    print(f"Report: {(args.out / 'report.html').resolve()}  (also report.md, results.json)")
    print(f"Time (s): {time.perf_counter() - t0:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
