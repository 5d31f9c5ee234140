"""Analytics per measure (issue 13 items 4 and 5) on tiny hand-made exports with the wide
measure columns on_task (percent, higher is better) and protests (count, lower is better):
exact figures, the direction in every effect and flag, each child once per measure, and
discharges (a discharged child is no possible drop-out; planned discharges and drop-outs
counted apart). Real files, real loads, real DuckDB."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analytics
from analytics import Filters, stored
from analytics.freshness import stored_current
from analytics.trends import child_trends_compute
from pipelines import transform, warehouse
from pipelines.load import load
from pipelines.small_practice import HEADER

TODAY = dt.date(2026, 11, 1)
WIDE = HEADER + ["on_task", "protests"]
WEEKS = ["09-04", "09-11", "09-18", "09-25", "10-02", "10-09", "10-16", "10-23"]


class Rows:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, child: str, date: str, approach: str = "child-led", eng: float | None = 3,
            on_task: float | None = None, protests: float | None = None, att: str = "attended",
            modality: str = "OT") -> None:
        sid = f"S{len(self.rows) + 1:05d}"
        blank = lambda v: "" if v is None else repr(v)  # noqa: E731
        self.rows.append(dict(session_id=sid, child_id=child, therapist_id="T1", team="North", session_date=date,
                              modality=modality, approach=approach, date_of_birth="2019-04-03", attendance=att,
                              duration_min="45", setting="clinic", engagement=blank(eng) if att == "attended" else "",
                              on_task=blank(on_task) if att == "attended" else "",
                              protests=blank(protests) if att == "attended" else ""))


def build(tmp: Path, rows: list[dict]) -> Path:
    path = tmp / "export_2026-10-31.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=WIDE, restval="")
        w.writeheader()
        w.writerows(rows)
    db = tmp / "p.duckdb"
    rep = load([path], db=db, today=TODAY, after_build=stored.STEPS)
    assert not rep.failed and rep.files[0].rows_rejected == 0, rep.files[0].message
    return db


# on-task (percent, higher better) and protests (count, lower better) of children P1..P6:
# child-led sessions have more on-task and fewer protests
ON_TASK = {"directed": [40.0, 55.5, 47.25], "child-led": [60.0, 71.5, 47.25]}
PROTESTS = {"directed": [4.0, 6.0, 5.0], "child-led": [2.0, 5.0, 1.0]}


def rows() -> list[dict]:
    r = Rows()
    r.add("C00", "2026-10-30")                               # anchor: as of 2026-10-30
    for i in range(1, 7):
        child = f"P{i}"
        k = 0
        for appr in ("directed", "child-led"):
            for j in range(3):
                r.add(child, (dt.date(2026, 9, 10) + dt.timedelta(days=7 * k)).isoformat(), approach=appr,
                      on_task=ON_TASK[appr][j] + i, protests=PROTESTS[appr][j] + (i % 2))
                k += 1
    # protests rising over the last 8 weeks (lower is better: getting worse), on-task rising (getting better)
    for d, p, o in zip(WEEKS, [0, 1, 1, 2, 3, 3, 4, 6], [10, 20, 25, 30, 40, 45, 60, 70]):
        r.add("W1", f"2026-{d}", protests=float(p), on_task=float(o))
    # on-task falling (higher is better: getting worse), protests falling (getting better)
    for d, p, o in zip(WEEKS, [6, 5, 5, 4, 3, 2, 1, 0], [90, 80, 81, 70, 60, 50, 45, 30]):
        r.add("W2", f"2026-{d}", protests=float(p), on_task=float(o))
    # drop-out pattern (no attended session for 31+ days after being active): D1 not discharged,
    # D2 discharged as planned, D3 dropped out (recorded)
    for child in ("D1", "D2", "D3"):
        r.add(child, "2026-09-01")
        r.add(child, "2026-09-29")
    return r.rows


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("measures"), rows())


@pytest.fixture
def con(db):
    c = warehouse.connect_reader(db)
    yield c
    c.close()


def test_kpis_per_measure_exact(con):
    want_on_task = [ON_TASK[a][j] + i for i in range(1, 7) for a in ON_TASK for j in range(3)]
    want_on_task += [10, 20, 25, 30, 40, 45, 60, 70, 90, 80, 81, 70, 60, 50, 45, 30]
    k = analytics.kpis(con, measure="on_task")["current"]
    assert k["measure"] == "on_task" and k["n_values"] == len(want_on_task) == 52
    assert k["mean_value"] == pytest.approx(np.mean(want_on_task), abs=1e-12)
    assert k["n_children_values"] == 8
    assert np.isnan(k["share_good"])                         # the catalogue gives on_task no "good"
    assert 0 <= k["value_ci_lo"] < k["mean_value"] < k["value_ci_hi"] <= 100
    assert "mean_engagement" not in k                        # engagement's names only for engagement
    e = analytics.kpis(con)["current"]
    assert e["mean_engagement"] == e["mean_value"] == 3.0 and e["share_high_engagement"] == e["share_good"] == 0.0
    p = analytics.kpis(con, measure="protests")["current"]
    assert p["n_values"] == 52 and p["value_ci_lo"] >= 0
    with pytest.raises(ValueError, match="measure 'xyz' is not in the catalogue"):
        analytics.kpis(con, measure="xyz")


def test_grid_and_trends_per_measure(con):
    g = analytics.group_grid(con, measure="protests")
    assert set(g["measure"]) == {"protests"} and "mean_value" in g and "mean_engagement" not in g
    m = analytics.monthly_trends(con, measure="on_task")
    assert m["n_values"].sum() == 52
    assert set(analytics.child_list(con, measure="on_task").query("n_values > 0")["child_id"]) == {
        "P1", "P2", "P3", "P4", "P5", "P6", "W1", "W2"}


def test_effects_per_measure_follow_the_direction_and_count_each_child_once(con):
    on = analytics.approach_pairs(con, measure="on_task").set_index("child_id")
    pr = analytics.approach_pairs(con, measure="protests").set_index("child_id")
    assert list(on.index) == list(pr.index) == [f"P{i}" for i in range(1, 7)] + ["W1", "W2"]
    assert not on.loc[["W1", "W2"], "eligible"].any()                  # child-led sessions only
    on, pr = on[on["eligible"]], pr[pr["eligible"]]
    # on-task: child-led 60, 71.5, 47.25 vs directed 40, 55.5, 47.25 (+i): 7 of 9 pairs higher, 1 tie
    assert np.allclose(on["nap"], (7 + 0.5 * 1) / 9, rtol=0, atol=1e-12)
    # protests: child-led 2, 5, 1 vs directed 4, 6, 5: fewer in 7 of 9 pairs, 1 tie (5 vs 5), 1 more
    # (5 vs 4); lower is better, so NAP = 7.5 / 9 (unoriented it would be 1.5 / 9)
    assert np.allclose(pr["nap"], (7 + 0.5) / 9, rtol=0, atol=1e-12) and np.allclose(pr["tau"], 6 / 9)
    assert (pr["diff"] < 0).all() and (pr["better"] > 0).all()          # fewer protests: better
    eff = analytics.approach_effects(con, measure="protests")
    assert eff.loc[0, "measure"] == "protests" and eff.loc[0, "sign"] == -1
    assert eff.loc[0, "n_children"] == 6                                # each child once
    assert eff.loc[0, "mean_diff"] == pytest.approx(np.mean(pr["diff"]))
    assert eff.loc[0, "mean_nap"] == pytest.approx(7.5 / 9)
    b = analytics.approach_breakdowns(con, measure="on_task", by=(None, "modality"))
    assert b[None].loc[0, "n_children"] == 6 and set(b["modality"]["measure"]) == {"on_task"}


def test_a_rising_count_where_lower_is_better_is_getting_worse(con):
    fl = analytics.flags(con)
    worse = fl[fl["flag"] == "outcome_worsening"].set_index(["child_id", "measure"])
    assert set(worse.index) == {("W1", "protests"), ("W2", "on_task")}
    r = worse.loc[("W1", "protests"), "reason"]
    assert r.startswith("Protests getting worse over the last 8 weeks (rising while lower is better)")
    assert "protests per session per week" in r
    assert "% of intervals per week" in worse.loc[("W2", "on_task"), "reason"]
    assert "falling while higher is better" in worse.loc[("W2", "on_task"), "reason"]
    assert not (fl["flag"] == "engagement_declining").any()            # engagement is flat at 3


def test_stored_per_measure_tables_equal_query_time_results(con):
    assert stored_current(con)
    for m in ("engagement", "on_task", "protests"):
        pd.testing.assert_frame_equal(analytics.child_trends(con, measure=m),
                                      child_trends_compute(warehouse.SameConnection(con), Filters(),
                                                           analytics.as_of(con), m), check_dtype=False)
        fresh = analytics.approach_pairs(con, Filters(date_to=dt.date(2030, 1, 1)), measure=m)
        pd.testing.assert_frame_equal(analytics.approach_pairs(con, measure=m), fresh, check_dtype=False)


def _add_episodes(db: Path, episodes: list[tuple]) -> None:
    """Episodes of care as the children source records them (src_children rows: child, episode,
    referral, discharge date, reason, kind), then the models rebuilt as a load does."""
    with warehouse.writer(db) as w:
        w.executemany("insert into src_children (child_id, episode_id, referral_date, discharge_date, "
                      "discharge_reason, discharge_kind, source, file_id, load_seq, line, export_order) "
                      "values (?, ?, ?, ?, ?, ?, 'children', 999, 999, ?, timestamp '2026-10-31')",
                      [(*e, i + 2) for i, e in enumerate(episodes)])
        transform.build(w, after_build=stored.STEPS)


def test_a_discharged_child_is_no_possible_dropout_and_discharges_are_counted_apart(tmp_path):
    db = build(tmp_path, rows())
    con = warehouse.connect_reader(db)
    try:
        before = analytics.flags(con)
        assert set(before.loc[before["flag"] == "possible_dropout", "child_id"]) == {"D1", "D2", "D3"}
    finally:
        con.close()
    _add_episodes(db, [("D2", "E1", dt.date(2026, 1, 5), dt.date(2026, 10, 2), "goals met", "planned"),
                       ("D3", "E1", dt.date(2026, 1, 5), dt.date(2026, 10, 20), "family withdrew", "dropped_out"),
                       # discharged before the child was seen again: not a discharge of this episode
                       ("D1", "E0", dt.date(2025, 1, 5), dt.date(2025, 6, 1), "goals met", "planned")])
    con = warehouse.connect_reader(db)
    try:
        after = analytics.flags(con)
        assert set(after.loc[after["flag"] == "possible_dropout", "child_id"]) == {"D1"}
        k = analytics.kpis(con, Filters(date_from=dt.date(2026, 9, 1), date_to=dt.date(2026, 10, 30)))["current"]
        assert (k["discharged_planned"], k["discharged_dropped_out"], k["discharged_other"]) == (1, 1, 0)
        k = analytics.kpis(con, Filters(date_from=dt.date(2026, 10, 10), date_to=dt.date(2026, 10, 30)))["current"]
        assert (k["discharged_planned"], k["discharged_dropped_out"]) == (0, 0)   # D2, D3 not seen in these dates
    finally:
        con.close()


# ============================================================================ trial-based goals

LONG = ["session_id", "child_id", "therapist_id", "team", "session_date", "modality", "approach", "attendance",
        "goal_id", "measure", "value", "trials_correct", "trials_total"]
# (goal, correct of 10 per session): G1 meets 80% in sessions 3, 4, 5 (mastered on the 5th, settings'
# 80% x 3); G2 has its own criterion "90% in 2 consecutive sessions": 9, 8, 9, 10 -> the 4th;
# G3 meets 80% only twice in a row: not mastered
TRIALS = {"G1": [5, 7, 8, 9, 8, 6], "G2": [9, 8, 9, 10, 7, 7], "G3": [8, 9, 7, 8, 9, 6]}


def test_trial_goals_percent_correct_per_session_and_mastery(tmp_path):
    out = []
    for k in range(6):
        date = (dt.date(2026, 9, 7) + dt.timedelta(days=7 * k)).isoformat()
        for g, series in TRIALS.items():
            out.append(dict(session_id=f"S{k}", child_id="C1", therapist_id="T1", team="North", session_date=date,
                            modality="speech", approach="directed", attendance="attended", goal_id=g,
                            measure="goal_trials", trials_correct=str(series[k]), trials_total="10"))
    path = tmp_path / "export_2026-10-31.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=LONG, restval="")
        w.writeheader()
        w.writerows(out)
    db = tmp_path / "p.duckdb"
    rep = load([path], db=db, today=TODAY, after_build=stored.STEPS)
    assert rep.files[0].rows_rejected == 0, rep.files[0].message
    with warehouse.writer(db) as w:   # G2's own criterion, as the goals source records it
        w.execute("delete from src_goals where goal_uid = 'C1/G2'")
        w.execute("insert into src_goals (goal_uid, child_id, goal_id, mastery_criterion, measure, source, file_id, "
                  "load_seq, line, export_order) values ('C1/G2', 'C1', 'G2', '90% in 2 consecutive sessions', "
                  "'goal_trials', 'goals', 999, 999, 2, timestamp '2026-10-31')")
        transform.build(w, after_build=stored.STEPS)
    con = warehouse.connect_reader(db)
    try:
        s = analytics.trial_sessions(con)
        assert len(s) == 18
        assert s.loc[s["goal_id"] == "G1", "percent_correct"].tolist() == [50.0, 70.0, 80.0, 90.0, 80.0, 60.0]
        assert s.loc[s["goal_id"] == "G1", "run_length"].tolist() == [0, 0, 1, 2, 3, 0]
        m = analytics.mastery_summary(con).set_index("goal_id")
        assert m.loc["G1", ["mastery_percent", "mastery_sessions", "mastery_from"]].tolist() == [80.0, 3, "settings"]
        assert m.loc["G1", "mastered"] and m.loc["G1", "mastered_on"] == pd.Timestamp("2026-10-05")
        assert m.loc["G1", "sessions_to_mastery"] == 5
        assert m.loc["G2", ["mastery_percent", "mastery_sessions", "mastery_from"]].tolist() == [90.0, 2, "goal"]
        assert m.loc["G2", "mastered_on"] == pd.Timestamp("2026-09-28")          # 9 then 10 of 10
        assert not m.loc["G3", "mastered"] and pd.isna(m.loc["G3", "mastered_on"])
        assert m.loc["G3", ["last_percent", "best_percent", "n_sessions"]].tolist() == [60.0, 90.0, 6]
        # the page filters apply (dates, modality, child...): a window before mastery, another modality
        early = analytics.mastery_summary(con, Filters(date_to=dt.date(2026, 9, 28))).set_index("goal_id")
        assert not early.loc["G1", "mastered"] and early.loc["G2", "mastered"]
        assert analytics.trial_sessions(con, Filters(modalities=("OT",))).empty
        assert analytics.trial_sessions(con, child_id="C2").empty
        assert analytics.trial_sessions(con, Filters(approaches=("child-led",))).empty
    finally:
        con.close()
