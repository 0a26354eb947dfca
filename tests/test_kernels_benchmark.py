"""CPU-side logic of benchmarks/attention.py (the GPU part cannot run here)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "attention.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_attention", PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_bytes_moved(bench):
    # the worked example of the GPU reference notes: B=20000, H=8, S=62, D=32, bf16 forward
    n_bytes = bench.attention_bytes(20000, 62, 8, 32, 2, "fwd")
    assert n_bytes == 4 * 20000 * 62 * 8 * 32 * 2
    assert abs(n_bytes / 1e9 - 2.54) < 0.01
    assert abs(bench.floor_ms(n_bytes, 3.35e12) - 0.76) < 0.01
    assert bench.attention_bytes(1, 2, 3, 4, 4, "bwd") == 7 * 24 * 4
    assert bench.attention_bytes(1, 2, 3, 4, 4, "fwd+bwd") == 11 * 24 * 4
    with pytest.raises(ValueError, match="mode"):
        bench.attention_bytes(1, 2, 3, 4, 4, "backward")


def test_row_targets(bench):
    row = bench.Row("bf16", "fwd", 4096, 8, 62, 32, floor=0.9, kernel=1.0, sdpa={"flash": 2.0, "math": None})
    assert row.floor_fraction == pytest.approx(0.9) and row.target() == "ok"
    row.kernel = 1.2
    assert row.target() == "MISS"
    row = bench.Row("bf16", "fwd+bwd", 4096, 8, 62, 32, floor=0.5, kernel=1.0,
                    sdpa={"flash": 3.0, "efficient": 2.5, "cudnn": None})
    assert row.best_sdpa == ("efficient", 2.5) and row.speedup == pytest.approx(2.5)
    assert row.target() == "ok"
    row.sdpa = {"cudnn": None}
    assert row.best_sdpa is None and row.target() == "-"


def test_exits_cleanly_without_gpu(bench, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert bench.main(["--quick"]) == 0
    assert "needs a CUDA GPU" in capsys.readouterr().out


@pytest.mark.slow
def test_kernels_compile_for_hopper():
    # ptxas accepts what Triton generates for sm_90a, with no spills at a common shape. Runs in a
    # subprocess: under TRITON_INTERPRET=1 the kernels are not compilable JIT functions.
    pytest.importorskip("triton")
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('bench_attention', {str(PATH)!r})\n"
        "m = importlib.util.module_from_spec(spec); sys.modules[spec.name] = m\n"
        "spec.loader.exec_module(m)\n"
        "for mode, dropout in (('fwd', False), ('bwd', False), ('fwd', True), ('bwd', True)):\n"
        "    r = m.compile_report('bf16', 14, 32, mode, dropout=dropout)\n"
        "    assert r['registers'] and r['spill_stores'] == 0, r\n"
        "    assert r['matrix'] in ('mma.sync', 'wgmma'), r\n"
        "    print(mode, r)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=300)


def test_dry_run_exercises_every_code_path(bench, capsys, tmp_path):
    # CPU + Triton's interpreter, tiny shapes: the correctness check, kernel and SDPA timings,
    # the launch-configuration sweep, the training step and the table all run.
    pytest.importorskip("triton")
    csv_path = tmp_path / "table.csv"
    assert bench.main(["--dry-run", "--tune", "--csv", str(csv_path)]) == 0
    out = capsys.readouterr().out
    assert "DRY RUN" in out and "Launch-configuration sweep" in out and "Training step" in out
    table = out[out.index("dtype mode"):]
    assert table.count("fp32  fwd") == 2 and "WRONG" not in table and "Error" not in table.split("[1]")[0]
    assert "never called the kernel" in out  # on CPU the models use SDPA
    lines = csv_path.read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith("dtype,mode,batch")


def test_host_overhead_without_gpu(bench, capsys):
    # the kernel launches are stubbed out on the CPU, and restored afterwards
    pytest.importorskip("triton")
    from neuroaffect.kernels import _triton_attention as ta

    launch = ta._launch
    bench.host_overhead("cpu", n_calls=20)
    assert ta._launch is launch
    out = capsys.readouterr().out
    assert "launches stubbed out" in out
    rows = [line for line in out.splitlines() if "autograd.Function" in line or "custom op" in line]
    assert len(rows) == 2
    for line in rows:
        fwd, both = (float(x) for x in line.split()[-2:])
        assert 0 < fwd < both


def test_table_uses_graph_replays_for_the_floor(bench, capsys):
    backends = {"flash": None, "math": None}
    graphed = bench.Row("bf16", "fwd", 4096, 8, 14, 32, floor=0.9, kernel=1.5, graph=1.0,
                        sdpa={"flash": 2.0, "math": 3.0})
    assert graphed.floor_fraction == pytest.approx(0.9) and graphed.target() == "ok"
    assert graphed.speedup == pytest.approx(2.0 / 1.5)  # eager against eager
    failed = bench.Row("bf16", "fwd", 4096, 8, 32, 32, floor=0.9, kernel=1.5,
                       sdpa={"flash": 2.0, "math": None},
                       notes={"graph": "RuntimeError: capture failed", "math": "OutOfMemoryError: x"})
    assert failed.floor_fraction == pytest.approx(0.6) and failed.target() == "MISS"
    skipped = bench.Row("fp32", "fwd+bwd", 70000, 8, 62, 64, floor=9.0, error="skipped: needs 66 GiB of 79")
    bench.print_table([graphed, failed, skipped], backends, 3e12)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "graph" in next(line for line in lines if line.startswith("dtype"))
    first, second = (line for line in lines if line.startswith("bf16"))
    assert "1.000" in first and "90%" in first
    row = second
    assert "n/a[1]" in row and "n/a[2]" in row and "60%" in row
    assert "[1] RuntimeError: capture failed" in out and "[2] OutOfMemoryError: x" in out
    assert "skipped: needs 66 GiB of 79" in out


def test_memory_limit_is_per_mode(bench, monkeypatch):
    # a shape whose forward fits but whose forward + backward does not gets its forward row only
    timed = []
    monkeypatch.setattr(bench, "time_shape", lambda rows, *args: timed.append([r.mode for r in rows]))
    B, S, H, D = 1000, 62, 8, 64
    n = B * S * H * D * 4
    monkeypatch.setattr(bench, "MEMORY_FRACTION", 1.0)
    monkeypatch.setattr(torch.cuda, "get_device_properties",
                        lambda i: type("P", (), {"total_memory": 6 * n})())
    grid = dict(batch=(B,), heads=(H,), seq=(S,), head_dim=(D,), dtype=("fp32",))
    rows = bench.run_grid(grid, timer=None, bandwidth=3e12, backends={}, device="cuda")
    assert timed == [["fwd"]]
    assert [r.mode for r in rows] == ["fwd", "fwd+bwd"]
    assert rows[0].error == "" and rows[1].error.startswith("skipped: needs")
