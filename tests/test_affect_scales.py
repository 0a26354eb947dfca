import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroaffect.affect import RatingScale, as_scale, from_common_space, get_scale, to_common_space


def test_known_points_of_each_dataset_scale():
    out = to_common_space([[1.0, 1.0], [5.0, 3.0], [9.0, 5.0], [7.0, 4.0]], ["deap", "dreamer"])
    np.testing.assert_allclose(out, [[-1, -1], [0, 0], [1, 1], [0.5, 0.5]])
    # the field's binary thresholds (DEAP >= 5, DREAMER >= 3) are both 0 in the common space
    assert to_common_space(5.0, "deap") == 0 and to_common_space(3.0, "dreamer") == 0


def test_single_scale_applies_to_every_column_and_shape_is_kept():
    ratings = np.array([[1.0, 9.0, 5.0]])
    np.testing.assert_allclose(to_common_space(ratings, get_scale("deap")), [[-1, 1, 0]])
    assert to_common_space(np.array([1.0, 9.0]), "deap").shape == (2,)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(1.0, 9.0), min_size=1, max_size=20))
def test_continuous_round_trip(values):
    back = from_common_space(to_common_space(values, "deap"), "deap")
    np.testing.assert_allclose(back, values, atol=1e-12)


def test_ordinal_and_user_scale_round_trip():
    scores = np.arange(1, 6, dtype=float)
    np.testing.assert_array_equal(from_common_space(to_common_space(scores, "dreamer"), "dreamer"), scores)
    slider = RatingScale("slider 0-100", 0, 100)
    values = np.array([0.0, 12.5, 50.0, 100.0])
    np.testing.assert_allclose(to_common_space(values, slider), [-1, -0.75, 0, 1])
    np.testing.assert_allclose(from_common_space(to_common_space(values, slider), slider), values)


def test_from_common_space_rounds_ordinal_on_request():
    np.testing.assert_allclose(from_common_space([0.1, -0.9], "dreamer"), [3.2, 1.2])
    np.testing.assert_array_equal(from_common_space([0.1, -0.9], "dreamer", round_ordinal=True), [3.0, 1.0])


@pytest.mark.parametrize(
    "ratings, scale, match",
    [
        ([0.5], "deap", "off the DEAP SAM 1-9 scale"),
        ([9.5], "deap", "off the DEAP SAM 1-9 scale"),
        ([2.5], "dreamer", "off the DREAMER SAM 1-5 scale"),
        ([np.nan], "deap", "NaN"),
        ([1.0], "seed", "categorical"),
    ],
)
def test_bad_ratings_give_clear_errors(ratings, scale, match):
    with pytest.raises(ValueError, match=match):
        to_common_space(ratings, scale)


def test_bad_arguments():
    with pytest.raises(ValueError, match="2 scale"):
        to_common_space([[1.0, 2.0, 3.0]], ["deap", "deap"])
    with pytest.raises(ValueError, match="Allowed values"):
        to_common_space([1.0], "nope")
    with pytest.raises(TypeError, match="RatingScale or a dataset name"):
        as_scale(3)
    with pytest.raises(ValueError, match="outside the common space"):
        from_common_space([1.5], "deap")
    with pytest.raises(ValueError, match="NaN"):
        from_common_space([np.nan], "deap")
    with pytest.raises(ValueError, match="categorical"):
        from_common_space([0.0], "seed_iv")
    with pytest.raises(ValueError, match="shape"):
        to_common_space(np.ones((2, 2, 2)), "deap")


def test_categorical_scale_names_each_code_once():
    from neuroaffect.affect import RatingScale

    with pytest.raises(ValueError, match=r"'mine': categories has 2 name\(s\) .* for the 4 codes 0..3"):
        RatingScale("mine", 0, 3, "categorical", ("a", "b"))
    with pytest.raises(ValueError, match="integer codes"):
        RatingScale("mine", 0, 2.5, "categorical", ("a", "b", "c"))
    with pytest.raises(ValueError, match="repeat a name"):
        RatingScale("mine", 0, 1, "categorical", ("a", "a"))
    assert RatingScale("mine", 0, 3, "categorical", ("a", "b", "c", "d")).categories == ("a", "b", "c", "d")
    assert RatingScale("unnamed", 0, 3, "categorical").categories == ()
