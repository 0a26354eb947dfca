"""The one place where attention is computed.

Every attention layer of the package calls :func:`attention` with a *view* of its packed
``q, k, v`` projection, so that a fused GPU kernel (``neuroaffect.kernels``) can be swapped in
without touching the models. Otherwise the work goes to
:func:`torch.nn.functional.scaled_dot_product_attention`, except in three cases:

* CPU training with attention dropout goes to a head-by-head implementation with a hand-written
  backward. There SDPA would fall back to its math path, which draws a Bernoulli variate per
  weight and copies q, k, v and the gradient between layouts. This path reads q, k and v through
  their strides and writes the gradient packed as (B, S, 3, H, D). It regenerates the dropout
  mask in the backward from a seed (``neuroaffect.kernels.cpu``), keeps per-head temporaries in
  small reused buffers, and saves only the softmax weights. See ``benchmarks/model.py``.
* CPU inference (no gradient needed, float32/float64) uses the same head-by-head forward without
  dropout: for the short sequences here it beats SDPA's CPU kernel (``benchmarks/model.py``,
  inference against the plain model: 0.89-0.97x with SDPA, 1.02-1.07x with this path).
* When the attention weights are asked for, an explicit matmul-softmax-matmul runs. It also
  serves CPU dropout where numba is missing or the dtype is neither float32 nor float64.

:class:`use_fused_kernel` switches the fused kernel off (or back on) for CUDA tensors, e.g. to time
a model with and without it.
"""

from __future__ import annotations

import importlib
import warnings

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from .dropout import _apply_mask, _fused, _mask_params, dropout

__all__ = ["attention", "fused_kernel_enabled", "use_fused_kernel"]

_KERNELS = None  # the ``neuroaffect.kernels`` module once looked up, or False if unusable
# A plain module global (not a ContextVar): torch.compile guards on it, and it cannot trace ContextVar.get.
_FUSED_ENABLED = True


def fused_kernel_enabled() -> bool:
    """Whether :func:`attention` may send CUDA tensors to the fused kernel (see :class:`use_fused_kernel`)."""
    return _FUSED_ENABLED


class use_fused_kernel:  # noqa: N801 (lower case like torch.set_grad_enabled, which it mimics)
    """Allow or forbid the fused attention kernel; a function call or a context manager.

    ``use_fused_kernel(False)`` makes :func:`attention` use PyTorch's SDPA for CUDA tensors too,
    from the call on; as a context manager (``with use_fused_kernel(False): ...``) the previous
    setting comes back on exit, also after an exception. ``True`` (the default state) lets the
    dispatcher use the kernel wherever ``neuroaffect.kernels.supports`` accepts the call.

    Parameters
    ----------
    enabled : bool

    Notes
    -----
    The setting is process-wide (a module global, which ``torch.compile`` guards on, so compiled
    models recompile when it flips), not per thread: don't flip it in one thread while another
    trains. CPU tensors never use the kernel either way.
    """

    def __init__(self, enabled: bool = True):
        global _FUSED_ENABLED
        if not isinstance(enabled, bool):
            raise TypeError(f"use_fused_kernel expects True or False, got {enabled!r}.")
        self.previous, _FUSED_ENABLED = _FUSED_ENABLED, enabled

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        global _FUSED_ENABLED
        _FUSED_ENABLED = self.previous
        return False


def _kernels():
    """``neuroaffect.kernels`` if it offers ``supports`` and ``fused_attention``, else ``None``."""
    global _KERNELS
    if _KERNELS is None:
        try:
            module = importlib.import_module("neuroaffect.kernels")
            _KERNELS = module if hasattr(module, "supports") and hasattr(module, "fused_attention") else False
        except Exception as error:  # a broken optional backend must not break the models
            warnings.warn(
                f"neuroaffect.kernels could not be imported ({error!r}); attention falls back to "
                "torch.nn.functional.scaled_dot_product_attention.",
                RuntimeWarning,
                stacklevel=3,
            )
            _KERNELS = False
    return _KERNELS or None


def attention(qkv: torch.Tensor, *, dropout_p: float = 0.0, need_weights: bool = False):
    """Scaled dot-product self-attention over the sequence axis.

    Parameters
    ----------
    qkv : Tensor, shape (batch, seq, 3, heads, head_dim)
        Queries, keys and values, typically ``linear(x).view(batch, seq, 3, heads, head_dim)``
        (a view of the packed projection; no copy needed).
    dropout_p : float
        Dropout probability on the attention weights (pass 0 in evaluation mode).
    need_weights : bool
        Also return the attention weights (before dropout), e.g. for interpretation.

    Returns
    -------
    out : Tensor, shape (batch, seq, heads, head_dim)
        Attention output; ``out.reshape(batch, seq, heads * head_dim)`` feeds the output projection.
    weights : Tensor, shape (batch, heads, seq, seq) or None
        Softmax weights (each row sums to 1) if ``need_weights``, else ``None``.

    Notes
    -----
    The scale is ``head_dim ** -0.5``; there is no mask (every electrode sees every electrode).
    CUDA tensors go to ``neuroaffect.kernels.fused_attention`` when
    ``neuroaffect.kernels.supports(qkv, dropout_p=..., need_weights=...)`` is true, unless
    :class:`use_fused_kernel` switched the kernel off.
    """
    if qkv.ndim != 5 or qkv.shape[2] != 3:
        raise ValueError(
            f"qkv must have shape (batch, seq, 3, heads, head_dim), got {tuple(qkv.shape)}."
        )
    if qkv.is_cuda and _FUSED_ENABLED:
        kernels = _kernels()
        if kernels is not None and kernels.supports(qkv, dropout_p=dropout_p, need_weights=need_weights):
            if dropout_p > 0:  # only kernels that accept dropout say they support it
                return kernels.fused_attention(qkv, need_weights=need_weights, dropout_p=dropout_p)
            return kernels.fused_attention(qkv, need_weights=need_weights)

    if not need_weights and 0 < dropout_p < 1 and _fused(qkv):
        return _CPUDropoutAttention.apply(qkv, dropout_p), None
    if not need_weights and dropout_p == 0 and _cpu_inference(qkv):
        return _headwise_attention(qkv)[0], None
    # (batch, heads, seq, head_dim) views of the packed tensor
    q, k, v = (t.transpose(1, 2) for t in qkv.unbind(2))
    if not need_weights and (dropout_p == 0 or qkv.device.type != "cpu" or torch.compiler.is_compiling()):
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
        return out.transpose(1, 2), None
    # Explicit path: weights wanted, or CPU dropout without the fused kernels.
    weights = torch.softmax((q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5, dim=-1)
    out = dropout(weights, dropout_p) @ v if dropout_p > 0 else weights @ v
    return out.transpose(1, 2), (weights if need_weights else None)


def _cpu_inference(qkv) -> bool:
    return (
        qkv.device.type == "cpu"
        and qkv.dtype in (torch.float32, torch.float64)
        and not (qkv.requires_grad and torch.is_grad_enabled())
        and not torch.compiler.is_compiling()
    )


def _headwise_attention(qkv, mask=None):
    """Attention head by head on CPU, reading q, k, v through their strides.

    With ``mask = (seed, threshold, scale)`` (see ``neuroaffect.kernels.cpu``) the weights are
    dropped out and ``(out (B, S, H, D), weights (H, B, S, S))`` returned, weights before dropout
    (the backward pass needs them); with ``mask=None``, no dropout and ``(out, None)``.
    """
    batch, seq, _, heads, dim = qkv.shape
    weights = None if mask is None else torch.empty(heads, batch, seq, seq, dtype=qkv.dtype)
    out = torch.empty(batch, seq, heads, dim, dtype=qkv.dtype)
    scores = torch.empty(batch, seq, seq, dtype=qkv.dtype)  # per-head scratch, reused
    head_out = torch.empty(batch, seq, dim, dtype=qkv.dtype)
    for h in range(heads):
        torch.bmm(qkv[:, :, 0, h], qkv[:, :, 1, h].transpose(1, 2), out=scores).mul_(dim**-0.5)
        if mask is None:
            torch._softmax(scores, -1, False, out=scores)
        else:
            torch._softmax(scores, -1, False, out=weights[h])
            _apply_mask(weights[h], scores, mask, offset=h * scores.numel())
        out[:, :, h].copy_(torch.bmm(scores, qkv[:, :, 2, h], out=head_out))
    return out, weights


class _CPUDropoutAttention(torch.autograd.Function):
    """Attention with dropout on the weights, head by head, for float32/float64 CPU tensors.

    ``qkv`` (B, S, 3, H, D) -> out (B, S, H, D). With ``P = softmax(scale Q K^T)`` and the scaled
    keep mask ``M``: ``out = (P * M) V``. The mask of head ``h`` is the hash of the seed and the
    element's index in the (H, B, S, S) layout of P (``neuroaffect.kernels.cpu``).
    """

    @staticmethod
    def forward(ctx, qkv, p):
        mask = _mask_params(p, qkv.dtype)
        out, weights = _headwise_attention(qkv.detach(), mask)
        ctx.mask = mask
        ctx.save_for_backward(qkv, weights)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        qkv, weights = ctx.saved_tensors
        batch, seq, _, heads, dim = qkv.shape
        scale = dim**-0.5
        grad = torch.empty(batch, seq, 3, heads, dim, dtype=qkv.dtype)
        dropped = torch.empty(batch, seq, seq, dtype=qkv.dtype)  # per-head scratch, reused
        grad_scores = torch.empty(batch, seq, seq, dtype=qkv.dtype)
        head_grad = torch.empty(batch, seq, dim, dtype=qkv.dtype)
        for h in range(heads):
            q, k, v, g = qkv[:, :, 0, h], qkv[:, :, 1, h], qkv[:, :, 2, h], grad_out[:, :, h]
            _apply_mask(weights[h], dropped, ctx.mask, offset=h * dropped.numel())
            grad[:, :, 2, h].copy_(torch.bmm(dropped.transpose(1, 2), g, out=head_grad))
            # softmax backward through the mask: dS = D * (dO V^T) - P * rowsum(D * (dO V^T)), D = P * M
            torch.bmm(g, v.transpose(1, 2), out=grad_scores).mul_(dropped)
            grad_scores.addcmul_(weights[h], grad_scores.sum(-1, keepdim=True), value=-1).mul_(scale)
            grad[:, :, 0, h].copy_(torch.bmm(grad_scores, k, out=head_grad))
            grad[:, :, 1, h].copy_(torch.bmm(grad_scores.transpose(1, 2), q, out=head_grad))
        return grad, None
