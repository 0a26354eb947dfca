"""Splitters never put a trial on both sides; the audit catches leaks; sklearn compatibility."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate
from sklearn.pipeline import make_pipeline

from neuroaffect.datasets import make_tokens
from neuroaffect.evaluation import (
    FirstTrialsSplit,
    LeakageError,
    LeakySegmentKFold,
    LeaveOneSessionOut,
    LeaveOneSubjectOut,
    LeaveOneTrialOut,
    TrialKFold,
    audit_split,
    check_split,
    get_protocol,
    nested,
    parse_trial_keys,
)
from neuroaffect.evaluation._synthetic import Flatten


@st.composite
def layouts(draw):
    """Random subjects / sessions / trials / windows per trial, overlapping window spans, shuffled order."""
    n_subjects = draw(st.integers(1, 3))
    n_sessions = draw(st.integers(1, 3))
    keys, starts, stops, labels = [], [], [], []
    for s in range(n_subjects):
        for se in range(n_sessions):
            n_trials = draw(st.integers(6, 9))
            for t in range(n_trials):
                n_win = draw(st.integers(1, 5))
                hop = draw(st.integers(1, 4))
                width = draw(st.integers(1, 8))
                label = t % 2
                for w in range(n_win):
                    keys.append(f"sub{s}/{se}/{t + 1}")
                    starts.append(w * hop)
                    stops.append(w * hop + width)
                    labels.append(label)
    order = np.random.default_rng(draw(st.integers(0, 2**16))).permutation(len(keys))
    return (np.array(keys)[order], np.array(starts)[order], np.array(stops)[order],
            np.array(labels)[order])


def _assert_clean(splitter, keys, start, stop, y, *, partition):
    X = np.zeros((len(keys), 2))
    tested = np.zeros(len(keys), dtype=int)
    for train, test in splitter.split(X, y, keys):
        assert len(test) > 0 and len(np.intersect1d(train, test)) == 0
        audit = audit_split(keys, start, stop, train, test)
        assert audit.shared_trials == 0 and audit.leaked_test_fraction == 0
        assert audit.overlapping_test_fraction == 0
        tested[test] += 1
    if partition:
        assert np.all(tested == 1)


@settings(max_examples=40, deadline=None)
@given(layouts(), st.integers(2, 5), st.integers(0, 100))
def test_within_subject_splitters_never_leak(layout, n_splits, seed):
    keys, start, stop, y = layout
    subject = parse_trial_keys(keys)[0]
    for s in np.unique(subject):
        idx = np.flatnonzero(subject == s)
        k, a, b, lab = keys[idx], start[idx], stop[idx], y[idx]
        _assert_clean(TrialKFold(n_splits, random_state=seed), k, a, b, lab, partition=True)
        _assert_clean(TrialKFold(n_splits, shuffle=False), k, a, b, None, partition=True)
        _assert_clean(LeaveOneTrialOut(), k, a, b, lab, partition=True)
        _assert_clean(FirstTrialsSplit(n_train=5), k, a, b, lab, partition=False)
        if len(np.unique(parse_trial_keys(k)[1])) > 1:
            _assert_clean(LeaveOneSessionOut(), k, a, b, lab, partition=True)


@settings(max_examples=25, deadline=None)
@given(layouts())
def test_cross_subject_splitters_never_leak(layout):
    keys, start, stop, y = layout
    if len(np.unique(parse_trial_keys(keys)[0])) > 1:
        _assert_clean(LeaveOneSubjectOut(), keys, start, stop, y, partition=True)
    if len(np.unique(parse_trial_keys(keys)[1])) > 1:
        _assert_clean(LeaveOneSessionOut(), keys, start, stop, y, partition=True)


def test_trial_kfold_stratifies_whole_trials():
    keys = np.repeat([f"s/1/{t}" for t in range(1, 21)], 3)
    y = np.repeat(np.r_[np.zeros(10), np.ones(10)].astype(int), 3)
    for _, test in TrialKFold(5, random_state=0).split(np.zeros(60), y, keys):
        test_trials_y = y[test][::3]
        assert np.bincount(test_trials_y).tolist() == [2, 2]


def test_seed_first_9_last_6_exact():
    keys = []
    for se in ("1", "2", "3"):
        for t in range(15, 0, -1):  # reversed and string-unsorted on purpose (10 < 2 as strings)
            keys += [f"5/{se}/{t}"] * 2
    keys = np.array(keys)
    splits = list(FirstTrialsSplit(9).split(np.zeros(len(keys)), None, keys))
    assert len(splits) == 3 == FirstTrialsSplit(9).get_n_splits(groups=keys)
    for (train, test), se in zip(splits, ("1", "2", "3"), strict=True):
        _, sess_tr, trial_tr = parse_trial_keys(keys[train])
        _, sess_te, trial_te = parse_trial_keys(keys[test])
        assert set(sess_tr) == set(sess_te) == {se}
        assert sorted(set(trial_tr.astype(int))) == list(range(1, 10))
        assert sorted(set(trial_te.astype(int))) == list(range(10, 16))
    assert isinstance(get_protocol("seed-9-6").splitter(), FirstTrialsSplit)


def test_first_trials_split_orders_prefixed_trial_ids_naturally():
    # "t10" sorts before "t2" as text; the first trials are t1, t2 (digit runs compare as numbers).
    keys = np.repeat([f"s1/1/t{t}" for t in (10, 2, 11, 1, 3)], 2)
    (train, test), = FirstTrialsSplit(2).split(np.zeros(len(keys)), None, keys)
    assert sorted(set(parse_trial_keys(keys[train])[2])) == ["t1", "t2"]
    assert sorted(set(parse_trial_keys(keys[test])[2])) == ["t10", "t11", "t3"]


def test_audit_catches_planted_leak_and_overlap():
    keys = np.array(["a/1/1"] * 4 + ["a/1/2"] * 4)
    start = np.array([0, 64, 128, 192] * 2)
    stop = start + 128
    train, test = np.array([0, 1, 4, 5, 6, 7]), np.array([2, 3])  # windows 2,3 of trial 1 leak
    audit = audit_split(keys, start, stop, train, test)
    assert audit.shared_trials == 1 and audit.leaked_test_fraction == 1.0
    assert audit.overlapping_test_fraction == 0.5  # window [128,256) overlaps [64,192); [192,320) does not
    with pytest.raises(LeakageError, match="1 trial"):
        check_split(keys, start, stop, train, test, leakage_free=True)
    assert check_split(keys, start, stop, train, test, leakage_free=False).shared_trials == 1
    clean = audit_split(keys, start, stop, np.arange(4), np.arange(4, 8))
    assert clean.clean


def test_leakage_free_splitter_refuses_to_emit_leaky_split(monkeypatch):
    class Broken(TrialKFold):
        def _split(self, keys, y):
            yield np.arange(len(keys) - 1), np.array([len(keys) - 1])

    keys = np.repeat(["s/1/1", "s/1/2"], 3)
    with pytest.raises(LeakageError):
        list(Broken(2).split(np.zeros(6), None, keys))


def test_leaky_segment_kfold_is_leaky():
    tok = make_tokens(n_subjects=2, n_trials=6, n_windows=6)
    splitter = LeakySegmentKFold(3, random_state=0)
    assert not splitter.leakage_free and TrialKFold.leakage_free
    fractions = [audit_split(tok.trial_key, tok.start, tok.stop, tr, te).leaked_test_fraction
                 for tr, te in splitter.split(tok.X)]
    assert min(fractions) > 0.9


def test_splitter_errors():
    keys = np.repeat(["s/1/1", "s/1/2", "s/1/3"], 2)
    with pytest.raises(ValueError, match="groups"):
        list(TrialKFold(2).split(np.zeros(6)))
    with pytest.raises(ValueError, match="trial keys"):
        list(FirstTrialsSplit(2).split(np.zeros(6), None, np.arange(6)))
    with pytest.raises(ValueError, match="3 trial"):
        list(TrialKFold(5).split(np.zeros(6), None, keys))
    with pytest.raises(ValueError, match="n_splits"):
        list(TrialKFold(1).split(np.zeros(6), None, keys))
    with pytest.raises(ValueError, match="single session"):
        list(LeaveOneSessionOut().split(np.zeros(6), None, keys))
    with pytest.raises(ValueError, match="more than n_train"):
        list(FirstTrialsSplit(3).split(np.zeros(6), None, keys))
    with pytest.raises(ValueError, match="6 windows"):
        list(TrialKFold(2).split(np.zeros(6), None, keys[:4]))
    with pytest.raises(ValueError, match="protocol"):
        get_protocol("random-kfold")


def test_sklearn_cross_validate_and_nested_search_with_groups():
    tok = make_tokens(n_subjects=1, n_trials=12, n_windows=4, effect=1.0)
    y = (tok.rating("valence") >= 5).astype(int)
    pipe = make_pipeline(Flatten(), LogisticRegression())
    res = cross_validate(pipe, tok.X, y, groups=tok.trial_key, cv=TrialKFold(3, random_state=0))
    assert len(res["test_score"]) == 3

    seen = []

    class Spy(TrialKFold):
        def split(self, X, y=None, groups=None):
            seen.append(set(np.asarray(groups)))
            yield from super().split(X, y, groups)

    search = nested(pipe, {"logisticregression__C": [0.1, 1.0]}, n_inner_splits=2)
    search.cv = Spy(2, random_state=0)
    outer_train, outer_test = next(TrialKFold(3, random_state=0).split(tok.X, y, tok.trial_key))
    search.fit(tok.X[outer_train], y[outer_train], groups=tok.trial_key[outer_train])
    assert seen and seen[0].isdisjoint(set(tok.trial_key[outer_test]))
    with pytest.raises(ValueError, match="groups"):
        nested(pipe, {"logisticregression__C": [1.0]}).fit(tok.X, y)


def test_trial_kfold_handles_2d_multitask_labels():
    # Two binary targets per trial (e.g. valence and arousal): stratified on the label combination.
    rng = np.random.default_rng(0)
    trial_y = np.repeat(np.array([[0, 0], [0, 1], [1, 0], [1, 1]]), 5, axis=0)[rng.permutation(20)]
    keys = np.repeat([f"s1/1/{t}" for t in range(20)], 4)
    y = np.repeat(trial_y, 4, axis=0)
    splits = list(TrialKFold(5, random_state=0).split(np.zeros((80, 3)), y, keys))
    assert len(splits) == 5
    for train, test in splits:
        assert set(keys[train]).isdisjoint(keys[test])
        combos = {tuple(row) for row in y[test][::4]}
        assert len(combos) == 4  # one trial of each combination per fold


def test_split_errors_name_the_subject_and_print_plain_ids():
    keys = np.array([f"s04/1/{t}" for t in range(1, 4)])
    with pytest.raises(ValueError, match="3 trial\\(s\\) of subject 's04'"):
        list(TrialKFold(5).split(np.zeros(3), None, keys))
    keys = np.array(["s01/1/1", "s01/1/2"], dtype=np.str_)
    with pytest.raises(ValueError) as err:
        list(LeaveOneSessionOut().split(np.zeros(2), None, keys))
    assert "np.str_" not in str(err.value) and "Subject 's01'" in str(err.value)
    with pytest.raises(ValueError) as err:
        list(FirstTrialsSplit(9).split(np.zeros(2), None, keys))
    assert "np.str_" not in str(err.value) and "Session 's01/1'" in str(err.value)


def test_check_split_refuses_a_held_out_unit_on_both_sides():
    keys = np.array(["a/1/1", "a/1/2", "b/1/1", "b/1/2"])
    start, stop = np.zeros(4, int), np.ones(4, int)
    subject = np.array(["a", "a", "b", "b"])
    train, test = np.array([0, 2, 3]), np.array([1])  # trial-disjoint, but subject 'a' is on both sides
    assert check_split(keys, start, stop, train, test).clean
    with pytest.raises(LeakageError, match="1 subject\\(s\\).*first: 'a'"):
        check_split(keys, start, stop, train, test, held_out={"subject": subject})
    stimulus = np.array(["1", "2", "1", "2"])
    with pytest.raises(LeakageError, match="stimulus"):
        check_split(keys, start, stop, np.array([2, 3]), np.array([1]), held_out={"stimulus": stimulus})
    assert check_split(keys, start, stop, np.array([2]), np.array([1]),
                       held_out={"subject": subject, "stimulus": stimulus}).clean
    with pytest.raises(ValueError, match="one id per window"):
        check_split(keys, start, stop, train, test, held_out={"subject": subject[:2]})


def test_losostim_skipped_splits_leave_windows_untested():
    # Subject b saw only stimulus 1: a's fold holding stimulus 1 has no training window and is skipped.
    from neuroaffect.evaluation import LeaveOneSubjectOutStimulusKFold

    keys = np.array([f"a/1/{t}" for t in range(1, 7)] + ["b/1/1"])
    tested = np.zeros(len(keys), int)
    for _, test in LeaveOneSubjectOutStimulusKFold(3, shuffle=False).split(np.zeros(len(keys)), None, keys):
        tested[test] += 1
    assert tested.max() == 1 and tested[:2].sum() == 0 and tested[2:].min() == 1


@pytest.mark.parametrize("kw", [dict(random_state=0), dict(random_state=5), dict(shuffle=False)])
def test_losostim_folds_are_kfold_over_stimuli_in_order_of_first_appearance(kw):
    """The folds of the former inline code (one KFold of the stimuli, for every subject), written out."""
    from sklearn.model_selection import KFold

    from neuroaffect.evaluation import LeaveOneSubjectOutStimulusKFold
    from neuroaffect.evaluation._trial_ids import _stimulus_folds

    rng = np.random.RandomState(0)
    # stimuli in no sorted order, seen by different subjects, subject "c" with one stimulus
    keys = np.array([f"{s}/1/{t}" for s in "ab" for t in rng.permutation([f"x{i}" for i in range(11)])[:9]]
                    + ["c/1/x3"])[rng.permutation(19)]
    subject, _, stimulus = parse_trial_keys(keys)
    stimuli = list(dict.fromkeys(stimulus.tolist()))
    ref = []
    for s in dict.fromkeys(subject.tolist()):
        own = subject == s
        for _, held in KFold(3, shuffle=kw.get("shuffle", True), random_state=kw.get("random_state")).split(stimuli):
            held = np.isin(stimulus, np.array(stimuli)[held])
            train, test = np.flatnonzero(~own & ~held), np.flatnonzero(own & held)
            if len(train) and len(test):
                ref.append((train.tolist(), test.tolist()))
    cv = LeaveOneSubjectOutStimulusKFold(3, **kw)
    assert [(tr.tolist(), te.tolist()) for tr, te in cv.split(np.zeros(len(keys)), None, keys)] == ref
    assert len(ref) == cv.get_n_splits(groups=keys) < 9  # subject "c" has no rows in two folds
    fold = _stimulus_folds(stimulus, 3, kw.get("shuffle", True), kw.get("random_state"))
    assert len(set(zip(stimulus.tolist(), fold.tolist(), strict=True))) == len(stimuli)  # one fold per stimulus, any subject
    assert sorted(np.bincount(fold[np.unique(stimulus, return_index=True)[1]]).tolist()) == sorted(
        len(held) for _, held in KFold(3).split(stimuli))
    n = len(stimuli)
    with pytest.raises(ValueError, match=f"Cannot make n_splits={n + 1} folds of stimuli from {n} distinct stimuli"):
        _stimulus_folds(stimulus, n + 1, True, 0)


def test_inner_kfold_holds_out_subjects_when_several_are_present():
    from neuroaffect.evaluation import InnerKFold

    keys = np.array([f"s{s}/1/{t}" for s in range(4) for t in range(6) for _ in range(2)])
    subject = parse_trial_keys(keys)[0]
    splitter = InnerKFold(3, random_state=0)
    splits = list(splitter.split(np.zeros(len(keys)), None, keys))
    assert len(splits) == 3 == splitter.get_n_splits(groups=keys)
    for train, test in splits:
        assert set(subject[train]).isdisjoint(subject[test])
    # fewer subjects than folds: one subject per fold
    two = keys[np.isin(subject, ["s0", "s1"])]
    assert InnerKFold(3).get_n_splits(groups=two) == 2 == len(list(InnerKFold(3).split(two, None, two)))
    # one subject: whole-trial folds, as TrialKFold
    one = keys[subject == "s0"]
    inner = [t.tolist() for _, t in InnerKFold(3, random_state=0).split(one, None, one)]
    assert inner == [t.tolist() for _, t in TrialKFold(3, random_state=0).split(one, None, one)]
    assert len(list(InnerKFold(3, unit="trial", random_state=0).split(keys, None, keys))) == 3
    with pytest.raises(ValueError, match="'unit'"):
        InnerKFold(3, unit="session").get_n_splits(groups=keys)
    with pytest.raises(ValueError, match="at least 2 subjects"):
        list(InnerKFold(3, unit="subject").split(one, None, one))


def test_inner_folds_hold_every_class_or_refuse_saying_why():
    from neuroaffect.evaluation import InnerKFold

    keys = np.repeat([f"1/1/{t}" for t in range(12)], 2)
    y = np.repeat((np.arange(12) % 4 == 0).astype(int), 2)  # 3 minority trials
    folds = list(InnerKFold(3, random_state=0).split(np.zeros(len(y)), y, keys))
    assert all(set(y[test]) == {0, 1} and set(y[train]) == {0, 1} for train, test in folds)
    with pytest.raises(ValueError, match=r"inner fold \d of InnerKFold\(n_splits=4.*class\(es\) \[1\].*lower the inner"):
        list(InnerKFold(4, random_state=0).split(np.zeros(len(y)), y, keys))
    # ratings (regression) are not classes: no such check
    ratings = np.linspace(1, 9, len(y))
    assert len(list(InnerKFold(4, random_state=0).split(np.zeros(len(y)), ratings, keys))) == 4


def test_per_subject_applies_a_splitter_within_each_subject():
    from sklearn.model_selection import GroupKFold, cross_val_score

    from neuroaffect.evaluation import PerSubject

    tok = make_tokens(n_subjects=3, n_trials=4, n_windows=2)
    splits = list(PerSubject(GroupKFold(2)).split(tok.X, groups=tok.trial_key))
    assert len(splits) == 6 == PerSubject(GroupKFold(2)).get_n_splits(groups=tok.trial_key)
    for i, (train, test) in enumerate(splits):
        subject = np.unique(tok.subject[np.concatenate([train, test])])
        assert subject.tolist() == [f"s0{i // 2 + 1}"]  # subjects in order, one at a time
        assert not np.intersect1d(tok.trial_key[train], tok.trial_key[test]).size
    # a scikit-learn splitter like any other
    y = (tok.ratings[:, 0] >= 5).astype(int)
    y[::2] = 1 - y[1::2]  # both classes in every trial's windows
    scores = cross_val_score(make_pipeline(Flatten(), LogisticRegression()), tok.X, y, groups=tok.trial_key,
                             cv=PerSubject(GroupKFold(2)))
    assert scores.shape == (6,)
    assert PerSubject(GroupKFold(2)).leakage_free is None and PerSubject(TrialKFold(2)).leakage_free is True
    assert PerSubject(LeaveOneSessionOut()).held_out == ("session",)
