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

Large arrays are split over ``threads`` threads by numba's own thread pool, only with a
thread-safe threading layer ("tbb" or "omp"), and never in a process forked from one that used
it (numba terminates such a child); everywhere else the serial kernel runs.
"""

from __future__ import annotations

import importlib.util
import os

import numba
import numpy as np

__all__ = ["PARALLEL_MIN", "add_masked_scale", "keep_mask", "masked_scale", "threshold"]

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


def masked_scale(src, dst, seed, offset, threshold, scale, threads=1):
    """``dst[i] = src[i] * scale`` where element ``offset + i`` is kept, else 0 (``dst`` may be ``src``).

    ``threads > 1`` splits arrays of at least :data:`PARALLEL_MIN` elements over that many
    threads (where numba has a thread-safe threading layer); the result is the same.
    """
    _launch(_masked_scale, _masked_scale_parallel, src.size, threads, src, dst, seed, offset, threshold, scale)


def add_masked_scale(x, h, dst, seed, offset, threshold, scale, threads=1):
    """``dst[i] = x[i] + h[i] * scale`` where element ``offset + i`` is kept, else ``x[i]``.

    ``threads`` as in :func:`masked_scale`.
    """
    _launch(_add_masked_scale, _add_masked_scale_parallel, x.size, threads, x, h, dst, seed, offset, threshold, scale)


# The serial and parallel kernels are separate functions, not one function compiled twice: numba's
# on-disk cache is keyed by function, not by compile flags.
@numba.njit(nogil=True, cache=True)
def _masked_scale(src, dst, seed, offset, threshold, scale):
    s, base, t = np.uint64(seed), np.uint64(offset + 1), np.uint64(threshold)
    for i in range(src.size):
        dst[i] = src[i] * scale if _draw(s, base + np.uint64(i)) >= t else 0.0


@numba.njit(nogil=True, cache=True, parallel=True)
def _masked_scale_parallel(src, dst, seed, offset, threshold, scale):
    s, base, t = np.uint64(seed), np.uint64(offset + 1), np.uint64(threshold)
    for i in numba.prange(src.size):
        dst[i] = src[i] * scale if _draw(s, base + np.uint64(i)) >= t else 0.0


@numba.njit(nogil=True, cache=True)
def _add_masked_scale(x, h, dst, seed, offset, threshold, scale):
    s, base, t = np.uint64(seed), np.uint64(offset + 1), np.uint64(threshold)
    for i in range(x.size):
        dst[i] = x[i] + h[i] * scale if _draw(s, base + np.uint64(i)) >= t else x[i]


@numba.njit(nogil=True, cache=True, parallel=True)
def _add_masked_scale_parallel(x, h, dst, seed, offset, threshold, scale):
    s, base, t = np.uint64(seed), np.uint64(offset + 1), np.uint64(threshold)
    for i in numba.prange(x.size):
        dst[i] = x[i] + h[i] * scale if _draw(s, base + np.uint64(i)) >= t else x[i]


#: Smallest array worth a parallel launch (elements). Measured on 2 cores: 1M-element calls
#: gain, 262k-element calls (one attention head at batch 256) do not.
PARALLEL_MIN = 500_000

_parallel = None  # whether parallel kernels may run: None until first asked


def _launch(serial, parallel, size, threads, *args):
    if threads > 1 and size >= PARALLEL_MIN and _parallel_allowed():
        previous = numba.get_num_threads()  # a per-thread setting: leave it as found
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        try:
            parallel(*args)
        finally:
            numba.set_num_threads(previous)
        _check_threading_layer()
    else:
        serial(*args)


def _parallel_allowed() -> bool:
    """Whether numba can run the parallel kernels from any thread.

    Only the "tbb" and "omp" threading layers are thread-safe ("workqueue" aborts the process
    on concurrent launches), so the parallel kernels run only where one of them can load.
    """
    global _parallel
    if _parallel is None:
        wanted = numba.config.THREADING_LAYER
        pools = {"default": ("tbbpool", "omppool"), "threadsafe": ("tbbpool", "omppool"),
                 "safe": ("tbbpool",), "tbb": ("tbbpool",), "omp": ("omppool",)}.get(wanted, ())
        _parallel = any(importlib.util.find_spec(f"numba.np.ufunc.{pool}") is not None for pool in pools)
    return _parallel


def _check_threading_layer():
    """After the first parallel launch: keep launching only if numba picked a thread-safe layer."""
    global _parallel
    if numba.threading_layer() not in ("tbb", "omp"):
        _parallel = False


def _forbid_parallel_in_child():
    # numba terminates a forked child that launches GNU OpenMP work its parent started.
    global _parallel
    _parallel = False


os.register_at_fork(after_in_child=_forbid_parallel_in_child)


@numba.njit(nogil=True, cache=True)
def keep_mask(n, seed, offset, threshold):
    """The boolean keep mask of ``n`` elements that the two kernels above apply (for tests)."""
    s, base, t = np.uint64(seed), np.uint64(offset + 1), np.uint64(threshold)
    mask = np.empty(n, dtype=np.bool_)
    for i in range(n):
        mask[i] = _draw(s, base + np.uint64(i)) >= t
    return mask
