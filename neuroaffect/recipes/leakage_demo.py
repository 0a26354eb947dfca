"""Recipe: the same data, the same model, the leaky and the leakage-free protocol side by side.

This is the library's headline demonstration (and the main job of ``neuroaffect run``): with each
subject's windows shuffled into k folds (the protocol behind the field's ~99% subject-dependent
results), a model scores far above what it scores when whole trials are held out, because windows
of one trial share a trial-specific signal. Both protocols work in the same scope (within subject
against within subject; pooled against pooled for a pooled ``--protocol``), so the gap is leakage
alone, not pooled against subject-specific training. Each run has its permutation chance level,
and the baselines (``--baselines``) run beside them. Without ``--data-dir`` it runs on simulated
DEAP-format data with a real valence effect (the positive control: the leakage-free score is
above chance) and trial fingerprints (the leak inflates it).
"""

from __future__ import annotations

import time
from pathlib import Path

from .._atomic import releases_output_locks
from ._eeg import (
    build_parser,
    check_args,
    cross_validate,
    dataset_key,
    dataset_name,
    fill_dataset_defaults,
    load_windows,
    make_model,
    prepare_data,
    run_baselines,
    simulated_note,
    within_subject_datasets,
)


def leaky_protocol(protocol: str) -> str:
    """The leaky counterpart of ``protocol`` in the same scope: within-subject or pooled segment k-fold."""
    from ..evaluation import get_protocol

    return "leaky-within-subject-kfold" if get_protocol(protocol).scope == "subject" else "leaky-segment-kfold"


@releases_output_locks
def main(argv=None) -> int:
    """Run both protocols, write one report with both, print the comparison (returns the exit code)."""
    from ..evaluation import write_report
    from ..evaluation.report import load_results, summary_text

    # --sfreq is always offered: --dataset may be SEED-IV, whose real files need it (check_args).
    # dataset=None: --target, --task and --protocol default to None and are filled in for --dataset
    # below, so that a value the user typed is kept even where it equals another dataset's default.
    parser = build_parser(None, prog="neuroaffect run leakage-demo", sfreq=True,
                          description="Leaky vs leakage-free evaluation of the same model on the same data.")
    parser.add_argument("--dataset", default="deap", type=dataset_name,
                        choices=tuple(dataset_name(name) for name in within_subject_datasets()),
                        help="dataset format ('seed_iv' is accepted for 'seed-iv')")
    parser.set_defaults(n_permutations=None)
    args = parser.parse_args(argv)
    dataset = dataset_key(args.dataset)
    check_args(parser, dataset, args)
    fill_dataset_defaults(dataset, args)
    if args.n_permutations is None:
        args.n_permutations = 2 if args.quick else 20
    from ..evaluation import get_protocol

    if not get_protocol(args.protocol).leakage_free:
        parser.error(f"--protocol {args.protocol}: --protocol is the leakage-free side of the comparison; its leaky "
                     f"counterpart always runs as the other side.")
    leaky = leaky_protocol(args.protocol)
    progress = not args.quiet
    out = args.out or Path("neuroaffect-results") / "leakage-demo"
    timings = {}

    t0 = time.perf_counter()
    data_dir, simulated, sim = prepare_data(dataset, args, progress=progress)
    timings["simulate"] = time.perf_counter() - t0
    from ..estimators import ESTIMATORS

    windows, t = load_windows(dataset, data_dir, args, simulated=simulated, progress=progress, parser=parser)
    timings.update(t)
    tokens = windows[ESTIMATORS[args.model].features]
    results = []
    for protocol in (args.protocol, leaky):
        t1 = time.perf_counter()
        est = make_model(args.model, args.task, args.model_param, tokens, args.seed, parser=parser)
        print(f"Cross-validating: {protocol}{' (LEAKY)' if protocol == leaky else ''} ...", flush=True)
        results.append(cross_validate(tokens, est, args, out, progress=progress, protocol=protocol, name=args.model))
        timings[f"cv {protocol}"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    baselines = run_baselines(args, windows, out, progress=progress)
    timings["baselines"] = time.perf_counter() - t1
    notes = [simulated_note(dataset, sim)] if simulated else [f"Data: {data_dir}"]
    notes.append(f"Run 1 ({leaky}) shuffles {'each subject' if results[0].config['scope'] == 'subject' else 'all subjects'}"
                 "'s windows into folds at random, so windows of the same trial are in train and test: its scores "
                 "measure trial identification, not emotion recognition. Run 0 keeps whole trials out of training "
                 "(leakage-free), in the same scope.")
    t2 = time.perf_counter()
    write_report([*results, *baselines], out, title=f"Leakage demonstration: {dataset_name(dataset).upper()} {args.target} ({args.task}), {args.model}",
                 notes=notes)
    timings["report"] = time.perf_counter() - t2

    doc = load_results(out)
    print()
    print(summary_text(doc))
    clean, leaky = results
    m = clean.config["metric"]
    print()
    print(f"Leaky {leaky.config['protocol']}: {leaky.summary['window'][m]['mean']:.3f}   "
          f"leakage-free {clean.config['protocol']}: {clean.summary['window'][m]['mean']:.3f}   ({m}, window level)")
    if args.n_permutations:
        print(f"With whole-trial labels shuffled, the leaky protocol scores {leaky.summary['chance'][m]:.3f} "
              f"(its permutation chance level; leakage-free: {clean.summary['chance'][m]:.3f}): what it learns from "
              "a trial carries over to that trial's other windows whatever the label.")
    print("The difference is what trial leakage adds; only the leakage-free number estimates decoding of affect.")
    if simulated:
        print("(simulated data: pass --data-dir for the real dataset)")
    print(f"Report: {(out / 'report.html').resolve()}  (also report.md, results.json)")
    print("Time (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
