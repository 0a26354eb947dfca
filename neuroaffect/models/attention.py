"""The one place where attention is computed.

Every attention layer of the package calls :func:`attention` with a *view* of its packed
``q, k, v`` projection, so that a fused GPU kernel (``neuroaffect.kernels``) can be swapped in
without touching the models. Otherwise the work goes to
:func:`torch.nn.functional.scaled_dot_product_attention`, except where an explicit
matmul-softmax-matmul is needed or faster: when the attention weights are asked for, and for CPU
training with attention dropout (there SDPA falls back to its math path, which draws a Bernoulli
variate per weight and checks for fully masked rows; the explicit path uses the cheaper mask of
:func:`neuroaffect.models.dropout.dropout`, see ``benchmarks/model.py``).

:class:`use_fused_kernel` switches the fused kernel off (or back on) for CUDA tensors, e.g. to time
a model with and without it.
"""

from __future__ import annotations

import importlib
import warnings

import torch
import torch.nn.functional as F

from .dropout import dropout

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

    # (batch, heads, seq, head_dim) views of the packed tensor
    q, k, v = (t.transpose(1, 2) for t in qkv.unbind(2))
    if not need_weights and (dropout_p == 0 or qkv.is_cuda):
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
        return out.transpose(1, 2), None
    # Explicit path: weights wanted, or CPU training with dropout, where SDPA runs its math path
    # anyway and draws the dropout mask element by element (see neuroaffect.models.dropout).
    weights = torch.softmax((q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5, dim=-1)
    out = dropout(weights, dropout_p) @ v if dropout_p > 0 else weights @ v
    return out.transpose(1, 2), (weights if need_weights else None)
