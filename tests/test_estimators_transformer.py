"""ElectrodeAttentionClassifier / Regressor: learning, determinism, the sklearn contract, bad input."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.model_selection import GroupShuffleSplit

from neuroaffect._keys import keys_table
from neuroaffect.estimators import (
    ElectrodeAttentionClassifier,
    ElectrodeAttentionRegressor,
    concordance_correlation,
    make_estimator,
)
from neuroaffect.estimators.transformer import inner_split

TINY = dict(embed_dim=16, depth=1, n_heads=2, head_dim=8, ffn_dim=32, head_dims=(16,), dropout=0.0)
NAMES = ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_tokens(n_trials=24, windows_per_trial=8, effect=1.0, fingerprint=0.7, seed=0):
    """DE-like tokens: class 1 raises alpha (band 1) on the occipital/parietal electrodes;
    each trial adds its own constant offset (a fingerprint) to every window."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n_trials) % 2
    rng.shuffle(labels)
    groups = np.repeat(np.arange(n_trials), windows_per_trial)
    offsets = fingerprint * rng.normal(size=(n_trials, len(NAMES), 4))
    X = -12.0 + rng.normal(size=(len(groups), len(NAMES), 4)) + offsets[groups]
    X[:, 6:, 1] += effect * labels[groups][:, None]
    return X.astype(np.float32), labels[groups], groups


def fitted(est, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return est.fit(X, y, **fit_params)


def test_overfits_a_tiny_set():
    X, y, _ = make_tokens(n_trials=8, windows_per_trial=8, effect=0.0, fingerprint=0.0, seed=1)
    y = np.random.default_rng(0).integers(0, 2, len(y))  # random labels: pure memorisation
    clf = ElectrodeAttentionClassifier(
        config=dict(TINY, embed_dim=32, head_dims=(64,)), lr=1e-2, max_epochs=120, batch_size=32,
        label_smoothing=0.0, random_state=0,
    )
    assert fitted(clf, X, y).score(X, y) >= 0.95


@pytest.mark.parametrize("ch_names", [None, NAMES])
def test_learns_a_known_effect_across_held_out_trials(ch_names):
    X, y, groups = make_tokens(n_trials=40, effect=1.5, seed=2)
    train, test = next(GroupShuffleSplit(1, test_size=0.3, random_state=0).split(X, y, groups))
    assert not set(groups[train]) & set(groups[test])
    clf = ElectrodeAttentionClassifier(config=TINY, ch_names=ch_names, lr=5e-3, max_epochs=40,
                                       batch_size=32, random_state=0)
    clf.fit(X[train], y[train], groups=groups[train])
    assert clf.score(X[test], y[test]) > 0.75
    y_trial, ids = clf.predict_trials(X[test], groups[test])
    truth = np.array([y[test][groups[test] == i][0] for i in ids])
    assert np.mean(y_trial == truth) > 0.75
    assert clf.config_.electrodes == ("learned" if ch_names is None else "positions")


def test_same_seed_same_predictions_and_clone_pickle_round_trip():
    X, y, groups = make_tokens(n_trials=10, windows_per_trial=6, seed=3)
    params = dict(config=TINY, max_epochs=4, batch_size=16, random_state=7)
    a = fitted(ElectrodeAttentionClassifier(**params), X, y, groups=groups)
    b = fitted(ElectrodeAttentionClassifier(**params), X, y, groups=groups)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = fitted(ElectrodeAttentionClassifier(**{**params, "random_state": 8}), X, y, groups=groups)
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))

    twin = clone(a)
    assert twin.get_params() == a.get_params() and not hasattr(twin, "net_")
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.predict_proba(X), a.predict_proba(X))


def test_vad_targets_thresholds_and_trial_probabilities():
    X, y, groups = make_tokens(n_trials=12, windows_per_trial=5, seed=4)
    rng = np.random.default_rng(0)
    ratings = np.c_[1 + 8 * rng.random(len(y)), 1 + 8 * rng.random(len(y)), np.where(y, 7.0, 3.0)]
    clf = fitted(ElectrodeAttentionClassifier(config=TINY, threshold=5.0, max_epochs=3, random_state=0),
                 X, ratings, groups=groups)
    assert len(clf.classes_) == 3 and all(list(c) == [0, 1] for c in clf.classes_)
    assert clf.net_.module_.config.n_outputs == 6
    proba = clf.predict_proba(X)
    assert len(proba) == 3 and all(p.shape == (len(X), 2) for p in proba)
    assert clf.predict(X).shape == (len(X), 3)
    assert 0 <= clf.score(X, ratings) <= 1
    trial_proba, ids = clf.predict_proba_trials(X, groups)
    np.testing.assert_array_equal(ids, np.arange(12))
    np.testing.assert_allclose(trial_proba[2][3], proba[2][groups == 3].mean(axis=0))
    y_trials, _ = clf.predict_trials(X, groups)
    assert y_trials.shape == (12, 3)


def test_multiclass_labels_keep_their_values():
    X, y, groups = make_tokens(n_trials=12, windows_per_trial=5, seed=5)
    labels = np.array(["sad", "neutral", "happy"])[np.arange(len(y)) % 3]
    clf = fitted(ElectrodeAttentionClassifier(config=TINY, max_epochs=2, random_state=0), X, labels)
    assert list(clf.classes_) == ["happy", "neutral", "sad"]
    assert set(clf.predict(X)) <= set(labels) and clf.predict_proba(X).shape == (len(X), 3)


@pytest.mark.usefixtures("small_validation")
def test_class_weight_uses_training_split_only():
    X, y, groups = make_tokens(n_trials=20, windows_per_trial=4, seed=6)
    clf = fitted(ElectrodeAttentionClassifier(config=TINY, max_epochs=1, random_state=0), X, y, groups=groups)
    weight = clf.net_.criterion_.weight0.numpy()
    # Reproduce the inner split (stratified by class) to count the training labels.
    seed = int(np.random.RandomState(0).randint(np.iinfo(np.int32).max))
    train, valid = inner_split(clf, len(X), groups, seed, y)
    counts = np.bincount(y[train], minlength=2)
    np.testing.assert_allclose(weight, len(train) / (2 * counts), rtol=1e-6)
    assert not set(groups[train]) & set(groups[valid])


@pytest.mark.usefixtures("small_validation")
def test_early_stopping_needs_groups():
    X, y, groups = make_tokens(n_trials=20, windows_per_trial=4, seed=7)  # every class in the validation fold
    clf = ElectrodeAttentionClassifier(config=TINY, max_epochs=30, patience=2, lr=1e-2, random_state=0)
    with pytest.warns(UserWarning, match="early stopping is off"):
        clf.fit(X, y)
    assert clf.n_epochs_ == 30 and "valid_loss" not in clf.net_.history[-1]
    clf.fit(X, y, groups=groups)
    assert "valid_loss" in clf.net_.history[-1] and clf.n_epochs_ <= 30
    with pytest.raises(ValueError, match="at least 2 trials"):
        clf.fit(X, y, groups=np.zeros(len(y)))


def test_regressor_predicts_ratings_and_scores_r2():
    X, y, groups = make_tokens(n_trials=20, windows_per_trial=6, seed=8)
    target = np.c_[3 + 4 * y + np.random.default_rng(0).normal(0, 0.5, len(y)), 5 - 2 * y]
    reg = fitted(ElectrodeAttentionRegressor(config=TINY, ch_names=NAMES, lr=5e-3, max_epochs=30,
                                             batch_size=32, random_state=0), X, target, groups=groups)
    pred = reg.predict(X)
    assert pred.shape == target.shape
    # score is R^2 (scikit-learn's regressor contract, mean over columns); the CCC is computed explicitly
    assert reg.score(X, target) == pytest.approx(r2_score(target, pred))
    weights = np.linspace(0.5, 2.0, len(X))
    assert reg.score(X, target, sample_weight=weights) == pytest.approx(r2_score(target, pred, sample_weight=weights))
    assert reg.score(X, target) > 0.5 and concordance_correlation(target, pred) > 0.5
    trial_pred, ids = reg.predict_trials(X, groups)
    np.testing.assert_allclose(trial_pred[0], pred[groups == ids[0]].mean(axis=0))
    single = fitted(ElectrodeAttentionRegressor(config=TINY, max_epochs=2, random_state=0), X, target[:, 0])
    assert single.predict(X).shape == (len(X),)
    with pytest.raises(AttributeError, match="no predict_proba"):
        single.predict_proba(X)
    assert not hasattr(single, "predict_proba")


def test_concordance_correlation_closed_form():
    t = np.array([-1.5, -0.5, 0.5, 1.5])
    assert concordance_correlation(t, t) == pytest.approx(1.0)
    # p = t + 1: cov = var = 1.25, bias 1 -> 2 * 1.25 / (1.25 + 1.25 + 1)
    assert concordance_correlation(t, t + 1) == pytest.approx(2.5 / 3.5)
    assert concordance_correlation(t, -t) == pytest.approx(-1.0)
    # p = 2t: cov 2.5, var(p) 5 -> 5 / 6.25
    assert concordance_correlation(np.c_[t, t], np.c_[2 * t, t]) == pytest.approx((0.8 + 1.0) / 2)


# ---- bad input --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_fit():
    X, y, groups = make_tokens(n_trials=6, windows_per_trial=4, seed=9)
    return fitted(ElectrodeAttentionClassifier(config=TINY, max_epochs=1, random_state=0), X, y), X, y


def test_wrong_token_shape(small_fit):
    clf, X, y = small_fit
    with pytest.raises(ValueError, match=r"\(n_windows, n_electrodes, n_bands\)"):
        clone(clf).fit(X[..., None], y)
    with pytest.raises(ValueError, match="3 bands, but .* fitted with 4"):
        clf.predict(X[..., :3])
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :5])
    with pytest.raises(ValueError, match="cannot be read"):
        ElectrodeAttentionClassifier(n_bands=3).fit(X.reshape(len(X), -1)[:, :10], y)


def test_nan_tokens(small_fit):
    clf, X, y = small_fit
    bad = X.copy()
    bad[2, 3, 1] = np.nan
    with pytest.raises(ValueError, match=r"X \(tokens\) contains 1 non-finite value\(s\) \(NaN first at index \(2, 3, 1\)\)"):
        clone(clf).fit(bad, y)
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(bad)


def test_labels_of_wrong_length(small_fit):
    clf, X, y = small_fit
    with pytest.raises(ValueError, match="one label .*per window"):
        clone(clf).fit(X, y[:-1])
    with pytest.raises(ValueError, match="one trial id per window"):
        clone(clf).fit(X, y, groups=np.arange(3))
    with pytest.raises(ValueError, match="only one class"):
        clone(clf).fit(X, np.zeros(len(y)))


def test_unknown_or_miscounted_electrode_names(small_fit):
    clf, X, y = small_fit
    with pytest.raises(ValueError, match=r"Unknown channel name\(s\) in the 'ch_names' parameter: \['Xx9'\]"):
        clone(clf).set_params(ch_names=NAMES[:-1] + ["Xx9"]).fit(X, y)
    with pytest.raises(ValueError, match="ch_names has 9 names but X has 10 electrodes"):
        clone(clf).set_params(ch_names=NAMES[:-1]).fit(X, y)


def test_bad_parameters(small_fit):
    clf, X, y = small_fit
    with pytest.raises(ValueError, match="'config' parameter"):
        clone(clf).set_params(config="huge").fit(X, y)
    with pytest.raises(ValueError, match="'lr' parameter"):
        clone(clf).set_params(lr=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="'lr' parameter"):
        clone(clf).set_params(lr=float("inf")).fit(X, y)  # a rate must be finite
    with pytest.raises(ValueError, match="'class_weight' parameter"):
        clone(clf).set_params(class_weight="inverse").fit(X, y)
    with pytest.raises(ValueError, match="validation_fraction"):
        clone(clf).set_params(validation_fraction=1.5).fit(X, y)
    with pytest.raises(ValueError, match="'precision' parameter"):
        clone(clf).set_params(precision="float16").fit(X, y)


def test_bfloat16_precision_trains_and_predicts(small_fit):
    clf, X, y = small_fit
    fast = fitted(clone(clf).set_params(precision="bfloat16"), X, y)
    proba = fast.predict_proba(X)
    assert proba.dtype == np.float64 and proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(1), 1.0)


def test_registry_builds_the_transformers():
    ref = make_estimator("transformer-reference")
    assert ref.config == "reference" and ref.label_smoothing == 0.12
    assert isinstance(make_estimator("transformer", task="regression"), ElectrodeAttentionRegressor)
    with pytest.raises(ValueError, match="'name' parameter"):
        make_estimator("resnet")


# ---- labels, inner-split scaling, subject-held-out early stopping -------------------------------
def test_nan_and_continuous_labels_are_rejected(small_fit):
    clf, X, y = small_fit
    clf = clone(clf).set_params(patience=None)
    ratings = np.random.default_rng(0).uniform(1, 9, len(y))
    with pytest.raises(ValueError, match="Unknown label type: continuous.* y must hold class labels"):
        clone(clf).fit(X, ratings)
    nan_ratings = ratings.copy()
    nan_ratings[:2] = np.nan
    # with a threshold, NaN >= 5 used to become class 0 without a word
    with pytest.raises(ValueError, match=r"y contains NaN labels \(2 of"):
        clone(clf).set_params(threshold=5).fit(X, nan_ratings)
    with pytest.raises(ValueError, match="y contains NaN labels"):
        clone(clf).fit(X, np.where(np.arange(len(y)) < 2, np.nan, y))


@pytest.mark.usefixtures("small_validation")
@pytest.mark.parametrize("estimator", [ElectrodeAttentionClassifier, ElectrodeAttentionRegressor])
def test_scaling_is_fitted_on_the_inner_training_split(estimator):
    X, y, groups = make_tokens(n_trials=20, windows_per_trial=4, seed=11)
    X = X + np.repeat(np.random.default_rng(1).normal(size=(20, 1, 4)) * 3, 4, axis=0).astype(np.float32)
    target = y if estimator is ElectrodeAttentionClassifier else np.repeat(np.arange(20.0), 4) + y
    est = fitted(estimator(config=TINY, max_epochs=1, random_state=0), X, target, groups=groups)
    seed = int(np.random.RandomState(0).randint(np.iinfo(np.int32).max))
    train, valid = inner_split(est, len(X), groups, seed, y if estimator is ElectrodeAttentionClassifier else None)
    assert len(valid) and not np.allclose(X[train].mean(axis=(0, 1)), X.mean(axis=(0, 1)), atol=1e-3)
    np.testing.assert_allclose(est.mean_, X[train].mean(axis=(0, 1)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(est.scale_, X[train].std(axis=(0, 1)) + 1e-6, rtol=1e-5)
    if estimator is ElectrodeAttentionRegressor:
        np.testing.assert_allclose(est.y_mean_, [target[train].mean()])
        np.testing.assert_allclose(est.y_scale_, [target[train].std() + 1e-12])
    # without a validation split, everything is the training split
    whole = fitted(estimator(config=TINY, max_epochs=1, patience=None, random_state=0), X, target, groups=groups)
    np.testing.assert_allclose(whole.mean_, X.mean(axis=(0, 1)), rtol=1e-5, atol=1e-5)


def subject_keys(n_subjects=4, n_trials=5, windows_per_trial=3):
    return np.array([f"s{s:02d}/1/{t}" for s in range(1, n_subjects + 1) for t in range(n_trials)
                     for _ in range(windows_per_trial)])


@pytest.mark.usefixtures("small_validation")
def test_validation_groups_subject_holds_out_whole_subjects():
    keys = subject_keys()
    table = keys_table(keys)
    subject = table["subject"].to_numpy()
    by_trial = ElectrodeAttentionClassifier(validation_fraction=0.25)
    mixed = [bool(set(subject[t]) & set(subject[v])) for t, v in
             (inner_split(by_trial, len(keys), keys, seed) for seed in range(5))]
    assert any(mixed)  # the default holds out trials: subjects on both sides
    by_subject = ElectrodeAttentionClassifier(validation_fraction=0.5, validation_groups="subject")
    for seed in range(5):
        train, valid = inner_split(by_subject, len(keys), None, seed, metadata=table)
        assert len(valid) and not set(subject[train]) & set(subject[valid])
        assert len(train) + len(valid) == len(keys)
        with pytest.warns(FutureWarning, match="deprecated"):  # subjects read from the keys: the same split
            legacy = inner_split(by_subject, len(keys), keys, seed)
        np.testing.assert_array_equal(np.sort(legacy[1]), np.sort(valid))
    with pytest.raises(ValueError, match="validation_groups='subject'.*at least 2 subjects.*'s01'"):
        inner_split(by_subject, 15, keys[:15], 0, metadata=table[:15])
    with pytest.raises(ValueError, match="'subject/session/trial'"), pytest.warns(FutureWarning):
        inner_split(by_subject, len(keys), np.arange(len(keys)), 0)
    with pytest.raises(ValueError, match="'validation_groups' parameter"):
        inner_split(clone(by_subject).set_params(validation_groups="session"), len(keys), keys, 0)


@pytest.mark.usefixtures("small_validation")
def test_fit_with_validation_groups_subject():
    X, y, _ = make_tokens(n_trials=20, windows_per_trial=3, seed=12)
    keys = subject_keys(n_subjects=4, n_trials=5, windows_per_trial=3)
    clf = fitted(ElectrodeAttentionClassifier(config=TINY, max_epochs=2, validation_groups="subject",
                                              random_state=0), X, y, metadata=keys_table(keys))
    assert "valid_loss" in clf.net_.history[-1]
    reg = fitted(ElectrodeAttentionRegressor(config=TINY, max_epochs=2, validation_groups="subject",
                                             random_state=0), X, y.astype(float), metadata=keys_table(keys))
    assert reg.predict(X).shape == (len(X),)
