"""Targets: a missing rating never becomes a label; unlabelled trials are dropped only when asked."""

import logging

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline

from neuroaffect.datasets import make_tokens
from neuroaffect.evaluation import Target, cross_validate_subjects, make_target
from neuroaffect.evaluation._synthetic import Flatten
from neuroaffect.evaluation.targets import missing_labels

UNLABELLED = ["s01/1/2", "s02/1/5"]
TASKS = ["binary", "classes", "regression"]


def _tokens(unlabelled=UNLABELLED, **kw):
    tok = make_tokens(**{"n_subjects": 2, "n_trials": 10, "n_windows": 2, "effect": 1.0, **kw})
    tok.ratings[np.isin(tok.trial_key, unlabelled), 0] = np.nan  # column 0 is valence
    return tok


def _estimator(task):
    return make_pipeline(Flatten(), Ridge() if task == "regression" else LogisticRegression())


@pytest.mark.parametrize("task", TASKS)
def test_missing_ratings_raise_and_name_the_trials(task):
    tok = _tokens()
    match = r"'valence' rating .* missing .* for 2 trial\(s\) \(4 window\(s\)\), .*'s01/1/2', 's02/1/5'.*drop_unlabelled=True"
    with pytest.raises(ValueError, match=match):
        make_target(tok, "valence", task)
    with pytest.raises(ValueError, match=match):
        cross_validate_subjects(tok, _estimator(task), task=task, progress=False)
    # the other rating is complete: no error
    assert len(make_target(tok, "arousal", task).y) == len(tok)


def test_error_lists_the_first_trials_only():
    keys = [f"s01/1/{t}" for t in range(1, 9)]
    with pytest.raises(ValueError, match=r"8 trial\(s\) .*'s01/1/5', \.\.\.;") as err:
        make_target(_tokens(keys), "valence", "binary")
    assert "s01/1/6" not in str(err.value)


@pytest.mark.parametrize("missing", [None, "", "n/a", " N/A ", "nan", float("nan")])
def test_missing_object_and_string_labels_raise(missing):
    tok = make_tokens(n_subjects=1, n_trials=4, n_windows=2)
    tok.ratings = tok.ratings.astype(object)
    tok.ratings[np.asarray(tok.trial_key) == "s01/1/3", 0] = missing
    with pytest.raises(ValueError, match=r"1 trial\(s\) \(2 window\(s\)\), trial keys .* 's01/1/3';"):
        make_target(tok, "valence", "binary")
    target = make_target(tok, "valence", "regression", drop_unlabelled=True)
    assert target.unlabelled_dropped == {"trials": 1, "windows": 2} and target.y.dtype == float


def test_missing_labels_mask():
    values = np.array([1.0, None, "", "n/a", "5", " NaN", 7, "x"], dtype=object)
    assert missing_labels(values).tolist() == [False, True, True, True, False, True, False, False]
    assert missing_labels(np.array(["3", "", "n/a"])).tolist() == [False, True, True]
    assert missing_labels(np.array([1.0, np.nan])).tolist() == [False, True]
    assert not missing_labels(np.arange(3)).any()


def test_numeric_strings_are_ratings_and_other_strings_are_refused():
    tok = make_tokens(n_subjects=1, n_trials=4, n_windows=2)
    numbers = tok.rating("valence").copy()
    tok.ratings = tok.ratings.astype(str)
    np.testing.assert_allclose(make_target(tok, "valence", "regression").y, numbers, rtol=1e-12)
    tok.ratings[3, 0] = "high"
    with pytest.raises(ValueError, match="'valence' rating .* holds 'high', which is neither a number"):
        make_target(tok, "valence", "binary")


@pytest.mark.parametrize("task", TASKS)
def test_drop_unlabelled_keeps_the_labelled_windows_and_logs(task, caplog):
    tok = _tokens()
    keep = ~np.isin(tok.trial_key, UNLABELLED)
    with caplog.at_level(logging.WARNING, logger="neuroaffect.evaluation.targets"):
        target = make_target(tok, "valence", task, drop_unlabelled=True)
    assert target.unlabelled_dropped == {"trials": 2, "windows": 4}
    np.testing.assert_array_equal(target.windows, np.flatnonzero(keep))
    np.testing.assert_array_equal(target.y, make_target(tok[np.flatnonzero(keep)], "valence", task).y)
    [record] = caplog.records
    assert "2 trial(s)" in record.getMessage() and "4 window(s)" in record.getMessage()
    assert "'s01/1/2', 's02/1/5'" in record.getMessage()


def test_nothing_is_dropped_or_raised_when_every_trial_is_labelled(caplog):
    tok = make_tokens(n_subjects=2, n_trials=10, n_windows=2)
    with caplog.at_level(logging.DEBUG, logger="neuroaffect.evaluation.targets"):
        for task in TASKS:
            kept = make_target(tok, "valence", task, drop_unlabelled=True)
            plain = make_target(tok, "valence", task)
            assert kept.windows is None and kept.unlabelled_dropped == {"trials": 0, "windows": 0}
            np.testing.assert_array_equal(kept.y, plain.y)
            assert len(kept.y) == len(tok)
    assert not caplog.records


def test_dropping_every_trial_is_an_error():
    tok = make_tokens(n_subjects=1, n_trials=3, n_windows=2)
    tok.ratings[:, 0] = np.nan
    with pytest.raises(ValueError, match=r"missing for every trial \(3 trial\(s\) \(6 window\(s\)\)\).*no window"):
        make_target(tok, "valence", "binary", drop_unlabelled=True)
    with pytest.raises(ValueError, match="missing for every trial"):
        cross_validate_subjects(tok, _estimator("binary"), drop_unlabelled=True, progress=False)


def test_drop_unlabelled_must_be_a_bool():
    with pytest.raises(ValueError, match="'drop_unlabelled' parameter: expected True or False, got 'yes'"):
        make_target(make_tokens(n_subjects=1, n_trials=3), "valence", "binary", drop_unlabelled="yes")


def test_given_labels_with_nan_raise_or_are_dropped():
    tok = _tokens([])
    y = tok.rating("valence").copy()
    y[np.isin(tok.trial_key, UNLABELLED)] = np.nan
    labels = Target(y, "regression", "valence", ())
    with pytest.raises(ValueError, match=r"label 'valence' .* 2 trial\(s\) \(4 window\(s\)\).*'s01/1/2', 's02/1/5'"):
        cross_validate_subjects(tok, _estimator("regression"), target=labels, progress=False)
    res = cross_validate_subjects(tok, _estimator("regression"), target=labels, drop_unlabelled=True, progress=False)
    assert res.config["unlabelled_dropped"] == {"trials": 2, "windows": 4}
    assert res.config["n_windows"] == len(tok) - 4
    assert not np.isin(res.predictions["trial_key"], UNLABELLED).any()


def test_a_target_made_with_drop_unlabelled_runs_on_its_tokens():
    tok = _tokens()
    target = make_target(tok, "valence", "binary", drop_unlabelled=True)
    est = _estimator("binary")
    given = cross_validate_subjects(tok, est, target=target, progress=False)
    made = cross_validate_subjects(tok, est, drop_unlabelled=True, progress=False)
    assert given.config["unlabelled_dropped"] == made.config["unlabelled_dropped"] == {"trials": 2, "windows": 4}
    np.testing.assert_array_equal(given.predictions["y_pred"], made.predictions["y_pred"])
    with pytest.raises(ValueError, match="up to index .* expected the tokens the target was made from"):
        cross_validate_subjects(tok[np.arange(10)], est, target=target, progress=False)
    with pytest.raises(ValueError, match="'drop_unlabelled' parameter: expected True or False, got 1"):
        cross_validate_subjects(make_tokens(n_subjects=1, n_trials=3), _estimator("binary"), drop_unlabelled=1,
                                progress=False)
