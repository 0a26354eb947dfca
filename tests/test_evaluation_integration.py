"""The runner with the library's own estimators: electrode-attention importance reaches the report."""

import json

import pytest

from neuroaffect.datasets import make_tokens
from neuroaffect.evaluation import cross_validate_subjects, write_report


@pytest.mark.slow
def test_transformer_importance_topomap(tmp_path):
    estimators = pytest.importorskip("neuroaffect.estimators")
    tok = make_tokens(n_subjects=1, n_trials=6, n_windows=4, n_electrodes=6, n_bands=4, effect=1.0)
    est = estimators.make_estimator("transformer", max_epochs=1, ch_names=tok.ch_names)
    res = cross_validate_subjects(tok, est, n_splits=2, progress=False)
    assert res.importance is not None and len(res.importance["mean"]) == 6
    write_report(res, tmp_path)
    assert (tmp_path / "figures" / "run0-importance.png").stat().st_size > 1000
    assert json.loads((tmp_path / "results.json").read_text())["runs"][0]["importance"]["ch_names"] == tok.ch_names
