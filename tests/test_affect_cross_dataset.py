import dataclasses

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from neuroaffect.affect import cross_dataset_evaluate, get_scale
from neuroaffect.channels import ch_positions, normalize_ch_names
from neuroaffect.features.tokens import WindowTokens

DEAP_CH = normalize_ch_names(
    "FP1 AF3 F3 F7 FC5 FC1 C3 T7 CP5 CP1 P3 P7 PO3 O1 OZ PZ FP2 AF4 FZ F4 F8 FC6 FC2 CZ C4 T8 CP6 CP2 P4 P8 PO4 O2".split()
)
DREAMER_CH = normalize_ch_names("AF3 F7 F3 FC5 T7 P7 O1 O2 P8 T8 FC6 F4 F8 AF4".split())
BANDS = ("theta", "alpha", "beta", "gamma")


def _tokens(dataset, ch_names, n_trials=30, n_windows=6, seed=0, effect=1.0):
    """Windows whose band features carry valence as a left-right asymmetry, fixed in head space,
    so the same rule holds on any montage."""
    rng = np.random.default_rng(seed)
    if dataset == "deap":
        ratings = rng.uniform(1, 9, (n_trials, 3))
    elif dataset == "dreamer":
        ratings = rng.integers(1, 6, (n_trials, 3)).astype(float)
    else:  # seed-like categories -1/0/1
        ratings = rng.integers(-1, 2, (n_trials, 1)).astype(float)
    names = ("valence", "arousal", "dominance") if dataset != "seed" else ("emotion",)
    scale = get_scale(dataset)
    valence = scale.normalize(ratings[:, 0]) if dataset != "seed" else ratings[:, 0] * 0.7
    pos = ch_positions(ch_names)
    side = np.tanh(pos[:, 0] / 0.03)  # -1 left .. +1 right
    band_gain = np.array([0.2, 1.0, 0.5, 0.1])
    trial = np.repeat(np.arange(n_trials), n_windows)
    X = rng.normal(0, 0.5, (len(trial), len(ch_names), len(BANDS)))
    X += effect * valence[trial, None, None] * side[None, :, None] * band_gain[None, None, :]
    X += rng.normal(0, 0.3, (n_trials, len(ch_names), len(BANDS)))[trial]  # trial-specific nuisance
    subject = np.array([f"{dataset}{t % 3}" for t in trial])
    return WindowTokens(
        X=X.astype(np.float32), ratings=ratings[trial], rating_names=names,
        scales=dict.fromkeys(names, scale), subject=subject, session=np.zeros(len(trial), int),
        trial_key=np.array([f"{s}/0/{t}" for s, t in zip(subject, trial, strict=True)]),
        start=np.zeros(len(trial), int), stop=np.full(len(trial), 128), ch_names=list(ch_names),
        positions=pos, band_names=BANDS, sfreq=128.0, dataset=dataset,
    )


def _flat(model):
    return make_pipeline(FunctionTransformer(lambda X: X.reshape(len(X), -1)), StandardScaler(), model)


class HemisphereClassifier(ClassifierMixin, BaseEstimator):
    """A tiny position-aware estimator: per band, the least-squares loading of the tokens on a
    left-right pattern computed from the ``ch_names`` positions (montage-independent scale)."""

    def __init__(self, ch_names=None):
        self.ch_names = ch_names

    def _features(self, X):
        side = np.tanh(ch_positions(self.ch_names)[:, 0] / 0.03)
        return np.einsum("web,e->wb", X, side) / (side @ side)

    def fit(self, X, y):
        self.model_ = LogisticRegression().fit(self._features(X), y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(self._features(X))


def test_deap_to_dreamer_binary_on_common_electrodes():
    train, test = _tokens("deap", DEAP_CH, seed=1), _tokens("dreamer", DREAMER_CH, seed=2)
    res = cross_dataset_evaluate(train, test, _flat(LogisticRegression(max_iter=1000)), target="valence")
    assert res["ch_names"] == [ch for ch in DEAP_CH if ch in DREAMER_CH] and len(res["ch_names"]) == 14
    assert res["n_train"] == 180 and res["n_test"] == 180
    # labels are DREAMER score >= 3, i.e. common value >= 0
    np.testing.assert_array_equal(res["y_true"], (test.rating("valence") >= 3).astype(int))
    assert res["metrics"]["balanced_accuracy"] > 0.75, res["metrics"]  # chance 0.5; DREAMER 3s are ties


def test_subject_normalisation_removes_a_recording_offset():
    train, test = _tokens("deap", DEAP_CH, seed=1), _tokens("dreamer", DREAMER_CH, seed=2)
    test.X = test.X + 3.0 * np.sign(ch_positions(DREAMER_CH)[:, 0])[None, :, None]  # another amplifier chain
    clf = _flat(LogisticRegression(max_iter=1000))
    raw = cross_dataset_evaluate(train, test, clf, normalize=None)["metrics"]["balanced_accuracy"]
    norm = cross_dataset_evaluate(train, test, clf, normalize="subject")["metrics"]["balanced_accuracy"]
    assert raw < 0.65 < 0.75 < norm, (raw, norm)
    assert cross_dataset_evaluate(train, test, clf, normalize="dataset")["normalize"] == "dataset"


def test_no_effect_gives_chance():
    train = _tokens("deap", DEAP_CH, seed=1, effect=0.0)
    test = _tokens("dreamer", DREAMER_CH, seed=2, effect=0.0)
    res = cross_dataset_evaluate(train, test, _flat(LogisticRegression(max_iter=1000)))
    assert 0.3 < res["metrics"]["balanced_accuracy"] < 0.7


def test_regression_in_common_space():
    train, test = _tokens("deap", DEAP_CH, seed=3), _tokens("dreamer", DREAMER_CH, seed=4)
    res = cross_dataset_evaluate(train, test, _flat(Ridge(alpha=10.0)), task="regression")
    m = res["metrics"]
    assert set(m) == {"ccc", "pearson_r", "rmse", "sign_agreement"}
    assert m["pearson_r"] > 0.8 and m["ccc"] > 0.5 and m["rmse"] < 0.6, m
    assert -1 <= res["y_true"].min() and res["y_true"].max() <= 1


def test_all_electrodes_with_a_position_aware_estimator():
    train, test = _tokens("deap", DEAP_CH, seed=5), _tokens("dreamer", DREAMER_CH, seed=6)
    res = cross_dataset_evaluate(train, test, HemisphereClassifier(), channels="all")
    assert res["ch_names"] == DEAP_CH and res["test_ch_names"] == DREAMER_CH
    assert res["metrics"]["balanced_accuracy"] > 0.75, res["metrics"]  # chance 0.5; DREAMER 3s are ties


def test_all_electrodes_follow_the_declared_montage_capability():
    """channels="all" reads ch_names_at_predict, not the class name: "argument" is refused before
    fitting (MontageTransfer advised), "parameter" (or nothing declared) is accepted."""
    from neuroaffect.estimators.transfer import ch_names_at_predict

    class ArgumentMontage(HemisphereClassifier):
        ch_names_at_predict = "argument"

    class ParameterMontage(HemisphereClassifier):
        ch_names_at_predict = "parameter"

    train, test = _tokens("deap", DEAP_CH, seed=1), _tokens("dreamer", DREAMER_CH, seed=2)
    assert [ch_names_at_predict(e) for e in (HemisphereClassifier(), ArgumentMontage(), _flat(LogisticRegression()))] \
        == ["parameter", "argument", None]
    with pytest.raises(ValueError, match="declares ch_names_at_predict='argument'.*MontageTransfer"):
        cross_dataset_evaluate(train, test, ArgumentMontage(), channels="all")
    res = cross_dataset_evaluate(train, test, ParameterMontage(), channels="all")
    assert res["test_ch_names"] == DREAMER_CH and res["metrics"]["balanced_accuracy"] > 0.7


def test_categorical_test_set_uses_category_centres():
    train, test = _tokens("deap", DEAP_CH, seed=7), _tokens("seed", DEAP_CH[:20], seed=8)
    test.rating_names, test.scales = ("emotion",), {"emotion": get_scale("seed")}
    res = cross_dataset_evaluate(train, test, _flat(LogisticRegression(max_iter=1000)))
    # SEED negative -> sad (valence < 0), neutral -> assumed 0 (counts as high), positive -> happy
    np.testing.assert_array_equal(res["y_true"], (test.rating("emotion") >= 0).astype(int))


def test_errors():
    deap, dreamer = _tokens("deap", DEAP_CH, seed=1), _tokens("dreamer", DREAMER_CH, seed=2)
    clf = _flat(LogisticRegression())
    with pytest.raises(ValueError, match="share 30 trial"):
        cross_dataset_evaluate(deap, deap, clf)
    other = _tokens("dreamer", DREAMER_CH, seed=2)
    other.band_names = ("alpha", "beta", "gamma", "delta")
    with pytest.raises(ValueError, match="different bands"):
        cross_dataset_evaluate(deap, other, clf)
    with pytest.raises(ValueError, match="share no electrode"):
        cross_dataset_evaluate(_tokens("deap", DEAP_CH[:3]), _tokens("dreamer", ["T8", "P8"]), clf)
    with pytest.raises(ValueError, match="'ch_names' parameter"):
        cross_dataset_evaluate(deap, dreamer, clf, channels="all")
    with pytest.raises(ValueError, match="one class only"):
        cross_dataset_evaluate(deap, dreamer, clf, threshold=1.5)
    with pytest.raises(ValueError, match="Allowed values"):
        cross_dataset_evaluate(deap, dreamer, clf, target="liking")
    with pytest.raises(ValueError, match="'normalize'"):
        cross_dataset_evaluate(deap, dreamer, clf, normalize="trial")


def test_transformer_across_montages():
    pytest.importorskip("torch")
    from neuroaffect.estimators import MontageTransfer
    from neuroaffect.estimators.transformer import ElectrodeAttentionClassifier

    train, test = _tokens("deap", DEAP_CH, n_windows=4, seed=1), _tokens("dreamer", DREAMER_CH, n_windows=4, seed=2)
    est = ElectrodeAttentionClassifier(
        config=dict(embed_dim=16, depth=1, n_heads=2, head_dim=8, ffn_dim=16, head_dims=(16,)),
        max_epochs=8, batch_size=16, lr=3e-3, patience=None, validation_fraction=0, random_state=0, device="cpu",
    )
    with pytest.raises(ValueError, match="MontageTransfer"):
        cross_dataset_evaluate(train, test, est, channels="all")  # refused before fitting
    res = cross_dataset_evaluate(train, test, MontageTransfer(est), channels="all")
    assert res["test_ch_names"] == DREAMER_CH
    assert res["metrics"]["balanced_accuracy"] > 0.7, res["metrics"]


# ------------------------------------------------------------------ CVResult / report (protocol "cross-dataset")

@pytest.fixture(scope="module")
def simulated():
    """DEAP-format (32 electrodes, 1-9) and DREAMER-format (14 electrodes, 1-5) simulated tokens."""
    from neuroaffect.features import Tokenizer
    from neuroaffect.simulate import simulate_trials

    tokenizer = Tokenizer(window=1.0)
    deap = simulate_trials("deap", n_subjects=2, n_trials=8, trial_duration=3.0, baseline_duration=1.0, seed=0)
    dreamer = simulate_trials("dreamer", n_subjects=2, n_trials=8, trial_duration=3.0, baseline_duration=1.0, seed=1)
    return tokenizer.transform(deap), tokenizer.transform(dreamer)


def test_cross_dataset_cv_is_reported_with_the_test_subjects(simulated, tmp_path):
    from neuroaffect.affect.cross_dataset import cross_dataset_cv
    from neuroaffect.estimators import de_logistic_regression
    from neuroaffect.evaluation import load_results, write_report

    train, test = simulated
    assert (train.dataset, test.dataset) == ("deap", "dreamer") and len(train.ch_names) == 32
    res = cross_dataset_cv(train, test, de_logistic_regression(), n_permutations=2, progress=False)
    c = res.config
    assert c["protocol"] == "cross-dataset" and c["leakage_free"] and c["dataset"] == "deap -> dreamer"
    assert (c["train_dataset"], c["test_dataset"], c["channels"]) == ("deap", "dreamer", "common")
    assert c["ch_names"] == c["test_ch_names"] == [ch for ch in train.ch_names if ch in test.ch_names]
    test_subjects = sorted(f"dreamer:{s}" for s in np.unique(test.subject.astype(str)))
    assert [r["subject"] for r in res.subjects] == test_subjects and c["n_subjects"] == len(test_subjects)
    assert c["untested_subjects"] == sorted(f"deap:{s}" for s in np.unique(train.subject.astype(str)))
    for row in res.subjects:
        assert row["n_test_windows"] == row["n_windows"] == np.sum(test.subject.astype(str) == row["subject"][8:])
        assert "p_value" in row
    assert len(res.folds) == 1 and res.folds[0]["audit"]["n_train_windows"] == len(train.X)
    assert res.folds[0]["audit"]["shared_trials"] == 0 and res.leakage["leaked_test_fraction"] == 0
    assert res.permutation["subjects"] == test_subjects

    md = write_report(res, tmp_path, notes=["simulated data"])
    for name in ("results.json", "report.md", "report.html", "predictions-0.npz"):
        assert (tmp_path / name).is_file()
    assert list((tmp_path / "figures").glob("*.png"))
    text = md.read_text()
    assert "cross-dataset" in text and "deap -> dreamer" in text and all(s in text for s in test_subjects)
    rows = [line.split(" | ")[0][2:] for line in text.splitlines() if line.startswith("| deap:") or line.startswith("| dreamer:")]
    assert rows == test_subjects  # one row per test subject, none for the training subjects
    doc = load_results(tmp_path)
    assert doc["runs"][0]["config"]["test_dataset"] == "dreamer"
    assert [r["subject"] for r in doc["runs"][0]["subjects"]] == test_subjects


def test_cross_dataset_scores_match_an_independent_fit(simulated):
    from sklearn.base import clone
    from sklearn.metrics import balanced_accuracy_score

    from neuroaffect.affect import common_vad
    from neuroaffect.affect.cross_dataset import _pick
    from neuroaffect.estimators import de_logistic_regression

    train, test = simulated
    est = de_logistic_regression()
    out = cross_dataset_evaluate(train, test, est, target="arousal")
    res = out["result"]
    # by hand: shared electrodes, per-subject standardisation, common-space labels
    ch = [c for c in train.ch_names if c in test.ch_names]
    y_train = (common_vad(train, dims=("arousal",))[:, 0] >= 0).astype(int)
    y_test = (common_vad(test, dims=("arousal",))[:, 0] >= 0).astype(int)
    y_hat = clone(est).fit(_pick(train, ch, "subject"), y_train).predict(_pick(test, ch, "subject"))
    np.testing.assert_array_equal(out["y_true"], y_test)
    np.testing.assert_array_equal(out["y_pred"], y_hat)
    assert out["metrics"]["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y_test, y_hat))
    subject = test.subject.astype(str)
    for row in res.subjects:
        mine = subject == row["subject"].split(":", 1)[1]
        assert row["window"]["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y_test[mine], y_hat[mine]))
    assert res.summary["window"]["balanced_accuracy"]["mean"] == pytest.approx(np.mean(res.scores()))


def test_cross_dataset_cv_all_electrodes_and_regression():
    from neuroaffect.affect.cross_dataset import cross_dataset_cv

    train, test = _tokens("deap", DEAP_CH, seed=5), _tokens("dreamer", DREAMER_CH, seed=6)
    res = cross_dataset_cv(train, test, HemisphereClassifier(), channels="all", progress=False)
    assert res.config["ch_names"] == DEAP_CH and res.config["test_ch_names"] == DREAMER_CH
    assert [r["subject"] for r in res.subjects] == ["dreamer:dreamer0", "dreamer:dreamer1", "dreamer:dreamer2"]
    from neuroaffect.affect.cross_dataset import _pick

    y_train = (get_scale("deap").normalize(train.rating("valence")) >= 0).astype(int)
    ref = HemisphereClassifier(ch_names=DEAP_CH).fit(_pick(train, DEAP_CH, "subject"), y_train)
    ref.set_params(ch_names=DREAMER_CH)
    tested = res.predictions["fold"] >= 0
    np.testing.assert_array_equal(res.predictions["y_pred"][tested], ref.predict(_pick(test, DREAMER_CH, "subject")))
    assert res.summary["window"]["balanced_accuracy"]["mean"] > 0.75

    reg = cross_dataset_cv(train, test, _flat(Ridge(alpha=10.0)), task="regression", progress=False)
    assert reg.config["metric"] == "ccc" and reg.config["task"] == "regression" and reg.config["threshold"] is None
    assert min(r["window"]["pearson_r"] for r in reg.subjects) > 0.7


def test_cross_dataset_audit_catches_planted_overlap(monkeypatch):
    from neuroaffect.affect.cross_dataset import cross_dataset_cv
    from neuroaffect.evaluation import (
        PROTOCOLS,
        DatasetSplit,
        LeakageError,
        audit_split,
        check_split,
    )

    train, test = _tokens("deap", DEAP_CH, n_trials=6, n_windows=2, seed=1), _tokens("dreamer", DREAMER_CH, n_trials=6,
                                                                                      n_windows=2, seed=2)
    res = cross_dataset_cv(train, test, _flat(LogisticRegression()), progress=False)
    keys = res.predictions["trial_key"]
    start, stop = np.zeros(len(keys), int), np.full(len(keys), 128)
    tr, te = np.flatnonzero(res.predictions["fold"] < 0), np.flatnonzero(res.predictions["fold"] >= 0)
    assert audit_split(keys, start, stop, tr, te).clean
    planted = np.append(tr, te[0])  # one test window's trial also in training, by hand
    audit = audit_split(keys, start, stop, planted, te)
    assert audit.shared_trials == 1 and audit.leaked_test_fraction == pytest.approx(2 / len(te))
    with pytest.raises(LeakageError, match="1 trial"):
        check_split(keys, start, stop, planted, te, leakage_free=True)

    class Planted(DatasetSplit):  # a buggy splitter that leaks one test trial into training
        def _split(self, keys, y):
            for train_idx, test_idx in super()._split(keys, y):
                yield np.append(train_idx, test_idx[:1]), test_idx

        def split(self, X, y=None, groups=None):
            yield from self._split(np.asarray(groups).astype(str), y)

    # the public registry's protocol, with the buggy splitter in place of DatasetSplit
    monkeypatch.setitem(PROTOCOLS, "cross-dataset", dataclasses.replace(PROTOCOLS["cross-dataset"], cv=Planted()))
    with pytest.raises(LeakageError, match="cross-dataset"):
        cross_dataset_cv(train, test, _flat(LogisticRegression()), progress=False)


def test_same_dataset_name_and_dataset_split_errors():
    from neuroaffect.affect.cross_dataset import cross_dataset_cv
    from neuroaffect.evaluation import DatasetSplit, Target, cross_validate_subjects

    a = _tokens("deap", DEAP_CH, n_trials=6, n_windows=2, seed=1)
    b = _tokens("deap", DEAP_CH, n_trials=6, n_windows=2, seed=2)
    b.subject = np.char.add("other", b.subject.astype(str))
    b.trial_key = np.char.add("other", b.trial_key.astype(str))
    res = cross_dataset_cv(a, b, _flat(LogisticRegression()), progress=False)  # subjects differ: allowed
    assert res.config["dataset"] == "deap-train -> deap-test"
    assert all(r["subject"].startswith("deap-test:other") for r in res.subjects)

    keys = np.array(["a:1/0/1", "a:1/0/2", "b:1/0/1", "c:2/0/1"])
    assert [(list(tr), list(te)) for tr, te in DatasetSplit("c", "a").split(keys, groups=keys)] == [([3], [0, 1])]
    assert DatasetSplit().get_n_splits() == 1
    for split, match in [(DatasetSplit(), "exactly 2 datasets"), (DatasetSplit("a", "z"), "'z' is not"),
                         (DatasetSplit("a", "a"), "the same")]:
        with pytest.raises(ValueError, match=match):
            list(split.split(keys, groups=keys))
    with pytest.raises(ValueError, match="dataset-prefixed"):
        list(DatasetSplit().split(keys[:2], groups=["1/0/1", "1/0/2"]))
    with pytest.raises(ValueError, match="3 labels but the tokens have"):
        cross_validate_subjects(a, _flat(LogisticRegression()), target=Target(np.zeros(3, int), "binary", "v", ("l", "h")),
                                protocol="leave-one-subject-out", progress=False)
