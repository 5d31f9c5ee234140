"""The overview's "Goals at or above expected" headline and its monthly chart count the same
thing: each goal rated in the period, by its latest rating up to a date (the month's end for a
chart point, the period's end for the headline). So the headline is the chart's last point and
every point is the headline of the period cut at that month's end.

Real sample warehouse (``sample_db``), read the way the dashboard reads it.
"""

from __future__ import annotations

import calendar
import datetime as dt

import pytest

import analytics
from analytics import Filters


def _month_end(d: dt.date) -> dt.date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


@pytest.mark.parametrize("date_from,date_to", [
    (dt.date(2026, 7, 1), dt.date(2026, 9, 30)),      # a calendar quarter
    (dt.date(2026, 2, 15), dt.date(2026, 10, 20)),    # partial first and last months
])
def test_headline_is_the_charts_last_point_and_each_point_a_headline(sample_con, date_from, date_to):
    f = Filters(date_from=date_from, date_to=date_to)
    head = analytics.kpis(sample_con, f)["current"]
    trends = analytics.monthly_trends(sample_con, f).sort_values("month_start")
    last = trends.iloc[-1]
    assert head["n_goals"] > 0
    assert int(last["n_goals"]) == head["n_goals"]
    assert last["share_goals_at_expected"] == pytest.approx(head["share_goals_at_expected"])
    for _, row in trends.iterrows():
        cut = min(_month_end(row["month_start"].date()), date_to)
        k = analytics.kpis(sample_con, Filters(date_from=date_from, date_to=cut))["current"]
        assert int(row["n_goals"]) == k["n_goals"], row["month_start"]
        assert int(row["goals_at_expected"]) == round(k["share_goals_at_expected"] * k["n_goals"]), row["month_start"]
    # status as of month end: goals rated in the period stay counted until its end
    assert trends["n_goals"].is_monotonic_increasing


def test_by_group_points_agree_with_the_groups_headline(sample_con):
    f = Filters(date_from=dt.date(2026, 4, 1), date_to=dt.date(2026, 6, 30))
    by = analytics.monthly_trends(sample_con, f, by="modality")
    heads = analytics.kpis_by(sample_con, f, "modality").set_index("modality")
    for modality, rows in by.groupby("modality"):
        last = rows.sort_values("month_start").iloc[-1]
        assert int(last["n_goals"]) == int(heads.loc[modality, "n_goals"]), modality
        assert last["share_goals_at_expected"] == pytest.approx(heads.loc[modality, "share_goals_at_expected"],
                                                                nan_ok=True), modality
