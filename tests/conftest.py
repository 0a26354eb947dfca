"""Shared test set-up.

Triton kernels run on the CPU under its interpreter; the variable must be set before triton is
imported anywhere, so it is set here when no GPU is present.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
if not os.path.exists("/dev/nvidia0"):
    os.environ.setdefault("TRITON_INTERPRET", "1")
