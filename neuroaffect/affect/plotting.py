"""The valence-arousal plane (circumplex): true vs predicted points, coloured by category."""

from __future__ import annotations

import numpy as np

from .._validation import check_finite
from .categories import DEFAULT_CATEGORIES, CategoryMixture


def _va(points, name: str) -> np.ndarray:
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2) = (valence, arousal), got shape {points.shape}.")
    return check_finite(points, name)


def plot_circumplex(true_va, pred_va=None, categories=DEFAULT_CATEGORIES, ax=None, connect=True, title=None):
    """Plot points in the valence-arousal plane with the emotion categories' centres.

    Parameters
    ----------
    true_va : array-like, shape (n, 2)
        True (valence, arousal) in the common space [-1, 1].
    pred_va : array-like, shape (n, 2), optional
        Predicted (valence, arousal) of the same samples.
    categories : sequence of str
        Emotion terms (see :func:`~neuroaffect.affect.categories.category_table`). Each point is
        coloured by the most probable category of its *true* position (2-D mixture over valence
        and arousal); centres are marked with crosses.
    ax : matplotlib Axes, optional
        Axes to draw in; a new figure otherwise.
    connect : bool
        Draw a faint line from each true point to its prediction.
    title : str, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    true_va = _va(true_va, "true_va")
    if pred_va is not None:
        pred_va = _va(pred_va, "pred_va")
        if pred_va.shape != true_va.shape:
            raise ValueError(f"pred_va has shape {pred_va.shape} but true_va has {true_va.shape}.")
    mixture = CategoryMixture(categories, dims=("valence", "arousal"))
    colours = plt.get_cmap("tab10" if len(categories) <= 10 else "tab20")
    label_of = mixture.probabilities(true_va).argmax(axis=1) if len(true_va) else np.zeros(0, int)

    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 6), layout="constrained")
    else:
        fig = ax.figure
    ax.add_patch(plt.Circle((0, 0), 1, fill=False, color="0.8", lw=1))
    ax.axhline(0, color="0.85", lw=0.8, zorder=0)
    ax.axvline(0, color="0.85", lw=0.8, zorder=0)
    if pred_va is not None and connect:
        for (tv, ta), (pv, pa) in zip(true_va, pred_va, strict=True):
            ax.plot([tv, pv], [ta, pa], color="0.75", lw=0.5, zorder=1)
    for k, name in enumerate(mixture.categories):
        colour = colours(k % colours.N)
        sel = label_of == k
        ax.scatter(*true_va[sel].T, s=18, color=colour, marker="o", label=f"{name} (true)" if sel.any() else None, zorder=2)
        if pred_va is not None and sel.any():
            ax.scatter(*pred_va[sel].T, s=18, facecolors="none", edgecolors=colour, marker="o", zorder=2)
        cv, ca = mixture.means[k]
        ax.scatter([cv], [ca], s=90, color=colour, marker="X", edgecolors="k", linewidths=0.6, zorder=3)
        ax.annotate(name, (cv, ca), xytext=(4, 4), textcoords="offset points", fontsize=8)
    if pred_va is not None:
        ax.scatter([], [], s=18, facecolors="none", edgecolors="0.3", label="predicted (hollow)")
    ax.set(xlim=(-1.05, 1.05), ylim=(-1.05, 1.05), xlabel="valence", ylabel="arousal", aspect="equal")
    ax.set_title(title or "Valence-arousal plane (centres: Russell & Mehrabian, 1977)", fontsize=9)
    if len(true_va):
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return fig
