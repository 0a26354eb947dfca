"""Recipe: your own BIDS EEG dataset, labelled in its events.tsv, with the dataset recipes' report.

Run ``neuroaffect run bids --data-dir DIR --target COLUMN``: ``DIR`` is the root of a BIDS dataset
(``sub-*/[ses-*/]eeg/*_eeg.<edf|bdf|vhdr|set>`` with ``*_events.tsv``) and ``COLUMN`` a column of its
events files that labels the trials, a condition (names: ``--task classes``) or a rating (numbers:
``--task binary`` at the scale's midpoint, ``classes`` or ``regression``). Each subject's recordings
are read with :func:`neuroaffect.io.bids.bids_sources` (trials are the events with a label, or those
of ``--trial-types``), cut into windows, turned into BDE tokens (cached under a hash of the files)
or, for the raw-window models and baselines, raw windows, and cross-validated with ``--model`` and
``--baselines`` as in the dataset recipes: leave-one-subject-out by default when the dataset has
several subjects, within-subject k-fold over whole trials when it has one. A trial whose label is
missing (``n/a``) stops the run with an error naming it, unless ``--drop-unlabelled``.
Documented in docs/own-recordings.md.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

from .._atomic import releases_output_locks
from ._eeg import (
    build_parser,
    check_splits,
    cross_validate,
    make_model,
    make_tokenizer,
    run_baselines,
)
from ._options import cache_root, check_run_options

PROG = "neuroaffect run bids"


def build_bids_parser() -> argparse.ArgumentParser:
    """The options of every EEG recipe (:func:`neuroaffect.recipes._eeg.build_parser`), for a BIDS folder."""
    p = build_parser(None, prog=PROG, description=(
        "Decode a label of your own BIDS EEG dataset (a column of its events.tsv files), with the "
        "dataset recipes' leakage-free protocols and report."))
    helps = {
        "data_dir": "root of the BIDS dataset (sub-*/[ses-*/]eeg/... with *_events.tsv files)",
        "target": "the events.tsv column that labels the trials (a condition or a rating)",
        "task": "what to predict (default: classes for a column of names, binary for numbers)",
        "protocol": "evaluation protocol (default: leave-one-subject-out with several subjects, "
                    "within-subject-kfold with one)",
        "subjects": "BIDS subject labels to use (01 or sub-01); default all",
        "quick": argparse.SUPPRESS,
    }
    for action in p._actions:
        if action.dest in helps:
            action.help = helps[action.dest]
        if action.dest in ("data_dir", "target"):
            action.required = True
    p.add_argument("--bids-task", default=None, metavar="TASK",
                   help="only recordings of this BIDS task (task-<TASK>); default every task")
    p.add_argument("--trial-types", nargs="+", default=None, metavar="TYPE",
                   help="events (trial_type) that are trials; default every event with a label")
    return p


@releases_output_locks
def main(argv=None) -> int:
    """Read a BIDS EEG dataset, compute the features, cross-validate the model and baselines, write the report."""
    from .._validation import FileFormatError
    from ..estimators import ESTIMATORS
    from ..evaluation import write_report
    from ..evaluation.report import load_results, summary_text
    from ..features import tokens_for_dataset
    from ..io.bids import bids_sources

    parser = build_bids_parser()
    args = parser.parse_args(argv)
    if args.quick:
        parser.error("--quick: the bids recipe reads your data (--data-dir); it has no simulated stand-in.")
    if args.out is None:
        args.out = Path("neuroaffect-results") / "bids"
    make_model(args.model, args.task or "classes", args.model_param, None, args.seed, parser=parser)
    check_run_options(parser, args)
    progress = not args.quiet
    out = Path(args.out)
    timings = {}
    t0 = time.perf_counter()
    try:
        sources = bids_sources(args.data_dir, subjects=args.subjects, task=args.bids_task,
                               trial_types=args.trial_types)
    except (FileNotFoundError, FileFormatError) as err:
        parser.error(f"--data-dir {args.data_dir}: {err}")
    except ValueError as err:
        parser.error(f"{'--subjects: ' if args.subjects and 'subject' in str(err) else ''}{err}")
    options = dict(sources[0].options)
    labels, scales = options["rating_names"], dict(options["scales"])
    if args.target not in labels:
        parser.error(f"--target {args.target!r}: not a label column of the events.tsv files of {args.data_dir}; "
                     f"they have {', '.join(labels)}.")
    if args.task is None:
        args.task = "classes" if scales[args.target].kind == "categorical" else "binary"
    if args.protocol is None:
        args.protocol = "leave-one-subject-out" if len(sources) > 1 else "within-subject-kfold"
    windows = {}
    for kind in sorted({ESTIMATORS[name].features for name in [args.model, *args.baselines]}):
        cache = None  # raw windows are not cached, as in the dataset recipes
        if kind == "bde" and not args.no_feature_cache:
            key = hashlib.sha256(str(Path(args.data_dir).resolve()).encode()).hexdigest()[:12]
            cache = cache_root() / "features" / f"bids-{key}-tokens.h5"
            cache.parent.mkdir(parents=True, exist_ok=True)
        windows[kind] = tokens_for_dataset(sources, make_tokenizer(kind, args), cache=cache, progress=progress)
    timings["load_and_features"] = time.perf_counter() - t0
    tokens = windows[ESTIMATORS[args.model].features]
    check_splits(tokens, args, parser)
    est = make_model(args.model, args.task, args.model_param, tokens, args.seed, parser=parser)
    t1 = time.perf_counter()
    result = cross_validate(tokens, est, args, out, progress=progress, name=args.model)
    timings["cross_validation"] = time.perf_counter() - t1
    baselines = run_baselines(args, windows, out, progress=progress)
    timings["baselines"] = time.perf_counter() - t1 - timings["cross_validation"]
    scale = scales[args.target]
    kind = "/".join(scale.categories) if scale.categories else f"{scale.kind} {scale.low:g}-{scale.high:g}"
    notes = [f"Data: BIDS dataset {Path(args.data_dir).resolve()} ({len(sources)} subject(s)); label: the "
             f"{args.target!r} column of its events.tsv files ({kind}; scale {scale.name!r})."]
    t2 = time.perf_counter()
    write_report([result, *baselines], out, title=f"neuroaffect BIDS {Path(args.data_dir).resolve().name}: {args.target} "
                                      f"({args.task}), {args.model}", notes=notes)
    timings["report"] = time.perf_counter() - t2
    print(summary_text(load_results(out)))
    print(f"Report: {(out / 'report.html').resolve()}  (also report.md, results.json)")
    print("Time (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
