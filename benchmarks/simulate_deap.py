"""Time writing a DEAP-sized synthetic dataset (40 trials x 40 channels x 8064 samples per subject).

Usage: ``python benchmarks/simulate_deap.py [n_subjects] [out_dir]`` (default 4 subjects in a
temporary folder, which is removed). Prints wall and CPU time per subject and the extrapolation to
DEAP's 32 subjects, then reads one subject back.
"""

import shutil
import sys
import tempfile
import time
from pathlib import Path

from neuroaffect.io import read_deap
from neuroaffect.simulate import write_deap


def main():
    n_subjects = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp())
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        data_dir = write_deap(out, n_subjects, progress=False)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        size = sum(p.stat().st_size for p in data_dir.iterdir()) / n_subjects / 2**20
        print(
            f"write_deap: {n_subjects} subjects in {wall:.1f} s wall, {cpu:.1f} s CPU "
            f"({wall / n_subjects:.2f} s/subject, {size:.0f} MiB/subject); "
            f"32 subjects ~ {32 * wall / n_subjects:.0f} s"
        )
        t = time.perf_counter()
        trials = read_deap(data_dir, subjects=1)
        print(f"read_deap one subject: {time.perf_counter() - t:.2f} s -> {trials}")
    finally:
        if len(sys.argv) <= 2:
            shutil.rmtree(out)


if __name__ == "__main__":
    main()
