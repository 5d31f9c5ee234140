"""Analytics on the committed sample practice (data/sample): planted truth is found.

The warehouse is the shared ``sample_db`` of ``conftest.py`` (``data/sample/canonical`` loaded
once per run; generated with the sample's defaults when the checkout lacks it).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import analytics
import stats
from analytics import Filters
from analytics._db import query
from analytics.approach import single_case_effects
from analytics.freshness import stored_current
from pipelines import queries, settings, warehouse


@pytest.fixture
def con(sample_db):
    c = warehouse.connect_reader(sample_db)
    yield c
    c.close()


@pytest.fixture
def truth(sample_truth) -> dict:
    return sample_truth


PLANTED = [  # truth.json list -> flag code
    ("declining", "engagement_declining"),
    ("dropped_out", "possible_dropout"),
    ("low_attendance", "low_attendance"),
    ("rating_gap", "rating_gap"),
    ("reliable_deterioration", "reliable_deterioration"),
]


@pytest.mark.parametrize("planted,code", PLANTED, ids=[p for p, _ in PLANTED])
def test_planted_children_are_flagged(con, truth, planted, code):
    fl = analytics.flags(con)
    flagged = set(fl.loc[fl["flag"] == code, "child_id"])
    expected = set(truth[planted])
    assert expected, f"the sample plants no {planted} children"
    recall = len(flagged & expected) / len(expected)
    assert recall >= 0.8, (code, sorted(expected - flagged))
    false_pos = flagged - expected
    if code == "possible_dropout":
        # there is no discharge field: children who left after meeting their goals look the same;
        # those (and only those) may be flagged, at medium severity and saying so
        assert false_pos <= set(truth["discharged"]), sorted(false_pos - set(truth["discharged"]))
        extra = fl[(fl["flag"] == code) & fl["child_id"].isin(false_pos)]
        assert (extra["severity"] == 2).all() and extra["reason"].str.contains("planned discharge").all()
    else:
        assert len(false_pos) <= max(1, 0.1 * len(flagged)), sorted(false_pos)


def test_stalled_goals_are_flagged(con, truth):
    # truth lists the children whose goals were planted frozen for 16+ weeks; the flag also needs
    # the goal to be below the expected level (a goal frozen at or above it is not a concern),
    # so recall can be lower. Other children may have goals that are flat by chance (e.g. slow
    # goals of the rating-gap children): each extra flag must show the pattern in its ratings.
    fl = analytics.flags(con)
    flagged = set(fl.loc[fl["flag"] == "gas_stalled", "child_id"])
    expected = set(truth["stalled"])
    assert len(flagged & expected) >= 0.7 * len(expected), sorted(expected - flagged)
    twelve_weeks = pd.Timedelta(days=84)
    for child in sorted(flagged - expected):
        ratings = analytics.child_goal_ratings(con, child).sort_values(["session_date", "session_id"])
        stuck = []
        for _, g in ratings.groupby("goal_id"):
            last, first = g.iloc[-1], g.iloc[0]
            before = g[g["session_date"] <= last["session_date"] - twelve_weeks]
            stuck.append(last["session_date"] - first["session_date"] >= twelve_weeks and last["gas_level"] < 0
                         and (last["gas_level"] <= first["gas_level"]
                              or (len(before) > 0 and last["gas_level"] <= before["gas_level"].iloc[-1])))
        assert any(stuck), child


def test_flag_reasons_are_plain_language(con):
    fl = analytics.flags(con)
    assert set(fl["flag"]) <= set(analytics.FLAG_CODES)
    assert fl["reason"].str.len().min() > 40 and not fl["reason"].str.contains("nan|None").any()
    assert fl["severity"].is_monotonic_decreasing


def test_child_led_advantage_within_ci(con, truth):
    e = analytics.approach_effects(con).iloc[0]
    assert bool(e["estimated"]) and e["n_children"] >= 50
    pairs = analytics.approach_pairs(con)
    included = pairs.loc[pairs["eligible"], "child_id"]
    planted = np.array([truth["child_led_effect"][c] for c in included])
    # the planted effects of exactly these children: the estimand of the across-children mean
    assert e["ci_lo"] <= planted.mean() <= e["ci_hi"], (e["ci_lo"], planted.mean(), e["ci_hi"])
    # the population mean (0.6): these children's planted effects scatter around it with
    # SD child_led_effect_sd / sqrt(n); allow 2 such SDs beyond the CI (ratings are also
    # rounded to whole points and clipped to 1..5, which can only pull the estimate inward)
    tol = 2 * truth["child_led_effect_sd"] / math.sqrt(len(planted))
    assert e["ci_lo"] - tol <= truth["child_led_effect_mean"] <= e["ci_hi"] + tol
    assert e["mean_nap"] > 0.5 and e["nap_ci_lo"] > 0.5 and e["wilcoxon_p"] < 0.001
    by = analytics.approach_effects(con, by="modality")
    assert by["n_children"].sum() == e["n_children"] and by["n_sessions"].sum() == e["n_sessions"]
    th = analytics.approach_effects(con, by="therapist_id")
    assert th["n_children"].sum() == e["n_children"]
    small = th[th["n_children"] < 5]
    assert small["mean_diff"].isna().all() and small["reason"].notna().all()


def test_every_analysis_query_runs(con):
    params = {**Filters().params(), "as_of": analytics.as_of(con), "attendance_days": 56, "dropout_days": 30,
              "active_days": 90, "expected_level": 0, "stall_days": 84, "min_sessions": 3, "period": "month",
              "by": "modality", "by2": "age_group", "child_id": None}
    names = queries.names("analysis")
    assert len(names) >= 10
    for name in names:
        df = query(con, name, params)
        # trial-based goals cannot be written in the single wide file (tests/test_analytics_measures.py has them)
        # trial-based goals cannot be written in the single wide file (tests/test_analytics_measures.py has them);
        # file_problems lists one file's rejected or unlinked rows, and needs that file (tests/test_data_page.py)
        assert len(df) > 0 or name in ("trial_sessions", "file_problems"), name


def test_filters_change_results_as_the_data_says(con):
    total = analytics.kpis(con)["current"]
    parts = [analytics.kpis(con, Filters(modalities=(m,)))["current"] for m in ("CBT", "OT", "speech", "play")]
    assert sum(p["sessions"] for p in parts) == total["sessions"]
    assert sum(p["attended"] for p in parts) == total["attended"]
    monthly = analytics.monthly_trends(con, by="team")
    overall = analytics.monthly_trends(con)
    summed = monthly.groupby("month_start")["sessions"].sum()
    assert (summed.to_numpy() == overall.set_index("month_start")["sessions"].to_numpy()).all()
    end = analytics.as_of(con)
    recent = analytics.kpis(con, Filters(date_from=end - dt.timedelta(days=27), date_to=end))
    assert recent["current"]["sessions"] < total["sessions"] and recent["previous"]["sessions"] > 0
    grid = analytics.group_grid(con)
    assert grid["n_sessions"].sum() == total["sessions"]
    hostile = Filters(teams=("North' or 1=1 --",), therapists=("'); drop table sessions; --",))
    assert analytics.kpis(con, hostile)["current"]["sessions"] == 0 and analytics.flags(con, hostile).empty


def test_per_child_statistics_match_stats(con):
    pairs = analytics.approach_pairs(con)
    for child in pairs.loc[pairs["eligible"], "child_id"].head(5):
        tl = analytics.child_timeline(con, child)
        rated = tl[tl["engagement"].notna() & tl["approach"].isin(["child-led", "directed"])].reset_index(drop=True)
        order = np.arange(1, len(rated) + 1)
        a, b = rated["approach"] == "directed", rated["approach"] == "child-led"
        ya, yb = rated.loc[a, "engagement"].astype(float), rated.loc[b, "engagement"].astype(float)
        c = analytics.child_comparison(con, child)
        assert c["nap"] == pytest.approx(stats.nap(ya, yb).estimate)
        assert c["tau_u"] == pytest.approx(stats.tau_u(ya, yb, t_a=order[a]).estimate)
        assert c["tau_bc"] == pytest.approx(stats.tau_bc(ya, yb, t_a=order[a], t_b=order[b]).estimate)
        assert c["pnd"] == pytest.approx(stats.pnd(ya, yb).estimate)
        assert c["mean_difference"] == pytest.approx(yb.mean() - ya.mean())


def test_gas_t_matches_stats_on_latest_levels(con):
    children = analytics.child_list(con)["child_id"].head(6)
    for child in children:
        t = analytics.child_gas_t(con, child)
        ratings = analytics.child_goal_ratings(con, child)
        if t.empty:
            assert ratings.empty
            continue
        for _, review in t.iloc[[0, -1]].iterrows():
            upto = ratings[ratings["session_date"] <= review["month_end"]]
            latest = upto.sort_values(["session_date", "session_id"]).groupby("goal_id").tail(1)
            assert review["n_goals"] == len(latest)
            assert review["t_score"] == pytest.approx(stats.gas_t_score(latest["gas_level"], latest["goal_weight"]))


def test_stored_tables_match_query_time(con):
    assert stored_current(con)
    c = warehouse.SameConnection(con)
    pd.testing.assert_frame_equal(analytics.flags(con), analytics.compute_flags(c, analytics.as_of(con)),
                                  check_dtype=False)
    cmp_ = settings.get().comparison
    fresh = single_case_effects(query(c, "approach_sessions", {**Filters().params(), "measure": "engagement"}),
                                cmp_.min_sessions_per_approach, cmp_.confidence)
    pd.testing.assert_frame_equal(analytics.approach_pairs(con), fresh, check_dtype=False)
    # a filter that keeps everything computes at query time and agrees with the stored table
    everything = Filters(date_from=dt.date(2000, 1, 1))
    pd.testing.assert_frame_equal(analytics.reliable_change(con), analytics.reliable_change(con, everything),
                                  check_dtype=False)
    pd.testing.assert_frame_equal(analytics.goal_summary(con), analytics.goal_summary(con, everything),
                                  check_dtype=False)


def test_rejects_lists_the_malformed_rows(con, truth):
    rej = analytics.rejects(con)
    assert list(rej.columns) == ["file", "line", "column", "value", "reason"]
    planted = {(m["file"], m["line"]) for m in truth["malformed"]}
    assert planted <= set(zip(rej["file"], rej["line"]))
    assert len(analytics.rejects(con, limit=3)) == 3


@pytest.mark.parametrize("by", ["therapist_id", "team", "modality"])
def test_kpis_by_equals_kpis_of_each_group(con, by):
    f = analytics.Filters(date_from=dt.date(2026, 8, 1), date_to=dt.date(2026, 10, 30))
    grouped = analytics.kpis_by(con, f, by).set_index(by)
    field = {"therapist_id": "therapists", "team": "teams", "modality": "modalities"}[by]
    for value in list(grouped.index)[:6]:
        one = analytics.kpis(con, replace(f, **{field: (value,)}))["current"]
        row = grouped.loc[value]
        for key in ("sessions", "attended", "n_rated", "n_goals", "n_children_gas"):
            assert int(row[key]) == int(one[key]), (value, key)
        for key in ("attendance_rate", "mean_engagement", "median_gas_t", "share_goals_at_expected"):
            assert row[key] == pytest.approx(one[key], nan_ok=True), (value, key)


@pytest.mark.parametrize("outcome,single", [("engagement", "approach_effects"), ("gas", "approach_gas")])
def test_approach_breakdowns_equal_the_single_calls(con, outcome, single):
    f = Filters(date_from=dt.date(2026, 2, 1), date_to=dt.date(2026, 10, 30))
    together = analytics.approach_breakdowns(con, f, outcome=outcome)
    for by, table in together.items():
        alone = getattr(analytics, single)(con, f, by=by)
        pd.testing.assert_frame_equal(table.reset_index(drop=True), alone.reset_index(drop=True))
