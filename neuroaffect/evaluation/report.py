"""Reports of cross-validation runs: JSON (complete), Markdown summary, PNG figures, HTML page.

``results.json`` is the source of truth and is byte-identical for the same data, estimator and
seed; the Markdown, figures and HTML are rendered from it alone (:func:`render_report`), so
``neuroaffect report <dir>`` can redraw them later. Wall times and the creation time go to a
separate ``run-info.json``.

Figures are drawn by :mod:`neuroaffect.evaluation.figures`; the text both share comes from
:mod:`neuroaffect.evaluation.formatting`.
"""

from __future__ import annotations

import base64
import html
import json
import time
from pathlib import Path

import numpy as np

from .._atomic import write_text_atomic
from .._keys import natural_key
from .figures import _clean_vs_leaky, _run_figures, _shared_ylims
from .formatting import (
    _METRIC_NAMES,
    _excluded_text,
    _features_text,
    _fmt,
    _get,
    _model_cell,
    _name,
    _no_mean,
    _no_mean_text,
    _ordered,
    _pct,
    _pm,
    _question,
    _short,
)
from .stats import compare_pipelines

RESULTS_FILE = "results.json"
INFO_FILE = "run-info.json"


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
