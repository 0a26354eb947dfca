"""The runner's jobs: plan the (permutation, scope, fold) jobs with their leakage audits, then run them.

:func:`_plan_jobs` splits each scope (a subject, or all windows pooled), audits every split and
names each job's storage file; :func:`_run_jobs` loads the stored jobs and fits the others through
joblib (so ``joblib.parallel_config(backend="dask")`` runs them on a cluster).

Metadata reach the estimator by scikit-learn's metadata routing (:func:`_fit_predict` runs every
fit and predict with routing enabled): the windows' trial keys as ``groups``, their id table
(subject, session and trial labels and integer codes) as ``metadata`` and the protocol's held-out
unit as ``held_out``, each passed exactly where the estimator (or a step or search inside it)
consumes it.
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

from .._keys import is_trial_table, keys_table, make_trial_keys, take_rows
from .audit import audit_split, check_split
from .storage import _hash, _load_npz, _safe, _save_npz_atomic


def _trial_table(tokens, keys):
    """The windows' id table (labels and integer codes): the container's ``metadata`` when it has
    one (:attr:`~neuroaffect.features.tokens.WindowTokens.metadata`), else built from the keys (the
    only place the runner parses them)."""
    container = getattr(tokens, "container", tokens)
    table = getattr(container, "metadata", None)
    if is_trial_table(table) and len(table) == len(keys):
        return table.reset_index(drop=True)
    return keys_table(keys)


def _held_out_units(prot, table, keys, subject) -> dict:
    """Per-window ids of the units ``prot`` holds out, after checking the id table agrees with the
    container's ``subject`` (the table is built from the keys when the container has none).

    The splitters read subject, session and stimulus ids from the table (or the keys
    ``"subject/session/trial"``); a key built by hand with an unescaped ``"/"`` inside an id would
    parse to another subject and could put a subject on both sides of a cross-subject split, so
    such keys are refused here.
    """
    key_subject = table["subject"].to_numpy(dtype=object).astype(str)
    key_session = table["session"].to_numpy(dtype=object).astype(str)
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
             "stimulus": table["trial"].to_numpy(dtype=object).astype(str)}
    return {unit: units[unit] for unit in prot.held_out}


def _plan_jobs(prot, tokens, table, labels, scopes, held_out, n_splits, random_state, run_hash, data_hash, fold_dir):
    """The (permutation, scope, fold) jobs of a run and the leakage audit of each split of the first labels.

    The splitters get each scope's rows of the id ``table`` as ``groups`` when they take one (the
    splitters of :mod:`~neuroaffect.evaluation.splitters`), else the trial keys. Every split is audited. Splits of a protocol that promises to be leakage-free (or to hold out
    subjects, sessions or stimuli) are checked on every permutation too, and one that breaks the
    promise raises :class:`LeakageError`; the others are measured (on the unpermuted labels).
    """
    keys = np.asarray(tokens.trial_key).astype(str)
    jobs, audits = [], []
    takes_table = getattr(type(prot.splitter(n_splits, random_state)).split, "_accepts_trial_table", False)
    groups_of = {name: take_rows(table, idx) if takes_table else keys[idx] for name, idx in scopes}
    for perm, y in enumerate(labels):
        for name, idx in scopes:
            splitter = prot.splitter(n_splits, random_state)
            scope_label = f"protocol {prot.name!r}, {'subject ' + name if prot.scope == 'subject' else 'pooled'}"
            try:
                with warnings.catch_warnings():
                    # KFold & co. warn that they ignore the trial keys; the audit says what that leaks.
                    warnings.filterwarnings("ignore", message="The groups parameter is ignored by", category=UserWarning)
                    splits = list(splitter.split(tokens.X[idx], y[idx], groups_of[name]))
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
                jobs.append({"perm": perm, "scope": name, "fold": fold, "train": train, "test": test, "path": path,
                             "held_out": _held_out_metadata(prot)})
            if times_tested.max(initial=0) > 1:
                first = str(keys[idx[np.argmax(times_tested > 1)]])
                raise ValueError(
                    f"{scope_label}: {int((times_tested > 1).sum())} window(s) are in the test set of several folds "
                    f"(first of trial {first!r}); the runner keeps one out-of-fold prediction per window, so the "
                    "test sets of the 'cv' parameter must not overlap (as for cross_val_predict)."
                )
    return jobs, audits


def _run_jobs(estimator, X, labels, keys, table, jobs, n_classes, n_jobs, progress):
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
            estimator, X[jobs[i]["train"]], labels[jobs[i]["perm"]][jobs[i]["train"]], keys[jobs[i]["train"]],
            X[jobs[i]["test"]], keys[jobs[i]["test"]], n_classes, jobs[i]["path"], held_out=jobs[i]["held_out"],
            metadata_train=take_rows(table, jobs[i]["train"]), metadata_test=take_rows(table, jobs[i]["test"]),
            importance=jobs[i]["perm"] == 0,  # the results keep the unpermuted jobs' importance only
        )
        for i in pending
    )
    bar = progress_bar(total=len(pending), desc="CV jobs", unit="fit", disable=not progress, leave=False)
    for i, out in zip(pending, Parallel(n_jobs=n_jobs, return_as="generator")(tasks), strict=True):
        outputs[i] = out
        bar.update()
    bar.close()
    return outputs


def _held_out_metadata(prot) -> str:
    """The ``held_out`` metadata of a protocol's fits: "subject" when it tests subjects absent from
    training (leave-one-subject-out, cross-dataset), else "trial" (unseen trials, sessions or
    stimuli, or windows, of the training subjects)."""
    return "subject" if "subject" in prot.held_out else "trial"


def _fit_predict(estimator, X_train, y_train, groups_train, X_test, groups_test, n_classes, path, held_out=None,
                 importance=True, metadata_train=None, metadata_test=None):
    """Fit a clone on one training set, predict its test set, store the result atomically.

    Fit and predict run with scikit-learn's metadata routing enabled. ``groups`` (the windows'
    trial keys) and ``metadata`` (their id table) go to ``fit`` and to ``predict`` /
    ``predict_proba`` exactly when the estimator consumes them there
    (:func:`get_routing_for_object`): subject-alignment steps (``metadata``), estimators that hold
    out trials or subjects for early stopping, a search's splitter (``groups``). ``held_out`` (what the protocol holds
    out, :func:`_held_out_metadata`) goes to ``fit`` where consumed, and ``validation_groups="auto"``
    of the neural estimators follows it. With ``importance`` (the unpermuted jobs), the electrode
    importance (:func:`_electrode_importance`) is computed on the test windows too; the stored
    ``"importance"`` is an empty array when it is not computed or the model offers none.
    """
    est = clone(estimator)
    single_class = bool(n_classes) and len(np.unique(y_train)) < 2
    if single_class:  # e.g. a subject who rated every training trial "high": predict that class
        est = DummyClassifier(strategy="most_frequent")
    # numpy/scipy BLAS single-threaded inside a job: parallelism comes from n_jobs, and threaded BLAS
    # on the small matrices of one fold mostly spins (6x slower on a busy 2-core machine).
    with _blas_controller().limit(limits=1, user_api="blas"), config_context(enable_metadata_routing=True):
        fit_params = _consumed(est, "fit", groups=groups_train, metadata=metadata_train, held_out=held_out)
        predict_params = _consumed(est, "predict", groups=groups_test, metadata=metadata_test)
        t0 = time.perf_counter()
        est.fit(X_train, y_train, **fit_params)
        fit_time = time.perf_counter() - t0
        out = {"pred": np.asarray(est.predict(X_test, **predict_params)), "proba": np.zeros((0,)),
               "importance": np.zeros((0,)), "fit_time": np.float64(fit_time), "single_class": np.bool_(single_class)}
        if n_classes and hasattr(est, "predict_proba"):
            proba_params = _consumed(est, "predict_proba", groups=groups_test, metadata=metadata_test)
            proba = np.asarray(est.predict_proba(X_test, **proba_params), dtype=float)
            classes = getattr(est, "classes_", np.arange(proba.shape[1]))
            aligned = np.zeros((len(X_test), n_classes))
            aligned[:, np.asarray(classes, dtype=int)] = proba
            out["proba"] = aligned
        value = _electrode_importance(est, X_test, groups_test, metadata_test) if importance else None
    if value is not None:
        out["importance"] = value
    if path is not None:
        _save_npz_atomic(path, out)
    return out


def _consumed(estimator, method, **metadata) -> dict:
    """The items of ``metadata`` (those not None) that ``estimator.<method>`` consumes under
    metadata routing (its own request, or a step's or a search's child's: the splitter's in fit).

    Call it with routing enabled. An object without routing support consumes nothing.
    """
    metadata = {k: v for k, v in metadata.items() if v is not None}
    if not metadata:
        return {}
    try:
        routing = get_routing_for_object(estimator)
        consumed = routing.consumes(method, list(metadata))
    except (AttributeError, NotImplementedError, TypeError, ValueError):  # no (or partial) routing support
        return {}
    return {k: v for k, v in metadata.items() if k in consumed}


def _check_routing(estimator) -> None:
    """Before any work: refuse an estimator whose ``groups`` routing cannot serve.

    Which fits and predictions get ``groups`` is decided per call by :func:`_consumed`; this only
    checks the estimator once.

    Raises
    ------
    ValueError
        For a search (e.g. :func:`~neuroaffect.evaluation.nested`) around a pipeline with subject
        alignment: a search's ``predict`` cannot pass ``metadata`` on, so its alignment step would
        silently standardise all test windows as one subject.
    """
    from sklearn.model_selection._search import BaseSearchCV

    steps = alignment_steps(estimator)
    if steps and isinstance(estimator, BaseSearchCV):
        raise ValueError(
            f"{type(estimator).__name__} around a pipeline with subject alignment ({', '.join(steps)}) "
            "is not supported: a search's predict cannot pass the test windows' metadata to the alignment step. "
            "Search the hyper-parameters of a pipeline without alignment, or fix them."
        )


def alignment_steps(estimator) -> list[str]:
    """Descriptions of the subject-alignment steps inside ``estimator`` (reports record them)."""
    from ..estimators.alignment import _SubjectAlignment

    found = [estimator] + [v for v in estimator.get_params(deep=True).values() if hasattr(v, "get_params")]
    return sorted({step.description for step in found if isinstance(step, _SubjectAlignment)})


@functools.cache
def _blas_controller() -> ThreadpoolController:
    # Scanning the loaded libraries costs milliseconds: do it once per process.
    return ThreadpoolController()


def _electrode_importance(estimator, X_test, groups_test=None, metadata_test=None):
    """Electrode importance of the fitted model on the test windows, or None.

    The final estimator (the best estimator of a search, the last step of a pipeline) explains
    electrodes when it offers a method ``electrode_importance(X)`` (e.g. attention rollout of the
    electrode-attention estimators), called on the test windows as that step receives them (through
    the pipeline's earlier steps; a result that is not one number per electrode of ``X_test`` is
    dropped), or else a fitted attribute ``electrode_importance_``. Call it with routing enabled.
    """
    final, head = estimator, None
    if hasattr(final, "best_estimator_"):
        final = final.best_estimator_
    if hasattr(final, "steps"):
        head, final = (final[:-1] if len(final.steps) > 1 else None), final.steps[-1][1]
    method = getattr(final, "electrode_importance", None)
    if callable(method):
        try:
            X = X_test
            if head is not None:
                X = head.transform(X, **_consumed(head, "transform", groups=groups_test, metadata=metadata_test))
            value = np.asarray(method(X), dtype=float).ravel()
        except Exception:  # importance is a report extra: never fail a fold for it
            return None
        return value if len(value) == np.shape(X_test)[1] else None
    value = getattr(final, "electrode_importance_", None)
    return None if value is None else np.asarray(value, dtype=float).ravel()
