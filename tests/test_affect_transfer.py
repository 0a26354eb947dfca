"""Adapters on the real transformer estimator (tiny configuration, CPU, a few epochs)."""

import numpy as np
import pytest

pytest.importorskip("torch")
from neuroaffect.affect import va_bins  # noqa: E402
from neuroaffect.affect.prototypes import model_prototypes  # noqa: E402
from neuroaffect.estimators.transfer import MontageTransfer, pooled_embeddings  # noqa: E402
from neuroaffect.estimators.transformer import (  # noqa: E402
    ElectrodeAttentionClassifier,
    ElectrodeAttentionRegressor,
)

TINY = dict(embed_dim=16, depth=1, n_heads=2, head_dim=8, ffn_dim=16, head_dims=(16,))
TRAIN_CH = ["Fp1", "AF3", "F3", "F7", "FC5", "T7", "P7", "O1", "Fp2", "AF4", "F4", "F8", "FC6", "T8", "P8", "O2"]
TEST_CH = ["AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8", "AF4"]


def _data(ch_names, n=96, seed=0):
    from neuroaffect.channels import ch_positions

    rng = np.random.default_rng(seed)
    side = np.sign(ch_positions(ch_names)[:, 0])
    v = rng.uniform(-1, 1, n)
    X = rng.normal(0, 0.5, (n, len(ch_names), 4)) + v[:, None, None] * side[None, :, None]
    return X.astype(np.float32), v


def _clf(**kw):
    return ElectrodeAttentionClassifier(config=TINY, max_epochs=kw.pop("max_epochs", 8), lr=3e-3, batch_size=16, patience=None,
                                        validation_fraction=0, random_state=0, device="cpu", **kw)


def test_pooled_embeddings_are_the_head_input():
    X, v = _data(TRAIN_CH)
    est = _clf(ch_names=TRAIN_CH, max_epochs=2).fit(X, (v >= 0).astype(int))
    emb = pooled_embeddings(est, X)
    assert emb.shape == (len(X), TINY["embed_dim"]) and np.isfinite(emb).all()
    # the head applied to the pooled embedding gives the estimator's own outputs
    import torch

    head = est.net_.module_.head.eval()  # no dropout
    with torch.no_grad():
        logits = head(torch.as_tensor(emb, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(logits, est._forward(X), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(pooled_embeddings(est, X), emb)  # deterministic (eval mode)
    grid = model_prototypes(lambda Z: pooled_embeddings(est, Z), X, np.column_stack([v, v]), n_bins=3)
    assert grid.present[va_bins(np.column_stack([v, v]), 3)].all()
    np.testing.assert_allclose(np.linalg.norm(grid.prototypes[grid.present], axis=1), 1, rtol=1e-5)


def test_montage_transfer_predicts_on_another_montage():
    X, v = _data(TRAIN_CH, seed=1)
    Xt, vt = _data(TEST_CH, seed=2)
    model = MontageTransfer(_clf(), ch_names=TRAIN_CH).fit(X, (v >= 0).astype(int))
    same = model.predict(X)
    np.testing.assert_array_equal(same, model.estimator_.predict(X))
    model.set_params(ch_names=TEST_CH)
    proba = model.predict_proba(Xt)
    assert proba.shape == (len(Xt), 2)
    np.testing.assert_allclose(proba.sum(1), 1)
    acc = np.mean(model.predict(Xt) == (vt >= 0))
    assert acc > 0.7, acc  # the left-right rule transfers through electrode positions
    assert model.embed(Xt).shape == (len(Xt), TINY["embed_dim"])


def test_montage_transfer_regressor_and_errors():
    X, v = _data(TRAIN_CH, seed=3)
    Xt, _ = _data(TEST_CH, seed=4)
    reg = ElectrodeAttentionRegressor(config=TINY, max_epochs=5, patience=None, validation_fraction=0,
                                      random_state=0, device="cpu")
    model = MontageTransfer(reg, ch_names=TRAIN_CH).fit(X, v)
    assert model.set_params(ch_names=TEST_CH).predict(Xt).shape == (len(Xt),)
    with pytest.raises(ValueError, match="14 names but X has 16"):
        model.predict(X)
    with pytest.raises(ValueError, match="needs ch_names"):
        MontageTransfer(reg).fit(X, v)
    learned = _clf(max_epochs=1).fit(X, (v >= 0).astype(int))  # no ch_names: learned electrode table
    with pytest.raises(ValueError, match="learned electrode table"):
        pooled_embeddings(learned, Xt, ch_names=TEST_CH)
    with pytest.raises(ValueError, match="bands"):
        pooled_embeddings(learned, X[:, :, :2])
