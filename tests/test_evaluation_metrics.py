"""Metrics against closed forms and scikit-learn / scipy; p-values and paired tests."""

import itertools
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score, roc_auc_score

from neuroaffect.datasets import make_tokens
from neuroaffect.evaluation import (
    classification_scores,
    compare_pipelines,
    concordance_correlation,
    group_permutation_p_value,
    make_target,
    paired_sign_flip_test,
    pearson_r,
    permutation_p_value,
    regression_scores,
    trial_level,
)


def test_ccc_closed_forms():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(200)
    assert concordance_correlation(x, x) == pytest.approx(1.0)
    assert concordance_correlation(x - x.mean(), x.mean() - x) == pytest.approx(-1.0)
    # y = x + c: CCC = 2 var / (2 var + c^2)
    c = 0.7
    assert concordance_correlation(x, x + c) == pytest.approx(2 * x.var() / (2 * x.var() + c**2))
    # y = a x: CCC = 2 a var / (var + a^2 var + (1 - a)^2 mean^2)
    a = 2.0
    expected = 2 * a * x.var() / (x.var() + a**2 * x.var() + ((1 - a) * x.mean()) ** 2)
    assert concordance_correlation(x, a * x) == pytest.approx(expected)
    # against a float64 slow loop of Lin's formula
    y = 0.5 * x + rng.standard_normal(200)
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((xi - mx) * (yi - my) for xi, yi in zip(x, y, strict=True)) / len(x)
    sxx = sum((xi - mx) ** 2 for xi in x) / len(x)
    syy = sum((yi - my) ** 2 for yi in y) / len(y)
    assert concordance_correlation(x, y) == pytest.approx(2 * sxy / (sxx + syy + (mx - my) ** 2))
    assert np.isnan(concordance_correlation(np.ones(3), np.ones(3)))


def test_regression_scores_match_scipy():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal(50), rng.standard_normal(50)
    s = regression_scores(x, y)
    assert s["pearson_r"] == pytest.approx(stats.pearsonr(x, y)[0])
    assert s["rmse"] == pytest.approx(np.sqrt(np.mean((x - y) ** 2)))
    assert np.isnan(pearson_r(x, np.zeros(50)))


def test_classification_scores_match_sklearn():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 300)
    proba = rng.dirichlet(np.ones(3), 300)
    pred = proba.argmax(1)
    s = classification_scores(y, pred, proba, n_classes=3)
    assert s["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert s["f1_macro"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert s["roc_auc"] == pytest.approx(roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    assert np.sum(s["confusion_matrix"]) == 300
    # classes missing from the truth or the predictions, ties in the scores
    y4, p4 = rng.integers(0, 3, 50), rng.integers(1, 4, 50)
    s4 = classification_scores(y4, p4, None, n_classes=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert s4["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y4, p4))
    assert s4["f1_macro"] == pytest.approx(f1_score(y4, p4, average="macro", zero_division=0))
    assert s4["accuracy"] == pytest.approx(np.mean(y4 == p4))
    assert np.array_equal(s4["confusion_matrix"], confusion_matrix(y4, p4, labels=range(4)))
    yb = rng.integers(0, 2, 100)
    pb = np.round(rng.random(100), 1)
    sb = classification_scores(yb, (pb > 0.5).astype(int), np.c_[1 - pb, pb], n_classes=2)
    assert sb["roc_auc"] == pytest.approx(roc_auc_score(yb, pb))
    assert np.isnan(classification_scores(np.zeros(5, int), np.zeros(5, int), np.ones((5, 2)) / 2, n_classes=2)["roc_auc"])


def test_trial_level_means_probabilities_per_trial():
    keys = np.array(["a", "a", "a", "b", "b"])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.4, 0.6], [0.2, 0.8], [0.6, 0.4]])
    k, yt, yp, p = trial_level(keys, np.array([0, 0, 0, 1, 1]), proba.argmax(1), proba, task="binary")
    assert k.tolist() == ["a", "b"] and yt.tolist() == [0, 1]
    assert yp.tolist() == [0, 1]  # mean proba a: [0.567, 0.433]; b: [0.4, 0.6]
    np.testing.assert_allclose(p[0], [1.7 / 3, 1.3 / 3])
    _, _, yp, _ = trial_level(keys, np.zeros(5), np.array([1, 1, 0, 2, 2]), None, task="classes")
    assert yp.tolist() == [1, 2]
    _, _, yr, _ = trial_level(keys, np.zeros(5), np.arange(5.0), None, task="regression")
    assert yr.tolist() == [1.0, 3.5]


def test_targets_follow_dataset_conventions():
    tok = make_tokens(n_subjects=1, n_trials=30, n_windows=1)
    v = tok.rating("valence")
    assert np.array_equal(make_target(tok, "valence", "binary").y, (v >= 5).astype(int))
    t9 = make_target(tok, "valence", "classes")
    assert t9.n_classes == 9 and np.array_equal(t9.y, np.clip(v.astype(int) - 1, 0, 8))
    assert np.array_equal(make_target(tok, "valence", "regression").y, v)
    with pytest.raises(ValueError, match="task"):
        make_target(tok, "valence", "ternary")
    with pytest.raises(ValueError, match="Unknown rating"):
        make_target(tok, "liking", "binary")


def test_permutation_p_values():
    assert permutation_p_value(0.9, [0.1, 0.5, 0.95]) == pytest.approx(2 / 4)
    assert permutation_p_value(1.0, np.zeros(99)) == pytest.approx(0.01)
    null = np.array([[0.5, 0.5], [0.7, 0.6], [0.4, 0.5]])
    # 9 equally likely null means (one draw per subject); those >= 0.6: (.7,.5) twice .6, (.7,.6) .65 -> 3/9
    p = group_permutation_p_value([0.6, 0.6], null, n_resamples=20000)
    assert p == pytest.approx(3 / 9, abs=0.01)
    # above every null mean: but 3 permutations of 2 subjects make only 9 distinct null means, so
    # the p-value cannot be finer than 1/10, however many resamples are drawn
    assert group_permutation_p_value([0.9, 0.9], null, n_resamples=99) == pytest.approx(1 / 10)


def test_sign_flip_test_exact_and_wilcoxon_switch():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.6, 0.05, 8), rng.normal(0.5, 0.05, 8)
    res = compare_pipelines(a, b)
    d = a - b
    null = [abs(np.dot(s, d)) for s in itertools.product((1, -1), repeat=8)]
    assert res["test"].startswith("paired sign-flip")
    assert res["p_value"] == pytest.approx(np.mean(np.array(null) >= abs(d.sum()) - 1e-12))
    assert res["mean_difference"] == pytest.approx(d.mean())
    big = paired_sign_flip_test(rng.normal(size=18), rng.normal(size=18), exact_below=10, n_permutations=999)
    assert 0 < big["p_value"] <= 1
    a20, b20 = rng.normal(0.6, 0.1, 20), rng.normal(0.5, 0.1, 20)
    res20 = compare_pipelines(a20, b20)
    assert res20["test"] == "Wilcoxon signed-rank"
    assert res20["p_value"] == pytest.approx(stats.wilcoxon(a20, b20).pvalue)
    with pytest.raises(ValueError, match="same shape"):
        compare_pipelines([1, 2], [1, 2, 3])


def test_concordance_correlation_is_one_function_for_metrics_and_estimators():
    import neuroaffect.estimators as estimators

    assert estimators.concordance_correlation is concordance_correlation
    t = np.array([-1.5, -0.5, 0.5, 1.5])
    # columns averaged; a column that is constant and equal in both is undefined, as a 1-D one is
    assert concordance_correlation(np.c_[t, t], np.c_[2 * t, t]) == pytest.approx((0.8 + 1.0) / 2)
    assert np.isnan(concordance_correlation(np.c_[t, np.ones(4)], np.c_[t, np.ones(4)]))
