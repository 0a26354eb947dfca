"""Text shared by a report's Markdown, HTML, console summary and figure titles: names, numbers, runs."""

from __future__ import annotations

import numpy as np

from .._keys import natural_key

_METRIC_NAMES = {
    "accuracy": "Accuracy", "balanced_accuracy": "Balanced acc.", "f1_macro": "Macro-F1", "roc_auc": "ROC-AUC",
    "rmse": "RMSE", "pearson_r": "Pearson r", "ccc": "CCC",
}


def _question(run):
    c = run["config"]
    return c["dataset"], c["target"], c["task"], c["metric"]


def _nan(v):
    return float("nan") if v is None else float(v)


def _fmt(v, digits=3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    return f"{v:.{digits}g}" if abs(v) < 1e-3 and v != 0 else f"{v:.{digits}f}"


def _pm(d) -> str:
    """``mean +- std`` with ``[low, high]``, the bootstrap interval, when the results hold one."""
    text = f"{_fmt(d['mean'])} +- {_fmt(d['std'])}"
    if d.get("ci_low") is not None and d.get("ci_high") is not None:
        text += f" [{_fmt(d['ci_low'])}, {_fmt(d['ci_high'])}]"
    return text


def _get(summary, key, metric):
    return (summary.get(key) or {}).get(metric)


def _name(c) -> str:
    """The run's label: ``config["name"]``, or for results written before names existed, the estimator."""
    return c.get("name") or _short(c["estimator"], 60)


def _model_cell(c, md=False) -> str:
    if not c.get("baseline"):
        return _name(c)
    return f"{_name(c)} ({'**baseline**' if md else 'baseline'})"


def _title_prefix(c, short=False) -> str:
    """The start of a figure title: the run's role and name ("baseline: DummyClassifier\n")."""
    role = "baseline" if c.get("baseline") else "model"
    return f"{role}: {_short(_name(c), 40 if short else 70)}\n"


def _features_text(f, short=False) -> str:
    """The tokenizer settings in words: kind, window and hop in seconds, bands in Hz, method."""
    if not f:
        return "n/a"
    parts = [str(f.get("kind", "features"))]
    if f.get("window") is not None:
        hop = f.get("hop")
        parts.append(f"{f['window']:g} s windows, " + ("no overlap" if hop is None else f"hop {hop:g} s"))
    bands = f.get("bands")
    if bands:
        try:
            parts.append(", ".join(f"{b[0]} {b[1]:g}-{b[2]:g} Hz" for b in bands) if not short
                         else f"{len(bands)} bands ({bands[0][1]:g}-{bands[-1][2]:g} Hz)")
        except (TypeError, IndexError, ValueError):
            parts.append(f"{len(bands)} bands")
    if f.get("method") is not None:
        parts.append(f"method {f['method']}")
    if not short:  # the other settings that are set (all of them are in results.json)
        parts += [f"{k} {v}" for k, v in f.items() if k not in ("kind", "window", "hop", "bands", "method")
                  and isinstance(v, str | int | float) and v is not False]
    return "; ".join(parts)


def _ordered(rows):
    """Per-subject rows in natural order of the ids (results written before the runner sorted them)."""
    return sorted(rows, key=lambda r: natural_key(r["subject"]))


def _no_mean(summary) -> bool:
    return summary.get("n_subjects_in_mean", 1) == 0


def _no_mean_text(summary) -> str:
    ex = summary.get("excluded_subjects") or []
    return (f"No subject is left for the mean: the test windows of every subject ({', '.join(ex)}) hold one class "
            "only, so their scores say nothing about decoding")


def _excluded_text(summary, md=False) -> str:
    ex = ", ".join(summary.get("excluded_subjects") or [])
    lead = "**Left out of the means**" if md else "left out of the mean"
    return (f"{lead} (test windows of one class only: predicting that class scores as perfect): {ex}"
            + ("." if md else ""))


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def _short(text: str, n: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."
