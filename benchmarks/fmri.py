"""fMRI benchmarks: parcel extraction on a 300-volume 2 mm run, contrastive training throughput,
and VAD decoders compared on the fMRI-VAD simulator.

    python benchmarks/fmri.py [--volumes 300] [--resolution 2] [--samples 2000] [--threads N]
    python benchmarks/fmri.py --vad [--threads 1] [--epochs 100] [--protocols within-subject,cross-subject]

Prints a table. The run is simulated in nilearn's MNI152 2 mm grid (99 x 117 x 95 voxels in
nilearn >= 0.10's 2009 template) with :func:`neuroaffect.simulate.fmri.simulate_run`.

``--vad`` instead compares the VAD estimators of ``neuroaffect run fmri-vad`` on its default
simulated data (5 subjects, 200 stimuli x 2 repeats averaged, 300 parcels, snr 0.25, seed 0) through
:func:`neuroaffect.fmri.evaluate_vad` (5 folds of stimuli, the same splits for every estimator):
ridge on parcels, the contrastive encoder with a ridge VAD head and with the nearest rated stimuli
(:class:`neuroaffect.fmri.ContrastiveVADRegressor`), and the ridge encoder with a ridge head (a
reference for the embedding route), with the training-mean baseline.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def _run_image(n_volumes, resolution, seed=0):
    from nilearn.datasets import load_mni152_brain_mask

    from neuroaffect.fmri.parcels import coordinate_atlas
    from neuroaffect.simulate.fmri import _blob_patterns, make_ground_truth, simulate_run

    seeds, _, _ = coordinate_atlas("seitzman300")
    t_r, mean_gap = 2.0, 2.0 + 4.5
    n_trials = int(np.ceil((n_volumes * t_r - 22.0) / mean_gap)) + 10
    truth = make_ground_truth(1, len(seeds), n_trials, embed_dim=32, seeds=seeds, random_state=seed)
    mask = load_mni152_brain_mask(resolution=resolution)
    ijk, patterns = _blob_patterns(mask, seeds, 10.0)
    img, events, _ = simulate_run(truth, 0, list(truth.stimulus), mask=mask, ijk=ijk, patterns=patterns,
                                  t_r=t_r, random_state=seed)
    return img.slicer[..., :n_volumes], mask


def _time(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def vad_comparison(args):
    """CCC, r, RMSE (means over subjects) and seconds of each VAD estimator; prints a table."""
    from neuroaffect.fmri import (
        ContrastiveEncoder,
        ContrastiveVADRegressor,
        RidgeEncoder,
        StimulusEmbeddings,
        evaluate_vad,
        make_vad_decoder,
    )
    from neuroaffect.simulate.fmri import simulate_responses

    responses, truth = simulate_responses(n_subjects=5, n_stimuli=200, n_repeats=2, n_parcels=300, embed_dim=32,
                                          snr=args.snr, random_state=args.seed)
    responses = responses.average_repeats()
    emb = StimulusEmbeddings(truth.stimulus, truth.embeddings)

    def contrastive(head):
        encoder = ContrastiveEncoder(max_epochs=args.epochs, n_threads=args.threads or 1, device=args.device)
        return ContrastiveVADRegressor(emb, encoder, head=head, random_state=args.seed)

    estimators = {
        "ridge on parcels": make_vad_decoder,
        "contrastive + ridge head": lambda: contrastive("ridge"),
        "contrastive + nearest rated stimuli": lambda: contrastive("nearest"),
        "ridge encoder + ridge head": lambda: ContrastiveVADRegressor(emb, RidgeEncoder(), random_state=args.seed),
    }
    rows = []
    for protocol in args.protocols.split(","):
        for k, (name, make) in enumerate(estimators.items()):
            start = time.perf_counter()
            res = evaluate_vad(responses, make(), protocol=protocol, n_splits=5, random_state=args.seed,
                               baseline=k == 0)
            seconds = time.perf_counter() - start
            if k == 0:
                base = res["baseline"]
            rows.append((res["protocol"], name, res["mean"], seconds))
        rows.append((res["protocol"], "training mean (baseline)", base, float("nan")))
    print(f"fMRI VAD decoders: {responses.n_stimuli} responses x {responses.n_features} parcels, "
          f"{len(responses.subjects)} subjects, snr {args.snr:g}, seed {args.seed}; {os.cpu_count()} CPU(s), "
          f"torch threads {args.threads or 1}, {args.epochs} epochs")
    print(f"{'protocol':<38} {'estimator':<36} {'CCC v/a/d':<20} {'r v/a/d':<20} {'RMSE v/a/d':<20} seconds")
    for protocol, name, mean, seconds in rows:
        cells = ["/".join(f"{mean[d][m]['mean']:.3f}" for d in ("valence", "arousal", "dominance"))
                 for m in ("ccc", "pearson_r", "rmse")]
        print(f"{protocol:<38} {name:<36} {cells[0]:<20} {cells[1]:<20} {cells[2]:<20} {seconds:7.1f}")
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--volumes", type=int, default=300)
    p.add_argument("--resolution", type=int, default=2)
    p.add_argument("--samples", type=int, default=2000, help="training samples for the encoders")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--vad", action="store_true", help="compare the fMRI-VAD estimators instead")
    p.add_argument("--protocols", default="within-subject,cross-subject", help="--vad: protocols")
    p.add_argument("--snr", type=float, default=0.25, help="--vad: simulator signal-to-noise ratio")
    p.add_argument("--seed", type=int, default=0, help="--vad: simulator and CV seed")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    if args.vad:
        if "--epochs" not in (argv if argv is not None else __import__("sys").argv[1:]):
            args.epochs = 100  # the fmri-vad recipe's default (the throughput part uses 5)
        return vad_comparison(args)
    import nibabel as nib
    import torch

    from neuroaffect.fmri import ContrastiveEncoder, Parcellate, RidgeEncoder

    rows = []
    start = time.perf_counter()
    img, mask = _run_image(args.volumes, args.resolution)
    rows.append(("simulate run", f"{img.shape} float32", time.perf_counter() - start, ""))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bold.nii.gz"
        start = time.perf_counter()
        nib.save(img, path)
        rows.append(("save .nii.gz", f"{path.stat().st_size / 1e6:.0f} MB", time.perf_counter() - start, ""))
        for atlas in ("seitzman300", "power264", "dosenbach160"):
            parc = Parcellate(atlas).fit(img)
            t, signals = _time(lambda parc=parc: parc.transform(img), repeat=1)
            rows.append((f"parcels {atlas} (first call)", f"in memory -> {signals.shape}", t,
                         f"{args.volumes / t:.0f} vol/s"))
            t, signals = _time(lambda parc=parc: parc.transform(img))
            rows.append((f"parcels {atlas}", f"in memory -> {signals.shape}", t,
                         f"{args.volumes / t:.0f} vol/s"))
        parc = Parcellate("seitzman300").fit(img)
        t, signals = _time(lambda: parc._masker_transform(img), repeat=1)
        rows.append(("  nilearn NiftiSpheresMasker (ref.)", f"in memory -> {signals.shape}", t,
                     f"{args.volumes / t:.0f} vol/s"))
        t, signals = _time(lambda: parc.transform(str(path)), repeat=1)
        rows.append(("parcels seitzman300", f"from .nii.gz (incl. read) -> {signals.shape}", t,
                     f"{args.volumes / t:.0f} vol/s"))
        t, _ = _time(lambda: np.asarray(nib.load(path).dataobj), repeat=1)
        rows.append(("  of which reading the .nii.gz", "nibabel, gzip", t, ""))

    rng = np.random.default_rng(0)
    Y = rng.standard_normal((args.samples, 512))
    X = Y @ rng.standard_normal((512, 300)) + rng.standard_normal((args.samples, 300))
    ContrastiveEncoder(max_epochs=1, n_threads=args.threads, device=args.device).fit(X[:256], Y[:256])  # warm-up
    for name, est in (
        ("contrastive mlp (h=256, 2 blocks)", ContrastiveEncoder(max_epochs=args.epochs, batch_size=128,
                                                                 device=args.device, n_threads=args.threads, random_state=0)),
        ("contrastive mlp, mindeye loss", ContrastiveEncoder(loss="mindeye", max_epochs=args.epochs, batch_size=128,
                                                             device=args.device, n_threads=args.threads, random_state=0)),
        ("contrastive linear", ContrastiveEncoder(projector="linear", max_epochs=args.epochs, batch_size=128,
                                                  device=args.device, n_threads=args.threads, random_state=0)),
    ):
        t, _ = _time(lambda est=est: est.fit(X, Y), repeat=1)
        rows.append((name, f"{args.samples} x 300 -> 512, {args.epochs} epochs", t,
                     f"{args.samples * args.epochs / t:.0f} samples/s"))
    t, _ = _time(lambda: RidgeEncoder().fit(X, Y), repeat=1)
    rows.append(("ridge (RidgeCV, 13 alphas)", f"{args.samples} x 300 -> 512", t, f"{args.samples / t:.0f} samples/s"))

    threads = args.threads or torch.get_num_threads()
    print(f"fMRI benchmark: {os.cpu_count()} CPU(s) visible, torch threads {threads}, device {args.device}")
    print(f"{'step':<36} {'size':<40} {'seconds':>8}  rate")
    for name, size, t, rate in rows:
        print(f"{name:<36} {size:<40} {t:8.3f}  {rate}")
    del mask
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
