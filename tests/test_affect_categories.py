import numpy as np
import pytest
from scipy.stats import multivariate_normal

from neuroaffect.affect import (
    DEFAULT_CATEGORIES,
    CategoryMixture,
    RatingScale,
    categories_to_vad,
    category_centre,
    category_probabilities,
    category_table,
    common_vad,
    vad_to_categories,
)


def test_table_has_published_rows_and_one_marked_assumption():
    table = category_table()
    assert len(table.terms) == len(set(table.terms)) == 149
    assert table.sources.count("russell_mehrabian_1977_table4") == 148
    assert [t for t, s in zip(table.terms, table.sources, strict=True) if s != "russell_mehrabian_1977_table4"] == ["neutral"]
    assert table.numbers[table.index("happy")] == 31 and table.numbers[table.index("sad")] == 151
    assert (table.sds > 0).all() and (np.abs(table.means) <= 1).all()
    # the means quoted in the project's reference notes (models.md)
    for term, (v, a) in {"happy": (0.81, 0.51), "sad": (-0.63, -0.27), "fearful": (-0.64, 0.60), "angry": (-0.51, 0.59)}.items():
        np.testing.assert_allclose(category_centre(term, dims=("valence", "arousal")), [v, a])


def test_probabilities_sum_to_one_and_match_scipy():
    rng = np.random.default_rng(0)
    vad = np.vstack([rng.uniform(-1, 1, (200, 3)), [[50.0, -50.0, 50.0]]])  # a far point must not underflow
    mix = CategoryMixture()
    p = mix.probabilities(vad)
    assert p.shape == (201, len(DEFAULT_CATEGORIES)) and np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    like = np.column_stack([
        multivariate_normal(m, np.diag(s**2)).pdf(vad[:200]) for m, s in zip(mix.means, mix.sds, strict=True)
    ])
    np.testing.assert_allclose(p[:200], like / like.sum(1, keepdims=True), rtol=1e-9)
    np.testing.assert_allclose(category_probabilities(vad[:5]), p[:5])


@pytest.mark.parametrize("dims", [("valence", "arousal", "dominance"), ("valence", "arousal")])
@pytest.mark.parametrize("categories", [DEFAULT_CATEGORIES, ("neutral", "sad", "fearful", "happy")])
def test_each_centre_maps_back_to_its_own_category(dims, categories):
    mix = CategoryMixture(categories, dims=dims)
    centres = np.array([mix.centre(c) for c in categories])
    assert list(mix.predict(centres)) == list(categories)


def test_priors_shift_the_posterior():
    point = [[0.0, 0.1, 0.0]]
    flat = CategoryMixture(["happy", "sad"]).probabilities(point)[0]
    tilted = CategoryMixture(["happy", "sad"], priors=[1, 9]).probabilities(point)[0]
    expected = flat * [1, 9] / (flat * [1, 9]).sum()
    np.testing.assert_allclose(tilted, expected)


def test_bad_input_gives_clear_errors():
    mix = CategoryMixture(["happy", "sad"], dims=("valence", "arousal"))
    with pytest.raises(ValueError, match="NaN"):
        mix.probabilities([[np.nan, 0.0]])
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        mix.probabilities([[0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="Unknown emotion term 'joyous'"):
        CategoryMixture(["happy", "joyous"])
    with pytest.raises(ValueError, match="distinct"):
        CategoryMixture(["happy", "Happy"])
    with pytest.raises(ValueError, match="Allowed values"):
        CategoryMixture(["happy"], dims=("valence", "pleasure"))
    with pytest.raises(ValueError, match="positive numbers"):
        CategoryMixture(["happy", "sad"], priors=[1, 0])
    with pytest.raises(ValueError, match="Unknown category"):
        mix.centre("angry")


def test_dataset_categories_to_vad():
    np.testing.assert_allclose(
        categories_to_vad([-1, 0, 1], "seed"),
        [category_centre("sad"), [0, 0, 0], category_centre("happy")],
    )
    np.testing.assert_allclose(
        categories_to_vad([2, 3], "seed_iv", dims=("arousal",)), [[0.60], [0.51]]
    )
    for name, codes in (("seed", [-1, 0, 1, 1, -1]), ("seed_iv", [0, 1, 2, 3, 2])):
        np.testing.assert_array_equal(vad_to_categories(categories_to_vad(codes, name), name), codes)
    assert vad_to_categories([[0.9, -0.5]], "seed", dims=("valence", "arousal")).tolist() == [1.0]
    custom = RatingScale("calm/excited", 0, 1, "categorical", ("calm", "excited"))
    np.testing.assert_allclose(
        categories_to_vad([1], custom, mapping={"calm": "relaxed", "excited": "excited"}),
        [category_centre("excited")],
    )
    with pytest.raises(ValueError, match="No default mapping"):
        categories_to_vad([1], custom)
    with pytest.raises(ValueError, match="lacks"):
        categories_to_vad([1], custom, mapping={"calm": "relaxed"})
    with pytest.raises(ValueError, match="not categorical"):
        categories_to_vad([1], "deap")
    with pytest.raises(ValueError, match="off the SEED-IV"):
        categories_to_vad([4], "seed_iv")


class _Rated:  # anything with ratings / rating_names / scales, like EEGTrials or WindowTokens
    def __init__(self, ratings, rating_names, scales):
        self.ratings, self.rating_names, self.scales = np.asarray(ratings, float), rating_names, scales


def test_common_vad_reads_numeric_and_categorical_datasets():
    deap = _Rated([[1, 9, 5, 2], [9, 1, 5, 8]], ("valence", "arousal", "dominance", "liking"),
                  dict.fromkeys(("valence", "arousal", "dominance", "liking"), "deap"))
    np.testing.assert_allclose(common_vad(deap, dims=("arousal", "valence")), [[1, -1], [-1, 1]])
    seed = _Rated([[1], [-1]], ("emotion",), {"emotion": "seed"})
    np.testing.assert_allclose(common_vad(seed), categories_to_vad([1, -1], "seed"))
    with pytest.raises(ValueError, match="No 'dominance' rating"):
        common_vad(_Rated([[1, 1]], ("valence", "arousal"), dict.fromkeys(("valence", "arousal"), "deap")))


@pytest.mark.parametrize("dataset", ["deap", "dreamer", "seed", "seed_iv"])
def test_common_vad_on_simulated_trials(dataset):
    from neuroaffect.simulate import simulate_trials

    trials = simulate_trials(dataset, n_subjects=1, n_trials=4, trial_duration=0.5, baseline_duration=0)
    vad = common_vad(trials)
    assert vad.shape == (4, 3) and (np.abs(vad) <= 1).all()
    if dataset in ("seed", "seed_iv"):
        np.testing.assert_allclose(vad, categories_to_vad(trials.rating("emotion"), dataset))
    else:
        np.testing.assert_allclose(vad[:, 0], trials.scales["valence"].normalize(trials.rating("valence")))
