"""What every EEG recipe shares: arguments, data (real or simulated), tokens, CV run, report.

Bad option values end as one line ``<prog>: error: ...`` with exit status 2 (argparse's usage
errors), checked before any work where they can be: the parser checks types and ranges;
:func:`check_args` the combinations, ``--data-dir`` (exists), ``--target`` (a rating of the
dataset), ``--model`` / ``--model-param`` (the estimator is built once, its parameters validated,
a CUDA ``device`` needs a GPU) and ``--out`` (a folder that can be written and that no other run is
writing: :func:`check_run_options` locks it). Once the data are read, :func:`check_splits` runs the
protocol's splitter on them, so an impossible ``--n-splits`` (more folds than a subject has trials)
is one line too. Errors raised later, in feature computation or cross-validation, are not option
errors: the ``neuroaffect`` command prints them as one line with exit status 1 (``--debug``: the
traceback).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import time
from pathlib import Path

from .._atomic import releases_output_locks, write_text_atomic
from ..io import get_dataset
from ._options import (
    _HelpFormatter,
    cache_root,
    check_run_options,
    cuda_problem,
    int_at_least,
    n_jobs,
    option_errors,
    positive_float,
)

#: The simulated stand-in each dataset recipe uses when no --data-dir is given, keyed by the names of
#: the dataset registry (:data:`neuroaffect.io.DATASETS`, which holds the dataset facts: ratings, the
#: conventional target, task and protocol, ...): the reader's options for it (SEED-IV: ``sfreq``
#: 200 Hz, the rate :func:`neuroaffect.simulate.write_seed_iv` writes at) and its size (``quick``: for
#: tests); None for a dataset without one. The order is the recipes' order of datasets.
SIMULATED = {
    "deap": {
        "reader": {},
        # The main job's positive control: 8 subjects (a group p-value can reach 1/256) with 40 trials
        # each and a planted 5 dB frontal alpha asymmetry per unit valence, strong enough that the
        # recommended pipeline finds it leakage-free (window BA about 0.68), unlike the 1 dB default.
        "simulate": {"n_subjects": 8, "n_trials": 40, "trial_duration": 10.0,
                     "effects": {"valence_asymmetry_db": 5.0}},
        "quick": {"n_subjects": 3, "n_trials": 10, "trial_duration": 10.0},
    },
    "dreamer": {
        "reader": {},
        "simulate": {"n_subjects": 4, "n_trials": 18, "trial_duration": 20.0},
        "quick": {"n_subjects": 2, "n_trials": 18, "trial_duration": 4.0},
    },
    "seed": {
        "reader": {},
        "simulate": {"n_subjects": 3, "n_trials": 15, "trial_duration": 10.0},
        "quick": {"n_subjects": 1, "n_trials": 15, "trial_duration": 3.0},
    },
    "seed_iv": {
        "reader": {"sfreq": 200.0},
        "simulate": {"n_subjects": 3, "n_trials": 24, "trial_duration": 8.0},
        "quick": {"n_subjects": 1, "n_trials": 24, "trial_duration": 3.0},
    },
    # Real data only: the point of the EEGMAT recipe is real recordings.
    "eegmat": None,
}


def within_subject_datasets() -> tuple[str, ...]:
    """The registry names of the datasets whose recordings allow within-subject protocols (not
    EEGMAT), in the recipes' order (:data:`SIMULATED`)."""
    return tuple(key for key in SIMULATED if get_dataset(key).within_subject)


def dataset_key(name: str) -> str:
    """The registry name (:data:`neuroaffect.io.DATASETS`) of a dataset in any spelling ("seed-iv"
    or "seed_iv" give "seed_iv"); ``ValueError`` for an unknown dataset."""
    return get_dataset(name).name


def dataset_name(name: str) -> str:
    """The public (recipe, ``neuroaffect simulate``) spelling of a dataset name: "seed-iv".

    A name that is no dataset's is returned as given (as an argparse ``type``, so that ``choices``
    refuses it with the usual message).
    """
    try:
        return get_dataset(name).public_name
    except ValueError:
        return name


def dataset_ratings(dataset: str) -> tuple[str, ...]:
    """The ratings the dataset's reader gives its trials: the valid ``--target`` values.

    The same for the real files and the simulated stand-in (written in the dataset's format and
    read by the same reader). EEGMAT's subject fields (``count_quality`` ... ``gender``) exist only
    where the folder holds the subject table (``subject-info.csv``).
    """
    return get_dataset(dataset).rating_names


def _needs_sfreq(dataset: str) -> bool:
    return "sfreq" in dict(get_dataset(dataset).required_options)


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
    from ..estimators import ESTIMATORS, RECOMMENDED
    from ..evaluation import PROTOCOLS

    if dataset is None:
        d = {name: None for name in ("target", "task", "protocol")}
        per_dataset = {name: " (default: per --dataset: " + ", ".join(
            f"{dataset_name(key)} {getattr(get_dataset(key), name)}" for key in within_subject_datasets()) + ")"
            for name in ("target", "task", "protocol")}
    else:
        spec = get_dataset(dataset)
        dataset = spec.name
        d = {name: getattr(spec, name) for name in ("target", "task", "protocol")}
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
    p.add_argument("--model", default=RECOMMENDED, choices=tuple(ESTIMATORS),
                   help="estimator (neuroaffect.estimators.make_estimator; EEGNet, TSception and the Riemannian "
                        "pipelines take raw windows, the others BDE tokens)")
    p.add_argument("--baselines", nargs="*", default=list(DEFAULT_BASELINES), choices=tuple(ESTIMATORS),
                   metavar="NAME", help="pipelines run beside the model and shown as baselines (none: pass the "
                                        "option without names)")
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
    p.add_argument("--drop-unlabelled", action="store_true",
                   help="leave out trials whose --target is missing (NaN, empty, n/a) instead of stopping with "
                        "an error that names them; the number left out is logged and recorded in results.json")
    if sfreq or (sfreq is None and dataset is not None and _needs_sfreq(dataset)):
        p.add_argument("--sfreq", type=positive_float, default=None,
                       help="SEED-IV with --data-dir only: sampling rate of eeg_raw_data in Hz (required there: "
                            "sources disagree, 200 vs 1000; the simulated data is written at 200 Hz)")
    p.add_argument("--quick", action="store_true", help="tiny simulated data (smoke tests)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true",
                   help="on an error, print the full traceback (and log debug messages)")
    return p


def check_args(parser: argparse.ArgumentParser, dataset: str, args) -> None:
    """Checks across options that argparse cannot make; errors through ``parser.error`` (exit 2).

    ``--sfreq`` is for SEED-IV files given by ``--data-dir`` only (required there); the simulated
    SEED-IV data is written at a known rate (:data:`SIMULATED`), so ``--sfreq`` without ``--data-dir``
    is refused rather than used to mislabel it. ``--subjects N`` without ``--data-dir`` (how many
    subjects to simulate) must be at least 1. ``--target`` must be one of :func:`dataset_ratings`;
    the estimator of ``--model`` / ``--model-param`` is built and its parameters validated (see
    :func:`make_model`). Last, :func:`check_run_options` checks ``--data-dir`` and ``--out`` and
    locks the output folder; ``args.out`` left None is set to the recipe's default folder,
    ``neuroaffect-results/<recipe>``.
    """
    from ..evaluation import get_protocol

    spec = get_dataset(dataset)
    if SIMULATED[spec.name] is None and args.data_dir is None:
        parser.error(f"{dataset_name(dataset).upper()} is real data only (no simulated stand-in): pass --data-dir.")
    if not spec.within_subject and get_protocol(args.protocol).scope == "subject":
        parser.error(f"--protocol {args.protocol}: {spec.no_within_subject}; use --protocol {spec.protocol}.")
    sfreq = getattr(args, "sfreq", None)
    if _needs_sfreq(dataset):
        if args.data_dir is not None and sfreq is None:
            parser.error(f"{dataset_name(dataset).upper()} needs --sfreq with --data-dir (the sampling rate of "
                         "your eeg_raw_data files, in Hz: sources disagree, 200 vs 1000).")
        if args.data_dir is None and sfreq is not None:
            rate = SIMULATED[spec.name]["reader"]["sfreq"]
            parser.error(f"--sfreq applies with --data-dir only: without it the simulated "
                         f"{dataset_name(dataset).upper()} data is used, which is written at {rate:g} Hz.")
    elif sfreq is not None:
        parser.error(f"--sfreq applies to SEED-IV only, not to {dataset_name(dataset)}.")
    if _simulated_count(args) == 0:
        parser.error("--subjects: without --data-dir one number is how many subjects to simulate; expected >= 1, got 0.")
    ratings = dataset_ratings(dataset)
    if args.target is not None and args.target not in ratings:
        parser.error(f"--target {args.target!r}: not a rating of {dataset_name(dataset).upper()}; expected one of "
                     f"{', '.join(ratings)}.")
    make_model(args.model, args.task or spec.task, args.model_param, None, args.seed, parser=parser)
    if args.out is None:
        args.out = Path("neuroaffect-results") / parser.prog.split()[-1]
    check_run_options(parser, args)


def fill_dataset_defaults(dataset: str, args) -> None:
    """Set ``args.target``, ``args.task`` and ``args.protocol`` left None to the dataset's conventional ones.

    Values the user gave are kept, whatever they are (for a parser built with ``dataset=None``).
    """
    spec = get_dataset(dataset)
    for name in ("target", "task", "protocol"):
        if getattr(args, name) is None:
            setattr(args, name, getattr(spec, name))


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

    dataset = dataset_key(dataset)
    sim = dict(SIMULATED[dataset]["quick" if args.quick else "simulate"])
    if _simulated_count(args) is not None:
        sim["n_subjects"] = _simulated_count(args)
    sim["seed"] = args.seed
    key = hashlib.sha256(json.dumps([dataset, sim], sort_keys=True).encode()).hexdigest()[:12]
    root = cache_root() / "simulated" / f"{dataset}-{key}"
    marker = root / "complete.json"
    if marker.is_file():
        return root / json.loads(marker.read_text())["data_dir"], True, sim
    log(f"Simulating {sim['n_subjects']} subjects of {dataset_name(dataset).upper()}-format data into {root} ...")
    effects = {"effects": simulate.EffectSizes(**sim["effects"])} if "effects" in sim else {}
    data_dir = getattr(simulate, f"write_{dataset}")(root, **{**sim, **effects}, progress=progress)
    write_text_atomic(marker, json.dumps({"data_dir": str(Path(data_dir).relative_to(root)), **sim}))
    return Path(data_dir), True, sim


#: Raw windows are resampled to this rate (Hz): EEGNet's design rate, ample for a 1-40 Hz band.
RAW_SFREQ = 128.0

#: Run beside every model and shown as baselines: the trivial ones and the field's Riemannian pipeline.
DEFAULT_BASELINES = ("majority", "stratified", "aligned-riemann")


def load_tokens(dataset: str, data_dir: Path, args, *, simulated: bool, progress: bool, parser=None,
                kind: str = "bde"):
    """BDE tokens (``kind="bde"``) or raw windows (``"raw"``) of every selected subject.

    Read and computed subject by subject; BDE tokens are cached on disk unless
    ``--no-feature-cache``. Raw windows (:class:`~neuroaffect.features.RawWindows`, same windows)
    are band-passed 1-40 Hz and resampled to :data:`RAW_SFREQ` (128 Hz). ``--subjects``
    selects subjects of real and of simulated data (unless it was the number of subjects to
    simulate); unknown ids are reported through ``parser.error`` when ``parser`` is given.
    Returns the tokens and the seconds spent in loading and feature computation.
    """
    from .._validation import FileFormatError
    from ..io import list_subjects

    dataset = dataset_key(dataset)
    subjects = None if (not args.subjects or (simulated and _simulated_count(args) is not None)) else list(args.subjects)
    reader = dict(SIMULATED[dataset]["reader"]) if simulated else {}  # simulated: the rate it was written at
    if _needs_sfreq(dataset) and not simulated:
        if getattr(args, "sfreq", None) is None:
            raise SystemExit("SEED-IV: pass --sfreq (the sampling rate of your eeg_raw_data files, in Hz).")
        reader["sfreq"] = args.sfreq
    try:
        sources = list_subjects(dataset, data_dir, subjects, **reader)
    except (FileNotFoundError, FileFormatError) as err:  # --data-dir is not the dataset's folder
        if parser is None or simulated:
            raise
        parser.error(f"--data-dir {data_dir}: {err}")
    except (ValueError, TypeError) as err:
        if parser is None:
            raise
        parser.error(f"{'--subjects: ' if subjects else ''}{err}")
    from ..features import tokens_for_dataset

    tokenizer = make_tokenizer(kind, args)
    cache = None if args.no_feature_cache or kind == "raw" else cache_root() / "features" / f"{dataset}-tokens.h5"
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tokens = tokens_for_dataset(sources, tokenizer, cache=cache, progress=progress)
    seconds = time.perf_counter() - t0
    if parser is not None:
        check_splits(tokens, args, parser)
    return tokens, {"load_and_features": seconds}


def make_tokenizer(kind: str, args):
    """The recipes' tokenizer for ``kind``: BDE tokens (``"bde"``) or raw windows band-passed 1-40 Hz
    and resampled to :data:`RAW_SFREQ` (``"raw"``), on ``--window`` / ``--hop``."""
    from ..features import RawWindows, Tokenizer

    if kind == "raw":
        return RawWindows(window=args.window, hop=args.hop, l_freq=1.0, h_freq=40.0, sfreq=RAW_SFREQ)
    return Tokenizer(window=args.window, hop=args.hop)


def load_windows(dataset: str, data_dir: Path, args, *, simulated: bool, progress: bool, parser=None):
    """The features ``--model`` and ``--baselines`` need, by kind ("bde", "raw"): see :func:`load_tokens`.

    Returns a dict of kind to WindowTokens and the seconds spent per kind.
    """
    from ..estimators import ESTIMATORS

    windows, timings = {}, {}
    for kind in sorted({ESTIMATORS[name].features for name in [args.model, *args.baselines]}):
        windows[kind], t = load_tokens(dataset, data_dir, args, simulated=simulated, progress=progress, parser=parser,
                                       kind=kind)
        timings[f"load_and_features ({kind})"] = t["load_and_features"]
    return windows, timings


def check_splits(tokens, args, parser: argparse.ArgumentParser) -> None:
    """Run ``--protocol``'s splitter on the data as the runner will; a failure is a ``parser.error``.

    Catches, once the data are known and before any model is fitted, what only the data can tell:
    more ``--n-splits`` folds than a subject has trials, one session for ``leave-one-session-out``,
    one subject for ``leave-one-subject-out``, a ``--task`` the rating's scale does not allow.
    Unlabelled trials and other problems of the data are left to
    :func:`~neuroaffect.evaluation.cross_validate_subjects`.
    """
    import numpy as np

    from ..evaluation import get_protocol, make_target

    prot = get_protocol(args.protocol)
    if args.target not in tokens.rating_names:  # e.g. EEGMAT's count_quality without the subject table
        parser.error(f"--target {args.target!r}: not a rating of these data; they have {', '.join(tokens.rating_names)}.")
    scale = tokens.scale(args.target)
    if scale.kind == "categorical" and args.task != "classes":
        parser.error(f"--task {args.task}: the rating {args.target!r} is categorical ({scale.name}); use --task classes.")
    try:
        y = make_target(tokens, args.target, args.task).y
    except ValueError:
        return  # e.g. unlabelled trials: reported by the runner, which names them
    keys, subject = np.asarray(tokens.trial_key).astype(str), np.asarray(tokens.subject).astype(str)
    scopes = [(s, np.flatnonzero(subject == s)) for s in np.unique(subject)] if prot.scope == "subject" \
        else [(None, np.arange(len(keys)))]
    splitter = prot.splitter(args.n_splits, args.seed)
    for name, idx in scopes:
        try:
            for _ in splitter.split(np.zeros((len(idx), 1)), y[idx], keys[idx]):
                pass
        except ValueError as err:
            where = "" if name is None or repr(str(name)) in str(err) else f"subject {name}: "
            option = f"--protocol {prot.name}" + (f" --n-splits {args.n_splits}" if "kfold" in prot.name else "")
            parser.error(f"{option}: {where}{err}")


def make_model(name: str, task: str, params: list[str], tokens, seed: int, parser=None):
    """The estimator ``name`` for ``task``, with ``KEY=VALUE`` parameters and the tokens' electrodes.

    With ``parser``, a malformed or unknown ``--model-param``, a value the estimator's parameter
    constraints refuse (scikit-learn estimators, e.g. ``C=-1``) and a CUDA ``device`` without a GPU
    are reported through ``parser.error``. ``tokens`` None builds the estimator without electrode
    names (:func:`check_args` does, to check the options before any data are read).
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
        for step in [est, *(s for _, s in getattr(est, "steps", ()))]:
            if kwargs and hasattr(step, "_parameter_constraints") and hasattr(step, "_validate_params"):
                step._validate_params()  # scikit-learn's own check, otherwise made in fit
    final = est.steps[-1][1] if hasattr(est, "steps") else est  # the model of a pipeline
    params = final.get_params(deep=False)
    device = params.get("device")
    problem = cuda_problem(device)
    if problem:
        if parser is not None:
            parser.error(f"--model {name} --model-param device={device}: {problem}")
        raise SystemExit(f"--model-param device={device}: {problem}")
    if tokens is None:
        return est
    # what the data say (montage, sampling rate) and the run's seed, where the model leaves them open
    for key, value in (("ch_names", list(tokens.ch_names)), ("random_state", seed), ("sfreq", float(tokens.sfreq))):
        if key in params and params[key] is None:
            final.set_params(**{key: value})
    return est


def cross_validate(tokens, estimator, args, out: Path, *, progress: bool, **kwargs):
    """:func:`~neuroaffect.evaluation.cross_validate_subjects` with the recipe's options.

    Passes ``--target``, ``--task``, ``--protocol``, ``--n-splits``, ``--n-permutations``,
    ``--n-jobs``, ``--seed`` and ``--drop-unlabelled``; ``kwargs`` override them (``protocol=``,
    ``n_permutations=``) and add the runner's others (``name=``, ``baseline=``). Missing labels are
    an error unless ``--drop-unlabelled``: the runner's message, which names the trials, then also
    names the option.
    """
    from ..evaluation import cross_validate_subjects

    options = {"target": args.target, "task": args.task, "protocol": args.protocol, "n_splits": args.n_splits,
               "n_permutations": args.n_permutations, "n_jobs": args.n_jobs, "random_state": args.seed,
               "drop_unlabelled": args.drop_unlabelled, **kwargs}
    try:
        return cross_validate_subjects(tokens, estimator, results_dir=out, progress=progress, **options)
    except ValueError as err:
        if "drop_unlabelled=True" in str(err) and not args.drop_unlabelled:
            raise ValueError(f"{err} On the command line: --drop-unlabelled.") from err
        raise


def run_baselines(args, windows: dict, out: Path, *, progress: bool) -> list:
    """Cross-validate each of ``--baselines`` like the model (same protocol, folds, seed and
    ``--drop-unlabelled``; no permutations), through :func:`cross_validate`.

    Parameters
    ----------
    args : argparse.Namespace
    windows : dict of str to WindowTokens
        The features by kind ("bde", "raw"): each baseline takes the kind it needs.
    out : Path
        The report folder (its fold results are stored there too, so a re-run resumes).

    Returns
    -------
    list of CVResult
        Marked ``baseline`` (reports label them and draw them beside the model).
    """
    from ..estimators import ESTIMATORS

    results = []
    for name in args.baselines:
        if name == args.model:
            continue
        tokens = windows[ESTIMATORS[name].features]
        if progress:
            print(f"Baseline: {name} ...", flush=True)
        est = make_model(name, args.task, [], tokens, args.seed)
        results.append(cross_validate(tokens, est, args, out, progress=progress, n_permutations=0, name=name,
                                      baseline=True))
    return results


def simulated_note(dataset: str, sim: dict) -> str:
    """The report's note on simulated data (dataset in its public spelling: "SEED-IV-format")."""
    planted = sim.get("effects", {})
    effects = ("; planted effects " + ", ".join(f"{k} {v:g}" for k, v in planted.items()) +
               ", so a leakage-free score above chance is the expected positive control") if planted else ""
    return (f"SIMULATED {dataset_name(dataset).upper()}-format data ({sim['n_subjects']} subjects, {sim['n_trials']} trials of "
            f"{sim['trial_duration']:g} s, seed {sim['seed']}{effects}; neuroaffect.simulate): a demonstration of the "
            "pipeline, not a result about real brains. Pass --data-dir to use the real dataset.")


@releases_output_locks
def run(dataset: str, argv=None, *, prog: str, description: str) -> int:
    """Entry point of the per-dataset recipes: one protocol, one model, one report."""
    from ..estimators import ESTIMATORS
    from ..evaluation import write_report
    from ..evaluation.report import load_results, summary_text

    dataset = dataset_key(dataset)
    parser = build_parser(dataset, prog=prog, description=description)
    args = parser.parse_args(argv)
    check_args(parser, dataset, args)
    progress = not args.quiet
    out = args.out or Path("neuroaffect-results") / prog.split()[-1]
    timings = {}
    t0 = time.perf_counter()
    data_dir, simulated, sim = prepare_data(dataset, args, progress=progress)
    timings["simulate"] = time.perf_counter() - t0
    windows, t = load_windows(dataset, data_dir, args, simulated=simulated, progress=progress, parser=parser)
    timings.update(t)
    tokens = windows[ESTIMATORS[args.model].features]
    est = make_model(args.model, args.task, args.model_param, tokens, args.seed, parser=parser)
    t1 = time.perf_counter()
    result = cross_validate(tokens, est, args, out, progress=progress, name=args.model)
    timings["cross_validation"] = time.perf_counter() - t1
    baselines = run_baselines(args, windows, out, progress=progress)
    timings["baselines"] = time.perf_counter() - t1 - timings["cross_validation"]
    notes = [simulated_note(dataset, sim)] if simulated else [f"Data: {data_dir}"]
    t2 = time.perf_counter()
    write_report([result, *baselines], out,
                 title=f"neuroaffect {dataset_name(dataset).upper()}: {args.target} ({args.task}), {args.model}",
                 notes=notes)
    timings["report"] = time.perf_counter() - t2
    print(summary_text(load_results(out)))
    if simulated:
        print("(simulated data: pass --data-dir for the real dataset)")
    print(f"Report: {(out / 'report.html').resolve()}  (also report.md, results.json)")
    print("Time (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    return 0
