"""What every EEG recipe shares: arguments, data (real or simulated), tokens, CV run, report.

Bad option values end as one line ``<prog>: error: ...`` with exit status 2 (argparse's usage
errors): the parser checks types and ranges, and the few errors only found while interpreting the
options (unknown estimator parameters, unknown subject ids) are turned into parser errors by
:func:`option_errors`, which is wrapped around that interpretation only: errors raised later, in
feature computation or cross-validation, keep their traceback.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import json
import os
import time
from pathlib import Path

from .._atomic import write_text_atomic
from .._validation import check_positive

#: Per dataset: the conventional target, task and protocol, the reader's options for the simulated
#: stand-in used when no --data-dir is given (SEED-IV: ``sfreq`` 200 Hz, the rate
#: :func:`neuroaffect.simulate.write_seed_iv` writes at) and that stand-in's size (``quick``: for tests).
DATASETS = {
    "deap": {
        "target": "valence", "task": "binary", "protocol": "within-subject-kfold", "reader": {},
        "simulate": {"n_subjects": 4, "n_trials": 20, "trial_duration": 20.0},
        "quick": {"n_subjects": 3, "n_trials": 10, "trial_duration": 10.0},
    },
    "dreamer": {
        "target": "valence", "task": "binary", "protocol": "within-subject-kfold", "reader": {},
        "simulate": {"n_subjects": 4, "n_trials": 18, "trial_duration": 20.0},
        "quick": {"n_subjects": 2, "n_trials": 18, "trial_duration": 4.0},
    },
    "seed": {
        "target": "emotion", "task": "classes", "protocol": "seed-9-6", "reader": {},
        "simulate": {"n_subjects": 3, "n_trials": 15, "trial_duration": 10.0},
        "quick": {"n_subjects": 1, "n_trials": 15, "trial_duration": 3.0},
    },
    "seed_iv": {
        "target": "emotion", "task": "classes", "protocol": "seed-iv-16-8", "reader": {"sfreq": 200.0},
        "simulate": {"n_subjects": 3, "n_trials": 24, "trial_duration": 8.0},
        "quick": {"n_subjects": 1, "n_trials": 24, "trial_duration": 3.0},
    },
    # Real data only (no simulated stand-in); one recording per condition per subject, so the
    # within-subject protocols cannot keep a test recording out of training.
    "eegmat": {
        "target": "condition", "task": "classes", "protocol": "leave-one-subject-out", "reader": {},
        "simulate": None, "quick": None,
        "no_within_subject": "each EEGMAT condition (rest, arithmetic) is a single recording per subject, "
                             "so a within-subject split cannot hold out a recording of each class; "
                             "use --protocol leave-one-subject-out",
    },
}


def within_subject_datasets() -> tuple[str, ...]:
    """The keys of :data:`DATASETS` whose recordings allow within-subject protocols (not EEGMAT)."""
    return tuple(key for key, settings in DATASETS.items() if not settings.get("no_within_subject"))


def dataset_key(name: str) -> str:
    """The key of :data:`DATASETS` for a dataset name in either spelling ("seed-iv" or "seed_iv")."""
    return name.replace("-", "_")


def dataset_name(name: str) -> str:
    """The public (recipe, ``neuroaffect simulate``) spelling of a dataset name: "seed-iv"."""
    return name.replace("_", "-")


def _needs_sfreq(dataset: str) -> bool:
    return "sfreq" in DATASETS[dataset_key(dataset)]["reader"]


#: Estimators whose network takes raw windows (n_windows, n_channels, n_times), not BDE tokens: the
#: ``model`` of their fixed parameters in :data:`neuroaffect.estimators.ESTIMATORS`
#: (:class:`neuroaffect.estimators.BraindecodeClassifier`: only "dgcnn" takes tokens).
RAW_WINDOW_MODELS = frozenset({"eegnet", "tsception"})


def token_estimators() -> tuple[str, ...]:
    """The names in :data:`neuroaffect.estimators.ESTIMATORS` that take BDE tokens (``--model`` choices).

    The recipes compute tokens (n_windows, n_electrodes, n_bands); EEGNet and TSception take raw
    windows and are left out (see :data:`RAW_WINDOW_MODELS`).

    Returns
    -------
    tuple of str
        In registry order, e.g. ("de-logreg", "de-svm", "transformer", "transformer-reference", "dgcnn").
    """
    from ..estimators import ESTIMATORS

    return tuple(name for name, (_, _, fixed) in ESTIMATORS.items() if fixed.get("model") not in RAW_WINDOW_MODELS)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except None: such an option's help says what its absence means."""

    def _get_help_string(self, action):
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def int_at_least(minimum: int):
    """argparse ``type``: an integer >= ``minimum``."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def n_jobs(text):
    """argparse ``type``: a joblib ``n_jobs`` (a non-zero integer; negative counts from all cores)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-zero integer (-1: all cores), got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("expected a non-zero integer (1: no parallelism, -1: all cores), got 0")
    return value


def positive_float(text):
    """argparse ``type``: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    try:
        return check_positive("value", value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}") from None


@contextlib.contextmanager
def option_errors(parser: argparse.ArgumentParser | None, prefix: str = ""):
    """Report ``ValueError`` / ``TypeError`` raised in the block as ``parser.error`` (exit status 2).

    Wrap only code that interprets command-line options; with ``parser`` None errors pass through.
    """
    try:
        yield
    except (ValueError, TypeError) as err:
        if parser is None:
            raise
        parser.error(f"{prefix}{err}")


def cache_root() -> Path:
    """Folder for simulated data and feature caches (``$NEUROAFFECT_CACHE`` or ``~/.cache/neuroaffect``)."""
    return Path(os.environ.get("NEUROAFFECT_CACHE", Path.home() / ".cache" / "neuroaffect"))


def build_parser(dataset: str | None, *, prog: str, description: str,
                 sfreq: bool | None = None) -> argparse.ArgumentParser:
    """The arguments every EEG recipe takes, with the dataset's conventional defaults.

    Parameters
    ----------
    dataset : str or None
        Dataset whose defaults to use ("seed-iv" and "seed_iv" both accepted). None: for a recipe
        whose dataset is itself an option (one of :func:`within_subject_datasets`), ``--target``, ``--task`` and ``--protocol`` default to
        None, to be filled in by :func:`fill_dataset_defaults` once the dataset is known.
    prog, description : str
        As for ``argparse.ArgumentParser``.
    sfreq : bool or None
        Offer ``--sfreq``: None offers it where ``dataset`` needs it (SEED-IV); True always (for a
        recipe whose dataset is itself an option, checked by :func:`check_args`).

    Returns
    -------
    argparse.ArgumentParser
    """
    from ..evaluation import PROTOCOLS

    if dataset is None:
        d = {name: None for name in ("target", "task", "protocol")}
        per_dataset = {name: " (default: per --dataset: " + ", ".join(
            f"{dataset_name(key)} {DATASETS[key][name]}" for key in within_subject_datasets()) + ")"
            for name in ("target", "task", "protocol")}
    else:
        dataset = dataset_key(dataset)
        d = DATASETS[dataset]
        per_dataset = {name: "" for name in ("target", "task", "protocol")}
    p = argparse.ArgumentParser(prog=prog, description=description, formatter_class=_HelpFormatter)
    p.add_argument("--data-dir", type=Path, default=None,
                   help="the dataset's folder; without it a small SIMULATED dataset in the same format is used")
    p.add_argument("--target", default=d["target"], help="rating to decode" + per_dataset["target"])
    p.add_argument("--task", default=d["task"], choices=("binary", "classes", "regression"),
                   help="what to predict" + per_dataset["task"])
    # cross-dataset needs two datasets (neuroaffect.affect.cross_dataset_cv), not one recipe's data.
    p.add_argument("--protocol", default=d["protocol"], choices=tuple(name for name in PROTOCOLS if name != "cross-dataset"),
                   help="evaluation protocol" + per_dataset["protocol"])
    # EEGNet / TSception take raw windows, not the tokens the recipes compute.
    p.add_argument("--model", default="de-logreg", choices=token_estimators(),
                   help="estimator taking BDE tokens (neuroaffect.estimators.make_estimator)")
    p.add_argument("--model-param", action="append", default=[], metavar="KEY=VALUE",
                   help="estimator parameter, repeatable (e.g. max_epochs=20)")
    p.add_argument("--n-splits", type=int_at_least(2), default=5, help="folds of the k-fold protocols")
    p.add_argument("--n-permutations", type=int_at_least(0), default=0,
                   help="whole-trial label permutations (each re-runs the full CV) for chance level and p-values")
    p.add_argument("--n-jobs", type=n_jobs, default=1, help="parallel (subject, fold) jobs (-1: all cores)")
    p.add_argument("--out", type=Path, default=None, help="report folder (default ./neuroaffect-results/<recipe>)")
    p.add_argument("--subjects", nargs="+", default=None,
                   help="subject ids to use; without --data-dir, one number is how many subjects to simulate "
                        "and several ids select simulated subjects (1, 2, ...)")
    p.add_argument("--window", type=positive_float, default=1.0, help="window length in seconds")
    p.add_argument("--hop", type=positive_float, default=None, help="window hop in seconds (default: the window)")
    p.add_argument("--seed", type=int, default=0, help="random seed (folds, permutations, model, simulation)")
    p.add_argument("--no-feature-cache", action="store_true", help="do not cache BDE tokens on disk")
    if sfreq or (sfreq is None and dataset is not None and _needs_sfreq(dataset)):
        p.add_argument("--sfreq", type=positive_float, default=None,
                       help="SEED-IV with --data-dir only: sampling rate of eeg_raw_data in Hz (required there: "
                            "sources disagree, 200 vs 1000; the simulated data is written at 200 Hz)")
    p.add_argument("--quick", action="store_true", help="tiny simulated data (smoke tests)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def check_args(parser: argparse.ArgumentParser, dataset: str, args) -> None:
    """Checks across options that argparse cannot make; errors through ``parser.error`` (exit 2).

    ``--sfreq`` is for SEED-IV files given by ``--data-dir`` only (required there); the simulated
    SEED-IV data is written at a known rate (:data:`DATASETS`), so ``--sfreq`` without ``--data-dir``
    is refused rather than used to mislabel it. ``--subjects N`` without ``--data-dir`` (how many
    subjects to simulate) must be at least 1.
    """
    from ..evaluation import get_protocol

    settings = DATASETS[dataset_key(dataset)]
    if settings["simulate"] is None and args.data_dir is None:
        parser.error(f"{dataset_name(dataset).upper()} is real data only (no simulated stand-in): pass --data-dir.")
    if settings.get("no_within_subject") and get_protocol(args.protocol).scope == "subject":
        parser.error(f"--protocol {args.protocol}: {settings['no_within_subject']}.")
    sfreq = getattr(args, "sfreq", None)
    if _needs_sfreq(dataset):
        if args.data_dir is not None and sfreq is None:
            parser.error(f"{dataset_name(dataset).upper()} needs --sfreq with --data-dir (the sampling rate of "
                         "your eeg_raw_data files, in Hz: sources disagree, 200 vs 1000).")
        if args.data_dir is None and sfreq is not None:
            rate = DATASETS[dataset_key(dataset)]["reader"]["sfreq"]
            parser.error(f"--sfreq applies with --data-dir only: without it the simulated "
                         f"{dataset_name(dataset).upper()} data is used, which is written at {rate:g} Hz.")
    elif sfreq is not None:
        parser.error(f"--sfreq applies to SEED-IV only, not to {dataset_name(dataset)}.")
    if _simulated_count(args) == 0:
        parser.error("--subjects: without --data-dir one number is how many subjects to simulate; expected >= 1, got 0.")


def fill_dataset_defaults(dataset: str, args) -> None:
    """Set ``args.target``, ``args.task`` and ``args.protocol`` left None to the dataset's conventional ones.

    Values the user gave are kept, whatever they are (for a parser built with ``dataset=None``).
    """
    defaults = DATASETS[dataset_key(dataset)]
    for name in ("target", "task", "protocol"):
        if getattr(args, name) is None:
            setattr(args, name, defaults[name])


def _simulated_count(args) -> int | None:
    """``--subjects N`` without ``--data-dir``: how many subjects to simulate (None otherwise)."""
    if args.data_dir is None and args.subjects and len(args.subjects) == 1 and str(args.subjects[0]).isdigit():
        return int(args.subjects[0])
    return None


def prepare_data(dataset: str, args, *, progress: bool, log=print) -> tuple[Path, bool, dict]:
    """The data folder to read: ``--data-dir``, or simulated data (written once, then reused)."""
    if args.data_dir is not None:
        return args.data_dir, False, {}
    import neuroaffect.simulate as simulate

    sim = dict(DATASETS[dataset]["quick" if args.quick else "simulate"])
    if _simulated_count(args) is not None:
        sim["n_subjects"] = _simulated_count(args)
    sim["seed"] = args.seed
    key = hashlib.sha256(json.dumps([dataset, sim], sort_keys=True).encode()).hexdigest()[:12]
    root = cache_root() / "simulated" / f"{dataset}-{key}"
    marker = root / "complete.json"
    if marker.is_file():
        return root / json.loads(marker.read_text())["data_dir"], True, sim
    log(f"Simulating {sim['n_subjects']} subjects of {dataset_name(dataset).upper()}-format data into {root} ...")
    data_dir = getattr(simulate, f"write_{dataset}")(root, **sim, progress=progress)
    write_text_atomic(marker, json.dumps({"data_dir": str(Path(data_dir).relative_to(root)), **sim}))
    return Path(data_dir), True, sim


def load_tokens(dataset: str, data_dir: Path, args, *, simulated: bool, progress: bool, parser=None):
    """BDE tokens of every selected subject, read and computed subject by subject.

    ``--subjects`` selects subjects of real and of simulated data (unless it was the number of
    subjects to simulate); unknown ids are reported through ``parser.error`` when ``parser`` is given.
    Returns the tokens and the seconds spent in loading and feature computation.
    """
    from ..io import list_subjects

    subjects = None if (not args.subjects or (simulated and _simulated_count(args) is not None)) else list(args.subjects)
    reader = dict(DATASETS[dataset]["reader"])  # simulated data: the rate it was written at
    if _needs_sfreq(dataset) and not simulated:
        if getattr(args, "sfreq", None) is None:
            raise SystemExit("SEED-IV: pass --sfreq (the sampling rate of your eeg_raw_data files, in Hz).")
        reader["sfreq"] = args.sfreq
    with option_errors(parser, "--subjects: " if subjects else ""):
        sources = list_subjects(dataset, data_dir, subjects, **reader)
    from ..features import Tokenizer, tokens_for_dataset

    tokenizer = Tokenizer(window=args.window, hop=args.hop)
    cache = None if args.no_feature_cache else cache_root() / "features" / f"{dataset}-tokens.h5"
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tokens = tokens_for_dataset(sources, tokenizer, cache=cache, progress=progress)
    return tokens, {"load_and_features": time.perf_counter() - t0}


def make_model(name: str, task: str, params: list[str], tokens, seed: int, parser=None):
    """The estimator ``name`` for ``task``, with ``KEY=VALUE`` parameters and the tokens' electrodes.

    With ``parser``, a malformed or unknown ``--model-param`` is reported through ``parser.error``.
    """
    from ..estimators import make_estimator

    kwargs = {}
    for item in params:
        if "=" not in item:
            if parser is not None:
                parser.error(f"--model-param expects KEY=VALUE, got {item!r}.")
            raise SystemExit(f"--model-param expects KEY=VALUE, got {item!r}.")
        k, v = item.split("=", 1)
        try:
            kwargs[k] = ast.literal_eval(v)
        except (ValueError, SyntaxError):
            kwargs[k] = v
    with option_errors(parser, f"--model {name} --model-param: " if kwargs else f"--model {name}: "):
        est = make_estimator(name, task="regression" if task == "regression" else "classification", **kwargs)
    if "ch_names" in est.get_params() and est.get_params()["ch_names"] is None:
        est.set_params(ch_names=list(tokens.ch_names))
    if "random_state" in est.get_params() and est.get_params()["random_state"] is None:
        est.set_params(random_state=seed)
    return est


def simulated_note(dataset: str, sim: dict) -> str:
    """The report's note on simulated data (dataset in its public spelling: "SEED-IV-format")."""
    return (f"SIMULATED {dataset_name(dataset).upper()}-format data ({sim['n_subjects']} subjects, {sim['n_trials']} trials of "
            f"{sim['trial_duration']:g} s, seed {sim['seed']}; neuroaffect.simulate): a demonstration of the "
            "pipeline, not a result about real brains. Pass --data-dir to use the real dataset.")


def run(dataset: str, argv=None, *, prog: str, description: str) -> int:
    """Entry point of the per-dataset recipes: one protocol, one model, one report."""
    from ..evaluation import cross_validate_subjects, write_report
    from ..evaluation.report import load_results, summary_text

    parser = build_parser(dataset, prog=prog, description=description)
    args = parser.parse_args(argv)
    check_args(parser, dataset, args)
    progress = not args.quiet
    out = args.out or Path("neuroaffect-results") / prog.split()[-1]
    timings = {}
    t0 = time.perf_counter()
    data_dir, simulated, sim = prepare_data(dataset, args, progress=progress)
    timings["simulate"] = time.perf_counter() - t0
    tokens, t = load_tokens(dataset, data_dir, args, simulated=simulated, progress=progress, parser=parser)
    timings.update(t)
    est = make_model(args.model, args.task, args.model_param, tokens, args.seed, parser=parser)
    t1 = time.perf_counter()
    result = cross_validate_subjects(
        tokens, est, target=args.target, task=args.task, protocol=args.protocol, n_splits=args.n_splits,
        n_permutations=args.n_permutations, n_jobs=args.n_jobs, results_dir=out, random_state=args.seed,
        progress=progress,
    )
    timings["cross_validation"] = time.perf_counter() - t1
    notes = [simulated_note(dataset, sim)] if simulated else [f"Data: {data_dir}"]
    t2 = time.perf_counter()
    write_report([result], out, title=f"neuroaffect {dataset_name(dataset).upper()}: {args.target} ({args.task}), {args.model}",
                 notes=notes)
    timings["report"] = time.perf_counter() - t2
    print(summary_text(load_results(out)))
    if simulated:
        print("(simulated data: pass --data-dir for the real dataset)")
    print(f"Report: {(out / 'report.html').resolve()}  (also report.md, results.json)")
    print("Time (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    return 0
