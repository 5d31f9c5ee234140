"""Periods (issue 16, item 2): rolling and calendar periods, what they are compared with, partial
months; the filter bar keeps the period and the comparison in the address."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

import analytics
import test_dashboard_support as support
from dashboard import periods
from pipelines import warehouse

D = dt.date
HI = D(2026, 10, 30)   # the latest session loaded
LO = D(2025, 11, 3)


@pytest.mark.parametrize("period, want", [
    ("2w", (D(2026, 10, 17), HI)),
    ("3m", (D(2026, 8, 1), HI)),
    ("12m", (D(2025, 11, 1), HI)),
    ("month", (D(2026, 10, 1), HI)),
    ("last_month", (D(2026, 9, 1), D(2026, 9, 30))),
    ("quarter", (D(2026, 10, 1), HI)),
    ("last_quarter", (D(2026, 7, 1), D(2026, 9, 30))),
    ("year", (D(2026, 1, 1), HI)),
    ("last_year", (D(2025, 1, 1), D(2025, 12, 31))),
    ("all", (LO, HI)),
])
def test_period_range(period, want):
    assert periods.period_range(period, LO, HI) == want


@pytest.mark.parametrize("period, d_from, d_to, compare, want", [
    # rolling and custom: the same number of days just before
    ("3m", D(2026, 8, 1), HI, "previous", (D(2026, 5, 2), D(2026, 7, 31))),
    ("custom", D(2026, 3, 10), D(2026, 3, 19), "previous", (D(2026, 2, 28), D(2026, 3, 9))),
    # calendar: the whole unit before, or the same span of it while the unit is still running
    ("last_quarter", D(2026, 7, 1), D(2026, 9, 30), "previous", (D(2026, 4, 1), D(2026, 6, 30))),
    ("quarter", D(2026, 10, 1), HI, "previous", (D(2026, 7, 1), D(2026, 7, 30))),
    ("month", D(2026, 3, 1), D(2026, 3, 31), "previous", (D(2026, 2, 1), D(2026, 2, 28))),
    ("last_month", D(2026, 3, 1), D(2026, 3, 31), "previous", (D(2026, 2, 1), D(2026, 2, 28))),
    ("year", D(2026, 1, 1), HI, "previous", (D(2025, 1, 1), D(2025, 10, 30))),
    # the same dates a year earlier (29 Feb has no twin: 28 Feb)
    ("3m", D(2026, 8, 1), HI, "year_before", (D(2025, 8, 1), D(2025, 10, 30))),
    ("custom", D(2028, 2, 29), D(2028, 3, 5), "year_before", (D(2027, 2, 28), D(2027, 3, 5))),
])
def test_comparison_range(period, d_from, d_to, compare, want):
    got = periods.comparison_range(period, d_from, d_to, compare)
    assert got == want
    assert got[1] < d_from  # never overlaps the period itself


def test_add_months_clamps_the_day():
    assert periods.add_months(D(2026, 3, 31), -1) == D(2026, 2, 28)
    assert periods.add_months(D(2026, 1, 31), 13) == D(2027, 2, 28)
    assert periods.add_months(D(2026, 12, 15), 1) == D(2027, 1, 15)


def test_partial_months():
    got = periods.partial_months(["2026-08-01", "2026-09-01", "2026-10-01"], D(2026, 8, 15), D(2026, 10, 31))
    assert got.tolist() == [True, False, False]
    assert periods.is_partial("quarter") and not periods.is_partial("last_quarter") and not periods.is_partial("3m")


# ----------------------------------------------------------------------------- the filter bar and the overview

def _overview(db, monkeypatch, query: dict | None = None) -> AppTest:
    monkeypatch.setenv("PIPELINES_DB", str(db))
    at = AppTest.from_file(str(support.ROOT / "dashboard" / "streamlit_app.py"), default_timeout=90)
    if query:
        at.query_params.update(query)
    at.run()
    assert not at.exception, at.exception[0].value
    return at


def test_the_overview_compares_last_quarter_with_the_same_quarter_a_year_before(dashboard_db, monkeypatch):
    at = _overview(dashboard_db, monkeypatch, {"period": "last_quarter", "compare": "year_before"})
    f = at.session_state["filters"]
    assert (f.date_from, f.date_to) == (D(2026, 7, 1), D(2026, 9, 30))
    cmp_ = at.session_state["comparison"]
    assert (cmp_.date_from, cmp_.date_to) == (D(2025, 7, 1), D(2025, 9, 30))
    assert any("a year earlier" in c.value for c in at.caption)
    c = warehouse.connect_reader(dashboard_db)
    try:
        k = analytics.kpis(c, f, previous=cmp_)
    finally:
        c.close()
    shown = next(m for m in at.metric if m.label == "Sessions")
    assert shown.value == f"{k['current']['sessions']:,}"
    # the sample starts in Nov 2025: nothing a year before, so no change and no arrow
    assert not k["previous"]["sessions"] and not shown.proto.delta
    assert any("no sessions then" in c.value for c in at.caption)


def test_the_headline_change_is_against_the_quarter_before(dashboard_db, monkeypatch):
    at = _overview(dashboard_db, monkeypatch, {"period": "last_quarter"})
    cmp_ = at.session_state["comparison"]
    assert (cmp_.date_from, cmp_.date_to) == (D(2026, 4, 1), D(2026, 6, 30))
    c = warehouse.connect_reader(dashboard_db)
    try:
        k = analytics.kpis(c, at.session_state["filters"], previous=cmp_)
    finally:
        c.close()
    assert any("(the quarter before)" in c.value for c in at.caption)
    d = k["current"]["sessions"] - k["previous"]["sessions"]
    shown = next(m for m in at.metric if m.label == "Sessions")
    assert shown.proto.delta == (f"{d:+,}" if d else "")


def test_period_and_comparison_are_kept_in_the_address_and_bad_values_warned(dashboard_db, monkeypatch):
    at = _overview(dashboard_db, monkeypatch, {"period": "year", "compare": "year_before"})
    assert at.session_state["f_period"] == "year" and at.session_state["f_compare"] == "year_before"
    assert at.query_params["period"] in (["year"], "year") and at.query_params["compare"] in (["year_before"], "year_before")
    at = _overview(dashboard_db, monkeypatch, {"compare": "next_week"})
    assert at.session_state["f_compare"] == "previous"
    assert "compare next\\_week is unknown" in " ".join(str(w.value) for w in at.warning)


def test_partial_months_are_hollow_on_the_trend_chart(dashboard_db, monkeypatch):
    import json
    at = _overview(dashboard_db, monkeypatch, {"from": "2026-05-15", "to": "2026-09-10"})
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    line = next(s for s in specs if s["layout"]["title"]["text"].startswith("Attendance rate"))
    symbols = line["data"][-1]["marker"]["symbol"]
    assert symbols[0] == "circle-open" and symbols[-1] == "circle-open" and set(symbols[1:-1]) == {"circle"}


def test_this_quarter_so_far_is_compared_with_the_same_days_of_the_quarter_before(dashboard_db, monkeypatch):
    at = _overview(dashboard_db, monkeypatch, {"period": "quarter"})
    cmp_ = at.session_state["comparison"]
    assert (cmp_.date_from, cmp_.date_to) == (D(2026, 7, 1), D(2026, 7, 30))
    assert any("(the same days of the quarter before)" in c.value for c in at.caption)


def test_the_meeting_pack_compares_with_the_period_the_filter_bar_names(dashboard_db, monkeypatch):
    monkeypatch.setenv("PIPELINES_DB", str(dashboard_db))
    at = AppTest.from_file(str(support.ROOT / "dashboard" / "streamlit_app.py"), default_timeout=120)
    at.query_params.update({"team": "North", "period": "last_quarter"})
    at.run()
    at.switch_page("app_pages/team_meeting.py").run()
    assert not at.exception, at.exception[0].value
    text = " ".join(str(e.value) for kind in ("markdown", "caption") for e in getattr(at, kind))
    # last quarter (Jul-Sep) against the quarter before (Apr-Jun), as on the overview; not 92 days before (31 Mar)
    assert "1 Apr 2026" in text and "31 Mar 2026" not in text, text[:500]
