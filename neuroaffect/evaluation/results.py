"""What a cross-validation run returns: :class:`CVResult`, its tables and its JSON record."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .storage import _save_npz_atomic

_FRAME_COLUMNS = ("dataset", "subject", "run", "baseline", "protocol", "leakage_free", "target", "task", "level",
                  "metric", "score", "n_samples", "in_mean")


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
        Mean electrode importance over the folds when the fitted estimator (the last step of a
        pipeline, a search's best estimator) explains electrodes: the runner calls its method
        ``electrode_importance(X)`` on each fold's test windows, or else reads a fitted attribute
        ``electrode_importance_``.
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
        >>> from neuroaffect.evaluation import cross_validate_subjects
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


def _fmt_num(value, spec=".3f") -> str:
    return "n/a" if value is None or not np.isfinite(value) else format(value, spec)


def _fmt_summary(d) -> str:
    """``mean +- std [95% CI low, high]`` of a summary entry."""
    text = f"{_fmt_num(d['mean'])} +- {_fmt_num(d['std'])}"
    if d.get("ci_low") is not None and np.isfinite(d["ci_low"]):
        text += f" [95% CI {_fmt_num(d['ci_low'])}, {_fmt_num(d['ci_high'])}]"
    return text


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
