"""Shared test set-up.

Triton kernels run on the CPU under its interpreter; the variable must be set before triton is
imported anywhere, so it is set here when no GPU is present.
"""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
if not os.path.exists("/dev/nvidia0"):
    os.environ.setdefault("TRITON_INTERPRET", "1")


@pytest.fixture
def small_validation(monkeypatch):
    """Early stopping on the tiny test data sets (the estimators' few-trial rule needs 5 held-out
    trials per class): for tests of the early-stopping mechanics themselves."""
    monkeypatch.setattr("neuroaffect.estimators.neural.MIN_VALIDATION_UNITS", 1)


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a test module: the test machine's 2 cores are shared, and intra-op
    threads fighting for them slow tiny models about 10x."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
