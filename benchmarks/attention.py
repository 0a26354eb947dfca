"""Benchmark: fused Triton attention (neuroaffect.kernels) vs PyTorch SDPA vs the bandwidth floor.

Usage (needs a CUDA GPU; without one it says so and exits with status 0)::

    python benchmarks/attention.py            # full grid (several minutes on an H100)
    python benchmarks/attention.py --quick    # a small subset
    python benchmarks/attention.py --tune     # also sweep launch configurations
    python benchmarks/attention.py --csv results.csv
    python benchmarks/attention.py --compile-report   # no GPU needed: registers, spills per shape
    python benchmarks/attention.py --host-overhead    # host time per call (kernel stubbed on CPU)
    python benchmarks/attention.py --dry-run          # no GPU needed: exercises the code paths

Method (see the workplace's METHOD.md): every shape is first checked against a float64 reference
on a slice of the batch; inputs are fresh random numbers (never zeros); each measurement is the
median of CUDA-event-timed runs after a warm-up, with the L2 cache flushed before every run (a
write of twice the L2 size), and the same kernel is timed twice to show the noise. The kernel is
timed a third way, as replays of a CUDA graph that captured the call ("graph"): that is the
device time without the host's launch gaps, which the bandwidth-floor fraction is taken from
(eager calls pay the host's dispatch as well; ``--host-overhead`` measures it). The floor is
the fewest bytes the op must move over the bandwidth of a large device-to-device copy measured
on the machine (bytes read + bytes written):

* forward: read Q, K, V, write O: 4 N bytes, N = batch * seq * heads * head_dim * itemsize;
* backward: read Q, K, V, dO, write dQ, dK, dV: 7 N (O is not needed, the kernel doesn't read it);
* forward + backward: 11 N (the backward cannot start before dO exists, so the passes add up).

A shape whose forward + backward would need more than 80 % of the device's memory gets only its
forward row; one whose forward does not fit either is skipped, with the reason in the table.

SDPA gets (batch, heads, seq, head_dim) views of the packed tensor, as in the models' fallback;
its gradient is taken w.r.t. the packed tensor too (what the model pays), while its forward is
timed without the transpose copy that the model then makes (in SDPA's favour).

Targets printed next to the numbers: forward >= 85 % of the floor; forward + backward >= 2x the
best SDPA backend for seq <= 62 (eager calls on both sides: what a model pays); a transformer
training step >= 1.5x faster with the kernel.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

FULL = dict(batch=(4096, 16384, 70000), heads=(6, 8), seq=(14, 32, 62), head_dim=(32, 64),
            dtype=("bf16", "fp32"))
QUICK = dict(batch=(16384,), heads=(8,), seq=(14, 62), head_dim=(32, 64), dtype=("bf16",))
DRY_RUN = dict(batch=(3,), heads=(2,), seq=(14,), head_dim=(16,), dtype=("fp32",))
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
MODES = ("fwd", "fwd+bwd")
TARGET_FLOOR_FRACTION = 0.85
TARGET_FWD_BWD_SPEEDUP = 2.0
TARGET_TRAIN_SPEEDUP = 1.5
MEMORY_FRACTION = 0.8  # of the device's memory, at most, for one shape's tensors


def attention_bytes(batch: int, seq: int, heads: int, head_dim: int, itemsize: int, mode: str) -> int:
    """Fewest bytes attention must move through device memory (see the module docstring)."""
    n = batch * seq * heads * head_dim * itemsize
    per_mode = {"fwd": 4, "bwd": 7, "fwd+bwd": 11}
    if mode not in per_mode:
        raise ValueError(f"mode must be one of {sorted(per_mode)}; got {mode!r}")
    return per_mode[mode] * n


def footprint_bytes(batch: int, seq: int, heads: int, head_dim: int, itemsize: int, mode: str) -> int:
    """Device memory the kernel's run needs: qkv + out (+ dO + dqkv for the backward)."""
    n = batch * seq * heads * head_dim * itemsize
    return (4 if mode == "fwd" else 8) * n


def floor_ms(n_bytes: int, bandwidth: float) -> float:
    """Time (ms) to move ``n_bytes`` at ``bandwidth`` bytes/s."""
    return n_bytes / bandwidth * 1e3


def format_ms(t: float | None) -> str:
    return "n/a" if t is None or not math.isfinite(t) else f"{t:.3f}"


# --------------------------------------------------------------------------------------------
# timing


class Timer:
    """Median of CUDA-event-timed runs, L2 flushed before each run.

    On a CPU device (``--dry-run``, which only exercises this script's code paths) it falls
    back to a wall clock and takes few runs: those numbers mean nothing.
    """

    def __init__(self, device: str = "cuda", min_runs: int = 10, budget_ms: float = 200.0,
                 warmup: int = 3):
        self.cuda = device == "cuda"
        if self.cuda:
            props = torch.cuda.get_device_properties(0)
            l2 = getattr(props, "L2_cache_size", 50 * 2**20) or 50 * 2**20
            self.flush_buffer = torch.empty(2 * l2 // 4, dtype=torch.int32, device="cuda")
        else:
            min_runs, warmup = 1, 0
        self.min_runs, self.budget_ms, self.warmup = min_runs, budget_ms, warmup

    def _wall(self, fn: Callable[[], object]) -> float:
        start = time.perf_counter()
        fn()
        return (time.perf_counter() - start) * 1e3

    def __call__(self, fn: Callable[[], object]) -> float:
        if not self.cuda:
            return statistics.median(self._wall(fn) for _ in range(self.min_runs))
        for _ in range(self.warmup):
            fn()
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        estimate = max(start.elapsed_time(end), 1e-3)
        n_runs = int(min(200, max(self.min_runs, self.budget_ms / estimate)))
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                  for _ in range(n_runs)]
        for s, e in events:
            self.flush_buffer.zero_()
            s.record()
            fn()
            e.record()
        torch.cuda.synchronize()
        return statistics.median(s.elapsed_time(e) for s, e in events)


def copy_bandwidth(timer: Timer, n_bytes: int = 2 * 2**30, device: str = "cuda") -> float:
    """Bytes/s of a device-to-device copy, counting bytes read plus bytes written."""
    src = torch.randn(n_bytes // 4, device=device)
    dst = torch.empty_like(src)
    ms = timer(lambda: dst.copy_(src))
    return 2 * n_bytes / (ms * 1e-3)


def graph_replay(fn: Callable[[], object]) -> Callable[[], None]:
    """``fn`` captured once in a CUDA graph (after a warm-up on a side stream); returns its replay."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return graph.replay


# --------------------------------------------------------------------------------------------
# the contenders


def sdpa_backends() -> dict[str, object]:
    from torch.nn.attention import SDPBackend

    names = {"flash": "FLASH_ATTENTION", "efficient": "EFFICIENT_ATTENTION",
             "cudnn": "CUDNN_ATTENTION", "math": "MATH"}
    return {short: getattr(SDPBackend, long) for short, long in names.items() if hasattr(SDPBackend, long)}


def make_sdpa(qkv: torch.Tensor, dout: torch.Tensor, mode: str) -> Callable[[], object]:
    """SDPA on views of the packed tensor; call it inside ``sdpa_kernel([backend])``."""
    import torch.nn.functional as F

    dout_bhsd = dout.transpose(1, 2)  # gradient of the (B, H, S, D) output

    def run():
        q, k, v = (t.transpose(1, 2) for t in qkv.unbind(2))
        out = F.scaled_dot_product_attention(q, k, v)
        if mode == "fwd+bwd":
            torch.autograd.grad(out, qkv, dout_bhsd)
        return out

    return run


def make_kernel(qkv: torch.Tensor, dout: torch.Tensor, mode: str) -> Callable[[], object]:
    from neuroaffect.kernels import fused_attention

    def run():
        out, _ = fused_attention(qkv)
        if mode == "fwd+bwd":
            torch.autograd.grad(out, qkv, dout)
        return out

    return run


def check_kernel(qkv: torch.Tensor, dout: torch.Tensor, n_check: int = 64) -> tuple[float, float]:
    """Relative L2 errors (out, dqkv) of the kernel vs float64 on the first ``n_check`` windows."""
    from neuroaffect.kernels import fused_attention

    x = qkv[:n_check].detach().clone().requires_grad_()
    out, _ = fused_attention(x)
    (dx,) = torch.autograd.grad(out, x, dout[:n_check])
    x64 = x.detach().double().requires_grad_()
    q, k, v = (t.transpose(1, 2) for t in x64.unbind(2))
    w = torch.softmax(q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5, dim=-1)
    ref = (w @ v).transpose(1, 2)
    (dref,) = torch.autograd.grad(ref, x64, dout[:n_check].double())

    def err(a, b):
        return ((a.double() - b).norm() / b.norm()).item()

    return err(out, ref), err(dx, dref)


# --------------------------------------------------------------------------------------------
# the attention table


@dataclass
class Row:
    dtype: str
    mode: str
    batch: int
    heads: int
    seq: int
    head_dim: int
    floor: float
    kernel: float | None = None
    kernel_again: float | None = None
    graph: float | None = None
    error: str = ""
    sdpa: dict[str, float | None] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def floor_fraction(self) -> float | None:
        """Floor over the kernel's device time: graph replays where they ran, else eager calls."""
        device_time = self.graph or self.kernel
        return self.floor / device_time if device_time else None

    @property
    def best_sdpa(self) -> tuple[str, float] | None:
        timed = [(t, name) for name, t in self.sdpa.items() if t is not None]
        return (min(timed)[1], min(timed)[0]) if timed else None

    @property
    def speedup(self) -> float | None:
        best = self.best_sdpa
        return best[1] / self.kernel if best and self.kernel else None

    def target(self) -> str:
        if self.kernel is None:
            return "-"
        if self.mode == "fwd":
            return "ok" if self.floor_fraction >= TARGET_FLOOR_FRACTION else "MISS"
        if self.seq <= 62 and self.speedup is not None:
            return "ok" if self.speedup >= TARGET_FWD_BWD_SPEEDUP else "MISS"
        return "-"


def short_reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    first = next((line for line in text if line.strip()), type(error).__name__)
    return f"{type(error).__name__}: {first[:160]}"


def _empty_cache() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def run_grid(grid: dict, timer: Timer, bandwidth: float, backends: dict, device: str = "cuda") -> list[Row]:
    total_memory = torch.cuda.get_device_properties(0).total_memory if device == "cuda" else 2**34
    rows = []
    shapes = [(d, b, h, s, hd) for d in grid["dtype"] for b in grid["batch"] for h in grid["heads"]
              for s in grid["seq"] for hd in grid["head_dim"]]
    for i, (dname, B, H, S, D) in enumerate(shapes):
        dtype = DTYPES[dname]
        itemsize = torch.empty((), dtype=dtype).element_size()
        print(f"[{i + 1}/{len(shapes)}] {dname} B={B} H={H} S={S} D={D}", file=sys.stderr, flush=True)
        this = []  # the rows of this shape that fit in memory
        for mode in MODES:
            row = Row(dname, mode, B, H, S, D, floor_ms(attention_bytes(B, S, H, D, itemsize, mode), bandwidth))
            need = footprint_bytes(B, S, H, D, itemsize, mode)
            if need > MEMORY_FRACTION * total_memory:
                row.error = f"skipped: needs {need / 2**30:.0f} GiB of {total_memory / 2**30:.0f}"
            rows.append(row)
            this.append(row)
        this = [row for row in this if not row.error]
        if not this:
            continue
        try:
            time_shape(this, timer, backends, device)
        finally:
            _empty_cache()
    return rows


def time_shape(rows: list[Row], timer: Timer, backends: dict, device: str) -> None:
    """Check the kernel at one shape, then time it and every SDPA backend for each of ``rows``."""
    from torch.nn.attention import sdpa_kernel

    r = rows[0]
    dtype = DTYPES[r.dtype]
    backward = any(row.mode != "fwd" for row in rows)
    try:
        qkv = torch.randn(r.batch, r.seq, 3, r.heads, r.head_dim, device=device, dtype=dtype)
        qkv.requires_grad_()
        dout = torch.randn(r.batch if backward else min(r.batch, 64), r.seq, r.heads, r.head_dim,
                           device=device, dtype=dtype)
        err_out, err_grad = check_kernel(qkv, dout)
    except Exception as error:  # a failure here is a bug to report, not a reason to stop
        for row in rows:
            row.error = short_reason(error)
        return
    tolerance = 1e-3 if dtype == torch.float32 else 2e-2
    if not (err_out < tolerance and err_grad < tolerance):
        for row in rows:
            row.error = f"WRONG: rel. error out {err_out:.1e}, dqkv {err_grad:.1e}"
        return
    for row in rows:
            row.notes["check"] = f"err {err_out:.0e}/{err_grad:.0e}"
            try:
                row.kernel = timer(make_kernel(qkv, dout, row.mode))
                row.kernel_again = timer(make_kernel(qkv, dout, row.mode))
            except Exception as error:
                row.error = short_reason(error)
            if device == "cuda" and not row.error:
                try:
                    row.graph = timer(graph_replay(make_kernel(qkv, dout, row.mode)))
                except Exception as error:  # a capture failure is reported, not fatal
                    row.notes["graph"] = short_reason(error)
                    _empty_cache()
            for name, backend in backends.items():
                try:
                    with sdpa_kernel([backend]):
                        row.sdpa[name] = timer(make_sdpa(qkv, dout, row.mode))
                except Exception as error:  # unsupported shape/dtype, grid limits, out of memory
                    row.sdpa[name] = None
                    row.notes[name] = short_reason(error)
                    _empty_cache()


def print_table(rows: list[Row], backends: dict, bandwidth: float) -> None:
    names = list(backends)
    head = (f"{'dtype':5} {'mode':7} {'batch':>6} {'H':>2} {'S':>3} {'D':>3} {'floor':>7} "
            f"{'kernel':>7} {'again':>7} {'graph':>7} {'%floor':>6} "
            + " ".join(f"{n:>9}" for n in names) + f" {'best':>9} {'speedup':>7} target")
    print(f"\nTimes in ms (median, L2 flushed); floor = bytes / {bandwidth / 1e12:.2f} TB/s "
          "(device-to-device copy, read + write); kernel and again: eager calls; graph: CUDA-graph "
          "replays (%floor uses them where they ran); SDPA: eager")
    print(f"targets: fwd >= {TARGET_FLOOR_FRACTION:.0%} of floor; fwd+bwd >= "
          f"{TARGET_FWD_BWD_SPEEDUP:.1f}x the best SDPA backend at S <= 62")
    print(head)
    print("-" * len(head))
    reasons: dict[str, int] = {}
    for r in rows:
        if r.error:
            print(f"{r.dtype:5} {r.mode:7} {r.batch:>6} {r.heads:>2} {r.seq:>3} {r.head_dim:>3} "
                  f"{r.floor:7.3f}  {r.error}")
            continue
        if r.graph is None and "graph" in r.notes:
            ref = reasons.setdefault(r.notes["graph"], len(reasons) + 1)
            graph_cell = f"{'n/a[' + str(ref) + ']':>7}"
        else:
            graph_cell = f"{format_ms(r.graph):>7}"
        cells = []
        for n in names:
            if r.sdpa.get(n) is None:
                ref = reasons.setdefault(r.notes.get(n, "not run"), len(reasons) + 1)
                cells.append(f"{'n/a[' + str(ref) + ']':>9}")
            else:
                cells.append(f"{r.sdpa[n]:9.3f}")
        best = r.best_sdpa
        frac = r.floor_fraction
        print(f"{r.dtype:5} {r.mode:7} {r.batch:>6} {r.heads:>2} {r.seq:>3} {r.head_dim:>3} "
              f"{r.floor:7.3f} {format_ms(r.kernel):>7} {format_ms(r.kernel_again):>7} "
              f"{graph_cell} "
              f"{(f'{frac:.0%}' if frac else 'n/a'):>6} " + " ".join(cells)
              + f" {(best[0] if best else 'n/a'):>9} "
              + f"{(f'{r.speedup:.2f}x' if r.speedup else 'n/a'):>7} {r.target()}")
    for reason, ref in reasons.items():
        print(f"  [{ref}] {reason}")


def write_csv(path: str, rows: list[Row], backends: dict) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["dtype", "mode", "batch", "heads", "seq", "head_dim", "floor_ms", "kernel_ms",
                    "kernel_again_ms", "graph_ms", *[f"{n}_ms" for n in backends], "error", "notes"])
        for r in rows:
            w.writerow([r.dtype, r.mode, r.batch, r.heads, r.seq, r.head_dim, r.floor, r.kernel,
                        r.kernel_again, r.graph, *[r.sdpa.get(n) for n in backends], r.error,
                        "; ".join(f"{k}: {v}" for k, v in r.notes.items())])


# --------------------------------------------------------------------------------------------
# launch-configuration sweep


def tune(timer: Timer, shapes, dtype=torch.bfloat16, device: str = "cuda") -> None:
    from neuroaffect.kernels import _triton_attention as ta

    print("\nLaunch-configuration sweep (ms; default marked *)")
    for B, H, S, D in shapes:
        qkv = torch.randn(B, S, 3, H, D, device=device, dtype=dtype)
        dout = torch.randn(B, S, H, D, device=device, dtype=dtype)
        scale = D**-0.5
        _, lse, _ = ta.attention_forward(qkv, scale)
        n_pairs = B * H
        for backward in (False, True):
            default = ta.default_config(S, D, n_pairs, qkv.element_size(), backward=backward)
            results = []
            for pairs in (1, 2, 4, 8):
                for warps in (2, 4, 8):
                    for stages in (1, 2, 3):
                        cfg = ta.LaunchConfig(pairs, warps, stages)
                        if backward:
                            def fn(cfg=cfg, qkv=qkv, dout=dout, lse=lse, scale=scale):
                                return ta.attention_backward(dout, qkv, lse, scale, config=cfg)
                        else:
                            def fn(cfg=cfg, qkv=qkv, scale=scale):
                                return ta.attention_forward(qkv, scale, config=cfg)
                        try:
                            results.append((timer(fn), cfg))
                        except Exception as error:
                            print(f"  {cfg}: {short_reason(error)}")
            results.sort(key=lambda x: x[0])
            d_time = next((t for t, c in results if c == default), None)
            label = "bwd" if backward else "fwd"
            best = ", ".join(f"{t:.3f} {c.pairs}p/{c.num_warps}w/{c.num_stages}s"
                             + ("*" if c == default else "") for t, c in results[:4])
            print(f"  {label} B={B} H={H} S={S} D={D}: default {format_ms(d_time)}; best {best}")
        qkv = dout = lse = None
        _empty_cache()


# --------------------------------------------------------------------------------------------
# compile report (no GPU needed)

_CONSTEXPRS = ("BLOCK_S", "BLOCK_D", "PAIRS", "WRITE_W", "DROPOUT", "PRECISION", "HAS_DW")


def compile_report(dtype: str, seq: int, head_dim: int, mode: str, config=None, arch: int = 90,
                   dropout: bool = False) -> dict:
    """Compile the forward or backward kernel for ``sm_<arch>`` without a GPU and read ptxas' report.

    Pointers and strides are declared 16-divisible, as Triton's launcher specialises them for
    the usual packed projection. Returns shared memory (bytes), registers, spill-store bytes and
    the global-load instructions used.
    """
    import re
    import subprocess
    import tempfile

    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from neuroaffect.kernels import _triton_attention as ta

    itemsize = 4 if dtype == "fp32" else 2
    backward = mode == "bwd"
    cfg = config or ta.default_config(seq, head_dim, 16384 * 8, itemsize, backward=backward)
    kernel = ta._bwd_kernel if backward else ta._fwd_kernel
    flags = dict(HAS_DW=False) if backward else dict(WRITE_W=False)
    flags["DROPOUT"] = dropout
    signature, attrs = {}, {}
    for i, name in enumerate(kernel.arg_names):
        if name == "seed_ptr":
            signature[name] = "*i64"
        elif name.endswith("_ptr"):
            fp32 = name == "lse_ptr" or (name == "dw_ptr" and not flags.get("HAS_DW"))
            signature[name] = "*fp32" if fp32 else f"*{dtype}"
            attrs[(i,)] = [["tt.divisibility", 16]]
        elif name in ("qk_scale", "scale", "dropout_p"):
            signature[name] = "fp32"
        elif name == "seed":
            signature[name] = "i64"
        elif name in _CONSTEXPRS:
            signature[name] = "constexpr"
        else:
            signature[name] = "i32"
            if name.startswith("s_") or (name == "D" and head_dim % 16 == 0):
                attrs[(i,)] = [["tt.divisibility", 16]]
    constexprs = dict(BLOCK_S=ta.padded(seq), BLOCK_D=ta.padded(head_dim), PAIRS=cfg.pairs,
                      PRECISION="ieee" if dtype == "fp32" else None, **flags)
    source = ASTSource(fn=kernel, signature=signature, constexprs=constexprs, attrs=attrs)
    compiled = triton.compile(source, target=GPUTarget("cuda", arch, 32),
                              options=dict(num_warps=cfg.num_warps, num_stages=cfg.num_stages))
    ptx = compiled.asm["ptx"]
    # The ptxas Triton itself uses for this arch (Triton 3.9 ships two; the older one refuses the
    # newer PTX that Triton writes).
    from triton.backends.nvidia.compiler import get_ptxas

    ptxas = get_ptxas(arch).path
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "k.ptx"), "w") as f:
            f.write(ptx)
        gpu = f"sm_{arch}a" if arch >= 90 else f"sm_{arch}"
        result = subprocess.run([ptxas, "-v", "--gpu-name", gpu, os.path.join(tmp, "k.ptx"),
                                 "-o", os.path.join(tmp, "k.cubin")], capture_output=True, text=True,
                                check=True)
    regs = re.search(r"Used (\d+) registers", result.stderr)
    spill = re.search(r"(\d+) bytes spill stores", result.stderr)
    return dict(config=cfg, shared=compiled.metadata.shared,
                registers=int(regs.group(1)) if regs else None,
                spill_stores=int(spill.group(1)) if spill else None,
                loads=sorted(set(re.findall(r"(ld\.global[.\w]*|cp\.async\.c[ag][.\w]*)", ptx))),
                matrix="wgmma" if "wgmma" in ptx else "mma.sync" if "mma.sync" in ptx else "fma")


def print_compile_report(shapes) -> None:
    print("ptxas report for sm_90a (default launch configurations)")
    for dtype, seq, head_dim in shapes:
        for mode in ("fwd", "bwd"):
            try:
                r = compile_report(dtype, seq, head_dim, mode)
                c = r["config"]
                print(f"  {dtype} S={seq:3} D={head_dim:3} {mode}: {c.pairs} pairs/{c.num_warps} warps/"
                      f"{c.num_stages} stages; {r['registers']} registers, {r['spill_stores']} B spilled, "
                      f"{r['shared']} B shared, {r['matrix']}, {' '.join(r['loads'])}", flush=True)
            except Exception as error:
                print(f"  {dtype} S={seq} D={head_dim} {mode}: {short_reason(error)}", flush=True)


# --------------------------------------------------------------------------------------------
# host overhead per call


def per_call_us(fn: Callable[[], object], device: str, n_calls: int = 1000, repeats: int = 5) -> float:
    """Median host microseconds per call of ``fn`` issued back to back (synchronised at the ends)."""
    for _ in range(50):
        fn()
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(n_calls):
            fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) / n_calls * 1e6)
    return statistics.median(times)


def host_overhead(device: str, n_calls: int = 1000) -> None:
    """Host time per call of the fused attention's Python path: eager function vs custom op.

    On a GPU: real launches on a tiny batch (the device finishes each sooner than the host issues
    the next, so the wall time per call is the host's). Without one: CPU tensors with the kernel
    launches stubbed out, so the numbers leave out Triton's own launch and count the rest.
    """
    import torch.nn.functional as F

    import neuroaffect.kernels as kernels
    from neuroaffect.kernels import _ops
    from neuroaffect.kernels import _triton_attention as ta

    stubbed = device != "cuda"
    launch = ta._launch
    if stubbed:
        ta._launch = lambda *args, **kwargs: None
    try:
        B, S, H, D = 4, 14, 2, 16
        qkv = torch.randn(B, S, 3, H, D, device=device).requires_grad_()
        dout = torch.randn(B, S, H, D, device=device)
        seed = _ops.no_seed(qkv.device)
        contenders = {
            "fused_attention (eager: autograd.Function)": lambda: kernels.fused_attention(qkv)[0],
            "custom op (what torch.compile calls)":
                lambda: _ops.attention_fwd(qkv, D**-0.5, False, 0.0, seed)[0],
        }
        if not stubbed:
            def sdpa():
                q, k, v = (t.transpose(1, 2) for t in qkv.unbind(2))
                return F.scaled_dot_product_attention(q, k, v).transpose(1, 2)

            contenders["SDPA (default backend)"] = sdpa
        print(f"\nHost time per call (us, median of 5 x {n_calls} calls; batch {B}, {S} tokens, "
              f"{H} heads x {D}; {'CPU tensors, kernel launches stubbed out' if stubbed else 'GPU'})")
        print(f"  {'path':44} {'fwd':>7} {'fwd+bwd':>8}")
        for name, fn in contenders.items():
            fwd = per_call_us(fn, device, n_calls)
            both = per_call_us(lambda fn=fn: torch.autograd.grad(fn(), qkv, dout), device, n_calls)
            print(f"  {name:44} {fwd:7.1f} {both:8.1f}")
        if not stubbed:
            print(f"  {'supports() (the dispatcher asks first)':44} "
                  f"{per_call_us(lambda: kernels.supports(qkv), device, n_calls):7.1f}")
    finally:
        ta._launch = launch


# --------------------------------------------------------------------------------------------
# the transformer's training step


def make_step(model, opt, x, y, amp: bool) -> Callable[[], None]:
    import torch.nn.functional as F

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    return step


def training_step(timer: Timer, batch: int = 4096, n_electrodes: int = 32, device: str = "cuda",
                  configs=("reference", "default"), amps=(False, True)) -> None:
    import importlib

    try:
        # import_module: `neuroaffect.models.attention` the module, not the function that
        # neuroaffect.models re-exports under the same name
        dispatch = importlib.import_module("neuroaffect.models.attention")
        tr = importlib.import_module("neuroaffect.models.transformer")
    except ImportError as error:
        print(f"\ntraining step: skipped ({error})")
        return
    import neuroaffect.kernels as kernels

    print(f"\nTraining step (batch {batch}, {n_electrodes} electrodes, AdamW; ms, median); "
          f"target: kernel >= {TARGET_TRAIN_SPEEDUP:.1f}x faster than SDPA")
    calls: list[dict] = []
    original = kernels.fused_attention

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    for config in configs:
        cfg = tr.make_config(config, n_bands=5, n_outputs=2, n_chans=n_electrodes)
        positions = torch.randn(n_electrodes, 3) * 0.09
        for amp in amps:
            torch.manual_seed(0)
            model = tr.ElectrodeAttentionTransformer(cfg, positions=positions).to(device).train()
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
            x = torch.randn(batch, n_electrodes, 5, device=device)
            y = torch.randint(0, 2, (batch,), device=device)

            step = make_step(model, opt, x, y, amp)
            times, used = {}, False
            for use_kernel in (True, False):
                dispatch.use_fused_kernel(use_kernel)
                kernels.fused_attention = counting
                calls.clear()
                try:
                    times[use_kernel] = timer(step)
                except Exception as error:
                    times[use_kernel] = None
                    print(f"  {config} amp={amp} kernel={use_kernel}: {short_reason(error)}")
                finally:
                    kernels.fused_attention = original
                if use_kernel:
                    used = len(calls) > 0
                elif calls:
                    print("  WARNING: the kernel was called with the dispatch switched to SDPA")
                    times[use_kernel] = None
                if use_kernel and used and cfg.dropout > 0 and "dropout_p" not in calls[0]:
                    print("  WARNING: the dispatcher does not pass dropout_p to fused_attention: "
                          "the kernel's step runs WITHOUT attention dropout")
            dispatch.use_fused_kernel(True)
            k, s = times.get(True), times.get(False)
            ratio = f"{s / k:.2f}x" if k and s else "n/a"
            verdict = "-" if not (k and s) else ("ok" if s / k >= TARGET_TRAIN_SPEEDUP else "MISS")
            if not used:
                ratio, verdict = "n/a", "(the dispatcher never called the kernel)"
            print(f"  {config:9} ({cfg.n_heads} heads x {cfg.head_dim}, depth {cfg.depth}) "
                  f"{'bf16 autocast' if amp else 'fp32':13}: kernel {format_ms(k)}  sdpa {format_ms(s)}  "
                  f"speedup {ratio} {verdict}")
            model = opt = step = None


# --------------------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small subset of shapes")
    parser.add_argument("--tune", action="store_true", help="sweep launch configurations too")
    parser.add_argument("--dry-run", action="store_true",
                        help="run every code path on the CPU under Triton's interpreter with tiny "
                        "shapes (no GPU needed; the timings mean nothing)")
    parser.add_argument("--no-train", action="store_true", help="skip the training-step benchmark")
    parser.add_argument("--compile-report", action="store_true",
                        help="only compile the kernels for sm_90a and print ptxas' register/spill "
                        "report (needs no GPU)")
    parser.add_argument("--host-overhead", action="store_true",
                        help="only time the host side of a call, eager function vs custom op (on the "
                        "CPU without a GPU, with the kernel launches stubbed out)")
    parser.add_argument("--no-grid", action="store_true", help="skip the attention table")
    parser.add_argument("--dtypes", nargs="+", choices=sorted(DTYPES), help="only these dtypes")
    parser.add_argument("--batches", nargs="+", type=int, help="only these batch sizes")
    parser.add_argument("--csv", help="also write the table to this CSV file")
    parser.add_argument("--budget-ms", type=float, default=200.0,
                        help="time spent per measurement (at least 10 runs)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.compile_report:
        print_compile_report([(d, s, hd) for d in ("bf16", "fp32") for s in (14, 32, 62)
                              for hd in (32, 64)])
        return 0
    if args.host_overhead:
        gpu = torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET", "0") in ("", "0")
        if not gpu:
            os.environ["TRITON_INTERPRET"] = "1"  # lets fused_attention take CPU tensors
        host_overhead("cuda" if gpu else "cpu")
        return 0
    if args.dry_run:
        # CPU, Triton's interpreter, tiny shapes: checks this script's code paths, times nothing.
        os.environ.setdefault("TRITON_INTERPRET", "1")
        device = "cpu"
    elif not torch.cuda.is_available():
        print("benchmarks/attention.py needs a CUDA GPU; none is available here. Nothing to do.")
        return 0
    else:
        device = "cuda"
    import neuroaffect.kernels as kernels

    if not kernels._triton_available():
        print("triton is not installed: nothing to benchmark.")
        return 0
    if device == "cuda" and kernels._interpreting():
        print("TRITON_INTERPRET is set: unset it to benchmark on the GPU.")
        return 0
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        print(f"{props.name}, {props.multi_processor_count} SMs, torch {torch.__version__}")
    else:
        print("DRY RUN on the CPU with Triton's interpreter: the numbers below mean nothing.")
    timer = Timer(device, budget_ms=args.budget_ms)
    bandwidth = copy_bandwidth(timer, 2 * 2**30 if device == "cuda" else 2**24, device)
    print(f"device-to-device copy: {bandwidth / 1e12:.2f} TB/s (read + write)")
    backends = sdpa_backends()
    if args.tune:
        shapes = [(16384, 8, 14, 32), (16384, 8, 32, 64), (16384, 8, 62, 32), (16384, 8, 62, 64)]
        tune(timer, shapes if device == "cuda" else [(2, 2, 14, 16)],
             torch.bfloat16 if device == "cuda" else torch.float32, device)
    if not args.no_train:
        if device == "cuda":
            training_step(timer, 4096)
        else:
            training_step(timer, 8, device=device, configs=("default",), amps=(False,))
    if not args.no_grid:
        grid = dict(QUICK if args.quick else FULL) if device == "cuda" else dict(DRY_RUN)
        if args.dtypes:
            grid["dtype"] = tuple(args.dtypes)
        if args.batches:
            grid["batch"] = tuple(args.batches)
        rows = run_grid(grid, timer, bandwidth, backends, device)
        if args.csv:
            write_csv(args.csv, rows, backends)
        print_table(rows, backends, bandwidth)
    return 0


if __name__ == "__main__":
    sys.exit(main())
