import numpy as np
import pytest
import torch

from neuroaffect.affect import PrototypeGrid, va_bin_centres, va_bin_edges, va_bins, va_prototypes
from neuroaffect.affect.prototypes import model_prototypes, prototype_alignment_loss


def _reference_bins(va, n_bins):
    """Slow, obvious version: the bin i with edges[i] <= x < edges[i + 1]; x == 1 in the last bin."""
    edges = np.linspace(-1, 1, n_bins + 1)

    def one(x):
        if x == 1.0:
            return n_bins - 1
        return next(i for i in range(n_bins) if edges[i] <= x < edges[i + 1])

    return np.array([one(v) * n_bins + one(a) for v, a in va])


def test_bin_edges_are_inclusive_at_both_ends():
    np.testing.assert_allclose(va_bin_edges(5), [-1, -0.6, -0.2, 0.2, 0.6, 1])
    assert va_bins([[-1, -1], [1, 1], [-1, 1], [1, -1], [0, 0]]).tolist() == [0, 24, 4, 20, 12]
    # an inner edge (as returned by va_bin_edges) belongs to the bin above it, also when a rounding
    # error puts it a few ulp below; a point clearly below it is in the bin below
    e = va_bin_edges(5)
    assert va_bins([[e[1], e[3]], [np.nextafter(e[1], -1), np.nextafter(e[3], -1)]]).tolist() == [8, 8]
    assert va_bins([[e[1] - 1e-6, e[3] - 1e-6]]).tolist() == [2]


def test_converted_ratings_on_an_edge_get_the_bin_above():
    from neuroaffect.affect.scales import get_scale

    # DEAP 5.8 is exactly the edge 0.2 but converts to 0.19999999999999996; 3.4 -> -0.4 is a centre
    deap = get_scale("deap")
    ratings = np.array([5.8, 7.4, 3.4, 2.6, 6.6])
    v = deap.normalize(ratings)
    assert v[0] < 0.2  # the rounding error this guards against
    exact = np.array([3, 4, 1, 1, 3])  # bins of the exact values (edges at 2.6, 4.2, 5.8, 7.4)
    np.testing.assert_array_equal(va_bins(np.column_stack([v, v])), exact * 5 + exact)


@pytest.mark.parametrize("n_bins", [1, 2, 5, 7])
def test_bins_match_reference(n_bins):
    rng = np.random.default_rng(n_bins)
    va = np.vstack([rng.uniform(-1, 1, (500, 2)), np.array(np.meshgrid(va_bin_edges(n_bins), va_bin_edges(n_bins))).reshape(2, -1).T])
    labels = va_bins(va, n_bins)
    np.testing.assert_array_equal(labels, _reference_bins(va, n_bins))
    assert labels.min() >= 0 and labels.max() < n_bins**2
    # every class centre lands in its own class
    np.testing.assert_array_equal(va_bins(va_bin_centres(n_bins), n_bins), np.arange(n_bins**2))


def test_bad_points_give_clear_errors():
    with pytest.raises(ValueError, match="outside the common space"):
        va_bins([[1.0000001, 0.0]])
    with pytest.raises(ValueError, match="NaN"):
        va_bins([[np.nan, 0.0]])
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        va_bins([[0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="n_bins"):
        va_bins([[0.0, 0.0]], n_bins=0)


def _data(n=300, n_features=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_features)), rng.uniform(-1, 1, (n, 2))


def test_prototypes_are_normalised_class_means_and_deterministic():
    emb, va = _data()
    grid = va_prototypes(emb, va)
    labels = va_bins(va)
    for k in range(25):
        expected = emb[labels == k].mean(0)
        np.testing.assert_allclose(grid.prototypes[k], expected / np.linalg.norm(expected), rtol=1e-5, atol=1e-6)
    assert grid.counts.sum() == len(emb) and grid.present.all()
    again = va_prototypes(emb.copy(), va.copy())
    assert np.array_equal(grid.prototypes, again.prototypes)  # bit for bit
    assert grid.prototypes.dtype == np.float32 and not grid.prototypes.flags.writeable


def test_empty_bins_are_masked_or_raise():
    emb, _ = _data(n=4)
    va = np.array([[-1, -1], [-0.9, -0.9], [1, 1], [0.99, 0.7]])
    grid = va_prototypes(emb, va)
    assert grid.present.tolist() == [k in (0, 24) for k in range(25)]
    assert (grid.prototypes[~grid.present] == 0).all()
    with pytest.raises(ValueError, match="have no sample"):
        va_prototypes(emb, va, empty="raise")
    with pytest.raises(ValueError, match="4 embeddings but 3"):
        va_prototypes(emb, va[:3])
    with pytest.raises(ValueError, match="NaN"):
        va_prototypes(np.full((4, 8), np.nan), va)


def test_model_prototypes_uses_the_embedding_function():
    emb, va = _data()
    grid = model_prototypes(lambda X: torch.as_tensor(X) * 2.0, emb, va)
    np.testing.assert_allclose(grid.prototypes, va_prototypes(emb, va).prototypes, atol=1e-6)
    with pytest.raises(TypeError, match="callable"):
        model_prototypes("embed", emb, va)


def test_alignment_loss_matches_manual_computation():
    emb, va = _data(n=64)
    grid = va_prototypes(emb, va, n_bins=2)
    labels = va_bins(va, n_bins=2)
    z = torch.tensor(emb, dtype=torch.float64, requires_grad=True)
    loss = prototype_alignment_loss(z, torch.as_tensor(labels), grid, temperature=0.5)
    zn = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    logits = zn @ grid.prototypes.astype(np.float64).T / 0.5
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    np.testing.assert_allclose(loss.item(), -logp[np.arange(64), labels].mean(), rtol=1e-6)
    loss.backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()


def test_alignment_loss_rewards_alignment_and_freezes_prototypes():
    protos = torch.nn.functional.normalize(torch.randn(4, 6, generator=torch.Generator().manual_seed(0)), dim=1)
    protos.requires_grad_(True)
    labels = torch.tensor([0, 1, 2, 3])
    aligned = prototype_alignment_loss(protos.detach() * 3.0, labels, protos, temperature=0.1)
    shuffled = prototype_alignment_loss(protos.detach()[[1, 2, 3, 0]], labels, protos, temperature=0.1)
    assert aligned < shuffled
    z = torch.randn(4, 6, requires_grad=True)
    prototype_alignment_loss(z, labels, protos).backward()
    assert protos.grad is None and z.grad is not None


def test_alignment_loss_masks_absent_classes():
    protos = np.eye(3, dtype=np.float32)
    z = torch.tensor([[1.0, 0.0, 1.0]])
    masked = prototype_alignment_loss(z, [0], PrototypeGrid(protos, np.array([1, 0, 0]), 1), temperature=1.0)
    assert masked.item() == pytest.approx(0.0, abs=1e-6)  # the only present class
    full = prototype_alignment_loss(z, [0], protos, temperature=1.0)
    assert full.item() > 0.5
    with pytest.raises(ValueError, match="no prototype"):
        prototype_alignment_loss(z, [1], protos, present=[True, False, True])


def test_alignment_loss_bad_input():
    z = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="temperature"):
        prototype_alignment_loss(z, [0, 1], np.eye(3), temperature=0)
    with pytest.raises(ValueError, match=r"shape \(n_classes, 3\)"):
        prototype_alignment_loss(z, [0, 1], np.eye(4))
    with pytest.raises(ValueError, match="0..2"):
        prototype_alignment_loss(z, [0, 3], np.eye(3))
    with pytest.raises(ValueError, match=r"bin_labels must have shape \(2,\)"):
        prototype_alignment_loss(z, [0], np.eye(3))
