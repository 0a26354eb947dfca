"""The cross-validation runner: (subject, fold) jobs, leakage audit, resumable storage, scores.

:func:`cross_validate_subjects` is the one entry point. It derives labels from a rating, builds
the splits of ``cv`` (a named protocol, any scikit-learn splitter pooled or per subject, or
precomputed indices; one code path: each becomes a :class:`~neuroaffect.evaluation.Protocol`),
audits every split (labelling leaky ones LEAKY), fits a clone of the estimator
on each training set through joblib (so ``joblib.parallel_config(backend="dask")`` runs it on a
cluster), stores each finished job atomically under ``results_dir`` so an interrupted run resumes
where it stopped, and scores the out-of-fold predictions per subject at window and trial level.

The runner is built from one module per concept: :mod:`~neuroaffect.evaluation.jobs` (splitting,
auditing and fitting the jobs), :mod:`~neuroaffect.evaluation.storage` (the resume files),
:mod:`~neuroaffect.evaluation.aggregate` (scores, summary, leakage) and
:mod:`~neuroaffect.evaluation.results` (:class:`CVResult`, re-exported here).
"""

from __future__ import annotations

import hashlib
import platform
import time
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import joblib
import numpy as np
from sklearn.base import BaseEstimator, clone

from .. import __version__
from .._keys import natural_key
from .._logging import verbose
from .._validation import check_option
from .aggregate import _assemble
from .jobs import (
    _check_routing,
    _held_out_units,
    _plan_jobs,
    _run_jobs,
    _trial_table,
    alignment_steps,
)
from .metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS
from .permutation import permuted_trial_labels
from .protocols import _IndexSplits, resolve_cv
from .results import CVResult
from .samples import _RunnerSamples
from .storage import _ADDRESS, _canonical, _data_hash, _estimator_key, _hash
from .targets import Target, labelled_windows, make_target, missing_labels

__all__ = ["CVResult", "cross_validate_subjects", "describe_estimator"]

# The library's main dependencies whose versions results.json records (those installed).
_VERSIONED = ("numpy", "scipy", "scikit-learn", "torch", "mne", "pyriemann")


@verbose
def cross_validate_subjects(
    tokens,
    estimator,
    *,
    target="valence",
    task="binary",
    cv=None,
    protocol=None,
    n_splits=5,
    metric=None,
    n_permutations=0,
    n_jobs=1,
    results_dir=None,
    random_state=0,
    progress=True,
    drop_unlabelled=False,
    name=None,
    baseline=False,
) -> CVResult:
    """Cross-validate ``estimator`` on window tokens under a protocol or any splitter, auditing every split.

    Parameters
    ----------
    tokens : WindowTokens, StimulusResponses or any SampleContainer
        The samples of all subjects: EEG windows (:class:`~neuroaffect.features.tokens.WindowTokens`,
        ``X`` shape (n_windows, n_electrodes, n_bands)), fMRI stimulus responses
        (:class:`~neuroaffect.fmri.StimulusResponses`, ``X`` shape (n_responses, n_features); a
        "trial" is one stimulus of one subject, whose repeats share a trial key), or any object
        with the members of :class:`~neuroaffect.evaluation.SampleContainer`. Below, "windows" are
        the samples and "trials" the groups of samples that share a trial key.
    estimator : scikit-learn estimator
        Takes ``X`` as the container holds it (3-D tokens for WindowTokens). A clone is fitted per fold. Fit and predict run under scikit-learn's metadata routing:
        where the estimator (or a step or search inside it) requests them, ``groups`` (the windows'
        trial keys: the neural estimators and group splitters request them), ``metadata`` (the
        windows' id table, subject, session and trial with integer codes: the neural estimators and
        the subject-alignment steps request it) and ``held_out`` (what the protocol holds out) are
        passed; your own estimator requests them with ``set_fit_request(metadata=True)`` or
        ``__metadata_request__fit``. For a search from
        :func:`nested` the training windows' trial keys reach its inner splitter, so
        hyper-parameters are chosen on inner splits of the training windows only; those inner
        splits hold out whole subjects under the cross-subject protocols (the training windows
        then span several subjects) and whole trials otherwise. Parameters named
        ``*random_state`` that are None are set to ``random_state`` so runs are reproducible.
    target : str or Target, default="valence"
        The rating to decode (one of ``tokens.rating_names``), or labels already made (a
        :class:`~neuroaffect.evaluation.Target` with one label per window; ``task`` is then read
        from it), e.g. the common-space labels of :func:`~neuroaffect.affect.cross_dataset.cross_dataset_cv`.
    task : {"binary", "classes", "regression"}, default="binary"
        See :func:`~neuroaffect.evaluation.make_target`.
    cv : str, splitter, PerSubject or iterable of (train, test), optional
        How windows are split into training and test sets. Default: ``"within-subject-kfold"``.

        - a protocol name, one of :data:`~neuroaffect.evaluation.PROTOCOLS`
          (``"leaky-segment-kfold"`` and ``"leaky-within-subject-kfold"`` are leaky and labelled
          so in every output);
        - any scikit-learn splitter (``split(X, y, groups)``), run on all subjects' windows pooled
          with ``groups`` = the windows' trial keys (so ``GroupKFold`` makes folds of whole trials);
        - :class:`~neuroaffect.evaluation.PerSubject` of a splitter, run on each subject's windows
          separately (subject-dependent);
        - precomputed splits: (train, test) pairs of integer indices into ``tokens``' windows,
          used as given (windows of dropped unlabelled trials leave every fold).

        Every split is audited (:func:`~neuroaffect.evaluation.audit_split`). A caller's split
        that shares a trial or overlapping windows between train and test is run, not refused, and
        the run is labelled LEAKY in every output (``config["leakage_free"]`` False, report tags,
        summary line), so existing splits can be audited. A splitter that promises more (its
        ``leakage_free = True`` or ``held_out`` attributes, as neuroaffect's splitters have) is held
        to it: a split that breaks the promise raises :class:`LeakageError`. ``n_splits`` and
        ``random_state`` configure the named protocols only; a splitter is used as given. Its test
        sets must not overlap (one out-of-fold prediction per window, as ``cross_val_predict``).
    protocol : str, optional
        A protocol name: ``protocol=name`` is ``cv=name`` (the older spelling, kept). Give ``cv``
        or ``protocol``, not both.
    n_splits : int, default=5
        Folds for the k-fold protocols (named by ``cv`` or ``protocol``).
    metric : str, optional
        Primary metric (permutation test, summary line). Default ``"balanced_accuracy"`` for
        classification, ``"ccc"`` for regression.
    n_permutations : int, default=0
        Label permutations for chance level and p-values. Each permutation shuffles whole trials'
        labels within each subject and re-runs the full cross-validation (re-fitting), so it costs
        ``n_permutations`` times the main run. Chance levels and p-values come at window and at
        trial level from the same permutations. :func:`~neuroaffect.evaluation.permutation_test`
        runs the same test on its own and returns the nulls and p-values as arrays.
    n_jobs : int or None, default=1
        Parallel (subject, fold) jobs, through joblib (respects ``joblib.parallel_config``).
    results_dir : path-like, optional
        Where each finished job is stored (``<results_dir>/folds/``). Re-running with the same
        estimator, protocol, data and seed reuses stored jobs, so interrupted runs resume.
    random_state : int or None, default=0
        Seed of fold assignment, permutations and unseeded estimators. None: a fresh seed, recorded
        in ``config["random_state"]``.
    progress : bool, default=True
        Show a tqdm progress bar.
    drop_unlabelled : bool, default=False
        Trials whose rating (or, for a given :class:`~neuroaffect.evaluation.Target`, label) is
        missing are never given a label: by default they are an error; with True their windows are
        removed before splitting, and how many trials and windows is logged and recorded in
        ``config["unlabelled_dropped"]`` (``{"trials": n, "windows": m}``, zeros when none). See
        :func:`~neuroaffect.evaluation.make_target`.
    name : str, optional
        The run's label in tables and figures (``config["name"]``). Default: a short description
        of the estimator, e.g. ``"Flatten → StandardScaler → LogisticRegression"`` for a
        pipeline (its steps' class names), ``"GridSearchCV(Flatten → LogisticRegression)"`` for a
        search.
    baseline : bool, default=False
        Whether ``estimator`` is a trivial or reference pipeline (e.g. ``DummyClassifier``) shown
        beside a model: reports label it "baseline" in tables and figure titles, and draw it on
        the same axes as the model it accompanies (``config["baseline"]``).

    Returns
    -------
    CVResult
        Per-subject rows come in natural order of the subject ids (``"s2"`` before ``"s10"``).
        A subject whose test windows hold one class only (classification) scores trivially (a
        model that always predicts that class is perfect): it keeps its row, marked
        ``in_mean=False``, but is left out of every mean, confidence interval, chance level and
        group p-value of the summary; a warning names such subjects and
        ``summary["excluded_subjects"]`` lists them. When that leaves no subject, the summary's
        means are NaN and ``summary["n_subjects_in_mean"]`` is 0.
        Subjects with no test window (protocol ``"cross-dataset"``: the training dataset's) get no
        row; they are listed in ``config["untested_subjects"]``. When a protocol meant to test every
        window leaves some untested (``"leave-one-subject-out-stimulus-kfold"`` when subjects saw
        few or different stimuli), a warning names the subjects and
        ``config["untested_windows"]`` maps each such subject to its number of untested windows.

    Raises
    ------
    ValueError
        If ``cv`` is not one of the values above or both ``cv`` and ``protocol`` are given, a
        trial key does not parse to its window's subject id (a session or trial id containing
        ``"/"``), the protocol cannot split a subject's windows (the message names the subject),
        test sets of one subject (or of the pooled windows) overlap, or a trial is unlabelled and
        ``drop_unlabelled`` is False (the message names the first such trials).
    LeakageError
        If a split of a leakage-free protocol (or of a splitter promising to be one) shares a
        trial, overlapping windows, or a unit the protocol holds out (subject, session or
        stimulus) between train and test.
    TypeError
        If ``tokens`` lacks a member of :class:`~neuroaffect.evaluation.SampleContainer` (the
        message names them).

    Examples
    --------
    >>> from sklearn.model_selection import GroupKFold, KFold
    >>> from neuroaffect.datasets import make_tokens
    >>> from neuroaffect.estimators import make_estimator
    >>> from neuroaffect.evaluation import PerSubject
    >>> tokens = make_tokens(n_subjects=2, n_trials=10, n_windows=2)
    >>> res = cross_validate_subjects(tokens, make_estimator("de-logreg"), cv=PerSubject(GroupKFold(5)),
    ...                               progress=False)
    >>> res.config["cv"], res.leakage_free  # folds of whole trials (groups = trial keys)
    ('per-subject splitter', True)
    >>> res = cross_validate_subjects(tokens, make_estimator("de-logreg"), cv=KFold(5, shuffle=True, random_state=0),
    ...                               progress=False)
    >>> res.leakage_free, res.config["protocol"]  # folds of windows: run, and labelled LEAKY
    (False, 'KFold(n_splits=5, random_state=0, shuffle=True)')
    """
    if cv is not None and protocol is not None:
        raise ValueError(f"Give the 'cv' parameter or the 'protocol' parameter, not both (got cv={cv!r} and "
                         f"protocol={protocol!r}); protocol=name is the same as cv=name.")
    prot = resolve_cv(next((c for c in (cv, protocol) if c is not None), "within-subject-kfold"))
    tokens = _RunnerSamples(tokens)  # the container's members, with spans, names and sfreq filled in
    n_given = len(tokens.X)
    if isinstance(target, Target):  # labels made by the caller (e.g. cross-dataset, common space)
        tgt, tokens, kept = _given_labels(target, tokens, drop_unlabelled)
        target, task = tgt.rating, tgt.task
    else:
        tgt = make_target(tokens, target, task, drop_unlabelled=drop_unlabelled)
        kept = np.arange(n_given) if tgt.windows is None else np.asarray(tgt.windows)
        if tgt.windows is not None:
            tokens = tokens[tgt.windows]
    # The labels themselves (not only the rating's name) key stored folds: a new scale or threshold
    # makes new labels from the same ratings, and their folds must not be served from an old run.
    target_id = ("labels", tgt.rating, tgt.task, tgt.class_names, hashlib.sha256(
        np.ascontiguousarray(tgt.y, dtype=float).tobytes()).hexdigest())
    if isinstance(prot.cv, _IndexSplits):  # indices into the windows as given: follow dropped windows
        prot = replace(prot, cv=prot.cv.restrict(kept, n_given))
    metric = metric or ("balanced_accuracy" if tgt.is_classification else "ccc")
    check_option("metric", metric, CLASSIFICATION_METRICS if tgt.is_classification else REGRESSION_METRICS)
    if not isinstance(n_permutations, int | np.integer) or n_permutations < 0:
        raise ValueError(f"Invalid value for the 'n_permutations' parameter: expected an integer >= 0, got {n_permutations!r}.")
    if random_state is None:  # a fresh seed, recorded in config["random_state"] so the run can be repeated
        random_state = int(np.random.SeedSequence().entropy % (2**31))
    elif not isinstance(random_state, int | np.integer) or random_state < 0:
        raise ValueError(f"Invalid value for the 'random_state' parameter: expected an integer >= 0 or None, "
                         f"got {random_state!r}.")
    keys = np.asarray(tokens.trial_key).astype(str)  # display, results files, stored folds' names
    subject = np.asarray(tokens.subject).astype(str)
    table = _trial_table(tokens, keys)  # subject, session, trial codes: what the logic below reads
    subject_code = table["subject_code"].to_numpy()
    _, first = np.unique(subject_code, return_index=True)
    subjects = np.array(sorted(subject[first], key=natural_key))  # "2" before "10"
    estimator = _seeded(clone(estimator), random_state)
    _check_routing(estimator)  # before any work
    timings = {"splits": 0.0, "fit": 0.0, "score": 0.0}
    t0 = time.perf_counter()
    held_out = _held_out_units(prot, table, keys, subject)
    if prot.scope == "subject":
        code_of = dict(zip(subject[first].tolist(), subject_code[first].tolist(), strict=True))
        scopes = [(s, np.flatnonzero(subject_code == code_of[s])) for s in subjects]
    else:
        scopes = [("all", np.arange(len(keys)))]

    config = {
        "protocol": prot.name, "leakage_free": prot.leakage_free, "protocol_description": prot.description,
        "scope": prot.scope, "cv": _cv_kind(prot),
        "n_splits": n_splits if prot.cv is None and "kfold" in prot.name else None,
        "dataset": tokens.dataset, "target": target, "task": task, "metric": metric,
        "class_names": list(tgt.class_names), "name": str(name) if name is not None else describe_estimator(estimator),
        "baseline": bool(baseline), "estimator": _ADDRESS.sub("", repr(estimator)),
        "estimator_params": _param_json(estimator.get_params(deep=True)),
        "features": _param_json(dict(getattr(tokens, "features", None) or {})),
        "alignment": alignment_steps(estimator),
        "n_permutations": int(n_permutations), "random_state": random_state,
        "n_subjects": len(subjects), "n_windows": len(keys), "n_trials": len(np.unique(table["trial_code"])),
        "unlabelled_dropped": dict(tgt.unlabelled_dropped),
        "ch_names": list(tokens.ch_names), "band_names": list(tokens.band_names), "sfreq": tokens.sampling_rate,
        "neuroaffect_version": __version__, "versions": _versions(),
    }
    cv_id = prot.name if prot.cv is None else (prot.name, joblib.hash(_canonical(prot.cv), hash_name="sha1"))
    # The version keys what the parameters do not show (a changed default, e.g. the transformer's
    # "default" configuration in 0.2): stored folds of another version are never reused.
    run_hash = _hash(_estimator_key(estimator), cv_id, n_splits, random_state, target_id, task, __version__)
    config["run_id"] = run_hash[:16]
    data_hash = {name: _data_hash(tokens, idx) for name, idx in scopes}
    fold_dir = Path(results_dir) / "folds" if results_dir is not None else None
    if fold_dir is not None:
        fold_dir.mkdir(parents=True, exist_ok=True)

    labels = [tgt.y, *permuted_trial_labels(tgt.y, keys, subject, n_permutations=n_permutations,
                                            random_state=random_state)]
    jobs, audits = _plan_jobs(prot, tokens, table, labels, scopes, held_out, n_splits, random_state,
                              run_hash, data_hash, fold_dir)
    if prot.leakage_free is None:  # a caller's splitter that promised nothing: the audit decides
        prot = replace(prot, leakage_free=all(a.clean for _, _, a in audits))
        config["leakage_free"] = prot.leakage_free
    if any(np.setdiff1d(subject_code[job["test"]], subject_code[job["train"]]).size for job in jobs if job["perm"] == 0):
        # some test subject had no training window: alignment used its own unlabelled test windows
        config["alignment"] = [a + " (transductive: each test subject aligned on its own unlabelled test windows)"
                               for a in config["alignment"]]
    timings["splits"] = time.perf_counter() - t0

    outputs = _run_jobs(estimator, tokens.X, labels, keys, table, jobs, tgt.n_classes, n_jobs, progress)
    timings["fit"] = float(sum(o["fit_time"] for o in outputs))
    t1 = time.perf_counter()

    result = _assemble(tokens, tgt, prot, config, metric, labels, keys, table, subject, subjects, jobs, outputs,
                       audits)
    result.timings = {**timings, "score": time.perf_counter() - t1, "total": time.perf_counter() - t0}
    return result


def _given_labels(tgt, tokens, drop_unlabelled):
    """A caller's Target and the tokens it labels, without unlabelled trials (or an error for them),
    and the indices of those windows in the given tokens."""
    kept = np.arange(len(tokens.X))
    if tgt.windows is not None:  # made with drop_unlabelled=True: it labels these windows of the tokens
        windows = np.asarray(tgt.windows)
        if windows.size and (windows.min() < 0 or windows.max() >= len(tokens.X)):
            raise ValueError(f"The target labels windows up to index {windows.max()} but the tokens have "
                             f"{len(tokens.X)} windows; expected the tokens the target was made from.")
        tokens, kept = tokens[windows], kept[windows]
    if len(tgt.y) != len(tokens.X):
        raise ValueError(f"The target has {len(tgt.y)} labels but the tokens have {len(tokens.X)} windows.")
    windows, dropped = labelled_windows(
        missing_labels(tgt.y), tokens.trial_key, what=f"The label {tgt.rating!r} (parameter 'target')",
        drop_unlabelled=drop_unlabelled,
    )
    if windows is None:
        return tgt, tokens, kept
    total = {k: tgt.unlabelled_dropped.get(k, 0) + v for k, v in dropped.items()}
    return replace(tgt, y=tgt.y[windows], windows=None, unlabelled_dropped=total), tokens[windows], kept[windows]


def _cv_kind(prot) -> str:
    """What the caller passed as ``cv``, for ``config["cv"]``."""
    if prot.cv is None:
        return "protocol"
    if isinstance(prot.cv, _IndexSplits):
        return "precomputed"
    return "per-subject splitter" if prot.scope == "subject" else "pooled splitter"


def _seeded(estimator, random_state):
    unset = {k: random_state for k, v in estimator.get_params(deep=True).items()
             if k.split("__")[-1] == "random_state" and v is None}
    return estimator.set_params(**unset) if unset else estimator


def describe_estimator(estimator) -> str:
    """A short name of ``estimator`` for tables: its class, a pipeline's steps, a search's estimator.

    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.linear_model import LogisticRegression
    >>> describe_estimator(make_pipeline(StandardScaler(), LogisticRegression()))
    'StandardScaler → LogisticRegression'
    """
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list):
        return " → ".join(describe_estimator(step) for _, step in steps if step not in (None, "passthrough"))
    inner = getattr(estimator, "estimator", None)
    if isinstance(inner, BaseEstimator):
        return f"{type(estimator).__name__}({describe_estimator(inner)})"
    return type(estimator).__name__


def _param_json(value):
    """A JSON-safe, complete stand-in for an estimator parameter value (no elided repr).

    Numbers, strings, booleans and None stay as they are (non-finite floats become ``"inf"``,
    ``"nan"``); arrays become (nested) lists in full; containers are converted recursively;
    estimators, classes and functions become their dotted class or function name (an
    estimator's own parameters appear separately under ``<name>__<param>`` with ``deep=True``);
    anything else becomes its repr without memory addresses.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else str(value)
    if isinstance(value, np.ndarray):
        return _param_json(value.tolist())
    if isinstance(value, dict):
        return {str(k): _param_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_param_json(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_param_json(v) for v in value), key=repr)
    if isinstance(value, BaseEstimator) or isinstance(value, type):
        cls = value if isinstance(value, type) else type(value)
        return f"{cls.__module__}.{cls.__qualname__}"
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    return _ADDRESS.sub("", repr(value))


def _versions() -> dict:
    """Versions of neuroaffect, Python and the main dependencies that are installed (package metadata only)."""
    out = {"neuroaffect": __version__, "python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out
