"""Goal Attainment Scaling T-score (Kiresuk & Sherman 1968)."""

import math

import numpy as np
import pandas as pd
import pytest

import stats
from stats.gas import gas_t_score, gas_t_scores


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
    assert list(res.columns) == ["t_score", "n_goals", "n_goals_invalid_weight"]
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
    assert list(res.columns) == ["child_id", "period", "t_score", "n_goals", "n_goals_invalid_weight"]
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


# ----------------------------------------------------------------------------- invalid weights in a load
# The grouped T-scores run over the whole warehouse after the files are committed, so one goal
# with an invalid weight (inf, 0, < 0; stored by a load before staging rejected it) must not
# stop the statistics of every child (issue 11, item 7): the goal is left out of its group's
# T-score and counted in ``n_goals_invalid_weight``. The single-child ``gas_t_score`` still raises.


@pytest.mark.parametrize("bad", [np.inf, -np.inf, 0.0, -2.0])
def test_grouped_leaves_out_goals_with_invalid_weights_and_counts_them(bad):
    df = pd.DataFrame({"child_id": ["a", "a", "a", "b", "c"],
                       "gas_level": [1, 0, 2, 1, np.nan],
                       "goal_weight": [1.0, 2.0, bad, bad, bad]})
    res = gas_t_scores(df, "child_id").set_index("child_id")
    assert res.loc["a", "t_score"] == pytest.approx(gas_t_score([1, 0], [1, 2]), abs=1e-12)
    assert res.loc["a", "n_goals"] == 2 and res.loc["a", "n_goals_invalid_weight"] == 1
    assert math.isnan(res.loc["b", "t_score"]) and res.loc["b", "n_goals"] == 0
    assert res.loc["b", "n_goals_invalid_weight"] == 1
    assert res.loc["c", "n_goals_invalid_weight"] == 0  # not rated: not a goal of the score anyway


def test_grouped_with_arrow_backed_weights():
    df = pd.DataFrame({"child_id": pd.Series(["a", "a", "a"], dtype="string[pyarrow]"),
                       "gas_level": pd.Series([1, 0, -1], dtype="int8[pyarrow]"),
                       "goal_weight": pd.Series([1.0, None, float("inf")], dtype="double[pyarrow]")})
    res = gas_t_scores(df, "child_id")
    assert res["t_score"].iloc[0] == pytest.approx(gas_t_score([1, 0], [1, 1]))  # missing weight: 1
    assert res["n_goals_invalid_weight"].tolist() == [1]


def test_a_stored_infinite_weight_does_not_stop_the_statistics(tiny_db_copy):
    """A warehouse that already holds goal_weight = inf (loaded before staging refused it):
    rebuilding the statistics works, and that goal is left out of the child's T-scores."""
    import analytics
    from analytics import stored
    from pipelines import transform, warehouse

    db = tiny_db_copy
    with warehouse.writer(db) as con:
        con.execute("update src_goals set goal_weight = 'inf'::double where goal_id = 'G0001-2'")
        transform.build(con, after_build=stored.STEPS)
    con = warehouse.connect_reader(db)
    try:
        reviews = analytics.gas_reviews(con, "C0001")
        assert not reviews.empty and (reviews["n_goals"] == 1).all()  # only G0001-1 counts
        # one goal: T = 50 + 10 x (Kiresuk & Sherman with k = 1)
        assert set(reviews["t_score"].round(9)) <= {30.0, 40.0, 50.0, 60.0, 70.0}
        others = analytics.gas_reviews(con, "C0002")
        assert (others["n_goals"] == 2).any()
    finally:
        con.close()


def test_a_load_with_an_infinite_weight_is_not_stopped_by_the_statistics(tmp_path):
    """The issue's repro: ``goal_weight=inf`` in an export. Whether staging rejects the row or
    lets it through, the load finishes and every row is loaded or rejected."""
    import csv

    import test_dashboard_support as support
    from analytics import stored
    from pipelines import load, warehouse

    src = support.write_tiny_practice(tmp_path / "src", n_children=6, weeks=8)[0]
    with open(src, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    first_goal = next(r for r in rows if r["goal_id"])
    first_goal["goal_weight"] = "inf"
    with open(src, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    report = load.load([src], db=tmp_path / "w.duckdb", after_build=stored.STEPS)
    assert not report.failed, [f.message for f in report.failed]
    f = report.files[0]
    assert f.rows_loaded + f.rows_rejected == len(rows)
    con = warehouse.connect_reader(tmp_path / "w.duckdb")
    try:
        assert con.execute("select count(*) from gas_reviews").fetchall()[0][0] > 0
    finally:
        con.close()
