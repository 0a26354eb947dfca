"""The ``neuroaffect`` command.

``neuroaffect run [recipe] [options]``      run a recipe (no recipe: the leakage demonstration on
                                            simulated DEAP-format data)
``neuroaffect simulate <dataset> --out DIR`` write a simulated dataset in a dataset's file format
                                            (EEG: deap, seed, seed-iv, dreamer; fMRI: fmri-bids, fmri-nsd)
``neuroaffect report <results-dir>``        re-render a report from its results.json
``neuroaffect audit <split-file>``          say what a split file from another tool leaks
                                            (exit 0: clean, 1: leaky)
``neuroaffect recipes``                     list the recipes

Errors in the command line (unknown recipe or option, a bad option value, a missing ``--data-dir``,
an ``--out`` that is a file, cannot be written or is being written by another run, a misspelt
``--target``, an unknown estimator parameter, a CUDA device without a GPU, an unknown subject id,
more ``--n-splits`` than a subject's trials, a missing results folder) are reported as one line
``neuroaffect <command>: error: ...`` on stderr with exit status 2, before any computation where
the options alone tell (:func:`neuroaffect.recipes._eeg.check_args`), else as soon as the data
are read. Any other exception (a data problem or a bug) is one line
``neuroaffect <command>: error: <type>: <message> (run with --debug for the traceback)`` with exit
status 1; ``--debug`` anywhere on the command line shows the traceback instead, and debug log
messages. Ctrl-C ends with ``interrupted`` and exit status 130.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._atomic import releases_output_locks

#: What ``neuroaffect simulate`` writes besides the EEG datasets with a simulated stand-in.
_SIMULATE_FMRI = ("fmri-bids", "fmri-nsd")


def _simulate_datasets() -> tuple[str, ...]:
    """``neuroaffect simulate``'s datasets: each registered EEG dataset with a simulated stand-in
    (public spelling, registry order), then the fMRI layouts."""
    from .io import DATASETS
    from .recipes import SIMULATED

    return (*(spec.public_name for spec in DATASETS.values() if SIMULATED[spec.name] is not None), *_SIMULATE_FMRI)


def _parser() -> argparse.ArgumentParser:
    from . import __version__
    from .recipes import dataset_name, int_at_least, positive_float

    p = argparse.ArgumentParser(
        prog="neuroaffect",
        description="Decode affect from EEG and fMRI with leakage-free evaluation.",
        epilog="Run 'neuroaffect run <recipe> --help' for a recipe's options. "
               "With no recipe, 'neuroaffect run' runs the leakage demonstration on simulated data.",
    )
    p.add_argument("--version", action="version", version=f"neuroaffect {__version__}")
    p.add_argument("--debug", action="store_true",
                   help="on an error, print the full traceback (and log debug messages); accepted anywhere")
    sub = p.add_subparsers(dest="command", metavar="{run,simulate,report,audit,recipes}")
    run = sub.add_parser("run", help="run a recipe (default: leakage-demo)", add_help=False)
    run.add_argument("recipe", nargs="?")
    sim = sub.add_parser("simulate", help="write a simulated dataset in a dataset's file layout")
    # type: any spelling of a dataset ("seed_iv") becomes the public one ("seed-iv") before choices
    sim.add_argument("dataset", type=dataset_name, choices=_simulate_datasets())
    sim.add_argument("--out", type=Path, required=True, help="output folder")
    sim.add_argument("--subjects", type=int_at_least(1), default=None,
                     help="number of subjects (default: the real dataset's)")
    sim.add_argument("--trials", type=int_at_least(1), default=None,
                     help="trials per subject and session (fmri-*: stimuli per subject)")
    sim.add_argument("--trial-duration", type=positive_float, default=None, help="seconds per trial")
    sim.add_argument("--resolution", type=int_at_least(1), default=None, help="fmri-bids: voxel size in mm (default 6)")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--quiet", action="store_true", help="no progress bar")
    sim.set_defaults(error=sim.error)  # option combinations checked in _simulate: exit 2 like argparse
    rep = sub.add_parser("report", help="re-render report.md, figures and report.html from results.json")
    rep.add_argument("results_dir", type=Path)
    aud = sub.add_parser(
        "audit", help="say what the train/test splits of a split file leak (exit 0: clean, 1: leaky)",
        description="Audit train/test splits made by another tool. The file (.json or .npz) holds the "
                    "windows' trial keys, the train and test window indices of each fold and optionally "
                    "each window's start and stop sample; see neuroaffect.evaluation.read_split_file.",
    )
    aud.add_argument("split_file", type=Path)
    sub.add_parser("recipes", help="list the recipes")
    return p


def main(argv=None) -> int:
    """Entry point of the ``neuroaffect`` command; returns the exit code.

    Usage errors raise ``SystemExit(2)`` after one line on stderr (argparse's way); other
    exceptions are printed as one line and give 1, unless ``--debug`` is on the command line.
    """
    from ._logging import use_log_level

    argv = list(sys.argv[1:] if argv is None else argv)
    end = argv.index("--") if "--" in argv else len(argv)
    debug = "--debug" in argv[:end]
    if debug:
        argv = [a for a in argv[:end] if a != "--debug"] + argv[end:]
    prog = _prog(argv)
    try:
        with use_log_level("DEBUG" if debug else None):
            return _main(argv)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 (the command's last line of defence)
        if debug:
            raise
        message = " ".join(str(err).split()) or "(no message)"
        print(f"{prog}: error: {type(err).__name__}: {message} (run with --debug for the traceback)", file=sys.stderr)
        return 1


def _prog(argv) -> str:
    """The command's name for error lines: "neuroaffect run deap", "neuroaffect simulate", ..."""
    if not argv or argv[0] not in ("run", "simulate", "report", "audit", "recipes"):
        return "neuroaffect"
    if argv[0] == "run":
        from .recipes import DEFAULT_RECIPE

        recipe = argv[1] if len(argv) > 1 and not argv[1].startswith("-") else DEFAULT_RECIPE
        return f"neuroaffect run {recipe.replace('_', '-')}"
    return f"neuroaffect {argv[0]}"


def _main(argv) -> int:
    if argv and argv[0] == "run":
        return _run(argv[1:])
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 0
    if args.command == "recipes":
        from .recipes import DEFAULT_RECIPE, RECIPES

        for name in RECIPES:
            print(f"{name}{'  (default of neuroaffect run)' if name == DEFAULT_RECIPE else ''}")
        return 0
    if args.command == "simulate":
        return _simulate(args)
    if args.command == "audit":
        return _audit(args.split_file)
    return _report(args.results_dir)


def _run(rest) -> int:
    from .recipes import DEFAULT_RECIPE, RECIPES, run_recipe

    if rest and not rest[0].startswith("-"):
        name, rest = rest[0], rest[1:]
    else:
        name = DEFAULT_RECIPE
    if name.replace("_", "-") not in RECIPES:
        print(f"neuroaffect run: error: unknown recipe {name!r}; choose from: {', '.join(RECIPES)}", file=sys.stderr)
        return 2
    return run_recipe(name, rest)


@releases_output_locks
def _simulate(args) -> int:
    import neuroaffect.simulate as simulate

    if args.dataset.startswith("fmri-"):
        return _simulate_fmri(args)
    if args.resolution is not None:
        args.error("--resolution applies to fmri-bids only.")
    from .io import get_dataset
    from .recipes import SIMULATED

    spec = get_dataset(args.dataset)
    dataset = spec.name
    complete = spec.trials_per_session  # the readers refuse shorter sessions
    if args.trials is not None and complete is not None and args.trials != complete:
        args.error(f"--trials {args.trials}: every {args.dataset.upper()} session holds {complete} trials and its reader "
                   f"refuses shorter sessions (truncated files); omit --trials or pass {complete}.")
    _claim_simulate_out(args)
    kwargs = {"seed": args.seed, "progress": not args.quiet}
    # SEED-IV files do not record their rate and the recipes need it with --data-dir: write at the
    # rate the recipes read simulated SEED-IV data at (200 Hz) and print it in the next command.
    rate = SIMULATED[dataset]["reader"].get("sfreq")
    if rate is not None:
        kwargs["sfreq"] = rate
    if args.subjects is not None:
        kwargs["n_subjects"] = args.subjects
    if args.trials is not None:
        kwargs["n_trials"] = args.trials
    if args.trial_duration is not None:
        kwargs["trial_duration"] = args.trial_duration
    data_dir = getattr(simulate, f"write_{dataset}")(args.out, **kwargs)
    print(f"Wrote simulated {args.dataset.upper()} data to {data_dir}")
    print(f"Next: neuroaffect run {args.dataset} --data-dir {data_dir}" + (f" --sfreq {rate:g}" if rate else ""))
    return 0


def _simulate_fmri(args) -> int:
    """fmri-bids: BIDS runs (NIfTI, events with VAD, confounds); fmri-nsd: NSD-style HDF5 betas.
    ``--trials`` is the number of distinct stimuli per subject; ``--trial-duration`` is ignored."""
    from .simulate.fmri import write_bids_fmri, write_nsd_fmri

    if args.trial_duration is not None:
        args.error("--trial-duration applies to the EEG datasets only.")
    if args.resolution is not None and args.dataset != "fmri-bids":
        args.error("--resolution applies to fmri-bids only.")
    _claim_simulate_out(args)
    kwargs = {"random_state": args.seed}
    if args.subjects is not None:
        kwargs["n_subjects"] = args.subjects
    if args.trials is not None:
        kwargs["n_stimuli"] = args.trials
    if args.dataset == "fmri-bids":
        if args.resolution is not None:
            kwargs["resolution"] = args.resolution
        root, _ = write_bids_fmri(args.out, **kwargs)
    else:
        root, _ = write_nsd_fmri(args.out, **kwargs)
    print(f"Wrote simulated {args.dataset} data to {root}")
    print(f"Next: neuroaffect run fmri-vad --data-dir {root}   (or: neuroaffect run fmri-semantic --data-dir {root})")
    return 0


def _claim_simulate_out(args) -> None:
    """``--out``: a folder that can be written, locked while the data are written (exit 2 otherwise)."""
    from .recipes import check_run_options

    # check_run_options reports through .error: the simulate parser's (prog "neuroaffect simulate")
    check_run_options(argparse.Namespace(error=args.error), argparse.Namespace(out=args.out, data_dir=None))


def _report(results_dir: Path) -> int:
    from .evaluation.report import load_results, render_report, summary_text

    if not (results_dir / "results.json").is_file():
        what = "no such folder" if not results_dir.exists() else "no results.json in it"
        print(f"neuroaffect report: error: {results_dir}: {what}; expected the --out folder of a "
              "'neuroaffect run' (with its results.json).", file=sys.stderr)
        return 2

    path = render_report(results_dir)
    print(summary_text(load_results(results_dir)))
    print(f"Report: {path.with_suffix('.html').resolve()}  (and {path.name})")
    return 0


def _audit(path: Path) -> int:
    """One line per fold, then a verdict; 0 when no fold shares a trial, 1 otherwise, 2 for a bad file."""
    import numpy as np

    from .evaluation.splitters import audit_split, read_split_file

    try:
        splits = read_split_file(path)
    except ValueError as err:
        print(f"neuroaffect audit: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    keys = splits["trial_key"]
    spans = splits["start"] is not None
    # Without spans, give every window its own span: only shared trials are measured.
    start = splits["start"] if spans else np.arange(len(keys))
    stop = splits["stop"] if spans else np.arange(len(keys)) + 1
    print(f"{path}: {len(keys)} windows, {len(np.unique(keys))} trials, {len(splits['folds'])} folds"
          + ("" if spans else " (no start/stop: overlapping windows not measured)"))
    leaky = 0
    for fold, (train, test) in enumerate(splits["folds"]):
        audit = audit_split(keys, start, stop, train, test)
        line = (f"fold {fold}: {audit.n_train_windows} train / {audit.n_test_windows} test windows, "
                f"{audit.n_train_trials} / {audit.n_test_trials} trials: ")
        if audit.clean:
            line += "clean"
        else:
            leaky += 1
            shared = np.intersect1d(keys[train], keys[test])
            line += (f"LEAKY: {audit.shared_trials} trial(s) in train and test (first {str(shared[0])!r}), "
                     f"{audit.leaked_test_fraction:.1%} of test windows leaked")
            if spans:
                line += f", {audit.overlapping_test_fraction:.1%} overlap a training window"
        print(line)
    if leaky:
        print(f"LEAKY: {leaky} of {len(splits['folds'])} folds share trials between train and test.")
        return 1
    print("clean: no fold shares a trial between train and test.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
