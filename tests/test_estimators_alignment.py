"""Subject alignment, raw windows, the Riemannian and trivial baselines, the recommended default,
class balancing and the few-trial early-stopping rule (issue 16)."""

import importlib.util
import logging

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from neuroaffect import EEGTrials
from neuroaffect._keys import keys_table
from neuroaffect.estimators import (
    ESTIMATORS,
    RECOMMENDED,
    SubjectRecentering,
    SubjectStandardScaler,
    make_estimator,
)
from neuroaffect.features import RawWindows, Tokenizer


def offset_subjects(seed=0, n_per_subject=60, n_subjects=4, shift=5.0, effect=3.0):
    """Flat features whose class effect (``effect`` on feature 0) is hidden under large subject offsets."""
    rng = np.random.default_rng(seed)
    X, y, keys = [], [], []
    for s in range(n_subjects):
        labels = np.arange(n_per_subject) % 2
        offset = rng.normal(0, shift, 6)
        X.append(rng.normal(size=(n_per_subject, 6)) + offset + np.outer(labels, [effect, 0, 0, 0, 0, 0]))
        y.append(labels)
        keys += [f"{s + 1}/1/{i}" for i in range(n_per_subject)]
    return np.concatenate(X), np.concatenate(y), np.array(keys)


def test_metadata_gives_the_subjects_and_bad_metadata_is_refused():
    import pandas as pd

    X, y, keys = offset_subjects(n_subjects=2, n_per_subject=5)
    subject = keys_table(keys)["subject"].to_numpy()
    table = SubjectStandardScaler().fit_transform(X, metadata=keys_table(keys))
    np.testing.assert_array_equal(table, SubjectStandardScaler().fit_transform(X, metadata=pd.DataFrame({"subject": subject})))
    assert SubjectStandardScaler().fit(X, metadata=keys_table(keys)).subjects_.tolist() == ["1", "2"]
    with pytest.raises(ValueError, match="metadata must be a pandas DataFrame"):
        SubjectStandardScaler().fit(X, metadata=subject)
    with pytest.raises(ValueError, match="metadata has 5 rows but X has 10"):
        SubjectStandardScaler().fit(X, metadata=keys_table(keys[:5]))
    with pytest.raises(ValueError, match="must have a 'subject' column"):
        SubjectStandardScaler().fit(X, metadata=pd.DataFrame({"who": subject}))


def test_groups_are_deprecated_and_still_read_as_subjects():
    X, y, keys = offset_subjects(n_subjects=2, n_per_subject=5)
    expected = SubjectStandardScaler().fit_transform(X, metadata=keys_table(keys))
    with pytest.warns(FutureWarning, match=r"fit\(groups=...\) is deprecated.*metadata="):
        np.testing.assert_array_equal(SubjectStandardScaler().fit_transform(X, groups=keys), expected)
    with pytest.warns(FutureWarning, match="deprecated"):  # plain subject ids, as 0.1 read them
        np.testing.assert_array_equal(SubjectStandardScaler().fit_transform(X, groups=keys_table(keys)["subject"]),
                                      expected)


def test_subject_standard_scaler_standardises_each_subject():
    X, y, keys = offset_subjects()
    Z = SubjectStandardScaler().fit_transform(X, metadata=keys_table(keys))
    for s in "1234":
        rows = keys_table(keys)["subject"].to_numpy() == s
        np.testing.assert_allclose(Z[rows].mean(0), 0, atol=1e-12)
        np.testing.assert_allclose(Z[rows].std(0), 1, atol=1e-12)
    # labels are never used: shuffling y changes nothing
    np.testing.assert_array_equal(Z, SubjectStandardScaler().fit_transform(X, y[::-1], metadata=keys_table(keys)))


def test_unseen_subject_is_aligned_on_its_own_windows_seen_subject_on_fitted_statistics():
    X, y, keys = offset_subjects()
    train = ~np.char.startswith(keys, "4/")
    scaler = SubjectStandardScaler().fit(X[train], metadata=keys_table(keys[train]))
    test = X[~train]
    np.testing.assert_allclose(scaler.transform(test, metadata=keys_table(keys[~train])),
                               (test - test.mean(0)) / test.std(0))  # transductive, no labels
    first = X[keys == "1/1/0"]
    mean, std = scaler.stats_["1"]
    np.testing.assert_allclose(scaler.transform(first, metadata=keys_table(["1/1/0"])), (first - mean) / std)


def test_alignment_recovers_an_effect_hidden_by_subject_offsets():
    X, y, keys = offset_subjects(shift=8.0)
    train, test = ~np.char.startswith(keys, "4/"), np.char.startswith(keys, "4/")
    plain = make_estimator("de-logreg").fit(X[train], y[train])
    aligned = make_estimator("aligned-de-logreg")
    with sklearn.config_context(enable_metadata_routing=True):
        aligned.fit(X[train], y[train], metadata=keys_table(keys[train]))
        score = aligned.score(X[test], y[test], metadata=keys_table(keys[test]))
    assert score > 0.7 > plain.score(X[test], y[test])


def spd(rng, n, n_channels=4, scale=1.0):
    A = rng.normal(size=(n, n_channels, 3 * n_channels)) * scale
    return A @ A.transpose(0, 2, 1) / (3 * n_channels)


@pytest.mark.parametrize("metric", ["riemann", "euclid"])
def test_recentering_moves_each_subject_mean_to_identity(metric):
    import pandas as pd

    from neuroaffect.estimators.alignment import _riemann_tools

    mean_riemann = _riemann_tools()[0]
    rng = np.random.default_rng(0)
    C = np.concatenate([spd(rng, 30), spd(rng, 30, scale=3.0)])
    groups = np.repeat(["a", "b"], 30)
    Z = SubjectRecentering(metric=metric).fit_transform(C, metadata=pd.DataFrame({"subject": groups}))
    for g in "ab":
        mean = mean_riemann(Z[groups == g]) if metric == "riemann" else Z[groups == g].mean(0)
        np.testing.assert_allclose(mean, np.eye(4), atol=1e-5)
    with pytest.raises(ValueError, match="covariance matrices"):
        SubjectRecentering().fit(np.ones((3, 4, 5)))
    with pytest.raises(ValueError, match="'metric' parameter"):
        SubjectRecentering(metric="log").fit(C)


def test_raw_windows_match_the_tokenizer_windows():
    rng = np.random.default_rng(0)
    trials = EEGTrials.from_arrays(rng.standard_normal((3, 4, 1280)) * 1e-5, 256.0, ["Fz", "Cz", "Pz", "Oz"],
                                   ratings=np.array([[1.0, 5, 5], [9, 5, 5], [5, 5, 5]]))
    raw = RawWindows(window=1.0, hop=0.5, sfreq=128.0).transform(trials)
    tokens = Tokenizer(window=1.0, hop=0.5).transform(trials)
    assert raw.X.shape == (len(tokens), 4, 128) and raw.X.dtype == np.float32
    np.testing.assert_array_equal(raw.trial_key, tokens.trial_key)
    np.testing.assert_array_equal(raw.ratings, tokens.ratings)
    assert raw.sfreq == 128.0 and raw.features["kind"] == "raw" and tokens.features["kind"] == "bde"
    # the pass band: a 60 Hz sinusoid is removed, a 10 Hz one kept
    t = np.arange(1280) / 256.0
    sines = EEGTrials.from_arrays(np.stack([np.stack([np.sin(2 * np.pi * 10 * t), np.sin(2 * np.pi * 60 * t)])]) * 1e-5,
                                  256.0, ["Fz", "Cz"], ratings=np.full((1, 3), 5.0))
    w = RawWindows(window=1.0, l_freq=1.0, h_freq=40.0).transform(sines).X[2]
    assert w[0].std() > 0.6e-5 and w[1].std() < 0.05e-5
    with pytest.raises(ValueError, match="'sfreq' parameter.*h_freq"):
        RawWindows(sfreq=64.0, h_freq=40.0).transform(sines)
    with pytest.raises(ValueError, match="'h_freq' parameter.*Nyquist"):
        RawWindows(h_freq=200.0).transform(sines)


def test_registry_default_is_recommended_and_baselines_are_marked():
    assert RECOMMENDED == "aligned-de-logreg"
    default = make_estimator()
    assert [type(step).__name__ for step in default] == ["FlattenTokens", "SubjectStandardScaler", "LogisticRegression"]
    assert default[-1].C == 0.1
    assert {name for name, spec in ESTIMATORS.items() if spec.features == "raw"} == {
        "riemann", "aligned-riemann", "eegnet", "tsception"}
    assert {name for name, spec in ESTIMATORS.items() if spec.baseline} == {
        "riemann", "aligned-riemann", "majority", "stratified"}


@pytest.mark.parametrize("name", ["de-logreg", "aligned-de-logreg", "de-svm", "riemann", "aligned-riemann"])
def test_classifiers_balance_classes_by_default(name):
    est = make_estimator(name)
    assert est[-1].class_weight == "balanced"


def test_riemann_pipeline_separates_covariance_classes():
    rng = np.random.default_rng(1)
    n = 80
    y = np.arange(n) % 2
    X = rng.normal(size=(n, 4, 200))
    X[y == 1, 0] *= 2.0  # class 1: more power on channel 0
    keys = np.array([f"{1 + i // 40}/1/{i}" for i in range(n)])
    est = make_estimator("aligned-riemann")
    with sklearn.config_context(enable_metadata_routing=True):
        est.fit(X[:60], y[:60], metadata=keys_table(keys[:60]))
        assert est.score(X[60:], y[60:], metadata=keys_table(keys[60:])) > 0.9
    assert make_estimator("riemann").fit(X[:60], y[:60]).score(X[60:], y[60:]) > 0.9


def test_trivial_baselines():
    X, y = np.zeros((10, 2, 3)), np.array([0] * 7 + [1] * 3)
    assert (make_estimator("majority").fit(X, y).predict(X) == 0).all()
    assert make_estimator("stratified").fit(X, y).predict_proba(X).shape == (10, 2)
    assert make_estimator("majority", task="regression").fit(X, y.astype(float)).predict(X)[0] == 0.3


# -- few-trial early stopping ----------------------------------------------------------------
def test_early_stopping_only_with_enough_validation_trials_per_class(caplog):
    from neuroaffect.estimators.neural import MIN_VALIDATION_UNITS, _log_once, inner_split

    _log_once.cache_clear()  # logged once per process: another test may have logged it already
    est = make_estimator("transformer")
    few = np.repeat(np.arange(40), 3)  # 40 trials, 1:3 imbalance: 2 minority trials in a 20 % split
    classes = np.repeat((np.arange(40) % 4 == 0).astype(int), 3)
    with caplog.at_level(logging.INFO, logger="neuroaffect"):
        train, valid = inner_split(est, len(few), few.astype(str), 0, classes)
    assert valid is None and len(train) == len(few) and "early stopping off" in caplog.text
    many = np.repeat(np.arange(200), 3)
    classes = np.repeat((np.arange(200) % 4 == 0).astype(int), 3)
    train, valid = inner_split(est, len(many), many.astype(str), 0, classes)
    # stratified by class: every class has at least MIN_VALIDATION_UNITS trials on the validation side
    for c in (0, 1):
        assert len(np.unique(many[valid][classes[valid] == c])) >= MIN_VALIDATION_UNITS
    assert not set(many[train]) & set(many[valid])


def test_transformer_records_whether_it_stopped_early():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(48, 4, 3)), np.repeat(np.arange(12) % 2, 4)
    groups = np.repeat(np.arange(12), 4)
    tiny = dict(embed_dim=8, depth=1, n_heads=2, head_dim=4)
    clf = make_estimator("transformer", max_epochs=3, random_state=0).set_params(config=tiny).fit(X, y, groups=groups)
    assert clf.early_stopping_ is False and clf.n_epochs_ == 3


@pytest.mark.skipif(importlib.util.find_spec("braindecode") is None,
                    reason='braindecode is an optional extra, not installed here: pip install "neuroaffect[braindecode]"')
def test_braindecode_classifier_balances_classes():
    from neuroaffect.estimators import BraindecodeClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4, 64)).astype(np.float32)
    y = np.array([0] * 30 + [1] * 10)
    clf = BraindecodeClassifier("eegnet", max_epochs=1, random_state=0).fit(X, y)
    np.testing.assert_allclose(clf.net_.criterion_.weight.numpy(), [40 / 60, 40 / 20], rtol=1e-6)
    assert clone(clf).set_params(class_weight=None).fit(X, y).net_.criterion_.weight is None



def test_runner_routes_the_id_table_to_fit_and_predict(tmp_path):
    """Under leave-one-subject-out each test subject is standardised on its own windows: the runner's
    predictions equal a manual fit/predict with the id table, and results.json says it was transductive."""
    from neuroaffect.affect.scales import get_scale
    from neuroaffect.evaluation import cross_validate_subjects
    from neuroaffect.features import WindowTokens

    X, y, keys = offset_subjects(shift=8.0, n_subjects=3, n_per_subject=40)
    n = len(X)
    tokens = WindowTokens(
        X=X.reshape(n, 3, 2).astype(np.float32), ratings=np.where(y == 1, 8.0, 2.0)[:, None], rating_names=("valence",),
        scales={"valence": get_scale("deap")},
        subject=keys_table(keys)["subject"].to_numpy().astype(str), session=np.ones(n, int), trial_key=keys, start=np.zeros(n, int),
        stop=np.full(n, 128), ch_names=["Fz", "Cz", "Pz"], positions=np.zeros((3, 3)), band_names=("a", "b"),
        sfreq=128.0, dataset="toy")
    result = cross_validate_subjects(tokens, make_estimator(), target="valence", protocol="leave-one-subject-out",
                                     progress=False)
    assert result.config["alignment"] == [
        "per-subject feature standardisation (transductive: each test subject aligned on its own unlabelled test windows)"]
    test = tokens.subject == "3"
    manual = make_estimator()
    with sklearn.config_context(enable_metadata_routing=True):
        manual.fit(tokens.X[~test], y[~test], metadata=tokens.metadata[~test])
        expected = manual.predict(tokens.X[test], metadata=tokens.metadata[test])
    np.testing.assert_array_equal(result.predictions["y_pred"][test], expected)
    from neuroaffect.evaluation import write_report

    write_report(result, tmp_path)
    assert "Subject alignment: per-subject feature standardisation (transductive" in (tmp_path / "report.md").read_text()
    assert result.summary["window"]["balanced_accuracy"]["mean"] > 0.8


def test_a_search_around_alignment_is_refused_before_any_fit():
    from neuroaffect.datasets import make_tokens
    from neuroaffect.evaluation import cross_validate_subjects, nested

    tokens = make_tokens(n_subjects=3, n_trials=12)
    search = nested(make_estimator(), {"logisticregression__C": [0.1, 1.0]})
    with pytest.raises(ValueError, match="around a pipeline with subject alignment .* is not supported"):
        cross_validate_subjects(tokens, search, protocol="leave-one-subject-out", progress=False)


def test_transform_without_metadata_after_fit_with_subjects_warns():
    X, y, keys = offset_subjects()
    scaler = SubjectStandardScaler().fit(X, metadata=keys_table(keys))
    with pytest.warns(UserWarning, match="transform got no metadata"):
        scaler.transform(X[:5])


def test_alignment_is_reported_transductive_for_any_split_with_unseen_test_subjects():
    from neuroaffect.datasets import make_tokens
    from neuroaffect.evaluation import cross_validate_subjects

    tokens = make_tokens(n_subjects=3, n_trials=8)
    subject = np.asarray(tokens.subject).astype(str)
    folds = [(np.flatnonzero(subject != s), np.flatnonzero(subject == s)) for s in np.unique(subject)]
    result = cross_validate_subjects(tokens, make_estimator(), cv=folds, progress=False)
    assert result.config["alignment"][0].endswith("(transductive: each test subject aligned on its own unlabelled test windows)")
    within = cross_validate_subjects(tokens, make_estimator(), protocol="within-subject-kfold", n_splits=2, progress=False)
    assert within.config["alignment"] == ["per-subject feature standardisation"]


def test_aligned_transformer_is_registered_and_gets_the_data_settings():
    """"aligned-transformer" is a pipeline whose transformer receives the montage and seed from
    the recipe, and the trial keys through routing in the runner (alignment recorded)."""
    from neuroaffect.datasets import make_tokens
    from neuroaffect.estimators import ElectrodeAttentionClassifier
    from neuroaffect.evaluation import cross_validate_subjects
    from neuroaffect.recipes._eeg import make_model

    tokens = make_tokens(n_subjects=2, n_trials=6, n_windows=2, n_electrodes=4, random_state=0)
    est = make_model("aligned-transformer", "binary", ["max_epochs=2", "config={'embed_dim': 8, 'head_dim': 4}"],
                     tokens, seed=3)
    assert isinstance(est, Pipeline) and isinstance(est[-1], ElectrodeAttentionClassifier)
    assert isinstance(est[0], SubjectStandardScaler)
    assert est[-1].ch_names == list(tokens.ch_names) and est[-1].random_state == 3 and est[-1].max_epochs == 2
    result = cross_validate_subjects(tokens, est, target="valence", protocol="leave-one-subject-out", progress=False)
    assert result.config["alignment"]
    # a fixed parameter of the registry can be overridden by the caller
    assert make_estimator("transformer", config={"embed_dim": 8}).config == {"embed_dim": 8}
