"""fMRI -> VAD decoding through the shared runner, and the stimulus-grouped splits behind it."""

import numpy as np
import pytest
from sklearn.base import clone

from neuroaffect.evaluation import (
    LeakageError,
    LeaveOneSubjectOutStimulusKFold,
    SampleContainer,
    audit_split,
    cross_validate_subjects,
    parse_trial_keys,
)
from neuroaffect.fmri import (
    ContrastiveEncoder,
    ContrastiveVADRegressor,
    RidgeEncoder,
    StimulusEmbeddings,
    StimulusKFold,
    StimulusResponses,
    evaluate_vad,
    make_vad_decoder,
)
from neuroaffect.simulate.fmri import simulate_responses


@pytest.fixture(scope="module")
def data():
    # n_repeats=2: every stimulus is presented in two runs ("rep-1", "rep-2") of each subject
    return simulate_responses(n_subjects=3, n_stimuli=60, n_repeats=2, n_parcels=40, embed_dim=12,
                              snr=1.0, random_state=0)


@pytest.mark.parametrize("protocol", ["within-subject", "cross-subject"])
def test_stimulus_kfold_never_shares_a_stimulus(data, protocol):
    r, _ = data
    seen = []
    for train, test in StimulusKFold(4, protocol=protocol, random_state=0).split(r.X, groups=r.trial_key):
        subject = r.subject[test][0]
        assert set(r.stimulus[train]).isdisjoint(r.stimulus[test])
        assert set(r.subject[test]) == {subject}
        if protocol == "cross-subject":
            assert subject not in set(r.subject[train])
        else:
            assert set(r.subject[train]) == {subject}
        seen.append(test)
    np.testing.assert_array_equal(np.sort(np.concatenate(seen)), np.arange(r.n_stimuli))


def _uneven(r, sparse=False):
    """Subjects that saw different stimuli, ids with "/" and in no sorted order, a stimulus only subject
    "03" saw, rows not grouped by subject; ``sparse``: also a subject "04" with two stimuli (of subject
    "01"), so that some of its (subject, fold) splits are empty and skipped."""
    uneven = r[(r.subject != "02") | (np.char.find(r.stimulus.astype(str), "1") < 0)]
    stimulus = np.array([f"z/{s}" if i % 3 else s for i, s in enumerate(uneven.stimulus)], dtype=object)
    stimulus[(uneven.subject == "03") & np.char.endswith(stimulus.astype(str), "stim0005")] = "only-03"
    uneven.stimulus = stimulus
    if sparse:
        subject = uneven.subject.copy()
        subject[(subject == "01") & np.isin(stimulus, ["stim0000", "stim0003"])] = "04"
        uneven.subject = subject
    return uneven[np.random.RandomState(1).permutation(len(uneven))]


def _tests(splits):
    return [test.tolist() for _, test in splits]


@pytest.mark.parametrize("seed", [0, 3])  # 3: subject "04"'s two stimuli share a fold
def test_stimulus_kfold_cross_subject_gives_the_runners_folds(data, seed):
    """One way of folding stimuli: StimulusKFold's stimulus-disjoint cross-subject splits are
    LeaveOneSubjectOutStimulusKFold's (the runner's "leave-one-subject-out-stimulus-kfold"), in order."""
    r, _ = data
    for responses in (r, _uneven(r), _uneven(r, sparse=True)):
        keys = responses.trial_key
        cv = StimulusKFold(4, protocol="cross-subject", random_state=seed)
        new = list(cv.split(responses.X, groups=keys))
        ref = list(LeaveOneSubjectOutStimulusKFold(4, random_state=seed).split(responses.X, groups=keys))
        assert len(new) == len(ref) == cv.get_n_splits(groups=keys)
        for (train, test), (ref_train, ref_test) in zip(new, ref, strict=True):
            np.testing.assert_array_equal(train, ref_train)
            np.testing.assert_array_equal(test, ref_test)
        # not stimulus-disjoint: the same test sets (none skipped for want of training rows), each
        # trained on every row of the other subjects
        plain = list(StimulusKFold(4, protocol="cross-subject", stimulus_disjoint=False, random_state=seed)
                     .split(responses.X, groups=keys))
        assert _tests(plain) == _tests(ref)
        for train, test in plain:
            np.testing.assert_array_equal(train, np.flatnonzero(responses.subject != responses.subject[test[0]]))
    # the folds depend on the seed
    assert (_tests(StimulusKFold(4, protocol="cross-subject", random_state=seed).split(r.X, groups=r.trial_key))
            != _tests(StimulusKFold(4, protocol="cross-subject", random_state=seed + 1)
                      .split(r.X, groups=r.trial_key)))


@pytest.mark.parametrize("seed", [0, 3])  # 3: subject "04"'s two stimuli share a fold
def test_stimulus_kfold_within_subject_partitions_each_subjects_stimuli(data, seed):
    r, _ = data
    for responses in (r, _uneven(r), _uneven(r, sparse=True)):
        keys = responses.trial_key
        cv = StimulusKFold(4, random_state=seed)
        splits = list(cv.split(responses.X, groups=keys))
        assert len(splits) == cv.get_n_splits(groups=keys)
        tested = np.zeros(len(responses), int)
        for train, test in splits:
            subject = responses.subject[test[0]]
            own = np.flatnonzero(responses.subject == subject)
            assert set(responses.subject[test]) == {subject}
            assert set(responses.stimulus[train]).isdisjoint(responses.stimulus[test])
            np.testing.assert_array_equal(train, np.setdiff1d(own, test))  # the subject's rows of the other stimuli
            tested[test] += 1
        subjects = [responses.subject[test[0]] for _, test in splits]
        assert list(dict.fromkeys(subjects)) == [s for s in responses.subjects if s in subjects]
        # the stimuli's folds are the runner's: each test set is one of LeaveOneSubjectOutStimulusKFold's
        ref = _tests(LeaveOneSubjectOutStimulusKFold(4, random_state=seed).split(responses.X, groups=keys))
        assert [t for t in ref if t in _tests(splits)] == _tests(splits)
        if responses.subjects == ["01", "02", "03"]:
            np.testing.assert_array_equal(tested, 1)  # every row tested exactly once
            assert _tests(splits) == ref
        else:  # subject "04"'s two stimuli fall in one fold (its split has no training row) or in two
            assert tested.max() == 1 and set(responses.subject[tested == 0].tolist()) <= {"04"}


@pytest.mark.parametrize("protocol, stimulus_disjoint", [("within-subject", True), ("cross-subject", True),
                                                         ("cross-subject", False)])
def test_stimulus_kfold_gives_the_same_folds_from_keys_and_table(data, protocol, stimulus_disjoint):
    r, _ = data

    def folds(cv, X, groups):
        return [(tr.tolist(), te.tolist()) for tr, te in cv.split(X, groups=groups)]

    for responses in (r, _uneven(r, sparse=True)):
        cv = StimulusKFold(4, protocol=protocol, stimulus_disjoint=stimulus_disjoint, random_state=3)
        by_keys = folds(cv, responses.X, responses.trial_key)
        assert by_keys
        assert folds(cv, responses.X, responses.metadata) == by_keys
        assert cv.get_n_splits(groups=responses.metadata) == cv.get_n_splits(groups=responses.trial_key)
        # a table of selected, reordered rows keeps its codes (non-contiguous, not in order of first
        # appearance): still the keys' folds
        rows = np.flatnonzero(responses.subject != responses.subject[0])[::-1]
        assert (folds(cv, responses.X[rows], responses.metadata.iloc[rows])
                == folds(cv, responses.X[rows], responses.trial_key[rows]))
    assert StimulusKFold.split._accepts_trial_table  # the runner hands it the table
    with pytest.raises(ValueError, match="groups has 10 entries but X has"):
        next(StimulusKFold(3).split(r.X, groups=r.metadata.iloc[:10]))


def test_stimulus_kfold_is_a_scikit_learn_splitter_and_a_runner_cv(data):
    from sklearn.model_selection import GroupKFold, cross_val_predict, cross_validate

    r, truth = data
    sub = r[r.subject != "03"]
    Y = truth.embedding_of(sub.stimulus)
    cv = StimulusKFold(3, random_state=0)
    P = cross_val_predict(RidgeEncoder(), sub.X, Y, cv=cv, groups=sub.trial_key)
    # the out-of-fold predictions of the removed fmri.cross_val_predict: each fold's model on its test rows
    expected = np.full(P.shape, np.nan)
    for train, test in cv.split(sub.X, groups=sub.trial_key):
        expected[test] = RidgeEncoder().fit(sub.X[train], Y[train]).transform(sub.X[test])
    np.testing.assert_allclose(P, expected)
    scores = cross_validate(RidgeEncoder(), sub.X, Y, cv=cv, groups=sub.trial_key)["test_score"]
    assert len(scores) == 6 and (scores > 0.2).all()  # top-1 retrieval among ~20 test stimuli
    assert cv.held_out == ("stimulus",) and cv.leakage_free
    assert StimulusKFold(protocol="cross-subject").held_out == ("subject", "stimulus")
    assert StimulusKFold(protocol="cross-subject", stimulus_disjoint=False).held_out == ("subject",)
    # as the runner's cv: run pooled, every split checked against the promise, the folds as given
    res = cross_validate_subjects(sub, make_vad_decoder(), target="valence", task="regression",
                                  cv=StimulusKFold(3, protocol="cross-subject", random_state=0), progress=False)
    assert res.leakage_free and res.config["cv"] == "pooled splitter"
    folds = list(StimulusKFold(3, protocol="cross-subject", random_state=0).split(sub.X, groups=sub.trial_key))
    for f, (_, test) in enumerate(folds):
        assert (res.predictions["fold"][test] == f).all()
    assert (res.predictions["fold"] >= 0).all()
    # a splitter breaking its promise is refused: GroupKFold over runs puts a stimulus on both sides
    runs = sub.run.astype(str)

    class Broken(GroupKFold):
        leakage_free, held_out = True, ("stimulus",)

        def split(self, X, y=None, groups=None):
            return super().split(X, y, runs)

    with pytest.raises(LeakageError):
        cross_validate_subjects(sub, make_vad_decoder(), target="valence", task="regression", cv=Broken(2),
                                progress=False)


def test_stimulus_kfold_errors(data):
    r, _ = data
    with pytest.raises(ValueError, match="'groups' parameter is required"):
        next(StimulusKFold(3).split(r.X))
    with pytest.raises(ValueError, match="'n_splits' parameter.*n_splits=1"):
        next(StimulusKFold(1).split(r.X, groups=r.trial_key))
    with pytest.raises(ValueError, match="Cannot make n_splits=100 folds of stimuli from 60 distinct stimuli"):
        next(StimulusKFold(100).split(r.X, groups=r.trial_key))
    with pytest.raises(ValueError, match="'protocol'"):
        next(StimulusKFold(3, protocol="pooled").split(r.X, groups=r.trial_key))
    one = r[r.subject == "01"]
    with pytest.raises(ValueError, match="at least 2 subjects"):
        next(StimulusKFold(3, protocol="cross-subject").split(one.X, groups=one.trial_key))
    with pytest.raises(ValueError, match="groups has 10 entries but X has"):
        next(StimulusKFold(3).split(r.X, groups=r.trial_key[:10]))


def test_the_runner_names_what_a_container_lacks():
    with pytest.raises(TypeError, match=r"sample container .* got ndarray without X, subject, trial_key"):
        cross_validate_subjects(np.zeros((4, 2)), make_vad_decoder(), task="regression")


def test_responses_are_a_sample_container_with_stimulus_keys(data):
    r, _ = data
    assert isinstance(r, SampleContainer)
    assert r.X.shape == (r.n_stimuli, r.n_features) and len(r) == r.n_stimuli
    assert r.rating_names == ("valence", "arousal", "dominance") and r.ratings is r.vad
    np.testing.assert_array_equal(r.rating("arousal"), r.vad[:, 1])
    assert r.scale("valence") is r.vad_scale
    subject, session, stim = parse_trial_keys(r.trial_key)
    np.testing.assert_array_equal(subject, r.subject)
    np.testing.assert_array_equal(stim, r.stimulus)
    np.testing.assert_array_equal(r.trial_key, r.trial_keys())
    # the two repeats (in two runs) of a stimulus share one key; one key per (subject, stimulus)
    assert set(session) == {"all-runs"}
    assert len(np.unique(r.trial_key)) == 3 * 60
    # what the runner records of them: parcel names, no sampling rate, no bands, no topomap positions
    res = cross_validate_subjects(r[r.subject != "03"], make_vad_decoder(), target="valence", task="regression",
                                  n_splits=3, progress=False)
    assert res.config["ch_names"] == list(r.feature_names) and res.config["band_names"] == []
    assert res.config["sfreq"] is None and res.config["dataset"] == r.dataset == "simulated"
    assert res.config["n_trials"] == 2 * 60 and res.config["n_windows"] == 2 * 120
    with pytest.raises(ValueError, match="Unknown rating 'liking'"):
        r.rating("liking")
    bare = StimulusResponses.from_arrays(r.X, r.stimulus)
    assert bare.rating_names == () and bare.ratings.shape == (r.n_stimuli, 0)
    with pytest.raises(ValueError, match="no VAD"):
        bare.scale("valence")


def test_trial_keys_keep_runs_when_stimuli_do_not_repeat_across_runs():
    X = np.zeros((4, 2))
    r = StimulusResponses.from_arrays(X, ["a", "b", "c/d", "a"], subject=["1", "1", "1", "2"],
                                      run=["r1", "r1", "r2", "r9"])
    assert r.trial_keys().tolist() == ["1/r1/a", "1/r1/b", "1/r2/c%2Fd", "2/r9/a"]
    assert parse_trial_keys(r.trial_keys())[2].tolist() == ["a", "b", "c/d", "a"]  # unescaped


def _stimulus_disjoint(r, pred):
    """Independent check on the runner's folds: per subject, no fold's stimuli are in its training."""
    for s in r.subjects:
        own = r.subject == s
        for f in np.unique(pred["fold"][own]):
            test = own & (pred["fold"] == f)
            assert set(r.stimulus[test]).isdisjoint(r.stimulus[own & ~test])


def test_runner_keeps_repeats_of_a_stimulus_together(data):
    r, _ = data
    res = cross_validate_subjects(r, make_vad_decoder(), target="valence", task="regression",
                                  protocol="within-subject-kfold", n_splits=4, progress=False)
    assert res.leakage["leaked_test_fraction"] == 0 and res.leakage["max_shared_trials_per_split"] == 0
    _stimulus_disjoint(r, res.predictions)
    # the audit can fail: keys that separate runs would put a stimulus' repeats on both sides
    naive = np.char.add(np.char.add(r.subject.astype(str), "/"), np.char.add(r.run.astype(str), "/"))
    naive = np.char.add(naive, r.stimulus.astype(str))
    own = np.flatnonzero(r.subject == "01")
    train, test = own[r.run[own] == "rep-1"], own[r.run[own] == "rep-2"]
    start, stop = np.zeros(r.n_stimuli, int), np.ones(r.n_stimuli, int)
    assert audit_split(r.trial_key, start, stop, train, test).shared_trials == 60
    assert audit_split(naive, start, stop, train, test).shared_trials == 0


def test_stimulus_disjoint_loso_never_shares_subject_or_stimulus(data):
    r, _ = data
    keys = r.trial_key
    splitter = LeaveOneSubjectOutStimulusKFold(4, random_state=0)
    tested = []
    for train, test in splitter.split(r.X, groups=keys):
        assert set(r.subject[train]).isdisjoint(r.subject[test])
        assert set(r.stimulus[train]).isdisjoint(r.stimulus[test])
        assert len(set(r.subject[test])) == 1
        tested.append(test)
    assert len(tested) == splitter.get_n_splits(groups=keys) == 3 * 4
    np.testing.assert_array_equal(np.sort(np.concatenate(tested)), np.arange(r.n_stimuli))
    with pytest.raises(ValueError, match="at least 2 subjects"):
        next(splitter.split(r.X[:10], groups=keys[:10]))
    with pytest.raises(ValueError, match="n_splits=100"):
        next(LeaveOneSubjectOutStimulusKFold(100).split(r.X, groups=keys))


@pytest.mark.parametrize("protocol", ["within-subject", "cross-subject"])
def test_vad_decoded_above_training_mean(data, protocol):
    r, _ = data
    res = evaluate_vad(r, protocol=protocol, n_splits=4)
    assert res["protocol"] == {"within-subject": "within-subject-kfold",
                               "cross-subject": "leave-one-subject-out-stimulus-kfold"}[protocol]
    for dim in ("valence", "arousal", "dominance"):
        run = res["runs"][dim]
        assert run.config["task"] == "regression" and run.config["metric"] == "ccc" and run.leakage_free
        assert run.leakage["leaked_test_fraction"] == 0
        assert res["mean"][dim]["pearson_r"]["mean"] > 0.4
        assert res["mean"][dim]["ccc"]["mean"] > 0.3
        assert res["mean"][dim]["rmse"]["mean"] < res["baseline"][dim]["rmse"]["mean"]
        _stimulus_disjoint(r, run.predictions)
    assert res["predictions"].shape == (r.n_stimuli, 3) and not np.isnan(res["predictions"]).any()
    assert res["scale"] == "SAM 1-9"


def test_vad_at_chance_without_signal(data):
    r, _ = data
    noise = r[np.arange(r.n_stimuli)]
    noise.X = np.random.RandomState(0).standard_normal(r.X.shape)
    res = evaluate_vad(noise, n_splits=4)
    for dim in ("valence", "arousal", "dominance"):
        # (out-of-fold r of a near-mean predictor is biased negative, never positive)
        assert res["mean"][dim]["pearson_r"]["mean"] < 0.2
        assert abs(res["mean"][dim]["ccc"]["mean"]) < 0.2
        assert res["mean"][dim]["rmse"]["mean"] > 0.95 * res["baseline"][dim]["rmse"]["mean"]


def test_plain_loso_is_available(data):
    r, _ = data
    res = evaluate_vad(r, protocol="cross-subject", stimulus_disjoint=False, targets=("valence",),
                       baseline=False, n_splits=4)
    assert res["protocol"] == "leave-one-subject-out" and res["baseline_runs"] == {}
    assert res["predictions"].shape == (r.n_stimuli, 1)


def test_vad_errors(data):
    r, _ = data
    with pytest.raises(ValueError, match="no VAD"):
        evaluate_vad(r.__class__.from_arrays(r.X, r.stimulus))
    with pytest.raises(ValueError, match="no VAD"):
        cross_validate_subjects(r.__class__.from_arrays(r.X, r.stimulus), make_vad_decoder(), task="regression")
    with pytest.raises(ValueError, match="'protocol'"):
        evaluate_vad(r, protocol="pooled")
    with pytest.raises(ValueError, match="'targets'"):
        evaluate_vad(r, targets=("liking",))
    with pytest.raises(ValueError, match="at least 2 subjects"):
        evaluate_vad(r[r.subject == "01"], protocol="cross-subject")
    with pytest.raises(ValueError, match="n_splits=100"):
        evaluate_vad(r, n_splits=100)


def test_evaluate_vad_gives_the_empirical_chance_with_permutations():
    responses, _ = simulate_responses(n_subjects=2, n_stimuli=30, n_repeats=1, n_parcels=10, embed_dim=4,
                                      snr=0.5, random_state=2)
    none = evaluate_vad(responses, targets=("valence",), n_splits=3, baseline=False)
    assert none["chance"]["valence"] == {"metric": "ccc", "chance": 0.0, "source": "theoretical",
                                         "group_p_value": None}
    perm = evaluate_vad(responses, targets=("valence",), n_splits=3, baseline=False, n_permutations=4,
                        metric="pearson_r")
    chance = perm["chance"]["valence"]
    assert chance["source"] == "permutation" and chance["metric"] == "pearson_r"
    null = np.asarray(perm["runs"]["valence"].permutation["null"])
    assert null.shape == (4, 2) and chance["chance"] == pytest.approx(null.mean(0).mean())
    assert chance["chance"] != 0 and 0 < chance["group_p_value"] <= 1


# ---------------------------------------------------------------- VAD from a learned embedding space

@pytest.fixture(scope="module")
def embedded():
    responses, truth = simulate_responses(n_subjects=2, n_stimuli=60, n_repeats=1, n_parcels=30, embed_dim=8,
                                          snr=1.0, random_state=3)
    return responses, StimulusEmbeddings(truth.stimulus, truth.embeddings)


def _contrastive(emb, head="ridge", **kw):
    return ContrastiveVADRegressor(emb, ContrastiveEncoder(max_epochs=40, n_threads=1), head=head, random_state=0, **kw)


@pytest.mark.parametrize("head", ["ridge", "nearest"])
def test_contrastive_vad_decoded_in_the_runner_and_at_chance_without_signal(embedded, head):
    r, emb = embedded
    res = evaluate_vad(r, _contrastive(emb, head), n_splits=4, name=f"contrastive {head}")
    for dim in ("valence", "arousal", "dominance"):
        run = res["runs"][dim]
        assert run.leakage_free and run.leakage["leaked_test_fraction"] == 0
        assert run.config["name"] == f"contrastive {head}"
        assert res["mean"][dim]["pearson_r"]["mean"] > 0.45, (dim, res["mean"][dim])
        assert res["mean"][dim]["rmse"]["mean"] < res["baseline"][dim]["rmse"]["mean"]
        _stimulus_disjoint(r, run.predictions)
    # the report holds the embeddings' summary, not 480 numbers per run
    assert run.config["estimator_params"]["embeddings"].startswith("StimulusEmbeddings(60 stimuli x 8, sha1 ")
    noise = r[np.arange(r.n_stimuli)]
    noise.X = np.random.RandomState(1).standard_normal(r.X.shape)
    res = evaluate_vad(noise, _contrastive(emb, head), n_splits=4, baseline=False)
    for dim in ("valence", "arousal", "dominance"):
        assert res["mean"][dim]["pearson_r"]["mean"] < 0.2, (dim, res["mean"][dim])


class _IdentityEncoder(RidgeEncoder):
    """Predicts the embedding it is given as X (unit norm): isolates the VAD head."""

    def fit(self, X, Y):
        self.ridge_ = "identity"
        return self

    def transform(self, X):
        X = np.asarray(X, float)
        return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_nearest_head_averages_the_nearest_rated_training_stimuli():
    rng = np.random.RandomState(0)
    ids = np.array([f"s{i}" for i in range(30)])
    E = rng.standard_normal((30, 5))
    emb = StimulusEmbeddings(ids, E)
    y = rng.uniform(1, 9, size=(30, 3))
    train, test = np.arange(20), np.arange(20, 30)
    model = ContrastiveVADRegressor(emb, _IdentityEncoder(), head="nearest", n_neighbors=3)
    # two presentations of each training stimulus: a stimulus' rating is the mean of its rows
    y_rows = np.concatenate([y[train] - 0.5, y[train] + 0.5])
    model.fit(np.concatenate([E[train], E[train]]), y_rows, stimulus=np.concatenate([ids[train], ids[train]]))
    np.testing.assert_allclose(model.train_ratings_, y[train][np.argsort(ids[train])])
    unit = E / np.linalg.norm(E, axis=1, keepdims=True)
    expected = np.array([y[train][np.argsort(-(unit[train] @ unit[i]))[:3]].mean(0) for i in test])
    np.testing.assert_allclose(model.predict(E[test]), expected)
    # a training stimulus with n_neighbors=1 gets its own rating back
    model.set_params(n_neighbors=1).fit(E[train], y[train], stimulus=ids[train])
    np.testing.assert_allclose(model.predict(E[train]), y[train])


def test_the_ridge_head_reads_the_learned_embedding_and_the_metadata_gives_the_stimulus_ids(embedded):
    r, emb = embedded
    sub = r[r.subject == "01"]
    a = ContrastiveVADRegressor(emb, RidgeEncoder()).fit(sub.X, sub.vad[:, 0], metadata=sub.metadata)
    b = ContrastiveVADRegressor(emb, RidgeEncoder()).fit(sub.X[:, :, None], sub.vad[:, 0], stimulus=sub.stimulus)
    np.testing.assert_allclose(a.predict(sub.X), b.predict(sub.X[:, :, None]))
    np.testing.assert_allclose(a.predict(sub.X), a.head_.predict(a.transform(sub.X)))
    assert a.transform(sub.X).shape == (len(sub), 8)
    # the encoder learns the embedding looked up for each row's stimulus: pair them wrongly and its
    # embeddings of the same responses no longer match the true ones
    shuffled = StimulusEmbeddings(emb.ids, emb.embeddings[np.random.RandomState(0).permutation(len(emb))])
    c = ContrastiveVADRegressor(shuffled, RidgeEncoder()).fit(sub.X, sub.vad[:, 0], metadata=sub.metadata)
    assert np.corrcoef(c.encoder_.transform(sub.X).ravel(), emb.lookup(sub.stimulus).ravel())[0, 1] < \
        np.corrcoef(a.encoder_.transform(sub.X).ravel(), emb.lookup(sub.stimulus).ravel())[0, 1] - 0.2
    with pytest.warns(FutureWarning, match=r"fit\(groups=...\) is deprecated"):  # 0.1's trial keys
        d = ContrastiveVADRegressor(emb, RidgeEncoder()).fit(sub.X, sub.vad[:, 0], groups=sub.trial_keys())
    np.testing.assert_allclose(d.predict(sub.X), a.predict(sub.X))
    with pytest.raises(ValueError, match="needs each row's stimulus id: pass metadata"):
        ContrastiveVADRegressor(emb, RidgeEncoder()).fit(sub.X, sub.vad[:, 0])


def test_the_encoder_is_trained_once_per_split(embedded, monkeypatch):
    r, emb = embedded
    sub = r[r.subject == "02"]
    fits = []
    original = ContrastiveEncoder.fit
    monkeypatch.setattr(ContrastiveEncoder, "fit", lambda self, X, Y: fits.append(len(X)) or original(self, X, Y))
    model = _contrastive(emb)
    for k in range(3):  # the runner's three VAD dimensions on one split
        clone(model).fit(sub.X[:50], sub.vad[:50, k], stimulus=sub.stimulus[:50])
    assert fits == [50]
    clone(model).fit(sub.X[:40], sub.vad[:40, 0], stimulus=sub.stimulus[:40])  # another split
    clone(model).set_params(reuse_encoder=False).fit(sub.X[:50], sub.vad[:50, 0], stimulus=sub.stimulus[:50])
    unseeded = ContrastiveVADRegressor(emb, ContrastiveEncoder(max_epochs=40, n_threads=1))
    unseeded.fit(sub.X[:50], sub.vad[:50, 0], stimulus=sub.stimulus[:50])  # not reproducible: never reused
    assert fits == [50, 40, 50, 50]


def test_contrastive_vad_errors(embedded):
    r, emb = embedded
    X, y = r.X[:20], r.vad[:20, 0]
    with pytest.raises(ValueError, match="needs each row's stimulus id"):
        ContrastiveVADRegressor(emb).fit(X, y)
    with pytest.raises(ValueError, match="needs embeddings"):
        ContrastiveVADRegressor().fit(X, y, stimulus=r.stimulus[:20])
    with pytest.raises(ValueError, match=r"1 stimulus id\(s\) have no embedding, e.g. \['nope'\]"):
        ContrastiveVADRegressor(emb, RidgeEncoder()).fit(X, y, stimulus=["nope", *r.stimulus[1:20]])
    with pytest.raises(ValueError, match="'head'"):
        ContrastiveVADRegressor(emb, head="knn").fit(X, y, stimulus=r.stimulus[:20])
    with pytest.raises(ValueError, match="'n_neighbors'"):
        ContrastiveVADRegressor(emb, head="nearest", n_neighbors=0).fit(X, y, stimulus=r.stimulus[:20])
    with pytest.raises(ValueError, match="'embeddings' parameter"):
        ContrastiveVADRegressor(np.zeros((3, 2))).fit(X, y, stimulus=r.stimulus[:20])
    with pytest.raises(ValueError, match="ids are not distinct"):
        StimulusEmbeddings(["a", "a"], np.eye(2))
    model = ContrastiveVADRegressor((emb.ids, emb.embeddings), RidgeEncoder()).fit(X, y, stimulus=r.stimulus[:20])
    with pytest.raises(ValueError, match="fitted on 30"):
        model.predict(X[:, :10])


def test_a_fitted_contrastive_vad_regressor_pickles(embedded):
    import pickle

    r, emb = embedded
    model = _contrastive(emb, "nearest").fit(r.X[:40], r.vad[:40], stimulus=r.stimulus[:40])
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(again.predict(r.X[40:]), model.predict(r.X[40:]))
    assert again.predict(r.X[40:]).shape == (len(r) - 40, 3)
