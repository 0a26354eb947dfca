"""Training and inference throughput of the electrode-attention transformer on CPU.

Compares the package's reference configuration (packed bias-free q/k/v projection, attention through
``neuroaffect.models.attention``: on CPU head by head through strided views, with a hand-written
backward in training; dropout through ``neuroaffect.models.dropout``: seeded, mask-free numba
kernels on all threads, the residual additions fused with their dropout) with a plain PyTorch implementation of
the same architecture written here (separate q/k/v projections, explicit matmul-softmax-matmul
attention with head transposes, ``nn.Dropout``), and the package's model under bfloat16 autocast
(``autocast_dtype=torch.bfloat16``; other numerics, so reported apart), optionally also
``torch.compile``-d.

Training step = forward + cross-entropy + backward + AdamW step, batch 256, 32 electrodes, 4 bands,
2 classes, dropout 0.1 (training mode). Inference = forward in eval mode under ``torch.no_grad``.
Variants run interleaved (round-robin, ``--repeats`` rounds): the table gives median throughputs
and, as "x plain", the median and quartiles of the per-round ratios to the plain model, which
cancel most of the drift of a shared machine.

Usage::

    python benchmarks/model.py [--threads 2] [--repeats 7] [--steps 10] [--compile] [--cpu-time]

``--cpu-time`` times with the process's CPU time instead of the wall clock: on a shared machine and
with ``--threads 1`` it measures the work done, not the waiting (with more threads it also counts
OpenMP spinning, so keep it for one thread).

Measured on the shared 2-core development machine (fp32, ``--no-bf16``, 21 to 41 rounds of 3 steps,
four runs): training 1.56-1.67x the plain model (quartiles of the per-round ratio 1.45-1.76),
inference 1.02-1.07x; see benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from neuroaffect.models.transformer import (
    ElectrodeAttentionTransformer,
    count_parameters,
    make_config,
)

BATCH, N_ELECTRODES, N_BANDS, N_CLASSES = 256, 32, 4, 2


class PlainAttention(nn.Module):
    def __init__(self, dim=128, heads=6, head_dim=32, dropout=0.1):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        inner = heads * head_dim
        self.q = nn.Linear(dim, inner, bias=False)
        self.k = nn.Linear(dim, inner, bias=False)
        self.v = nn.Linear(dim, inner, bias=False)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(inner, dim)
        self.out_drop = nn.Dropout(dropout)

    def split(self, t):  # (B, S, H*D) -> (B, H, S, D)
        b, s, _ = t.shape
        return t.view(b, s, self.heads, self.head_dim).transpose(1, 2).contiguous()

    def forward(self, x):
        q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
        weights = self.drop(torch.softmax(q @ k.transpose(-1, -2) * self.head_dim**-0.5, dim=-1))
        out = (weights @ v).transpose(1, 2).contiguous().view(x.shape[0], x.shape[1], -1)
        return self.out_drop(self.out(out))


class PlainBlock(nn.Module):
    def __init__(self, dim=128, ffn=128, dropout=0.1):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), PlainAttention(dim, dropout=dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn), nn.GELU(), nn.Dropout(dropout), nn.Linear(ffn, dim), nn.Dropout(dropout))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class PlainTransformer(nn.Module):
    """The reference architecture written the obvious way."""

    def __init__(self, n_electrodes=N_ELECTRODES, n_bands=N_BANDS, n_classes=N_CLASSES, dim=128, depth=4, dropout=0.1):
        super().__init__()
        self.token = nn.Linear(n_bands, dim)
        self.table = nn.Parameter(torch.randn(n_electrodes, dim))
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(PlainBlock(dim, dropout=dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Sequential(
            nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(2 * dim, 2 * dim), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(2 * dim, dim), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(dim, n_classes),
        )

    def forward(self, x):
        x = self.drop(self.token(x) + self.table)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x.mean(1)))


def make_step(model, compiled=False):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-3)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.12)
    forward = torch.compile(model) if compiled else model

    def train_step(x, y):
        model.train()
        opt.zero_grad(set_to_none=True)
        loss_fn(forward(x), y).backward()
        opt.step()

    def infer_step(x, y):
        model.eval()
        with torch.no_grad():
            forward(x)

    return train_step, infer_step


def time_steps(step, x, y, n_steps, clock=time.perf_counter):
    start = clock()
    for _ in range(n_steps):
        step(x, y)
    return n_steps * len(x) / (clock() - start)  # windows / s


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile'd variants")
    parser.add_argument("--no-bf16", action="store_true", help="skip the bfloat16-autocast variant")
    parser.add_argument("--cpu-time", action="store_true", help="time with process CPU time (use with --threads 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x, y = torch.randn(BATCH, N_ELECTRODES, N_BANDS), torch.randint(0, N_CLASSES, (BATCH,))

    ours = ElectrodeAttentionTransformer(make_config("reference", n_chans=N_ELECTRODES, n_outputs=N_CLASSES))
    plain = PlainTransformer()
    print(f"parameters: ours {count_parameters(ours):,}, plain {count_parameters(plain):,}")
    variants = {"plain": make_step(plain), "ours": make_step(ours)}
    if not args.no_bf16:
        ours_bf16 = ElectrodeAttentionTransformer(
            make_config("reference", n_chans=N_ELECTRODES, n_outputs=N_CLASSES), autocast_dtype=torch.bfloat16
        )
        variants["ours (bf16 autocast)"] = make_step(ours_bf16)
    if args.compile:
        for name, model in (("plain+compile", PlainTransformer()), ("ours+compile", ElectrodeAttentionTransformer(make_config("reference", n_chans=N_ELECTRODES, n_outputs=N_CLASSES)))):
            steps = make_step(model, compiled=True)
            start = time.perf_counter()
            for step in steps:
                step(x, y)
                step(x, y)
            print(f"{name}: compile + warm-up {time.perf_counter() - start:.1f} s")
            variants[name] = steps
    for train_step, infer_step in variants.values():  # warm-up
        train_step(x, y)
        infer_step(x, y)

    results = {name: {"train": [], "infer": []} for name in variants}
    for _ in range(args.repeats):  # interleaved rounds
        for name, (train_step, infer_step) in variants.items():
            clock = time.process_time if args.cpu_time else time.perf_counter
            results[name]["train"].append(time_steps(train_step, x, y, args.steps, clock))
            results[name]["infer"].append(time_steps(infer_step, x, y, args.steps, clock))

    print(f"\nthreads={args.threads} batch={BATCH} electrodes={N_ELECTRODES} bands={N_BANDS} "
          f"repeats={args.repeats} x {args.steps} steps (medians; windows/s"
          f"{' of CPU time' if args.cpu_time else ''}; 'x plain' is the median of per-round ratios "
          "with its quartiles)")
    print(f"{'variant':<22}{'train w/s':>10}{'x plain':>8}{'[q1, q3]':>14}{'infer w/s':>11}{'x plain':>8}")
    for name, r in results.items():
        row = f"{name:<22}"
        for kind in ("train", "infer"):
            ratios = [a / b for a, b in zip(r[kind], results["plain"][kind], strict=True)]
            q1, median_ratio, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
            row += f"{statistics.median(r[kind]):>10.0f}{median_ratio:>8.2f}"
            row += f"{f'[{q1:.2f}, {q3:.2f}]':>14}" if kind == "train" else " "
        print(row)

if __name__ == "__main__":
    main()
