"""Reports: JSON complete and re-renderable, Markdown / HTML content, figures, errors."""

import json

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from neuroaffect._validation import FileFormatError
from neuroaffect.evaluation import cross_validate_subjects, render_report, write_report
from neuroaffect.evaluation._synthetic import Flatten, make_tokens
from neuroaffect.evaluation.report import load_results, summary_text


class WithImportance(ClassifierMixin, BaseEstimator):
    """Logistic regression exposing |coef| summed over bands as electrode importance."""

    def fit(self, X, y):
        self.model_ = LogisticRegression().fit(X.reshape(len(X), -1), y)
        self.classes_ = self.model_.classes_
        self.electrode_importance_ = np.abs(self.model_.coef_).reshape(X.shape[1], X.shape[2]).sum(1)
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X.reshape(len(X), -1))

    def predict(self, X):
        return self.model_.predict(X.reshape(len(X), -1))


@pytest.fixture(scope="module")
def results():
    tok = make_tokens(n_subjects=2, n_trials=10, n_windows=4, effect=0.8)
    return [cross_validate_subjects(tok, WithImportance(), n_permutations=2, progress=False),
            cross_validate_subjects(tok, make_pipeline(Flatten(), LogisticRegression()),
                                    protocol="leaky-segment-kfold", progress=False)]


def test_report_files_and_content(results, tmp_path):
    md_path = write_report(results, tmp_path, title="T", notes=["simulated data"])
    md = md_path.read_text()
    assert "| s01 | 10 | 40 | 10 | 40 |" in md  # subject, trials, windows, test trials, test windows
    assert "mean +- std" in md and "**NO (LEAKY)**" in md and "LEAKY PROTOCOL" in md
    assert "> simulated data" in md and "Comparisons across subjects" in md
    for name in ("run0-scores.png", "run0-confusion.png", "run0-importance.png", "run1-scores.png"):
        assert (tmp_path / "figures" / name).stat().st_size > 1000
    assert not (tmp_path / "figures" / "run1-importance.png").exists()
    html = (tmp_path / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 5 and "LEAKY" in html
    doc = json.loads((tmp_path / "results.json").read_text())
    run0 = doc["runs"][0]
    assert run0["config"]["leakage_free"] is True and doc["runs"][1]["config"]["leakage_free"] is False
    assert len(run0["permutation"]["null"]) == 2 and run0["subjects"][0]["p_value"] is not None
    assert len(run0["importance"]["mean"]) == 4
    assert doc["comparisons"][0]["test"].startswith("paired sign-flip")
    assert "created" in json.loads((tmp_path / "run-info.json").read_text())
    with np.load(tmp_path / "predictions-0.npz") as pred:
        assert pred["y_pred"].shape == (80,) and pred["proba"].shape == (80, 2)
    assert "LEAKY" in summary_text(doc)
    from neuroaffect._atomic import file_mode

    for name in ("results.json", "report.html", "figures/run0-scores.png", "predictions-0.npz"):
        assert (tmp_path / name).stat().st_mode & 0o777 == file_mode()  # not mkstemp's private 0o600


def test_render_from_json_alone_is_reproducible(results, tmp_path):
    write_report(results, tmp_path)
    before = (tmp_path / "report.md").read_text()
    (tmp_path / "report.md").unlink()
    (tmp_path / "report.html").unlink()
    render_report(tmp_path)
    assert (tmp_path / "report.md").read_text() == before
    assert (tmp_path / "report.html").is_file()


def test_regression_report(tmp_path):
    from sklearn.linear_model import Ridge

    tok = make_tokens(n_subjects=2, n_trials=10, n_windows=4, effect=0.8)
    res = cross_validate_subjects(tok, make_pipeline(Flatten(), Ridge()), task="regression", progress=False)
    md = write_report(res, tmp_path).read_text()
    assert "CCC (window)" in md and not (tmp_path / "figures" / "run0-confusion.png").exists()


def test_report_states_dropped_unlabelled_trials(tmp_path):
    tok = make_tokens(n_subjects=2, n_trials=10, n_windows=4, effect=0.8)
    tok.ratings[tok.trial_key == "s02/1/4", 0] = np.nan
    res = cross_validate_subjects(tok, make_pipeline(Flatten(), LogisticRegression()), drop_unlabelled=True,
                                  progress=False)
    md = write_report(res, tmp_path).read_text()
    assert "Unlabelled trials dropped before splitting (drop_unlabelled=True): 1 (4 windows)." in md
    assert "| s02 | 9 | 36 | 9 | 36 |" in md
    doc = load_results(tmp_path)
    assert doc["runs"][0]["config"]["unlabelled_dropped"] == {"trials": 1, "windows": 4}
    assert "dropped before splitting (drop_unlabelled=True): 1 (4 windows)" in summary_text(doc)


def test_report_of_a_run_without_dropped_trials_says_nothing_about_them(results, tmp_path):
    md = write_report(results[0], tmp_path).read_text()
    assert load_results(tmp_path)["runs"][0]["config"]["unlabelled_dropped"] == {"trials": 0, "windows": 0}
    assert "Unlabelled" not in md and "Unlabelled" not in summary_text(load_results(tmp_path))


def test_load_results_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="results.json"):
        load_results(tmp_path)
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(FileFormatError, match="not valid JSON"):
        load_results(tmp_path)
    (tmp_path / "results.json").write_text("[1, 2]")
    with pytest.raises(FileFormatError, match="not a neuroaffect results file"):
        load_results(tmp_path)
