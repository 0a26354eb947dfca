"""The id table of trials and windows (``EEGTrials.metadata``, ``WindowTokens.metadata``): integer
codes consistent with the labels, kept aligned by selection, restored from the cache, and the
splitters giving the same folds from the table as from the trial keys."""

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GroupKFold, KFold, LeaveOneGroupOut, StratifiedKFold

from neuroaffect import EEGTrials
from neuroaffect._keys import (
    ID_CODES,
    ID_LABELS,
    keys_table,
    make_trial_keys,
    parse_trial_keys,
    trial_table,
)
from neuroaffect.evaluation import cross_validate_subjects
from neuroaffect.evaluation.splitters import (
    FirstTrialsSplit,
    InnerKFold,
    LeaveOneSessionOut,
    LeaveOneSubjectOut,
    LeaveOneSubjectOutStimulusKFold,
    LeaveOneTrialOut,
    PerSubject,
    TrialKFold,
)
from neuroaffect.features import RawWindows, Tokenizer, tokens_for_dataset

CH = ["Fz", "Cz", "Pz"]
# ids with the characters the keys escape, an int session, a subject that is a prefix of another
SUBJECTS = ["a/b", "a/b", "a/b", "a/b", "a%2Fb", "a%2Fb", "a%2Fb", "a%2Fb", "c", "c", "c", "c"]
SESSIONS = [1, 1, 2, 2, 1, 1, 2, 2, "x/1", "x/1", "x/2", "x/2"]
TRIALS = ["t/1", "t2", "t/1", "t2", "t/1", "t2", "t/1", "t2", "t/1", "t2", "t/1", "t2"]


def _trials(order=None):
    n = len(SUBJECTS)
    order = np.arange(n) if order is None else np.asarray(order)
    rng = np.random.default_rng(0)
    data = 1e-5 * rng.standard_normal((n, len(CH), 256))
    ratings = np.column_stack([np.tile([2.0, 8.0], n // 2), np.full(n, 5.0), np.full(n, 5.0)])
    return EEGTrials.from_arrays(
        data[order], 128.0, CH, ratings[order], subject=np.array(SUBJECTS, dtype=object)[order],
        session=np.array(SESSIONS, dtype=object)[order], trial=np.array(TRIALS, dtype=object)[order],
        dataset="ids",
    )


def _same_partition(a, b) -> bool:
    """Whether two code arrays group the rows identically (equal in one iff equal in the other)."""
    a, b = np.asarray(a), np.asarray(b)
    return bool(np.array_equal(a[:, None] == a[None, :], b[:, None] == b[None, :]))


def _check_codes(table, keys):
    """Codes consistent with the labels: one code per subject, per (subject, session), per key."""
    subject, session = table["subject"].to_numpy(), table["session"].to_numpy()
    assert _same_partition(table["subject_code"], subject)
    assert _same_partition(table["session_code"], make_trial_keys(subject, session, np.zeros(len(table), int)))
    assert _same_partition(table["trial_code"], keys)
    for name in ID_CODES:
        assert table[name].dtype == np.int64


def test_trials_table_codes_match_the_labels_and_the_keys():
    trials = _trials()
    table = trials.metadata
    assert list(table.columns) == [*ID_LABELS, *ID_CODES]
    np.testing.assert_array_equal(table["subject"].to_numpy(dtype=object), np.array(SUBJECTS, dtype=object))
    np.testing.assert_array_equal(table["session"].to_numpy(dtype=object), np.array([str(s) for s in SESSIONS]))
    _check_codes(table, trials.trial_keys)
    # first-appearance numbering: the subjects are 0, 1, 2 in order
    assert table["subject_code"].tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert table["trial_code"].tolist() == list(range(12))
    # sessions are nested in subjects: "1" of a/b and "1" of a%2Fb are two sessions
    assert table["session_code"].nunique() == 6


def test_ids_with_slashes_round_trip_through_the_keys():
    trials = _trials()
    keys = trials.trial_keys
    assert all(k.count("/") == 2 for k in keys)  # "/" inside ids is escaped
    subject, session, trial = parse_trial_keys(keys)
    np.testing.assert_array_equal(subject, trials.metadata["subject"].to_numpy(dtype=object).astype(str))
    np.testing.assert_array_equal(session, trials.metadata["session"].to_numpy(dtype=object).astype(str))
    np.testing.assert_array_equal(trial, trials.metadata["trial"].to_numpy(dtype=object).astype(str))
    pd.testing.assert_frame_equal(keys_table(keys), trials.metadata)
    np.testing.assert_array_equal(make_trial_keys(*(trials.metadata[c] for c in ID_LABELS)), keys)


def test_selection_keeps_the_table_aligned_and_concatenation_renumbers():
    trials = _trials()
    idx = np.array([11, 3, 5, 0])
    sub = trials[idx]
    pd.testing.assert_frame_equal(sub.metadata, trials.metadata.iloc[idx].reset_index(drop=True))
    _check_codes(sub.metadata, sub.trial_keys)
    mask = np.asarray(trials.subject) == "c"
    assert trials[mask].metadata["subject"].tolist() == ["c"] * 4
    assert trials[mask].metadata["subject_code"].tolist() == [2] * 4  # codes kept, not renumbered
    assert trials.pick_channels(["Cz"]).metadata is trials.metadata
    joined = EEGTrials.concatenate([trials[mask], trials[~mask]])
    assert joined.metadata["subject_code"].tolist()[:4] == [0] * 4  # renumbered in the new order
    _check_codes(joined.metadata, joined.trial_keys)
    # ids replaced by hand: the table follows them
    renamed = dataclasses.replace(trials, subject=np.array(["z"] * 12))
    assert renamed.metadata["subject"].tolist() == ["z"] * 12 and renamed.metadata["subject_code"].max() == 0


@pytest.mark.parametrize("make", [lambda t: Tokenizer(window=1.0, hop=0.5).transform(t),
                                  lambda t: RawWindows(window=1.0).transform(t)])
def test_tokens_table_from_the_trials_equals_the_one_from_the_keys(make):
    trials = _trials()
    tokens = make(trials)
    table = tokens.metadata
    assert list(table.columns) == [*ID_LABELS, *ID_CODES, "start", "stop"]
    _check_codes(table, tokens.trial_key)
    np.testing.assert_array_equal(table["start"], tokens.start)
    np.testing.assert_array_equal(table["stop"], tokens.stop)
    np.testing.assert_array_equal(table["subject"].to_numpy(dtype=object).astype(str), tokens.subject.astype(str))
    # the tokenizer's table (no parsing) and the table built from the keys agree
    from_keys = dataclasses.replace(tokens, _metadata=None).metadata
    pd.testing.assert_frame_equal(from_keys, table)
    # window i of trial t: trial t's row of the trials' table
    first = np.flatnonzero(np.r_[True, tokens.trial_key[1:] != tokens.trial_key[:-1]])
    np.testing.assert_array_equal(table["trial_code"].to_numpy()[first], trials.metadata["trial_code"])


def test_tokens_selection_and_concatenation():
    tokens = Tokenizer(window=1.0).transform(_trials())
    idx = np.array([20, 3, 7, 0, 23, 22])
    sub = tokens[idx]
    pd.testing.assert_frame_equal(sub.metadata, tokens.metadata.iloc[idx].reset_index(drop=True))
    np.testing.assert_array_equal(sub.metadata["start"], sub.start)
    mask = tokens.subject == "c"
    joined = type(tokens).concatenate([tokens[mask], tokens[~mask]])
    _check_codes(joined.metadata, joined.trial_key)
    assert joined.metadata["subject_code"].iloc[0] == 0
    # parts without a table: built from the keys of the joined tokens on first use
    bare = [dataclasses.replace(tokens[m], _metadata=None) for m in (mask, ~mask)]
    pd.testing.assert_frame_equal(type(tokens).concatenate(bare).metadata, joined.metadata)


def test_cache_round_trip_keeps_the_table(tmp_path):
    trials = _trials()
    cache = tmp_path / "tokens.h5"
    computed = tokens_for_dataset(trials, Tokenizer(window=1.0), cache=cache, progress=False)
    served = tokens_for_dataset(trials, Tokenizer(window=1.0), cache=cache, progress=False)
    assert served._metadata is not None  # read from the file, not rebuilt from the keys
    pd.testing.assert_frame_equal(served.metadata, computed.metadata)
    _check_codes(served.metadata, served.trial_key)
    pd.testing.assert_frame_equal(served.metadata, dataclasses.replace(served, _metadata=None).metadata)


# -- splitters: the same folds from the table as from the keys ------------------------------------
def _windows(n_subjects=4, n_sessions=2, n_trials=6, n_windows=3, seed=0):
    """Trial keys, labels and the id table of windows, shuffled (codes not in key order)."""
    rng = np.random.default_rng(seed)
    subject, session, trial = (np.array(v, dtype=object) for v in zip(*[
        (f"s/{s}" if s % 2 else f"s{s}", f"{se}", f"stim/{t}") for s in range(n_subjects)
        for se in range(1, n_sessions + 1) for t in range(1, n_trials + 1) for _ in range(n_windows)], strict=True))
    order = rng.permutation(len(subject))
    subject, session, trial = subject[order], session[order], trial[order]
    keys = make_trial_keys(subject, session, trial)
    trial_y = {k: i % 2 for i, k in enumerate(dict.fromkeys(keys.tolist()))}
    y = np.array([trial_y[k] for k in keys])
    return keys, y, trial_table(subject, session, trial)


def _folds(cv, keys, y, groups):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [(tr.tolist(), te.tolist()) for tr, te in cv.split(np.zeros((len(keys), 1)), y, groups)]


SPLITTERS = [
    TrialKFold(3, random_state=0), TrialKFold(4, random_state=1, stratify=False), LeaveOneTrialOut(),
    FirstTrialsSplit(n_train=4), LeaveOneSessionOut(), LeaveOneSubjectOut(),
    LeaveOneSubjectOutStimulusKFold(3, random_state=2), InnerKFold(3, random_state=3),
    InnerKFold(2, unit="trial", random_state=3), PerSubject(TrialKFold(2, random_state=5)),
    PerSubject(GroupKFold(2)), PerSubject(LeaveOneSessionOut()),
]


@pytest.mark.parametrize("cv", SPLITTERS, ids=lambda cv: repr(cv)[:60])
def test_splitters_give_the_same_folds_from_the_table_and_from_the_keys(cv):
    keys, y, table = _windows()
    if isinstance(cv, LeaveOneTrialOut | PerSubject) and not isinstance(getattr(cv, "cv", None), GroupKFold):
        keep = np.isin(table["subject_code"], [0, 1])  # fewer folds
        keys, y, table = keys[keep], y[keep], table[keep]
    by_keys = _folds(cv, keys, y, keys)
    assert by_keys
    assert _folds(cv, keys, y, table) == by_keys
    # a selected table keeps its (now non-contiguous) codes: still the same folds
    sub = np.flatnonzero(table["subject_code"].to_numpy() != 0)
    assert _folds(cv, keys[sub], y[sub], table.iloc[sub]) == _folds(cv, keys[sub], y[sub], keys[sub])
    assert cv.get_n_splits(None, y, table) == cv.get_n_splits(None, y, keys)


def test_splitters_match_the_keys_based_reference_folds():
    """The folds of the former keys-parsing implementation, written out with scikit-learn."""
    keys, y, _ = _windows()
    subject, session, _ = parse_trial_keys(keys)
    trials, first, codes = np.unique(keys, return_index=True, return_inverse=True)
    in_order = np.argsort(np.argsort(first, kind="stable"))  # trial codes in order of first appearance
    codes = in_order[codes]
    trial_y = np.empty(len(trials), int)
    trial_y[codes] = y
    ref = [(np.flatnonzero(np.isin(codes, tr)).tolist(), np.flatnonzero(np.isin(codes, te)).tolist())
           for tr, te in StratifiedKFold(3, shuffle=True, random_state=0).split(np.zeros(len(trials)), trial_y)]
    assert _folds(TrialKFold(3, random_state=0), keys, y, keys) == ref
    ref = [(np.flatnonzero(np.isin(codes, tr)).tolist(), np.flatnonzero(np.isin(codes, te)).tolist())
           for tr, te in KFold(4, shuffle=True, random_state=1).split(np.zeros(len(trials)))]
    assert _folds(TrialKFold(4, random_state=1, stratify=False), keys, y, keys) == ref
    ref = [(tr.tolist(), te.tolist()) for tr, te in LeaveOneGroupOut().split(keys, groups=subject)]
    assert _folds(LeaveOneSubjectOut(), keys, y, keys) == ref
    runs = np.char.add(np.char.add(subject, "|"), session)
    _, first = np.unique(runs, return_index=True)
    ref = [(np.flatnonzero((subject == subject[runs == r][0]) & (runs != r)).tolist(), np.flatnonzero(runs == r).tolist())
           for r in runs[np.sort(first)]]
    assert _folds(LeaveOneSessionOut(), keys, y, keys) == ref


def test_trial_only_splitters_still_take_any_key_strings():
    keys = np.repeat(["a", "b", "c", "d"], 2)
    assert len(_folds(TrialKFold(2, random_state=0), keys, None, keys)) == 2
    assert len(_folds(LeaveOneTrialOut(), keys, None, keys)) == 4
    with pytest.raises(ValueError, match="subject/session/trial"):
        _folds(LeaveOneSubjectOut(), keys, None, keys)


def test_runner_gives_the_same_result_with_the_table_and_from_the_keys():
    trials = _trials(order=np.r_[8:12, 0:8])
    tokens = Tokenizer(window=0.5).transform(trials)
    bare = dataclasses.replace(tokens, _metadata=None)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    est = make_pipeline(FunctionTransformer(lambda X: X.reshape(len(X), -1)), LogisticRegression())
    for protocol in ("within-subject-kfold", "leave-one-subject-out", "leave-one-session-out"):
        kwargs = dict(protocol=protocol, n_splits=2, random_state=0, progress=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = cross_validate_subjects(tokens, est, **kwargs)
            b = cross_validate_subjects(bare, est, **kwargs)
        np.testing.assert_array_equal(a.predictions["fold"], b.predictions["fold"])
        np.testing.assert_array_equal(a.predictions["y_pred"], b.predictions["y_pred"])
        assert [r["subject"] for r in a.subjects] == ["a%2Fb", "a/b", "c"]  # natural order, labels unescaped
        assert [(r["n_trials"], r["n_windows"]) for r in a.subjects] == [(r["n_trials"], r["n_windows"])
                                                                          for r in b.subjects]
        assert [f["audit"] for f in a.folds] == [f["audit"] for f in b.folds]
