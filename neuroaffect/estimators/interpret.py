"""Which electrodes does a fitted electrode-attention model rely on?

Importance is read by *attention rollout* (Abnar & Zuidema 2020): each layer's head-averaged
attention, mixed half-and-half with the identity to account for the residual path, is multiplied
through the layers; because the head averages the final tokens, electrode j's importance is the
mean over output tokens i of ``rollout[i, j]``, averaged over windows. Rollout is class-agnostic
(where the model looks, not which way it votes) and costs one forward pass. The importances of one
window sum to 1 over electrodes.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

__all__ = ["attention_rollout", "electrode_importance", "plot_electrode_importance"]


def attention_rollout(maps) -> torch.Tensor:
    """Rollout of per-layer attention weights.

    Parameters
    ----------
    maps : list of Tensor, each shape (batch, heads, n_electrodes, n_electrodes)
        Attention weights of the layers, first layer first.

    Returns
    -------
    rollout : Tensor, shape (batch, n_electrodes, n_electrodes)
        Row-stochastic matrix: how much of output token i comes from input token j.
    """
    rollout = None
    for weights in maps:
        a = weights.mean(dim=1)  # (B, S, S)
        a = 0.5 * a + 0.5 * torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
        rollout = a if rollout is None else a @ rollout
    return rollout


def electrode_importance(estimator, X, batch_size: int = 1024) -> np.ndarray:
    """Attention-rollout importance of each electrode for a fitted electrode-attention estimator.

    The same as ``estimator.electrode_importance(X, batch_size=batch_size)``
    (:meth:`~neuroaffect.estimators.ElectrodeAttentionClassifier.electrode_importance`): estimators
    that can explain electrodes offer that method, which the evaluation runner calls.

    Parameters
    ----------
    estimator : ElectrodeAttentionClassifier or ElectrodeAttentionRegressor
        Fitted.
    X : ndarray, shape (n_windows, n_electrodes, n_bands)
        Tokens to explain.
    batch_size : int
        Windows per forward pass.

    Returns
    -------
    importance : ndarray, shape (n_electrodes,)
        Mean rollout importance (sums to 1).
    """
    check_is_fitted(estimator, "net_")
    return estimator.electrode_importance(X, batch_size=batch_size)


def plot_electrode_importance(importance, ch_names, *, axes=None, cmap="Reds", show=False):
    """Draw electrode importances as a scalp topomap (MNE).

    Parameters
    ----------
    importance : array-like, shape (n_electrodes,)
        One value per electrode.
    ch_names : list of str
        Electrode names (10-05 system, or CB1/CB2 placed at I1/I2), same order.
    axes : matplotlib Axes or None
        Where to draw; a new figure if None.
    cmap : str
        Colour map.
    show : bool
        Show the figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    import mne

    from ..channels import make_montage, normalize_ch_names

    importance = np.asarray(importance, dtype=float)
    names = normalize_ch_names(ch_names, source="the 'ch_names' parameter")
    if importance.ndim != 1 or len(importance) != len(names):
        raise ValueError(
            f"importance must have one value per electrode ({len(names)},), got shape {importance.shape}."
        )
    info = mne.create_info(names, sfreq=100.0, ch_types="eeg")
    info.set_montage(make_montage(names))
    if axes is None:
        fig, axes = plt.subplots(figsize=(4, 4))
    else:
        fig = axes.figure
    image, _ = mne.viz.plot_topomap(
        importance, info, axes=axes, cmap=cmap, vlim=(importance.min(), importance.max()), show=False
    )
    fig.colorbar(image, ax=axes, shrink=0.7, label="importance")
    axes.set_title("Electrode importance (attention rollout)")
    if show:
        plt.show()
    return fig
