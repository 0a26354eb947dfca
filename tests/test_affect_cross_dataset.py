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
    from neuroaffect.affect.transfer import MontageTransfer
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
