"""The numba dropout kernels: fair, independent, repeatable masks applied exactly as documented."""

import os

import numpy as np
import pytest

cpu = pytest.importorskip("neuroaffect.kernels.cpu")


def splitmix64_high32(seed, counter):
    """SplitMix64 (Steele, Lea and Flood 2014) written out with Python integers."""
    m = 2**64 - 1
    z = (seed + counter * 0x9E3779B97F4A7C15) & m
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    return (z ^ (z >> 31)) >> 32


def test_mask_is_splitmix64_at_the_documented_counters():
    seed, offset, p = 2**62 + 12345, 1000, 0.3
    threshold = cpu.threshold(p)
    mask = cpu.keep_mask(50, seed, offset, threshold)
    expected = [splitmix64_high32(seed, offset + i + 1) >= threshold for i in range(50)]
    assert mask.tolist() == expected


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_keep_rate_and_neighbour_independence(p):
    n = 400_000
    mask = cpu.keep_mask(n, 7, 0, cpu.threshold(p)).astype(np.float64)
    sigma = (p * (1 - p) / n) ** 0.5
    assert abs(mask.mean() - (1 - p)) < 5 * sigma  # binomial, 5 standard errors
    centred = mask - (1 - p)
    for lag in (1, 2, 3, 8):  # neighbouring elements are uncorrelated
        assert abs((centred[:-lag] * centred[lag:]).mean()) < 5 * p * (1 - p) / n**0.5


def test_same_seed_same_mask_other_seed_or_offset_other_mask():
    t = cpu.threshold(0.5)
    a = cpu.keep_mask(10_000, 3, 0, t)
    np.testing.assert_array_equal(a, cpu.keep_mask(10_000, 3, 0, t))
    for other in (cpu.keep_mask(10_000, 4, 0, t), cpu.keep_mask(10_000, 3, 10_000, t)):
        assert 0.4 < (a != other).mean() < 0.6  # unrelated, not shifted copies
    # An offset continues the same stream: element i at offset k is element k + i at offset 0.
    np.testing.assert_array_equal(cpu.keep_mask(100, 3, 50, t), a[50:150])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_apply_the_mask(dtype):
    rng = np.random.default_rng(0)
    x, h = rng.standard_normal(1001).astype(dtype), rng.standard_normal(1001).astype(dtype)
    seed, offset, t, scale = 11, 5, cpu.threshold(0.25), dtype(1 / 0.75)
    keep = cpu.keep_mask(x.size, seed, offset, t)
    out = np.full_like(x, np.nan)
    cpu.masked_scale(x, out, seed, offset, t, scale)
    np.testing.assert_array_equal(out, np.where(keep, x * scale, 0))
    cpu.add_masked_scale(x, h, out, seed, offset, t, scale)
    np.testing.assert_array_equal(out, np.where(keep, x + h * scale, x))
    in_place = x.copy()
    cpu.masked_scale(in_place, in_place, seed, offset, t, scale)
    np.testing.assert_array_equal(in_place, np.where(keep, x * scale, 0))


def test_threshold_edges():
    assert cpu.threshold(0.0) == 0  # keep everything
    assert cpu.keep_mask(1000, 1, 0, cpu.threshold(0.0)).all()
    assert abs(cpu.threshold(0.1) / 2**32 - 0.1) <= 2**-33


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_parallel_kernels_equal_the_serial_ones(dtype):
    rng = np.random.default_rng(1)
    n = cpu.PARALLEL_MIN + 12_345
    x, h = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    t, scale = cpu.threshold(0.1), dtype(1 / 0.9)
    serial, parallel = np.empty_like(x), np.empty_like(x)
    cpu.masked_scale(x, serial, 5, 7, t, scale, threads=1)
    cpu.masked_scale(x, parallel, 5, 7, t, scale, threads=2)
    np.testing.assert_array_equal(parallel, serial)
    cpu.add_masked_scale(x, h, serial, 5, 7, t, scale, threads=1)
    cpu.add_masked_scale(x, h, parallel, 5, 7, t, scale, threads=2)
    np.testing.assert_array_equal(parallel, serial)


def test_parallel_only_with_a_thread_safe_threading_layer(monkeypatch):
    monkeypatch.setattr(cpu, "_parallel", None)
    monkeypatch.setattr(cpu.numba.config, "THREADING_LAYER", "workqueue")
    assert cpu._parallel_allowed() is False
    monkeypatch.setattr(cpu, "_parallel", None)
    monkeypatch.setattr(cpu.numba.config, "THREADING_LAYER", "no such layer")
    assert cpu._parallel_allowed() is False


def test_a_forked_child_runs_the_kernels_serially():
    # numba terminates a forked child that launches OpenMP work its parent used; the child must
    # fall back to the serial kernels.
    x = np.ones(cpu.PARALLEL_MIN + 1, dtype=np.float32)
    out = np.empty_like(x)
    cpu.masked_scale(x, out, 1, 0, cpu.threshold(0.5), np.float32(2), threads=2)  # parent uses the pool
    pid = os.fork()
    if pid == 0:  # child
        try:
            cpu.masked_scale(x, out, 1, 0, cpu.threshold(0.5), np.float32(2), threads=2)
            os._exit(0 if set(np.unique(out)) <= {0.0, 2.0} and cpu._parallel is False else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
