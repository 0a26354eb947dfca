"""Electrode-attention transformer: one token per electrode, attention across the scalp.

Each window of EEG becomes a set of tokens, one per electrode, holding that electrode's
differential entropy in a few frequency bands. A pre-norm transformer mixes the tokens
("inter-cortical attention"), the tokens are averaged and an MLP head gives the outputs:

    x_i   = W_tok de_i + e_i                        (token + electrode identity), dropout
    x     = x + MHSA(LN(x));  x = x + FFN(LN(x))    (depth times)
    logit = MLP(LN(mean_i x_i))

The ``"reference"`` configuration reproduces "A Brain Wave Encodes a Thousand Tokens"
(arXiv 2511.13954): ``e_i`` is a free (n_electrodes, E) table, E = 128, depth 4, 6 heads x 32,
FFN 128, dropout 0.1, head E -> 2E -> 2E -> E -> n_outputs. The ``"default"`` configuration derives
``e_i`` from the electrode's 3-D position (Fourier features -> MLP), so one model accepts any
montage or subset of electrodes, and is compact (E = 16, one block of 2 heads x 8, FFN 32, a
linear head): on few-trial data larger models fit the trials' fingerprints, not the effect.
``"medium"`` is the same design four times wider and two blocks deep; see :data:`CONFIGS`.

Only torch is needed here (positions are plain arrays in metres).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

import torch
from einops import rearrange
from torch import nn

from .attention import attention
from .dropout import Dropout, residual_dropout


@dataclass(frozen=True)
class TransformerConfig:
    """Sizes of :class:`ElectrodeAttentionTransformer`.

    Parameters
    ----------
    n_bands : int
        Features per electrode token (frequency bands).
    n_outputs : int
        Output units (sum of the per-task output sizes for multi-task use).
    embed_dim : int
        Token width E.
    depth : int
        Number of transformer blocks.
    n_heads, head_dim : int
        Attention heads and their width (inner width ``n_heads * head_dim``).
    ffn_dim : int
        Hidden width of the feed-forward layers.
    dropout : float
        Dropout on embeddings, attention weights, projections, FFN and head.
    head_dims : tuple of int
        Hidden widths of the output MLP.
    electrodes : {"learned", "positions"}
        Electrode identity: a free table of ``n_chans`` rows, or an embedding of 3-D positions.
    n_chans : int or None
        Electrode tokens per window (braindecode's ``n_chans``): the rows of the learned table,
        required for ``electrodes="learned"``; a ``"positions"`` model reads any number.
    n_frequencies : int
        Fourier frequencies per axis for ``electrodes="positions"``.
    """

    n_bands: int = 4
    n_outputs: int = 2
    embed_dim: int = 128
    depth: int = 4
    n_heads: int = 6
    head_dim: int = 32
    ffn_dim: int = 128
    dropout: float = 0.1
    head_dims: tuple[int, ...] = (256, 256, 128)
    electrodes: str = "learned"
    n_chans: int | None = None
    n_frequencies: int = 6


#: Named configurations (the fields that differ from :class:`TransformerConfig`'s defaults).
CONFIGS = {
    "reference": dict(
        embed_dim=128, depth=4, n_heads=6, head_dim=32, ffn_dim=128, dropout=0.1,
        head_dims=(256, 256, 128), electrodes="learned",
    ),
    # Compact (3.2 k parameters for 32 electrodes x 4 bands): chosen on few-trial data, where it
    # matches DE + logistic regression within subject and "medium" does not (benchmarks/RESULTS.md,
    # benchmarks/transformer_sizes.py).
    "default": dict(
        embed_dim=16, depth=1, n_heads=2, head_dim=8, ffn_dim=32, dropout=0.1,
        head_dims=(), electrodes="positions",
    ),
    # The default before 0.2 (78 k parameters for 32 electrodes x 4 bands).
    "medium": dict(
        embed_dim=64, depth=2, n_heads=4, head_dim=16, ffn_dim=128, dropout=0.1,
        head_dims=(64,), electrodes="positions",
    ),
}


#: Configuration fields renamed (old -> new), named in :func:`make_config`'s error.
_RENAMED = {"n_electrodes": "n_chans"}


def make_config(config="default", **fields) -> TransformerConfig:
    """A :class:`TransformerConfig` from a name in :data:`CONFIGS` or a dict, with ``fields`` on top.

    An unknown field is a ``ValueError`` (``n_electrodes`` names its new name, braindecode's ``n_chans``).
    """
    if isinstance(config, TransformerConfig):
        base = asdict(config)
    elif isinstance(config, str):
        if config not in CONFIGS:
            raise ValueError(
                f"Invalid value for the 'config' parameter. Allowed values are "
                f"{', '.join(map(repr, CONFIGS))} or a dict, but got {config!r}."
            )
        base = dict(CONFIGS[config])
    elif isinstance(config, dict):
        base = dict(CONFIGS["default"])
        base.update(config)
    else:
        raise TypeError(f"config must be a name, a dict or a TransformerConfig, got {type(config).__name__}.")
    base.update(fields)
    unknown = set(base) - set(TransformerConfig.__dataclass_fields__)
    if unknown:
        renamed = {old: new for old, new in _RENAMED.items() if old in unknown}
        hint = "".join(f" {old!r} is now {new!r} (braindecode's name)." for old, new in renamed.items())
        raise ValueError(f"Unknown transformer configuration field(s): {sorted(unknown)}.{hint}")
    base["head_dims"] = tuple(base["head_dims"])
    return replace(TransformerConfig(), **base)


def positions_from_chs_info(chs_info) -> torch.Tensor:
    """Electrode positions (n_chans, 3) in metres from MNE-style channel dicts (``info["chs"]``).

    Each dict's ``"loc"`` holds the position in its first 3 values (MNE's 12-value layout, or just
    3). A channel without a finite, non-zero position (MNE's mark of an unknown one) is a
    ``ValueError`` naming it: set a montage first (``raw.set_montage``).
    """
    chs = list(chs_info)
    rows, missing = [], []
    for i, ch in enumerate(chs):
        loc = ch.get("loc") if isinstance(ch, Mapping) else None
        xyz = torch.as_tensor([float(v) for v in list(loc)[:3]] if loc is not None else [], dtype=torch.float32)
        if xyz.shape != (3,) or not bool(torch.isfinite(xyz).all()) or not bool(xyz.any()):
            missing.append(ch.get("ch_name", i) if isinstance(ch, Mapping) else i)
            xyz = torch.zeros(3)
        rows.append(xyz)
    if not chs:
        raise ValueError("chs_info is empty; expected one channel dict per electrode token.")
    if missing:
        raise ValueError(
            f"chs_info has no position ('loc') for {len(missing)} channel(s), e.g. {missing[:3]}; expected "
            "MNE-style channel dicts with 3-D positions in metres (set a montage first: raw.set_montage)."
        )
    return torch.stack(rows)


class PositionEmbedding(nn.Module):
    """Electrode identity from its 3-D position: Fourier features -> MLP.

    Positions (metres, head coordinates) are divided by a nominal head radius of 0.095 m, then
    ``[p, sin(2^k pi p), cos(2^k pi p)]`` for ``k = 0 .. n_frequencies - 1`` feed a two-layer MLP.
    """

    head_radius = 0.095

    def __init__(self, embed_dim: int, n_frequencies: int):
        super().__init__()
        self.register_buffer("frequencies", math.pi * 2.0 ** torch.arange(n_frequencies, dtype=torch.float32))
        n_features = 3 * (1 + 2 * n_frequencies)
        self.mlp = nn.Sequential(nn.Linear(n_features, embed_dim), nn.GELU(), nn.Linear(embed_dim, embed_dim))

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        p = positions / self.head_radius  # (S, 3), about unit length
        angles = rearrange(p[..., None] * self.frequencies, "s xyz f -> s (xyz f)")
        return self.mlp(torch.cat([p, angles.sin(), angles.cos()], dim=-1))  # (S, E)


class SelfAttention(nn.Module):
    """Multi-head self-attention with a packed, bias-free q/k/v projection.

    Returns the output projection before its dropout, which :class:`Block` fuses with the residual.
    """

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.n_heads, self.head_dim, self.dropout = cfg.n_heads, cfg.head_dim, cfg.dropout
        inner = cfg.n_heads * cfg.head_dim
        self.qkv = nn.Linear(cfg.embed_dim, 3 * inner, bias=False)
        self.proj = nn.Linear(inner, cfg.embed_dim)

    def forward(self, x: torch.Tensor, need_weights: bool = False):
        qkv = rearrange(self.qkv(x), "b s (three h d) -> b s three h d", three=3, h=self.n_heads)
        out, weights = attention(
            qkv, dropout_p=self.dropout if self.training else 0.0, need_weights=need_weights
        )  # (B, S, H, D), (B, H, S, S) | None
        return self.proj(rearrange(out, "b s h d -> b s (h d)")), weights


class FeedForward(nn.Sequential):
    """Linear, GELU, dropout, linear (the output dropout is fused with the residual in :class:`Block`)."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__(
            nn.Linear(cfg.embed_dim, cfg.ffn_dim),
            nn.GELU(),
            Dropout(cfg.dropout, inplace=True),
            nn.Linear(cfg.ffn_dim, cfg.embed_dim),
        )


class Block(nn.Module):
    """Pre-norm block: ``x + drop(MHSA(LN(x)))`` then ``x + drop(FFN(LN(x)))``."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.dropout = cfg.dropout
        self.norm1 = nn.LayerNorm(cfg.embed_dim)
        self.attn = SelfAttention(cfg)
        self.norm2 = nn.LayerNorm(cfg.embed_dim)
        self.ffn = FeedForward(cfg)

    def forward(self, x: torch.Tensor, need_weights: bool = False):
        h, weights = self.attn(self.norm1(x), need_weights)
        x = residual_dropout(x, h, self.dropout, self.training)
        return residual_dropout(x, self.ffn(self.norm2(x)), self.dropout, self.training), weights


def _mlp(widths, dropout: float) -> nn.Sequential:
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(widths) - 2:
            layers += [nn.GELU(), Dropout(dropout, inplace=True)]
    return nn.Sequential(*layers)


class ElectrodeAttentionTransformer(nn.Module):
    """Transformer over electrode tokens (see the module docstring for the equations).

    Parameters
    ----------
    config : TransformerConfig
        Sizes; ``config.electrodes`` selects the electrode identity embedding.
    positions : array-like, shape (n_electrodes, 3), optional
        Electrode positions in metres, used when ``config.electrodes == "positions"`` and
        ``forward`` is called without positions. Kept out of the ``state_dict`` so weights move
        freely between montages.
    autocast_dtype : torch.dtype or None
        Run the forward pass under ``torch.autocast`` with this dtype (e.g. ``torch.bfloat16``:
        matrix products in bfloat16, about 2-3x faster on CPUs with AVX512-BF16 or AMX); outputs
        are returned in float32. None: plain float32.
    chs_info : list of dict, optional
        The electrodes as braindecode's models take them: MNE-style channel dicts (e.g.
        ``raw.info["chs"]``), one per electrode token in order. Their positions (``"loc"``,
        metres, head coordinates: :func:`positions_from_chs_info`) replace ``positions``, and
        their number is ``config.n_chans`` when the config leaves it None.
    """

    def __init__(self, config: TransformerConfig, positions=None, autocast_dtype: torch.dtype | None = None,
                 chs_info=None):
        super().__init__()
        if chs_info is not None:
            if positions is not None:
                raise ValueError("Pass positions or chs_info (whose 'loc' entries are the positions), not both.")
            positions = positions_from_chs_info(chs_info)
            if config.n_chans is None:
                config = replace(config, n_chans=len(positions))
            elif config.n_chans != len(positions):
                raise ValueError(f"config.n_chans={config.n_chans} but chs_info describes {len(positions)} channels.")
        self.config = cfg = config
        self.autocast_dtype = autocast_dtype
        if cfg.electrodes == "learned":
            if not cfg.n_chans:
                raise ValueError("config.n_chans (or chs_info) is required for electrodes='learned'.")
            self.electrode_table = nn.Parameter(torch.randn(cfg.n_chans, cfg.embed_dim))
        elif cfg.electrodes == "positions":
            self.position_embedding = PositionEmbedding(cfg.embed_dim, cfg.n_frequencies)
        else:
            raise ValueError(
                f"Invalid value for the 'electrodes' field. Allowed values are 'learned', "
                f"'positions', but got {cfg.electrodes!r}."
            )
        self.register_buffer("positions", None, persistent=False)
        if positions is not None:
            self.set_positions(positions)
        self.token = nn.Linear(cfg.n_bands, cfg.embed_dim)
        self.drop = Dropout(cfg.dropout, inplace=True)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.head_norm = nn.LayerNorm(cfg.embed_dim)
        self.head = _mlp((cfg.embed_dim, *cfg.head_dims, cfg.n_outputs), cfg.dropout)

    def set_positions(self, positions) -> None:
        """Electrode positions (n_electrodes, 3) in metres used when ``forward`` gets none."""
        positions = torch.as_tensor(positions, dtype=torch.float32)
        if positions.ndim != 2 or positions.shape[1] != 3:
            raise ValueError(f"positions must have shape (n_electrodes, 3), got {tuple(positions.shape)}.")
        device = next(self.parameters(), positions).device
        self.positions = positions.to(device)

    def electrode_embedding(self, n_electrodes: int, positions=None) -> torch.Tensor:
        """Identity embeddings, shape (n_electrodes, E)."""
        if self.config.electrodes == "learned":
            if n_electrodes != self.electrode_table.shape[0]:
                raise ValueError(
                    f"This model has a learned table for {self.electrode_table.shape[0]} electrodes, "
                    f"got tokens for {n_electrodes}."
                )
            return self.electrode_table
        positions = self.positions if positions is None else positions
        if positions is None:
            raise ValueError("Electrode positions are needed (pass positions or call set_positions).")
        if positions.shape[0] != n_electrodes:
            raise ValueError(f"Got {positions.shape[0]} electrode positions for {n_electrodes} electrode tokens.")
        return self.position_embedding(positions.to(self.token.weight))

    def forward(
        self, x: torch.Tensor, positions: torch.Tensor | None = None, need_weights: bool = False,
        return_embedding: bool = False,
    ):
        """Outputs for tokens ``x`` of shape (batch, n_electrodes, n_bands).

        Returns ``(batch, n_outputs)`` logits; with ``need_weights``, also the list of per-layer
        attention weights ``(batch, heads, n_electrodes, n_electrodes)``; with
        ``return_embedding``, also the ``(batch, embed_dim)`` embedding the head read (see
        :meth:`embed`). Extras come after the logits in that order, e.g. ``(logits, maps, embedding)``.
        """
        with self._autocast(x):
            z, maps = self._encode(x, positions, need_weights)
            out = self.head(z)  # (B, n_outputs)
        if self.autocast_dtype is not None:
            out, z, maps = out.float(), z.float(), [w.float() for w in maps]
        extras = ([maps] if need_weights else []) + ([z] if return_embedding else [])
        return (out, *extras) if extras else out

    def embed(self, x: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        """The pooled embedding the head reads: ``LN(mean_i x_i)`` after the blocks, shape (batch, E).

        Float32 also under ``autocast_dtype``. Dropout applies in training mode, as in :meth:`forward`.
        """
        with self._autocast(x):
            z, _ = self._encode(x, positions, False)
        return z.float() if self.autocast_dtype is not None else z

    def _autocast(self, x):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(x.device.type, dtype=self.autocast_dtype)

    def _encode(self, x, positions, need_weights):
        x = self.token(x) + self.electrode_embedding(x.shape[1], positions)  # (B, S, E)
        x = self.drop(x)
        maps = []
        for block in self.blocks:
            x, weights = block(x, need_weights)
            maps.append(weights)
        return self.head_norm(x.mean(dim=1)), (maps if need_weights else [])


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
