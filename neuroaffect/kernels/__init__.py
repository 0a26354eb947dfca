"""Fused Triton attention for short sequences (electrodes as tokens).

Public API
----------
``supports(qkv, *, dropout_p, need_weights) -> bool``
    Whether :func:`fused_attention` takes this call (the model's dispatcher asks first).
``fused_attention(qkv, *, scale=None, need_weights=False, dropout_p=0.0) -> (out, weights|None)``
    Differentiable self-attention over a packed ``(B, S, 3, H, D)`` projection.

Design
------
Attention over electrodes has S = 14-62 tokens, head_dim 16-64 and tens of thousands of windows
per batch: about S/2 FLOP per byte, far under a GPU's ridge point, so the op is bound by memory
traffic and the aim is to move each byte once:

* Q, K and V are read straight from the packed projection through its strides (no transpose or
  ``contiguous`` copy); the output is written as (B, S, H, D) so the output projection reshapes it
  to (B, S, H * D) without a copy, and the gradient is written packed as (B, S, 3, H, D) so the
  packed projection's backward needs no ``cat``.
* A program owns a few consecutive (batch, head) pairs and loops over them. For each pair the
  whole S x S score tile stays on chip: single-pass softmax (row max, exp2, sum; no online
  rescaling), with S and head_dim padded only to the next power of two >= 16 and masked.
* The flattened (batch * head) index is on grid axis 0 with 64-bit offsets, so batch * heads
  above 65535 (a limit of the y/z grid axes that trips several SDPA backends) is fine.
* Forward saves only the base-2 log-sum-exp of each score row (fp32, (B * H, S)). Backward
  recomputes P from Q, K and it, then dV = P^T dO, dP = dO V^T, Delta = rowsum(P * dP) (equal to
  rowsum(dO * O) but exact with dropout and with a gradient on the returned weights, and it spares
  reading O), dS = P * (dP - Delta), dQ = scale dS K, dK = scale dS^T Q. One program owns all S
  rows of its pairs, so there are no atomics and no fp32 scratch buffers.
* Inputs fp32, fp16, bf16; products accumulate in fp32. fp32 dot products follow
  ``torch.get_float32_matmul_precision()``: "highest" (PyTorch's default) is exact fp32, "high" or
  "medium" allow tf32.
* Attention dropout runs in the kernel: the keep mask comes from Philox (``tl.rand``), one stream
  per (batch, head) pair from a seed that torch's generator draws on the device (so
  ``torch.manual_seed`` applies and CUDA-graph replays draw fresh masks), and is regenerated in the
  backward instead of being stored. Returned weights are the softmax *before* dropout (like the
  SDPA fallback's explicit path in ``neuroaffect.models.attention``); gradients flow through them
  too.
* Under ``torch.compile`` the op is a pair of torch custom ops (``neuroaffect::attention_fwd`` /
  ``attention_bwd``) with fake implementations and ``register_autograd``, so the compiler sees one
  opaque node. Eager calls go to a plain ``torch.autograd.Function`` around the same launches,
  since a custom op's dispatch alone costs tens of microseconds of host time per call
  (``python benchmarks/attention.py --host-overhead``).

Launch configuration (pairs per program, warps, pipelining stages) comes from a heuristic in
``_triton_attention.default_config``, checked against ptxas' reports for sm_90a, which need no GPU
(``python benchmarks/attention.py --compile-report``): at the default configurations every
bf16/fp32 shape with S in {14, 32, 62} and head_dim in {32, 64} compiles with 44-132 registers
in the forward and no spills, 16-byte or ``cp.async`` loads, tensor-core products (``mma.sync``
for 16/32-row tiles, ``wgmma`` for 64) in bf16 and FMA in exact fp32; the only spill is the fp32
backward at S=62, head_dim=64 (660 bytes). GPU timings: ``benchmarks/attention.py`` (and
``--tune`` to sweep the configurations).

Without a GPU, Triton's interpreter (``TRITON_INTERPRET=1`` set before triton is imported) runs
the same kernels on CPU tensors: :func:`fused_attention` accepts CPU tensors then (the tests use
this), but :func:`supports` is always False for CPU tensors so models use PyTorch's SDPA there.

This module imports neither triton nor CUDA at import time.
"""

from __future__ import annotations

import os

__all__ = ["fused_attention", "supports"]

MAX_SEQ = 128
MAX_HEAD_DIM = 128


_TRITON: bool | None = None  # whether triton imports; looked up once (not lru_cache: dynamo-friendly)
_DEVICE_OK: dict[tuple[int, str], bool] = {}


def _triton_available() -> bool:
    global _TRITON
    if _TRITON is None:
        try:
            import triton  # noqa: F401

            _TRITON = True
        except Exception:  # ImportError, or a broken install raising something else
            _TRITON = False
    return _TRITON


def _interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def _device_ok(device_index: int, dtype_name: str) -> bool:
    key = (device_index, dtype_name)
    if key not in _DEVICE_OK:
        import torch

        major, _ = torch.cuda.get_device_capability(device_index)
        cuda = torch.version.hip is None
        # Triton needs Volta or newer; bfloat16 dot products need Ampere.
        _DEVICE_OK[key] = not cuda or (major >= 8 or (major == 7 and dtype_name != "bfloat16"))
    return _DEVICE_OK[key]


def supports(qkv, *, dropout_p: float = 0.0, need_weights: bool = False) -> bool:
    """Whether :func:`fused_attention` handles this call.

    True only for a CUDA tensor of dtype float32, float16 or bfloat16 and shape
    (batch, seq, 3, heads, head_dim) with a contiguous last axis, 1 <= seq <= 128,
    1 <= head_dim <= 128 (seq and head_dim need not be powers of two: they are padded and
    masked), ``0 <= dropout_p < 1`` (dropout runs in the kernel), on a GPU Triton can compile for
    (bfloat16 needs compute capability 8.0), with triton importable. ``need_weights`` is
    supported either way. CPU tensors always give False, so the caller falls back to SDPA.

    Parameters
    ----------
    qkv : Tensor, shape (batch, seq, 3, heads, head_dim)
        Packed queries, keys and values (usually a view of the projection's output).
    dropout_p : float
        Attention-dropout probability the caller wants applied.
    need_weights : bool
        Whether the caller wants the attention weights returned.

    Returns
    -------
    bool
    """
    import torch

    if not isinstance(qkv, torch.Tensor) or not qkv.is_cuda:
        return False
    if qkv.dtype not in (torch.float32, torch.float16, torch.bfloat16):
        return False
    if qkv.ndim != 5 or qkv.shape[2] != 3 or qkv.stride(-1) != 1:
        return False
    _, seq, _, _, head_dim = qkv.shape
    if not (1 <= seq <= MAX_SEQ and 1 <= head_dim <= MAX_HEAD_DIM):
        return False
    if not 0.0 <= float(dropout_p) < 1.0:
        return False
    if not _triton_available() or _interpreting():
        return False
    return _device_ok(qkv.device.index if qkv.device.index is not None else torch.cuda.current_device(),
                      str(qkv.dtype).removeprefix("torch."))


def fused_attention(qkv, *, scale: float | None = None, need_weights: bool = False,
                    dropout_p: float = 0.0):
    """Scaled dot-product self-attention with a fused Triton kernel (forward and backward).

    Parameters
    ----------
    qkv : Tensor, shape (batch, seq, 3, heads, head_dim)
        Packed queries, keys and values; any strides with ``qkv.stride(-1) == 1`` (e.g.
        ``linear(x).view(batch, seq, 3, heads, head_dim)``). dtype float32, float16 or bfloat16;
        1 <= seq <= 128, 1 <= head_dim <= 128. CUDA, or CPU under ``TRITON_INTERPRET=1``.
    scale : float or None
        Multiplier of the scores ``q . k``; default ``head_dim ** -0.5``.
    need_weights : bool
        Also return the softmax weights (before dropout).
    dropout_p : float
        Probability of zeroing each attention weight (the rest are scaled by ``1 / (1 - p)``), as
        in ``scaled_dot_product_attention``. The mask is drawn in the kernel (Philox) from a seed that
        torch's generator draws on qkv's device, and regenerated in the backward.

    Returns
    -------
    out : Tensor, shape (batch, seq, heads, head_dim), dtype of qkv
        Contiguous: ``out.view(batch, seq, heads * head_dim)`` needs no copy.
    weights : Tensor, shape (batch, heads, seq, seq), dtype of qkv, or None
        Row-stochastic softmax weights if ``need_weights``.

    Notes
    -----
    Differentiable with respect to ``qkv`` (also through ``weights``); the gradient is a
    contiguous (batch, seq, 3, heads, head_dim) tensor. Second derivatives are not implemented.
    """
    if not _triton_available():
        raise RuntimeError("neuroaffect.kernels.fused_attention needs triton, which is not installed")
    if not qkv.is_cuda and not _interpreting():
        raise ValueError(
            "fused_attention runs on CUDA tensors (CPU tensors only under TRITON_INTERPRET=1); "
            f"got a tensor on {qkv.device}"
        )
    if not 0.0 <= float(dropout_p) < 1.0:
        raise ValueError(f"dropout_p must be in [0, 1); got {dropout_p}")
    from . import _ops, _triton_attention

    _triton_attention._check_qkv(qkv)
    scale = _triton_attention.resolve_scale(scale, qkv.shape[-1])
    seed = _ops.new_seed(qkv.device) if dropout_p > 0 else _ops.no_seed(qkv.device)
    import torch

    # The custom op for the compiler; the same autograd function without its dispatch cost else.
    op = _ops.attention_fwd if torch.compiler.is_compiling() else _ops.EagerAttention.apply
    out, _, weights = op(qkv, scale, bool(need_weights), float(dropout_p), seed)
    return out, (weights if need_weights else None)
