"""Dropout with the cheap CPU mask behaves like nn.Dropout."""

import pytest
import torch

from neuroaffect.models.dropout import Dropout, dropout, keep_mask


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


def test_dropout_scales_kept_values_and_masks_gradients():
    torch.manual_seed(1)
    x = torch.randn(64, 33, requires_grad=True)
    y = dropout(x, 0.25)
    kept = y != 0
    torch.testing.assert_close(y[kept], x[kept] / 0.75)
    y.sum().backward()
    torch.testing.assert_close(x.grad, kept.float() / 0.75)


def test_same_seed_same_mask_and_eval_is_identity():
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
