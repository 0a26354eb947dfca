"""The electrode-attention transformer module and its configurations."""

import pickle

import numpy as np
import pytest
import torch

from neuroaffect.models.transformer import (
    ElectrodeAttentionTransformer,
    TransformerConfig,
    count_parameters,
    make_config,
)

TINY = dict(embed_dim=16, depth=2, n_heads=2, head_dim=8, ffn_dim=32, head_dims=(16,))


def _positions(n, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.normal(size=(n, 3))
    return 0.09 * p / np.linalg.norm(p, axis=1, keepdims=True)


def test_reference_parameter_count_on_deap_binary():
    model = ElectrodeAttentionTransformer(make_config("reference", n_chans=32, n_bands=4, n_outputs=2))
    E, inner, ffn = 128, 6 * 32, 128
    token = 4 * E + E  # Linear(4 -> E)
    table = 32 * E  # learned electrode identities
    block = (
        2 * 2 * E  # two LayerNorms
        + E * 3 * inner  # packed q/k/v, no bias
        + inner * E + E  # output projection
        + (E * ffn + ffn) + (ffn * E + E)  # FFN
    )
    head = 2 * E + (E * 2 * E + 2 * E) + (2 * E * 2 * E + 2 * E) + (2 * E * E + E) + (E * 2 + 2)
    assert token + table + 4 * block + head == 664_834
    assert count_parameters(model) == 664_834  # "about 0.66 M" in the paper


def test_make_config_rejects_unknown_names_and_fields():
    with pytest.raises(ValueError, match="'config' parameter"):
        make_config("huge")
    with pytest.raises(ValueError, match="Unknown transformer configuration"):
        make_config({"width": 3})
    assert make_config({"depth": 1}).depth == 1
    assert isinstance(make_config(TransformerConfig(depth=3)), TransformerConfig)


def test_output_and_attention_shapes():
    model = ElectrodeAttentionTransformer(make_config(TINY, n_outputs=6), positions=_positions(32)).eval()
    x = torch.randn(5, 32, 4)
    out, maps = model(x, need_weights=True)
    assert out.shape == (5, 6) and len(maps) == 2
    assert maps[0].shape == (5, 2, 32, 32)
    torch.testing.assert_close(maps[1].sum(-1), torch.ones(5, 2, 32))


@pytest.mark.parametrize("n_electrodes", [32, 14, 62, 5])
def test_position_embedding_accepts_any_montage(n_electrodes):
    model = ElectrodeAttentionTransformer(make_config(TINY)).eval()
    positions = torch.as_tensor(_positions(n_electrodes), dtype=torch.float32)
    assert model(torch.randn(3, n_electrodes, 4), positions=positions).shape == (3, 2)


def test_position_model_is_invariant_to_electrode_order():
    # No electrode has a fixed slot: permuting tokens together with their positions changes nothing.
    torch.manual_seed(0)
    model = ElectrodeAttentionTransformer(make_config(TINY)).eval()
    x, positions = torch.randn(4, 10, 4), torch.as_tensor(_positions(10), dtype=torch.float32)
    perm = torch.randperm(10)
    torch.testing.assert_close(model(x, positions), model(x[:, perm], positions[perm]), rtol=1e-4, atol=1e-5)
    # ...but positions matter: the same tokens at other electrodes give other outputs.
    assert not torch.allclose(model(x, positions), model(x, positions[perm]), atol=1e-4)


def test_learned_table_is_tied_to_its_montage():
    model = ElectrodeAttentionTransformer(make_config(TINY, electrodes="learned", n_chans=8))
    with pytest.raises(ValueError, match="learned table for 8 electrodes, got tokens for 9"):
        model(torch.randn(2, 9, 4))
    with pytest.raises(ValueError, match="n_chans .*is required"):
        ElectrodeAttentionTransformer(make_config(TINY, electrodes="learned"))


def test_positions_errors_and_state_dict_is_montage_free():
    model = ElectrodeAttentionTransformer(make_config(TINY))
    with pytest.raises(ValueError, match="positions are needed"):
        model(torch.randn(2, 4, 4))
    with pytest.raises(ValueError, match=r"shape \(n_electrodes, 3\)"):
        model.set_positions(np.zeros((4, 2)))
    model.set_positions(_positions(4))
    with pytest.raises(ValueError, match="4 electrode positions for 6"):
        model(torch.randn(2, 6, 4))
    assert "positions" not in model.state_dict()
    clone = pickle.loads(pickle.dumps(model))
    torch.testing.assert_close(clone.positions, model.positions)


def test_backward_reaches_every_parameter():
    model = ElectrodeAttentionTransformer(make_config("reference", n_chans=6, n_outputs=3))
    model(torch.randn(4, 6, 4)).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_bfloat16_autocast_matches_float32_closely():
    torch.manual_seed(0)
    cfg = make_config(TINY, electrodes="learned", n_chans=8)
    fp32 = ElectrodeAttentionTransformer(cfg).eval()
    bf16 = ElectrodeAttentionTransformer(cfg, autocast_dtype=torch.bfloat16).eval()
    bf16.load_state_dict(fp32.state_dict())
    x = torch.randn(16, 8, 4)
    out, maps = bf16(x, need_weights=True)
    assert out.dtype == torch.float32 and maps[0].dtype == torch.float32
    torch.testing.assert_close(out, fp32(x), atol=0.05, rtol=0.05)


def test_training_step_compiles_without_graph_breaks():
    # Under torch.compile the numba dropout kernels and the head-by-head CPU attention step aside
    # (dynamo cannot trace numba); the compiled graph uses PyTorch's own dropout and SDPA.
    torch.manual_seed(0)
    model = ElectrodeAttentionTransformer(make_config(dict(TINY, dropout=0.1), electrodes="learned", n_chans=5))
    model.train()
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
    x = torch.randn(3, 5, 4)
    compiled(x).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), rtol=1e-5, atol=1e-6)


# ---- braindecode's vocabulary: n_chans, chs_info ----------------------------------------------------

def _chs_info(positions, names=None):
    """MNE-style channel dicts (as raw.info["chs"]): 12-value 'loc' with the position first."""
    names = names or [f"E{i}" for i in range(len(positions))]
    return [{"ch_name": n, "loc": np.r_[p, np.zeros(9)]} for n, p in zip(names, positions, strict=True)]


def test_config_speaks_braindecode_n_chans():
    cfg = make_config("reference", n_chans=6, n_outputs=3)
    assert cfg.n_chans == 6 and "n_electrodes" not in TransformerConfig.__dataclass_fields__
    with pytest.raises(ValueError, match="'n_electrodes' is now 'n_chans'"):
        make_config("reference", n_electrodes=6)
    with pytest.raises(ValueError, match="'n_electrodes' is now 'n_chans'"):
        make_config(dict(TINY, n_electrodes=6))


def test_chs_info_gives_the_positions_and_the_number_of_channels():
    positions = _positions(5)
    torch.manual_seed(0)
    from_positions = ElectrodeAttentionTransformer(make_config(TINY), positions=positions).eval()
    torch.manual_seed(0)
    from_chs = ElectrodeAttentionTransformer(make_config(TINY), chs_info=_chs_info(positions)).eval()
    torch.testing.assert_close(from_chs.positions, from_positions.positions)
    x = torch.randn(3, 5, 4)
    torch.testing.assert_close(from_chs(x), from_positions(x))
    # a learned table takes its size from chs_info when the config leaves n_chans None
    learned = ElectrodeAttentionTransformer(make_config(TINY, electrodes="learned"), chs_info=_chs_info(positions))
    assert learned.config.n_chans == 5 and learned.electrode_table.shape == (5, TINY["embed_dim"])
    with pytest.raises(ValueError, match="n_chans=4 but chs_info describes 5"):
        ElectrodeAttentionTransformer(make_config(TINY, electrodes="learned", n_chans=4), chs_info=_chs_info(positions))
    with pytest.raises(ValueError, match="not both"):
        ElectrodeAttentionTransformer(make_config(TINY), positions=positions, chs_info=_chs_info(positions))
    no_position = _chs_info(positions, ["Fz", "Cz", "Pz", "Oz", "F3"])
    no_position[2]["loc"] = np.full(12, np.nan)  # MNE marks an unknown position with NaN (or zeros)
    with pytest.raises(ValueError, match=r"no position \('loc'\) for 1 channel\(s\), e.g. \['Pz'\]"):
        ElectrodeAttentionTransformer(make_config(TINY), chs_info=no_position)


def test_chs_info_of_an_mne_recording():
    mne = pytest.importorskip("mne")
    from neuroaffect.channels import make_montage

    names = ["Fz", "Cz", "Pz", "O1", "O2"]
    info = mne.create_info(names, sfreq=128.0, ch_types="eeg")
    info.set_montage(make_montage(names))
    model = ElectrodeAttentionTransformer(make_config(TINY), chs_info=info["chs"])
    expected = np.array([ch["loc"][:3] for ch in info["chs"]], dtype=np.float32)
    np.testing.assert_array_equal(model.positions.numpy(), expected)
