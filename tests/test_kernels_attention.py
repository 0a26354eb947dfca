"""Fused Triton attention (neuroaffect.kernels) against a float64 reference.

Without a GPU the kernels run under Triton's interpreter on CPU tensors (tests/conftest.py sets
TRITON_INTERPRET=1 before triton is imported); on a CUDA machine the same tests run on the GPU.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

pytest.importorskip("triton")

from neuroaffect import kernels  # noqa: E402
from neuroaffect.kernels import (  # noqa: E402
    _ops,  # noqa: E402,F401  (registers the custom ops)
    fused_attention,
    supports,
)
from neuroaffect.kernels import _triton_attention as ta  # noqa: E402

ON_GPU = torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET", "0") in ("", "0")
DEVICE = "cuda" if ON_GPU else "cpu"
if not ON_GPU and not kernels._interpreting():
    pytest.skip("needs a GPU or TRITON_INTERPRET=1", allow_module_level=True)

# (batch, seq, heads, head_dim): odd lengths, padding of seq and of head_dim, S not a power of two
SHAPES = [(2, 14, 2, 16), (3, 32, 2, 32), (2, 62, 2, 16), (2, 20, 3, 24), (3, 1, 2, 8)]
DTYPES = [torch.float32, torch.float16] + ([torch.bfloat16] if ON_GPU else [])
# relative L2 error vs float64: fp32 exact (fp32 matmul precision "highest"), 16-bit inputs
# round P and dS to 16 bits before the products.
RTOL = {torch.float32: 1e-5, torch.float16: 3e-3, torch.bfloat16: 2e-2}


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double().cpu(), b.double().cpu()
    assert torch.isfinite(a).all(), "non-finite (unwritten?) elements"
    if b.norm() == 0:  # e.g. dQ and dK at seq == 1: softmax over one key is constant
        return a.norm().item()
    return ((a - b).norm() / b.norm()).item()


def reference(qkv, scale=None, keep=None, dropout_p=0.0):
    """Explicit float64 attention: (out (B, S, H, D), weights (B, H, S, S) before dropout)."""
    q, k, v = (t.transpose(1, 2).double() for t in qkv.unbind(2))
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    weights = torch.softmax((q @ k.transpose(-2, -1)) * scale, dim=-1)
    dropped = weights if keep is None else weights * keep.double() / (1.0 - dropout_p)
    return (dropped @ v).transpose(1, 2), weights


def reference_grads(qkv, grad_out, grad_w=None, **kwargs):
    x = qkv.detach().double().requires_grad_()
    out, weights = reference(x, **kwargs)
    loss = (out * grad_out.double()).sum()
    if grad_w is not None:
        loss = loss + (weights * grad_w.double()).sum()
    loss.backward()
    return out.detach(), weights.detach(), x.grad


def randn(*shape, dtype=torch.float32):
    return torch.randn(*shape, device=DEVICE).to(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_forward_backward_poisoned_outputs(shape, dtype):
    B, S, H, D = shape
    qkv = randn(B, S, 3, H, D, dtype=dtype)
    nan = float("nan")
    out = torch.full((B, S, H, D), nan, dtype=dtype, device=DEVICE)
    lse = torch.full((B * H, S), nan, device=DEVICE)
    weights = torch.full((B, H, S, S), nan, dtype=dtype, device=DEVICE)
    scale = 0.7 / D**0.5
    ta.attention_forward(qkv, scale, True, out=out, lse=lse, weights=weights)

    grad_out, grad_w = randn(B, S, H, D, dtype=dtype), randn(B, H, S, S, dtype=dtype)
    ref_out, ref_w, ref_dqkv = reference_grads(qkv, grad_out, grad_w, scale=scale)
    assert rel_err(out, ref_out) < RTOL[dtype]
    assert rel_err(weights, ref_w) < RTOL[dtype]
    ref_lse = torch.logsumexp(
        torch.einsum("bqhd,bkhd->bhqk", qkv[:, :, 0].double(), qkv[:, :, 1].double()).cpu() * scale, -1
    ).reshape(B * H, S)
    assert rel_err(lse / torch.log2(torch.tensor(torch.e)), ref_lse) < 1e-5

    dqkv = torch.full_like(qkv, nan)
    ta.attention_backward(grad_out, qkv, lse, scale, grad_w, dqkv=dqkv)
    assert rel_err(dqkv, ref_dqkv) < RTOL[dtype]
    for i in range(3):  # dq, dk, dv each right on its own (not only the sum)
        assert rel_err(dqkv[:, :, i], ref_dqkv[:, :, i]) < RTOL[dtype]


@pytest.mark.parametrize("need_weights", [False, True])
def test_autograd_function(need_weights):
    B, S, H, D = 2, 14, 2, 16
    qkv = randn(B, S, 3, H, D).requires_grad_()
    out, weights = fused_attention(qkv, need_weights=need_weights)
    assert out.shape == (B, S, H, D) and out.dtype == qkv.dtype and out.is_contiguous()
    assert (weights is None) == (not need_weights)
    grad_out = randn(B, S, H, D)
    grad_w = randn(B, H, S, S) if need_weights else None
    loss = (out * grad_out).sum() + ((weights * grad_w).sum() if need_weights else 0.0)
    loss.backward()
    ref_out, ref_w, ref_dqkv = reference_grads(qkv, grad_out, grad_w)
    assert rel_err(out.detach(), ref_out) < 1e-5
    if need_weights:
        assert rel_err(weights.detach(), ref_w) < 1e-5
        assert torch.allclose(weights.detach().sum(-1), torch.ones(B, H, S, device=DEVICE))
    assert qkv.grad.shape == qkv.shape and qkv.grad.is_contiguous()
    assert rel_err(qkv.grad, ref_dqkv) < 1e-5


def test_only_weights_used_in_loss():
    B, S, H, D = 2, 14, 2, 16
    qkv = randn(B, S, 3, H, D).requires_grad_()
    _, weights = fused_attention(qkv, need_weights=True, scale=0.3)
    grad_w = randn(B, H, S, S)
    (weights * grad_w).sum().backward()
    x = qkv.detach().double().requires_grad_()
    (reference(x, scale=0.3)[1] * grad_w.double()).sum().backward()
    assert rel_err(qkv.grad, x.grad) < 1e-5


def test_non_contiguous_views():
    B, S, H, D = 3, 14, 2, 16
    # the usual case: a view of the packed projection, batch-strided
    proj = torch.nn.Linear(40, 3 * H * D).to(DEVICE)
    x = randn(2 * B, S, 40).requires_grad_()
    qkv = proj(x)[::2].view(B, S, 3, H, D)
    out, _ = fused_attention(qkv)
    grad_out = randn(B, S, H, D)
    (out * grad_out).sum().backward()
    ref_out, _, ref_dqkv = reference_grads(qkv, grad_out)
    assert rel_err(out.detach(), ref_out) < 1e-5
    x64 = x.detach().double().requires_grad_()
    qkv64 = torch.nn.functional.linear(x64, proj.weight.double(), proj.bias.double())
    (reference(qkv64[::2].view(B, S, 3, H, D))[0] * grad_out.double()).sum().backward()
    assert rel_err(x.grad, x64.grad) < 1e-5

    # a strided slice of a bigger tensor: every axis offset and strided
    big = randn(B + 1, S + 3, 4, H + 2, D + 8)
    qkv = big[1:, 2 : S + 2, 1:, 1 : H + 1, 3 : D + 3]
    assert not qkv.is_contiguous() and qkv.stride(-1) == 1
    out, weights = fused_attention(qkv, need_weights=True)
    ref_out, ref_w = reference(qkv)
    assert rel_err(out, ref_out) < 1e-5
    assert rel_err(weights, ref_w) < 1e-5

    # a non-contiguous upstream gradient
    qkv = qkv.clone().requires_grad_()
    out, _ = fused_attention(qkv)
    grad_out = randn(B, H, S, D).transpose(1, 2)
    out.backward(grad_out)
    assert rel_err(qkv.grad, reference_grads(qkv, grad_out)[2]) < 1e-5


@pytest.mark.parametrize("pairs", [1, 4, 8])
def test_pairs_per_program_and_remainder(pairs):
    # 3 * 3 = 9 (batch, head) pairs: 4 per program leaves a remainder of 1; 8 one of 1 too
    B, S, H, D = 3, 14, 3, 16
    qkv = randn(B, S, 3, H, D)
    config = ta.LaunchConfig(pairs=pairs, num_warps=4, num_stages=2)
    out = torch.full((B, S, H, D), float("nan"), device=DEVICE)
    _, lse, _ = ta.attention_forward(qkv, D**-0.5, out=out, config=config)
    grad_out = randn(B, S, H, D)
    ref_out, _, ref_dqkv = reference_grads(qkv, grad_out)
    assert rel_err(out, ref_out) < 1e-5
    dqkv = torch.full_like(qkv, float("nan"))
    ta.attention_backward(grad_out, qkv, lse, D**-0.5, dqkv=dqkv, config=config)
    assert rel_err(dqkv, ref_dqkv) < 1e-5


def test_default_config():
    for S, D in [(14, 16), (62, 32), (62, 64), (128, 128)]:
        for n_pairs in (1, 100, 10**6):
            cfg = ta.default_config(S, D, n_pairs)
            assert cfg.pairs >= 1 and cfg.pairs & (cfg.pairs - 1) == 0
            assert cfg.num_warps in (1, 2, 4, 8, 16)
    assert ta.padded(1) == 16 and ta.padded(17) == 32 and ta.padded(62) == 64 and ta.padded(128) == 128


@pytest.mark.parametrize("need_weights", [False, True])
def test_dropout_matches_reference_with_regenerated_mask(need_weights):
    B, S, H, D = 2, 14, 2, 16
    p = 0.3
    qkv = randn(B, S, 3, H, D).requires_grad_()
    torch.manual_seed(123)
    seed = torch.randint(0, 2**31 - 1, (), dtype=torch.int64, device=DEVICE)
    torch.manual_seed(123)  # fused_attention draws the same seed
    out, weights = fused_attention(qkv, dropout_p=p, need_weights=need_weights)
    keep = ta.dropout_keep_mask(B, H, S, p, seed, DEVICE)
    assert 0.55 < keep.float().mean().item() < 0.85  # 784 draws around 0.7
    grad_out = randn(B, S, H, D)
    grad_w = randn(B, H, S, S) if need_weights else None
    loss = (out * grad_out).sum() + ((weights * grad_w).sum() if need_weights else 0.0)
    loss.backward()
    ref_out, ref_w, ref_dqkv = reference_grads(qkv, grad_out, grad_w, keep=keep, dropout_p=p)
    assert rel_err(out.detach(), ref_out) < 1e-5
    if need_weights:  # weights are returned before dropout
        assert rel_err(weights.detach(), ref_w) < 1e-5
    assert rel_err(qkv.grad, ref_dqkv) < 1e-5


def test_dropout_randomness():
    B, S, H, D = 2, 14, 2, 16
    qkv = randn(B, S, 3, H, D)
    masks = [ta.dropout_keep_mask(B, H, S, 0.5, seed, DEVICE) for seed in (1, 1, 2)]
    assert torch.equal(masks[0], masks[1]) and not torch.equal(masks[0], masks[2])
    m = masks[0].reshape(B * H, S * S)
    assert all(not torch.equal(m[0], m[i]) for i in range(1, B * H))  # a stream per pair
    torch.manual_seed(7)
    a, _ = fused_attention(qkv, dropout_p=0.5)
    b, _ = fused_attention(qkv, dropout_p=0.5)
    torch.manual_seed(7)
    c, _ = fused_attention(qkv, dropout_p=0.5)
    assert torch.equal(a, c) and not torch.equal(a, b)
    # no dropout: deterministic
    assert torch.equal(fused_attention(qkv)[0], fused_attention(qkv)[0])


def test_supports_predicate(monkeypatch):
    from torch._subclasses.fake_tensor import FakeTensorMode

    cpu = torch.zeros(2, 14, 3, 2, 16)
    assert not supports(cpu, dropout_p=0.0, need_weights=False)  # CPU: the model uses SDPA

    monkeypatch.setattr(kernels, "_interpreting", lambda: False)
    monkeypatch.setattr(kernels, "_device_ok", lambda index, dtype: dtype != "bfloat16")
    with FakeTensorMode():
        def qkv(B=2, S=14, H=2, D=16, dtype=torch.float16):
            return torch.empty(B, S, 3, H, D, device="cuda", dtype=dtype)

        assert supports(qkv(), dropout_p=0.0, need_weights=False)
        assert supports(qkv(S=62, D=32, dtype=torch.float32), dropout_p=0.1, need_weights=True)
        assert supports(qkv(S=128, D=128), dropout_p=0.0, need_weights=False)
        assert supports(qkv(S=1, D=24), dropout_p=0.0, need_weights=False)
        assert not supports(qkv(dtype=torch.bfloat16), dropout_p=0.0, need_weights=False)
        assert not supports(qkv(dtype=torch.float64), dropout_p=0.0, need_weights=False)
        assert not supports(qkv(S=129), dropout_p=0.0, need_weights=False)
        assert not supports(qkv(D=256), dropout_p=0.0, need_weights=False)
        assert not supports(qkv(), dropout_p=1.0, need_weights=False)
        x = qkv(D=32)
        assert not supports(x[..., ::2], dropout_p=0.0, need_weights=False)  # stride(-1) == 2
        assert not supports(x[:, :, :2], dropout_p=0.0, need_weights=False)  # not q, k, v
        assert not supports(x[:, :, 0], dropout_p=0.0, need_weights=False)  # 4-D
        monkeypatch.setattr(kernels, "_triton_available", lambda: False)
        assert not supports(qkv(), dropout_p=0.0, need_weights=False)


def test_input_errors(monkeypatch):
    good = torch.zeros(2, 14, 3, 2, 16, device=DEVICE)
    with pytest.raises(ValueError, match="shape"):
        fused_attention(good[:, :, 0])
    with pytest.raises(ValueError, match="stride"):
        fused_attention(torch.zeros(2, 14, 3, 2, 32, device=DEVICE)[..., ::2])
    with pytest.raises(ValueError, match="dtype"):
        fused_attention(good.double())
    with pytest.raises(ValueError, match="head_dim"):
        fused_attention(torch.zeros(1, 14, 3, 1, 129, device=DEVICE))
    with pytest.raises(ValueError, match="seq"):
        fused_attention(torch.zeros(1, 129, 3, 1, 16, device=DEVICE))
    with pytest.raises(ValueError, match="dropout_p"):
        fused_attention(good, dropout_p=1.0)
    if not ON_GPU:
        monkeypatch.setenv("TRITON_INTERPRET", "0")
        with pytest.raises(ValueError, match="CUDA"):
            fused_attention(good)


def test_empty_batch():
    qkv = torch.zeros(0, 14, 3, 2, 16, device=DEVICE, requires_grad=True)
    out, weights = fused_attention(qkv, need_weights=True)
    assert out.shape == (0, 14, 2, 16) and weights.shape == (0, 2, 14, 14)
    out.sum().backward()
    assert qkv.grad.shape == qkv.shape


def test_custom_op_opcheck_and_compile():
    B, S, H, D = 2, 14, 2, 16
    qkv = randn(B, S, 3, H, D).requires_grad_()
    seed = torch.empty((0,), dtype=torch.int64, device=DEVICE)
    torch.library.opcheck(
        torch.ops.neuroaffect.attention_fwd.default, (qkv, D**-0.5, True, 0.0, seed),
        test_utils=("test_schema", "test_faketensor", "test_autograd_registration"),
    )
    torch.library.opcheck(
        torch.ops.neuroaffect.attention_fwd.default,
        (qkv, D**-0.5, False, 0.2, torch.tensor(5, device=DEVICE)),
        test_utils=("test_schema", "test_faketensor", "test_autograd_registration"),
    )

    def f(x, dropout_p=0.0):
        out, _ = fused_attention(x, dropout_p=dropout_p)
        return out.square().sum()

    compiled = torch.compile(f, backend="aot_eager", fullgraph=True)
    torch.manual_seed(0)
    dropped = compiled(qkv, 0.25)
    torch.manual_seed(0)
    assert torch.equal(dropped, f(qkv, 0.25))  # the same seed drawn inside the graph
    loss = compiled(qkv)
    (grad,) = torch.autograd.grad(loss, qkv)
    x = qkv.detach().double().requires_grad_()
    ref = reference(x)[0].square().sum()
    ref.backward()
    assert abs(loss.item() - ref.item()) <= 1e-5 * abs(ref.item())
    assert rel_err(grad, x.grad) < 1e-5


def test_import_without_triton_or_heavy_deps():
    code = (
        "import sys; sys.modules['triton'] = None\n"
        "import torch, neuroaffect.kernels as k\n"
        "assert not k._triton_available()\n"
        "assert not k.supports(torch.zeros(2, 14, 3, 2, 16), dropout_p=0.0, need_weights=False)\n"
        "bad = [m for m in ('mne', 'nilearn', 'braindecode', 'triton') if sys.modules.get(m)]\n"
        "assert not bad, bad\n"
        "try:\n    k.fused_attention(torch.zeros(2, 14, 3, 2, 16))\nexcept RuntimeError as e:\n"
        "    assert 'triton' in str(e)\nelse:\n    raise AssertionError('no error')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


def test_matches_the_models_sdpa_path():
    attention_module = pytest.importorskip("neuroaffect.models.attention")
    B, S, H, D = 2, 32, 2, 16
    qkv = randn(B, S, 3, H, D)
    for need_weights in (False, True):
        ours = fused_attention(qkv, need_weights=need_weights)
        with torch.no_grad():
            theirs = attention_module.attention(qkv.cpu(), need_weights=need_weights)
        assert rel_err(ours[0], theirs[0]) < 1e-5
        if need_weights:
            assert rel_err(ours[1], theirs[1]) < 1e-5


def test_eager_calls_skip_the_custom_op(monkeypatch):
    # eager mode goes through the plain autograd function; the custom op is for torch.compile
    def fail(*args, **kwargs):
        raise AssertionError("the custom op was called in eager mode")

    monkeypatch.setattr(_ops, "attention_fwd", fail)
    monkeypatch.setattr(_ops, "attention_bwd", fail)
    B, S, H, D = 2, 14, 2, 16
    qkv = randn(B, S, 3, H, D).requires_grad_()
    out, _ = fused_attention(qkv, dropout_p=0.1)
    assert type(out.grad_fn).__name__ == "EagerAttentionBackward"
    out.sum().backward()
    assert torch.isfinite(qkv.grad).all()
