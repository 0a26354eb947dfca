"""The fused attention as an autograd function, twice.

* ``attention_fwd`` / ``attention_bwd``: torch custom ops (``neuroaffect::attention_fwd`` /
  ``attention_bwd``) for ``torch.compile``, which treats them as opaque calls with the fake (meta)
  implementations below for shapes; autograd goes through ``register_autograd``.
* ``EagerAttention``: the same launches and the same saved state as a plain
  ``torch.autograd.Function``, for eager mode. The custom op's Python dispatch costs about 20 us
  more host time per forward call (``python benchmarks/attention.py --host-overhead``); at the
  smallest benchmark shape the whole forward's bandwidth floor is about 30 us, so the GPU would
  wait on the host.

Internal module; imports triton through ``_triton_attention``.
"""

from __future__ import annotations

import torch

from . import _triton_attention as _ta


@torch.library.custom_op("neuroaffect::attention_fwd", mutates_args=())
def attention_fwd(
    qkv: torch.Tensor, scale: float, need_weights: bool, dropout_p: float, seed: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    out, lse, weights = _ta.attention_forward(qkv, scale, need_weights, dropout_p, seed)
    if weights is None:  # custom ops cannot return None
        weights = qkv.new_empty((0,))
    return out, lse, weights


@attention_fwd.register_fake
def _(qkv, scale, need_weights, dropout_p, seed):
    B, S, _, H, D = qkv.shape
    out = qkv.new_empty((B, S, H, D))
    lse = qkv.new_empty((B * H, S), dtype=torch.float32)
    weights = qkv.new_empty((B, H, S, S) if need_weights else (0,))
    return out, lse, weights


@torch.library.custom_op("neuroaffect::attention_bwd", mutates_args=())
def attention_bwd(
    grad_out: torch.Tensor,
    grad_weights: torch.Tensor | None,
    qkv: torch.Tensor,
    lse: torch.Tensor,
    scale: float,
    dropout_p: float,
    seed: torch.Tensor,
) -> torch.Tensor:
    return _ta.attention_backward(grad_out, qkv, lse, scale, grad_weights, dropout_p, seed)


@attention_bwd.register_fake
def _(grad_out, grad_weights, qkv, lse, scale, dropout_p, seed):
    return qkv.new_empty(qkv.shape)


def _setup_context(ctx, inputs, output):
    qkv, scale, need_weights, dropout_p, seed = inputs
    _, lse, _ = output
    ctx.save_for_backward(qkv, lse, seed)
    ctx.scale = scale
    ctx.need_weights = need_weights
    ctx.dropout_p = dropout_p
    ctx.mark_non_differentiable(lse)


def _backward_args(ctx, grad_out, grad_weights):
    """``(grad_out, grad_weights|None, qkv, lse, scale, dropout_p, seed)`` for the backward."""
    qkv, lse, seed = ctx.saved_tensors
    if grad_out is None:  # only the weights were used
        grad_out = qkv.new_zeros(qkv.shape[:2] + qkv.shape[3:])
    if not ctx.need_weights:
        grad_weights = None
    return grad_out, grad_weights, qkv, lse, ctx.scale, ctx.dropout_p, seed


def _backward(ctx, grad_out, grad_lse, grad_weights):
    dqkv = attention_bwd(*_backward_args(ctx, grad_out, grad_weights))
    return dqkv, None, None, None, None


torch.library.register_autograd(
    "neuroaffect::attention_fwd", _backward, setup_context=_setup_context
)


class EagerAttention(torch.autograd.Function):
    """``attention_fwd`` and its backward without the custom-op dispatch (eager mode only).

    Old-style ``forward(ctx, ...)``: a separate ``setup_context`` costs about 20 us more per call.
    """

    @staticmethod
    def forward(ctx, qkv, scale, need_weights, dropout_p, seed):
        out, lse, weights = _ta.attention_forward(qkv, scale, need_weights, dropout_p, seed)
        output = out, lse, qkv.new_empty((0,)) if weights is None else weights
        _setup_context(ctx, (qkv, scale, need_weights, dropout_p, seed), output)
        ctx.set_materialize_grads(False)  # no zero-filled gradient for lse or unused outputs
        return output

    @staticmethod
    def backward(ctx, grad_out, grad_lse, grad_weights):
        grad_out, grad_weights, qkv, lse, scale, dropout_p, seed = _backward_args(
            ctx, grad_out, grad_weights
        )
        dqkv = _ta.attention_backward(grad_out, qkv, lse, scale, grad_weights, dropout_p, seed)
        return dqkv, None, None, None, None


def new_seed(device: torch.device) -> torch.Tensor:
    """A dropout seed drawn on ``device`` by torch's generator there (``torch.manual_seed``
    applies; under CUDA-graph capture each replay draws a fresh one)."""
    return torch.randint(0, 2**31 - 1, (), dtype=torch.int64, device=device)


def no_seed(device: torch.device) -> torch.Tensor:
    """Placeholder seed without dropout (empty: allocating it launches nothing)."""
    return torch.empty((0,), dtype=torch.int64, device=device)
