"""The prototype-alignment term of the electrode-attention estimators (tiny models, CPU)."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone

from neuroaffect.affect.grid import va_bins, va_prototypes
from neuroaffect.affect.prototypes import model_prototypes, prototype_alignment_loss
from neuroaffect.estimators import ElectrodeAttentionClassifier, ElectrodeAttentionRegressor
from neuroaffect.estimators.transfer import pooled_embeddings

E = 16
TINY = dict(embed_dim=E, depth=1, n_heads=2, head_dim=8, ffn_dim=16, head_dims=(16,), dropout=0.0)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_data(n=160, seed=0):
    """Tokens whose electrodes carry valence (a left-right gradient) and arousal (band 0)."""
    rng = np.random.default_rng(seed)
    va = rng.uniform(-1, 1, (n, 2))
    X = rng.normal(size=(n, 6, 4)) + va[:, 0, None, None] * np.linspace(-1, 1, 6)[None, :, None]
    X[:, :, 0] += va[:, 1, None]
    return X.astype(np.float32), (va[:, 0] > 0).astype(int), va


def random_prototypes(n_bins=3, seed=1):
    p = np.random.default_rng(seed).normal(size=(n_bins**2, E))
    return (p / np.linalg.norm(p, axis=1, keepdims=True)).astype(np.float32)


def clf(**params):
    base = dict(config=TINY, max_epochs=12, batch_size=32, lr=3e-3, patience=None, random_state=0, device="cpu")
    return ElectrodeAttentionClassifier(**{**base, **params})


def alignment_accuracy(est, X, va, protos):
    z = est.embed(X)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    return np.mean((z @ protos.T).argmax(1) == va_bins(va, round(len(protos) ** 0.5)))


def test_zero_weight_changes_nothing_and_positive_weight_changes_training():
    X, y, va = make_data()
    protos = random_prototypes()
    plain = clf().fit(X, y)
    off = clf(prototypes=protos, prototype_weight=0.0).fit(X, y, va=va)
    np.testing.assert_array_equal(off.predict_proba(X), plain.predict_proba(X))
    on = clf(prototypes=protos, prototype_weight=0.5).fit(X, y, va=va)
    assert not np.allclose(on.predict_proba(X), plain.predict_proba(X))


def test_embeddings_move_towards_their_prototype_and_same_seed_same_result():
    X, y, va = make_data(seed=2)
    protos = random_prototypes()
    before = alignment_accuracy(clf(max_epochs=20).fit(X, y), X, va, protos)
    params = dict(max_epochs=20, prototypes=protos, prototype_weight=1.0)
    a = clf(**params).fit(X, y, va=va)
    after = alignment_accuracy(a, X, va, protos)
    assert after > before + 0.1 and after > 2 / 9, (before, after)  # chance is 1/9
    b = clf(**params).fit(X, y, va=va)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.embed(X), b.embed(X))


def test_training_loss_is_task_loss_plus_weighted_alignment():
    X, y, va = make_data(n=64, seed=3)
    grid = va_prototypes(np.random.default_rng(4).normal(size=(len(X), E)), va, n_bins=5)  # some classes empty
    est = clf(max_epochs=1, prototypes=grid, prototype_weight=0.7, prototype_temperature=0.2).fit(X, y, va=va)
    net, module = est.net_, est.net_.module_.eval()
    Xs = torch.from_numpy(((X - est.mean_) / est.scale_).astype(np.float32))
    bins = torch.as_tensor(va_bins(va, 5))
    target = torch.as_tensor(y)[:, None]
    logits, z = net.infer({"x": Xs, "bins": bins})
    loss = net.get_loss((logits, z), target, X={"x": Xs, "bins": bins}, training=True)
    expected = net.criterion_(logits, target) + 0.7 * prototype_alignment_loss(z, bins, grid, 0.2)
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(z, module.embed(Xs))
    torch.testing.assert_close(logits, module(Xs))
    # windows whose class has no prototype (-1) add nothing to the alignment term
    keep = bins[:40].clone()
    bins_missing = bins.clone()
    bins_missing[40:] = -1
    partial = net.get_loss((logits, z), target, X={"x": Xs, "bins": bins_missing}, training=True)
    expected = net.criterion_(logits, target) + 0.7 * prototype_alignment_loss(z[:40], keep, grid, 0.2)
    torch.testing.assert_close(partial, expected)


@pytest.mark.usefixtures("small_validation")
def test_teacher_prototypes_through_the_public_embedding():
    X, y, va = make_data(seed=5)
    teacher = clf(max_epochs=4).fit(X, y)
    np.testing.assert_allclose(teacher.embed(X), pooled_embeddings(teacher, X), rtol=1e-6, atol=1e-6)
    grid = model_prototypes(teacher.embed, X, va, n_bins=5)
    student = ElectrodeAttentionRegressor(config=TINY, max_epochs=3, patience=None, prototypes=grid,
                                          prototype_weight=0.3, random_state=0, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # groups given: early stopping on a grouped split, no warning
        student.set_params(patience=2).fit(X, va, groups=np.arange(len(X)) // 8, va=va)
    assert student.predict(X).shape == va.shape and "valid_loss" in student.net_.history[-1]


def test_bad_prototype_inputs():
    X, y, va = make_data(n=40, seed=6)
    protos = random_prototypes()
    est = clf(max_epochs=1, prototypes=protos, prototype_weight=0.5)
    with pytest.raises(ValueError, match="8 features but the model's embedding has embed_dim=16"):
        clone(est).set_params(prototypes=protos[:, :8]).fit(X, y, va=va)
    with pytest.raises(ValueError, match="not a square number"):
        clone(est).set_params(prototypes=protos[:8]).fit(X, y, va=va)
    with pytest.raises(ValueError, match=r"va must have shape \(n_windows, 2\).*n_windows=40.*\(39, 2\)"):
        clone(est).fit(X, y, va=va[:-1])
    bad = va.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"va contains 1 non-finite value\(s\) \(NaN first at index \(3, 1\)\)"):
        clone(est).fit(X, y, va=bad)
    with pytest.raises(ValueError, match="outside the common space"):
        clone(est).fit(X, y, va=va * 3)
    with pytest.raises(ValueError, match="needs va="):
        clone(est).fit(X, y)
    with pytest.raises(ValueError, match="needs prototypes"):
        clone(est).set_params(prototypes=None).fit(X, y, va=va)
    with pytest.raises(ValueError, match="'prototype_weight' parameter"):
        clone(est).set_params(prototype_weight=-1.0).fit(X, y, va=va)
    with pytest.raises(ValueError, match="'prototype_temperature' parameter"):
        clone(est).set_params(prototype_temperature=0.0).fit(X, y, va=va)
    nan_protos = protos.copy()
    nan_protos[0, 0] = np.nan
    with pytest.raises(ValueError, match="prototypes contain NaN"):
        clone(est).set_params(prototypes=nan_protos).fit(X, y, va=va)
