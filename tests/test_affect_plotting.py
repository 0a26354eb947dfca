import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from neuroaffect.affect import CategoryMixture  # noqa: E402
from neuroaffect.affect.plotting import plot_circumplex  # noqa: E402


def test_circumplex_renders_points_predictions_and_centres(tmp_path):
    rng = np.random.default_rng(0)
    true = rng.uniform(-1, 1, (40, 2))
    pred = np.clip(true + rng.normal(0, 0.2, true.shape), -1, 1)
    fig = plot_circumplex(true, pred, title="test")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.texts]
    assert {"happy", "sad", "fearful", "angry"} <= set(labels)
    # colours follow the most probable category of the true point
    expected = set(CategoryMixture(dims=("valence", "arousal")).predict(true))
    legend = {t.get_text().removesuffix(" (true)") for t in ax.get_legend().get_texts()}
    assert expected <= legend
    fig.savefig(tmp_path / "circumplex.png")
    assert (tmp_path / "circumplex.png").stat().st_size > 1000
    plt.close(fig)


def test_circumplex_into_given_axes_and_without_predictions():
    fig, ax = plt.subplots()
    out = plot_circumplex(np.zeros((0, 2)), ax=ax, categories=("happy", "sad"))
    assert out is fig and ax.get_xlabel() == "valence"
    plt.close(fig)


def test_circumplex_bad_input():
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        plot_circumplex(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        plot_circumplex([[np.nan, 0.0]])
    with pytest.raises(ValueError, match="pred_va has shape"):
        plot_circumplex(np.zeros((3, 2)), np.zeros((2, 2)))
