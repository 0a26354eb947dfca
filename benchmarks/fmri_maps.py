"""fMRI maps benchmark: a planted brain-behaviour effect recovered, a null effect calibrated.

    python benchmarks/fmri_maps.py [--subjects 40] [--effect 2.0] [--permutations 100]
                                   [--null-datasets 40] [--null-permutations 40] [--seed 0]

Positive control: ``--subjects`` subject-level maps simulated with
:func:`neuroaffect.simulate.fmri.write_fmri_maps` (Analyze files stored LAS, NaN outside the brain, a
right-hemisphere blob whose amplitude follows the score), read back through
:func:`neuroaffect.fmri.read_fmri_maps` (Seitzman parcels, and whole-brain voxels), and decoded by
the shared runner (5 folds of whole subjects, Pearson r primary, ``--permutations`` whole-subject
label permutations for the p-value and the empirical chance of r).

Null: ``--null-datasets`` independent simulations with ``effect_size=0`` (ridge on parcels,
``--null-permutations`` each): the mean r should sit at the mean permutation chance (not at 0),
and the p-values should be uniform (about 5% below 0.05, 20% below 0.2).

Prints tables and the total time.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def _cv(tokens, estimator, n_permutations, protocol="within-subject-kfold"):
    from neuroaffect.evaluation import cross_validate_subjects

    res = cross_validate_subjects(tokens, estimator, target="score", task="regression", protocol=protocol,
                                  n_splits=5, metric="pearson_r", n_permutations=n_permutations, progress=False)
    row = res.subjects[0]
    return row["window"]["pearson_r"], row.get("p_value", float("nan")), res.summary["chance"]["pearson_r"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--subjects", type=int, default=40)
    p.add_argument("--effect", type=float, default=2.0)
    p.add_argument("--permutations", type=int, default=100)
    p.add_argument("--null-datasets", type=int, default=40)
    p.add_argument("--null-permutations", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    logging.getLogger("neuroaffect").setLevel(logging.WARNING)

    from neuroaffect.fmri import (
        Parcellate,
        StimulusResponses,
        make_decoder,
        maps_to_tokens,
        read_fmri_maps,
    )
    from neuroaffect.simulate.fmri import simulate_maps, write_fmri_maps

    t0 = time.perf_counter()
    print(f"Planted effect: {args.subjects} subjects, effect size {args.effect:g} (noise SDs per score SD), "
          f"5 folds of subjects, {args.permutations} permutations")
    print(f"{'features':>26}  {'estimator':>10}  {'r':>6}  {'p':>7}  {'chance r':>8}  {'seconds':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        root, table, _ = write_fmri_maps(Path(tmp), n_subjects=args.subjects, effect_size=args.effect,
                                         file_format="analyze", orientation="LAS", random_state=args.seed)
        parcels = read_fmri_maps(root, table, parcellate="seitzman300")
        voxels = read_fmri_maps(root, table, parcellate="voxels")
    runs = [("Seitzman 300 parcels", parcels, "ridge"), ("Seitzman 300 parcels", parcels, "lasso-pcr"),
            (f"{voxels.n_features} voxels (6 mm)", voxels, "lasso-pcr")]
    for label, responses, name in runs:
        start = time.perf_counter()
        r, pv, chance = _cv(maps_to_tokens(responses, "score"), make_decoder(name), args.permutations)
        print(f"{label:>26}  {name:>10}  {r:6.3f}  {pv:7.4f}  {chance:8.3f}  {time.perf_counter() - start:7.1f}")

    print(f"\nNull effect: {args.null_datasets} simulations x {args.subjects} subjects, ridge on Seitzman parcels, "
          f"{args.null_permutations} permutations each")
    start = time.perf_counter()
    parcellate, rs, ps, chances = None, [], [], []
    for k in range(args.null_datasets):
        maps, truth = simulate_maps(args.subjects, effect_size=0.0, random_state=args.seed + 1000 + k)
        parcellate = parcellate or Parcellate("seitzman300").fit(maps[0])
        responses = StimulusResponses.from_arrays(parcellate.transform(maps), np.full(len(maps), "map"),
                                                  subject=truth.table["subject"].to_numpy(),
                                                  targets={"score": truth.table["score"].to_numpy()})
        r, pv, chance = _cv(maps_to_tokens(responses, "score"), make_decoder("ridge"), args.null_permutations)
        rs.append(r)
        ps.append(pv)
        chances.append(chance)
    rs, ps, chances = map(np.asarray, (rs, ps, chances))
    print(f"{'mean r':>8}  {'sd r':>6}  {'mean chance r':>13}  {'mean p':>6}  {'p<0.05':>6}  {'p<0.2':>6}  {'seconds':>7}")
    print(f"{rs.mean():8.3f}  {rs.std(ddof=1):6.3f}  {chances.mean():13.3f}  {ps.mean():6.3f}  "
          f"{(ps < 0.05).mean():6.2f}  {(ps < 0.2).mean():6.2f}  {time.perf_counter() - start:7.1f}")
    print(f"\nTotal (s): {time.perf_counter() - t0:.1f}")


if __name__ == "__main__":
    main()
