"""fMRI -> VAD decoding and the stimulus-grouped cross-validation behind it."""

import numpy as np
import pytest

from neuroaffect.fmri import evaluate_vad, iter_splits
from neuroaffect.simulate.fmri import simulate_responses


@pytest.fixture(scope="module")
def data():
    return simulate_responses(n_subjects=3, n_stimuli=60, n_repeats=2, n_parcels=40, embed_dim=12,
                              snr=1.0, random_state=0)


@pytest.mark.parametrize("protocol", ["within-subject", "cross-subject"])
def test_folds_never_share_a_stimulus(data, protocol):
    r, _ = data
    seen = []
    for subject, train, test in iter_splits(r, protocol, n_splits=4):
        assert set(r.stimulus[train]).isdisjoint(r.stimulus[test])
        assert set(r.subject[test]) == {subject}
        if protocol == "cross-subject":
            assert subject not in set(r.subject[train])
        else:
            assert set(r.subject[train]) == {subject}
        seen.append(test)
    # every row is tested exactly once
    np.testing.assert_array_equal(np.sort(np.concatenate(seen)), np.arange(r.n_stimuli))


@pytest.mark.parametrize("protocol", ["within-subject", "cross-subject"])
def test_vad_decoded_above_training_mean(data, protocol):
    r, _ = data
    res = evaluate_vad(r, protocol=protocol, n_splits=4)
    for dim in ("valence", "arousal", "dominance"):
        assert res["mean"][dim]["pearson_r"]["mean"] > 0.4
        assert res["mean"][dim]["ccc"]["mean"] > 0.3
        assert res["mean"][dim]["rmse"]["mean"] < res["baseline"][dim]["rmse"]["mean"]
    assert not np.isnan(res["predictions"]).any()
    assert res["scale"] == "SAM 1-9"


def test_vad_at_chance_without_signal(data):
    r, _ = data
    shuffled = r[np.arange(r.n_stimuli)]
    shuffled.X = np.random.RandomState(0).standard_normal(r.X.shape)
    res = evaluate_vad(shuffled, n_splits=4)
    for dim in ("valence", "arousal", "dominance"):
        # (out-of-fold r of a near-mean predictor is biased negative, never positive)
        assert res["mean"][dim]["pearson_r"]["mean"] < 0.2
        assert res["mean"][dim]["rmse"]["mean"] > 0.95 * res["baseline"][dim]["rmse"]["mean"]


def test_vad_errors(data):
    r, _ = data
    with pytest.raises(ValueError, match="no VAD"):
        evaluate_vad(r.__class__.from_arrays(r.X, r.stimulus))
    with pytest.raises(ValueError, match="'protocol'"):
        evaluate_vad(r, protocol="pooled")
    with pytest.raises(ValueError, match="at least 2 subjects"):
        evaluate_vad(r[r.subject == "01"], protocol="cross-subject")
    with pytest.raises(ValueError, match="cannot be split into n_splits=100"):
        evaluate_vad(r, n_splits=100)
