"""Recipe: decode valence, arousal and dominance from fMRI parcel responses.

``neuroaffect run fmri-vad [--data-dir DIR] [--out DIR] [--quick]``

Without ``--data-dir`` the fMRI simulator provides the data (VAD derived from the stimulus
embeddings through a known map). With ``--data-dir``: a BIDS folder whose ``events.tsv`` carry
``valence``, ``arousal`` and ``dominance`` columns (on ``--scale-low``..``--scale-high``, default
1..9), or an NSD-style folder of ``*_betas.h5`` files with a ``vad`` dataset (on the files' own
``vad_scale`` attribute unless ``--scale-low``/``--scale-high`` are given). BIDS confounds: the
``--confounds`` strategy (default ``minimal``: 6 motion parameters, white matter, CSF).

Evaluation is the EEG side's: :func:`neuroaffect.evaluation.cross_validate_subjects` on
:meth:`StimulusResponses.to_tokens` (one "window" per stimulus response, one "electrode" per
parcel), regression, CCC primary with Pearson r and RMSE, and the same report (``results.json``,
``report.md``, ``figures/``, ``report.html``) as the EEG recipes. Protocols (a stimulus is never on
both sides of a split; the runner audits every split): ``within-subject-kfold`` (k folds of each
subject's stimuli) and ``leave-one-subject-out-stimulus-kfold`` (the test subject's stimuli of one
fold, decoded by a model trained on the other subjects' other stimuli). Decoder: ridge on parcels
(standardised; alpha by leave-one-out), next to a training-mean baseline on the same splits.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .._atomic import releases_output_locks
from ._eeg import check_run_options, int_at_least, n_jobs, positive_float


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
    p.add_argument("--atlas", default="seitzman300", help="parcellation for BIDS data")
    p.add_argument("--method", default="glm", choices=("glm", "lagged-mean"))
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


def _data(args):
    from ..affect.scales import RatingScale
    from ..fmri import Parcellate, read_fmri_dir
    from ..simulate.fmri import simulate_responses

    if args.data_dir is None:
        sim = dict(n_subjects=3 if args.quick else 5, n_stimuli=60 if args.quick else 200, n_repeats=2,
                   n_parcels=100 if args.quick else 300, embed_dim=32, snr=args.snr, random_state=args.seed)
        responses, _ = simulate_responses(**sim)
        note = (f"SIMULATED fMRI responses ({sim['n_subjects']} subjects, {sim['n_stimuli']} stimuli x "
                f"{sim['n_repeats']} repeats, {sim['n_parcels']} parcels, snr {args.snr:g}, seed {args.seed}; "
                "neuroaffect.simulate.fmri): a demonstration of the pipeline, not a result about real brains. "
                "Pass --data-dir to use real data.")
        return responses, note, True
    scale = None  # NSD files: their own vad_scale attribute; BIDS events: SAM 1-9
    if args.scale_low is not None or args.scale_high is not None:
        low = 1.0 if args.scale_low is None else args.scale_low
        high = 9.0 if args.scale_high is None else args.scale_high
        scale = RatingScale(f"VAD {low:g}-{high:g}", low, high)
    confounds = None if args.confounds == "none" else args.confounds
    responses, _ = read_fmri_dir(args.data_dir, Parcellate(args.atlas), method=args.method, vad_scale=scale,
                                 confounds=confounds)
    return responses, f"Data: {args.data_dir}", False


@releases_output_locks
def main(argv=None) -> int:
    """Run the recipe; returns the exit code."""
    from ..evaluation import write_report
    from ..fmri import VAD_NAMES, evaluate_vad

    args = (parser := _parser()).parse_args(argv)
    check_run_options(parser, args)  # --data-dir exists, --out writable and locked for this run
    t0 = time.perf_counter()
    responses, note, simulated = _data(args)
    if not args.keep_repeats:
        responses = responses.average_repeats()
    protocols = ["within-subject", "cross-subject"] if args.protocol == "both" else [args.protocol]
    if args.protocol == "both" and len(responses.subjects) < 2:
        protocols = ["within-subject"]
    print(f"fmri-vad: {responses.n_stimuli} stimulus responses x {responses.n_features} features, "
          f"{len(responses.subjects)} subject(s); scale {responses.vad_scale.name}"
          + (" (simulated)" if simulated else ""))
    runs, pairs, rows = [], [], []
    for protocol in protocols:
        res = evaluate_vad(responses, protocol=protocol, n_splits=args.n_splits,
                           stimulus_disjoint=not args.not_stimulus_disjoint, random_state=args.seed,
                           results_dir=args.out, n_jobs=args.n_jobs, progress=not args.quiet,
                           n_permutations=args.n_permutations)
        for dim in VAD_NAMES:
            pairs.append((len(runs), len(runs) + 1))
            runs += [res["runs"][dim], res["baseline_runs"][dim]]
            m, b = res["mean"][dim], res["baseline"][dim]
            rows.append((res["protocol"], dim, m["ccc"]["mean"], m["pearson_r"]["mean"], m["rmse"]["mean"],
                         b["rmse"]["mean"], res["chance"][dim]["chance"], res["chance"][dim]["group_p_value"]))
    notes = [note, "fMRI mapping: a 'window' is one stimulus response (one beta or repeat-averaged beta), a "
                   "'trial' is one stimulus of one subject (its repeats share a trial key and are averaged at "
                   "trial level), 'electrodes' are parcels. Runs alternate: ridge decoder, then the "
                   "training-mean baseline (DummyRegressor) on the same splits; comparisons pair them."]
    write_report(runs, args.out, title="neuroaffect fMRI: valence, arousal, dominance (regression), ridge on parcels",
                 notes=notes, compare=pairs)
    print(f"{'protocol':>38}  {'dimension':>9}  {'CCC':>6}  {'chance':>6}  {'p':>6}  {'r':>6}  {'RMSE':>6}  "
          f"{'RMSE(mean)':>10}")
    for p, dim, ccc, r, rmse, base, chance, p_value in rows:
        p_text = "n/a" if p_value is None else f"{p_value:.3g}"
        print(f"{p:>38}  {dim:>9}  {ccc:6.3f}  {chance:6.3f}  {p_text:>6}  {r:6.3f}  {rmse:6.3f}  {base:10.3f}")
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
