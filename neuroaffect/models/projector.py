"""The residual MLP projector of the fMRI contrastive encoder (:class:`~neuroaffect.fmri.ContrastiveEncoder`).

Here, with the other torch models, so that a fitted encoder (whose ``model_`` is this module)
unpickles with torch alone.
"""

from __future__ import annotations

from torch import nn


def _layer(n_in: int, n_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, n_out), nn.LayerNorm(n_out), nn.GELU(), nn.Dropout(dropout))


class ResidualMLP(nn.Module):
    """Linear -> LayerNorm -> GELU -> Dropout to ``hidden``, ``n_blocks`` residual blocks of the same, Linear.

    Parameters
    ----------
    n_in, hidden, n_out : int
        Input, hidden and output widths.
    n_blocks : int
        Residual blocks ``h + block(h)``.
    dropout : float
        Dropout after each GELU.
    """

    def __init__(self, n_in: int, hidden: int, n_out: int, n_blocks: int, dropout: float):
        super().__init__()
        self.inp = _layer(n_in, hidden, dropout)
        self.blocks = nn.ModuleList(_layer(hidden, hidden, dropout) for _ in range(n_blocks))
        self.out = nn.Linear(hidden, n_out)

    def forward(self, x):  # x: (batch, n_in) -> (batch, n_out)
        h = self.inp(x)  # (batch, hidden)
        for block in self.blocks:
            h = h + block(h)
        return self.out(h)
