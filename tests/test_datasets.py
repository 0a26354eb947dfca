"""neuroaffect.datasets: generated window tokens with known structure."""

import numpy as np

from neuroaffect.datasets import make_tokens
from neuroaffect.evaluation import audit_split


def test_make_tokens_layout_and_determinism():
    tok = make_tokens(n_subjects=2, n_sessions=2, n_trials=3, n_windows=4, n_electrodes=5, n_bands=2,
                      window=100, hop=50, random_state=7)
    assert tok.X.shape == (2 * 2 * 3 * 4, 5, 2) and tok.X.dtype == np.float32
    assert list(tok.ch_names) == ["Fz", "Cz", "Pz", "Oz", "F3"] and tuple(tok.band_names) == ("theta", "alpha")
    assert tok.trial_key[0] == "s01/1/1" and tok.trial_key[-1] == "s02/2/3" and len(np.unique(tok.trial_key)) == 12
    np.testing.assert_array_equal(tok.start[:4], [0, 50, 100, 150])
    np.testing.assert_array_equal(tok.stop[:4], [100, 150, 200, 250])
    # ratings are per trial, on DEAP's 1-9 scale
    for key in np.unique(tok.trial_key):
        rows = tok.ratings[tok.trial_key == key]
        assert np.all(rows == rows[0]) and np.all((rows >= 1) & (rows <= 9))
    np.testing.assert_array_equal(make_tokens(random_state=7).X, make_tokens(random_state=7).X)
    assert not np.array_equal(make_tokens(random_state=7).X, make_tokens(random_state=8).X)
    # window-level split of overlapping windows: the audit sees the overlap
    audit = audit_split(tok.trial_key, tok.start, tok.stop, np.arange(0, len(tok), 2), np.arange(1, len(tok), 2))
    assert audit.shared_trials == 12 and audit.overlapping_test_fraction == 1.0


def test_make_tokens_fingerprints_identify_trials_and_the_effect_sets_labels():
    tok = make_tokens(n_subjects=1, n_trials=40, n_windows=6, fingerprint=3.0, effect=0.0, noise=0.1)
    flat = tok.X.reshape(len(tok), -1)
    # windows of one trial sit together: the nearest other window is of the same trial
    d = ((flat[:, None] - flat[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert np.mean(tok.trial_key[d.argmin(1)] == tok.trial_key) > 0.95
    tok = make_tokens(n_subjects=1, n_trials=40, n_windows=1, fingerprint=0.0, effect=2.0, noise=0.1)
    high = tok.ratings[:, 0] >= 5
    diff = tok.X[high].mean(0) - tok.X[~high].mean(0)  # = 2 * effect * the subject's pattern
    assert np.corrcoef(diff.ravel(), tok.X[high][0].ravel())[0, 1] > 0.9
