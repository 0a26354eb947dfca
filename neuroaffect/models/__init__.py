"""Torch models (torch and numpy only; no MNE / braindecode imports here).

- :mod:`.attention`: ``attention.attention``, the one dispatch point for self-attention (fused Triton
  kernel on CUDA when ``neuroaffect.kernels`` supports the call; on CPU a head-by-head path for
  inference and for training with attention dropout; PyTorch SDPA otherwise);
  ``attention.use_fused_kernel(False)`` (a call or a context manager) turns the kernel off.
- :mod:`.transformer`: :class:`ElectrodeAttentionTransformer`, :class:`TransformerConfig`,
  :data:`CONFIGS` ("reference", "default"), :func:`make_config`.
- :mod:`.dropout`: dropout and residual + dropout; on CPU fused and mask-free (seeded numba kernels).
- :mod:`.projector`: :class:`ResidualMLP`, the fMRI contrastive encoder's projector.

Where these models name what braindecode's models name, they use its words: ``n_chans`` (the
electrode tokens), ``n_outputs``, ``chs_info`` (MNE-style channel dicts, for the positions).

(``attention`` is not re-exported here, so ``neuroaffect.models.attention`` stays the module.)
"""

from . import attention
from .projector import ResidualMLP
from .transformer import (
    CONFIGS,
    ElectrodeAttentionTransformer,
    TransformerConfig,
    count_parameters,
    make_config,
)

__all__ = [
    "attention",
    "CONFIGS",
    "ElectrodeAttentionTransformer",
    "ResidualMLP",
    "TransformerConfig",
    "count_parameters",
    "make_config",
]
