"""From the runner's fold outputs to a :class:`~neuroaffect.evaluation.CVResult`.

Out-of-fold predictions are scored per subject at window and trial level, with chance levels and
permutation p-values; the summary averages the subjects (bootstrap confidence intervals), and the
leakage audits of every split are pooled.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

from .metrics import score, trial_level
from .results import CVResult
from .stats import bootstrap_ci, group_permutation_p_value, permutation_p_value

_CI_LEVEL = 0.95
_CI_RESAMPLES = 10000


def _assemble(tokens, tgt, prot, config, metric, labels, keys, table, subject, subjects, jobs, outputs, audits):
    """The :class:`CVResult` of a run. Per-subject and per-trial bookkeeping reads the integer codes
    of the id ``table`` (:attr:`~neuroaffect.features.tokens.WindowTokens.metadata`); ``keys`` (the
    trial keys) name the trials in the predictions and group windows into trials for trial-level
    scores; ``subjects`` are the labels of the subjects to score, in report order."""
    n = len(keys)
    subject_code, trial_code = table["subject_code"].to_numpy(), table["trial_code"].to_numpy()
    _, first_window = np.unique(subject_code, return_index=True)
    code_of = dict(zip(subject[first_window].tolist(), subject_code[first_window].tolist(), strict=True))
    classification = tgt.is_classification
    n_perm = len(labels) - 1
    preds = [np.full(n, np.nan) for _ in labels]
    proba = np.full((n, tgt.n_classes), np.nan) if classification else None
    # Permutation runs' probabilities: the null must be scored like the observed run (trial level
    # averages window probabilities; ROC-AUC needs them at every level).
    perm_proba = [np.full((n, tgt.n_classes), np.nan) if classification else None for _ in range(n_perm)]
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
            fold_rows[-1]["class_counts"] = _class_counts(tgt.y, trial_code, job["train"], job["test"], tgt.n_classes)
            for code in np.unique(subject_code[job["test"]]).tolist():
                trained_for.setdefault(code, np.zeros(n, dtype=bool))[job["train"]] = True
    if classification and np.isnan(proba).any():
        proba = None if np.isnan(proba[fold_of >= 0]).any() else proba

    # Subjects with no test window (the training dataset of protocol "cross-dataset") are not scored.
    untested = [str(s) for s in subjects if not (fold_of[subject_code == code_of[s]] >= 0).any()]
    if prot.tests_every_window:
        missing = {str(s): int(((subject_code == code_of[s]) & (fold_of < 0)).sum()) for s in subjects}
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
        mine = subject_code == code_of[s]
        tested = mine & (fold_of >= 0)
        _, first = np.unique(trial_code[tested], return_index=True)
        y_tested = {"window": tgt.y[tested], "trial": tgt.y[tested][first]}
        row = {"subject": str(s), "n_trials": int(len(np.unique(trial_code[mine]))), "n_windows": int(mine.sum()),
               "n_test_trials": int(len(first)), "n_test_windows": int(tested.sum())}
        # Test windows of one class: any model predicting that class is perfect, so the score says
        # nothing about decoding; the subject stays listed but out of every mean.
        row["in_mean"] = not (classification and len(np.unique(y_tested["window"])) < 2)
        if not row["in_mean"]:
            only_class[row["subject"]] = tgt.class_names[int(y_tested["window"][0])]
        if classification:
            row["class_counts"] = _class_counts(tgt.y, trial_code,
                                                np.flatnonzero(trained_for.get(code_of[s], np.zeros(n, bool))),
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
            if proba_p is not None and np.isnan(proba_p).any():  # no predict_proba: votes, as observed
                proba_p = None
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


def _mean_std_ci(values, seed) -> dict:
    """Mean, standard deviation (ddof=1) and percentile bootstrap CI of the finite ``values``."""
    out = _mean_std(values)
    low, high = bootstrap_ci(values, confidence=_CI_LEVEL, n_resamples=_CI_RESAMPLES, random_state=seed)
    return {**out, "ci_low": low, "ci_high": high}


def _nanmean(values) -> float:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else float("nan")


def _class_counts(y, trial, train, test, n_classes) -> dict:
    """Windows and trials per class (lists indexed by class) on the training and the test side.

    ``trial`` is each window's trial (code or key); ``train`` and ``test`` are window indices; a
    trial counts under its first window's label.
    """
    out = {}
    for side, idx in (("train", train), ("test", test)):
        y_side = np.asarray(y[idx]).astype(int)
        _, first = np.unique(trial[idx], return_index=True)
        out[f"{side}_windows"] = np.bincount(y_side, minlength=n_classes).tolist()
        out[f"{side}_trials"] = np.bincount(y_side[first], minlength=n_classes).tolist()
    return out
