"""The figures of a cross-validation report (PNG, matplotlib): scores per subject, confusion matrices,
electrode importance on the head, and the leakage-free run beside its LEAKY twin.

Drawn from a results document alone (:func:`~neuroaffect.evaluation.render_report`); matplotlib is
imported only here, when a report is rendered.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._atomic import atomic_path
from .formatting import (
    _METRIC_NAMES,
    _fmt,
    _name,
    _nan,
    _no_mean,
    _ordered,
    _question,
    _short,
    _title_prefix,
)

_HEAD_RADIUS = 0.095  # m, MNE's default head sphere
_BOUNDED = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc")  # scores in [0, 1]: a fixed axis


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
