"""permutation_test: label permutations on their own, the same null as cross_validate_subjects(n_permutations=N)."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from neuroaffect.datasets import make_tokens
from neuroaffect.evaluation import (
    PermutationTestResult,
    cross_validate_subjects,
    permutation_p_value,
    permutation_test,
    permuted_trial_labels,
)
from neuroaffect.evaluation._synthetic import Centroids, Flatten


def test_permuted_labels_move_whole_trials_within_subjects():
    tok = make_tokens(n_subjects=3, n_trials=12, n_windows=5, random_state=3)
    keys, subject = np.asarray(tok.trial_key).astype(str), np.asarray(tok.subject).astype(str)
    # one label per trial, different across trials, so any move shows
    y = np.unique(keys, return_inverse=True)[1].astype(float)
    perms = permuted_trial_labels(y, keys, subject, n_permutations=20, random_state=4)
    assert perms.shape == (20, len(y)) and perms.dtype == y.dtype
    for labels in perms:
        for key in np.unique(keys):  # every window of a trial keeps one (the trial's new) label
            assert len(np.unique(labels[keys == key])) == 1
        for s in np.unique(subject):  # within a subject: the same trial labels, reassigned
            mine = subject == s
            _, first = np.unique(keys[mine], return_index=True)
            np.testing.assert_array_equal(np.sort(labels[mine][first]), np.sort(y[mine][first]))
    assert (perms != y).any(axis=1).all()  # 20 draws of 12! orders: none leaves every trial in place
    assert len({row.tobytes() for row in perms}) == 20
    # a seed repeats the sets; another seed gives others
    np.testing.assert_array_equal(permuted_trial_labels(y, keys, subject, n_permutations=20, random_state=4), perms)
    assert not np.array_equal(permuted_trial_labels(y, keys, subject, n_permutations=20, random_state=5), perms)
    # the draws: permutation p from default_rng([random_state, p]), subjects in sorted order, each
    # subject's trials (sorted keys) permuted by one rng.permutation (stored runs rely on these draws)
    for p in (1, 7):
        rng, expected = np.random.default_rng([4, p]), y.copy()
        for s in np.unique(subject):
            idx = np.flatnonzero(subject == s)
            _, first, codes = np.unique(keys[idx], return_index=True, return_inverse=True)
            expected[idx] = rng.permutation(y[idx][first])[codes]
        np.testing.assert_array_equal(perms[p - 1], expected)
    assert permuted_trial_labels(y, keys, subject, n_permutations=0).shape == (0, len(y))
    with pytest.raises(ValueError, match="one entry per window"):
        permuted_trial_labels(y[:-1], keys, subject, n_permutations=2)


def test_p_value_is_k_plus_one_over_n_plus_one():
    null = np.array([0.40, 0.55, 0.62, 0.70, 0.51, 0.62, 0.48, 0.66, 0.59])
    for observed, k in ((0.62, 4), (0.71, 0), (0.30, 9), (0.60, 4)):
        assert permutation_p_value(observed, null) == pytest.approx((k + 1) / (len(null) + 1))
    assert permutation_p_value(0.5, [np.nan, 0.6, 0.4]) == pytest.approx(2 / 3)  # NaN permutations ignored


@pytest.fixture(scope="module")
def tokens():
    return make_tokens(n_subjects=3, n_trials=10, n_windows=4, n_electrodes=3, n_bands=2, effect=1.0, random_state=7)


def test_permutation_test_null_equals_the_runner_and_p_values_follow_the_formula(tokens):
    n = 7
    res = permutation_test(tokens, Centroids(), n_permutations=n, random_state=3, progress=False)
    run = cross_validate_subjects(tokens, Centroids(), n_permutations=n, random_state=3, progress=False)
    assert isinstance(res, PermutationTestResult) and res.metric == "balanced_accuracy" and res.n_permutations == n
    assert list(res.subjects) == [s["subject"] for s in run.subjects]
    assert res.in_mean.tolist() == [True] * 3
    for level, key, suffix in (("window", "null", ""), ("trial", "null_trial", "_trial")):
        assert res.null[level].shape == (n, 3) and res.observed[level].shape == (3,)
        np.testing.assert_array_equal(res.null[level], np.asarray(run.permutation[key]))
        np.testing.assert_array_equal(res.observed[level], run.scores(level=level))
        np.testing.assert_array_equal(res.p_values[level], [s["p_value" + suffix] for s in run.subjects])
        np.testing.assert_array_equal(res.chance[level], [s["null_mean" + suffix] for s in run.subjects])
        assert res.group_p_value[level] == run.summary["group_p_value" + suffix]
        # (k + 1) / (N + 1), k = permutations scoring at least the observed score (ties included)
        k = (res.null[level] >= res.observed[level] - 1e-12).sum(axis=0)
        np.testing.assert_allclose(res.p_values[level], (k + 1) / (n + 1))
        np.testing.assert_allclose(res.chance[level], res.null[level].mean(axis=0))
    assert res.observed["window"].mean() > res.chance["window"].mean()  # the planted effect beats chance
    assert res.cv_result.config["n_permutations"] == n
    # the same test read from a CVResult
    again = PermutationTestResult.from_cv_result(run)
    np.testing.assert_array_equal(again.null["trial"], res.null["trial"])


def test_permutation_test_regression_and_bad_counts(tokens):
    res = permutation_test(tokens, make_pipeline(Flatten(), Ridge()), task="regression", n_permutations=2,
                           progress=False)
    assert res.metric == "ccc" and res.null["trial"].shape == (2, 3)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="'n_permutations' parameter: expected an integer >= 1"):
            permutation_test(tokens, Centroids(), n_permutations=bad, progress=False)
    with pytest.raises(ValueError, match="holds no permutations"):
        PermutationTestResult.from_cv_result(cross_validate_subjects(tokens, Centroids(), progress=False))


class Counting(Centroids):
    fits = 0

    def fit(self, X, y):
        Counting.fits += 1
        return super().fit(X, y)


class Explaining(Centroids):
    """Centroids with an electrode importance (counting its calls)."""

    calls = 0

    def electrode_importance(self, X):
        Explaining.calls += 1
        spread = self.means_.reshape(len(self.means_), X.shape[1], -1).std(0).sum(1)
        return spread / spread.sum()


def test_importance_is_computed_for_the_unpermuted_jobs_only(tmp_path, tokens):
    Explaining.calls = 0
    res = cross_validate_subjects(tokens, Explaining(), n_permutations=2, results_dir=tmp_path, progress=False)
    assert Explaining.calls == 3 * 5  # the (subject, fold) jobs of the true labels, not the 2 * 15 permuted
    assert res.importance is not None and len(res.importance["mean"]) == tokens.X.shape[1]
    stored = sorted(tmp_path.rglob("*.npz"))
    assert len(stored) == 3 * 3 * 5
    for path in stored:  # every stored job keeps its "importance" entry: empty where not computed
        with np.load(path) as job:
            assert job["importance"].shape == ((tokens.X.shape[1],) if "-p0000-" in path.name else (0,))
    Explaining.calls = 0
    again = cross_validate_subjects(tokens, Explaining(), n_permutations=2, results_dir=tmp_path, progress=False)
    assert Explaining.calls == 0 and again.importance["mean"] == res.importance["mean"]
    np.testing.assert_array_equal(again.permutation["null"], res.permutation["null"])


def test_permutations_run_after_a_stored_cv_run(tmp_path, tokens):
    first = cross_validate_subjects(tokens, Counting(), results_dir=tmp_path, progress=False)
    Counting.fits = 0
    res = permutation_test(tokens, Counting(), n_permutations=2, results_dir=tmp_path, progress=False)
    assert Counting.fits == 2 * 3 * 5  # only the permutations' (subject, fold) jobs are fitted
    np.testing.assert_array_equal(res.observed["window"], first.scores())
