"""Fused CPU dropout kernels (numba), used by ``neuroaffect.models.dropout`` and ``.attention``.

Dropout in eager PyTorch on a CPU costs a random draw per element, a materialised mask, a multiply,
and the mask kept alive until the backward pass. Here the mask is a function of a 64-bit seed and
the element's index: element ``i`` is kept when the high 32 bits of SplitMix64's output at
counter ``offset + i + 1`` reach ``threshold = round(p * 2**32)``. So

* one pass reads the input and writes the output (optionally plus a residual), with no mask array;
* the backward pass regenerates the same mask from the seed instead of storing it
  (as the Triton kernels do with Philox on the GPU);
* the drop probability is ``threshold / 2**32``, within ``2**-33`` of ``p``;
* SplitMix64 (Steele, Lea and Flood 2014) passes BigCrush. Each index is hashed on its own,
  so the result does not depend on threads or chunking.

The seed is drawn from torch's default generator by the callers, so ``torch.manual_seed`` makes
runs repeatable. Arrays are 1-D, C-contiguous NumPy views of CPU tensors (float32 or float64).
Importing this module imports numba (the callers import it on first use and fall back to plain
PyTorch where numba is missing).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["add_masked_scale", "keep_mask", "masked_scale", "threshold"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def threshold(p: float) -> int:
    """The 32-bit threshold for drop probability ``p`` (0 <= p < 1): keep when the draw is >= it."""
    return round(p * 2**32)


@numba.njit(inline="always")
def _draw(seed, counter):
    """High 32 bits of SplitMix64's output at ``counter`` for stream ``seed`` (both uint64)."""
    z = seed + counter * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return (z ^ (z >> np.uint64(31))) >> np.uint64(32)


@numba.njit(nogil=True, cache=True)
def masked_scale(src, dst, seed, offset, threshold, scale):
    """``dst[i] = src[i] * scale`` where element ``offset + i`` is kept, else 0 (``dst`` may be ``src``)."""
    s, base, t = np.uint64(seed), np.uint64(offset + 1), np.uint64(threshold)
    for i in range(src.size):
        dst[i] = src[i] * scale if _draw(s, base + np.uint64(i)) >= t else 0.0


@numba.njit(nogil=True, cache=True)
def add_masked_scale(x, h, dst, seed, offset, threshold, scale):
    """``dst[i] = x[i] + h[i] * scale`` where element ``offset + i`` is kept, else ``x[i]``."""
    s, base, t = np.uint64(seed), np.uint64(offset + 1), np.uint64(threshold)
    for i in range(x.size):
        dst[i] = x[i] + h[i] * scale if _draw(s, base + np.uint64(i)) >= t else x[i]


@numba.njit(nogil=True, cache=True)
def keep_mask(n, seed, offset, threshold):
    """The boolean keep mask of ``n`` elements that the two kernels above apply (for tests)."""
    s, base, t = np.uint64(seed), np.uint64(offset + 1), np.uint64(threshold)
    mask = np.empty(n, dtype=np.bool_)
    for i in range(n):
        mask[i] = _draw(s, base + np.uint64(i)) >= t
    return mask
