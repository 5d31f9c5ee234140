"""Child-led uptake (issue 16, item 3): the share of sessions that were child-led per month
(practice, team, therapist) with n and an interval, and the within-child gap per quarter."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import analytics
from analytics.uptake import _quarters
from pipelines import settings, warehouse
from stats.proportion import clustered_rate_interval


@pytest.fixture(scope="module")
def con(sample_db):
    c = warehouse.connect_reader(sample_db)
    yield c
    c.close()


def _sessions(con) -> pd.DataFrame:
    return warehouse.cursor(con).execute(
        "select child_id, team, month_start, approach from sessions where attended and approach is not null").df()


@pytest.mark.parametrize("by", [None, "team", "therapist_id"])
def test_the_monthly_share_equals_an_independent_count_with_its_clustered_interval(con, by):
    d = analytics.child_led_uptake(con, analytics.Filters(), by=by)
    s = warehouse.cursor(con).execute(
        "select child_id, team, therapist_id, month_start, approach = 'child-led' as cl from sessions "
        "where attended and approach is not null").df()
    s["group"] = "all" if by is None else s[by]
    conf = settings.get().comparison.confidence
    for (month, grp), g in s.groupby(["month_start", "group"]):
        row = d[(pd.to_datetime(d["month_start"]) == pd.Timestamp(month)) & (d["group"] == grp)].iloc[0]
        per_child = g.groupby("child_id")["cl"].agg(["sum", "count"])
        r = per_child["sum"].sum() / per_child["count"].sum()
        n_g = len(per_child)
        var = (n_g / (n_g - 1) * ((per_child["sum"] - r * per_child["count"]) ** 2).sum()
               / per_child["count"].sum() ** 2) if n_g > 1 else np.nan
        lo, hi = clustered_rate_interval(r, var, per_child["count"].sum(), n_g, conf)
        assert (row["sessions"], row["child_led"], row["n_children"]) == (len(g), int(g["cl"].sum()), n_g)
        assert row["share"] == pytest.approx(r, abs=1e-12)
        if n_g > 1:
            assert (row["share_lo"], row["share_hi"]) == pytest.approx((float(lo), float(hi)), abs=1e-9)
            assert row["share_lo"] <= row["share"] <= row["share_hi"]
    assert len(d) == s.groupby(["month_start", "group"]).ngroups


def test_groups_add_up_to_the_whole_selection(con):
    whole = analytics.child_led_uptake(con, analytics.Filters()).set_index("month_start")
    teams = analytics.child_led_uptake(con, analytics.Filters(), by="team").groupby("month_start")[
        ["sessions", "child_led"]].sum()
    assert (teams["sessions"] == whole["sessions"]).all() and (teams["child_led"] == whole["child_led"]).all()


def test_filters_apply_and_an_unknown_breakdown_is_refused(con):
    team = _sessions(con)["team"].value_counts().index[0]  # a team with attended sessions
    d = analytics.child_led_uptake(con, analytics.Filters(teams=(team,)), by="team")
    assert set(d["group"]) == {team}
    directed = analytics.child_led_uptake(con, analytics.Filters(approaches=("directed",)))
    assert (directed["child_led"] == 0).all()
    with pytest.raises(ValueError, match="by must be one of"):
        analytics.child_led_uptake(con, analytics.Filters(), by="child_id")


@pytest.mark.parametrize("lo, hi, want", [
    (dt.date(2026, 1, 1), dt.date(2026, 3, 31), [("2026-01-01", "2026-03-31")]),
    (dt.date(2025, 11, 3), dt.date(2026, 4, 2), [("2025-10-01", "2025-12-31"), ("2026-01-01", "2026-03-31"),
                                                 ("2026-04-01", "2026-06-30")]),
    (dt.date(2026, 12, 30), dt.date(2027, 1, 2), [("2026-10-01", "2026-12-31"), ("2027-01-01", "2027-03-31")]),
])
def test_calendar_quarters(lo, hi, want):
    assert [(a.isoformat(), b.isoformat()) for a, b in _quarters(lo, hi)] == want


def test_the_quarterly_gap_is_the_comparison_of_each_quarters_sessions(con):
    f = analytics.Filters(date_from=dt.date(2025, 12, 15), date_to=dt.date(2026, 9, 30))
    q = analytics.approach_gap_by_quarter(con, f)
    assert list(q["quarter"]) == ["2025 Q4", "2026 Q1", "2026 Q2", "2026 Q3"]
    assert list(q["partial"]) == [True, False, False, False]
    assert q["date_from"].iloc[0] == dt.date(2025, 12, 15) and q["date_to"].iloc[-1] == dt.date(2026, 9, 30)
    for _, row in q.iterrows():
        e = analytics.approach_effects(con, replace(f, date_from=row["date_from"], date_to=row["date_to"])).iloc[0]
        assert row["n_children"] == e["n_children"]
        if e["estimated"]:
            assert (row["mean_diff"], row["ci_lo"], row["ci_hi"]) == pytest.approx(
                (e["mean_diff"], e["ci_lo"], e["ci_hi"]), abs=1e-12)
        else:
            assert not row["estimated"] and isinstance(row["reason"], str) and row["reason"]
    assert q["estimated"].any()



@pytest.mark.parametrize("measure", ["engagement", None])
def test_the_pairing_and_gap_from_coded_sessions_equal_those_of_the_session_rows(con, measure):
    """approach_pairs_and_gap reads the sessions once as numpy columns (coded_sessions); its
    pairs and quarterly gap are exactly those of the row-level approach_sessions frame, for
    every child x measure, with the child's latest context (nulls skipped, as arg_max)."""
    from analytics import approach
    from analytics.uptake import approach_gap_by_quarter
    from pipelines import queries

    for f in (analytics.Filters(date_from=dt.date(2025, 12, 15), date_to=dt.date(2026, 9, 30)),
              analytics.Filters(date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 6, 30), modalities=("OT",)),
              analytics.Filters(date_from=dt.date(2100, 1, 1), date_to=dt.date(2100, 2, 1))):
        s = queries.run(con, "approach_sessions", {**f.params(), "measure": measure})
        cs = approach.coded_sessions(con, f, measure)
        assert len(cs) == len(s)
        want = approach.pairs_of(s)
        got = approach.pairs_coded(cs)
        if want.empty:
            assert got.empty
            continue
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        if measure is not None:
            pd.testing.assert_frame_equal(approach_gap_by_quarter(con, f, measure, coded=cs),
                                          approach_gap_by_quarter(con, f, measure, sessions=s), check_exact=True)
    both = analytics.approach_pairs_and_gap(con, f, measure="engagement")
    assert both["pairs"].empty


# ----------------------------------------------------------------------------- the pages

def _page(db, monkeypatch, page: str, query: dict | None = None):
    from streamlit.testing.v1 import AppTest

    import test_dashboard_support as support
    monkeypatch.setenv("PIPELINES_DB", str(db))
    at = AppTest.from_file(str(support.ROOT / "dashboard" / "streamlit_app.py"), default_timeout=90)
    if query:
        at.query_params.update(query)
    at.run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception[0].value
    return at


def test_the_approach_page_shows_uptake_and_the_quarterly_gap(dashboard_db, monkeypatch):
    at = _page(dashboard_db, monkeypatch, "approach", {"period": "12m"})
    assert "Child-led uptake" in [s.value for s in at.subheader]
    tables = [e for e in at.expander if e.label == "Chart as a table"]
    assert tables, "the uptake charts have their tables"
    assert at.session_state["uptake_by"] == "all"


def test_the_uptake_breakdown_is_kept_in_the_url(dashboard_db, monkeypatch):
    at = _page(dashboard_db, monkeypatch, "approach", {"uptake_by": "team"})
    assert at.session_state["uptake_by"] == "team"
    at = _page(dashboard_db, monkeypatch, "approach", {"uptake_by": "nonsense"})
    assert at.session_state["uptake_by"] == "all" and "uptake_by" not in at.query_params


def test_the_overview_has_the_monthly_child_led_share(dashboard_db, monkeypatch):
    at = _page(dashboard_db, monkeypatch, "overview")
    import json
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert "Child-led sessions per month" in titles, titles
