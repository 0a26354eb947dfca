"""Adapters on the real transformer estimator (tiny configuration, CPU, a few epochs)."""

import pickle
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, is_classifier, is_regressor
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import r2_score

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
    # score: the classifier's own (window accuracy) on the current montage; the fitted estimator is untouched
    assert is_classifier(model) and not is_regressor(model)
    assert model.score(Xt, (vt >= 0).astype(int)) == pytest.approx(acc)
    assert "predict" not in vars(model.estimator_)
    thresholded = MontageTransfer(_clf(threshold=0.0, max_epochs=1), ch_names=TRAIN_CH).fit(X, v)
    thresholded.set_params(ch_names=TEST_CH)
    assert thresholded.score(Xt, vt) == pytest.approx(np.mean(thresholded.predict(Xt) == (vt >= 0)))


def test_montage_transfer_regressor_and_errors():
    X, v = _data(TRAIN_CH, seed=3)
    Xt, _ = _data(TEST_CH, seed=4)
    reg = ElectrodeAttentionRegressor(config=TINY, max_epochs=5, patience=None, validation_fraction=0,
                                      random_state=0, device="cpu")
    model = MontageTransfer(reg, ch_names=TRAIN_CH).fit(X, v)
    assert model.set_params(ch_names=TEST_CH).predict(Xt).shape == (len(Xt),)
    assert is_regressor(model) and not hasattr(model, "predict_proba")  # only where the estimator has it
    _, vt = _data(TEST_CH, seed=4)
    assert model.score(Xt, vt) == pytest.approx(r2_score(vt, model.predict(Xt)))
    with pytest.raises(ValueError, match="14 names but X has 16"):
        model.predict(X)
    with pytest.raises(ValueError, match="needs ch_names"):
        MontageTransfer(reg).fit(X, v)
    learned = _clf(max_epochs=1).fit(X, (v >= 0).astype(int))  # no ch_names: learned electrode table
    with pytest.raises(ValueError, match="learned electrode table"):
        pooled_embeddings(learned, Xt, ch_names=TEST_CH)
    with pytest.raises(ValueError, match="bands"):
        pooled_embeddings(learned, X[:, :, :2])


# ---- review fixes: routing, the estimator's montage capability, optional methods, old paths ------

class _ArgumentMontage(ClassifierMixin, BaseEstimator):
    """Reads another montage from predict's ch_names argument; its fit takes X and y only."""

    ch_names_at_predict = "argument"

    def __init__(self, ch_names=None):
        self.ch_names = ch_names

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X, ch_names=None):
        return np.full(len(X), self.classes_[len(ch_names or self.ch_names) % len(self.classes_)])


class _ArgumentMontageWithMetadata(_ArgumentMontage):
    """As above, and requests groups and held_out in fit (as the transformers do)."""

    __metadata_request__fit = {"groups": True, "held_out": True}
    log = []

    def fit(self, X, y, groups=None, held_out=None):
        _ArgumentMontageWithMetadata.log.append((groups, held_out))
        return super().fit(X, y)


def test_montage_transfer_routes_fit_metadata_only_where_requested():
    from neuroaffect.evaluation.jobs import _consumed

    X, y, keys = np.zeros((8, 3, 2)), np.arange(8) % 2, np.repeat(np.arange(4), 2)
    plain = MontageTransfer(_ArgumentMontage(), ch_names=["Fz", "Cz", "Pz"])
    plain.fit(X, y)  # no metadata, routing disabled: the estimator's fit(X, y) is all it needs
    with sklearn.config_context(enable_metadata_routing=True):
        plain.fit(X, y)
        assert _consumed(plain, "fit", groups=keys, held_out="subject") == {}  # what the runner passes
        with pytest.raises(TypeError, match="groups"):  # scikit-learn's error: nothing consumes groups
            plain.fit(X, y, groups=keys)
    spy = MontageTransfer(_ArgumentMontageWithMetadata(), ch_names=["Fz", "Cz", "Pz"])
    _ArgumentMontageWithMetadata.log = []
    with sklearn.config_context(enable_metadata_routing=True):
        assert set(_consumed(spy, "fit", groups=keys, held_out="subject")) == {"groups", "held_out"}
        spy.fit(X, y, groups=keys, held_out="subject")
        spy.fit(X, y)
    spy.fit(X, y, groups=keys, held_out="trial")  # routing disabled: passed on as given (backward compatible)
    spy.fit(X, y)
    (g1, h1), (g2, h2), (g3, h3), (g4, h4) = _ArgumentMontageWithMetadata.log
    np.testing.assert_array_equal(g1, keys)
    np.testing.assert_array_equal(g3, keys)
    assert (h1, g2, h2, h3, g4, h4) == ("subject", None, None, "trial", None, None)
    with pytest.raises(TypeError, match="groups"):  # routing disabled: the estimator's own fit refuses it
        plain.fit(X, y, groups=keys)


def test_montage_transfer_refuses_an_estimator_that_cannot_take_another_montage():
    from sklearn.pipeline import Pipeline

    from neuroaffect.estimators import make_estimator

    X, y = np.zeros((8, 3, 2), np.float32), np.arange(8) % 2
    pipeline = make_estimator("aligned-transformer")
    assert isinstance(pipeline, Pipeline)

    class ParameterMontage(_ArgumentMontage):
        ch_names_at_predict = "parameter"

    for estimator, what in [(pipeline, "Pipeline, which has no ch_names parameter"),
                            (LogisticRegression(), "LogisticRegression, which has no ch_names parameter"),
                            (ParameterMontage(), "ParameterMontage, which reads the montage from its ch_names "
                                                 "parameter at predict time")]:
        with pytest.raises(ValueError, match=f"'estimator' parameter must read another montage.*"
                                             f"ch_names_at_predict='argument'.*got {what}"):
            MontageTransfer(estimator, ch_names=["Fz", "Cz", "Pz"]).fit(X, y)
    MontageTransfer(_ArgumentMontage(), ch_names=["Fz", "Cz", "Pz"]).fit(X, y)  # "argument": accepted


def test_montage_transfer_takes_the_wrapped_estimators_type_and_methods():
    X, y = np.zeros((8, 3, 2)), np.arange(8) % 2
    clf = MontageTransfer(ElectrodeAttentionClassifier())
    assert is_classifier(clf) and not is_regressor(clf)
    assert is_regressor(MontageTransfer(ElectrodeAttentionRegressor()))
    assert all(hasattr(clf, m) for m in ("predict_proba", "embed", "electrode_importance", "score"))
    assert not hasattr(MontageTransfer(ElectrodeAttentionRegressor()), "predict_proba")
    bare = MontageTransfer(_ArgumentMontage(), ch_names=["Fz", "Cz", "Pz"]).fit(X, y)
    assert is_classifier(bare)
    for method in ("predict_proba", "embed", "electrode_importance"):
        assert not hasattr(bare, method), method
    assert bare.predict(X).tolist() == [1] * 8  # 3 names: class 3 % 2
    bare.set_params(ch_names=["Fz", "Cz"])
    assert bare.predict(X[:, :2]).tolist() == [0] * 8 and bare.score(X[:, :2], y) == 0.5
    assert "predict" not in vars(bare.estimator_)


def test_old_import_path_warns_and_unpickles():
    import neuroaffect.affect.transfer as old
    from neuroaffect.estimators import transfer

    for name in ("MontageTransfer", "pooled_embeddings"):
        with pytest.warns(FutureWarning, match="moved to neuroaffect.estimators; the old path will be removed"):
            assert getattr(old, name) is getattr(transfer, name)
    with pytest.warns(FutureWarning, match="MontageTransfer moved"):
        from neuroaffect.affect.transfer import MontageTransfer as Old  # noqa: N814
    assert Old is MontageTransfer
    with pytest.raises(AttributeError, match="no attribute 'other'"):
        old.other  # noqa: B018
    # a pickle made before the move names the old module (protocol 2: the class as "module\nname")
    data = pickle.dumps(MontageTransfer(_ArgumentMontage(), ch_names=["Fz"]), protocol=2)
    data = data.replace(b"neuroaffect.estimators.transfer\nMontageTransfer", b"neuroaffect.affect.transfer\nMontageTransfer")
    assert b"neuroaffect.affect.transfer" in data
    with pytest.warns(FutureWarning, match="moved to neuroaffect.estimators"):
        restored = pickle.loads(data)
    assert type(restored) is MontageTransfer and restored.ch_names == ["Fz"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from neuroaffect.estimators import MontageTransfer as New  # the new path: no warning
    assert New is MontageTransfer


def test_removed_fmri_names_name_their_replacement():
    import neuroaffect.fmri as fmri

    for name in ("iter_splits", "cross_val_predict"):
        with pytest.raises(AttributeError, match=rf"neuroaffect.fmri.{name} was removed.*neuroaffect.fmri.StimulusKFold.*"
                                                 r"sklearn.model_selection.cross_val_predict\(est, responses.X, Y, "
                                                 r"cv=StimulusKFold\(...\), groups=responses.trial_key\)"):
            getattr(fmri, name)
        assert not hasattr(fmri, name)
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        fmri.nothing  # noqa: B018
