"""Reports: JSON complete and re-renderable, Markdown / HTML content, figures, errors."""

import json

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from neuroaffect._validation import FileFormatError
from neuroaffect.datasets import make_tokens
from neuroaffect.evaluation import cross_validate_subjects, render_report, write_report
from neuroaffect.evaluation._synthetic import Flatten
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
    # run0 scores/confusion/importance, run1 scores/confusion,
    # and the side-by-side clean-vs-leaky figure (run 0 is leakage-free, run 1 leaky, same question)
    assert html.count("data:image/png;base64,") == 6 and "LEAKY" in html
    assert (tmp_path / "figures" / "clean-vs-leaky.png").stat().st_size > 1000
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


# ---- issue 18: what the report says about models, baselines, features, intervals, chance, order --------

def _capture_figures(monkeypatch):
    """Record (file name, figure) of every figure the report saves."""
    from neuroaffect.evaluation import figures

    saved, original = [], figures._savefig

    def spy(fig, path):
        axes = fig.get_axes()
        saved.append({"name": path.name, "titles": [a.get_title() for a in axes], "ylims": [a.get_ylim() for a in axes],
                      "n_axes": len(axes), "suptitle": fig._suptitle.get_text() if fig._suptitle else "",
                      "axes": axes})
        return original(fig, path)

    monkeypatch.setattr(figures, "_savefig", spy)
    return saved


def test_runs_table_names_model_features_and_baseline(monkeypatch, tmp_path):
    from sklearn.dummy import DummyClassifier

    tok = make_tokens(n_subjects=2, n_trials=10, n_windows=2, effect=0.8)
    tok.features = {"kind": "bde", "window": 1.0, "hop": 0.5, "bands": [["theta", 4.0, 8.0], ["alpha", 8.0, 14.0]],
                    "method": "sos", "zscore": False}
    runs = [cross_validate_subjects(tok, make_pipeline(Flatten(), LogisticRegression()), progress=False),
            cross_validate_subjects(tok, DummyClassifier(), baseline=True, progress=False)]
    saved = _capture_figures(monkeypatch)
    md = write_report(runs, tmp_path).read_text()
    table = md.split("## Runs")[1].split("\n\n")[1]
    assert "| Model | Features |" in table
    assert "| Flatten → LogisticRegression | bde; 1 s windows, hop 0.5 s; 2 bands (4-14 Hz); method sos |" in table
    assert "| DummyClassifier (**baseline**) |" in table
    assert "## Run 1: within-subject-kfold — baseline: DummyClassifier" in md
    assert "theta 4-8 Hz, alpha 8-14 Hz" in md  # the full band edges in the run's section
    titles = {s["name"]: s["titles"][0] for s in saved}
    assert titles["run1-scores.png"].startswith("baseline: DummyClassifier")
    assert titles["run1-confusion.png"].startswith("baseline: DummyClassifier")
    assert titles["run0-scores.png"].startswith("model: Flatten → LogisticRegression")
    doc = load_results(tmp_path)
    assert doc["runs"][0]["config"]["features"]["hop"] == 0.5
    assert "DummyClassifier (baseline)" in summary_text(doc)


def test_model_and_its_baseline_share_the_score_axis(monkeypatch, tmp_path):
    from sklearn.dummy import DummyRegressor
    from sklearn.linear_model import Ridge

    tok = make_tokens(n_subjects=3, n_trials=10, n_windows=2, effect=1.5)
    runs = [cross_validate_subjects(tok, make_pipeline(Flatten(), Ridge()), task="regression", progress=False),
            cross_validate_subjects(tok, DummyRegressor(), task="regression", baseline=True, progress=False)]
    saved = _capture_figures(monkeypatch)
    write_report(runs, tmp_path)
    ylims = {s["name"]: s["ylims"][0] for s in saved}
    assert ylims["run0-scores.png"] == ylims["run1-scores.png"]
    model = np.array([r["window"]["ccc"] for r in runs[0].subjects], dtype=float)
    assert ylims["run0-scores.png"][0] <= 0 and ylims["run0-scores.png"][1] >= np.nanmax(model)


def test_intervals_trial_level_chance_and_class_counts_in_the_report(tmp_path):
    tok = make_tokens(n_subjects=3, n_trials=10, n_windows=2, effect=0.8)
    res = cross_validate_subjects(tok, make_pipeline(Flatten(), LogisticRegression()), n_permutations=2,
                                  progress=False)
    md = write_report(res, tmp_path).read_text()
    s = res.summary["window"]["balanced_accuracy"]
    assert f"[{s['ci_low']:.3f}, {s['ci_high']:.3f}]" in md
    assert "percentile bootstrap over subjects: 10000 resamples" in md and "seed 0" in md
    assert "| Chance (window) | Chance (trial) | p (window) | p (trial) |" in md
    assert f"group p-value for the mean across subjects: window {res.summary['group_p_value']:.3f}" in md
    assert "Chance (window / trial)" in md and "Group p (window / trial)" in md
    row = res.subjects[0]
    cc = row["class_counts"]
    assert "Trials per class (low (<5)/high (>=5)): train; test" in md
    assert (f"| s01 | 10 | 20 | 10 | 20 | {cc['train_trials'][0]}/{cc['train_trials'][1]}; "
            f"{cc['test_trials'][0]}/{cc['test_trials'][1]} |") in md


def test_report_lists_subjects_in_natural_order(tmp_path):
    tok = make_tokens(n_subjects=11, n_trials=4, n_windows=1)
    names = {f"s{i:02d}": str(i) for i in range(1, 12)}
    tok.subject = np.array([names[s] for s in tok.subject])
    tok.trial_key = np.array([f"{names[k.split('/', 1)[0]]}/{k.split('/', 1)[1]}" for k in tok.trial_key])
    res = cross_validate_subjects(tok, WithImportance(), n_splits=2, progress=False)
    doc = res.to_dict()
    doc["subjects"] = sorted(doc["subjects"], key=lambda r: r["subject"])  # as a results.json sorted as text
    (tmp_path / "results.json").write_text(json.dumps({"title": "t", "notes": [], "runs": [doc], "comparisons": []}))
    md = render_report(tmp_path).read_text()
    table = md.split("| Subject |")[1].split("\n\n")[0].splitlines()[2:-1]  # rows between header and mean
    assert [line.split(" | ")[0].lstrip("| ").split(" ")[0] for line in table] == [str(i) for i in range(1, 12)]


def test_clean_versus_leaky_figure_only_with_both(monkeypatch, results, tmp_path):
    saved = _capture_figures(monkeypatch)
    md = write_report(results, tmp_path / "both").read_text()
    fig = next(s for s in saved if s["name"] == "clean-vs-leaky.png")
    assert fig["n_axes"] == 2 and fig["ylims"][0] == fig["ylims"][1]  # side by side, one score axis
    assert "leakage-free" in fig["titles"][0] and "LEAKY" in fig["titles"][1] and "LEAKY" in fig["suptitle"]
    assert "![clean-vs-leaky](figures/clean-vs-leaky.png)" in md
    md = write_report(results[0], tmp_path / "clean").read_text()
    assert "clean-vs-leaky" not in md and not (tmp_path / "clean" / "figures" / "clean-vs-leaky.png").exists()


def test_importance_topomap_shows_range_whole_head_and_chance(monkeypatch, tmp_path):
    from neuroaffect.evaluation.figures import _plot_importance

    saved = _capture_figures(monkeypatch)
    names = ["Fp1", "Fp2", "F7", "F8", "T7", "T8", "P9", "P10", "O1", "O2", "Iz", "Fpz"]  # P9, P10, Iz: below the equator
    values = np.linspace(0.2, 1.7, len(names))
    _plot_importance({"mean": values.tolist(), "ch_names": names, "positions": None}, tmp_path / "a.png", "imp")
    fig = saved[-1]
    assert fig["n_axes"] == 2  # the map and its colour bar
    cbar = fig["axes"][1]
    assert cbar.get_ylim() == pytest.approx((0.2, 1.7)) and "0.200 to 1.700" in cbar.get_ylabel()
    ax = fig["axes"][0]
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    points = [t.get_position() for t in ax.texts] + [p for line in ax.lines for p in np.column_stack(line.get_data())]
    assert len(ax.texts) == len(names)
    for x, y in points:  # every electrode, the head, nose and ears inside the axes
        assert x0 < x < x1 and y0 < y < y1
    head = max(np.hypot(*np.column_stack(line.get_data()).T).max() for line in ax.lines)
    assert all(np.hypot(*t.get_position()) < head for t in ax.texts)  # every electrode inside the head
    assert "at chance" not in fig["titles"][0]

    tok = make_tokens(n_subjects=2, n_trials=10, n_windows=2, effect=0.0)
    res = cross_validate_subjects(tok, WithImportance(), n_permutations=2, progress=False)
    res.summary["group_p_value"] = 0.4
    write_report(res, tmp_path / "r")
    fig = next(s for s in saved if s["name"] == "run0-importance.png")
    assert "model at chance (group p = 0.40)" in fig["titles"][0]


def test_group_p_value_is_never_finer_than_the_permutations_allow():
    from neuroaffect.evaluation.stats import group_permutation_p_value

    null = np.linspace(0.4, 0.6, 20)[:, None]  # one subject, 20 permutations
    assert group_permutation_p_value([0.9], null) == pytest.approx(1 / 21)
    many = np.tile(np.linspace(0.4, 0.6, 20)[:, None], (1, 8))  # 8 subjects: 20**8 combinations
    assert group_permutation_p_value(np.full(8, 0.9), many) == pytest.approx(1 / 10001)
