"""Dropout on CPU (fused numba kernels, or the plain-torch fallback) behaves like nn.Dropout."""

import pytest
import torch

from neuroaffect.models import dropout as dropout_module
from neuroaffect.models.dropout import Dropout, dropout, keep_mask, residual_dropout


@pytest.fixture(params=["fused", "fallback"])
def path(request, monkeypatch):
    """Run a test on the numba kernels and again on the plain-torch fallback."""
    if request.param == "fused" and dropout_module.fused_cpu_kernels() is None:
        pytest.skip("numba is not installed")
    if request.param == "fallback":
        monkeypatch.setattr(dropout_module, "_CPU_KERNELS", False)
    return request.param


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_keep_rate_and_lane_independence(p):
    torch.manual_seed(0)
    mask = keep_mask((300_000,), p)
    n = mask.numel()
    # Binomial standard error; 5 sigma bound.
    assert abs(mask.float().mean().item() - (1 - p)) < 5 * ((p * (1 - p) / n) ** 0.5)
    lanes = mask[: n - n % 4].view(-1, 4).float()
    for lane in range(4):  # every lane of a random word is fair (the sign lane too)
        assert abs(lanes[:, lane].mean().item() - (1 - p)) < 5 * ((p * (1 - p) / len(lanes)) ** 0.5)
    # Neighbouring elements are uncorrelated.
    for i, j in ((0, 1), (2, 3), (1, 3)):
        a, b = lanes[:, i] - (1 - p), lanes[:, j] - (1 - p)
        assert abs((a * b).mean().item()) < 5 * p * (1 - p) / len(lanes) ** 0.5


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dropout_scales_kept_values_and_masks_gradients(path, dtype):
    torch.manual_seed(1)
    x = torch.randn(64, 33, dtype=dtype, requires_grad=True)
    y = dropout(x, 0.25)
    kept = y != 0
    assert 0.65 < kept.double().mean() < 0.85
    torch.testing.assert_close(y[kept], x[kept] / 0.75)
    grad_y = torch.randn_like(y)
    y.backward(grad_y)
    torch.testing.assert_close(x.grad, grad_y * kept / 0.75)


def test_dropout_of_a_non_contiguous_tensor(path):
    torch.manual_seed(5)
    x = torch.randn(40, 30).t().requires_grad_()
    y = dropout(x, 0.5)
    kept = y != 0
    assert y.shape == x.shape
    torch.testing.assert_close(y[kept], x[kept] * 2)
    y.sum().backward()
    torch.testing.assert_close(x.grad, kept * 2.0)


def test_inplace_dropout_overwrites_its_input_and_backpropagates(path):
    torch.manual_seed(2)
    w = torch.randn(16, 16, requires_grad=True)
    h = w * 3  # a non-leaf, as inplace dropout is used after a linear layer or GELU
    before = h.detach().clone()
    y = dropout(h, 0.3, inplace=True)
    assert y.data_ptr() == h.data_ptr()
    kept = y != 0
    torch.testing.assert_close(y[kept], before[kept] / 0.7)
    y.sum().backward()
    torch.testing.assert_close(w.grad, 3 * kept / 0.7)


def test_residual_dropout_is_x_plus_dropped_branch(path):
    torch.manual_seed(3)
    x = torch.randn(8, 32, 16, requires_grad=True)
    h = torch.randn(8, 32, 16, requires_grad=True)
    y = residual_dropout(x, h, 0.2)
    kept = (y - x).abs() > 1e-6
    assert 0.7 < kept.float().mean() < 0.9
    torch.testing.assert_close(y, x + h * kept / 0.8)
    grad_y = torch.randn_like(y)
    y.backward(grad_y)
    torch.testing.assert_close(x.grad, grad_y)
    torch.testing.assert_close(h.grad, grad_y * kept / 0.8)
    torch.testing.assert_close(residual_dropout(x, h, 0.2, training=False), x + h)


def test_dropout_is_unbiased(path):
    torch.manual_seed(6)
    x = torch.full((200_000,), 2.0)
    assert abs(dropout(x, 0.4).mean().item() - 2.0) < 0.02  # about 5 standard errors


def test_same_seed_same_mask_and_eval_is_identity(path):
    x = torch.randn(10, 20)
    torch.manual_seed(3)
    a = dropout(x, 0.3)
    torch.manual_seed(3)
    b = dropout(x, 0.3)
    torch.testing.assert_close(a, b)
    layer = Dropout(0.3).eval()
    assert layer(x) is x
    assert dropout(x, 0.0) is x
    assert (dropout(x, 1.0) == 0).all()


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_probability_outside_0_1_is_rejected(p):
    x = torch.randn(4, 4)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        dropout(x, p)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        residual_dropout(x, x, p)


def test_broken_numba_falls_back_with_a_warning(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def broken(name, globals=None, locals=None, fromlist=(), level=0):
        if fromlist and "cpu" in fromlist and level > 0 and name == "kernels":
            raise RuntimeError("cannot cache function: no locator available")
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr(dropout_module, "_CPU_KERNELS", None)
    monkeypatch.setattr(builtins, "__import__", broken)
    with pytest.warns(RuntimeWarning, match="falls back"):
        assert dropout_module.fused_cpu_kernels() is None
    monkeypatch.setattr(builtins, "__import__", real_import)
    torch.manual_seed(0)
    y = dropout(torch.ones(1000), 0.5)  # the fallback path still works
    assert set(y.unique().tolist()) <= {0.0, 2.0}
