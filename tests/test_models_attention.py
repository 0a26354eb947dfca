"""The attention dispatch point: correctness against float64 and the CPU fallback."""

import importlib

import pytest
import torch
import torch.nn.functional as F

from neuroaffect.models import attention as attention_module
from neuroaffect.models.attention import attention


def reference_attention(qkv):
    """Obvious float64 matmul-softmax-matmul on (B, S, 3, H, D)."""
    q, k, v = (t.double().permute(0, 2, 1, 3) for t in qkv.unbind(2))  # (B, H, S, D)
    weights = torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1)
    return (weights @ v).permute(0, 2, 1, 3), weights


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("shape", [(3, 32, 6, 32), (2, 14, 4, 16), (1, 62, 2, 8)])
def test_attention_matches_float64_reference(shape, need_weights):
    batch, seq, heads, dim = shape
    torch.manual_seed(0)
    packed = torch.randn(batch, seq, 3 * heads * dim)
    qkv = packed.view(batch, seq, 3, heads, dim)  # a view, as the models pass it
    out, weights = attention(qkv, need_weights=need_weights)
    expected_out, expected_weights = reference_attention(qkv)
    assert out.shape == (batch, seq, heads, dim)
    torch.testing.assert_close(out.double(), expected_out, rtol=1e-5, atol=1e-5)
    if need_weights:
        assert weights.shape == (batch, heads, seq, seq)
        torch.testing.assert_close(weights.double(), expected_weights, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(weights.sum(-1), torch.ones(batch, heads, seq))
    else:
        assert weights is None


def test_attention_gradients_match_reference():
    torch.manual_seed(1)
    qkv = torch.randn(2, 7, 3, 2, 4, dtype=torch.float64, requires_grad=True)
    out, _ = attention(qkv)
    grad_out = torch.randn_like(out)
    (grad,) = torch.autograd.grad(out, qkv, grad_out)
    ref_out, _ = reference_attention(qkv)
    (ref_grad,) = torch.autograd.grad(ref_out, qkv, grad_out)
    torch.testing.assert_close(grad, ref_grad)


def test_attention_dropout_is_applied_and_weights_stay_before_dropout():
    torch.manual_seed(2)
    qkv = torch.randn(2, 8, 3, 2, 4)
    plain, _ = attention(qkv)
    dropped, weights = attention(qkv, dropout_p=0.5, need_weights=True)
    assert not torch.allclose(plain, dropped)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 2, 8))


def test_attention_rejects_unpacked_shape():
    with pytest.raises(ValueError, match=r"\(batch, seq, 3, heads, head_dim\)"):
        attention(torch.randn(2, 8, 2, 4))


class _FakeKernels:
    def __init__(self):
        self.calls = 0

    def supports(self, qkv, *, dropout_p, need_weights):
        return True

    def fused_attention(self, qkv, *, scale=None, need_weights=False):
        self.calls += 1
        raise AssertionError("the fused kernel must not run on CPU tensors")


def test_cpu_tensors_never_use_the_kernel(monkeypatch):
    fake = _FakeKernels()
    monkeypatch.setattr(attention_module, "_KERNELS", fake)
    calls = []
    real = F.scaled_dot_product_attention
    monkeypatch.setattr(F, "scaled_dot_product_attention", lambda *a, **k: calls.append(1) or real(*a, **k))
    qkv = torch.randn(2, 5, 3, 2, 4)
    out, weights = attention(qkv.requires_grad_())  # training without dropout: SDPA
    assert calls == [1] and fake.calls == 0 and weights is None and out.shape == (2, 5, 2, 4)
    with torch.no_grad():  # inference: the head-by-head path
        expected, _ = attention(qkv)
    assert calls == [1] and fake.calls == 0
    torch.testing.assert_close(expected, out.detach())


def test_broken_kernels_module_falls_back_with_a_warning(monkeypatch):
    monkeypatch.setattr(attention_module, "_KERNELS", None)
    real_import = importlib.import_module

    def broken(name, *args):
        if name == "neuroaffect.kernels":
            raise ImportError("no triton here")
        return real_import(name, *args)

    monkeypatch.setattr(attention_module.importlib, "import_module", broken)
    with pytest.warns(RuntimeWarning, match="falls back"):
        assert attention_module._kernels() is None
    assert attention_module._KERNELS is False


def test_cpu_training_path_with_dropout_is_unbiased():
    # E[dropout(P)] = P, so averaged over many independent draws the output approaches the plain one.
    torch.manual_seed(4)
    qkv = torch.randn(1, 4, 3, 1, 2).expand(20000, -1, -1, -1, -1)
    plain, _ = attention(qkv[:1])
    dropped, _ = attention(qkv, dropout_p=0.3)
    torch.testing.assert_close(dropped.mean(0, keepdim=True), plain, atol=0.03, rtol=0)


class _LooksLikeCuda(torch.Tensor):
    """A CPU tensor that says it is on CUDA, to exercise the dispatch without a GPU."""

    @property
    def is_cuda(self):
        return True


class _RecordingKernels:
    def __init__(self):
        self.calls = []

    def supports(self, qkv, *, dropout_p, need_weights):
        return True

    def fused_attention(self, qkv, *, scale=None, need_weights=False, dropout_p=0.0):
        self.calls.append(dropout_p)
        b, s, _, h, d = qkv.shape
        return torch.zeros(b, s, h, d), None


def test_use_fused_kernel_switch_routes_calls(monkeypatch):
    fake = _RecordingKernels()
    monkeypatch.setattr(attention_module, "_KERNELS", fake)
    sdpa_calls = []
    real = F.scaled_dot_product_attention
    monkeypatch.setattr(F, "scaled_dot_product_attention", lambda *a, **k: sdpa_calls.append(1) or real(*a, **k))
    # requires grad, so that without the kernel it goes to SDPA (not to the CPU inference path)
    qkv = torch.randn(2, 5, 3, 2, 4).requires_grad_().as_subclass(_LooksLikeCuda)
    assert attention_module.fused_kernel_enabled()
    out, _ = attention(qkv)
    assert fake.calls == [0.0] and sdpa_calls == [] and torch.count_nonzero(out) == 0
    with attention_module.use_fused_kernel(False):
        assert not attention_module.fused_kernel_enabled()
        out, _ = attention(qkv)
        assert fake.calls == [0.0] and sdpa_calls == [1] and torch.count_nonzero(out) > 0
        with attention_module.use_fused_kernel(True):  # nests
            attention(qkv, dropout_p=0.1)
            assert fake.calls == [0.0, 0.1]
        attention(qkv)
        assert len(fake.calls) == 2 and sdpa_calls == [1, 1]
    assert attention_module.fused_kernel_enabled()  # restored on exit
    with pytest.raises(RuntimeError), attention_module.use_fused_kernel(False):
        raise RuntimeError("boom")
    assert attention_module.fused_kernel_enabled()  # ...also after an exception
    attention_module.use_fused_kernel(False)  # a plain call sets it from then on, like torch.set_grad_enabled
    try:
        attention(qkv)
        assert len(fake.calls) == 2 and len(sdpa_calls) == 3
    finally:
        attention_module.use_fused_kernel(True)
    with pytest.raises(TypeError, match="True or False"):
        attention_module.use_fused_kernel("no")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(3, 14, 2, 8), (2, 32, 6, 32), (1, 62, 3, 16)])
def test_cpu_dropout_attention_matches_reference_with_the_same_mask(monkeypatch, shape, dtype):
    cpu = pytest.importorskip("neuroaffect.kernels.cpu")
    from neuroaffect.models import dropout as dropout_module

    batch, seq, heads, dim = shape
    p, seed = 0.2, 987654321
    monkeypatch.setattr(dropout_module, "draw_seed", lambda: seed)
    torch.manual_seed(7)
    packed = torch.randn(batch, seq, 3 * heads * dim, dtype=dtype, requires_grad=True)
    qkv = packed.view(batch, seq, 3, heads, dim)
    out, _ = attention(qkv, dropout_p=p)
    grad_out = torch.randn_like(out)
    (grad,) = torch.autograd.grad(out, packed, grad_out)

    # The documented mask: element (h, b, i, j) of the (H, B, S, S) weights at counter index h*B*S*S + ...
    keep = cpu.keep_mask(heads * batch * seq * seq, seed, 0, cpu.threshold(p))
    keep = torch.from_numpy(keep).view(heads, batch, seq, seq).transpose(0, 1)
    q, k, v = (t.permute(0, 2, 1, 3) for t in packed.double().view(batch, seq, 3, heads, dim).unbind(2))
    weights = torch.softmax(q @ k.transpose(-1, -2) / dim**0.5, dim=-1)
    expected = ((weights * keep / (1 - p)) @ v).permute(0, 2, 1, 3)
    (expected_grad,) = torch.autograd.grad(expected, packed, grad_out.double())
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(out.double(), expected, **tol)
    torch.testing.assert_close(grad.double(), expected_grad.double(), **tol)


def test_cpu_dropout_attention_without_numba_uses_the_explicit_path(monkeypatch):
    from neuroaffect.models import dropout as dropout_module

    monkeypatch.setattr(dropout_module, "_CPU_KERNELS", False)
    monkeypatch.setattr(attention_module, "_CPUDropoutAttention", None)  # must not be reached
    torch.manual_seed(8)
    qkv = torch.randn(4000, 4, 3, 1, 2, requires_grad=True)
    dropped, _ = attention(qkv, dropout_p=0.5)
    plain, _ = attention(qkv)
    assert ((dropped - plain).abs() > 1e-6).any()
    dropped.sum().backward()
    assert torch.isfinite(qkv.grad).all()
