"""Recipe: decode valence, arousal and dominance from fMRI parcel responses.

``neuroaffect run fmri-vad [--data-dir DIR] [--out FILE] [--quick]``

Without ``--data-dir`` the fMRI simulator provides the data (VAD derived from the stimulus
embeddings through a known map). With ``--data-dir``: a BIDS folder whose ``events.tsv`` carry
``valence``, ``arousal`` and ``dominance`` columns (on ``--scale-low``..``--scale-high``), or an
NSD-style folder of ``*_betas.h5`` files with a ``vad`` dataset.

Protocols (folds never share a stimulus): subject-dependent k-fold over stimuli, and cross-subject
leave-one-subject-out whose test stimuli are also held out of the training subjects. Decoder: ridge
on parcels (standardised; alpha by leave-one-out). Scores per subject: RMSE (scale units), Pearson r,
CCC, next to a training-mean baseline.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _parser():
    p = argparse.ArgumentParser(prog="neuroaffect run fmri-vad", description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", type=Path, help="BIDS or NSD-style folder (default: simulated data)")
    p.add_argument("--out", type=Path, default=Path("fmri_vad.json"), help="JSON result file")
    p.add_argument("--quick", action="store_true", help="small simulated data (a smoke run)")
    p.add_argument("--atlas", default="seitzman300", help="parcellation for BIDS data")
    p.add_argument("--method", default="glm", choices=("glm", "lagged-mean"))
    p.add_argument("--scale-low", type=float, default=1.0)
    p.add_argument("--scale-high", type=float, default=9.0)
    p.add_argument("--n-splits", type=int, default=5)
    p.add_argument("--snr", type=float, default=0.25, help="simulator signal-to-noise ratio")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv=None) -> int:
    """Run the recipe; returns the exit code."""
    from ..affect.scales import RatingScale
    from ..fmri import VAD_NAMES, Parcellate, evaluate_vad, read_bids_fmri, read_fmri_dir
    from ..fmri.io import write_json_atomic
    from ..simulate.fmri import simulate_responses

    args = _parser().parse_args(argv)
    if args.data_dir is None:
        responses, _ = simulate_responses(
            n_subjects=3 if args.quick else 5, n_stimuli=60 if args.quick else 200, n_repeats=2,
            n_parcels=100 if args.quick else 300, embed_dim=32, snr=args.snr, random_state=args.seed)
        source = f"simulated (snr={args.snr})"
    else:
        scale = RatingScale(f"VAD {args.scale_low:g}-{args.scale_high:g}", args.scale_low, args.scale_high)
        if sorted(args.data_dir.glob("*_betas.h5")):
            responses, _ = read_fmri_dir(args.data_dir)
        else:
            responses = read_bids_fmri(args.data_dir, Parcellate(args.atlas), method=args.method,
                                       vad_scale=scale)
        source = str(args.data_dir)
    responses = responses.average_repeats()
    protocols = ["within-subject"] + (["cross-subject"] if len(responses.subjects) > 1 else [])
    results = {}
    print(f"fmri-vad on {source}: {responses.n_stimuli} stimulus responses x {responses.n_features} "
          f"features, {len(responses.subjects)} subject(s); scale {responses.vad_scale.name}")
    print(f"{'protocol':>15}  {'dimension':>9}  {'RMSE':>6}  {'r':>6}  {'CCC':>6}  {'RMSE(mean)':>10}")
    for protocol in protocols:
        res = evaluate_vad(responses, protocol=protocol, n_splits=args.n_splits, random_state=args.seed)
        res.pop("predictions")
        results[protocol] = res
        for dim in VAD_NAMES:
            m, b = res["mean"][dim], res["baseline"][dim]
            print(f"{protocol:>15}  {dim:>9}  {m['rmse']['mean']:6.3f}  {m['pearson_r']['mean']:6.3f}  "
                  f"{m['ccc']['mean']:6.3f}  {b['rmse']['mean']:10.3f}")
    doc = {"recipe": "fmri-vad", "source": source, "decoder": "StandardScaler + RidgeCV on parcels",
           "n_stimuli": responses.n_stimuli, "n_features": responses.n_features, "results": results}
    write_json_atomic(args.out, doc)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
