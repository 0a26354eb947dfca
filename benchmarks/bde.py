"""Time BDE tokens on a DEAP-sized simulated dataset and compare with the per-window reference path.

DEAP size: 32 subjects x 40 trials x 32 channels x 63 s at 128 Hz (3 s baseline + 60 s stimulus),
1 s windows, 4 bands, baseline removal by the DEAP convention. Signals are 1/f noise generated in
memory one subject at a time; generation is timed apart from the features.

Usage::

    python benchmarks/bde.py                  # the whole DEAP-sized set
    python benchmarks/bde.py --subjects 4     # quick run
    python benchmarks/bde.py --n-jobs 1       # one thread

Reports wall time, throughput, peak memory (growth of the process's maximum resident set during the
run, and the tracemalloc peak of tokenizing one subject), and the speed-up over

- ``method="reference"`` (the same per-window causal (b, a) filters, vectorised), and
- the per-window reference path as published code runs it: a Python loop over windows, channels and
  bands, each designing a 5th-order Butterworth and running ``lfilter`` on one window.

The reference paths are timed on a subset and scaled to the full set (said so in the output).
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc

import numpy as np
from scipy import signal

from neuroaffect import EEGTrials
from neuroaffect.features import DEFAULT_BANDS, Tokenizer

DEAP_CHANNELS = ("Fp1 AF3 F3 F7 FC5 FC1 C3 T7 CP5 CP1 P3 P7 PO3 O1 Oz Pz Fp2 AF4 Fz F4 F8 FC6 FC2 Cz "
                 "C4 T8 CP6 CP2 P4 P8 PO4 O2").split()


def simulate_subject(subject: int, n_trials: int, n_channels: int, seconds: float, baseline: float,
                     sfreq: float) -> EEGTrials:
    """1/f noise (about 20 microvolts), split into a baseline and a stimulus part per trial."""
    rng = np.random.default_rng(subject)
    n_times = int(round(seconds * sfreq))
    spectrum = rng.standard_normal((n_trials, n_channels, n_times // 2 + 1)).astype(np.float32)
    freqs = np.fft.rfftfreq(n_times, 1 / sfreq).astype(np.float32)
    spectrum /= np.sqrt(np.maximum(freqs, 0.5))
    data = np.fft.irfft(spectrum, n=n_times, axis=-1).astype(np.float32)
    data *= 20e-6 / data.std()
    n_base = int(round(baseline * sfreq))
    return EEGTrials.from_arrays(
        list(data[:, :, n_base:]), sfreq, DEAP_CHANNELS[:n_channels], np.full((n_trials, 3), 5.0),
        subject=[str(subject)] * n_trials, baselines=list(data[:, :, :n_base]), dataset="deap",
    )


def per_window_reference(windows: np.ndarray, sfreq: float, order: int = 5) -> np.ndarray:
    """The published pipeline's loop: design a (b, a) Butterworth and filter each window on its own.

    Each window loses its mean first, as in ``method="reference"`` (the one documented difference
    from the published code, whose output a DC offset would otherwise dominate).
    """
    out = np.empty((*windows.shape[:2], len(DEFAULT_BANDS)))
    nyquist = sfreq / 2
    for w, window in enumerate(windows):
        for c, x in enumerate(window):
            for j, (_, lo, hi) in enumerate(DEFAULT_BANDS):
                b, a = signal.butter(order, [lo / nyquist, hi / nyquist], btype="band")
                filtered = signal.lfilter(b, a, x - x.mean())
                out[w, c, j] = 0.5 * np.log(2 * np.pi * np.e * np.var(filtered))
    return out


def maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subjects", type=int, default=32)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=63.0, help="per trial, baseline included")
    parser.add_argument("--baseline", type=float, default=3.0)
    parser.add_argument("--sfreq", type=float, default=128.0)
    parser.add_argument("--window", type=float, default=1.0)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--reference-subjects", type=int, default=2,
                        help="subjects timed with method='reference' (then scaled)")
    parser.add_argument("--loop-windows", type=int, default=60,
                        help="windows (all channels) timed with the per-window loop (then scaled)")
    args = parser.parse_args(argv)

    tokenizer = Tokenizer(window=args.window, n_jobs=args.n_jobs)
    print(f"BDE benchmark: {args.subjects} subjects x {args.trials} trials x {args.channels} channels x "
          f"{args.seconds:g} s at {args.sfreq:g} Hz, {args.window:g} s windows, n_jobs={args.n_jobs}, "
          f"{os.cpu_count()} CPUs visible (shared machine: other jobs may be running; "
          f"load average {os.getloadavg()[0]:.1f} at start)")

    # Warm up imports and caches on a tiny input so they are not timed.
    tokenizer.transform(simulate_subject(0, 2, 2, 4 + args.baseline, args.baseline, args.sfreq))

    rss_before = maxrss_bytes()
    t_sim = t_tok = cpu_tok = 0.0
    n_windows = 0
    keep = []
    for subject in range(1, args.subjects + 1):
        t = time.perf_counter()
        trials = simulate_subject(subject, args.trials, args.channels, args.seconds, args.baseline, args.sfreq)
        t_sim += time.perf_counter() - t
        t, cpu = time.perf_counter(), time.process_time()
        tokens = tokenizer.transform(trials)
        t_tok += time.perf_counter() - t
        cpu_tok += time.process_time() - cpu
        n_windows += len(tokens)
        keep.append(tokens.X)  # tokens of every subject stay in memory, as in real use
        del trials
    rss_growth = maxrss_bytes() - rss_before
    load_end = os.getloadavg()[0]

    trials = simulate_subject(1, args.trials, args.channels, args.seconds, args.baseline, args.sfreq)
    tokenizer.transform(trials)  # allocations of a first call (filter design caches) are not counted
    tracemalloc.start()
    tokenizer.transform(trials)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    # Other methods on a subset of subjects (generation not timed).
    n_ref = min(args.reference_subjects, args.subjects)
    subset = [simulate_subject(s, args.trials, args.channels, args.seconds, args.baseline, args.sfreq)
              for s in range(1, n_ref + 1)]
    scaled, scaled_cpu = {}, {}
    for method in ("fft", "reference"):
        other = Tokenizer(window=args.window, method=method, n_jobs=args.n_jobs)
        t, cpu = time.perf_counter(), time.process_time()
        done = sum(len(other.transform(s)) for s in subset)
        scaled[method] = (time.perf_counter() - t) * n_windows / done
        scaled_cpu[method] = (time.process_time() - cpu) * n_windows / done
    del subset

    # The published per-window loop, on the first windows of subject 1 (no baseline step).
    plain = Tokenizer(window=args.window, method="reference", baseline="none")
    tokens = plain.transform(trials[[0]])
    n_loop = min(args.loop_windows, len(tokens))
    windows = np.stack([trials.signals[0][:, a:b] for a, b in zip(tokens.start[:n_loop], tokens.stop[:n_loop],
                                                                 strict=True)])
    t, cpu = time.perf_counter(), time.process_time()
    looped = per_window_reference(windows, args.sfreq)
    t_loop_subset = time.perf_counter() - t
    cpu_loop = (time.process_time() - cpu) * n_windows / n_loop
    np.testing.assert_allclose(looped, tokens.X[:n_loop], rtol=1e-4, atol=1e-4)  # same numbers
    t_loop = t_loop_subset * n_windows / n_loop

    rows = [
        ("simulate signals (not features)", t_sim, float("nan")),
        (f"BDE tokens, default method='sos' (n_jobs={args.n_jobs})", t_tok, cpu_tok),
        (f"method='fft' (scaled from {n_ref} subjects)", scaled["fft"], scaled_cpu["fft"]),
        (f"method='reference', vectorised (scaled from {n_ref} subjects)", scaled["reference"],
         scaled_cpu["reference"]),
        (f"per-window loop, published style (scaled from {n_loop} windows)", t_loop, cpu_loop),
    ]
    print(f"\n{'stage':62s} {'wall s':>8s} {'CPU s':>8s} {'windows/s':>10s} {'wall/default':>13s} "
          f"{'CPU/default':>12s}")
    for name, seconds, cpu in rows:
        if name.startswith("simulate"):
            print(f"{name:62s} {seconds:8.2f}")
            continue
        print(f"{name:62s} {seconds:8.2f} {cpu:8.2f} {n_windows / seconds:10,.0f} {seconds / t_tok:13.2f} "
              f"{cpu / cpu_tok:12.2f}")
    print(f"\nCPU time is less sensitive than wall time to other jobs on a shared machine; on {args.n_jobs} "
          f"idle cores the default's wall time would be about CPU / {args.n_jobs} = "
          f"{cpu_tok / args.n_jobs:.1f} s (an estimate, not a measurement).")
    print(f"\nwindows: {n_windows:,} ({n_windows * args.channels:,} tokens of {len(DEFAULT_BANDS)} bands)")
    print(f"peak memory: max RSS grew by {rss_growth / 2**20:,.0f} MiB during the run (simulated "
          f"subject + tokens kept); tracemalloc peak tokenizing one subject: {traced_peak / 2**20:,.0f} MiB")
    print(f"reference rows are timed on a subset and scaled linearly to {n_windows:,} windows; "
          f"load average at end of main run: {load_end:.1f}")


if __name__ == "__main__":
    main()
