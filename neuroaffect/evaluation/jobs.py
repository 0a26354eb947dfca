"""The runner's jobs: plan the (permutation, scope, fold) jobs with their leakage audits, then run them.

:func:`_plan_jobs` splits each scope (a subject, or all windows pooled), audits every split and
names each job's storage file; :func:`_run_jobs` loads the stored jobs and fits the others through
joblib (so ``joblib.parallel_config(backend="dask")`` runs them on a cluster).
"""

from __future__ import annotations

import functools
import hashlib
import time
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn import config_context
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.utils.metadata_routing import get_routing_for_object
from threadpoolctl import ThreadpoolController

from .._keys import make_trial_keys, parse_trial_keys
from .audit import audit_split, check_split
from .nested import fit_accepts_groups
from .storage import _hash, _load_npz, _safe, _save_npz_atomic


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
    if routed:  # a later step that takes groups in fit (early stopping) gets them through routing too
        _request_fit_groups(est)
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
    metadata routing in fit and predict.

    Raises
    ------
    ValueError
        For a search (e.g. :func:`~neuroaffect.evaluation.nested`) around a pipeline with
        subject alignment: a search's ``predict`` cannot pass ``groups`` on, so its alignment
        step would silently standardise all test windows as one subject.
    """
    from sklearn.model_selection._search import BaseSearchCV

    if not alignment_steps(estimator):
        return False
    if isinstance(estimator, BaseSearchCV):
        raise ValueError(
            f"{type(estimator).__name__} around a pipeline with subject alignment ({', '.join(alignment_steps(estimator))}) "
            "is not supported: a search's predict cannot pass the test windows' groups to the alignment step. "
            "Search the hyper-parameters of a pipeline without alignment, or fix them."
        )
    with config_context(enable_metadata_routing=True):
        routing = get_routing_for_object(estimator)
        return bool(routing.consumes("fit", ["groups"]) or routing.consumes("predict", ["groups"]))


def _request_fit_groups(estimator) -> None:
    """Under routing, request ``groups`` in ``fit`` for the pipeline steps whose ``fit`` takes it
    and that left the request unset (e.g. a neural estimator after an alignment step)."""
    with config_context(enable_metadata_routing=True):
        for _, step in getattr(estimator, "steps", []):
            if hasattr(step, "set_fit_request") and fit_accepts_groups(step):
                request = get_routing_for_object(step).fit.requests.get("groups")
                if request is None:
                    step.set_fit_request(groups=True)


def alignment_steps(estimator) -> list[str]:
    """Descriptions of the subject-alignment steps inside ``estimator`` (reports record them)."""
    from ..estimators.alignment import _SubjectAlignment

    found = [estimator] + [v for v in estimator.get_params(deep=True).values() if hasattr(v, "get_params")]
    return sorted({step.description for step in found if isinstance(step, _SubjectAlignment)})


@functools.cache
def _blas_controller() -> ThreadpoolController:
    # Scanning the loaded libraries costs milliseconds: do it once per process.
    return ThreadpoolController()


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
