"""Reports of cross-validation runs: JSON (complete), Markdown summary, PNG figures, HTML page.

``results.json`` is the source of truth and is byte-identical for the same data, estimator and
seed; the Markdown, figures and HTML are rendered from it alone (:func:`render_report`), so
``neuroaffect report <dir>`` can redraw them later. Wall times and the creation time go to a
separate ``run-info.json``.
"""

from __future__ import annotations

import base64
import html
import json
import time
from pathlib import Path

import numpy as np

from .._atomic import atomic_path, write_text_atomic
from .stats import compare_pipelines

RESULTS_FILE = "results.json"
INFO_FILE = "run-info.json"

_METRIC_NAMES = {
    "accuracy": "Accuracy", "balanced_accuracy": "Balanced acc.", "f1_macro": "Macro-F1", "roc_auc": "ROC-AUC",
    "rmse": "RMSE", "pearson_r": "Pearson r", "ccc": "CCC",
}


def write_report(results, out_dir, *, title="neuroaffect cross-validation report", notes=(), predictions=True,
                 compare=None) -> Path:
    """Write ``results.json``, ``run-info.json``, predictions, ``report.md``, figures and ``report.html``.

    Parameters
    ----------
    results : CVResult or list of CVResult
        One report can hold several runs (e.g. the leaky and the leakage-free protocol side by side).
        Runs after the first are compared with the first on their per-subject primary scores
        (:func:`~neuroaffect.evaluation.compare_pipelines`) when they cover the same subjects.
    out_dir : path-like
    title : str
    notes : sequence of str
        Lines shown under the title (e.g. "simulated data").
    predictions : bool, default=True
        Also write each run's out-of-fold predictions to ``predictions-<i>.npz``.
    compare : list of (int, int), optional
        Which runs to compare, as ``(run, reference)`` indices into ``results`` (e.g. each model run
        with its baseline run). Default: every run after the first with the first; ``[]``: none.

    Returns
    -------
    Path
        The Markdown report.
    """
    results = [results] if not isinstance(results, list | tuple) else list(results)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = [r.to_dict() for r in results]
    doc = {"title": title, "notes": list(notes), "runs": runs, "comparisons": _comparisons(runs, compare)}
    write_text_atomic(out_dir / RESULTS_FILE, json.dumps(doc, indent=1, allow_nan=False) + "\n")
    info = {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "timings_s": [r.timings for r in results]}
    write_text_atomic(out_dir / INFO_FILE, json.dumps(info, indent=1) + "\n")
    if predictions:
        for i, r in enumerate(results):
            r.save_predictions(out_dir / f"predictions-{i}.npz")
    return render_report(out_dir)


def load_results(results_dir) -> dict:
    """Read ``results.json`` from a report folder (or the file itself)."""
    path = Path(results_dir)
    path = path / RESULTS_FILE if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"No {RESULTS_FILE} in {results_dir}: expected a folder written by write_report.")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        from .._validation import FileFormatError

        raise FileFormatError(path, f"not valid JSON ({err}).") from err
    if not isinstance(doc, dict) or "runs" not in doc:
        from .._validation import FileFormatError

        raise FileFormatError(path, "not a neuroaffect results file (no 'runs').")
    return doc


def render_report(results_dir) -> Path:
    """(Re-)render ``report.md``, the figures and ``report.html`` from ``results.json``."""
    out_dir = Path(results_dir)
    doc = load_results(out_dir)
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    figures = [_run_figures(run, i, fig_dir) for i, run in enumerate(doc["runs"])]
    md = _markdown(doc, figures)
    write_text_atomic(out_dir / "report.md", md)
    write_text_atomic(out_dir / "report.html", _html(doc, figures, out_dir))
    return out_dir / "report.md"


def summary_text(doc) -> str:
    """Console summary of a results document (one block per run)."""
    lines = []
    for run in doc["runs"]:
        c, s, lk = run["config"], run["summary"], run["leakage"]
        m = c["metric"]
        tag = "leakage-free" if c["leakage_free"] else "LEAKY: trials shared between train and test"
        lines.append(f"{c['protocol']} [{tag}]")
        lines.append(f"  {c['dataset']} / {c['target']} / {c['task']} / {c['n_subjects']} subjects / {_short(c['estimator'])}")
        lines.append(f"  {_METRIC_NAMES[m]}: window {_pm(s['window'][m])}, trial {_pm(s['trial'][m])}, "
                     f"chance {_fmt(s['chance'][m])} ({s['chance_source']})"
                     + (f", group p = {_fmt(s['group_p_value'], 3)}" if s.get("group_p_value") is not None else ""))
        lines.append(f"  test windows whose trial was in training: {_pct(lk['leaked_test_fraction'])}")
        if _n_dropped(c):
            lines.append(f"  {_dropped_text(c)}")
    for comp in doc.get("comparisons", []):
        lines.append(f"{comp['run']} vs {comp['reference']}: mean difference {_fmt(comp['mean_difference'])}, "
                     f"{comp['test']} p = {_fmt(comp['p_value'], 3)}")
    return "\n".join(lines)


def _comparisons(runs, pairs=None):
    out = []
    if pairs is None:
        pairs = [(i, 0) for i in range(1, len(runs))]
    for i, j in pairs:
        run, ref = runs[i], runs[j]
        ref_scores = {s["subject"]: s["window"][ref["config"]["metric"]] for s in ref["subjects"]}
        m = run["config"]["metric"]
        if m != ref["config"]["metric"]:
            continue
        scores = {s["subject"]: s["window"][m] for s in run["subjects"]}
        common = sorted(set(scores) & set(ref_scores))
        if len(common) < 2:
            continue
        a = [np.nan if scores[k] is None else scores[k] for k in common]
        b = [np.nan if ref_scores[k] is None else ref_scores[k] for k in common]
        res = compare_pipelines(a, b, random_state=0)
        out.append({"run": _run_label(run, i), "reference": _run_label(ref, j), "metric": m, **res})
    return out


def _run_label(run, i):
    c = run["config"]
    return f"run {i}: {c['protocol']}{'' if c['leakage_free'] else ' (LEAKY)'}"


# --------------------------------------------------------------------------------------------- figures

def _run_figures(run, i, fig_dir) -> dict:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figs = {}
    c, s = run["config"], run["summary"]
    m = c["metric"]
    leaky = "" if c["leakage_free"] else " (LEAKY)"
    subjects = [r["subject"] for r in run["subjects"]]
    win = [_nan(r["window"][m]) for r in run["subjects"]]
    tri = [_nan(r["trial"][m]) for r in run["subjects"]]
    chance = [_nan(r["chance"]) for r in run["subjects"]]

    fig, ax = plt.subplots(figsize=(max(5, 0.35 * len(subjects) + 2), 3.2), layout="constrained")
    x = np.arange(len(subjects))
    ax.bar(x, win, color="#4c72b0" if c["leakage_free"] else "#c44e52", label="window level")
    ax.plot(x, tri, "k_", markersize=12, mew=2, label="trial level", linestyle="none")
    ax.step(np.r_[x - 0.5, x[-1] + 0.5], np.r_[chance, chance[-1]], where="post", color="0.3", ls="--",
            lw=1, label=f"chance ({s['chance_source']})")
    ax.set_xticks(x, subjects, rotation=90 if len(subjects) > 12 else 0, fontsize=7)
    ax.set_ylabel(_METRIC_NAMES[m])
    if m in ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc"):
        ax.set_ylim(0, 1.04)
    ax.set_title(f"{c['protocol']}{leaky}: {c['target']} {c['task']}", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    figs["scores"] = _savefig(fig, fig_dir / f"run{i}-scores.png")

    cm = s.get("confusion_window")
    if cm is not None:
        cm = np.asarray(cm, dtype=float)
        norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        names = c["class_names"]
        fig, ax = plt.subplots(figsize=(1.2 + 0.45 * len(names) + 1.5, 1.2 + 0.45 * len(names) + 1), layout="constrained")
        im = ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
        if len(names) <= 10:
            for (r, k), v in np.ndenumerate(norm):
                ax.text(k, r, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white" if v > 0.5 else "black")
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"window confusion (row-normalised){leaky}", fontsize=9)
        fig.colorbar(im, ax=ax, shrink=0.8)
        figs["confusion"] = _savefig(fig, fig_dir / f"run{i}-confusion.png")

    imp = run.get("importance")
    if imp:
        path = fig_dir / f"run{i}-importance.png"
        if _plot_importance(imp, path, f"electrode importance{leaky}"):
            figs["importance"] = path
    return figs


def _plot_importance(imp, path, title) -> bool:
    import matplotlib.pyplot as plt

    values = np.asarray(imp["mean"], dtype=float)
    try:  # the models helper's topomap, when present
        from ..estimators.interpret import plot_electrode_importance

        fig = plot_electrode_importance(values, imp["ch_names"])
        fig = getattr(fig, "figure", fig)
        if "LEAKY" in title:
            fig.suptitle("LEAKY protocol", color="#c44e52")
        _savefig(fig, path)
        return True
    except Exception:
        pass
    pos = np.asarray(imp.get("positions") or [], dtype=float)
    fig, ax = plt.subplots(figsize=(4, 3.6), layout="constrained")
    if pos.ndim == 2 and len(pos) == len(values) and np.ptp(pos[:, :2], axis=0).min() > 0:
        try:
            from mne.viz import plot_topomap

            im, _ = plot_topomap(values, pos[:, :2], axes=ax, show=False, names=imp["ch_names"], sphere=0.095)
            fig.colorbar(im, ax=ax, shrink=0.7)
        except Exception:
            ax.clear()
            ax.bar(range(len(values)), values)
            ax.set_xticks(range(len(values)), imp["ch_names"], rotation=90, fontsize=6)
    else:
        ax.bar(range(len(values)), values)
        ax.set_xticks(range(len(values)), imp["ch_names"], rotation=90, fontsize=6)
    ax.set_title(title, fontsize=9)
    _savefig(fig, path)
    return True


def _savefig(fig, path) -> Path:
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png", metadata={"Software": None})
    finally:
        plt.close(fig)
    return path


# --------------------------------------------------------------------------------------------- markdown

def _markdown(doc, figures) -> str:
    out = [f"# {doc['title']}", ""]
    for note in doc.get("notes", []):
        out.append(f"> {note}")
    if doc.get("notes"):
        out.append("")
    out += ["## Runs", "", _md_table(*_overview_rows(doc)), ""]
    if doc.get("comparisons"):
        out += ["## Comparisons across subjects", ""]
        rows = [[c["run"], c["reference"], _METRIC_NAMES[c["metric"]], _fmt(c["mean_difference"]), c["test"],
                 _fmt(c["p_value"], 3), str(c["n_subjects"])] for c in doc["comparisons"]]
        out += [_md_table(["Run", "Reference", "Metric", "Mean difference", "Test", "p", "Subjects"], rows), ""]
    for i, (run, figs) in enumerate(zip(doc["runs"], figures, strict=True)):
        c = run["config"]
        out += [f"## Run {i}: {c['protocol']}{'' if c['leakage_free'] else ' (LEAKY)'}", ""]
        out += [_protocol_sentence(run), "", f"Estimator: `{_short(c['estimator'], 300)}`", ""]
        header, rows = _subject_rows(run)
        out += [_md_table(header, rows), ""]
        if run.get("permutation"):
            p = run["permutation"]
            out += [f"Chance level and p-values: {p['n_permutations']} permutations ({p['scheme']}); "
                    f"p = (count + 1) / (n + 1); group p-value for the mean across subjects: "
                    f"{_fmt(run['summary']['group_p_value'], 3)}.", ""]
        else:
            out += ["Chance level: theoretical (no permutations were run; pass n_permutations > 0 for p-values).", ""]
        for name, path in figs.items():
            out += [f"![{name}](figures/{path.name})", ""]
    return "\n".join(out)


def _overview_rows(doc):
    header = ["Run", "Protocol", "Leakage-free", "Target", "Metric", "Window level", "Trial level", "Chance",
              "Group p", "Test windows with trial in training"]
    rows = []
    for i, run in enumerate(doc["runs"]):
        c, s, lk = run["config"], run["summary"], run["leakage"]
        m = c["metric"]
        rows.append([str(i), c["protocol"], "yes" if c["leakage_free"] else "**NO (LEAKY)**",
                     f"{c['target']} ({c['task']})", _METRIC_NAMES[m], _pm(s["window"][m]), _pm(s["trial"][m]),
                     _fmt(s["chance"][m]), _fmt(s.get("group_p_value"), 3), _pct(lk["leaked_test_fraction"])])
    return header, rows


def _protocol_sentence(run) -> str:
    c, lk = run["config"], run["leakage"]
    text = (f"**Protocol**: {c['protocol']} — {c['protocol_description']} "
            f"Dataset {c['dataset']}, {c['n_subjects']} subjects, {c['n_trials']} trials, {c['n_windows']} windows. "
            f"Leakage audit over {lk['n_splits_audited']} splits: {_pct(lk['leaked_test_fraction'])} of test windows "
            f"come from a trial that also has windows in training, {_pct(lk['overlapping_test_fraction'])} overlap a "
            "training window.")
    if _n_dropped(c):
        text += f" {_dropped_text(c)}."
    if not c["leakage_free"]:
        text = ("**LEAKY PROTOCOL: these scores measure trial identification, not emotion recognition. "
                "Do not report them as decoding accuracy.** " + text)
    return text


def _subject_rows(run):
    c = run["config"]
    metrics = list(run["summary"]["window"])
    has_p = run.get("permutation") is not None
    header = ["Subject", "Trials", "Windows", "Test trials", "Test windows"]
    header += [f"{_METRIC_NAMES[m]} (window)" for m in metrics] + [f"{_METRIC_NAMES[m]} (trial)" for m in metrics]
    header += ["Chance"] + (["p"] if has_p else [])
    rows = []
    for r in run["subjects"]:
        row = [r["subject"], str(r["n_trials"]), str(r["n_windows"]), str(r["n_test_trials"]), str(r["n_test_windows"])]
        row += [_fmt(r["window"][m]) for m in metrics] + [_fmt(r["trial"][m]) for m in metrics]
        row += [_fmt(r["chance"])] + ([_fmt(r.get("p_value"), 3)] if has_p else [])
        rows.append(row)
    s = run["summary"]
    row = ["**mean +- std**", "", "", "", ""]
    row += [_pm(s["window"][m]) for m in metrics] + [_pm(s["trial"][m]) for m in metrics]
    row += [_fmt(s["chance"][c["metric"]])] + ([_fmt(s.get("group_p_value"), 3)] if has_p else [])
    rows.append(row)
    return header, rows


def _n_dropped(config) -> int:
    return int((config.get("unlabelled_dropped") or {}).get("trials", 0))


def _dropped_text(config) -> str:
    d = config["unlabelled_dropped"]
    return (f"Unlabelled trials dropped before splitting (drop_unlabelled=True): {d['trials']} "
            f"({d['windows']} windows)")


def _md_table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- html

def _html(doc, figures, out_dir) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{esc(doc['title'])}</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;"
        "text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
        ".leaky{background:#fde2e2;border-left:4px solid #c44e52;padding:.5em 1em}"
        ".note{background:#eef3fb;padding:.5em 1em}img{max-width:100%;margin:.5em 1em .5em 0}</style></head><body>",
        f"<h1>{esc(doc['title'])}</h1>",
    ]
    parts += [f"<p class='note'>{esc(n)}</p>" for n in doc.get("notes", [])]
    parts += ["<h2>Runs</h2>", _html_table(*_overview_rows(doc))]
    if doc.get("comparisons"):
        rows = [[c["run"], c["reference"], _METRIC_NAMES[c["metric"]], _fmt(c["mean_difference"]), c["test"],
                 _fmt(c["p_value"], 3), str(c["n_subjects"])] for c in doc["comparisons"]]
        parts += ["<h2>Comparisons across subjects</h2>",
                  _html_table(["Run", "Reference", "Metric", "Mean difference", "Test", "p", "Subjects"], rows)]
    for i, (run, figs) in enumerate(zip(doc["runs"], figures, strict=True)):
        c = run["config"]
        leaky = not c["leakage_free"]
        parts.append(f"<h2>Run {i}: {esc(c['protocol'])}{' (LEAKY)' if leaky else ''}</h2>")
        parts.append(f"<p class='{'leaky' if leaky else 'note'}'>{_md_inline(_protocol_sentence(run))}</p>")
        parts.append(f"<p>Estimator: <code>{esc(_short(c['estimator'], 300))}</code></p>")
        parts.append(_html_table(*_subject_rows(run)))
        for name, path in figs.items():
            data = base64.b64encode(path.read_bytes()).decode()
            parts.append(f"<img alt='{esc(name)}' src='data:image/png;base64,{data}'>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _html_table(header, rows) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_md_inline(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _md_inline(text: str) -> str:
    text = html.escape(text)
    while text.count("**") >= 2:
        text = text.replace("**", "<b>", 1).replace("**", "</b>", 1)
    return text


# --------------------------------------------------------------------------------------------- helpers

def _nan(v):
    return float("nan") if v is None else float(v)


def _fmt(v, digits=3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    return f"{v:.{digits}g}" if abs(v) < 1e-3 and v != 0 else f"{v:.{digits}f}"


def _pm(d) -> str:
    return f"{_fmt(d['mean'])} +- {_fmt(d['std'])}"


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def _short(text: str, n: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."
