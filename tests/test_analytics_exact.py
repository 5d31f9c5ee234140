"""Analytics on tiny hand-made exports: exact numbers, thresholds, filters, stored tables.

Every practice here is written as a canonical CSV, loaded with ``pipelines.load.load`` into
a real DuckDB warehouse in tmp_path, and read with ``warehouse.connect_reader`` (what the
dashboard does). No mocks.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import analytics
import stats
from analytics import Filters, stored
from analytics._db import query
from analytics.approach import single_case_effects
from analytics.children import gas_reviews_compute
from analytics.freshness import stored_current
from analytics.outcomes import reliable_change_compute
from analytics.trends import child_trends_compute
from pipelines import settings, warehouse
from pipelines.load import load
from pipelines.small_practice import HEADER  # the canonical export's columns, in file order

TODAY = dt.date(2026, 11, 1)
AS_OF = dt.date(2026, 10, 30)


class Rows:
    """Builds canonical export rows; session ids are numbered in order of creation."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self._n = 0

    def session(self, child: str, date: str, att: str = "attended", eng: int | None = 3,
                approach: str = "child-led", modality: str = "OT", therapist: str = "T1", team: str = "North",
                dob: str = "2019-04-03", goals: list[tuple[str, int, float]] | None = None,
                measure: tuple[str, float] | None = None) -> str:
        self._n += 1
        sid = f"S{self._n:05d}"
        base = dict(session_id=sid, child_id=child, therapist_id=therapist, team=team, session_date=date,
                    modality=modality, approach=approach, date_of_birth=dob, attendance=att, duration_min="45",
                    setting="clinic", engagement=str(eng) if (att == "attended" and eng is not None) else "",
                    goal_id="", goal_domain="", gas_level="", goal_weight="", measure="", measure_score="")
        if measure:
            base.update(measure=measure[0], measure_score=str(measure[1]))
        if not goals:
            self.rows.append(base)
        for i, (gid, level, weight) in enumerate(goals or []):
            r = dict(base, goal_id=gid, goal_domain="motor", gas_level=str(level), goal_weight=str(weight))
            if i > 0:
                r.update(measure="", measure_score="")
            self.rows.append(r)
        return sid


def build(tmp: Path, rows: list[dict], name: str = "p") -> Path:
    """Write, load, and make sure the analytics tables exist; the warehouse path comes back."""
    path = tmp / f"{name}.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=HEADER)
        w.writeheader()
        w.writerows(rows)
    db = tmp / f"{name}.duckdb"
    report = load([path], db=db, today=TODAY, after_build=stored.STEPS)
    assert not report.failed, report.failed
    assert report.files[0].rows_rejected == 0, report.files[0].message
    return db


@pytest.fixture
def reader():
    opened = []

    def open_(db: Path):
        con = warehouse.connect_reader(db)
        opened.append(con)
        return con

    yield open_
    for c in opened:
        c.close()


# ============================================================================ KPIs, trends, GAS

def kpi_rows() -> list[dict]:
    r = Rows()
    # C1: OT, North, T1, 6 years old; goals G1 (weight 1) and G2 (weight 2)
    r.session("C1", "2026-01-05", eng=4, approach="child-led", goals=[("G1", -1, 1), ("G2", 0, 2)])
    r.session("C1", "2026-01-12", eng=2, approach="directed")
    r.session("C1", "2026-01-19", att="no-show")
    r.session("C1", "2026-01-26", att="cancelled")
    r.session("C1", "2026-02-02", eng=5, approach="child-led", goals=[("G1", 1, 1)])
    # C2: CBT, South, T2, 13 years old
    kw = dict(modality="CBT", therapist="T2", team="South", dob="2012-09-30")
    r.session("C2", "2026-01-07", eng=3, approach="mixed", goals=[("G1", -2, 1)], **kw)
    r.session("C2", "2026-01-14", att="late-cancelled", **kw)
    r.session("C2", "2026-02-04", eng=4, approach="directed", goals=[("G1", -1, 1)], **kw)
    return r.rows


@pytest.fixture(scope="module")
def kpi_db(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("kpi"), kpi_rows())


def test_kpis_exact(kpi_db, reader):
    con = reader(kpi_db)
    k = analytics.kpis(con)
    cur = k["current"]
    assert (cur["date_from"], cur["date_to"]) == (dt.date(2026, 1, 5), dt.date(2026, 2, 4))
    assert cur["sessions"] == 8 and cur["attended"] == 5 and cur["cancelled"] == 2 and cur["no_show"] == 1
    assert cur["attendance_rate"] == pytest.approx(5 / 8)
    assert cur["no_show_rate"] == pytest.approx(1 / 8) and cur["cancellation_rate"] == pytest.approx(2 / 8)
    assert cur["active_children"] == 2 and cur["n_children"] == 2
    assert cur["n_rated"] == 5 and cur["mean_engagement"] == pytest.approx(18 / 5)
    assert cur["share_high_engagement"] == pytest.approx(3 / 5)          # 4, 5, 4 of 4, 2, 5, 3, 4
    assert cur["n_goals"] == 3 and cur["share_goals_at_expected"] == pytest.approx(2 / 3)
    t1 = stats.gas_t_score([1, 0], [1, 2])       # C1: latest G1 = +1 (w 1), G2 = 0 (w 2)
    t2 = stats.gas_t_score([-1], [1])            # C2: latest G1 = -1
    assert cur["n_children_gas"] == 2 and cur["median_gas_t"] == pytest.approx((t1 + t2) / 2)
    # child-clustered (CR1) CI of the mean engagement, by hand
    y = {"C1": [4, 2, 5], "C2": [3, 4]}
    mean = 18 / 5
    ss = sum((sum(v) - len(v) * mean) ** 2 for v in y.values())
    se = math.sqrt(2 / 1 * ss) / 5
    q = sps.t.ppf(0.975, 1)
    assert cur["engagement_ci_lo"] == pytest.approx(max(1.0, mean - q * se))
    assert cur["engagement_ci_hi"] == pytest.approx(min(5.0, mean + q * se))
    # the previous period has the same length (31 days) and is empty
    prev = k["previous"]
    assert (prev["date_from"], prev["date_to"]) == (dt.date(2025, 12, 5), dt.date(2026, 1, 4))
    assert prev["sessions"] == 0 and prev["active_children"] == 0 and math.isnan(prev["attendance_rate"])


def test_kpis_follow_filters(kpi_db, reader):
    con = reader(kpi_db)
    jan = analytics.kpis(con, Filters(date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 1, 31)))["current"]
    assert jan["sessions"] == 6 and jan["attended"] == 3 and jan["attendance_rate"] == pytest.approx(0.5)
    assert jan["mean_engagement"] == pytest.approx(3.0)
    assert jan["n_goals"] == 3 and jan["share_goals_at_expected"] == pytest.approx(1 / 3)   # G2 = 0 only
    ot = analytics.kpis(con, Filters(modalities=("OT",)))["current"]
    assert ot["sessions"] == 5 and ot["attended"] == 3 and ot["n_children"] == 1
    assert ot["median_gas_t"] == pytest.approx(stats.gas_t_score([1, 0], [1, 2]))
    older = analytics.kpis(con, Filters(age_groups=("13-18",)))["current"]
    assert older["sessions"] == 3 and older["mean_engagement"] == pytest.approx(3.5)
    led = analytics.kpis(con, Filters(approaches=("child-led",)))["current"]
    assert led["sessions"] == 5 and led["n_rated"] == 2 and led["mean_engagement"] == pytest.approx(4.5)
    both = analytics.kpis(con, Filters(teams=("North", "South"), therapists=("T2",)))["current"]
    assert both["sessions"] == 3


def test_monthly_trends_and_grid(kpi_db, reader):
    con = reader(kpi_db)
    m = analytics.monthly_trends(con)
    assert list(m["month_start"].dt.date) == [dt.date(2026, 1, 1), dt.date(2026, 2, 1)]
    jan, feb = m.iloc[0], m.iloc[1]
    assert (jan["sessions"], jan["attended"], jan["cancelled"], jan["no_show"]) == (6, 3, 2, 1)
    assert (feb["sessions"], feb["attended"]) == (2, 2) and feb["attendance_rate"] == 1.0
    assert feb["mean_engagement"] == pytest.approx(4.5) and feb["share_high_engagement"] == 1.0
    # status as of February's end: C1/G1 +1 (re-rated), C1/G2 0 (from January), C2/G1 -1 = the headline
    assert feb["n_goals"] == 3 and feb["share_goals_at_expected"] == pytest.approx(2 / 3)
    assert jan["n_goals"] == 3 and jan["share_goals_at_expected"] == pytest.approx(1 / 3)
    by = analytics.monthly_trends(con, by="modality")
    assert set(by["modality"]) == {"OT", "CBT"} and (by["group"] == by["modality"]).all()
    assert by.loc[(by["modality"] == "OT") & (by["month_start"] == "2026-01-01"), "sessions"].item() == 4
    g = analytics.group_grid(con)
    assert set(zip(g["modality"], g["age_group"])) == {("OT", "6-12"), ("CBT", "13-18")}
    assert g["below_min_n"].all()           # 1 child per cell < min_children 5
    assert g.loc[g["modality"] == "OT", "n_sessions"].item() == 5
    with pytest.raises(ValueError):
        analytics.monthly_trends(con, by="modality; drop table sessions")


def test_gas_reviews_match_stats_gas(kpi_db, reader):
    con = reader(kpi_db)
    t = analytics.child_gas_t(con, "C1")
    assert list(t["review_month"].dt.date) == [dt.date(2026, 1, 1), dt.date(2026, 2, 1)]
    jan = stats.gas_t_score([-1, 0], [1, 2])
    feb = stats.gas_t_score([1, 0], [1, 2])        # G1 re-rated +1, G2 still 0 (latest up to month end)
    assert t["t_score"].tolist() == pytest.approx([jan, feb])
    assert t["n_goals"].tolist() == [2, 2]
    assert t["change_from_first"].tolist() == pytest.approx([0.0, feb - jan])
    t2 = analytics.child_gas_t(con, "C2")
    assert t2["t_score"].tolist() == pytest.approx([stats.gas_t_score([-2]), stats.gas_t_score([-1])])
    assert analytics.child_gas_t(con, "nobody").empty


def test_goal_summary_met_and_weeks(kpi_db, reader):
    con = reader(kpi_db)
    g = analytics.goal_summary(con).set_index("goal_uid")
    assert g.loc["C1/G1", ["first_level", "last_level"]].tolist() == [-1, 1]
    assert bool(g.loc["C1/G1", "met"]) and g.loc["C1/G1", "weeks_to_met"] == pytest.approx(4.0)
    assert bool(g.loc["C1/G2", "met"]) and g.loc["C1/G2", "weeks_to_met"] == 0.0
    assert not bool(g.loc["C2/G1", "met"]) and pd.isna(g.loc["C2/G1", "weeks_to_met"])
    assert g.loc["C2/G1", "weeks_rated"] == pytest.approx(4.0)
    assert bool(g.loc["C1/G1", "improved"]) and bool(g.loc["C2/G1", "improved"])


def test_child_views(kpi_db, reader):
    con = reader(kpi_db)
    tl = analytics.child_timeline(con, "C1")
    assert len(tl) == 5 and tl["attended"].sum() == 3 and tl["engagement"].dropna().tolist() == [4, 2, 5]
    gr = analytics.child_goal_ratings(con, "C1")
    assert len(gr) == 3 and sorted(gr["goal_id"].unique()) == ["G1", "G2"]
    cl = analytics.child_list(con).set_index("child_id")
    assert cl.loc["C1", "sessions"] == 5 and cl.loc["C1", "attendance_rate"] == pytest.approx(0.6)
    assert cl.loc["C2", "modality"] == "CBT" and cl.loc["C2", "age_group"] == "13-18"
    per = analytics.child_periods(con, period="month", child_id="C1")
    assert per["sessions_scheduled"].tolist() == [4, 1] and per["sessions_attended"].tolist() == [2, 1]
    assert per["share_high_engagement"].tolist() == pytest.approx([0.5, 1.0])
    weeks = analytics.child_periods(con, period="week", child_id="C1")
    assert len(weeks) == 5 and weeks["sessions_scheduled"].sum() == 5
    opts = analytics.filter_options(con)
    assert opts["modalities"] == ["CBT", "OT"] and opts["age_groups"] == ["6-12", "13-18"]
    assert opts["min_date"] == dt.date(2026, 1, 5) and opts["max_date"] == dt.date(2026, 2, 4)
    assert analytics.as_of(con) == dt.date(2026, 2, 4)


def test_filters_with_sql_text_are_plain_values(kpi_db, reader):
    hostile = ("x' or '1'='1", "'); drop table sessions; --", 'OT" or 1=1 --')
    f = Filters(modalities=hostile, teams=hostile, therapists=hostile, age_groups=hostile, approaches=hostile)
    # on the writer's own connection too: nothing is executed, nothing matches
    with warehouse.writer(kpi_db) as con:
        assert analytics.kpis(con, f)["current"]["sessions"] == 0
        assert analytics.child_list(con, f).empty
        assert analytics.flags(con, f).empty
        assert analytics.monthly_trends(con, f).empty
        assert analytics.approach_effects(con, f)["n_children"].sum() == 0
        assert analytics.child_timeline(con, "C1' or '1'='1").empty
        assert con.execute("select count(*) from sessions").fetchone()[0] == 8
    con = reader(kpi_db)
    assert analytics.kpis(con, Filters(teams=("North",)))["current"]["sessions"] == 5


def test_filters_dataclass():
    f = Filters(date_from="2026-03-01", date_to=dt.date(2026, 3, 31), modalities=["OT"], teams="North")
    assert f.date_from == dt.date(2026, 3, 1) and f.modalities == ("OT",) and f.teams == ("North",)
    p = f.previous_period()
    assert (p.date_from, p.date_to) == (dt.date(2026, 1, 29), dt.date(2026, 2, 28)) and p.modalities == ("OT",)
    assert f.params()["modalities"] == ["OT"] and f.params()["therapists"] is None
    assert hash(f) == hash(Filters(date_from=dt.date(2026, 3, 1), date_to="2026-03-31", modalities=("OT",),
                                   teams=("North",)))
    with pytest.raises(ValueError):
        Filters(date_from=dt.date(2026, 1, 1)).previous_period()


# ============================================================================ flags: each side of each threshold

def flag_rows() -> list[dict]:
    r = Rows()
    r.session("C00", "2026-10-30")                       # anchor: as_of = 2026-10-30
    # attendance in the last 8 weeks (sessions after 2026-09-04)
    for d, a in [("09-10", "attended"), ("09-17", "no-show"), ("09-24", "cancelled"), ("10-01", "attended")]:
        r.session("CA1", f"2026-{d}", att=a)             # 2 of 4 = 50%: flagged
    for d, a in [("09-10", "attended"), ("09-17", "attended"), ("09-24", "no-show"), ("10-01", "attended")]:
        r.session("CA2", f"2026-{d}", att=a)             # 3 of 4 = 75%: not under 75%
    for d, a in [("09-10", "attended"), ("09-17", "no-show"), ("09-24", "no-show")]:
        r.session("CA3", f"2026-{d}", att=a)             # 1 of 3: fewer than 4 scheduled
    for d, a in [("09-04", "no-show"), ("09-05", "no-show"), ("09-12", "attended"), ("09-19", "attended"),
                 ("09-26", "attended")]:
        r.session("CA4", f"2026-{d}", att=a)             # 09-04 is outside: 3 of 4 = 75%
    # drop-out: no attended session for more than 30 days, active in the 90 days before
    r.session("CD1", "2026-09-01"); r.session("CD1", "2026-09-29")    # 31 days: flagged
    r.session("CD2", "2026-09-01"); r.session("CD2", "2026-09-30")    # 30 days: not flagged
    r.session("CD3", "2026-06-01"); r.session("CD3", "2026-07-15", att="no-show")  # not active before
    r.session("CD4", "2026-07-03")                                    # 119 days: active window holds it
    r.session("CD5", "2026-07-02")                                    # 120 days: outside it
    # rating gap: no goal rating for more than 60 days while attending (within 30 days)
    r.session("CG1", "2026-08-30", goals=[("G1", -1, 1)]); r.session("CG1", "2026-10-20")   # 61 days
    r.session("CG2", "2026-08-31", goals=[("G1", -1, 1)]); r.session("CG2", "2026-10-20")   # 60 days
    r.session("CG3", "2026-08-01", goals=[("G1", -1, 1)]); r.session("CG3", "2026-09-29")   # not attending
    r.session("CG4", "2026-08-20"); r.session("CG4", "2026-10-20")                          # never rated, 71 days
    # engagement trend over the last 8 weeks (Mann-Kendall p < 0.05, tau < 0, >= 5 sessions)
    weekly = ["09-11", "09-18", "09-25", "10-02", "10-09", "10-16", "10-23"]
    for d, e in zip(weekly, [5, 4, 4, 4, 3, 4, 3]):       # p = 0.0415
        r.session("CE1", f"2026-{d}", eng=e)
    for d, e in zip(weekly, [4, 4, 3, 4, 3, 3, 3]):       # p = 0.0771
        r.session("CE2", f"2026-{d}", eng=e)
    for d, e in zip(weekly, [1, 2, 3, 4, 5]):             # rising
        r.session("CE3", f"2026-{d}", eng=e)
    for d, e in zip(weekly[2:], [5, 4, 3, 2, 1]):         # n = 5, p = 0.0167
        r.session("CE4", f"2026-{d}", eng=e)
    r.session("CE5", "2026-08-28", eng=5)                 # outside the window: leaves 4 in it
    for d, e in zip(weekly[3:], [4, 3, 2, 1]):
        r.session("CE5", f"2026-{d}", eng=e)
    # GAS stalled: rated over >= 12 weeks (84 days), below 0, not above 12 weeks earlier / first
    def goal_child(child, ratings):
        for d, lvl in ratings:
            r.session(child, f"2026-{d}", goals=[("G1", lvl, 1)])
        r.session(child, "2026-10-20")
    goal_child("CS1", [("07-01", -1), ("09-23", -1)])                   # 84 days: flagged
    goal_child("CS2", [("07-01", -1), ("09-22", -1)])                   # 83 days
    goal_child("CS3", [("07-01", -2), ("08-01", -1), ("09-30", -1)])    # improved within the 12 weeks
    goal_child("CS4", [("07-01", 0), ("09-30", 0)])                     # at the expected level
    goal_child("CS5", [("05-01", -2), ("06-01", -1), ("09-30", -1)])    # stuck for the last 12+ weeks
    # reliable change on measures (SCAS-P: lower is better, 1.96 S_diff = 15.63; COPM-P: higher is better,
    # 1.96 S_diff = 1.552)
    def measured(child, measure, first, last):
        r.session(child, "2026-05-01", measure=(measure, first))
        r.session(child, "2026-10-01", measure=(measure, last))
        r.session(child, "2026-10-20")
    measured("CR1", "SCAS-P", 30, 46)       # +16: RCI 2.01, deteriorated
    measured("CR2", "SCAS-P", 30, 45)       # +15: RCI 1.88
    measured("CR3", "COPM-P", 6.0, 4.4)     # -1.6: RCI -2.02, deteriorated
    measured("CR4", "COPM-P", 6.0, 4.5)     # -1.5: RCI -1.89
    measured("CR5", "SCAS-P", 46, 30)       # improved
    return r.rows


@pytest.fixture(scope="module")
def flag_db(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("flags"), flag_rows())


FLAG_CASES = [
    ("CA1", "low_attendance", True), ("CA2", "low_attendance", False), ("CA3", "low_attendance", False),
    ("CA4", "low_attendance", False),
    ("CD1", "possible_dropout", True), ("CD2", "possible_dropout", False), ("CD3", "possible_dropout", False),
    ("CD4", "possible_dropout", True), ("CD5", "possible_dropout", False),
    ("CG1", "rating_gap", True), ("CG2", "rating_gap", False), ("CG3", "rating_gap", False),
    ("CG4", "rating_gap", True),
    ("CE1", "engagement_declining", True), ("CE2", "engagement_declining", False),
    ("CE3", "engagement_declining", False), ("CE4", "engagement_declining", True),
    ("CE5", "engagement_declining", False),
    ("CS1", "gas_stalled", True), ("CS2", "gas_stalled", False), ("CS3", "gas_stalled", False),
    ("CS4", "gas_stalled", False), ("CS5", "gas_stalled", True),
    ("CR1", "reliable_deterioration", True), ("CR2", "reliable_deterioration", False),
    ("CR3", "reliable_deterioration", True), ("CR4", "reliable_deterioration", False),
    ("CR5", "reliable_deterioration", False),
]


@pytest.mark.parametrize("child,code,expected", FLAG_CASES, ids=[f"{c}-{k}-{e}" for c, k, e in FLAG_CASES])
def test_flag_thresholds(flag_db, reader, child, code, expected):
    con = reader(flag_db)
    fl = analytics.flags(con)
    assert (fl["as_of"].dt.date == AS_OF).all()
    hit = fl[(fl["child_id"] == child) & (fl["flag"] == code)]
    assert len(hit) == int(expected), fl[fl["child_id"] == child][["flag", "reason"]].to_string()


def test_flag_reasons_carry_the_numbers(flag_db, reader):
    con = reader(flag_db)
    fl = analytics.flags(con).set_index(["child_id", "flag"])
    r = fl.loc[("CA1", "low_attendance")]
    assert r["value"] == 0.5 and r["threshold"] == 0.75 and r["n"] == 4
    assert r["reason"].startswith("Attended 2 of 4 scheduled sessions (50%) in the last 8 weeks, below 75%")
    assert "1 no-show" in r["reason"] and "1 cancellation" in r["reason"]
    r = fl.loc[("CD1", "possible_dropout")]
    assert r["value"] == 31 and r["threshold"] == 30 and "last on 2026-09-29" in r["reason"]
    assert r["severity"] == 3 and r["severity_label"] == "high"
    r = fl.loc[("CG4", "rating_gap")]
    assert r["value"] == 71 and "No goal rated" in r["reason"]
    r = fl.loc[("CG1", "rating_gap")]
    assert r["value"] == 61 and "last on 2026-08-30" in r["reason"] and r["severity_label"] == "low"
    r = fl.loc[("CE1", "engagement_declining")]
    assert r["p_value"] == pytest.approx(sps.kendalltau(range(7), [5, 4, 4, 4, 3, 4, 3]).pvalue)
    assert r["n"] == 7 and "p = 0.042" in r["reason"] and "7 rated sessions" in r["reason"]
    r = fl.loc[("CS5", "gas_stalled")]
    assert "G1: level -1 on 2026-09-30, was -1 on 2026-06-01" in r["reason"]
    r = fl.loc[("CR1", "reliable_deterioration")]
    assert r["value"] == pytest.approx(16 / (math.sqrt(2) * 17.0 * math.sqrt(1 - 0.89)))
    assert "SCAS-P: 30 on 2026-05-01 to 46 on 2026-10-01" in r["reason"]
    # most urgent first
    order = analytics.flags(con)
    assert order["severity"].is_monotonic_decreasing
    assert order.groupby("severity")["priority"].apply(lambda s: s.is_monotonic_increasing).all()


def test_flags_as_of_earlier_date(flag_db, reader):
    con = reader(flag_db)
    # as of 2026-09-30 CD1 last attended the day before: no drop-out; CE1 has only 3 sessions by then
    early = analytics.flags(con, Filters(date_to=dt.date(2026, 9, 30)))
    assert (early["as_of"].dt.date == dt.date(2026, 9, 30)).all()
    assert early[(early["child_id"] == "CD1") & (early["flag"] == "possible_dropout")].empty
    assert early[(early["child_id"] == "CE1") & (early["flag"] == "engagement_declining")].empty
    # a date_to beyond the data is the latest session
    late = analytics.flags(con, Filters(date_to=dt.date(2027, 1, 1)))
    assert (late["as_of"].dt.date == AS_OF).all()
    # attribute filters pick children by their latest attributes
    assert analytics.flags(con, Filters(modalities=("CBT",))).empty
    assert len(analytics.flags(con, Filters(teams=("North",)))) == len(analytics.flags(con))


def test_flag_thresholds_come_from_settings(flag_db, reader, tmp_path, monkeypatch):
    text = settings.DEFAULT.read_text(encoding="utf-8")
    text = text.replace("engagement_min_sessions = 5", "engagement_min_sessions = 6")
    text = text.replace("attendance_min_rate = 0.75", "attendance_min_rate = 0.80")
    alt = tmp_path / "settings.toml"
    alt.write_text(text, encoding="utf-8")
    monkeypatch.setenv("PIPELINES_SETTINGS", str(alt))
    con = reader(flag_db)
    fl = analytics.flags(con)       # stored flags were built with other settings: recomputed
    codes = set(zip(fl["child_id"], fl["flag"]))
    assert ("CE4", "engagement_declining") not in codes and ("CE1", "engagement_declining") in codes
    assert ("CA2", "low_attendance") in codes and ("CA4", "low_attendance") in codes


def test_child_list_counts_flags(flag_db, reader):
    con = reader(flag_db)
    cl = analytics.child_list(con).set_index("child_id")
    fl = analytics.flags(con)
    assert cl["n_flags"].sum() == len(fl)
    assert cl.loc["CA1", "n_flags"] >= 1 and "low_attendance" in cl.loc["CA1", "flags"]
    assert cl.loc["C00", "n_flags"] == 0 and cl.loc["C00", "flags"] == ""


def test_reliable_change_exact(flag_db, reader):
    con = reader(flag_db)
    rc = analytics.reliable_change(con).set_index("child_id")
    s_diff = math.sqrt(2) * 17.0 * math.sqrt(1 - 0.89)
    assert rc.loc["CR1", "rci"] == pytest.approx(16 / s_diff)
    assert rc.loc["CR1", "classification"] == stats.DETERIORATED
    assert rc.loc["CR2", "classification"] == stats.NO_CHANGE
    assert rc.loc["CR5", "classification"] == stats.IMPROVED
    assert rc.loc["CR3", "rci"] == pytest.approx(-1.6 / (math.sqrt(2) * 1.4 * math.sqrt(1 - 0.84)))
    assert rc.loc["CR3", "classification"] == stats.DETERIORATED
    assert rc.loc["CR1", "reliable_change_threshold"] == pytest.approx(1.96 * s_diff)
    # a date filter that leaves one administration: no change can be computed
    one = analytics.reliable_change(con, Filters(date_to=dt.date(2026, 6, 30))).set_index("child_id")
    assert one.loc["CR1", "classification"] == "one administration" and pd.isna(one.loc["CR1", "rci"])


# ============================================================================ child-led vs directed

ENGAGEMENT = {  # child: (child-led ratings, directed ratings, modality)
    "P1": ([4, 4, 5], [3, 3, 3], "OT"),
    "P2": ([5, 5, 5], [3, 4, 3], "OT"),
    "P3": ([3, 3, 3], [3, 3, 3], "OT"),
    "P4": ([4, 3, 4], [2, 3, 3], "OT"),
    "P5": ([2, 2, 3], [3, 3, 3], "speech"),
    "P6": ([5, 4, 4], [2, 2, 2], "speech"),
    "P7": ([4, 4, 4], [3, 3], "speech"),           # only 2 directed: not in the paired comparison
}
GAS = {  # child: (levels in child-led sessions, levels in directed sessions)
    "P1": ([0, 0, 1], [-1, -1, 0]), "P2": ([-1, 0, 0], [-1, -1, -1]), "P3": ([0, 0, 0], [0, 0, 0]),
    "P4": ([1, 1, 2], [0, 1, 1]), "P5": ([-2, -1, -1], [-1, -1, 0]), "P6": ([0, 1, 1], [-1, 0, 0]),
    "P7": ([0, 0, 0], [0, 0]),
}


def approach_rows() -> list[dict]:
    r = Rows()
    for child, (led, directed, modality) in ENGAGEMENT.items():
        gl, gd = GAS[child]
        day = dt.date(2026, 3, 2)
        seq = []
        for i in range(max(len(led), len(directed))):
            if i < len(led):
                seq.append(("child-led", led[i], gl[i]))
            if i < len(directed):
                seq.append(("directed", directed[i], gd[i]))
        for approach, eng, lvl in seq:
            r.session(child, day.isoformat(), eng=eng, approach=approach, modality=modality,
                      goals=[("G1", lvl, 1)])
            day += dt.timedelta(days=7)
    return r.rows


@pytest.fixture(scope="module")
def approach_db(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("approach"), approach_rows())


def test_approach_pairs_per_child(approach_db, reader):
    con = reader(approach_db)
    p = analytics.approach_pairs(con).set_index("child_id")
    for child, (led, directed, modality) in ENGAGEMENT.items():
        row = p.loc[child]
        assert (row["n_child_led"], row["n_directed"]) == (len(led), len(directed))
        assert row["diff"] == pytest.approx(np.mean(led) - np.mean(directed))
        assert row["nap"] == pytest.approx(stats.nap(directed, led).estimate)
        assert row["nap_lo"] == pytest.approx(stats.nap(directed, led).ci_lo)
        assert row["pnd"] == pytest.approx(stats.pnd(directed, led).estimate)
        assert bool(row["eligible"]) == (child != "P7") and row["modality"] == modality
    c = analytics.child_comparison(con, "P4")
    assert c["mean_difference"] == pytest.approx(11 / 3 - 8 / 3) and c["eligible"] and c["reason"] is None
    # P4's sessions alternate child-led, directed: directed are sessions 2, 4, 6
    assert c["tau_u"] == pytest.approx(stats.tau_u([2, 3, 3], [4, 3, 4], t_a=[2, 4, 6]).estimate)
    bc = stats.tau_bc([2, 3, 3], [4, 3, 4], t_a=[2, 4, 6], t_b=[1, 3, 5])
    assert c["tau_bc"] == pytest.approx(bc.estimate) and c["tau_bc_corrected"] == bc.corrected
    c7 = analytics.child_comparison(con, "P7")
    assert not c7["eligible"] and "fewer than 3" in c7["reason"]
    assert analytics.child_comparison(con, "nobody")["n_child_led"] == 0


def test_approach_effects_across_children(approach_db, reader):
    con = reader(approach_db)
    diffs = [np.mean(led) - np.mean(d) for c, (led, d, _) in ENGAGEMENT.items() if c != "P7"]
    naps = [stats.nap(d, led).estimate for c, (led, d, _) in ENGAGEMENT.items() if c != "P7"]
    e = analytics.approach_effects(con).iloc[0]
    assert e["group"] == "all" and e["n_children"] == 6 and e["n_children_considered"] == 7
    assert e["n_sessions"] == 36 and bool(e["estimated"]) and e["reason"] is None
    ref = stats.paired_summary(diffs, resamples=2000, seed=20261122, min_n=5)
    assert e["mean_diff"] == pytest.approx(np.mean(diffs)) and e["mean_diff"] == pytest.approx(ref.mean_diff)
    assert (e["ci_lo"], e["ci_hi"]) == pytest.approx((ref.ci_lo, ref.ci_hi))
    assert e["wilcoxon_p"] == pytest.approx(sps.wilcoxon(diffs).pvalue)
    assert e["d_z"] == pytest.approx(np.mean(diffs) / np.std(diffs, ddof=1))
    assert e["mean_nap"] == pytest.approx(np.mean(naps))
    # by modality: 4 OT children and 2 speech children, both under min_children = 5
    by = analytics.approach_effects(con, by="modality").set_index("modality")
    assert by.loc["OT", "n_children"] == 4 and by.loc["speech", "n_children"] == 2
    assert by.loc["speech", "n_children_considered"] == 3 and by.loc["OT", "n_sessions"] == 24
    assert not by["estimated"].any() and by["mean_diff"].isna().all() and by["ci_lo"].isna().all()
    assert (by["reason"] == "fewer than 5 children with at least 3 rated sessions of each approach").all()
    # filters: a date window that leaves fewer than 3 sessions of each approach per child
    few = analytics.approach_effects(con, Filters(date_to=dt.date(2026, 3, 20))).iloc[0]
    assert few["n_children"] == 0 and not few["estimated"] and np.isnan(few["mean_diff"])
    with pytest.raises(ValueError):
        analytics.approach_effects(con, by="approach")


def test_approach_gas_within_child(approach_db, reader):
    con = reader(approach_db)
    pairs = analytics.approach_gas_pairs(con).set_index("child_id")
    for child, (gl, gd) in GAS.items():
        assert pairs.loc[child, "diff"] == pytest.approx(np.mean(gl) - np.mean(gd))
    g = analytics.approach_gas(con).iloc[0]
    diffs = [np.mean(gl) - np.mean(gd) for c, (gl, gd) in GAS.items() if c != "P7"]
    assert g["n_children"] == 6 and g["mean_diff"] == pytest.approx(np.mean(diffs)) and bool(g["estimated"])


def test_stored_tables_equal_query_time_results(approach_db, flag_db, kpi_db, reader):
    for db in (approach_db, flag_db, kpi_db):
        con = reader(db)
        assert stored_current(con)
        c = warehouse.SameConnection(con)
        when = analytics.as_of(con)
        pd.testing.assert_frame_equal(analytics.flags(con), analytics.compute_flags(c, when), check_dtype=False)
        cmp_ = settings.get().comparison
        fresh = single_case_effects(query(c, "approach_sessions", {**Filters().params(), "measure": "engagement"}),
                                    cmp_.min_sessions_per_approach, cmp_.confidence)
        pd.testing.assert_frame_equal(analytics.approach_pairs(con), fresh, check_dtype=False)
        pd.testing.assert_frame_equal(analytics.gas_reviews(con), gas_reviews_compute(c),
                                      check_dtype=False)
        pd.testing.assert_frame_equal(analytics.reliable_change(con),
                                      reliable_change_compute(c, Filters()), check_dtype=False)
        pd.testing.assert_frame_equal(analytics.child_trends(con),
                                      child_trends_compute(c, Filters(), when), check_dtype=False)
        stored_goals = analytics.goal_summary(con)
        fresh_goals = query(c, "goal_summary", {"expected_level": 0, "stall_days": 84})
        pd.testing.assert_frame_equal(stored_goals, fresh_goals, check_dtype=False)


def test_empty_warehouse(tmp_path, reader):
    db = build(tmp_path, Rows().rows, name="empty")
    con = reader(db)
    assert analytics.as_of(con) is None
    assert analytics.flags(con).empty and analytics.child_list(con).empty
    assert analytics.kpis(con)["current"]["sessions"] == 0
    e = analytics.approach_effects(con)
    assert e["n_children"].tolist() == [0] and not e["estimated"].any()
    assert analytics.monthly_trends(con).empty and analytics.goal_summary(con).empty
    assert analytics.filter_options(con)["modalities"] == []


def test_shared_reader_across_threads_and_cursors(kpi_db, reader):
    from concurrent.futures import ThreadPoolExecutor

    con = reader(kpi_db)
    calls = [lambda c: analytics.kpis(c)["current"]["sessions"],
             lambda c: len(analytics.flags(c)),
             lambda c: float(analytics.monthly_trends(c)["mean_engagement"].sum()),
             lambda c: len(analytics.child_list(c)),
             lambda c: float(analytics.child_gas_t(c, "C1")["t_score"].sum())]
    serial = [fn(con) for fn in calls]
    with ThreadPoolExecutor(max_workers=5) as pool:
        parallel = list(pool.map(lambda fn: fn(con), calls * 4))
    assert parallel == serial * 4
    # the dashboard passes a cursor of the reader (set to the warehouse catalog)
    cur = con.cursor()
    cur.execute("use wh")
    assert [fn(cur) for fn in calls] == serial
    cur.close()


def test_mean_gas_t_with_its_interval_over_children():
    # three children, one goal each at levels -1, 0, +2 (weight 1): T = 50 + 10 * level / sqrt(1) ... by gas_t_score
    import pandas as pd
    from scipy import stats as sps

    from analytics.practice import mean_gas_t
    goals = pd.DataFrame({"child_id": ["A", "B", "C"], "goal_uid": ["A/1", "B/1", "C/1"], "last_level": [-1, 0, 2],
                          "goal_weight": [1.0, 1.0, 1.0]})
    t = [stats.gas_t_score([lv], [1.0]) for lv in (-1, 0, 2)]
    got = mean_gas_t(goals)
    m, s = sum(t) / 3, pd.Series(t).std(ddof=1)
    half = sps.t.ppf(0.975, 2) * s / 3 ** 0.5
    assert got["n_children_gas"] == 3 and got["mean_gas_t"] == pytest.approx(m)
    assert (got["gas_t_ci_lo"], got["gas_t_ci_hi"]) == pytest.approx((m - half, m + half))
    assert got["median_gas_t"] == pytest.approx(t[1])
    one = mean_gas_t(goals.head(1))
    assert one["n_children_gas"] == 1 and pd.isna(one["gas_t_ci_lo"])
