"""The meeting pack's batched reads give exactly what one call per figure gives (issue 14):

* ``analytics.approach.approach_effects_measures`` (one query for every measure) =
  ``approach_effects`` of each measure on its own;
* ``analytics.period_values.measure_values`` (every measure, both periods, one query) = the
  value figures of ``kpis`` for each measure (the same ints; floats to the last digits, which
  depend on the order DuckDB adds the values in);
* ``analytics.recent_trends_measures`` (every measure, one query) = the ``recent_*`` columns of
  ``child_trends`` of each measure, for the children with a value in the recent window;
* ``reports.meeting_pack.calls.Calls`` makes a repeated call (defaults filled in) once and
  returns what the call itself returns.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

import analytics
from analytics.approach import approach_effects_measures
from analytics.period_values import RECENT_COLUMNS, VALUE_FIGURES, measure_values, recent_trends_measures
from reports.meeting_pack.calls import Calls
from reports.meeting_pack.measures import pack_measures


@pytest.fixture(scope="module")
def period(sample_con) -> analytics.Filters:
    hi = analytics.filter_options(sample_con)["max_date"]
    return analytics.Filters(date_from=hi - dt.timedelta(days=180), date_to=hi)


def test_effects_of_every_measure_from_one_query_equal_each_measure_alone(sample_con, period):
    measures = tuple(m.id for m in pack_measures(sample_con))
    assert len(measures) > 1 and "engagement" in measures
    got = approach_effects_measures(sample_con, period, measures)
    assert list(got) == list(measures)
    for m in measures:
        want = analytics.approach_effects(sample_con, period, measure=m)
        pd.testing.assert_frame_equal(got[m], want, check_exact=True)
    assert got["engagement"]["n_children"].iloc[0] > 0


def test_effects_of_a_measure_the_query_leaves_out_are_asked_for_on_their_own(sample_con, period):
    got = approach_effects_measures(sample_con, period, ("engagement", "no_such_measure_xyz"))
    assert got["no_such_measure_xyz"]["n_children"].tolist() == [0]
    pd.testing.assert_frame_equal(got["engagement"], analytics.approach_effects(sample_con, period), check_exact=True)


def test_calls_makes_a_repeated_call_once(sample_con, period):
    made = []

    def kpis(con, f, previous=None, measure="engagement"):
        made.append((f, previous, measure))
        return analytics.kpis(con, f, previous=previous, measure=measure)

    calls = Calls(sample_con)
    first = calls(kpis, period)
    again = calls(kpis, period, measure="engagement")  # the default, given: the same call
    other = calls(kpis, period, measure="on_task")
    assert first is again and len(made) == 2
    assert first["current"]["sessions"] == analytics.kpis(sample_con, period)["current"]["sessions"] > 0
    assert other["current"]["measure"] == "on_task"


@pytest.mark.parametrize("days, narrow", [(180, {}), (27, {"approaches": ("child-led",)}), (0, {"therapists": ("nobody",)})])
def test_measure_values_of_both_periods_equal_kpis_of_each_measure(sample_con, period, days, narrow):
    from dataclasses import replace

    f = replace(period, date_from=period.date_to - dt.timedelta(days=days), **narrow)
    prev = f.previous_period()
    measures = tuple(m.id for m in pack_measures(sample_con))
    got = measure_values(sample_con, f, prev, measures)
    seen = 0
    for m in measures:
        k = analytics.kpis(sample_con, f, previous=prev, measure=m)
        for block in ("current", "previous"):
            for c in VALUE_FIGURES:
                a, b = got[m][block][c], k[block][c]
                assert type(a) is type(b), (m, block, c, a, b)
                if isinstance(b, float) and math.isnan(b):
                    assert math.isnan(a), (m, block, c, a)
                elif isinstance(b, float):
                    assert a == pytest.approx(b, rel=1e-12, abs=0), (m, block, c)
                else:
                    assert a == b, (m, block, c)
                    seen += b
    assert (seen > 0) == (not narrow.get("therapists"))


def test_measure_values_refuse_a_previous_period_with_other_filters(sample_con, period):
    with pytest.raises(ValueError, match="same filters"):
        measure_values(sample_con, period, replace_teams(period.previous_period()), ("engagement",))


def replace_teams(f: analytics.Filters) -> analytics.Filters:
    from dataclasses import replace

    return replace(f, teams=("somewhere",))


@pytest.mark.parametrize("days, narrow", [(180, {}), (40, {"approaches": ("directed",)}), (0, {"teams": ("nowhere",)})])
def test_recent_trends_of_every_measure_equal_child_trends_of_each(sample_con, period, days, narrow):
    from dataclasses import replace

    f = replace(period, date_from=period.date_to - dt.timedelta(days=days), **narrow)
    measures = tuple(m.id for m in pack_measures(sample_con))
    got = recent_trends_measures(sample_con, f, measures)
    keep = ["child_id", *RECENT_COLUMNS.values()]
    rows = 0
    for m in measures:
        t = analytics.child_trends(sample_con, f, measure=m)
        want = t[t["recent_n"].fillna(0) > 0][keep].reset_index(drop=True)
        pd.testing.assert_frame_equal(got[m], want, check_exact=True)
        rows += len(want)
    assert (rows > 0) == (not narrow.get("teams"))


def _same_block(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (isinstance(a[k], float) and isinstance(b[k], float) and math.isnan(a[k]) and math.isnan(b[k]))
        for k in a)


@pytest.mark.parametrize("days,narrow,by", [(28, "team", "therapist_id"), (90, None, "therapist_id"),
                                            (28, "therapist", "therapist_id"), (60, "team", "modality"),
                                            (35, None, "approach")])
def test_caseload_kpis_of_both_periods_equal_kpis_by_and_kpis(sample_con, period, days, narrow, by):
    """One query for both periods, grouped and not: exactly kpis_by of each period and kpis (frames with
    check_exact, blocks key by key), also when the periods overlap (a session in both counts in each)."""
    f = analytics.Filters(date_from=period.date_to - dt.timedelta(days=days - 1), date_to=period.date_to)
    if narrow:   # the team (therapist) with the most sessions in the period
        col = {"team": "team", "therapist": "therapist_id"}[narrow]
        busiest = analytics.kpis_by(sample_con, f, col).sort_values("sessions").iloc[-1][col]
        extra = {"teams": (busiest,)} if narrow == "team" else {"therapists": (busiest,)}
    else:
        extra = {}
    f = analytics.Filters(date_from=f.date_from, date_to=f.date_to, **extra)
    for prev in (f.previous_period(), analytics.Filters(date_from=f.date_from - dt.timedelta(days=10),
                                                        date_to=f.date_to - dt.timedelta(days=10), **extra)):
        got = analytics.caseload_kpis(sample_con, f, prev, by)
        want_by = analytics.kpis_by(sample_con, f, by)
        assert len(want_by) > 0
        pd.testing.assert_frame_equal(got["by"], want_by, check_exact=True)
        pd.testing.assert_frame_equal(got["by_prev"], analytics.kpis_by(sample_con, prev, by), check_exact=True)
        want = analytics.kpis(sample_con, f, previous=prev)
        assert want["current"]["sessions"] > 0
        assert _same_block(got["kpis"]["current"], want["current"])
        assert _same_block(got["kpis"]["previous"], want["previous"])
    assert "kpis" not in analytics.caseload_kpis(sample_con, f, f.previous_period(), by, total=False)


def test_caseload_kpis_refuse_a_period_without_both_dates(sample_con, period):
    with pytest.raises(ValueError, match="both dates"):
        analytics.caseload_kpis(sample_con, period, analytics.Filters(date_to=period.date_to), "therapist_id")


@pytest.mark.parametrize("days", [None, 120, 300])
def test_goal_best_levels_equal_goal_summary_best_level(sample_con, period, days):
    f = analytics.Filters(date_to=period.date_to - dt.timedelta(days=days)) if days else period
    want = analytics.goal_summary(sample_con, f)[["goal_uid", "best_level"]]
    assert len(want) > 0
    want = want.sort_values("goal_uid").reset_index(drop=True)
    pd.testing.assert_frame_equal(analytics.goal_best_levels(sample_con, f), want, check_exact=True)
