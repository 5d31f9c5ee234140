"""Goal Attainment Scaling T-score (Kiresuk & Sherman 1968)."""

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines import stats  # noqa: E402
from pipelines.stats.gas import gas_t_score, gas_t_scores  # noqa: E402


# (levels, weights, rho, expected T, decimals compared)
WORKED = [
    # weighted worked example: sum wx = 7, 0.7*91 + 0.3*21^2 = 196 -> 50 + 70/14
    ((-2, 0, -1, 2, 0, 1), (3, 5, 1, 4, 2, 6), 0.3, 55.0, 12),
    # three unweighted goals: 50 + 10*2/sqrt(0.7*3 + 0.3*9)
    ((1, 1, 0), None, 0.3, 59.13, 2),
    # all goals met as expected
    ((0, 0, 0, 0), None, 0.3, 50.0, 12),
    # one goal, one level above expected: denominator sqrt(0.7 + 0.3) = 1
    ((1,), None, 0.3, 60.0, 12),
    # two goals at -1: 50 - 20/sqrt(2.6)
    ((-1, -1), None, 0.3, 50 - 20 / math.sqrt(2.6), 12),
    # rho = 0: 50 + 10*4/sqrt(2)
    ((2, 2), None, 0.0, 50 + 40 / math.sqrt(2), 12),
    # the -3 (deterioration) level is accepted
    ((-3, 0), (1, 1), 0.3, 50 - 30 / math.sqrt(0.7 * 2 + 0.3 * 4), 12),
]


@pytest.mark.parametrize("levels, weights, rho, expected, dp", WORKED)
def test_worked_examples(levels, weights, rho, expected, dp):
    assert round(gas_t_score(levels, weights, rho=rho), dp) == round(expected, dp)


def test_weighted_example_is_exactly_55():
    assert gas_t_score([-2, 0, -1, 2, 0, 1], [3, 5, 1, 4, 2, 6]) == pytest.approx(55.0, abs=1e-12)


def test_nan_levels_are_dropped_with_their_weights():
    assert gas_t_score([1, np.nan, 1, 0], [1, 9, 1, 1]) == pytest.approx(gas_t_score([1, 1, 0]))


def test_empty_gives_nan():
    assert math.isnan(gas_t_score([]))
    assert math.isnan(gas_t_score([np.nan, np.nan]))


@pytest.mark.parametrize("bad", [[-4], [3], [0.5], [1, 2, 7]])
def test_levels_outside_range_raise(bad):
    with pytest.raises(ValueError, match="GAS levels"):
        gas_t_score(bad)


@pytest.mark.parametrize("weights", [[1, 0], [1, -2], [1, np.inf]])
def test_bad_weights_raise(weights):
    with pytest.raises(ValueError, match="weights"):
        gas_t_score([0, 1], weights)


def test_length_mismatch_and_bad_rho_raise():
    with pytest.raises(ValueError):
        gas_t_score([0, 1], [1])
    with pytest.raises(ValueError):
        gas_t_score([0, 1], rho=1.0)


def _random_goals(seed=7, n_children=200):
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_children):
        k = int(rng.integers(1, 7))
        lv = rng.integers(-2, 3, size=k).astype(float)
        if c % 13 == 0:
            lv[:] = np.nan  # no goal rated yet
        elif c % 5 == 0:
            lv[0] = np.nan
        rows.append(
            pd.DataFrame(
                {
                    "child_id": f"C{c:04d}",
                    "period": c % 3,
                    "gas_level": lv,
                    "goal_weight": rng.integers(1, 5, size=k).astype(float),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_grouped_equals_scalar():
    df = _random_goals()
    res = gas_t_scores(df, "child_id").set_index("child_id")
    assert list(res.columns) == ["t_score", "n_goals"]
    for child, sub in df.groupby("child_id"):
        expected = gas_t_score(sub["gas_level"], sub["goal_weight"])
        got = res.loc[child]
        assert got["n_goals"] == sub["gas_level"].notna().sum()
        if math.isnan(expected):
            assert math.isnan(got["t_score"]) and got["n_goals"] == 0
        else:
            assert got["t_score"] == pytest.approx(expected, abs=1e-10)


def test_grouped_multiple_keys_and_default_weights():
    df = _random_goals().drop(columns="goal_weight")
    res = gas_t_scores(df, ["child_id", "period"], weight=None)
    assert list(res.columns) == ["child_id", "period", "t_score", "n_goals"]
    sub = df[df.child_id == "C0001"]
    row = res[res.child_id == "C0001"].iloc[0]
    assert row["t_score"] == pytest.approx(gas_t_score(sub["gas_level"]))
    # a weight column named but absent also means weight 1
    res2 = gas_t_scores(df, ["child_id", "period"])
    pd.testing.assert_frame_equal(res, res2)


def test_grouped_rejects_invalid_levels():
    df = pd.DataFrame({"child_id": ["a", "a"], "gas_level": [0, 4], "goal_weight": [1, 1]})
    with pytest.raises(ValueError, match="GAS levels"):
        gas_t_scores(df, "child_id")


def test_grouped_worked_example_and_package_export():
    df = pd.DataFrame(
        {
            "child_id": ["x"] * 6 + ["y"] * 3,
            "gas_level": [-2, 0, -1, 2, 0, 1, 1, 1, 0],
            "goal_weight": [3, 5, 1, 4, 2, 6, 1, 1, 1],
        }
    )
    res = stats.gas_t_scores(df, "child_id").set_index("child_id")
    assert res.loc["x", "t_score"] == pytest.approx(55.0, abs=1e-12)
    assert round(res.loc["y", "t_score"], 2) == 59.13
    assert res["n_goals"].tolist() == [6, 3]
