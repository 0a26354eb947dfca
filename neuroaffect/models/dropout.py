"""Dropout for the models: fused and mask-free on CPU, ``torch.nn.functional.dropout`` elsewhere.

On CPU, ``F.dropout`` draws one Bernoulli variate per element, stores a mask and multiplies; for
the reference transformer that was about a sixth of a training step. Here, for float32 and
float64 CPU tensors, the keep mask is a hash of a seed and the element index
(``neuroaffect.kernels.cpu``, numba). One pass applies it, and the backward pass regenerates it
from the seed instead of storing it. :func:`residual_dropout` also folds the residual addition
into that pass. The seed comes from torch's default generator, so ``torch.manual_seed`` makes
runs repeatable.

Without numba (or for other dtypes) the mask comes from :func:`keep_mask`. It uses the four
16-bit lanes of 64-bit words drawn over the full range (``random_(-2**63, None)``), each lane
kept when it is at least ``round(p * 2**16) - 2**15``: the keep probability is ``1 - p`` to
within ``2**-17``. On other devices than the CPU and inside ``torch.compile`` (inductor fuses
its own dropout) this is ``torch.nn.functional.dropout``; in evaluation mode, the identity.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

__all__ = ["Dropout", "draw_seed", "dropout", "fused_cpu_kernels", "keep_mask", "residual_dropout"]

_CPU_KERNELS = None  # neuroaffect.kernels.cpu once imported, False where numba is missing


def fused_cpu_kernels():
    """The numba kernels (``neuroaffect.kernels.cpu``), or None where numba cannot be imported."""
    global _CPU_KERNELS
    if _CPU_KERNELS is None:
        try:
            from ..kernels import cpu

            _CPU_KERNELS = cpu
        except ImportError:
            _CPU_KERNELS = False
        except Exception as error:  # e.g. numba finds no writable cache folder
            warnings.warn(
                f"neuroaffect.kernels.cpu could not be loaded ({error!r}); dropout falls back to "
                "plain PyTorch (slower CPU training).",
                RuntimeWarning,
                stacklevel=2,
            )
            _CPU_KERNELS = False
    return _CPU_KERNELS or None


def draw_seed() -> int:
    """A seed in [0, 2**63) from torch's default CPU generator."""
    return int(torch.empty((), dtype=torch.int64).random_())


def _fused(*tensors) -> bool:
    """Whether the numba kernels apply: float32/float64 CPU tensors, numba present, eager mode."""
    return (
        all(t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64) for t in tensors)
        and not torch.compiler.is_compiling()  # compiled graphs get inductor's own fused dropout
        and fused_cpu_kernels() is not None
    )


def _flat(tensor: torch.Tensor):
    """1-D NumPy view of a contiguous CPU tensor (shares memory)."""
    return tensor.detach().view(-1).numpy()


def _mask_params(p: float, dtype: torch.dtype):
    kernels = fused_cpu_kernels()
    scale = torch.empty((), dtype=dtype).numpy().dtype.type(1.0 / (1.0 - p))
    return draw_seed(), kernels.threshold(p), scale


def _apply_mask(src: torch.Tensor, dst: torch.Tensor, mask, offset: int = 0) -> None:
    """``dst = src`` with the seeded mask ``(seed, threshold, scale)`` applied, elements numbered
    from ``offset`` (both contiguous; ``dst`` may be ``src``)."""
    seed, threshold, scale = mask
    fused_cpu_kernels().masked_scale(
        _flat(src), _flat(dst), seed, offset, threshold, scale, torch.get_num_threads()
    )


def _masked_copy(x: torch.Tensor, mask) -> torch.Tensor:
    """A new contiguous tensor: ``x`` with the seeded mask applied."""
    x = x.contiguous()
    out = torch.empty_like(x)
    _apply_mask(x, out, mask)
    return out


class _SeededDropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p, inplace):
        ctx.mask = _mask_params(p, x.dtype)
        if not inplace:
            return _masked_copy(x, ctx.mask)
        _apply_mask(x, x, ctx.mask)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        return _masked_copy(grad, ctx.mask), None, None


class _ResidualDropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h, p):
        ctx.mask = seed, threshold, scale = _mask_params(p, x.dtype)
        x, h = x.contiguous(), h.contiguous()
        out = torch.empty_like(x)
        fused_cpu_kernels().add_masked_scale(
            _flat(x), _flat(h), _flat(out), seed, 0, threshold, scale, torch.get_num_threads()
        )
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        return grad, _masked_copy(grad, ctx.mask), None


def keep_mask(shape, p: float, device=None) -> torch.Tensor:
    """Boolean mask of ``shape``, each element True with probability ``1 - p`` (to within 2**-17)."""
    n = 1
    for size in shape:
        n *= size
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=device).random_(-(2**63), None)  # all 64 bits
    lanes = words.view(torch.int16)[:n]  # four uniform 16-bit lanes per word
    return (lanes >= round(p * 65536) - 32768).view(shape)


def dropout(x: torch.Tensor, p: float, training: bool = True, inplace: bool = False) -> torch.Tensor:
    """Inverted dropout: zero each element with probability ``p``, scale the rest by ``1 / (1 - p)``.

    ``inplace=True`` overwrites ``x`` (allowed where autograd does not need it, e.g. the output of
    a linear layer or of GELU; autograd raises an error otherwise).
    """
    if not 0 <= p <= 1:
        raise ValueError(f"The dropout probability p must be in [0, 1], got {p!r}.")
    if not training or p == 0:
        return x
    if x.device.type != "cpu" or p >= 1 or torch.compiler.is_compiling():
        return F.dropout(x, p, training=True, inplace=inplace)
    if _fused(x):
        return _SeededDropout.apply(x, p, inplace and x.is_contiguous())
    mask = keep_mask(x.shape, p, x.device).to(x.dtype).mul_(1.0 / (1.0 - p))
    return x.mul_(mask) if inplace else x * mask  # autograd keeps only the mask for the backward


def residual_dropout(x: torch.Tensor, h: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """``x + dropout(h, p)``, in one pass on CPU (a residual connection around a dropped-out branch)."""
    if training and 0 < p < 1 and x.shape == h.shape and x.dtype == h.dtype and _fused(x, h):
        return _ResidualDropout.apply(x, h, p)
    return x + dropout(h, p, training)


class Dropout(nn.Dropout):
    """``nn.Dropout`` using :func:`dropout` (same ``p``, ``inplace`` and modes; fused on CPU)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training, self.inplace)
