"""DE + linear baselines, braindecode networks, the registry and the electrode-importance topomap."""

import importlib.util
import warnings

import matplotlib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from neuroaffect._keys import keys_table
from neuroaffect.estimators import (
    ESTIMATORS,
    BraindecodeClassifier,
    BraindecodeRegressor,
    ElectrodeAttentionClassifier,
    FlattenTokens,
    de_logistic_regression,
    de_svm,
    make_estimator,
)
from neuroaffect.estimators.interpret import (
    attention_rollout,
    electrode_importance,
    plot_electrode_importance,
)

# The braindecode networks are an optional extra; CI's dev job installs it, so these run there.
needs_braindecode = pytest.mark.skipif(
    importlib.util.find_spec("braindecode") is None,
    reason='braindecode is an optional extra, not installed here: pip install "neuroaffect[braindecode]"',
)

NAMES = ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "O1", "O2"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tokens():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, len(NAMES), 4)).astype(np.float32)
    y = (X[:, 6, 1] + X[:, 7, 1] > 0).astype(int)
    return X, y, np.repeat(np.arange(16), 5)


def test_flatten_tokens_is_electrode_major(tokens):
    X, _, _ = tokens
    flat = FlattenTokens().fit_transform(X)
    assert flat.shape == (80, 32)
    np.testing.assert_array_equal(flat[:, 4:8], X[:, 1, :])
    with pytest.raises(ValueError, match="token shape"):
        FlattenTokens().fit(X).transform(X[:, :, :3])
    bad = X.copy()
    bad[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="inf"):
        FlattenTokens().fit(bad)


@pytest.mark.parametrize("factory", [de_logistic_regression, de_svm])
def test_de_pipelines_learn_and_give_probabilities(tokens, factory):
    X, y, _ = tokens
    model = factory(C=10.0)
    assert isinstance(model, Pipeline) and model[-1].C == 10.0
    model.fit(X[:60], y[:60])
    assert model.score(X[60:], y[60:]) > 0.7
    assert model.predict_proba(X[60:]).shape == (20, 2)


def test_registry_covers_every_name_and_task():
    assert {"de-logreg", "de-svm", "transformer", "transformer-reference", "dgcnn", "eegnet", "tsception"} <= set(ESTIMATORS)
    for name in ESTIMATORS:
        for task in ("classification", "regression"):
            est = make_estimator(name, task=task)
            assert clone(est).get_params().keys() == est.get_params().keys()
            assert (est._estimator_type if hasattr(est, "_estimator_type") else None) in (None, "classifier", "regressor")
    assert make_estimator("dgcnn").model == "dgcnn"
    assert isinstance(make_estimator("eegnet", task="regression"), BraindecodeRegressor)
    with pytest.raises(ValueError, match="'task' parameter"):
        make_estimator("de-svm", task="ranking")


@needs_braindecode
def test_dgcnn_on_de_tokens(tokens):
    X, y, groups = tokens
    clf = BraindecodeClassifier("dgcnn", ch_names=NAMES, max_epochs=20, lr=1e-2, batch_size=16, random_state=0)
    clf.fit(X, y, groups=groups)
    assert clf.predict_proba(X).shape == (80, 2)
    assert clf.score(X, y) > 0.7
    proba, ids = clf.predict_proba_trials(X, groups)
    assert proba.shape == (16, 2) and list(ids) == list(range(16))
    with pytest.raises(ValueError, match="pass ch_names"):
        BraindecodeClassifier("dgcnn").fit(X, y)
    reg = BraindecodeRegressor("dgcnn", ch_names=NAMES, max_epochs=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert reg.fit(X, X[:, 6, 1]).predict(X).shape == (80,)


@needs_braindecode
@pytest.mark.parametrize("model", ["eegnet", "tsception"])
def test_raw_window_networks(model):
    rng = np.random.default_rng(1)
    X = (1e-5 * rng.normal(size=(24, len(NAMES), 256))).astype(np.float32)  # volts
    y = np.arange(24) % 2
    clf = BraindecodeClassifier(model, ch_names=NAMES, sfreq=128.0, max_epochs=1, batch_size=8, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        clf.fit(X, y)
    assert clf.predict(X).shape == (24,)
    with pytest.raises(ValueError, match="256"):
        clf.predict(X[:, :, :200])
    with pytest.raises(ValueError, match=r"\(n_windows, n_channels, n_times\)"):
        clone(clf).fit(X[:, 0], y)


@needs_braindecode
def test_tsception_needs_sfreq():
    with pytest.raises(ValueError, match="sfreq"):
        BraindecodeClassifier("tsception").fit(np.zeros((4, 2, 64)), [0, 1, 0, 1])


# ---- interpretation -----------------------------------------------------------------------------
def test_attention_rollout_closed_form():
    # One layer, uniform attention over 4 tokens: rollout = 0.5 * 1/4 + 0.5 * I.
    maps = [torch.full((1, 2, 4, 4), 0.25)]
    expected = 0.125 + 0.5 * torch.eye(4)
    torch.testing.assert_close(attention_rollout(maps)[0], expected)
    # Two layers multiply (later layer on the left).
    a = torch.softmax(torch.randn(1, 1, 3, 3), -1)
    b = torch.softmax(torch.randn(1, 1, 3, 3), -1)
    mix = lambda m: 0.5 * m[0, 0] + 0.5 * torch.eye(3)  # noqa: E731
    torch.testing.assert_close(attention_rollout([a, b])[0], mix(b) @ mix(a))


def test_electrode_importance_and_topomap(tokens):
    X, y, _ = tokens
    clf = ElectrodeAttentionClassifier(
        config=dict(embed_dim=8, depth=2, n_heads=2, head_dim=4, head_dims=(8,)), ch_names=NAMES,
        max_epochs=2, random_state=0, patience=None,
    ).fit(X, y)
    importance = electrode_importance(clf, X)
    assert importance.shape == (len(NAMES),)
    assert importance.sum() == pytest.approx(1.0) and (importance > 0).all()
    clf.net_.module_.train()
    electrode_importance(clf, X[:5])
    assert clf.net_.module_.training  # the module's mode is restored
    matplotlib.use("Agg")
    fig = plot_electrode_importance(importance, NAMES)
    assert len(fig.axes) == 2  # the topomap and its colour bar
    fig.canvas.draw()
    with pytest.raises(ValueError, match="one value per electrode"):
        plot_electrode_importance(importance[:-1], NAMES)
    with pytest.raises(ValueError, match="Unknown channel"):
        plot_electrode_importance(importance, NAMES[:-1] + ["Qq1"])


# ---- braindecode: labels, fitted checks, inner-split scaling ------------------------------------
@needs_braindecode
def test_braindecode_classifier_rejects_nan_and_continuous_labels(tokens):
    X, y, _ = tokens
    clf = BraindecodeClassifier("dgcnn", ch_names=NAMES, max_epochs=1, patience=None, random_state=0)
    with pytest.raises(ValueError, match=r"y contains NaN labels \(3 of 80\)"):
        clf.fit(X, np.where(np.arange(80) < 3, np.nan, y))
    with pytest.raises(ValueError, match="Unknown label type: continuous.*BraindecodeRegressor"):
        clf.fit(X, np.random.default_rng(0).uniform(1, 9, 80))
    labels = np.array(["high", "low", None], dtype=object)[np.arange(80) % 2]
    labels[0] = np.nan
    with pytest.raises(ValueError, match="NaN labels"):
        clf.fit(X, labels)


@pytest.mark.parametrize("method", ["predict", "predict_proba"])
def test_braindecode_predict_before_fit_raises_not_fitted(tokens, method):
    from sklearn.exceptions import NotFittedError

    X, _, groups = tokens
    for est in (BraindecodeClassifier("dgcnn", ch_names=NAMES), BraindecodeRegressor("dgcnn", ch_names=NAMES)):
        if hasattr(est, method):
            with pytest.raises(NotFittedError):
                getattr(est, method)(X)
    with pytest.raises(NotFittedError):
        BraindecodeClassifier("dgcnn", ch_names=NAMES).predict_trials(X, groups)


@pytest.mark.usefixtures("small_validation")
@needs_braindecode
def test_braindecode_scaling_is_fitted_on_the_inner_training_split(tokens):
    from neuroaffect.estimators.transformer import inner_split

    X, y, groups = tokens
    X = X + np.repeat(np.random.default_rng(2).normal(size=(16, 1, 4)) * 3, 5, axis=0).astype(np.float32)
    target = X[:, 6, 1].astype(float) + np.repeat(np.arange(16.0), 5)
    reg = BraindecodeRegressor("dgcnn", ch_names=NAMES, max_epochs=1, random_state=0).fit(X, target, groups=groups)
    seed = int(np.random.RandomState(0).randint(np.iinfo(np.int32).max))
    train, valid = inner_split(reg, len(X), groups, seed)
    assert len(valid) and not np.allclose(X[train].mean(axis=(0, 1)), X.mean(axis=(0, 1)), atol=1e-3)
    np.testing.assert_allclose(reg.mean_, X[train].mean(axis=(0, 1)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(reg.y_mean_, target[train].mean())
    np.testing.assert_allclose(reg.y_scale_, target[train].std() + 1e-12)


@pytest.mark.usefixtures("small_validation")
@needs_braindecode
def test_braindecode_validation_groups_subject(tokens):
    X, y, _ = tokens
    keys = np.array([f"s{i // 20}/1/{i // 5}" for i in range(80)])
    clf = BraindecodeClassifier("dgcnn", ch_names=NAMES, max_epochs=1, validation_groups="subject", random_state=0)
    assert "valid_loss" in clf.fit(X, y, metadata=keys_table(keys)).net_.history[-1]
    with pytest.raises(ValueError, match="at least 2 subjects"):
        clone(clf).fit(X[:20], y[:20], metadata=keys_table(keys[:20]))


# ---- braindecode's vocabulary: chs_info -------------------------------------------------------------
@needs_braindecode
def test_braindecode_networks_take_chs_info(tokens):
    import mne

    from neuroaffect.channels import make_montage

    X, y, groups = tokens
    info = mne.create_info(NAMES, sfreq=128.0, ch_types="eeg")
    info.set_montage(make_montage(NAMES))  # the standard positions: as ch_names builds them
    fast = dict(max_epochs=2, patience=None, random_state=0)
    by_names = BraindecodeClassifier("dgcnn", ch_names=NAMES, **fast).fit(X, y)
    by_chs = BraindecodeClassifier("dgcnn", chs_info=info["chs"], **fast).fit(X, y)
    np.testing.assert_array_equal(by_chs.predict_proba(X), by_names.predict_proba(X))
    assert [ch["ch_name"] for ch in by_chs.net_.module_.chs_info] == NAMES
    # the recording's own positions reach the network's initial graph
    moved = [dict(ch, loc=ch["loc"] * np.r_[3.0, 1.0, 1.0, np.ones(9)]) for ch in info["chs"]]  # a wider head
    other = BraindecodeClassifier("dgcnn", chs_info=moved, **fast).fit(X, y)
    assert not np.allclose(other.predict_proba(X), by_names.predict_proba(X))
    both = BraindecodeClassifier("dgcnn", ch_names=NAMES, chs_info=info["chs"], **fast)
    assert both.fit(X, y).n_features_in_ == len(NAMES)  # the same channels: fine
    with pytest.raises(ValueError, match="name different channels"):
        clone(both).set_params(ch_names=NAMES[::-1]).fit(X, y)
    with pytest.raises(ValueError, match="chs_info describes 7 channels but X has 8"):
        BraindecodeClassifier("dgcnn", chs_info=info["chs"][:7], **fast).fit(X, y)
    with pytest.raises(ValueError, match="MNE-style channel dicts"):
        BraindecodeClassifier("dgcnn", chs_info=list(NAMES), **fast).fit(X, y)


@needs_braindecode
def test_braindecode_class_weight_dict_weighs_unnamed_classes_one():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4, 64)).astype(np.float32)
    y = np.array(["a"] * 30 + ["b"] * 10)
    clf = BraindecodeClassifier("eegnet", class_weight={"b": 3.0}, max_epochs=1, patience=None,
                               random_state=0).fit(X, y)
    np.testing.assert_allclose(clf.net_.criterion_.weight.numpy(), [1.0, 3.0])


@needs_braindecode
def test_fitted_eegnet_pickles():
    import pickle

    rng = np.random.default_rng(1)
    X = (1e-5 * rng.normal(size=(24, len(NAMES), 128))).astype(np.float32)
    y = np.arange(24) % 2
    clf = BraindecodeClassifier("eegnet", ch_names=NAMES, max_epochs=1, batch_size=8, patience=None,
                                random_state=0).fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
