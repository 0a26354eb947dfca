"""Triton kernels for short-sequence attention over a packed ``(B, S, 3, H, D)`` projection.

Internal module: it imports triton at the top, so only import it after checking triton exists
(``neuroaffect.kernels`` does). The public entry points are in ``neuroaffect.kernels``.

One program owns ``pairs`` consecutive (batch, head) pairs and loops over them; for each pair
the whole ``S x S`` score tile lives on chip, so the softmax is a single pass (row max, exp,
sum) and the backward needs no atomics and no scratch buffers. The log-sum-exp of each score row
(base 2, fp32, shape ``(B * H, S)``) is the only extra tensor saved for the backward.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import triton
import triton.language as tl
from triton.runtime.errors import OutOfResources

from . import MAX_HEAD_DIM, MAX_SEQ

_LOG2E = 1.4426950408889634


@dataclass(frozen=True)
class LaunchConfig:
    """Launch parameters: (batch, head) pairs per program, warps, software-pipelining stages."""

    pairs: int
    num_warps: int
    num_stages: int


@functools.lru_cache(maxsize=256)
def padded(n: int) -> int:
    """Block size for a sequence or head dimension: next power of two, at least 16 (``tl.dot``)."""
    return max(16, triton.next_power_of_2(int(n)))


@functools.lru_cache(maxsize=4096)  # called on every launch; a few us of host time each
def default_config(
    seq_len: int, head_dim: int, n_pairs: int, itemsize: int = 2, backward: bool = False
) -> LaunchConfig:
    """Heuristic launch configuration (``benchmarks/attention.py --tune`` sweeps alternatives)."""
    block_s, block_d = padded(seq_len), padded(head_dim)
    tile = block_s * max(block_s, block_d)
    # Small tiles: give each program several pairs so that per-program overhead is amortised and
    # the loop's loads can be pipelined; keep at least ~8 programs per multiprocessor in flight.
    pairs = max(1, min(8, 4096 // tile))
    while pairs > 1 and n_pairs < pairs * 132 * 8:
        pairs //= 2
    # Warps from ptxas' reports for sm_90a (benchmarks/attention.py --compile-report): enough to
    # keep the S x S and S x D fp32 tiles in registers without spilling; the backward holds
    # more tiles at once and gets 8 (16 only moved its spills around).
    work = block_s * (block_s + block_d) * itemsize
    if backward:
        num_warps = 8
    else:
        num_warps = 4 if work <= 16384 else 8 if work <= 24576 else 16
    # Two pipelining stages hold the next pair's tiles in shared memory while this one computes.
    stage_bytes = (4 if backward else 3) * block_s * block_d * itemsize
    num_stages = 2 if stage_bytes <= 48 * 1024 else 1
    return LaunchConfig(pairs=pairs, num_warps=num_warps, num_stages=num_stages)


def _launch(kernel, n_pairs: int, cfg: LaunchConfig, *args, **meta) -> None:
    """Launch ``kernel`` over ``n_pairs`` pairs; retry unpipelined if shared memory runs out."""
    grid = (triton.cdiv(n_pairs, cfg.pairs),)
    try:
        kernel[grid](*args, PAIRS=cfg.pairs, num_warps=cfg.num_warps, num_stages=cfg.num_stages, **meta)
    except OutOfResources:
        if cfg.num_stages == 1:
            raise
        kernel[grid](*args, PAIRS=cfg.pairs, num_warps=cfg.num_warps, num_stages=1, **meta)


def _input_precision(dtype: torch.dtype) -> str | None:
    """fp32 dots follow ``torch.get_float32_matmul_precision()`` ("highest" -> exact fp32)."""
    if dtype != torch.float32:
        return None
    return "ieee" if torch.get_float32_matmul_precision() == "highest" else "tf32"


@triton.jit
def _keep_mask(seed, pair, offs_i, offs_j, S, dropout_p):
    # One Philox stream per (batch, head) pair; the counter is the (query, key) index, so the
    # forward, the backward and `dropout_keep_mask` draw the same numbers.
    r = tl.rand(seed + pair, offs_i[:, None] * S + offs_j[None, :])
    return r >= dropout_p


@triton.jit
def _fwd_kernel(
    qkv_ptr, out_ptr, lse_ptr, w_ptr,
    n_pairs, H, S, D,
    s_qb, s_qs, s_q3, s_qh,
    s_ob, s_os, s_oh,
    qk_scale, dropout_p, seed_ptr,
    PAIRS: tl.constexpr, BLOCK_S: tl.constexpr, BLOCK_D: tl.constexpr,
    WRITE_W: tl.constexpr, DROPOUT: tl.constexpr, PRECISION: tl.constexpr,
):
    pid = tl.program_id(0).to(tl.int64)
    if DROPOUT:  # read on the device, so CUDA graphs replay with fresh seeds
        seed = tl.load(seed_ptr)
    offs_s = tl.arange(0, BLOCK_S)
    offs_d = tl.arange(0, BLOCK_D)
    row_ok = offs_s < S
    tile_ok = row_ok[:, None] & (offs_d[None, :] < D)
    sq_ok = row_ok[:, None] & row_ok[None, :]
    for i in tl.range(0, PAIRS):
        pair = pid * PAIRS + i
        # The pair test as a vector, not a scalar: Triton 3.9's interpreter refuses scalar & tensor
        # masks ("mask has unsupported dtype"); compiled kernels are the same either way.
        valid = (offs_s * 0 + pair) < n_pairs  # (BLOCK_S,)
        b = pair // H
        h = pair % H
        ptrs = qkv_ptr + b * s_qb + h * s_qh + offs_s[:, None] * s_qs + offs_d[None, :]
        q = tl.load(ptrs, mask=tile_ok & valid[:, None], other=0.0)
        k = tl.load(ptrs + s_q3, mask=tile_ok & valid[:, None], other=0.0)
        v = tl.load(ptrs + 2 * s_q3, mask=tile_ok & valid[:, None], other=0.0)

        # Scores in base-2 units; padded keys get -inf so they take no probability.
        s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * qk_scale
        s = tl.where(row_ok[None, :], s, float("-inf"))
        m = tl.max(s, axis=1)
        p = tl.exp2(s - m[:, None])
        denom = tl.sum(p, axis=1)
        p = p * (1.0 / denom)[:, None]
        if WRITE_W:  # the softmax weights, before dropout
            w_ptrs = w_ptr + pair * S * S + offs_s[:, None] * S + offs_s[None, :]
            tl.store(w_ptrs, p.to(w_ptr.dtype.element_ty), mask=sq_ok & valid[:, None])
        if DROPOUT:
            keep = _keep_mask(seed, pair, offs_s, offs_s, S, dropout_p)
            p = tl.where(keep, p * (1.0 / (1.0 - dropout_p)), 0.0)
        o = tl.dot(p.to(v.dtype), v, input_precision=PRECISION)

        o_ptrs = out_ptr + b * s_ob + h * s_oh + offs_s[:, None] * s_os + offs_d[None, :]
        tl.store(o_ptrs, o.to(out_ptr.dtype.element_ty), mask=tile_ok & valid[:, None])
        tl.store(lse_ptr + pair * S + offs_s, m + tl.log2(denom), mask=row_ok & valid)


@triton.jit
def _bwd_kernel(
    qkv_ptr, do_ptr, lse_ptr, dw_ptr, dqkv_ptr,
    n_pairs, H, S, D,
    s_qb, s_qs, s_q3, s_qh,
    s_gb, s_gs, s_gh,
    s_db, s_ds, s_d3, s_dh,
    scale, qk_scale, dropout_p, seed_ptr,
    PAIRS: tl.constexpr, BLOCK_S: tl.constexpr, BLOCK_D: tl.constexpr,
    HAS_DW: tl.constexpr, DROPOUT: tl.constexpr, PRECISION: tl.constexpr,
):
    pid = tl.program_id(0).to(tl.int64)
    if DROPOUT:
        seed = tl.load(seed_ptr)
    offs_s = tl.arange(0, BLOCK_S)
    offs_d = tl.arange(0, BLOCK_D)
    row_ok = offs_s < S
    tile_ok = row_ok[:, None] & (offs_d[None, :] < D)
    sq_ok = row_ok[:, None] & row_ok[None, :]
    for i in tl.range(0, PAIRS):
        pair = pid * PAIRS + i
        # The pair test as a vector, not a scalar: Triton 3.9's interpreter refuses scalar & tensor
        # masks ("mask has unsupported dtype"); compiled kernels are the same either way.
        valid = (offs_s * 0 + pair) < n_pairs  # (BLOCK_S,)
        b = pair // H
        h = pair % H
        ptrs = qkv_ptr + b * s_qb + h * s_qh + offs_s[:, None] * s_qs + offs_d[None, :]
        q = tl.load(ptrs, mask=tile_ok & valid[:, None], other=0.0)
        k = tl.load(ptrs + s_q3, mask=tile_ok & valid[:, None], other=0.0)
        v = tl.load(ptrs + 2 * s_q3, mask=tile_ok & valid[:, None], other=0.0)
        do_ptrs = do_ptr + b * s_gb + h * s_gh + offs_s[:, None] * s_gs + offs_d[None, :]
        do = tl.load(do_ptrs, mask=tile_ok & valid[:, None], other=0.0)
        lse = tl.load(lse_ptr + pair * S + offs_s, mask=row_ok & valid, other=0.0)

        # Recompute the normalised probabilities from the saved log-sum-exp.
        s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * qk_scale
        p = tl.where(sq_ok, tl.exp2(s - lse[:, None]), 0.0)
        # dP: gradient w.r.t. the softmax weights, through dropout, plus the weights' own gradient.
        dp = tl.dot(do, tl.trans(v), input_precision=PRECISION)
        if DROPOUT:
            keep = _keep_mask(seed, pair, offs_s, offs_s, S, dropout_p)
            inv_keep = 1.0 / (1.0 - dropout_p)
            w = tl.where(keep, p * inv_keep, 0.0)
            dp = tl.where(keep, dp * inv_keep, 0.0)
        else:
            w = p
        if HAS_DW:
            w_ptrs = dw_ptr + pair * S * S + offs_s[:, None] * S + offs_s[None, :]
            dp += tl.load(w_ptrs, mask=sq_ok & valid[:, None], other=0.0).to(tl.float32)
        dv = tl.dot(tl.trans(w.to(do.dtype)), do, input_precision=PRECISION)
        # Softmax backward; Delta = rowsum(P * dP) (equals rowsum(dO * O) without dropout and
        # external dW, and stays exact with them), so O is never read.
        delta = tl.sum(p * dp, axis=1)
        ds = p * (dp - delta[:, None])
        ds_lo = ds.to(q.dtype)
        dq = tl.dot(ds_lo, k, input_precision=PRECISION) * scale
        dk = tl.dot(tl.trans(ds_lo), q, input_precision=PRECISION) * scale

        out_ty = dqkv_ptr.dtype.element_ty
        d_ptrs = dqkv_ptr + b * s_db + h * s_dh + offs_s[:, None] * s_ds + offs_d[None, :]
        tl.store(d_ptrs, dq.to(out_ty), mask=tile_ok & valid[:, None])
        tl.store(d_ptrs + s_d3, dk.to(out_ty), mask=tile_ok & valid[:, None])
        tl.store(d_ptrs + 2 * s_d3, dv.to(out_ty), mask=tile_ok & valid[:, None])


@triton.jit
def _mask_kernel(mask_ptr, n_pairs, S, dropout_p, seed_ptr, BLOCK_S: tl.constexpr):
    pair = tl.program_id(0).to(tl.int64)
    seed = tl.load(seed_ptr)
    offs_s = tl.arange(0, BLOCK_S)
    sq_ok = (offs_s[:, None] < S) & (offs_s[None, :] < S)
    keep = _keep_mask(seed, pair, offs_s, offs_s, S, dropout_p)
    ptrs = mask_ptr + pair * S * S + offs_s[:, None] * S + offs_s[None, :]
    tl.store(ptrs, keep.to(tl.int8), mask=sq_ok)


def _check_qkv(qkv: torch.Tensor) -> None:
    if qkv.ndim != 5 or qkv.shape[2] != 3:
        raise ValueError(f"qkv must have shape (batch, seq, 3, heads, head_dim); got {tuple(qkv.shape)}")
    if qkv.stride(-1) != 1:
        raise ValueError(f"qkv's last dimension must be contiguous (stride 1); got strides {qkv.stride()}")
    if qkv.dtype not in (torch.float32, torch.float16, torch.bfloat16):
        raise ValueError(f"qkv dtype must be float32, float16 or bfloat16; got {qkv.dtype}")
    _, seq, _, _, head_dim = qkv.shape
    if not (1 <= seq <= MAX_SEQ and 1 <= head_dim <= MAX_HEAD_DIM):
        raise ValueError(
            f"fused attention needs 1 <= seq <= {MAX_SEQ} and 1 <= head_dim <= {MAX_HEAD_DIM}; "
            f"got seq={seq}, head_dim={head_dim}"
        )


def resolve_scale(scale: float | None, head_dim: int) -> float:
    return 1.0 / math.sqrt(head_dim) if scale is None else float(scale)


def attention_forward(
    qkv: torch.Tensor,
    scale: float,
    need_weights: bool = False,
    dropout_p: float = 0.0,
    seed: torch.Tensor | None = None,
    *,
    out: torch.Tensor | None = None,
    lse: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
    config: LaunchConfig | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Launch the forward kernel. Returns ``(out (B, S, H, D), lse (B*H, S) fp32, weights|None)``.

    ``out``, ``lse`` and ``weights`` may be passed preallocated (tests poison them with NaN).
    """
    _check_qkv(qkv)
    B, S, _, H, D = qkv.shape
    n_pairs = B * H
    if out is None:
        out = torch.empty((B, S, H, D), dtype=qkv.dtype, device=qkv.device)
    if lse is None:
        lse = torch.empty((n_pairs, S), dtype=torch.float32, device=qkv.device)
    if need_weights and weights is None:
        weights = torch.empty((B, H, S, S), dtype=qkv.dtype, device=qkv.device)
    if not need_weights:
        weights = None
    assert out.shape == (B, S, H, D) and out.stride(-1) == 1
    assert lse.shape == (n_pairs, S) and lse.is_contiguous() and lse.dtype == torch.float32
    assert weights is None or (weights.shape == (B, H, S, S) and weights.is_contiguous())
    if n_pairs == 0:
        return out, lse, weights
    cfg = config or default_config(S, D, n_pairs, qkv.element_size())
    _launch(
        _fwd_kernel, n_pairs, cfg,
        qkv, out, lse, weights if weights is not None else out,
        n_pairs, H, S, D,
        qkv.stride(0), qkv.stride(1), qkv.stride(2), qkv.stride(3),
        out.stride(0), out.stride(1), out.stride(2),
        scale * _LOG2E, float(dropout_p), _seed_arg(seed, dropout_p, lse),
        BLOCK_S=padded(S), BLOCK_D=padded(D),
        WRITE_W=weights is not None, DROPOUT=dropout_p > 0.0,
        PRECISION=_input_precision(qkv.dtype),
    )
    return out, lse, weights


def attention_backward(
    grad_out: torch.Tensor,
    qkv: torch.Tensor,
    lse: torch.Tensor,
    scale: float,
    grad_weights: torch.Tensor | None = None,
    dropout_p: float = 0.0,
    seed: torch.Tensor | None = None,
    *,
    dqkv: torch.Tensor | None = None,
    config: LaunchConfig | None = None,
) -> torch.Tensor:
    """Launch the backward kernel; returns ``dqkv`` packed like ``qkv``: (B, S, 3, H, D), contiguous."""
    _check_qkv(qkv)
    B, S, _, H, D = qkv.shape
    n_pairs = B * H
    if grad_out.stride(-1) != 1:
        grad_out = grad_out.contiguous()
    if grad_weights is not None and not grad_weights.is_contiguous():
        grad_weights = grad_weights.contiguous()
    if dqkv is None:
        dqkv = torch.empty((B, S, 3, H, D), dtype=qkv.dtype, device=qkv.device)
    assert grad_out.shape == (B, S, H, D)
    assert dqkv.shape == qkv.shape and dqkv.stride(-1) == 1
    if n_pairs == 0:
        return dqkv
    cfg = config or default_config(S, D, n_pairs, qkv.element_size(), backward=True)
    _launch(
        _bwd_kernel, n_pairs, cfg,
        qkv, grad_out, lse, grad_weights if grad_weights is not None else lse, dqkv,
        n_pairs, H, S, D,
        qkv.stride(0), qkv.stride(1), qkv.stride(2), qkv.stride(3),
        grad_out.stride(0), grad_out.stride(1), grad_out.stride(2),
        dqkv.stride(0), dqkv.stride(1), dqkv.stride(2), dqkv.stride(3),
        scale, scale * _LOG2E, float(dropout_p), _seed_arg(seed, dropout_p, lse),
        BLOCK_S=padded(S), BLOCK_D=padded(D),
        HAS_DW=grad_weights is not None, DROPOUT=dropout_p > 0.0,
        PRECISION=_input_precision(qkv.dtype),
    )
    return dqkv


def _seed_arg(seed: torch.Tensor | None, dropout_p: float, dummy: torch.Tensor) -> torch.Tensor:
    """The seed tensor (int64 scalar on the kernel's device); unread without dropout."""
    if dropout_p <= 0.0:
        return dummy
    if seed is None or seed.numel() != 1 or seed.dtype != torch.int64:
        raise ValueError("dropout needs a seed: an int64 tensor with one element")
    return seed.to(dummy.device)


def dropout_keep_mask(
    batch: int, heads: int, seq: int, dropout_p: float, seed: int | torch.Tensor,
    device: torch.device | str,
) -> torch.Tensor:
    """The keep mask (B, H, S, S) bool that the kernels draw for ``(dropout_p, seed)``."""
    mask = torch.empty((batch, heads, seq, seq), dtype=torch.int8, device=device)
    seed = torch.as_tensor(seed, dtype=torch.int64, device=device).reshape(())
    if mask.numel():
        _mask_kernel[(batch * heads,)](mask, batch * heads, seq, float(dropout_p), seed,
                                       BLOCK_S=padded(seq))
    return mask.bool()
