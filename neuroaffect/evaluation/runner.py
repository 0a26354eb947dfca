"""The cross-validation runner: (subject, fold) jobs, leakage audit, resumable storage, scores.

:func:`cross_validate_subjects` is the one entry point. It derives labels from a rating, builds
the splits of ``cv`` (a named protocol, any scikit-learn splitter pooled or per subject, or
precomputed indices; one code path: each becomes a :class:`~neuroaffect.evaluation.Protocol`),
audits every split (labelling leaky ones LEAKY), fits a clone of the estimator
on each training set through joblib (so ``joblib.parallel_config(backend="dask")`` runs it on a
cluster), stores each finished job atomically under ``results_dir`` so an interrupted run resumes
where it stopped, and scores the out-of-fold predictions per subject at window and trial level.
"""

from __future__ import annotations

import functools
import hashlib
import platform
import re
import sys
import time
import warnings
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path

import joblib
import numpy as np
from joblib import Parallel, delayed
from sklearn import config_context
from sklearn.base import BaseEstimator, clone
from sklearn.dummy import DummyClassifier
from sklearn.utils.metadata_routing import get_routing_for_object
from threadpoolctl import ThreadpoolController

from .. import __version__
from .._atomic import atomic_path
from .._keys import make_trial_keys
from .._keys import natural_key as _natural_key
from .._logging import verbose
from .._validation import check_option
from .metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS, score, trial_level
from .nested import fit_accepts_groups
from .protocols import _IndexSplits, resolve_cv
from .splitters import audit_split, check_split, parse_trial_keys
from .stats import bootstrap_ci, group_permutation_p_value, permutation_p_value
from .targets import Target, labelled_windows, make_target, missing_labels

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


@dataclass
class CVResult:
    """Everything a cross-validation run produced.

    Attributes
    ----------
    config : dict
        Protocol (and whether it is leakage-free), target, task, metric, the run's ``name`` and
        whether it is a ``baseline``, the estimator (``repr`` and full ``estimator_params``), the
        tokenizer settings (``features``), the software ``versions``, seeds, data.
    subjects : list of dict
        Per subject, in natural order of the ids (``"2"`` before ``"10"``): counts of trials and
        windows, windows and trials per class on the training and test side (``class_counts``),
        window- and trial-level scores, confusion matrices, chance levels and permutation p-values
        at both levels, and ``in_mean`` (False for a subject whose test windows hold one class
        only: it is left out of the summary).
    folds : list of dict
        Per (subject, fold): sizes, windows and trials per class, leakage audit and window-level
        scores.
    summary : dict
        Mean, standard deviation and percentile bootstrap 95 % confidence interval across the
        subjects in the mean of each score, at window and trial level; chance levels and group
        p-values at both levels; the subjects left out of the mean (``excluded_subjects``).
    leakage : dict
        Whether the protocol is leakage-free and the measured fraction of test windows whose trial
        (or an overlapping window) was in training.
    permutation : dict or None
        Per-subject null distributions of the primary metric (whole-trial label permutations,
        re-fitted), when ``n_permutations > 0``.
    importance : dict or None
        Mean electrode importance when the estimator exposes ``electrode_importance_``.
    predictions : dict of ndarray
        Out-of-fold predictions per window (not written to JSON; see :meth:`save_predictions`).
    timings : dict
        Seconds spent (not part of the reproducible JSON).
    """

    config: dict
    subjects: list
    folds: list
    summary: dict
    leakage: dict
    permutation: dict | None = None
    importance: dict | None = None
    predictions: dict = field(default_factory=dict, repr=False)
    timings: dict = field(default_factory=dict, repr=False)

    @property
    def leakage_free(self) -> bool:
        return bool(self.config["leakage_free"])

    def scores(self, metric: str | None = None, level: str = "window") -> np.ndarray:
        """Per-subject scores of ``metric`` (default: the primary metric), shape (n_subjects,).

        Every scored subject, those left out of the summary's means included (``in_mean``).
        """
        metric = metric or self.config["metric"]
        return np.array([s[level][metric] for s in self.subjects], dtype=float)

    def to_frame(self):
        """The per-subject scores as a tidy :class:`pandas.DataFrame`, one row per (subject, run, metric, level).

        As MOABB's results: concatenate the frames of several runs with :func:`pandas.concat` and
        group or pivot at will.

        Returns
        -------
        DataFrame, shape (n_subjects * n_metrics * 2, 13)
            Columns ``dataset``, ``subject`` (str, natural order), ``run`` (``config["name"]``),
            ``baseline`` (bool), ``protocol``, ``leakage_free`` (bool), ``target``, ``task``,
            ``level`` (``"window"`` or ``"trial"``), ``metric``, ``score`` (float, NaN where
            undefined), ``n_samples`` (test windows or test trials the score is computed on) and
            ``in_mean`` (False for subjects left out of the summary).

        Examples
        --------
        >>> from neuroaffect.datasets import make_tokens
        >>> from neuroaffect.evaluation._synthetic import Flatten
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> res = cross_validate_subjects(make_tokens(n_subjects=2, n_windows=2),
        ...                               make_pipeline(Flatten(), LogisticRegression()), progress=False)
        >>> df = res.to_frame()
        >>> df.shape  # 2 subjects x 4 metrics x 2 levels
        (16, 13)
        >>> df.query("metric == 'balanced_accuracy'").pivot(index="subject", columns="level", values="score").shape
        (2, 2)
        """
        import pandas as pd

        c = self.config
        rows = []
        for r in self.subjects:
            for level, n in (("window", r["n_test_windows"]), ("trial", r["n_test_trials"])):
                for metric, value in r[level].items():
                    rows.append({
                        "dataset": c["dataset"], "subject": str(r["subject"]), "run": c.get("name", ""),
                        "baseline": bool(c.get("baseline", False)), "protocol": c["protocol"],
                        "leakage_free": bool(c["leakage_free"]), "target": c["target"], "task": c["task"],
                        "level": level, "metric": metric,
                        "score": float("nan") if value is None else float(value),
                        "n_samples": int(n), "in_mean": bool(r.get("in_mean", True)),
                    })
        return pd.DataFrame(rows, columns=_FRAME_COLUMNS)

    def to_dict(self) -> dict:
        """The JSON-serialisable record (deterministic for the same data, estimator and seed)."""
        return _jsonable({
            "config": self.config, "summary": self.summary, "leakage": self.leakage,
            "subjects": self.subjects, "folds": self.folds, "permutation": self.permutation,
            "importance": self.importance,
        })

    def format_summary(self) -> str:
        """A few lines for the console."""
        c, s = self.config, self.summary
        m = c["metric"]
        tag = "leakage-free" if self.leakage_free else "LEAKY (trials shared between train and test)"
        win, tri = s["window"][m], s["trial"][m]
        lines = [
            f"{c['protocol']} [{tag}]  {c['dataset']} {c['target']} {c['task']}  "
            f"({c['n_subjects']} subjects)",
            f"  {'baseline' if c.get('baseline') else 'model'}: {c.get('name', '')}",
        ]
        excluded = s.get("excluded_subjects") or []
        if excluded and not s.get("n_subjects_in_mean"):
            lines.append(f"  no subject is left for the mean: the test windows of every subject "
                         f"({', '.join(excluded)}) hold one class only")
        else:
            lines.append(f"  {m}: window {_fmt_summary(win)}   trial {_fmt_summary(tri)}   chance "
                         f"{_fmt_num(s['chance'][m])} (window) {_fmt_num(s.get('chance_trial', {}).get(m))} (trial)")
            if excluded:
                lines.append(f"  left out of the mean (test windows of one class only): {', '.join(excluded)}")
        if s.get("group_p_value") is not None:
            lines.append(f"  permutation p (group, {c['n_permutations']} perms): window {_fmt_num(s['group_p_value'], '.3g')}"
                         f", trial {_fmt_num(s.get('group_p_value_trial'), '.3g')}")
        lk = self.leakage
        lines.append(
            f"  test windows whose trial was in training: {lk['leaked_test_fraction']:.1%}"
            f" (overlapping a training window: {lk['overlapping_test_fraction']:.1%})"
        )
        dropped = c.get("unlabelled_dropped") or {}
        if dropped.get("trials"):
            lines.append(f"  unlabelled trials dropped before splitting: {dropped['trials']} "
                         f"({dropped['windows']} windows)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format_summary()

    def save_predictions(self, path) -> Path:
        """Write the out-of-fold predictions to ``path`` (``.npz``, atomically)."""
        path = Path(path)
        _save_npz_atomic(path, self.predictions)
        return path


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
    tokens : WindowTokens
        Windows of all subjects (``X`` shape (n_windows, n_electrodes, n_bands)).
    estimator : scikit-learn estimator
        Takes ``X`` as 3-D tokens. A clone is fitted per fold. If its ``fit`` accepts ``groups``
        (e.g. a search from :func:`nested`), the training windows' trial keys are passed, so
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
        trial level from the same permutations.
    n_jobs : int or None, default=1
        Parallel (subject, fold) jobs, through joblib (respects ``joblib.parallel_config``).
    results_dir : path-like, optional
        Where each finished job is stored (``<results_dir>/folds/``). Re-running with the same
        estimator, protocol, data and seed reuses stored jobs, so interrupted runs resume.
    random_state : int, default=0
        Seed of fold assignment, permutations and unseeded estimators.
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
    n_given = len(tokens.X)
    if isinstance(target, Target):  # labels made by the caller (e.g. cross-dataset, common space)
        tgt, tokens, kept = _given_labels(target, tokens, drop_unlabelled)
        target, task = tgt.rating, tgt.task
        target_id = ("labels", tgt.rating, tgt.task, tgt.class_names, hashlib.sha256(
            np.ascontiguousarray(tgt.y, dtype=float).tobytes()).hexdigest())
    else:
        tgt = make_target(tokens, target, task, drop_unlabelled=drop_unlabelled)
        kept = np.arange(n_given) if tgt.windows is None else np.asarray(tgt.windows)
        if tgt.windows is not None:
            tokens = tokens[tgt.windows]
        target_id = target
    if isinstance(prot.cv, _IndexSplits):  # indices into the windows as given: follow dropped windows
        prot = replace(prot, cv=prot.cv.restrict(kept, n_given))
    metric = metric or ("balanced_accuracy" if tgt.is_classification else "ccc")
    check_option("metric", metric, CLASSIFICATION_METRICS if tgt.is_classification else REGRESSION_METRICS)
    if not isinstance(n_permutations, int | np.integer) or n_permutations < 0:
        raise ValueError(f"Invalid value for the 'n_permutations' parameter: expected an integer >= 0, got {n_permutations!r}.")
    keys = np.asarray(tokens.trial_key).astype(str)
    subject = np.asarray(tokens.subject).astype(str)
    subjects, subject_code = np.unique(subject, return_inverse=True)
    subjects = np.array(sorted(subjects, key=_natural_key))  # "2" before "10"; codes only count subjects
    estimator = _seeded(clone(estimator), random_state)
    timings = {"splits": 0.0, "fit": 0.0, "score": 0.0}
    t0 = time.perf_counter()
    held_out = _held_out_units(prot, keys, subject)
    if prot.scope == "subject":
        scopes = [(s, np.flatnonzero(subject == s)) for s in subjects]
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
        "alignment": [a + (" (transductive: each test subject aligned on its own unlabelled test windows)"
                           if "subject" in prot.held_out else "") for a in alignment_steps(estimator)],
        "n_permutations": int(n_permutations), "random_state": random_state,
        "n_subjects": len(subjects), "n_windows": len(keys), "n_trials": len(np.unique(keys)),
        "unlabelled_dropped": dict(tgt.unlabelled_dropped),
        "ch_names": list(tokens.ch_names), "band_names": list(tokens.band_names), "sfreq": float(tokens.sfreq),
        "neuroaffect_version": __version__, "versions": _versions(),
    }
    cv_id = prot.name if prot.cv is None else (prot.name, joblib.hash(_canonical(prot.cv), hash_name="sha1"))
    run_hash = _hash(_estimator_key(estimator), cv_id, n_splits, random_state, target_id, task, __version__)
    config["run_id"] = run_hash[:16]
    data_hash = {name: _data_hash(tokens, idx) for name, idx in scopes}
    fold_dir = Path(results_dir) / "folds" if results_dir is not None else None
    if fold_dir is not None:
        fold_dir.mkdir(parents=True, exist_ok=True)

    labels = [tgt.y] + [_permute_trial_labels(tgt.y, keys, subject, (random_state, p)) for p in range(1, n_permutations + 1)]
    jobs, audits = _plan_jobs(prot, tokens, labels, scopes, held_out, subject_code, n_splits, random_state,
                              run_hash, data_hash, fold_dir)
    if prot.leakage_free is None:  # a caller's splitter that promised nothing: the audit decides
        prot = replace(prot, leakage_free=all(a.clean for _, _, a in audits))
        config["leakage_free"] = prot.leakage_free
    timings["splits"] = time.perf_counter() - t0

    outputs = _run_jobs(estimator, tokens.X, labels, keys, jobs, tgt.n_classes, n_jobs, progress)
    timings["fit"] = float(sum(o["fit_time"] for o in outputs))
    t1 = time.perf_counter()

    result = _assemble(tokens, tgt, prot, config, metric, labels, keys, subject, subjects, jobs, outputs, audits)
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


def _plan_jobs(prot, tokens, labels, scopes, held_out, subject_code, n_splits, random_state, run_hash, data_hash,
               fold_dir):
    """The (permutation, scope, fold) jobs of a run and the leakage audit of each split of the first labels.

    Every split is audited. Splits of a protocol that promises to be leakage-free (or to hold out
    subjects, sessions or stimuli) are checked on every permutation too, and one that breaks the
    promise raises :class:`LeakageError`; the others are measured (on the unpermuted labels).
    """
    keys = np.asarray(tokens.trial_key).astype(str)
    jobs, audits = [], []
    for perm, y in enumerate(labels):
        for name, idx in scopes:
            splitter = prot.splitter(n_splits, random_state)
            scope_label = f"protocol {prot.name!r}, {'subject ' + name if prot.scope == 'subject' else 'pooled'}"
            try:
                with warnings.catch_warnings():
                    # KFold & co. warn that they ignore the trial keys; the audit says what that leaks.
                    warnings.filterwarnings("ignore", message="The groups parameter is ignored by", category=UserWarning)
                    splits = list(splitter.split(tokens.X[idx], y[idx], keys[idx]))
            except ValueError as err:
                raise ValueError(f"{scope_label}: {err}") from err
            times_tested = np.zeros(len(idx), dtype=int)
            for fold, (tr, te) in enumerate(splits):
                train, test = idx[np.asarray(tr, dtype=int)], idx[np.asarray(te, dtype=int)]
                np.add.at(times_tested, np.asarray(te, dtype=int), 1)
                where = f"{scope_label}, fold {fold}"
                if prot.leakage_free or held_out:
                    audit = check_split(keys, tokens.start, tokens.stop, train, test,
                                        leakage_free=bool(prot.leakage_free), where=where, held_out=held_out)
                elif perm == 0:
                    audit = audit_split(keys, tokens.start, tokens.stop, train, test)
                if perm == 0:
                    audits.append((name, fold, audit))
                key = _hash(run_hash, data_hash[name], perm, fold, hashlib.sha256(test.tobytes()).hexdigest(),
                            hashlib.sha256(train.tobytes()).hexdigest())
                path = None if fold_dir is None else fold_dir / f"{_safe(name)}-p{perm:04d}-f{fold:03d}-{key[:16]}.npz"
                n_train_subjects = (np.count_nonzero(np.bincount(subject_code[train]))
                                    if "subject" in prot.held_out else 0)
                jobs.append({"perm": perm, "scope": name, "fold": fold, "train": train, "test": test, "path": path,
                             "n_train_subjects": n_train_subjects})
            if times_tested.max(initial=0) > 1:
                first = str(keys[idx[np.argmax(times_tested > 1)]])
                raise ValueError(
                    f"{scope_label}: {int((times_tested > 1).sum())} window(s) are in the test set of several folds "
                    f"(first of trial {first!r}); the runner keeps one out-of-fold prediction per window, so the "
                    "test sets of the 'cv' parameter must not overlap (as for cross_val_predict)."
                )
    return jobs, audits


def _run_jobs(estimator, X, labels, keys, jobs, n_classes, n_jobs, progress):
    from .._logging import progress_bar

    outputs = [None] * len(jobs)
    pending = []
    for i, job in enumerate(jobs):
        if job["path"] is not None and job["path"].exists():
            try:
                outputs[i] = _load_npz(job["path"])
                continue
            except Exception:  # a corrupt or foreign file: recompute it
                pass
        pending.append(i)
    if not pending:
        return outputs
    tasks = (
        delayed(_fit_predict)(
            _validation_groups(estimator, jobs[i]["n_train_subjects"]), X[jobs[i]["train"]],
            labels[jobs[i]["perm"]][jobs[i]["train"]], keys[jobs[i]["train"]], X[jobs[i]["test"]],
            keys[jobs[i]["test"]], n_classes, jobs[i]["path"],
        )
        for i in pending
    )
    bar = progress_bar(total=len(pending), desc="CV jobs", unit="fit", disable=not progress, leave=False)
    for i, out in zip(pending, Parallel(n_jobs=n_jobs, return_as="generator")(tasks), strict=True):
        outputs[i] = out
        bar.update()
    bar.close()
    return outputs


def _fit_predict(estimator, X_train, y_train, groups_train, X_test, groups_test, n_classes, path):
    """Fit a clone on one training set, predict its test set, store the result atomically.

    Steps that request ``groups`` through metadata routing (subject alignment) get the windows'
    trial keys in fit and predict; estimators whose ``fit`` takes ``groups`` (early stopping) get
    them in fit.
    """
    est = clone(estimator)
    single_class = bool(n_classes) and len(np.unique(y_train)) < 2
    if single_class:  # e.g. a subject who rated every training trial "high": predict that class
        est = DummyClassifier(strategy="most_frequent")
    routed = _routes_groups(est)
    fit_params = {"groups": groups_train} if routed or _accepts_groups(est) else {}
    predict_params = {"groups": groups_test} if routed else {}
    # numpy/scipy BLAS single-threaded inside a job: parallelism comes from n_jobs, and threaded BLAS
    # on the small matrices of one fold mostly spins (6x slower on a busy 2-core machine).
    with _blas_controller().limit(limits=1, user_api="blas"), config_context(enable_metadata_routing=routed):
        t0 = time.perf_counter()
        est.fit(X_train, y_train, **fit_params)
        fit_time = time.perf_counter() - t0
        out = {"pred": np.asarray(est.predict(X_test, **predict_params)), "proba": np.zeros((0,)),
               "importance": np.zeros((0,)), "fit_time": np.float64(fit_time), "single_class": np.bool_(single_class)}
        if n_classes and hasattr(est, "predict_proba"):
            proba = np.asarray(est.predict_proba(X_test, **predict_params), dtype=float)
            classes = getattr(est, "classes_", np.arange(proba.shape[1]))
            aligned = np.zeros((len(X_test), n_classes))
            aligned[:, np.asarray(classes, dtype=int)] = proba
            out["proba"] = aligned
        importance = _electrode_importance(est, X_test)
    if importance is not None:
        out["importance"] = importance
    if path is not None:
        _save_npz_atomic(path, out)
    return out


def _routes_groups(estimator) -> bool:
    """Whether ``estimator`` holds a subject-alignment step, which requests ``groups`` through
    metadata routing in fit and predict (searches keep their own ``groups`` handling)."""
    from sklearn.model_selection._search import BaseSearchCV

    if isinstance(estimator, BaseSearchCV) or not alignment_steps(estimator):
        return False
    with config_context(enable_metadata_routing=True):
        routing = get_routing_for_object(estimator)
        return bool(routing.consumes("fit", ["groups"]) or routing.consumes("predict", ["groups"]))


def alignment_steps(estimator) -> list[str]:
    """Descriptions of the subject-alignment steps inside ``estimator`` (reports record them)."""
    from ..estimators.alignment import _SubjectAlignment

    found = [estimator] + [v for v in estimator.get_params(deep=True).values() if hasattr(v, "get_params")]
    return sorted({step.description for step in found if isinstance(step, _SubjectAlignment)})


@functools.cache
def _blas_controller() -> ThreadpoolController:
    # Scanning the loaded libraries costs milliseconds: do it once per process.
    return ThreadpoolController()


def _assemble(tokens, tgt, prot, config, metric, labels, keys, subject, subjects, jobs, outputs, audits):
    n = len(keys)
    classification = tgt.is_classification
    n_perm = len(labels) - 1
    preds = [np.full(n, np.nan) for _ in labels]
    proba = np.full((n, tgt.n_classes), np.nan) if classification else None
    # Permutation runs' probabilities, kept only when the primary metric needs them (ROC-AUC null).
    perm_proba = [np.full((n, tgt.n_classes), np.nan) if classification and metric == "roc_auc" else None
                  for _ in range(n_perm)]
    fold_of = np.full(n, -1)
    importances = {}
    fold_rows = []
    audit_of = {(name, fold): a for name, fold, a in audits}
    trained_for = {}  # subject -> windows that trained the models tested on that subject (any fold)
    for job, out in zip(jobs, outputs, strict=True):
        preds[job["perm"]][job["test"]] = out["pred"]
        if job["perm"] != 0:
            if perm_proba[job["perm"] - 1] is not None and out["proba"].size:
                perm_proba[job["perm"] - 1][job["test"]] = out["proba"]
            continue
        fold_of[job["test"]] = job["fold"]
        if classification and out["proba"].size:
            proba[job["test"]] = out["proba"]
        if out["importance"].size:
            importances.setdefault(job["scope"], []).append(out["importance"])
        y_t, y_p = tgt.y[job["test"]], out["pred"]
        p = out["proba"] if out["proba"].size else None
        scores = score(y_t, y_p, p, task=tgt.task, n_classes=tgt.n_classes)
        scores.pop("confusion_matrix", None)
        fold_rows.append({"scope": job["scope"], "fold": job["fold"],
                          "single_class_training": bool(out.get("single_class", False)),
                          "audit": audit_of[(job["scope"], job["fold"])].to_dict(), "window": scores})
        if classification:
            fold_rows[-1]["class_counts"] = _class_counts(tgt.y, keys, job["train"], job["test"], tgt.n_classes)
            for s in np.unique(subject[job["test"]]):
                trained_for.setdefault(s, np.zeros(n, dtype=bool))[job["train"]] = True
    if classification and np.isnan(proba).any():
        proba = None if np.isnan(proba[fold_of >= 0]).any() else proba

    # Subjects with no test window (the training dataset of protocol "cross-dataset") are not scored.
    untested = [str(s) for s in subjects if not (fold_of[subject == s] >= 0).any()]
    if prot.tests_every_window:
        missing = {str(s): int(((subject == s) & (fold_of < 0)).sum()) for s in subjects}
        missing = {s: c for s, c in missing.items() if c}
        if missing:
            config["untested_windows"] = missing
            listed = ", ".join(f"{s!r} ({c})" for s, c in missing.items())
            _warn_caller(
                f"protocol {prot.name!r} left {sum(missing.values())} window(s) untested, per subject: {listed}; "
                "their splits had an empty training or test side (e.g. too few shared stimuli). "
                "Scores cover the tested windows only (see config['untested_windows'])."
            )
    if untested:
        subjects = np.array([s for s in subjects if str(s) not in untested])
        config["n_subjects"] = len(subjects)
        config["untested_subjects"] = untested
    subject_rows, chance_sources, only_class = [], set(), {}
    null = {level: np.full((n_perm, len(subjects)), np.nan) for level in ("window", "trial")}
    for j, s in enumerate(subjects):
        mine = subject == s
        tested = mine & (fold_of >= 0)
        _, first = np.unique(keys[tested], return_index=True)
        y_tested = {"window": tgt.y[tested], "trial": tgt.y[tested][first]}
        row = {"subject": str(s), "n_trials": int(len(np.unique(keys[mine]))), "n_windows": int(mine.sum()),
               "n_test_trials": int(len(first)), "n_test_windows": int(tested.sum())}
        # Test windows of one class: any model predicting that class is perfect, so the score says
        # nothing about decoding; the subject stays listed but out of every mean.
        row["in_mean"] = not (classification and len(np.unique(y_tested["window"])) < 2)
        if not row["in_mean"]:
            only_class[row["subject"]] = tgt.class_names[int(y_tested["window"][0])]
        if classification:
            row["class_counts"] = _class_counts(tgt.y, keys, np.flatnonzero(trained_for.get(s, np.zeros(n, bool))),
                                                np.flatnonzero(tested), tgt.n_classes)
        for level in ("window", "trial"):
            row[level] = _level_scores(level, keys[tested], tgt, tgt.y[tested], preds[0][tested],
                                       None if proba is None else proba[tested])
            cm = row[level].pop("confusion_matrix", None)
            if cm is not None:
                row[f"confusion_{level}"] = cm
        for p in range(1, n_perm + 1):
            y_p, pred_p = labels[p][tested], preds[p][tested]
            proba_p = None if perm_proba[p - 1] is None else perm_proba[p - 1][tested]
            for level in ("window", "trial"):
                null[level][p - 1, j] = _level_scores(level, keys[tested], tgt, y_p, pred_p, proba_p)[metric]
        for level, suffix in (("window", ""), ("trial", "_trial")):
            if n_perm:
                row["p_value" + suffix] = permutation_p_value(row[level][metric], null[level][:, j])
                row["null_mean" + suffix] = _nanmean(null[level][:, j])
            row["chance" + suffix] = _chance(metric, tgt, y_tested[level], row.get("null_mean" + suffix))
            chance_sources.add("permutation" if np.isfinite(row.get("null_mean" + suffix, np.nan)) else "theoretical")
        subject_rows.append(row)

    kept = [j for j, r in enumerate(subject_rows) if r["in_mean"]]
    excluded = [r for r in subject_rows if not r["in_mean"]]
    if excluded:
        listed = ", ".join(f"{r['subject']!r} (all {only_class[r['subject']]!r})" for r in excluded)
        left = (f"no subject is left for the mean across subjects (all {len(excluded)} excluded)" if not kept
                else f"{len(kept)} subject(s) remain in the mean")
        _warn_caller(
            f"{len(excluded)} subject(s) left out of the mean across subjects because their test windows hold one "
            f"class only, so predicting that class scores as perfect: {listed}; {left}. "
            "See summary['excluded_subjects'] (each keeps its row, with in_mean=False)."
        )
    rows_in = [subject_rows[j] for j in kept]
    seed = int(config["random_state"]) if isinstance(config["random_state"], int | np.integer) else 0
    summary = {}
    for level in ("window", "trial"):
        names = [m for m in subject_rows[0][level]]
        summary[level] = {m: _mean_std_ci([r[level][m] for r in rows_in], seed) for m in names}
    summary["ci"] = {"method": "percentile bootstrap over subjects", "confidence": _CI_LEVEL,
                     "n_resamples": _CI_RESAMPLES, "random_state": seed}
    summary["n_subjects_in_mean"] = len(kept)
    summary["excluded_subjects"] = [r["subject"] for r in excluded]
    summary["chance"] = {metric: _nanmean([r["chance"] for r in rows_in])}
    summary["chance_trial"] = {metric: _nanmean([r["chance_trial"] for r in rows_in])}
    # Where every subject's chance is its permutation null mean: "permutation"; where none (no
    # permutations, or a null that could not be scored): "theoretical"; otherwise both are mixed.
    summary["chance_source"] = ("permutation+theoretical" if len(chance_sources) > 1
                                else chance_sources.pop() if chance_sources else "theoretical")
    for level, suffix in (("window", ""), ("trial", "_trial")):
        summary["group_p_value" + suffix] = (
            group_permutation_p_value([r[level][metric] for r in rows_in], null[level][:, kept])
            if n_perm and kept else None)
    if classification:
        for level in ("window", "trial"):
            summary[f"confusion_{level}"] = np.sum(
                [np.zeros((tgt.n_classes, tgt.n_classes), int)] + [r[f"confusion_{level}"] for r in rows_in], axis=0
            ).tolist()

    n_test = sum(a.n_test_windows for _, _, a in audits) or 1
    leakage = {
        "leakage_free": prot.leakage_free,
        "protocol": prot.label,
        "n_splits_audited": len(audits),
        "leaked_test_fraction": sum(a.leaked_test_fraction * a.n_test_windows for _, _, a in audits) / n_test,
        "overlapping_test_fraction": sum(a.overlapping_test_fraction * a.n_test_windows for _, _, a in audits) / n_test,
        "max_shared_trials_per_split": max((a.shared_trials for _, _, a in audits), default=0),
    }
    permutation = None
    if n_perm:
        permutation = {"metric": metric, "levels": ["window", "trial"], "n_permutations": n_perm,
                       "scheme": "whole-trial labels permuted within each subject; full CV re-fitted per permutation",
                       "subjects": [str(s) for s in subjects], "null": null["window"].tolist(),
                       "null_trial": null["trial"].tolist()}
    importance = None
    if importances:
        per_scope = {k: np.mean(v, axis=0) for k, v in sorted(importances.items())}
        importance = {"ch_names": list(tokens.ch_names),
                      "positions": np.asarray(tokens.positions, dtype=float).tolist(),
                      "mean": np.mean(list(per_scope.values()), axis=0).tolist(),
                      "per_scope": {k: v.tolist() for k, v in per_scope.items()}}
    predictions = {"trial_key": keys, "subject": subject, "y_true": tgt.y, "y_pred": preds[0], "fold": fold_of}
    if proba is not None:
        predictions["proba"] = proba
    return CVResult(config=config, subjects=subject_rows, folds=fold_rows, summary=summary, leakage=leakage,
                    permutation=permutation, importance=importance, predictions=predictions)


def _warn_caller(message: str) -> None:
    """``warnings.warn(message, UserWarning)`` attributed to the first frame outside neuroaffect.

    The user's line shows in the warning whatever wrappers (e.g. ``@verbose``) lie in between.
    """
    package = str(Path(__file__).resolve().parent.parent)
    frame, level = sys._getframe(0), 1
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)


def _level_scores(level, keys, tgt, y_true, y_pred, proba):
    if tgt.is_classification:
        y_pred = np.asarray(y_pred).astype(int)
    if level == "trial":
        _, y_true, y_pred, proba = trial_level(keys, y_true, y_pred, proba, task=tgt.task)
    return score(y_true, y_pred, proba, task=tgt.task, n_classes=tgt.n_classes)


def _chance(metric, tgt, y_true, null_mean):
    """Chance level of ``metric``: the permutation null mean when available, else its theoretical value."""
    if null_mean is not None and np.isfinite(null_mean):
        return float(null_mean)
    if metric == "balanced_accuracy":
        return 1.0 / max(len(np.unique(y_true)), 1)
    if metric == "accuracy":
        return float(np.bincount(np.asarray(y_true, dtype=int)).max() / max(len(y_true), 1))
    if metric == "roc_auc":
        return 0.5
    return 0.0 if metric in ("pearson_r", "ccc") else float("nan")


def _mean_std(values) -> dict:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return {"mean": float("nan"), "std": float("nan")}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0}


_CI_LEVEL = 0.95
_CI_RESAMPLES = 10000
_FRAME_COLUMNS = ("dataset", "subject", "run", "baseline", "protocol", "leakage_free", "target", "task", "level",
                  "metric", "score", "n_samples", "in_mean")
# The library's main dependencies whose versions results.json records (those installed).
_VERSIONED = ("numpy", "scipy", "scikit-learn", "torch", "mne", "pyriemann")


def _mean_std_ci(values, seed) -> dict:
    """Mean, standard deviation (ddof=1) and percentile bootstrap CI of the finite ``values``."""
    out = _mean_std(values)
    low, high = bootstrap_ci(values, confidence=_CI_LEVEL, n_resamples=_CI_RESAMPLES, random_state=seed)
    return {**out, "ci_low": low, "ci_high": high}


def _nanmean(values) -> float:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else float("nan")


def _class_counts(y, keys, train, test, n_classes) -> dict:
    """Windows and trials per class (lists indexed by class) on the training and the test side.

    ``train`` and ``test`` are window indices; a trial counts under its first window's label.
    """
    out = {}
    for side, idx in (("train", train), ("test", test)):
        y_side = np.asarray(y[idx]).astype(int)
        _, first = np.unique(keys[idx], return_index=True)
        out[f"{side}_windows"] = np.bincount(y_side, minlength=n_classes).tolist()
        out[f"{side}_trials"] = np.bincount(y_side[first], minlength=n_classes).tolist()
    return out


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


def _fmt_num(value, spec=".3f") -> str:
    return "n/a" if value is None or not np.isfinite(value) else format(value, spec)


def _fmt_summary(d) -> str:
    """``mean +- std [95% CI low, high]`` of a summary entry."""
    text = f"{_fmt_num(d['mean'])} +- {_fmt_num(d['std'])}"
    if d.get("ci_low") is not None and np.isfinite(d["ci_low"]):
        text += f" [95% CI {_fmt_num(d['ci_low'])}, {_fmt_num(d['ci_high'])}]"
    return text


def _permute_trial_labels(y, keys, subject, seed):
    """Shuffle whole trials' labels within each subject (every window keeps its trial's new label)."""
    rng = np.random.default_rng(list(seed))
    y_perm = np.array(y, copy=True)
    for s in np.unique(subject):
        idx = np.flatnonzero(subject == s)
        trials, first, codes = np.unique(keys[idx], return_index=True, return_inverse=True)
        trial_y = y[idx][first]
        y_perm[idx] = rng.permutation(trial_y)[codes]
    return y_perm


def _seeded(estimator, random_state):
    unset = {k: random_state for k, v in estimator.get_params(deep=True).items()
             if k.split("__")[-1] == "random_state" and v is None}
    return estimator.set_params(**unset) if unset else estimator


def _validation_groups(estimator, n_train_subjects: int):
    """``estimator``, or a clone with ``validation_groups="auto"`` made "subject", for one fold.

    ``n_train_subjects`` is the fold's number of training subjects under protocols that hold out
    subjects, 0 under the others. Early stopping inside the fold then holds out what the protocol
    holds out: whole subjects, so the stopping epoch is chosen for subjects the model has not
    seen. It needs at least 3 training subjects (2 left for an inner fit of a nested search);
    with fewer, "auto" stays "trial".
    """
    if n_train_subjects < 3:
        return estimator
    auto = {k: "subject" for k, v in estimator.get_params(deep=True).items()
            if k.split("__")[-1] == "validation_groups" and isinstance(v, str) and v == "auto"}
    return clone(estimator).set_params(**auto) if auto else estimator


def _accepts_groups(estimator) -> bool:
    from sklearn.model_selection._search import BaseSearchCV

    # A search's fit(X, y, **params) forwards groups to its splitter.
    return isinstance(estimator, BaseSearchCV) or fit_accepts_groups(estimator)


def _electrode_importance(estimator, X_test):
    """Electrode importance if the fitted model offers one (``electrode_importance_``, or attention
    rollout on the test windows for the electrode-attention estimators), else None."""
    final = estimator
    if hasattr(final, "best_estimator_"):
        final = final.best_estimator_
    if hasattr(final, "steps"):
        final = final.steps[-1][1]
    value = getattr(final, "electrode_importance_", None)
    if value is None and type(final).__name__.startswith("ElectrodeAttention") and final is estimator:
        try:
            from ..estimators.interpret import electrode_importance

            value = electrode_importance(final, X_test)
        except Exception:  # importance is a report extra: never fail a fold for it
            value = None
    return None if value is None else np.asarray(value, dtype=float).ravel()


def _estimator_key(estimator) -> str:
    """A hash of the estimator's type and parameter values (not their reprs), stable across processes.

    Part of the resume-cache key: estimators differing in any parameter value, including the
    middle of a large array that ``repr`` would elide, get different keys.
    """
    return joblib.hash(_canonical(estimator), hash_name="sha1")


def _canonical(value):
    """Stand-in for a parameter value that pickles the same for equal values in any process.

    Estimators (anything with ``get_params``) become their type and canonical parameters, so nested
    estimators hash by their parameters, never by identity; containers are canonicalised
    recursively (dicts with sorted keys); anything else is hashed by content with
    :func:`joblib.hash` (arrays by their bytes), or, if it cannot be pickled, by its repr without
    memory addresses.
    """
    if isinstance(value, BaseEstimator) or (not isinstance(value, type) and callable(getattr(value, "get_params", None))):
        try:
            params = value.get_params(deep=False)
        except TypeError:
            params = None
        if isinstance(params, dict):
            cls = type(value)
            return ("estimator", cls.__module__, cls.__qualname__,
                    [(str(k), _canonical(v)) for k, v in sorted(params.items(), key=lambda kv: str(kv[0]))])
    if isinstance(value, dict):
        items = [(_canonical(k), _canonical(v)) for k, v in value.items()]
        return ("dict", type(value).__qualname__, sorted(items, key=lambda kv: repr(kv[0])))
    if isinstance(value, list | tuple):
        return (type(value).__qualname__, [_canonical(v) for v in value])
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return value
    try:
        return ("hash", type(value).__module__, type(value).__qualname__, joblib.hash(value, hash_name="sha1"))
    except Exception:  # not picklable (e.g. a lambda): fall back to its repr, without memory addresses
        return ("repr", _ADDRESS.sub("", repr(value)))


def _held_out_units(prot, keys, subject) -> dict:
    """Per-window ids of the units ``prot`` holds out, after checking every key parses to its subject.

    The splitters read subject, session and stimulus ids from the keys ``"subject/session/trial"``;
    a key built by hand with an unescaped ``"/"`` inside an id would parse to another subject and
    could put a subject on both sides of a cross-subject split, so such keys are refused here.
    """
    key_subject, key_session, key_trial = parse_trial_keys(keys)
    bad = np.flatnonzero(key_subject != subject)
    if len(bad):
        i = bad[0]
        raise ValueError(
            f"Trial key {str(keys[i])!r} of subject {str(subject[i])!r} does not parse as "
            f"'{str(subject[i])}/<session>/<trial>' (it parses to subject {str(key_subject[i])!r}): an id "
            f"contains an unescaped '/'. {len(bad)} window(s) are affected; build keys with "
            "EEGTrials.trial_keys, which escapes '%' and '/' inside ids as '%25' and '%2F'."
        )
    units = {"subject": subject, "session": make_trial_keys(subject, key_session, np.zeros(len(keys), int)),
             "stimulus": key_trial}
    return {unit: units[unit] for unit in prot.held_out}



def _hash(*parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode())
        h.update(b"\0")
    return h.hexdigest()


def _data_hash(tokens, idx) -> str:
    h = hashlib.sha256()
    for arr in (tokens.X[idx], tokens.ratings[idx], tokens.start[idx], tokens.stop[idx]):
        arr = np.ascontiguousarray(arr)
        h.update(str((arr.dtype.str, arr.shape)).encode())
        h.update(arr.tobytes())
    h.update("\n".join(np.asarray(tokens.trial_key)[idx].astype(str).tolist()).encode())
    h.update(repr((tokens.rating_names, list(tokens.ch_names), tokens.band_names, float(tokens.sfreq))).encode())
    return h.hexdigest()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(name))


def _save_npz_atomic(path: Path, arrays: dict) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})


def _load_npz(path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
