"""Metadata by routing (groups, the protocol's held-out unit), the montage as a predict argument,
electrode importance as a method (issue 14, items 3 and 4). Tiny models, CPU, a few epochs."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import neuroaffect
from neuroaffect._keys import keys_table, table_keys
from neuroaffect.datasets import make_tokens
from neuroaffect.estimators import (
    ElectrodeAttentionClassifier,
    ElectrodeAttentionRegressor,
    MontageTransfer,
    SubjectStandardScaler,
    pooled_embeddings,
)
from neuroaffect.estimators.neural import resolve_validation_groups
from neuroaffect.evaluation import cross_validate_subjects, nested

TINY = dict(embed_dim=16, depth=1, n_heads=2, head_dim=8, ffn_dim=16, head_dims=(16,), dropout=0.0)
TRAIN_CH = ["Fp1", "AF3", "F3", "F7", "FC5", "T7", "P7", "O1", "Fp2", "AF4", "F4", "F8", "FC6", "T8", "P8", "O2"]
TEST_CH = ["AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8", "AF4"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _clf(**kw):
    params = dict(config=TINY, max_epochs=1, lr=3e-3, batch_size=16, patience=2, random_state=0, device="cpu")
    return ElectrodeAttentionClassifier(**{**params, **kw})


def _subject_data(n_subjects=4, n_trials=6, n_windows=2, seed=0):
    """Tokens (n, 4, 3), labels and trial keys "sXX/1/t" of several subjects."""
    rng = np.random.default_rng(seed)
    keys = np.array([f"s{s:02d}/1/{t}" for s in range(1, n_subjects + 1) for t in range(n_trials)
                     for _ in range(n_windows)])
    y = np.array([t % 2 for s in range(n_subjects) for t in range(n_trials) for _ in range(n_windows)])
    X = rng.normal(size=(len(keys), 4, 3)).astype(np.float32) + y[:, None, None]
    return X, y, keys


@pytest.fixture
def split_log(monkeypatch):
    """Every early-stopping split of the electrode-attention estimators: (groups, held_out, resolved unit),
    and in ``.tables`` the metadata each received."""
    import neuroaffect.estimators._electrode_attention as ea

    class Log(list):
        tables = []  # per split: the metadata (id table) the fit received, or None

    log, inner_split = Log(), ea.inner_split
    log.tables = []

    def spy(estimator, n, groups, seed, classes=None, held_out=None, metadata=None):
        unit = (None if groups is None and metadata is None
                else resolve_validation_groups(estimator.validation_groups, groups, held_out, metadata))
        log.append((None if groups is None else np.asarray(groups), held_out, unit))
        log.tables.append(metadata)
        return inner_split(estimator, n, groups, seed, classes, held_out=held_out, metadata=metadata)

    monkeypatch.setattr(ea, "inner_split", spy)
    return log


# ---- item 3: groups and held_out by metadata routing -----------------------------------------------

def test_neural_estimators_request_groups_metadata_and_held_out_by_default():
    from neuroaffect.estimators import BraindecodeClassifier, BraindecodeRegressor

    for est in (ElectrodeAttentionClassifier(), ElectrodeAttentionRegressor(), BraindecodeClassifier(),
                BraindecodeRegressor()):  # MontageTransfer routes its estimator's requests: see the test below
        requests = est.get_metadata_routing().fit.requests
        assert requests["groups"] is requests["metadata"] is requests["held_out"] is True, type(est).__name__


@pytest.mark.usefixtures("small_validation")
def test_pipeline_with_subject_alignment_routes_the_id_table_to_both_steps():
    X, y, keys = _subject_data()
    table = keys_table(keys)
    pipe = make_pipeline(SubjectStandardScaler(), _clf())
    with sklearn.config_context(enable_metadata_routing=True):
        pipe.fit(X, y, metadata=table)  # both requests are class defaults: nothing to set
        proba = pipe.predict_proba(X, metadata=table)
    assert pipe[0].subjects_.tolist() == ["s01", "s02", "s03", "s04"]
    final = pipe[-1]
    assert final.early_stopping_ and final.validation_groups_ == "trial"
    assert "valid_loss" in final.net_.history[-1]
    assert proba.shape == (len(X), 2)
    with sklearn.config_context(enable_metadata_routing=True):  # held_out travels the same way
        pipe.fit(X, y, metadata=table, held_out="subject")
    assert pipe[-1].validation_groups_ == "subject"
    with sklearn.config_context(enable_metadata_routing=True), pytest.warns(FutureWarning, match="deprecated"):
        pipe.fit(X, y, groups=keys)  # 0.1's way: the alignment still reads subjects from the keys, and warns
    assert pipe[0].subjects_.tolist() == ["s01", "s02", "s03", "s04"] and pipe[-1].early_stopping_


@pytest.mark.usefixtures("small_validation")
def test_a_plain_grid_search_routes_groups_to_the_transformer():
    from neuroaffect.evaluation import TrialKFold

    X, y, keys = _subject_data()
    search = GridSearchCV(_clf(), {"lr": [1e-3, 3e-3]}, cv=TrialKFold(2, random_state=0))
    with sklearn.config_context(enable_metadata_routing=True):
        search.fit(X, y, groups=keys)
    assert search.best_estimator_.early_stopping_


class _Spy(ClassifierMixin, BaseEstimator):
    """Records the groups and held_out of every fit; requests both by default."""

    __metadata_request__fit = {"groups": True, "held_out": True}
    log = []

    def __init__(self, c=1.0):
        self.c = c

    def fit(self, X, y, groups=None, held_out=None):
        _Spy.log.append((None if groups is None else np.asarray(groups), held_out))
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_runner_routes_groups_through_a_plain_grid_search_and_a_pipeline():
    tok = make_tokens(n_subjects=4, n_trials=6, n_windows=2)
    keys = np.asarray(tok.trial_key)
    _Spy.log = []
    search = GridSearchCV(make_pipeline(FunctionTransformer(), _Spy()), {"_spy__c": [1.0, 2.0]}, cv=GroupKFold(2))
    cross_validate_subjects(tok, search, protocol="leave-one-subject-out", progress=False)
    assert len(_Spy.log) == 4 * (2 * 2 + 1)  # 4 outer folds, 2 x 2 inner fits and a refit each
    for groups, held_out in _Spy.log:
        assert groups is not None and set(groups) <= set(keys) and held_out == "subject"


def test_runner_passes_metadata_only_where_consumed():
    from neuroaffect.evaluation.jobs import _consumed

    with sklearn.config_context(enable_metadata_routing=True):
        assert _consumed(LogisticRegression(), "fit", groups=np.arange(3), held_out="subject") == {}
        assert set(_consumed(_Spy(), "fit", groups=np.arange(3), held_out="subject")) == {"groups", "held_out"}
        assert set(_consumed(make_pipeline(SubjectStandardScaler(), LogisticRegression()), "predict",
                             groups=np.arange(3), metadata=keys_table(["a/1/1"] * 3))) == {"groups", "metadata"}
        assert set(_consumed(make_pipeline(SubjectStandardScaler().set_transform_request(groups=False), LogisticRegression()),
                             "predict", groups=np.arange(3), metadata=keys_table(["a/1/1"] * 3))) == {"metadata"}
        assert set(_consumed(GridSearchCV(LogisticRegression(), {"C": [1.0]}, cv=GroupKFold(2)), "fit",
                             groups=np.arange(3), held_out="subject")) == {"groups"}  # the splitter's
        assert _consumed(GridSearchCV(LogisticRegression(), {"C": [1.0]}, cv=3), "fit", groups=np.arange(3)) == {}


def test_resolve_validation_groups_keeps_the_rule():
    keys3 = np.array([f"s{s}/1/{t}" for s in range(3) for t in range(4)])
    table3 = keys_table(keys3)
    assert resolve_validation_groups("auto", keys3, "subject", table3) == "subject"
    assert resolve_validation_groups("auto", None, "subject", table3) == "subject"
    assert resolve_validation_groups("auto", keys3[:8], "subject", table3[:8]) == "trial"  # 2 subjects: too few
    assert resolve_validation_groups("auto", keys3, "trial", table3) == "trial"
    assert resolve_validation_groups("auto", keys3, None, table3) == "trial"
    assert resolve_validation_groups("auto", None, "subject") == "trial"
    assert resolve_validation_groups("trial", keys3, "subject", table3) == "trial"  # an explicit choice stays
    assert resolve_validation_groups("subject", keys3[:8], None) == "subject"
    with pytest.raises(ValueError, match="'held_out'"):
        resolve_validation_groups("auto", keys3, "session")
    # subjects read from trial keys alone: deprecated, same answer
    with pytest.warns(FutureWarning, match="deprecated since 0.2.*metadata=tokens.metadata"):
        assert resolve_validation_groups("auto", keys3, "subject") == "subject"


def test_early_stopping_units_come_from_the_table_not_the_keys():
    """Subjects are the table's codes: keys whose text would parse to other subjects do not matter."""
    from neuroaffect.estimators.neural import validation_units

    table = keys_table([f"s{s}/1/{t}" for s in range(3) for t in range(4)])
    opaque = np.array([f"trial-{i:02d}" for i in range(12)])[::-1]  # trial ids that are no keys, sorting backwards
    np.testing.assert_array_equal(validation_units(opaque, table, 12, "subject"), np.repeat([0, 1, 2], 4))
    np.testing.assert_array_equal(validation_units(opaque, table, 12, "trial"), np.arange(12))  # the table's
    np.testing.assert_array_equal(validation_units(opaque, None, 12, "trial"), np.arange(12)[::-1])  # groups' own
    assert validation_units(None, None, 12, "trial") is None
    assert validation_units(None, table[["subject"]], 12, "trial") is None  # a table without trials
    with pytest.raises(ValueError, match="metadata has 12 rows but X has 5"):
        validation_units(None, table, 5, "subject")


@pytest.mark.parametrize("validation_groups", ["trial", "subject"])
def test_the_table_draws_the_early_stopping_split_the_keys_drew(validation_groups):
    """Codes rank trials and subjects as their keys sort ("s10" before "s2"), so a seed draws the
    split the trial keys drew before the table was routed."""
    from neuroaffect.estimators.neural import inner_split

    keys = np.array([f"s{s}/1/{t}" for s in range(1, 13) for t in range(8) for _ in range(2)])
    classes = np.array([t % 2 for s in range(12) for t in range(8) for _ in range(2)])
    est = _clf(validation_fraction=0.25, validation_groups=validation_groups)
    for seed in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # subjects from keys alone: deprecated
            from_keys = inner_split(est, len(keys), keys, seed, classes)
        from_table = inner_split(est, len(keys), None, seed, classes, metadata=keys_table(keys))
        np.testing.assert_array_equal(from_table[1], from_keys[1])


@pytest.mark.parametrize("protocol, n_subjects, expected", [
    ("leave-one-subject-out", 4, "subject"),  # 3 training subjects: early stopping holds out subjects
    ("leave-one-subject-out", 3, "trial"),    # 2 training subjects: too few to hold one out
    ("within-subject-kfold", 2, "trial"),
])
def test_the_protocols_held_out_unit_reaches_early_stopping(split_log, protocol, n_subjects, expected):
    tok = make_tokens(n_subjects=n_subjects, n_trials=6, n_windows=2)
    cross_validate_subjects(tok, _clf(), protocol=protocol, n_splits=2, progress=False)
    held_out = "subject" if protocol.startswith("leave-one-subject") else "trial"
    assert split_log and {(h, unit) for _, h, unit in split_log} == {(held_out, expected)}
    # the runner routes the id table: its rows are the fit's windows, with their codes
    for (groups, _, _), table in zip(split_log, split_log.tables, strict=True):
        assert table is not None and len(table) == len(groups)
        np.testing.assert_array_equal(table_keys(table), groups)


def test_held_out_reaches_early_stopping_inside_a_pipeline_and_nested_search(split_log):
    tok = make_tokens(n_subjects=4, n_trials=6, n_windows=2)
    cross_validate_subjects(tok, make_pipeline(FunctionTransformer(), _clf()), protocol="leave-one-subject-out",
                            progress=False)
    assert len(split_log) == 4 and {unit for _, _, unit in split_log} == {"subject"}
    assert all(table is not None for table in split_log.tables)
    split_log.clear()
    split_log.tables.clear()
    cross_validate_subjects(tok, nested(_clf(), {"lr": [1e-3]}, n_inner_splits=2), protocol="leave-one-subject-out",
                            progress=False)
    assert len(split_log) == 4 * (2 + 1) and all(g is not None and h == "subject" for g, h, _ in split_log)
    for (groups, _, _), table in zip(split_log, split_log.tables, strict=True):  # sliced per inner fit
        np.testing.assert_array_equal(table_keys(table), groups)
    # the refit (3 training subjects) holds out subjects; an inner fit (1 or 2 subjects) holds out trials
    assert {unit for g, _, unit in split_log if len(set(k.split("/")[0] for k in g)) >= 3} == {"subject"}


@pytest.mark.usefixtures("small_validation")
def test_fit_held_out_subject_holds_out_whole_subjects():
    X, y, keys = _subject_data(n_subjects=4, n_trials=6)
    clf = _clf(validation_fraction=0.5).fit(X, y, metadata=keys_table(keys), held_out="subject")
    assert clf.early_stopping_ and clf.validation_groups_ == "subject"
    with pytest.warns(FutureWarning, match="deprecated"):  # subjects from the keys alone, as 0.1 did
        assert _clf(validation_fraction=0.5).fit(X, y, groups=keys, held_out="subject").validation_groups_ == "subject"
    with pytest.raises(ValueError, match="holds out whole subjects.*span at least 2 subjects"):
        _clf(validation_groups="subject").fit(X, y, metadata=keys_table([f"s01/1/{i}" for i in range(len(X))]))
    assert _clf(validation_fraction=0.5).fit(X, y, groups=keys).validation_groups_ == "trial"
    assert _clf(validation_fraction=0.5).fit(X, y, groups=keys, held_out="trial").validation_groups_ == "trial"
    with pytest.raises(ValueError, match="'held_out'"):
        _clf().fit(X, y, groups=keys, held_out="session")


def test_nested_search_does_not_override_private_methods_nor_read_signatures():
    from neuroaffect.evaluation.nested import NestedGridSearchCV

    private = {name for name in vars(NestedGridSearchCV) if name.startswith("_") and not name.startswith("__")}
    assert private <= {"_abc_impl"}, private  # no scikit-learn private method overridden
    root = Path(neuroaffect.__file__).parent
    for module in ("evaluation/nested.py", "evaluation/jobs.py"):
        source = (root / module).read_text()
        assert "import inspect" not in source and ".set_params(" not in source, module  # no sniffing, no editing


# ---- item 4: the montage as data, importance as a method -------------------------------------------

def test_no_mock_in_the_package():
    root = Path(neuroaffect.__file__).parent
    pattern = re.compile(r"^\s*(from\s+unittest(\.mock)?\s+import|import\s+(unittest\.)?mock\b)|mock\.patch", re.M)
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py") if pattern.search(p.read_text())]
    assert not offenders, offenders


def _montage_data(ch_names, n=64, seed=0):
    from neuroaffect.channels import ch_positions

    rng = np.random.default_rng(seed)
    side = np.sign(ch_positions(ch_names)[:, 0])
    v = rng.uniform(-1, 1, n)
    X = rng.normal(0, 0.5, (n, len(ch_names), 4)) + v[:, None, None] * side[None, :, None]
    return X.astype(np.float32), v


def test_predict_on_another_montage_is_what_montage_transfer_gives():
    from neuroaffect.channels import ch_positions

    X, v = _montage_data(TRAIN_CH, seed=1)
    Xt, _ = _montage_data(TEST_CH, seed=2)
    y = (v >= 0).astype(int)
    est = _clf(ch_names=TRAIN_CH, max_epochs=3, patience=None, validation_fraction=0).fit(X, y)
    model = MontageTransfer(_clf(max_epochs=3, patience=None, validation_fraction=0), ch_names=TRAIN_CH).fit(X, y)
    model.set_params(ch_names=TEST_CH)
    proba = est.predict_proba(Xt, ch_names=TEST_CH)
    np.testing.assert_array_equal(proba, model.predict_proba(Xt))
    np.testing.assert_array_equal(est.predict(Xt, ch_names=TEST_CH), model.predict(Xt))
    np.testing.assert_array_equal(est.embed(Xt, ch_names=TEST_CH), model.embed(Xt))
    np.testing.assert_array_equal(pooled_embeddings(est, Xt, ch_names=TEST_CH), model.embed(Xt))
    # the network itself, run on the test montage's positions
    module = est.net_.module_.eval()
    with torch.no_grad():
        logits = module(torch.from_numpy(((Xt - est.mean_) / est.scale_).astype(np.float32)),
                        positions=torch.as_tensor(ch_positions(TEST_CH), dtype=torch.float32)).double().numpy()
    expected = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(proba, expected / expected.sum(1, keepdims=True), rtol=1e-5, atol=1e-6)
    # the training montage named explicitly is the training montage
    np.testing.assert_array_equal(est.predict_proba(X, ch_names=[c.upper() for c in TRAIN_CH]), est.predict_proba(X))
    importance = est.electrode_importance(Xt, ch_names=TEST_CH)
    assert importance.shape == (len(TEST_CH),) and importance.sum() == pytest.approx(1.0)
    np.testing.assert_array_equal(model.electrode_importance(Xt), importance)
    reg = ElectrodeAttentionRegressor(config=TINY, ch_names=TRAIN_CH, max_epochs=2, patience=None,
                                      validation_fraction=0, random_state=0, device="cpu").fit(X, v)
    assert reg.predict(Xt, ch_names=TEST_CH).shape == (len(Xt),)


def test_another_montage_errors_name_the_argument():
    X, v = _montage_data(TRAIN_CH, n=32)
    Xt, _ = _montage_data(TEST_CH, n=32)
    y = (v >= 0).astype(int)
    learned = _clf(patience=None).fit(X, y)  # no ch_names: a learned electrode table
    for method in ("predict", "predict_proba", "embed", "electrode_importance"):
        with pytest.raises(ValueError, match=f"'ch_names' argument of {method}.*learned electrode table.*Expected"):
            getattr(learned, method)(Xt, ch_names=TEST_CH)
    table = _clf(config={**TINY, "electrodes": "learned"}, ch_names=TRAIN_CH, patience=None).fit(X, y)
    with pytest.raises(ValueError, match="learned electrode table"):  # names at fit, but no position embedding
        table.predict(Xt, ch_names=TEST_CH)
    np.testing.assert_array_equal(table.predict(X, ch_names=TRAIN_CH), table.predict(X))
    positions = _clf(ch_names=TRAIN_CH, patience=None).fit(X, y)
    with pytest.raises(ValueError, match="'ch_names' argument of predict: ch_names has 14 names but X has 16"):
        positions.predict(X, ch_names=TEST_CH)
    with pytest.raises(ValueError, match="X has 14 features, but ElectrodeAttentionClassifier is expecting 16"):
        positions.predict(X[:, :14])  # without ch_names X must hold the training montage


class _WithImportanceMethod(ClassifierMixin, BaseEstimator):
    """Logistic regression that explains electrodes through a method (any class name)."""

    def fit(self, X, y):
        self.model_ = LogisticRegression().fit(X.reshape(len(X), -1), y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X.reshape(len(X), -1))

    def electrode_importance(self, X):
        weights = np.abs(self.model_.coef_).reshape(X.shape[1], X.shape[2]).sum(1)
        return weights / weights.sum()


def test_runner_asks_the_final_estimator_for_its_importance():
    tok = make_tokens(n_subjects=2, n_trials=20, n_windows=2, effect=1.0)
    res = cross_validate_subjects(tok, _WithImportanceMethod(), n_splits=2, progress=False)
    assert res.importance is not None and len(res.importance["ch_names"]) == tok.X.shape[1]
    piped = cross_validate_subjects(tok, make_pipeline(FunctionTransformer(), _WithImportanceMethod()), n_splits=2,
                                    progress=False)
    assert piped.importance is not None
    searched = cross_validate_subjects(tok, nested(_WithImportanceMethod(), {}, n_inner_splits=2), n_splits=2,
                                       progress=False)
    assert searched.importance is not None


def test_runner_importance_of_the_transformer_is_its_method(monkeypatch):
    tok = make_tokens(n_subjects=1, n_trials=8, n_windows=2)
    calls = []
    method = ElectrodeAttentionClassifier.electrode_importance

    def spy(self, X, *args, **kwargs):
        calls.append(len(X))
        return method(self, X, *args, **kwargs)

    monkeypatch.setattr(ElectrodeAttentionClassifier, "electrode_importance", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = cross_validate_subjects(tok, _clf(patience=None), n_splits=2, progress=False)
    assert len(calls) == 2 and res.importance is not None
    assert np.sum(res.importance["mean"]) == pytest.approx(1.0)


def test_electrode_importance_function_is_the_method():
    from neuroaffect.estimators.interpret import electrode_importance

    X, v = _montage_data(TRAIN_CH, n=32)
    est = _clf(ch_names=TRAIN_CH, patience=None).fit(X, (v >= 0).astype(int))
    np.testing.assert_array_equal(electrode_importance(est, X), est.electrode_importance(X))
    assert clone(est).get_params()["ch_names"] == TRAIN_CH


def test_cross_dataset_across_montages_routes_groups_and_held_out_to_the_transformer(split_log):
    from neuroaffect.affect import cross_dataset_evaluate
    from neuroaffect.features.tokens import WindowTokens

    def tokens(dataset, ch_names, seed):
        from neuroaffect.affect import get_scale

        rng = np.random.default_rng(seed)
        n_trials, n_windows = 12, 2
        trial = np.repeat(np.arange(n_trials), n_windows)
        ratings = rng.uniform(1, 9, (n_trials, 3)) if dataset == "deap" else rng.integers(1, 6, (n_trials, 3)) * 1.0
        subject = np.array([f"{dataset}{t % 3}" for t in trial])
        names = ("valence", "arousal", "dominance")
        return WindowTokens(
            X=rng.normal(size=(len(trial), len(ch_names), 4)).astype(np.float32), ratings=ratings[trial],
            rating_names=names, scales=dict.fromkeys(names, get_scale(dataset)), subject=subject,
            session=np.zeros(len(trial), int), trial_key=np.array([f"{s}/0/{t}" for s, t in zip(subject, trial, strict=True)]),
            start=np.zeros(len(trial), int), stop=np.full(len(trial), 128), ch_names=list(ch_names),
            positions=np.zeros((len(ch_names), 3)), band_names=("theta", "alpha", "beta", "gamma"), sfreq=128.0,
            dataset=dataset,
        )

    train, test = tokens("deap", TRAIN_CH, 0), tokens("dreamer", TEST_CH, 1)
    cross_dataset_evaluate(train, test, MontageTransfer(_clf()), channels="all")
    [(groups, held_out, unit)] = split_log  # the one cross-dataset fit: 3 training subjects
    assert groups is not None and all(k.startswith("deap:") for k in groups)
    [table] = split_log.tables
    assert table is not None and set(table["subject"]) == {"deap:deap0", "deap:deap1", "deap:deap2"}
    assert held_out == "subject" and unit == "subject"


def test_montage_transfer_is_a_metadata_router_for_its_estimator(split_log):
    """MontageTransfer routes fit metadata to its estimator as that one requests them (issue 14 review)."""
    from sklearn.utils.metadata_routing import MetadataRouter

    from neuroaffect.evaluation.jobs import _consumed

    routing = MontageTransfer(_clf()).get_metadata_routing()
    assert isinstance(routing, MetadataRouter)
    assert routing.consumes("fit", ["groups", "metadata", "held_out", "sample_weight"]) == {
        "groups", "metadata", "held_out"}
    with sklearn.config_context(enable_metadata_routing=True):
        declined = _clf().set_fit_request(groups=False, held_out=False)
        assert _consumed(MontageTransfer(declined), "fit", groups=np.arange(3), held_out="subject") == {}
    X, y, keys = _subject_data(n_subjects=4, n_trials=6)
    model = MontageTransfer(_clf(patience=None), ch_names=["Fz", "Cz", "Pz", "Oz"])
    with sklearn.config_context(enable_metadata_routing=True):
        model.fit(X, y, groups=keys, metadata=keys_table(keys), held_out="subject")
    model.fit(X, y)  # routing disabled, no metadata
    model.fit(X, y, groups=keys, held_out="trial")  # routing disabled: passed on as given
    assert [(g is not None, h) for g, h, _ in split_log] == [(True, "subject"), (False, None), (True, "trial")]
    assert [t is not None for t in split_log.tables] == [True, False, False]
    with pytest.raises(ValueError, match="'estimator' parameter must read another montage.*Pipeline"):
        MontageTransfer(make_pipeline(SubjectStandardScaler(), _clf()), ch_names=["Fz", "Cz", "Pz", "Oz"]).fit(X, y)


def test_a_table_of_subjects_only_aligns_and_trains_without_early_stopping():
    """pandas.DataFrame({"subject": ids}) is enough for the alignment step; the transformer, given no
    trial ids, warns and trains max_epochs (as without groups) instead of failing."""
    import pandas as pd

    X, y, keys = _subject_data()
    subjects = pd.DataFrame({"subject": keys_table(keys)["subject"]})
    pipe = make_pipeline(SubjectStandardScaler(), _clf())
    with sklearn.config_context(enable_metadata_routing=True), pytest.warns(UserWarning, match="without trial ids"):
        pipe.fit(X, y, metadata=subjects)
    assert pipe[0].subjects_.tolist() == ["s01", "s02", "s03", "s04"] and not pipe[-1].early_stopping_
    with pytest.raises(ValueError, match="holds out whole subjects.*only 's01'"):  # an explicit request is kept
        _clf(validation_groups="subject").fit(X[:12], y[:12], metadata=subjects[:12])
