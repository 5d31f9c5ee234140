"""Attendance in detail (issue 16, item 4): outcome rates per month, weekday, time of day,
therapist, modality, team and age group, with n and a child-clustered interval; the page.

The interval is checked against published worked examples (Wilson's interval: Newcombe 1998,
Table I) and against an independent session-level computation of the cluster-robust variance.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

import analytics
import test_dashboard_support as support
from analytics.attendance import DIMENSIONS, OUTCOMES
from pipelines import settings, warehouse
from pipelines.load import load
from stats.proportion import clustered_rate_interval, effective_n, wilson_interval
from streamlit.testing.v1 import AppTest

APP = str(support.ROOT / "dashboard" / "streamlit_app.py")
STATUS_COLUMN = {"attended": "attended", "cancelled": "cancelled", "late-cancelled": "late_cancelled",
                 "no-show": "no_show", "clinician-cancelled": "clinician_cancelled"}


# ----------------------------------------------------------------------------- the interval

# Newcombe R. G. (1998) Two-sided confidence intervals for the single proportion: comparison of
# seven methods. Statistics in Medicine 17, 857-872, Table I, method 3 (Wilson score, no correction)
NEWCOMBE_1998 = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
    (29, 29, 0.8830, 1.0000),
    (0, 10, 0.0000, 0.2775),
]


@pytest.mark.parametrize("x, n, lo, hi", NEWCOMBE_1998)
def test_wilson_interval_matches_newcombe_1998(x, n, lo, hi):
    got_lo, got_hi = wilson_interval(x / n, n, 0.95)
    assert float(got_lo) == pytest.approx(lo, abs=5e-5)
    assert float(got_hi) == pytest.approx(hi, abs=5e-5)


def test_effective_n_falls_back_to_n_where_the_variance_says_nothing():
    # r = 0 (no session had the outcome), one child's sessions, or an estimate larger than n
    got = effective_n([0.0, 0.3, 0.3, 1.0], [0.0, np.nan, 1e-9, 0.0], [40, 40, 40, 40])
    assert got.tolist() == [40.0, 40.0, 40.0, 40.0]
    assert float(effective_n(0.3, 0.21 / 10, 40)) == pytest.approx(10.0)


def test_a_group_of_one_child_has_no_interval():
    lo, hi = clustered_rate_interval([0.2, 0.2], [0.001, 0.001], [10, 10], [1, 5])
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    assert 0 <= lo[1] < 0.2 < hi[1] <= 1


# ----------------------------------------------------------------------------- against the warehouse

@pytest.fixture(scope="module")
def con(sample_db):
    c = warehouse.connect_reader(sample_db)
    yield c
    c.close()


def _sessions(con, f: analytics.Filters):
    rf = analytics.resolve(con, f)
    return warehouse.cursor(con).execute(
        "select child_id, attendance, session_date, therapist_id, modality, month_start from sessions "
        "where session_date between $a and $b", {"a": rf.date_from, "b": rf.date_to}).df()


def _independent(sessions, key: str, outcome: str, confidence: float) -> dict:
    """Rate, interval and n of one outcome per group from session-level rows: the intercept-only
    least-squares mean of the outcome indicator with the CR1 cluster-robust variance
    (X'X)^-1 (G/(G-1)) sum_g u_g^2 (X'X)^-1, u_g the child's summed residuals, then Wilson on
    n_eff = r (1 - r) / V with t(G - 1)."""
    out = {}
    for grp, s in sessions.groupby(key):
        y = (s["attendance"].map(STATUS_COLUMN) == outcome).to_numpy(float)
        n = len(y)
        r = y.mean()
        u = (s.assign(res=y - r).groupby("child_id")["res"].sum()).to_numpy()
        g = len(u)
        v = (g / (g - 1)) * (u ** 2).sum() / n ** 2 if g > 1 else np.nan
        n_eff = min(r * (1 - r) / v, n) if g > 1 and v > 0 and 0 < r < 1 else n
        z = sps.t.ppf(1 - (1 - confidence) / 2, g - 1) if g > 1 else np.nan
        centre = (r + z * z / (2 * n_eff)) / (1 + z * z / n_eff)
        half = z * np.sqrt(r * (1 - r) / n_eff + z * z / (4 * n_eff ** 2)) / (1 + z * z / n_eff)
        out[str(grp)] = (r, max(centre - half, 0.0), min(centre + half, 1.0), n, g)
    return out


@pytest.mark.parametrize("by, column", [("therapist_id", "therapist_id"), ("modality", "modality")])
@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_rates_and_intervals_equal_an_independent_session_level_computation(con, by, column, outcome):
    f = analytics.Filters()
    d = analytics.attendance_detail(con, f, by=by)
    want = _independent(_sessions(con, f), column, outcome, settings.get().comparison.confidence)
    got = d[d["outcome"] == outcome].set_index("group")
    assert set(got.index) == set(want)
    for grp, (r, lo, hi, n, g) in want.items():
        row = got.loc[grp]
        assert (row["scheduled"], row["n_children"]) == (n, g)
        assert row["rate"] == pytest.approx(r, abs=1e-12)
        assert row["rate_lo"] == pytest.approx(lo, abs=1e-9)
        assert row["rate_hi"] == pytest.approx(hi, abs=1e-9)
        assert row["rate_lo"] <= row["rate"] <= row["rate_hi"]


@pytest.mark.parametrize("by", list(DIMENSIONS))
def test_every_scheduled_session_has_one_outcome_in_every_breakdown(con, by):
    f = analytics.Filters(date_from=dt.date(2026, 4, 10), date_to=dt.date(2026, 9, 20))
    d = analytics.attendance_detail(con, f, by=by)
    per_group = d.groupby("group").agg(total=("n_outcome", "sum"), scheduled=("scheduled", "first"),
                                       outcomes=("outcome", "nunique"))
    assert (per_group["total"] == per_group["scheduled"]).all()
    assert (per_group["outcomes"] == len(OUTCOMES)).all()
    assert d.groupby("group")["rate"].sum().to_numpy() == pytest.approx(1.0)
    # the breakdown covers the headline's sessions: the chart and the headline count the same sessions
    k = analytics.kpis(con, f)["current"]
    assert int(per_group["scheduled"].sum()) == k["sessions"]
    att = d[d["outcome"] == "attended"]
    assert att["n_outcome"].sum() / att["scheduled"].sum() == pytest.approx(k["attendance_rate"])


def test_partial_months_are_marked(con):
    f = analytics.Filters(date_from=dt.date(2026, 4, 10), date_to=dt.date(2026, 9, 20))
    d = analytics.attendance_detail(con, f, by="month").drop_duplicates("group").set_index("group")
    assert d.loc["2026-04", "partial"] and d.loc["2026-09", "partial"]
    assert not d.loc[["2026-05", "2026-06", "2026-07", "2026-08"], "partial"].any()


def test_weekdays_come_monday_first_and_filters_apply(con):
    d = analytics.attendance_detail(con, analytics.Filters(), by="weekday")
    days = list(dict.fromkeys(d["group"]))
    order = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    assert days == [x for x in order if x in days]
    one = analytics.filter_options(con)["modalities"][0]
    narrowed = analytics.attendance_detail(con, analytics.Filters(modalities=(one,)), by="modality")
    assert set(narrowed["group"]) == {one}


def test_an_unknown_breakdown_is_refused(con):
    with pytest.raises(ValueError, match="by must be one of"):
        analytics.attendance_detail(con, analytics.Filters(), by="child_id")


@pytest.fixture(scope="module")
def timed_db(tmp_path_factory) -> Path:
    """A small practice whose export has start times (and one session without one)."""
    work = tmp_path_factory.mktemp("attendance_times")
    rows = []
    times = ["08:30", "10:00", "12:15", "14:45", "15:30", "17:00", ""]
    statuses = ["attended", "no-show", "attended", "late-cancelled", "attended", "cancelled", "attended"]
    for c in range(6):
        for k, (t, st_) in enumerate(zip(times, statuses)):
            rows.append({"session_id": f"S{c}{k}", "child_id": f"C{c:04d}", "therapist_id": "T01", "team": "North",
                         "session_date": (dt.date(2026, 3, 2) + dt.timedelta(days=7 * k + c % 5)).isoformat(),
                         "modality": "OT", "approach": "child-led" if k % 2 else "directed",
                         "date_of_birth": "2018-05-01", "attendance": st_, "duration_min": "45",
                         "setting": "clinic", "engagement": "3" if st_ == "attended" else "", "start_time": t})
    path = work / "export_2026-05.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    db = work / "practice.duckdb"
    load([path], db=db, today=dt.date(2026, 5, 1))
    return db


def test_time_of_day_bands_follow_the_start_time(timed_db):
    c = warehouse.connect_reader(timed_db)
    try:
        d = analytics.attendance_detail(c, analytics.Filters(), by="time_of_day")
    finally:
        c.close()
    bands = d.drop_duplicates("group").set_index("group")["scheduled"].to_dict()
    assert bands == {"morning (before 12:00)": 12, "early afternoon (12:00-14:59)": 12,
                     "after school (15:00 and later)": 12, "not recorded": 6}
    assert list(dict.fromkeys(d["group"]))[-1] == "not recorded"
    no_show = d[(d["group"] == "morning (before 12:00)") & (d["outcome"] == "no_show")].iloc[0]
    assert (no_show["n_outcome"], no_show["rate"]) == (6, 0.5)


# ----------------------------------------------------------------------------- the page

def _page(db: Path, monkeypatch, query: dict | None = None) -> AppTest:
    monkeypatch.setenv("PIPELINES_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    if query:
        at.query_params.update(query)
    at.run()
    at.switch_page("app_pages/attendance.py").run()
    assert not at.exception, at.exception[0].value
    return at


def test_the_page_shows_the_headline_the_chart_and_its_table(dashboard_db, monkeypatch):
    at = _page(dashboard_db, monkeypatch)
    labels = [m.label for m in at.metric]
    assert labels == ["Scheduled sessions"] + [v[0] for v in OUTCOMES.values()]
    c = warehouse.connect_reader(dashboard_db)
    try:
        k = analytics.kpis(c, at.session_state["filters"])["current"]
    finally:
        c.close()
    assert next(m.value for m in at.metric if m.label == "Scheduled sessions") == f"{k['sessions']:,}"
    assert next(m.value for m in at.metric if m.label == "Attended") == f"{100 * k['attendance_rate']:.1f}%"
    assert any(e.label == "Chart as a table" for e in at.expander)
    assert any(e.label == "How this is computed" for e in at.expander)


def test_the_breakdown_is_kept_in_the_url(dashboard_db, monkeypatch):
    at = _page(dashboard_db, monkeypatch, {"by": "weekday"})
    assert at.session_state["att_by"] == "weekday"
    assert at.query_params["by"] == ["weekday"] or at.query_params["by"] == "weekday"
    at = _page(dashboard_db, monkeypatch, {"by": "nonsense"})
    assert at.session_state["att_by"] == "month"
    assert "by" not in at.query_params


def test_age_groups_come_in_band_order(con):
    d = analytics.attendance_detail(con, analytics.Filters(), by="age_group")
    bands = [label for label, _lo, _hi in settings.get().age_groups]
    shown = list(dict.fromkeys(d["group"]))
    assert shown == [b for b in bands if b in shown] and len(shown) > 2
