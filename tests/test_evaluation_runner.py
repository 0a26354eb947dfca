"""The CV runner: leaky vs leakage-free, resume, determinism, Dask, permutation nulls, nested CV."""

import json

import joblib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neuroaffect.datasets import make_tokens
from neuroaffect.evaluation import (
    LeakageError,
    PerSubject,
    cross_validate_subjects,
    nested,
    write_report,
)
from neuroaffect.evaluation._synthetic import Centroids, Flatten


def _logreg():
    return make_pipeline(Flatten(), StandardScaler(), LogisticRegression())


def _same(a, b):
    assert json.dumps(a.to_dict(), sort_keys=True) == json.dumps(b.to_dict(), sort_keys=True)
    np.testing.assert_array_equal(a.predictions["y_pred"], b.predictions["y_pred"])


def test_leaky_protocol_scores_clearly_above_leakage_free():
    tok = make_tokens(n_subjects=3, n_trials=16, n_windows=8, fingerprint=2.0, effect=0.0)
    knn = make_pipeline(Flatten(), KNeighborsClassifier(3))
    clean = cross_validate_subjects(tok, knn, progress=False)
    leaky = cross_validate_subjects(tok, knn, protocol="leaky-segment-kfold", progress=False)
    assert leaky.summary["window"]["balanced_accuracy"]["mean"] > 0.85
    assert clean.summary["window"]["balanced_accuracy"]["mean"] < 0.65
    assert clean.leakage["leaked_test_fraction"] == 0 and clean.leakage_free
    assert leaky.leakage["leaked_test_fraction"] > 0.9 and not leaky.leakage_free
    assert "LEAKY" in leaky.format_summary() and "leakage-free" in clean.format_summary()
    assert [s["n_test_windows"] for s in clean.subjects] == [128] * 3


def test_result_contents_and_trial_level():
    tok = make_tokens(n_subjects=2, n_trials=10, n_windows=4, effect=1.5)
    res = cross_validate_subjects(tok, _logreg(), n_splits=5, progress=False)
    assert res.config["protocol"] == "within-subject-kfold" and res.config["n_subjects"] == 2
    row = res.subjects[0]
    assert row["n_trials"] == 10 and row["n_windows"] == 40 and row["n_test_trials"] == 10
    assert set(row["window"]) == {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc"}
    assert np.sum(row["confusion_window"]) == 40 and np.sum(row["confusion_trial"]) == 10
    assert len(res.folds) == 10 and all(f["audit"]["shared_trials"] == 0 for f in res.folds)
    assert res.summary["window"]["balanced_accuracy"]["mean"] > 0.7
    reg = cross_validate_subjects(tok, make_pipeline(Flatten(), Ridge()), task="regression", progress=False)
    assert reg.config["metric"] == "ccc" and set(reg.subjects[0]["window"]) == {"rmse", "pearson_r", "ccc"}


def test_runner_raises_on_planted_leak():
    from neuroaffect.evaluation.splitters import LeakySegmentKFold

    class Planted(LeakySegmentKFold):
        leakage_free = True  # a buggy splitter claiming to be clean

    with pytest.raises(LeakageError, match="subject s01, fold 0"):
        cross_validate_subjects(make_tokens(n_subjects=1), _logreg(), cv=PerSubject(Planted(5, random_state=0)),
                                progress=False)


def test_resume_after_deleted_folds_gives_identical_results(tmp_path):
    tok = make_tokens(n_subjects=2, n_trials=10, n_windows=4, effect=0.8)
    full = cross_validate_subjects(tok, _logreg(), n_permutations=2, results_dir=tmp_path, progress=False)
    files = sorted((tmp_path / "folds").glob("*.npz"))
    assert len(files) == 2 * 5 * 3
    for f in files[::3]:
        f.unlink()
    files[1].write_bytes(b"truncated")  # a corrupt file is recomputed, not trusted
    again = cross_validate_subjects(tok, _logreg(), n_permutations=2, results_dir=tmp_path, progress=False)
    _same(full, again)
    # another estimator never reuses these files
    other = cross_validate_subjects(tok, make_pipeline(Flatten(), LogisticRegression(C=0.01)),
                                    results_dir=tmp_path, progress=False)
    assert len(list((tmp_path / "folds").glob("*.npz"))) == 2 * 5 * 3 + 10
    assert other.config["run_id"] != full.config["run_id"]


class Flaky(ClassifierMixin, BaseEstimator):
    """Logistic regression that raises on the n-th fit of this process when armed (not a parameter)."""

    armed_after = None
    calls = 0

    def fit(self, X, y):
        Flaky.calls += 1
        if Flaky.armed_after is not None and Flaky.calls > Flaky.armed_after:
            raise KeyboardInterrupt("killed mid-run")
        self.model_ = LogisticRegression().fit(np.asarray(X).reshape(len(X), -1), y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(np.asarray(X).reshape(len(X), -1))

    def predict_proba(self, X):
        return self.model_.predict_proba(np.asarray(X).reshape(len(X), -1))


def test_interrupted_run_resumes_to_identical_results(tmp_path):
    tok = make_tokens(n_subjects=3, n_trials=10, n_windows=4, effect=0.8)
    reference = cross_validate_subjects(tok, Flaky(), progress=False)
    Flaky.calls, Flaky.armed_after = 0, 7
    try:
        with pytest.raises(KeyboardInterrupt):
            cross_validate_subjects(tok, Flaky(), results_dir=tmp_path, progress=False)
    finally:
        Flaky.armed_after = None
    assert len(list((tmp_path / "folds").glob("*.npz"))) == 7
    assert not list((tmp_path / "folds").glob("*.tmp"))
    Flaky.calls = 0
    resumed = cross_validate_subjects(tok, Flaky(), results_dir=tmp_path, progress=False)
    assert Flaky.calls == 15 - 7  # only the missing jobs were fitted
    _same(reference, resumed)


def test_same_seed_gives_byte_identical_json(tmp_path):
    tok = make_tokens(n_subjects=2, n_trials=10, n_windows=4, effect=0.8)
    runs = []
    for name in ("a", "b"):
        res = [cross_validate_subjects(tok, _logreg(), protocol=p, n_permutations=3, progress=False)
               for p in ("within-subject-kfold", "leaky-segment-kfold")]
        write_report(res, tmp_path / name)
        runs.append((tmp_path / name / "results.json").read_bytes())
    assert runs[0] == runs[1]


def test_dask_backend_matches_sequential():
    distributed = pytest.importorskip("distributed")
    tok = make_tokens(n_subjects=2, n_trials=10, n_windows=4, effect=0.8)
    sequential = cross_validate_subjects(tok, _logreg(), progress=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        with joblib.parallel_config(backend="dask"):
            on_dask = cross_validate_subjects(tok, _logreg(), n_jobs=2, progress=False)
    _same(sequential, on_dask)


def test_permutation_p_values_roughly_uniform_under_null():
    # 30 subjects with no label effect, 19 re-fitted permutations each: p in {1/20, ..., 1}.
    tok = make_tokens(n_subjects=30, n_trials=10, n_windows=6, n_electrodes=2, n_bands=2,
                      fingerprint=0.5, effect=0.0, random_state=11)
    res = cross_validate_subjects(tok, Centroids(), n_permutations=19, progress=False)
    p = np.array([s["p_value"] for s in res.subjects])
    grid = np.arange(1, 21) / 20
    ecdf = (p[:, None] <= grid + 1e-9).mean(axis=0)
    assert np.max(np.abs(ecdf - grid)) < 0.25  # KS-like distance to the discrete uniform
    assert 0.35 < p.mean() < 0.7
    assert 0.05 < res.summary["group_p_value"] <= 1
    assert len(res.permutation["null"]) == 19


def test_nested_search_sees_only_training_trials():
    tok = make_tokens(n_subjects=2, n_trials=12, n_windows=3, effect=1.0)
    search = nested(_logreg(), {"logisticregression__C": [0.01, 1.0]}, n_inner_splits=3)
    res = cross_validate_subjects(tok, search, n_splits=4, progress=False)
    assert res.summary["window"]["balanced_accuracy"]["mean"] > 0.6
    assert "GridSearchCV" in res.config["estimator"]


def test_parameter_errors():
    tok = make_tokens(n_subjects=1)
    with pytest.raises(ValueError, match="protocol"):
        cross_validate_subjects(tok, _logreg(), protocol="kfold")
    with pytest.raises(ValueError, match="metric"):
        cross_validate_subjects(tok, _logreg(), metric="rmse")
    with pytest.raises(ValueError, match="n_permutations"):
        cross_validate_subjects(tok, _logreg(), n_permutations=-1)


# ---- review fixes --------------------------------------------------------------------------------

class GroupSpy(ClassifierMixin, BaseEstimator):
    """Records the rows (X[:, 0, 0] holds the window index) and the groups of every fit."""

    log = []
    __metadata_request__fit = {"groups": True}  # groups travel by metadata routing

    def __init__(self, c=1.0):
        self.c = c

    def fit(self, X, y, groups=None):
        GroupSpy.log.append((np.asarray(X)[:, 0, 0].astype(int), None if groups is None else np.asarray(groups)))
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def _indexed_tokens(**kw):
    tok = make_tokens(**kw)
    tok.X[:, 0, 0] = np.arange(len(tok))
    return tok


def test_runner_refuses_trial_keys_that_do_not_parse_to_their_subject():
    tok = make_tokens(n_subjects=3, n_trials=6, n_windows=2)
    keys = tok.trial_key.copy()
    # a hand-built key with an unescaped "/" inside an id has four parts
    tok.trial_key = np.array([f"{k.rsplit('/', 1)[0]}/clip{i % 3}/part{k.rsplit('/', 1)[1]}"
                              for i, k in enumerate(keys)])
    with pytest.raises(ValueError, match="trial keys 'subject/session/trial'.*'s01/1/clip0/part1'"):
        cross_validate_subjects(tok, _logreg(), protocol="leave-one-subject-out", progress=False)
    # three parts, but the key names another subject than its window
    tok.trial_key = np.array([k.replace("s01/", "s02/") for k in keys])
    with pytest.raises(ValueError, match="Trial key 's02/1/1' of subject 's01'.*unescaped '/'"):
        cross_validate_subjects(tok, _logreg(), protocol="leave-one-subject-out", progress=False)


def test_runner_raises_when_a_cross_subject_split_shares_a_subject():
    from neuroaffect.evaluation.splitters import TrialKFold

    class SharesSubjects(TrialKFold):
        held_out = ("subject",)  # a buggy cross-subject splitter: whole trials held out, subjects shared

    with pytest.raises(LeakageError, match="pooled, fold 0: .* subject\\(s\\)"):
        cross_validate_subjects(make_tokens(n_subjects=2, n_windows=2), _logreg(),
                                cv=SharesSubjects(3, random_state=0), progress=False)


def test_cache_key_hashes_parameter_values_not_reprs(tmp_path):
    from neuroaffect.evaluation.storage import _estimator_key

    w1 = np.zeros(2000)
    w2 = w1.copy()
    w2[500:600] = 1.0  # the middle of the array: numpy's repr elides it, so the reprs are equal
    assert repr(w1) == repr(w2)
    assert _estimator_key(Ridge(alpha=w1)) != _estimator_key(Ridge(alpha=w2))
    assert _estimator_key(Ridge(alpha=w1)) == _estimator_key(Ridge(alpha=w1.copy()))
    # nested estimators hash by their parameters, not their identity
    assert _estimator_key(make_pipeline(Flatten(), LogisticRegression(C=0.5))) == \
        _estimator_key(make_pipeline(Flatten(), LogisticRegression(C=0.5)))
    assert _estimator_key(make_pipeline(Flatten(), LogisticRegression(C=0.5))) != \
        _estimator_key(make_pipeline(Flatten(), LogisticRegression(C=0.6)))
    tok = make_tokens(n_subjects=1, n_trials=20, n_windows=2)  # enough trials of each class for 3 inner folds
    a = cross_validate_subjects(tok, nested(GroupSpy(), {"c": [w1]}), results_dir=tmp_path, progress=False)
    b = cross_validate_subjects(tok, nested(GroupSpy(), {"c": [w2]}), results_dir=tmp_path, progress=False)
    assert a.config["run_id"] != b.config["run_id"]
    assert len(list((tmp_path / "folds").glob("*.npz"))) == 10  # nothing of the first run was reused


def test_cache_key_is_the_same_in_another_process():
    import subprocess
    import sys

    code = ("import numpy as np; from sklearn.linear_model import LogisticRegression; "
            "from sklearn.pipeline import make_pipeline; from neuroaffect.evaluation._synthetic import Centroids, Flatten; "
            "from neuroaffect.evaluation.storage import _estimator_key; "
            "print(_estimator_key(make_pipeline(Flatten(), LogisticRegression(C=np.arange(3000.0)[5], "
            "class_weight={1: 2.0, 0: 1.0}))))")
    keys = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
            for _ in range(2)}
    assert len(keys) == 1 and len(next(iter(keys))) == 40


def test_roc_auc_permutation_null_uses_permutation_probabilities():
    tok = make_tokens(n_subjects=2, n_trials=10, n_windows=3, effect=1.0)
    res = cross_validate_subjects(tok, _logreg(), metric="roc_auc", n_permutations=3, progress=False)
    null = np.array(res.permutation["null"], dtype=float)
    assert null.shape == (3, 2) and np.all(np.isfinite(null))
    assert all(np.isfinite(s["p_value"]) for s in res.subjects)
    assert np.isfinite(res.summary["group_p_value"])
    assert res.summary["chance_source"] == "permutation"
    assert res.summary["chance"]["roc_auc"] == pytest.approx(np.mean(null))
    # without probabilities there is no AUC, observed or permuted: the chance is theoretical, and says so
    res = cross_validate_subjects(tok, Centroids(), metric="roc_auc", n_permutations=2, progress=False)
    assert res.summary["chance_source"] == "theoretical" and res.summary["chance"]["roc_auc"] == 0.5


def test_nested_search_gives_groups_to_the_inner_estimator():
    tok = _indexed_tokens(n_subjects=1, n_trials=9, n_windows=2)
    keys = np.asarray(tok.trial_key)
    GroupSpy.log = []
    search = nested(GroupSpy(), {"c": [1.0, 2.0]}, n_inner_splits=3)
    search.fit(tok.X, np.repeat(np.arange(9) % 2, 2), groups=keys)
    assert len(GroupSpy.log) == 2 * 3 + 1
    for rows, groups in GroupSpy.log:
        assert groups is not None and np.array_equal(groups, keys[rows])
    assert len(GroupSpy.log[-1][0]) == len(keys)  # the refit sees every training window


def test_nested_inner_splits_hold_out_subjects_under_leave_one_subject_out():
    tok = _indexed_tokens(n_subjects=4, n_trials=6, n_windows=2)
    subject = np.asarray(tok.subject)
    GroupSpy.log = []
    res = cross_validate_subjects(tok, nested(GroupSpy(), {"c": [1.0, 2.0]}, n_inner_splits=3),
                                  protocol="leave-one-subject-out", progress=False)
    assert len(res.folds) == 4
    outer_train = {frozenset(np.flatnonzero(subject != s)) for s in np.unique(subject)}
    inner = [rows for rows, _ in GroupSpy.log if frozenset(rows) not in outer_train]
    assert len(inner) == 4 * 2 * 3
    for rows in inner:  # each inner fit trains on 2 of the 3 outer-training subjects, whole
        assert len(set(subject[rows])) == 2 and len(rows) == 2 * 6 * 2


def test_split_errors_in_the_runner_name_the_subject():
    tok = make_tokens(n_subjects=3, n_trials=10, n_windows=2)
    keep = ~np.isin(tok.trial_key, [f"s02/1/{t}" for t in range(4, 11)])
    with pytest.raises(ValueError, match="subject s02: Cannot make n_splits=5 folds") as err:
        cross_validate_subjects(tok[np.flatnonzero(keep)], _logreg(), progress=False)
    assert "np.str_" not in str(err.value)


def test_runner_warns_and_records_untested_windows():
    tok = make_tokens(n_subjects=2, n_trials=6, n_windows=2)
    keep = (np.asarray(tok.subject) == "s01") | (np.asarray(tok.trial_key) == "s02/1/1")
    with pytest.warns(UserWarning, match="left 4 window\\(s\\) untested, per subject: 's01' \\(4\\)"):
        res = cross_validate_subjects(tok[np.flatnonzero(keep)], _logreg(), n_splits=3,
                                      protocol="leave-one-subject-out-stimulus-kfold", progress=False)
    assert res.config["untested_windows"] == {"s01": 4}
    row = next(r for r in res.subjects if r["subject"] == "s01")
    assert row["n_windows"] - row["n_test_windows"] == 4


class ValidationGroupsSpy(GroupSpy):
    """Records what early stopping would hold out at every fit (``validation_groups`` resolved with
    the routed ``held_out`` metadata, as the neural estimators resolve it)."""

    seen = []
    __metadata_request__fit = {"groups": True, "metadata": True, "held_out": True}

    def __init__(self, c=1.0, validation_groups="auto"):
        self.c = c
        self.validation_groups = validation_groups

    def fit(self, X, y, groups=None, held_out=None, metadata=None):
        from neuroaffect.estimators.neural import resolve_validation_groups

        assert metadata is not None  # the runner routes the id table: subjects are never read from the keys
        ValidationGroupsSpy.seen.append(resolve_validation_groups(self.validation_groups, groups, held_out, metadata))
        return super().fit(X, y, groups)


@pytest.mark.parametrize("protocol, n_subjects, wrap, expected", [
    ("leave-one-subject-out", 4, False, "subject"),   # unseen subjects: early stopping holds out subjects
    ("leave-one-subject-out", 4, True, "subject"),    # also inside a pipeline
    ("leave-one-subject-out", 3, False, "trial"),     # 2 training subjects: too few to hold one out
    ("within-subject-kfold", 4, False, "trial"),      # the training subjects are tested: trials
])
def test_runner_chooses_validation_groups_from_the_protocol(protocol, n_subjects, wrap, expected):
    ValidationGroupsSpy.seen.clear()
    estimator = make_pipeline(ValidationGroupsSpy()) if wrap else ValidationGroupsSpy()
    tok = make_tokens(n_subjects=n_subjects, n_trials=6, n_windows=2)
    cross_validate_subjects(tok, estimator, protocol=protocol, n_splits=2, progress=False)
    assert ValidationGroupsSpy.seen and set(ValidationGroupsSpy.seen) == {expected}
    # an explicit choice is respected
    ValidationGroupsSpy.seen.clear()
    explicit = ValidationGroupsSpy(validation_groups="trial")
    cross_validate_subjects(tok, explicit, protocol=protocol, n_splits=2, progress=False)
    assert set(ValidationGroupsSpy.seen) == {"trial"}


def test_validation_groups_count_each_folds_training_subjects():
    # cross-dataset: 4 subjects in all, but the training dataset has 1; "subject" would need 2
    tok = make_tokens(n_subjects=4, n_trials=6, n_windows=2)
    names = {"s01": "a:1", "s02": "b:1", "s03": "b:2", "s04": "b:3"}
    tok.subject = np.array([names[s] for s in tok.subject])
    tok.trial_key = np.array([f"{names[k.split('/', 1)[0]]}/{k.split('/', 1)[1]}" for k in tok.trial_key])
    ValidationGroupsSpy.seen.clear()
    cross_validate_subjects(tok, ValidationGroupsSpy(), protocol="cross-dataset", progress=False)
    assert ValidationGroupsSpy.seen == ["trial"]


def test_drop_unlabelled_runs_on_the_rest_and_records_the_counts(tmp_path):
    tok = make_tokens(n_subjects=2, n_trials=10, n_windows=2, effect=1.0)
    unlabelled = ["s01/1/3", "s02/1/7", "s02/1/8"]
    clean = tok[np.flatnonzero(~np.isin(tok.trial_key, unlabelled))]
    tok.ratings[np.isin(tok.trial_key, unlabelled), 0] = np.nan
    with pytest.raises(ValueError, match=r"3 trial\(s\) \(6 window\(s\)\).*'s01/1/3', 's02/1/7', 's02/1/8'"):
        cross_validate_subjects(tok, _logreg(), progress=False)
    res = cross_validate_subjects(tok, _logreg(), drop_unlabelled=True, progress=False)
    reference = cross_validate_subjects(clean, _logreg(), progress=False)
    assert [r["n_trials"] for r in res.subjects] == [9, 8] and res.config["n_trials"] == 17
    assert "unlabelled trials dropped before splitting: 3 (6 windows)" in res.format_summary()
    assert "unlabelled" not in reference.format_summary()
    write_report(res, tmp_path / "dropped")
    run = json.loads((tmp_path / "dropped" / "results.json").read_text())["runs"][0]
    assert run["config"]["unlabelled_dropped"] == {"trials": 3, "windows": 6}
    assert res.config.pop("unlabelled_dropped") == {"trials": 3, "windows": 6}
    assert reference.config.pop("unlabelled_dropped") == {"trials": 0, "windows": 0}
    _same(res, reference)  # the rest, as if the unlabelled trials had never been there
    # nothing to drop: nothing dropped, zeros recorded, same results as without the option
    kept = cross_validate_subjects(clean, _logreg(), drop_unlabelled=True, progress=False)
    _same(kept, cross_validate_subjects(clean, _logreg(), progress=False))
    write_report(kept, tmp_path / "kept")
    run = json.loads((tmp_path / "kept" / "results.json").read_text())["runs"][0]
    assert run["config"]["unlabelled_dropped"] == {"trials": 0, "windows": 0} and run["config"]["n_windows"] == 34


# ---- issue 18: single-class subjects, run records, trial-level chance, class counts, order, frames --------

def _one_class(tok, subjects):
    """Every trial of ``subjects`` rated high valence (8 on the 1-9 scale): their test windows hold one class."""
    tok.ratings[np.isin(tok.subject, subjects), 0] = 8.0
    return tok


def test_single_class_subject_is_left_out_of_the_mean_with_a_warning():
    tok = _one_class(make_tokens(n_subjects=3, n_trials=10, n_windows=2, effect=0.8), ["s02"])
    with pytest.warns(UserWarning, match=r"1 subject\(s\) left out of the mean.*'s02' \(all 'high \(>=5\)'\)") as rec:
        res = cross_validate_subjects(tok, _logreg(), n_permutations=2, progress=False)
    ours = [w for w in rec if "left out of the mean" in str(w.message)]
    assert len(ours) == 1 and ours[0].filename == __file__  # it points at the user's call, not at a wrapper
    row = {r["subject"]: r for r in res.subjects}
    assert [r["in_mean"] for r in res.subjects] == [True, False, True]
    assert row["s02"]["window"]["balanced_accuracy"] == 1.0  # the trivial score that used to enter the mean
    assert res.summary["excluded_subjects"] == ["s02"] and res.summary["n_subjects_in_mean"] == 2
    for level in ("window", "trial"):
        kept = [row[s][level]["balanced_accuracy"] for s in ("s01", "s03")]
        assert res.summary[level]["balanced_accuracy"]["mean"] == pytest.approx(np.mean(kept))
    assert res.summary["chance"]["balanced_accuracy"] == pytest.approx(np.mean([row[s]["chance"] for s in ("s01", "s03")]))
    assert np.sum(res.summary["confusion_window"]) == row["s01"]["n_test_windows"] + row["s03"]["n_test_windows"]
    assert "left out of the mean (test windows of one class only): s02" in res.format_summary()
    frame = res.to_frame()
    assert set(frame.loc[~frame["in_mean"], "subject"]) == {"s02"}


def test_run_where_no_subject_is_left_for_the_mean_says_so(tmp_path):
    tok = _one_class(make_tokens(n_subjects=2, n_trials=10, n_windows=2), ["s01", "s02"])
    with pytest.warns(UserWarning, match="no subject is left for the mean"):
        res = cross_validate_subjects(tok, _logreg(), progress=False)
    assert res.summary["n_subjects_in_mean"] == 0 and res.summary["excluded_subjects"] == ["s01", "s02"]
    assert np.isnan(res.summary["window"]["balanced_accuracy"]["mean"])
    assert "no subject is left for the mean" in res.format_summary()
    from neuroaffect.evaluation.report import load_results, summary_text

    md = write_report(res, tmp_path).read_text()
    assert "No subject is left for the mean" in md and "n/a: no subject in the mean" in md
    assert "No subject is left for the mean" in summary_text(load_results(tmp_path))


class ArrayParam(Centroids):
    """Centroids with an unused array parameter (long enough for numpy's repr to elide it)."""

    def __init__(self, weights=None):
        self.weights = weights


def test_config_records_name_features_full_parameters_and_versions():
    from importlib import metadata

    tok = make_tokens(n_subjects=1, n_trials=10, n_windows=2)
    tok.features = {"kind": "bde", "window": 1.0, "hop": None, "bands": [["theta", 4.0, 8.0]], "method": "sos"}
    res = cross_validate_subjects(tok, _logreg(), progress=False)
    c = res.config
    assert c["name"] == "Flatten → StandardScaler → LogisticRegression" and c["baseline"] is False
    assert c["features"] == tok.features
    assert c["estimator_params"]["logisticregression__C"] == 1.0
    assert c["estimator_params"]["logisticregression__random_state"] == 0  # as fitted (seeded)
    assert c["versions"]["scikit-learn"] == metadata.version("scikit-learn")
    assert c["versions"]["numpy"] == metadata.version("numpy") and c["versions"]["neuroaffect"]
    json.dumps(res.to_dict(), allow_nan=False)
    weights = np.zeros(3000)
    weights[1500] = 7.0  # in the part numpy's repr elides
    res = cross_validate_subjects(tok, ArrayParam(weights=weights), name="centroids", baseline=True, progress=False)
    assert "..." in res.config["estimator"] and res.config["estimator_params"]["weights"] == weights.tolist()
    assert res.config["name"] == "centroids" and res.config["baseline"] is True
    search = nested(_logreg(), {"logisticregression__C": [0.1, 1.0]}, n_inner_splits=2)
    from neuroaffect.evaluation.runner import describe_estimator

    assert describe_estimator(search).endswith("(Flatten → StandardScaler → LogisticRegression)")


def test_summary_means_have_seeded_percentile_bootstrap_intervals():
    from neuroaffect.evaluation import stats

    tok = make_tokens(n_subjects=4, n_trials=10, n_windows=2, effect=0.8)
    res = cross_validate_subjects(tok, Centroids(), progress=False)
    assert res.summary["ci"] == {"method": "percentile bootstrap over subjects", "confidence": 0.95,
                                 "n_resamples": 10000, "random_state": 0}
    for level in ("window", "trial"):
        entry = res.summary[level]["balanced_accuracy"]
        scores = res.scores("balanced_accuracy", level)
        assert (entry["ci_low"], entry["ci_high"]) == stats.bootstrap_ci(scores, random_state=0)
        assert entry["ci_low"] <= entry["mean"] <= entry["ci_high"]
        assert scores.min() <= entry["ci_low"] < entry["ci_high"] <= scores.max()


def test_bootstrap_ci():
    from neuroaffect.evaluation.stats import bootstrap_ci

    v = np.array([0.5, 0.6, 0.7, 0.8, 0.9, 0.55])
    low, high = bootstrap_ci(v, n_resamples=20000, random_state=3)
    rng = np.random.RandomState(3)
    means = v[rng.randint(0, len(v), size=(20000, len(v)))].mean(1)
    assert (low, high) == tuple(np.quantile(means, [0.025, 0.975]))
    assert bootstrap_ci(v) == bootstrap_ci(v)  # seeded
    assert bootstrap_ci([0.7, 0.7, 0.7]) == pytest.approx((0.7, 0.7))
    assert bootstrap_ci([0.3, 0.9], confidence=0.5) != bootstrap_ci([0.3, 0.9], confidence=0.99)
    assert all(np.isnan(bootstrap_ci([0.7, np.nan])))  # one finite value: no interval
    with pytest.raises(ValueError, match="'confidence'"):
        bootstrap_ci(v, confidence=95)


def test_trial_level_chance_and_p_values_from_permutations():
    tok = make_tokens(n_subjects=2, n_trials=10, n_windows=3, effect=1.0)
    res = cross_validate_subjects(tok, Centroids(), n_permutations=3, progress=False)
    null_trial = np.array(res.permutation["null_trial"], dtype=float)
    assert null_trial.shape == (3, 2) and res.permutation["levels"] == ["window", "trial"]
    assert not np.array_equal(null_trial, np.array(res.permutation["null"], dtype=float))
    for j, row in enumerate(res.subjects):
        assert row["chance_trial"] == pytest.approx(null_trial[:, j].mean())
        expected = (np.sum(null_trial[:, j] >= row["trial"]["balanced_accuracy"] - 1e-12) + 1) / 4
        assert row["p_value_trial"] == pytest.approx(expected)
    assert res.summary["chance_trial"]["balanced_accuracy"] == pytest.approx(null_trial.mean())
    assert 0 < res.summary["group_p_value_trial"] <= 1
    assert "trial" in res.format_summary().split("permutation p")[1]


def test_class_counts_per_subject_and_fold():
    tok = make_tokens(n_subjects=3, n_trials=10, n_windows=2, effect=0.8)
    y = (tok.ratings[:, 0] >= 5).astype(int)
    res = cross_validate_subjects(tok, Centroids(), progress=False)
    for row in res.subjects:
        mine = tok.subject == row["subject"]
        per_class = np.bincount(y[mine], minlength=2).tolist()
        cc = row["class_counts"]
        # within-subject k-fold: every window is tested once and trains the other folds' models
        assert cc["test_windows"] == cc["train_windows"] == per_class
        assert cc["test_trials"] == (np.array(per_class) // 2).tolist()
    fold = res.folds[0]
    assert sum(fold["class_counts"]["test_windows"]) == fold["audit"]["n_test_windows"]
    assert sum(fold["class_counts"]["train_trials"]) == fold["audit"]["n_train_trials"]
    loso = cross_validate_subjects(tok, Centroids(), protocol="leave-one-subject-out", progress=False)
    cc = loso.subjects[0]["class_counts"]
    assert cc["train_windows"] == np.bincount(y[tok.subject != "s01"], minlength=2).tolist()


def _renamed(tok, names):
    tok.subject = np.array([names[s] for s in tok.subject])
    tok.trial_key = np.array([f"{names[k.split('/', 1)[0]]}/{k.split('/', 1)[1]}" for k in tok.trial_key])
    return tok


def test_subjects_come_in_natural_order():
    from neuroaffect._keys import natural_key

    assert sorted(["s10", "s2", "s1", "a"], key=natural_key) == ["a", "s1", "s2", "s10"]
    tok = _renamed(make_tokens(n_subjects=11, n_trials=4, n_windows=1),
                   {f"s{i:02d}": str(i) for i in range(1, 12)})
    res = cross_validate_subjects(tok, Centroids(), n_splits=2, progress=False)
    assert [r["subject"] for r in res.subjects] == [str(i) for i in range(1, 12)]
    assert [f["scope"] for f in res.folds[::2]] == [str(i) for i in range(1, 12)]


def test_to_frame_is_tidy():
    tok = _one_class(make_tokens(n_subjects=2, n_trials=10, n_windows=2), ["s02"])
    with pytest.warns(UserWarning):
        res = cross_validate_subjects(tok, _logreg(), name="logreg", progress=False)
    df = res.to_frame()
    assert list(df.columns) == ["dataset", "subject", "run", "baseline", "protocol", "leakage_free", "target",
                                "task", "level", "metric", "score", "n_samples", "in_mean"]
    assert len(df) == 2 * 4 * 2 and not df.duplicated(["subject", "run", "metric", "level"]).any()
    assert set(df["run"]) == {"logreg"} and set(df["level"]) == {"window", "trial"}
    got = df.set_index(["subject", "level", "metric"])["score"]
    for row in res.subjects:
        for level in ("window", "trial"):
            for metric, value in row[level].items():
                assert got[(row["subject"], level, metric)] == pytest.approx(value, nan_ok=True)
    assert df.loc[df["level"] == "trial", "n_samples"].tolist()[0] == res.subjects[0]["n_test_trials"]
    assert df.groupby("subject")["in_mean"].all().to_dict() == {"s01": True, "s02": False}


# ---- issue 14: cv= takes a protocol name, any splitter, PerSubject(splitter) or precomputed indices --------

def _per_subject_indices(tok, n_splits=5, seed=0):
    """The folds of protocol within-subject-kfold, made by hand as global (train, test) window indices."""
    from neuroaffect.evaluation import TrialKFold

    folds = []
    for s in sorted(np.unique(tok.subject)):
        idx = np.flatnonzero(tok.subject == s)
        y = (tok.ratings[idx, 0] >= 5).astype(int)
        folds += [(idx[tr], idx[te]) for tr, te in
                  TrialKFold(n_splits, shuffle=True, random_state=seed).split(tok.X[idx], y, tok.trial_key[idx])]
    return folds


def test_cv_protocol_name_and_protocol_are_one_path():
    tok = make_tokens(n_subjects=2, n_trials=10, n_windows=2, effect=1.0)
    a = cross_validate_subjects(tok, _logreg(), cv="within-subject-loto", progress=False)
    b = cross_validate_subjects(tok, _logreg(), protocol="within-subject-loto", progress=False)
    _same(a, b)
    assert a.config["cv"] == "protocol" and a.config["protocol"] == "within-subject-loto"
    default = cross_validate_subjects(tok, _logreg(), progress=False)
    assert default.config["protocol"] == "within-subject-kfold"


def test_precomputed_indices_reproduce_the_named_protocol():
    tok = make_tokens(n_subjects=2, n_trials=10, n_windows=3, effect=1.0)
    named = cross_validate_subjects(tok, _logreg(), progress=False)
    given = cross_validate_subjects(tok, _logreg(), cv=_per_subject_indices(tok), progress=False)
    np.testing.assert_array_equal(given.predictions["y_pred"], named.predictions["y_pred"])
    assert given.config["cv"] == "precomputed" and given.config["protocol"] == "precomputed splits (10 folds)"
    assert given.leakage_free and given.config["leakage_free"] is True and len(given.folds) == 10
    assert given.subjects[0]["window"] == named.subjects[0]["window"]


def test_leaky_user_splits_are_run_and_labelled_leaky_everywhere(tmp_path):
    from sklearn.model_selection import GroupKFold, KFold

    tok = make_tokens(n_subjects=2, n_trials=10, n_windows=4, fingerprint=2.0, effect=0.0)
    knn = make_pipeline(Flatten(), KNeighborsClassifier(3))
    leaky = cross_validate_subjects(tok, knn, cv=PerSubject(KFold(5, shuffle=True, random_state=0)), progress=False)
    assert leaky.config["cv"] == "per-subject splitter" and leaky.config["scope"] == "subject"
    assert leaky.config["leakage_free"] is False and not leaky.leakage_free
    assert leaky.leakage["leaked_test_fraction"] > 0.9 and leaky.leakage["protocol"].endswith("(LEAKY)")
    assert "LEAKY" in leaky.format_summary()
    assert leaky.summary["window"]["balanced_accuracy"]["mean"] > 0.85  # the fingerprints, learnt
    md = write_report(leaky, tmp_path / "leaky").read_text()
    assert "LEAKY PROTOCOL" in md and "PerSubject(cv=KFold(" in md
    frame = leaky.to_frame()
    assert not frame["leakage_free"].any()
    # whole trials per fold (groups = trial keys): audited clean, labelled leakage-free
    clean = cross_validate_subjects(tok, knn, cv=PerSubject(GroupKFold(5)), progress=False)
    assert clean.leakage_free and clean.leakage["leaked_test_fraction"] == 0
    assert clean.summary["window"]["balanced_accuracy"]["mean"] < 0.7
    pooled = cross_validate_subjects(tok, knn, cv=GroupKFold(4), progress=False)
    assert pooled.config["cv"] == "pooled splitter" and pooled.config["scope"] == "pooled" and pooled.leakage_free
    assert len(pooled.folds) == 4 and all(f["scope"] == "all" for f in pooled.folds)
    # a precomputed split leaking one trial: run, and LEAKY
    folds = _per_subject_indices(tok)
    folds[0] = (np.append(folds[0][0], folds[0][1][0]), folds[0][1])
    planted = cross_validate_subjects(tok, knn, cv=folds, progress=False)
    assert not planted.leakage_free and planted.folds[0]["audit"]["shared_trials"] == 1
    assert all(f["audit"]["shared_trials"] == 0 for f in planted.folds[1:])


def test_precomputed_indices_follow_dropped_unlabelled_trials():
    tok = make_tokens(n_subjects=2, n_trials=10, n_windows=2, effect=1.0)
    folds = _per_subject_indices(tok)
    unlabelled = np.isin(tok.trial_key, ["s01/1/3", "s02/1/8"])
    tok.ratings[unlabelled, 0] = np.nan
    res = cross_validate_subjects(tok, _logreg(), cv=folds, drop_unlabelled=True, progress=False)
    kept = np.flatnonzero(~unlabelled)
    n_tested = sum(np.isin(te, kept).sum() for _, te in folds)
    assert res.config["n_windows"] == len(kept) == n_tested == (res.predictions["fold"] >= 0).sum()
    assert res.leakage_free and res.config["unlabelled_dropped"] == {"trials": 2, "windows": 4}


def test_cv_errors_name_the_parameter():
    from sklearn.model_selection import ShuffleSplit

    tok = make_tokens(n_subjects=1, n_trials=10, n_windows=2)
    with pytest.raises(ValueError, match="'cv' parameter or the 'protocol' parameter, not both"):
        cross_validate_subjects(tok, _logreg(), cv="within-subject-kfold", protocol="within-subject-kfold")
    with pytest.raises(ValueError, match="'cv' parameter.*protocol name.*got 5 \\(the number of folds is n_splits\\)"):
        cross_validate_subjects(tok, _logreg(), cv=5)
    with pytest.raises(ValueError, match="'cv' parameter: fold 0 test indexes window 20; expected indices >= 0 and < 20"):
        cross_validate_subjects(tok, _logreg(), cv=[(np.arange(10), np.arange(10, 21))], progress=False)
    with pytest.raises(ValueError, match="fold 1 must be a \\(train, test\\) pair"):
        cross_validate_subjects(tok, _logreg(), cv=[(np.arange(10), np.arange(10, 20)), np.arange(3)])
    with pytest.raises(ValueError, match="fold 0 train must be a non-empty 1-D array of integer"):
        cross_validate_subjects(tok, _logreg(), cv=[([], np.arange(3))])
    with pytest.raises(ValueError, match="pooled: [0-9]+ window\\(s\\) are in the test set of several folds"):
        cross_validate_subjects(tok, _logreg(), cv=ShuffleSplit(5, test_size=0.5, random_state=0), progress=False)


def test_splitters_promise_what_their_protocol_holds_out():
    from neuroaffect.evaluation import PROTOCOLS

    for prot in PROTOCOLS.values():
        splitter = prot.splitter()
        assert set(splitter.held_out) == set(prot.held_out), prot.name
        assert splitter.leakage_free == prot.leakage_free, prot.name


def test_stored_folds_are_keyed_by_the_labels_not_only_the_rating_name(tmp_path):
    """A new scale makes new labels from the same ratings: no fold of the old run may be reused."""
    from dataclasses import replace as dc_replace

    from neuroaffect.affect.scales import RatingScale
    from neuroaffect.estimators import make_estimator

    tok = make_tokens(n_subjects=2, n_trials=12)
    first = cross_validate_subjects(tok, make_estimator("de-logreg"), results_dir=tmp_path, progress=False)
    rescaled = dc_replace(tok, scales={**tok.scales, "valence": RatingScale("1-5", 1.0, 5.0)})
    second = cross_validate_subjects(rescaled, make_estimator("de-logreg"), results_dir=tmp_path, progress=False)
    assert first.config["run_id"] != second.config["run_id"]
    fresh = cross_validate_subjects(rescaled, make_estimator("de-logreg"), progress=False)
    np.testing.assert_array_equal(second.predictions["y_pred"], fresh.predictions["y_pred"])
