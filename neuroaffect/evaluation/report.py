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
from .runner import _natural_key as natural_key
from .stats import compare_pipelines

RESULTS_FILE = "results.json"
INFO_FILE = "run-info.json"

_HEAD_RADIUS = 0.095  # m, MNE's default head sphere
_BOUNDED = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc")  # scores in [0, 1]: a fixed axis
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
    ylims = _shared_ylims(doc)
    figures = [_run_figures(run, i, fig_dir, ylims[i], _baselines_of(doc, i)) for i, run in enumerate(doc["runs"])]
    overview = {}
    clean_vs_leaky = _clean_vs_leaky(doc, fig_dir)
    if clean_vs_leaky is not None:
        overview["clean-vs-leaky"] = clean_vs_leaky
    md = _markdown(doc, figures, overview)
    write_text_atomic(out_dir / "report.md", md)
    write_text_atomic(out_dir / "report.html", _html(doc, figures, out_dir, overview))
    return out_dir / "report.md"


def _baselines_of(doc, i):
    """The baseline runs answering run ``i``'s question under its protocol (none for a baseline run)."""
    run = doc["runs"][i]
    if run["config"].get("baseline"):
        return []
    return [r for r in doc["runs"] if r["config"].get("baseline") and _question(r) == _question(run)
            and r["config"]["protocol"] == run["config"]["protocol"]]


def summary_text(doc) -> str:
    """Console summary of a results document (one block per run)."""
    lines = []
    for run in doc["runs"]:
        c, s, lk = run["config"], run["summary"], run["leakage"]
        m = c["metric"]
        tag = "leakage-free" if c["leakage_free"] else "LEAKY: trials shared between train and test"
        lines.append(f"{c['protocol']} [{tag}]{' BASELINE' if c.get('baseline') else ''}")
        lines.append(f"  {c['dataset']} / {c['target']} / {c['task']} / {c['n_subjects']} subjects / {_model_cell(c)}")
        if _no_mean(s):
            lines.append(f"  {_no_mean_text(s)}")
        else:
            lines.append(f"  {_METRIC_NAMES[m]}: window {_pm(s['window'][m])}, trial {_pm(s['trial'][m])}, "
                         f"chance {_fmt(s['chance'][m])} / {_fmt(_get(s, 'chance_trial', m))} (window / trial, "
                         f"{s['chance_source']})"
                         + (f", group p = {_fmt(s['group_p_value'], 3)} / {_fmt(s.get('group_p_value_trial'), 3)}"
                            if s.get("group_p_value") is not None else ""))
            if s.get("excluded_subjects"):
                lines.append(f"  {_excluded_text(s)}")
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
        # Subjects left out of either run's mean (test windows of one class) are left out here too.
        ref_scores = {s["subject"]: s["window"][ref["config"]["metric"]] for s in ref["subjects"] if s.get("in_mean", True)}
        m = run["config"]["metric"]
        if m != ref["config"]["metric"]:
            continue
        scores = {s["subject"]: s["window"][m] for s in run["subjects"] if s.get("in_mean", True)}
        common = sorted(set(scores) & set(ref_scores), key=natural_key)
        if len(common) < 2:
            continue
        a = [np.nan if scores[k] is None else scores[k] for k in common]
        b = [np.nan if ref_scores[k] is None else ref_scores[k] for k in common]
        res = compare_pipelines(a, b, random_state=0)
        out.append({"run": _run_label(run, i), "reference": _run_label(ref, j), "metric": m, **res})
    return out


def _run_label(run, i):
    c = run["config"]
    return f"run {i}: {_model_cell(c)}, {c['protocol']}{'' if c['leakage_free'] else ' (LEAKY)'}"


# --------------------------------------------------------------------------------------------- figures

def _run_figures(run, i, fig_dir, ylim=None, baseline_runs=()) -> dict:
    """Run ``i``'s figures: per-subject scores, confusion matrix, electrode importance.

    ``ylim`` is the score axis shared with the runs of the same question (a model and its
    baseline); ``baseline_runs`` are baseline runs whose mean is drawn as a reference line.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figs = {}
    c, s = run["config"], run["summary"]
    m = c["metric"]
    leaky = "" if c["leakage_free"] else " (LEAKY)"
    rows = _ordered(run["subjects"])

    fig, ax = plt.subplots(figsize=(max(5, 0.35 * len(rows) + 2), 3.4), layout="constrained")
    _draw_scores(ax, run, rows)
    for base in baseline_runs:
        mean = _nan(base["summary"]["window"][m]["mean"])
        if np.isfinite(mean):
            ax.axhline(mean, color="#8c8c8c", ls=":", lw=1.2, label=f"baseline mean ({_short(_name(base['config']), 30)})")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_title(f"{_title_prefix(c)}{c['protocol']}{leaky}: {c['target']} {c['task']}", fontsize=9)
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
        ax.set_title(f"{_title_prefix(c, short=True)}window confusion (row-normalised){leaky}", fontsize=9)
        fig.colorbar(im, ax=ax, shrink=0.8)
        figs["confusion"] = _savefig(fig, fig_dir / f"run{i}-confusion.png")

    imp = run.get("importance")
    if imp:
        path = fig_dir / f"run{i}-importance.png"
        if _plot_importance(imp, path, f"{_title_prefix(c, short=True)}electrode importance{leaky}",
                            caveat=_chance_caveat(run)):
            figs["importance"] = path
    return figs


def _draw_scores(ax, run, rows):
    """Per-subject bars (window level), ticks (trial level) and the chance line of one run on ``ax``."""
    c = run["config"]
    m = c["metric"]
    subjects = [r["subject"] + ("*" if not r.get("in_mean", True) else "") for r in rows]
    win = [_nan(r["window"][m]) for r in rows]
    tri = [_nan(r["trial"][m]) for r in rows]
    chance = [_nan(r["chance"]) for r in rows]
    x = np.arange(len(rows))
    colour = "#4c72b0" if c["leakage_free"] else "#c44e52"
    if c.get("baseline"):
        colour = "#9a9a9a"
    ax.bar(x, win, color=[colour if r.get("in_mean", True) else "#dddddd" for r in rows], label="window level")
    ax.plot(x, tri, "k_", markersize=12, mew=2, label="trial level", linestyle="none")
    if len(x):
        ax.step(np.r_[x - 0.5, x[-1] + 0.5], np.r_[chance, chance[-1]], where="post", color="0.3", ls="--",
                lw=1, label=f"chance ({run['summary']['chance_source']})")
    ax.set_xticks(x, subjects, rotation=90 if len(subjects) > 12 else 0, fontsize=7)
    ax.set_ylabel(_METRIC_NAMES[m])
    if m in _BOUNDED:
        ax.set_ylim(0, 1.04)


def _plot_importance(imp, path, title, caveat=None) -> bool:
    """Electrode importance as a scalp topomap with a colour bar (a bar chart where no layout is known).

    The head outline (nose and ears included) and every electrode are kept inside the axes. With
    ``caveat`` (e.g. the model is at chance) the title says so: the map then shows noise.
    """
    import matplotlib.pyplot as plt

    values = np.asarray(imp["mean"], dtype=float)
    finite = values[np.isfinite(values)]
    vmin, vmax = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if vmax <= vmin:
        vmin, vmax = vmin - 0.5 * max(abs(vmin), 1e-12), vmax + 0.5 * max(abs(vmax), 1e-12)
    fig, ax = plt.subplots(figsize=(4.6, 4.0), layout="constrained")
    layout = _topomap_layout(imp)
    drawn = False
    if layout is not None:
        pos, radius = layout
        try:
            from mne.viz import plot_topomap

            im, _ = plot_topomap(values, pos, axes=ax, show=False, cmap="Reds", vlim=(vmin, vmax),
                                 sphere=(0.0, 0.0, 0.0, radius), outlines="head", extrapolate="head", contours=0,
                                 sensors=True, names=list(imp["ch_names"]) if len(values) <= 32 else None)
            _show_whole_head(ax)
            fig.colorbar(im, ax=ax, shrink=0.75, label=f"importance ({_fmt(vmin)} to {_fmt(vmax)})")
            drawn = True
        except Exception:  # an odd layout (e.g. coinciding electrodes): fall back on the bar chart below
            ax.clear()
    if not drawn:
        ax.bar(range(len(values)), values, color="#c44e52")
        ax.set_xticks(range(len(values)), imp["ch_names"], rotation=90, fontsize=6)
        ax.set_ylabel(f"importance ({_fmt(vmin)} to {_fmt(vmax)})")
    if caveat:
        title = f"{title}\n{caveat}"
    ax.set_title(title, fontsize=9, color="#c44e52" if caveat or "LEAKY" in title else "black")
    _savefig(fig, path)
    return True


def _topomap_layout(imp):
    """2-D electrode positions for a topomap and a head radius that encloses them all, or None.

    Positions come from the standard 10-05 sites of the names, else from the recorded
    ``positions`` (metres, head frame, origin at the head's centre). They are projected
    azimuthally from the vertex (an electrode on the head's equator, e.g. T7 or Oz, lands on a
    circle of radius 0.095 m); the head drawn is that circle, widened where electrodes lie below
    the equator (P9, Iz, ...) so that every electrode is inside it.
    """
    names = list(imp["ch_names"])
    try:
        from ..channels import ch_positions, normalize_ch_names

        pos3 = np.asarray(ch_positions(normalize_ch_names(names)), dtype=float)
    except Exception:
        pos3 = np.asarray(imp.get("positions") or [], dtype=float)
    if pos3.shape != (len(names), 3) or not np.all(np.isfinite(pos3)):
        return None
    r = np.linalg.norm(pos3, axis=1)
    if not len(r) or np.any(r <= 0):
        return None
    theta = np.arccos(np.clip(pos3[:, 2] / r, -1.0, 1.0))  # angle from the vertex
    phi = np.arctan2(pos3[:, 1], pos3[:, 0])
    pos = (theta / (np.pi / 2) * _HEAD_RADIUS)[:, None] * np.column_stack([np.cos(phi), np.sin(phi)])
    if len(np.unique(np.round(pos, 6), axis=0)) != len(pos):
        return None  # coinciding electrodes (e.g. unknown names with zero positions) have no topomap
    return pos, max(_HEAD_RADIUS, 1.08 * float(np.max(np.hypot(pos[:, 0], pos[:, 1]))))


def _show_whole_head(ax, margin=0.06):
    """Widen ``ax``'s limits to everything drawn (head, nose, ears, every electrode and its label)."""
    xs, ys = [], []
    for line in ax.lines:
        x, y = line.get_data()
        xs.append(np.asarray(x, dtype=float).ravel())
        ys.append(np.asarray(y, dtype=float).ravel())
    for coll in ax.collections:
        off = np.asarray(coll.get_offsets(), dtype=float).reshape(-1, 2)
        xs.append(off[:, 0])
        ys.append(off[:, 1])
    for text in ax.texts:
        x, y = text.get_position()
        xs.append(np.array([x], dtype=float))
        ys.append(np.array([y], dtype=float))
    if not xs:
        return
    x, y = np.concatenate(xs), np.concatenate(ys)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return
    x0, x1, y0, y1 = x[ok].min(), x[ok].max(), y[ok].min(), y[ok].max()
    pad = margin * max(x1 - x0, y1 - y0)
    ax.set_xlim(min(x0 - pad, ax.get_xlim()[0]), max(x1 + pad, ax.get_xlim()[1]))
    ax.set_ylim(min(y0 - pad, ax.get_ylim()[0]), max(y1 + pad, ax.get_ylim()[1]))
    ax.set_aspect("equal")


def _chance_caveat(run) -> str | None:
    """A warning for figure titles when the run does not beat chance, else None.

    At chance: the group permutation p-value is >= 0.05, or (without permutations) the 95 %
    bootstrap interval of the mean across subjects contains the chance level.
    """
    c, s = run["config"], run["summary"]
    m = c["metric"]
    if _no_mean(s):
        return "no subject in the mean: nothing to interpret"
    p = s.get("group_p_value")
    if p is not None and p >= 0.05:
        return f"model at chance (group p = {_fmt(p, 2)}): the map shows noise"
    win, chance = s["window"][m], s["chance"].get(m)
    low, high = win.get("ci_low"), win.get("ci_high")
    if p is None and None not in (low, high, chance) and low <= chance <= high:
        return f"model at chance (95% CI {_fmt(low)} to {_fmt(high)} holds chance {_fmt(chance)}): the map shows noise"
    return None


def _clean_vs_leaky(doc, fig_dir):
    """One side-by-side figure of a leakage-free run and a leaky run of the same question, or None.

    The pair: the first leakage-free and the first leaky run (baselines aside) with the same
    dataset, target, task and metric, preferring a pair with the same ``config["scope"]``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    runs = [(i, r) for i, r in enumerate(doc["runs"]) if not r["config"].get("baseline")]
    pairs = [(i, j) for i, a in runs if a["config"]["leakage_free"] for j, b in runs
             if not b["config"]["leakage_free"] and _question(a) == _question(b)]
    if not pairs:
        return None
    same_scope = [(i, j) for i, j in pairs if doc["runs"][i]["config"].get("scope") == doc["runs"][j]["config"].get("scope")]
    i, j = (same_scope or pairs)[0]
    clean, leaky = doc["runs"][i], doc["runs"][j]
    m = clean["config"]["metric"]
    n = max(len(clean["subjects"]), len(leaky["subjects"]))
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 0.7 * n + 3), 3.6), sharey=True, layout="constrained")
    for ax, k, run in ((axes[0], i, clean), (axes[1], j, leaky)):
        _draw_scores(ax, run, _ordered(run["subjects"]))
        win = run["summary"]["window"][m]
        if win["mean"] is not None:
            ax.axhline(win["mean"], color="k", lw=1, label=f"mean {_fmt(win['mean'])}")
            if win.get("ci_low") is not None:
                ax.axhspan(win["ci_low"], win["ci_high"], color="k", alpha=0.08, lw=0, label="95% CI of the mean")
        c = run["config"]
        head = "leakage-free" if c["leakage_free"] else "LEAKY"
        ax.set_title(f"run {k}, {head}: {c['protocol']}\n{_short(_name(c), 60)}", fontsize=9,
                     color="black" if c["leakage_free"] else "#c44e52")
        ax.legend(fontsize=6, loc="lower right")
    lims = [a.get_ylim() for a in axes]
    axes[0].set_ylim(min(lo for lo, _ in lims), max(hi for _, hi in lims))
    fig.suptitle(f"Leakage-free vs LEAKY: {clean['config']['target']} {clean['config']['task']}, "
                 f"{_METRIC_NAMES[m]} per subject (same data, same model)", fontsize=10)
    return _savefig(fig, fig_dir / "clean-vs-leaky.png")


def _question(run):
    c = run["config"]
    return c["dataset"], c["target"], c["task"], c["metric"]


def _shared_ylims(doc):
    """Per run, the score axis shared by every run of the same question and protocol (a model and
    its baseline); None where the metric's axis is fixed (bounded metrics: 0 to 1)."""
    groups = {}
    for i, run in enumerate(doc["runs"]):
        groups.setdefault((*_question(run), run["config"]["protocol"]), []).append(i)
    out = [None] * len(doc["runs"])
    for members in groups.values():
        if len(members) < 2 or doc["runs"][members[0]]["config"]["metric"] in _BOUNDED:
            continue
        values = []
        for i in members:
            run, m = doc["runs"][i], doc["runs"][i]["config"]["metric"]
            for r in run["subjects"]:
                values += [_nan(r["window"][m]), _nan(r["trial"][m]), _nan(r.get("chance"))]
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v)]
        if not len(v):
            continue
        lo, hi = min(v.min(), 0.0), max(v.max(), 0.0)
        pad = 0.05 * (hi - lo or 1.0)
        for i in members:
            out[i] = (lo - pad, hi + pad)
    return out


def _savefig(fig, path) -> Path:
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png", metadata={"Software": None})
    finally:
        plt.close(fig)
    return path


# --------------------------------------------------------------------------------------------- markdown

def _markdown(doc, figures, overview=None) -> str:
    out = [f"# {doc['title']}", ""]
    for note in doc.get("notes", []):
        out.append(f"> {note}")
    if doc.get("notes"):
        out.append("")
    out += ["## Runs", "", _md_table(*_overview_rows(doc)), "", _methods_sentence(doc), ""]
    for name, path in (overview or {}).items():
        out += [f"![{name}](figures/{path.name})", ""]
    if doc.get("comparisons"):
        out += ["## Comparisons across subjects", ""]
        rows = [[c["run"], c["reference"], _METRIC_NAMES[c["metric"]], _fmt(c["mean_difference"]), c["test"],
                 _fmt(c["p_value"], 3), str(c["n_subjects"])] for c in doc["comparisons"]]
        out += [_md_table(["Run", "Reference", "Metric", "Mean difference", "Test", "p", "Subjects"], rows), ""]
    for i, (run, figs) in enumerate(zip(doc["runs"], figures, strict=True)):
        c = run["config"]
        out += [f"## {_run_heading(run, i)}", ""]
        out += [_protocol_sentence(run), "", _model_sentence(c, md=True), ""]
        header, rows = _subject_rows(run)
        out += [_md_table(header, rows), ""]
        if run["summary"].get("excluded_subjects"):
            out += [_excluded_text(run["summary"], md=True), ""]
        out += [_permutation_sentence(run), ""]
        for name, path in figs.items():
            out += [f"![{name}](figures/{path.name})", ""]
    return "\n".join(out)


def _run_heading(run, i) -> str:
    c = run["config"]
    role = "baseline" if c.get("baseline") else "model"
    return f"Run {i}: {c['protocol']}{'' if c['leakage_free'] else ' (LEAKY)'} — {role}: {_name(c)}"


def _model_sentence(c, md=False) -> str:
    """Which estimator (full parameters in results.json), on which features."""
    code = (lambda t: f"`{t}`") if md else (lambda t: t)
    text = (f"{'Baseline' if c.get('baseline') else 'Model'}: {_name(c)}. Estimator: {code(_short(c['estimator'], 300))} "
            "(every parameter in results.json, config.estimator_params). "
            f"Features: {_features_text(c.get('features'))}.")
    if c.get("alignment"):
        text += " Subject alignment: " + "; ".join(c["alignment"]) + "."
    versions = c.get("versions")
    if versions:
        text += " Software: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "."
    return text


def _permutation_sentence(run) -> str:
    s = run["summary"]
    if run.get("permutation"):
        p = run["permutation"]
        return (f"Chance level and p-values at window and trial level: {p['n_permutations']} permutations "
                f"({p['scheme']}); p = (count + 1) / (n + 1); group p-value for the mean across subjects: "
                f"window {_fmt(s.get('group_p_value'), 3)}, trial {_fmt(s.get('group_p_value_trial'), 3)}.")
    return "Chance level: theoretical (no permutations were run; pass n_permutations > 0 for p-values)."


def _methods_sentence(doc) -> str:
    ci = next((r["summary"]["ci"] for r in doc["runs"] if r["summary"].get("ci")), None)
    text = ("Scores are means across subjects +- standard deviation, at window level and at trial level (window "
            "predictions averaged per trial); chance and group p-values are given as window / trial.")
    if ci:
        text += (f" [low, high]: {100 * ci['confidence']:g}% confidence interval of the mean across subjects "
                 f"({ci['method']}: {ci['n_resamples']} resamples of the subjects with replacement, percentiles of "
                 f"the resampled means, seed {ci['random_state']}).")
    text += " Baselines are trivial or reference pipelines run on the same splits, labelled \"baseline\"."
    return text


def _overview_rows(doc):
    header = ["Run", "Model", "Features", "Protocol", "Leakage-free", "Target", "Metric",
              "Window level: mean +- std [95% CI]", "Trial level: mean +- std [95% CI]", "Chance (window / trial)",
              "Group p (window / trial)", "Test windows with trial in training"]
    rows = []
    for i, run in enumerate(doc["runs"]):
        c, s, lk = run["config"], run["summary"], run["leakage"]
        m = c["metric"]
        if _no_mean(s):
            win = tri = "n/a: no subject in the mean"
        else:
            win, tri = _pm(s["window"][m]), _pm(s["trial"][m])
        p_win, p_tri = s.get("group_p_value"), s.get("group_p_value_trial")
        rows.append([str(i), _model_cell(c, md=True), _features_text(c.get("features"), short=True), c["protocol"],
                     "yes" if c["leakage_free"] else "**NO (LEAKY)**", f"{c['target']} ({c['task']})",
                     _METRIC_NAMES[m], win, tri, f"{_fmt(s['chance'][m])} / {_fmt(_get(s, 'chance_trial', m))}",
                     "n/a" if p_win is None else f"{_fmt(p_win, 3)} / {_fmt(p_tri, 3)}",
                     _pct(lk["leaked_test_fraction"])])
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
    if _no_mean(run["summary"]):
        text += f" **{_no_mean_text(run['summary'])}.**"
    if c.get("baseline"):
        text = "**BASELINE** (a trivial or reference pipeline, shown for comparison). " + text
    if not c["leakage_free"]:
        text = ("**LEAKY PROTOCOL: these scores measure trial identification, not emotion recognition. "
                "Do not report them as decoding accuracy.** " + text)
    return text


def _subject_rows(run):
    c = run["config"]
    metrics = list(run["summary"]["window"])
    has_p = run.get("permutation") is not None
    counts = any("class_counts" in r for r in run["subjects"])
    classes = "/".join(c.get("class_names") or [])
    header = ["Subject", "Trials", "Windows", "Test trials", "Test windows"]
    if counts:
        header += [f"Trials per class ({classes}): train; test", f"Windows per class ({classes}): train; test"]
    header += [f"{_METRIC_NAMES[m]} (window)" for m in metrics] + [f"{_METRIC_NAMES[m]} (trial)" for m in metrics]
    header += ["Chance (window)", "Chance (trial)"] + (["p (window)", "p (trial)"] if has_p else [])
    rows = []
    for r in _ordered(run["subjects"]):
        name = r["subject"] if r.get("in_mean", True) else f"{r['subject']} (not in mean: one class)"
        row = [name, str(r["n_trials"]), str(r["n_windows"]), str(r["n_test_trials"]), str(r["n_test_windows"])]
        if counts:
            cc = r.get("class_counts") or {}
            row += [_counts(cc, "trials"), _counts(cc, "windows")]
        row += [_fmt(r["window"][m]) for m in metrics] + [_fmt(r["trial"][m]) for m in metrics]
        row += [_fmt(r["chance"]), _fmt(r.get("chance_trial"))]
        row += [_fmt(r.get("p_value"), 3), _fmt(r.get("p_value_trial"), 3)] if has_p else []
        rows.append(row)
    s = run["summary"]
    n_in = s.get("n_subjects_in_mean", len(run["subjects"]))
    row = [f"**mean +- std [95% CI]** ({n_in} subjects)", "", "", "", ""] + (["", ""] if counts else [])
    row += [_pm(s["window"][m]) for m in metrics] + [_pm(s["trial"][m]) for m in metrics]
    row += [_fmt(s["chance"][c["metric"]]), _fmt(_get(s, "chance_trial", c["metric"]))]
    row += [_fmt(s.get("group_p_value"), 3), _fmt(s.get("group_p_value_trial"), 3)] if has_p else []
    rows.append(row)
    return header, rows


def _counts(cc, unit) -> str:
    train, test = cc.get(f"train_{unit}"), cc.get(f"test_{unit}")
    if train is None or test is None:
        return "n/a"
    return f"{'/'.join(map(str, train))}; {'/'.join(map(str, test))}"


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

def _html(doc, figures, out_dir, overview=None) -> str:
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
    parts += ["<h2>Runs</h2>", _html_table(*_overview_rows(doc)), f"<p>{esc(_methods_sentence(doc))}</p>"]
    for name, path in (overview or {}).items():
        parts.append(_html_img(name, path))
    if doc.get("comparisons"):
        rows = [[c["run"], c["reference"], _METRIC_NAMES[c["metric"]], _fmt(c["mean_difference"]), c["test"],
                 _fmt(c["p_value"], 3), str(c["n_subjects"])] for c in doc["comparisons"]]
        parts += ["<h2>Comparisons across subjects</h2>",
                  _html_table(["Run", "Reference", "Metric", "Mean difference", "Test", "p", "Subjects"], rows)]
    for i, (run, figs) in enumerate(zip(doc["runs"], figures, strict=True)):
        c = run["config"]
        leaky = not c["leakage_free"]
        parts.append(f"<h2>{esc(_run_heading(run, i))}</h2>")
        parts.append(f"<p class='{'leaky' if leaky else 'note'}'>{_md_inline(_protocol_sentence(run))}</p>")
        parts.append(f"<p>{esc(_model_sentence(c))}</p>")
        parts.append(_html_table(*_subject_rows(run)))
        if run["summary"].get("excluded_subjects"):
            parts.append(f"<p>{_md_inline(_excluded_text(run['summary'], md=True))}</p>")
        parts.append(f"<p>{esc(_permutation_sentence(run))}</p>")
        for name, path in figs.items():
            parts.append(_html_img(name, path))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _html_img(name, path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f"<img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>"


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
