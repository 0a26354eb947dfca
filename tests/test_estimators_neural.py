"""What the neural estimators share (estimators/neural.py) and their skorch net (estimators/_net.py)."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import DataConversionWarning
from torch import nn
from torch.nn.utils import parametrize

from neuroaffect.estimators.neural import (
    check_window_labels,
    class_weights,
    cosine_schedule,
    encode_classes,
    fit_seed,
    seeded,
    training_plan,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class _Estimator:
    lr, max_epochs, patience = 1e-2, 4, 2


def test_class_weights_balanced_dict_and_none():
    classes = np.array(["a", "b", "c"])
    codes = np.array([0, 0, 0, 1])  # "c" absent from the training windows
    np.testing.assert_allclose(class_weights("balanced", classes, codes), [4 / 9, 4 / 3, 0.0])
    # a dict: classes it does not name weigh 1 (scikit-learn's convention)
    np.testing.assert_allclose(class_weights({"b": 3.0}, classes, codes), [1.0, 3.0, 1.0])
    assert class_weights(None, classes, codes) is None
    with pytest.raises(ValueError, match="'class_weight' parameter"):
        class_weights("inverse", classes, codes)


def test_encode_classes_and_window_labels():
    classes, codes = encode_classes(np.array(["low", "high", "low"]), hint="binarise")
    assert classes.tolist() == ["high", "low"] and codes.tolist() == [1, 0, 1] and codes.dtype == np.int64
    with pytest.raises(ValueError, match="only one class"):
        encode_classes(np.zeros(4), hint="binarise")
    with pytest.raises(ValueError, match="Unknown label type: continuous.*binarise"):
        encode_classes(np.linspace(0, 1, 5), hint="binarise")

    est = _Estimator()
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        assert check_window_labels(est, np.zeros((4, 1)), 4).shape == (4,)
    with pytest.raises(ValueError, match="_Estimator requires y to be passed, but the target y is None"):
        check_window_labels(est, None, 4)
    with pytest.raises(ValueError, match=r"one label per window \(4,\), got shape \(4, 2\)"):
        check_window_labels(est, np.zeros((4, 2)), 4)
    with pytest.raises(ValueError, match=r"one label per window \(4,\), got shape \(3,\)"):
        check_window_labels(est, np.zeros(3), 4)


def test_seeded_forks_torch_generator_and_fit_seed_is_reproducible():
    assert fit_seed(0) == int(np.random.RandomState(0).randint(np.iinfo(np.int32).max))
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    with seeded(7):
        a = torch.rand(3)
    with seeded(7):
        b = torch.rand(3)
    torch.testing.assert_close(a, b)
    assert torch.equal(torch.random.get_rng_state(), before)  # the caller's stream is untouched


def test_cosine_schedule_per_epoch_and_per_batch():
    assert cosine_schedule(1e-2, 10).step_every == "epoch"
    per_batch = cosine_schedule(1e-2, 10, steps_per_epoch=3)
    assert per_batch.step_every == "batch" and per_batch.kwargs == {"T_max": 30, "eta_min": 1e-5}
    plan = training_plan(_Estimator(), np.zeros((6, 2)), np.zeros(6), None)
    assert plan["train_split"] is None and [name for name, _ in plan["callbacks"]] == ["lr_schedule"]
    plan = training_plan(_Estimator(), np.zeros((6, 2)), np.zeros(6), np.array([4, 5]))
    assert [name for name, _ in plan["callbacks"]] == ["lr_schedule", "early_stopping"]
    assert plan["callbacks"][1][1].patience == 2 and plan["train_split"] is not None


# ---- the skorch net: modules with torch parametrizations pickle ------------------------------------

class _UnitNorm(nn.Module):
    def forward(self, w):
        return w / w.norm(dim=1, keepdim=True).clamp_min(1.0)


class _Constrained(nn.Module):
    """A module whose weight carries a torch parametrization (as braindecode's EEGNet does)."""

    def __init__(self, n_in=4, n_out=2):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)
        parametrize.register_parametrization(self.linear, "weight", _UnitNorm())

    def forward(self, x):
        return self.linear(x)


def _fitted_net():
    from neuroaffect.estimators._net import Net

    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    net = Net(_Constrained, criterion=nn.CrossEntropyLoss, optimizer=torch.optim.AdamW, lr=1e-2, max_epochs=3,
              batch_size=8, train_split=None, verbose=0)
    with seeded(0):
        net.fit(X, y)
    return net, X, y


def test_net_pickles_a_parametrized_module_through_its_state_dict(tmp_path):
    net, X, y = _fitted_net()
    with pytest.raises(RuntimeError, match="parametrized modules"):
        pickle.dumps(net.module_)  # what skorch's own pickling runs into
    torch.manual_seed(5)
    before = torch.random.get_rng_state()
    copy = pickle.loads(pickle.dumps(net))
    assert torch.equal(torch.random.get_rng_state(), before)  # rebuilding the module drew nothing
    assert parametrize.is_parametrized(copy.module_.linear)
    np.testing.assert_array_equal(copy.predict_proba(X), net.predict_proba(X))
    # the optimizer is rebuilt on the new module's parameters, with its state: training goes on
    params = {id(p) for p in copy.module_.parameters()}
    assert all(id(p) in params for group in copy.optimizer_.param_groups for p in group["params"])
    assert copy.optimizer_.state_dict()["state"].keys() == net.optimizer_.state_dict()["state"].keys()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        copy.partial_fit(X, y)
    assert len(copy.history) == 6  # 3 more epochs
    # and in a fresh process
    (tmp_path / "net.pkl").write_bytes(pickle.dumps(net))
    np.save(tmp_path / "X.npy", X)
    code = ("import pickle, sys, numpy as np; from pathlib import Path; d = Path(sys.argv[1]); "
            "sys.path.insert(0, sys.argv[2]); "
            "net = pickle.loads((d / 'net.pkl').read_bytes()); np.save(d / 'out.npy', net.predict_proba(np.load(d / 'X.npy')))")
    subprocess.run([sys.executable, "-c", code, str(tmp_path), str(__import__("pathlib").Path(__file__).parent)],
                   check=True, capture_output=True, text=True)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), net.predict_proba(X))


def test_net_without_parametrizations_pickles_as_in_skorch():
    from neuroaffect.estimators._net import Net

    net = Net(nn.Linear, module__in_features=3, module__out_features=1, criterion=nn.MSELoss, max_epochs=1,
              train_split=None, verbose=0).fit(np.ones((4, 3), np.float32), np.ones((4, 1), np.float32))
    assert Net._STATE_DICTS not in net.__getstate__()
    copy = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(copy.predict(np.ones((2, 3), np.float32)), net.predict(np.ones((2, 3), np.float32)))
