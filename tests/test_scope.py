"""Scoping in the data layer (``pipelines.scope``): on a scoped connection every analytics
function, the meeting pack and the exports see only the children in the viewer's scope,
whatever filter values (another team, another child's id) they are asked for; practice
figures for non-leads are aggregates with small cells suppressed.

Real DuckDB on a warehouse built from the sample data.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import test_dashboard_support as support
from pipelines import analytics, meeting_pack, scope as scope_mod, warehouse
from pipelines.analytics import Filters
from pipelines.scope import Scope


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("scope")
    path, _ = support.build_warehouse(work / "practice.duckdb", work)
    return path


@pytest.fixture(scope="module")
def con(db):
    c = warehouse.connect_reader(db)
    yield c
    c.close()


@pytest.fixture(scope="module")
def sessions(con) -> pd.DataFrame:
    return con.execute("select child_id, therapist_id, team from wh.sessions").df()


def expected_children(sessions: pd.DataFrame, s: Scope) -> set[str]:
    """The scope rule written independently of the SQL: children with any session booked
    with the therapist, or with any therapist of the teams."""
    keep = np.zeros(len(sessions), bool)
    if s.therapist_id:
        keep |= (sessions["therapist_id"] == s.therapist_id).to_numpy()
    if s.teams:
        keep |= sessions["team"].isin(s.teams).to_numpy()
    return set(sessions.loc[keep, "child_id"])


def scopes(sessions: pd.DataFrame) -> list[Scope]:
    therapists = sessions["therapist_id"].value_counts().index.tolist()
    teams = sorted(sessions["team"].unique().tolist())
    return [Scope("therapist", therapist_id=therapists[0]), Scope("therapist", therapist_id=therapists[-1]),
            Scope("supervisor", teams=(teams[1],)), Scope("supervisor", teams=(teams[1],), therapist_id=therapists[0])]


def ids(obj) -> set[str]:
    """Every child id found in a result (frames, dicts of frames, lists)."""
    if isinstance(obj, pd.DataFrame):
        return set(obj["child_id"].dropna().astype(str)) if "child_id" in obj else set()
    if isinstance(obj, dict):
        out: set[str] = set()
        for v in obj.values():
            out |= ids(v)
        return out
    return set()


CHILD_FUNCTIONS = [
    ("child_list", ()), ("child_trends", ()), ("flags", ()), ("goal_summary", ()), ("approach_pairs", ()),
    ("approach_gas_pairs", ()), ("reliable_change", ()), ("child_periods", ()), ("gas_reviews", ()),
]


@pytest.mark.parametrize("scope_index", range(4))
def test_every_child_level_function_stays_in_scope(con, sessions, scope_index):
    s = scopes(sessions)[scope_index]
    allowed = expected_children(sessions, s)
    sc = scope_mod.scoped(con, s)
    assert set(sc.children) == allowed and allowed
    for name, args in CHILD_FUNCTIONS:
        f = Filters() if name != "gas_reviews" else None
        out = getattr(analytics, name)(sc, *args, **({"f": f} if f is not None else {}))
        got = ids(out)
        assert got <= allowed, f"{name} shows {sorted(got - allowed)[:5]} outside {s}"
        lead = ids(getattr(analytics, name)(con, *args, **({"f": f} if f is not None else {})))
        assert got == lead & allowed, f"{name}: the scoped result is not the lead's restricted to the scope"
    opts = analytics.filter_options(sc)
    assert set(opts["children"]) == allowed


def test_flags_are_the_leads_flags_for_those_children(con, sessions):
    s = scopes(sessions)[2]
    sc = scope_mod.scoped(con, s)
    mine = analytics.flags(sc, Filters())
    lead = analytics.flags(con, Filters())
    lead = lead[lead["child_id"].isin(expected_children(sessions, s))].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), lead)
    assert analytics.as_of(sc) == analytics.as_of(con)  # "as of" stays the practice's date


def test_kpis_count_only_children_in_scope(con, sessions):
    s = scopes(sessions)[0]
    sc = scope_mod.scoped(con, s)
    k = analytics.kpis(sc, Filters(date_from=dt.date(2000, 1, 1), date_to=dt.date(2100, 1, 1)))["current"]
    assert k["n_children"] == len(expected_children(sessions, s))
    assert k["sessions"] == int(sessions["child_id"].isin(expected_children(sessions, s)).sum())


@pytest.mark.parametrize("filters", [
    Filters(teams=("__every_team__",)),
    Filters(therapists=("T99", "' or 1=1 --")),
    Filters(teams=("North", "South", "East", "West")),
], ids=["unknown-team", "hostile-therapist", "all-teams"])
def test_filters_cannot_widen_the_scope(con, sessions, filters):
    s = scopes(sessions)[0]
    allowed = expected_children(sessions, s)
    sc = scope_mod.scoped(con, s)
    for name in ("child_list", "flags", "child_trends"):
        assert ids(getattr(analytics, name)(sc, filters)) <= allowed


def test_another_childs_id_returns_nothing(con, sessions):
    s = scopes(sessions)[0]
    outsider = sorted(set(sessions["child_id"]) - expected_children(sessions, s))[0]
    sc = scope_mod.scoped(con, s)
    assert analytics.child_timeline(sc, outsider).empty
    assert analytics.child_goal_ratings(sc, outsider).empty
    assert analytics.child_gas_t(sc, outsider).empty
    comp = analytics.child_comparison(sc, outsider)
    assert not ids(comp)
    assert not analytics.child_timeline(con, outsider).empty  # the lead does see them


def test_raw_rows_and_file_names_are_hidden(con, sessions):
    sc = scope_mod.scoped(con, scopes(sessions)[0])
    assert len(analytics.rejects(con)) > 0
    assert analytics.rejects(sc).empty
    cur = sc.cursor()
    try:
        assert cur.execute("select count(*) from files").fetchall()[0][0] == 0
        mine = cur.execute("select count(*) from session_rows").fetchall()[0][0]
        total = cur.execute("select count(*) from wh.main.session_rows where child_id in "
                            "(select unnest($ids::varchar[]))", {"ids": sc.children}).fetchall()[0][0]
        assert 0 < mine == total < con.execute("select count(*) from wh.session_rows").fetchall()[0][0]
        # the warehouse's own views (intermediate models) resolve to the scoped tables too
        n = cur.execute("select count(distinct child_id) from int_sessions").fetchall()[0][0]
        assert n == len(sc.children)
    finally:
        cur.close()


def test_meeting_pack_holds_only_children_in_scope(con, sessions):
    s = scopes(sessions)[2]
    allowed = expected_children(sessions, s)
    pack = meeting_pack.build_pack(scope_mod.scoped(con, s), team=s.teams[0])
    for frame in (pack.attention, pack.attention_children, pack.goals_met, pack.reliable_improvements,
                  pack.engagement_rises):
        assert ids(frame) <= allowed
    html = meeting_pack.render_html(pack)
    outsiders = set(sessions["child_id"]) - allowed
    assert not [c for c in outsiders if c in html]


def test_lead_scope_is_the_connection_itself(con):
    assert scope_mod.scoped(con, Scope.everything()) is con


@pytest.mark.parametrize("kwargs, message", [
    ({"role": "admin"}, "role must be one of"),
    ({"role": "supervisor"}, "needs at least one team"),
    ({"role": "therapist"}, "needs a therapist id"),
])
def test_scope_refuses_incomplete_roles(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Scope(**kwargs)


# ----------------------------------------------------------------------------- practice figures

def test_small_cells_are_suppressed():
    df = pd.DataFrame({"modality": ["OT", "play", "speech"], "n_children": [12, 3, 9],
                       "sessions": [100, 7, 40], "mean_engagement": [3.1, 4.9, 3.5],
                       "n_children_rated": [12, 3, 4], "n_children_gas": [12, 0, 8], "median_gas_t": [51.0, 60.0, 49.0]})
    out = scope_mod.suppress_small_cells(df, 5)
    assert out["suppressed"].tolist() == [False, True, False]
    assert out.loc[1, ["n_children", "sessions", "mean_engagement", "median_gas_t"]].isna().all()
    assert np.isnan(out.loc[2, "mean_engagement"]) and out.loc[2, "sessions"] == 40  # 4 rated children: hidden
    assert out.loc[2, "median_gas_t"] == 49.0 and out.loc[0, "mean_engagement"] == 3.1


def test_practice_figures_ignore_team_and_therapist_and_suppress(con):
    f = Filters(teams=("North",), therapists=("T01",))
    grid = scope_mod.practice_aggregate(con, "group_grid", f)
    full = analytics.group_grid(con, Filters()).set_index(["modality", "age_group"])
    shown = grid[~grid["suppressed"]].set_index(["modality", "age_group"])
    assert (shown["n_children"] >= 5).all()
    assert (shown["n_children"] == full.loc[shown.index, "n_children"]).all()  # the team/therapist filters are gone
    assert set(full.index[full["n_children"] < 5]) <= set(grid.loc[grid["suppressed"]].set_index(
        ["modality", "age_group"]).index)
    assert (grid.loc[grid["suppressed"], "mean_engagement"].isna()).all()
    assert grid["below_min_n"][grid["suppressed"]].all()
    # no row or column of the grid has exactly one hidden cell (it would come back by subtraction)
    for col in ("modality", "age_group"):
        assert not (grid.groupby(col)["suppressed"].sum() == 1).any()
    k = scope_mod.practice_aggregate(con, "kpis", f)["current"]
    assert k["n_children"] == analytics.kpis(con, Filters())["current"]["n_children"]


@pytest.mark.parametrize("name, kwargs", [("child_list", {}), ("flags", {}), ("kpis_by", {"by": "therapist_id"}),
                                          ("monthly_trends", {"by": "team"})])
def test_practice_figures_refuse_child_level_or_colleague_breakdowns(con, name, kwargs):
    with pytest.raises(PermissionError):
        scope_mod.practice_aggregate(con, name, Filters(), **kwargs)


def test_no_month_of_a_breakdown_hides_exactly_one_group(con):
    f = Filters(date_from=dt.date(2026, 1, 10), date_to=dt.date(2026, 10, 20))
    for by in ("modality", "age_group", "approach"):
        t = scope_mod.practice_aggregate(con, "monthly_trends", f, by=by)
        hidden = t.groupby("month_start")["suppressed"].sum()
        assert not (hidden == 1).any(), by
        assert t["month_start"].min() == pd.Timestamp("2026-01-01")  # whole months only


def test_secondary_suppression_table():
    df = pd.DataFrame({"month_start": ["m1"] * 3 + ["m2"] * 3, "grp": list("abcabc"),
                       "n_children": [2, 9, 30, 12, 15, 40], "sessions": [5, 20, 90, 30, 40, 100]})
    out = scope_mod.secondary_suppression(scope_mod.suppress_small_cells(df, 5), [["month_start"]])
    assert out["suppressed"].tolist() == [True, True, False, False, False, False]
    assert np.isnan(out.loc[1, "sessions"]) and out.loc[2, "sessions"] == 90


def test_goal_figures_need_enough_children():
    df = pd.DataFrame({"n_children": [12], "n_goals": [4], "n_children_goals": [2], "goals_at_expected": [4],
                       "share_goals_at_expected": [1.0]})
    out = scope_mod.suppress_small_cells(df, 5)
    assert out.loc[0, ["n_goals", "goals_at_expected", "share_goals_at_expected"]].isna().all()
    assert out.loc[0, "n_children"] == 12


def test_practice_approach_breakdowns_are_group_summaries_with_small_groups_hidden(con):
    f = Filters(date_from=dt.date(2026, 5, 1), date_to=dt.date(2026, 10, 31))
    out = scope_mod.practice_aggregate(con, "approach_breakdowns", f, outcome="engagement",
                                       by=(None, "modality", "age_group"))
    full = analytics.approach_breakdowns(con, f, outcome="engagement", by=(None, "modality", "age_group"))
    for b, d in out.items():
        assert "child_id" not in d
        shown = d[~d["suppressed"]]
        assert (shown["n_children"] >= 5).all()
        assert d.loc[d["suppressed"], ["n_children", "mean_diff"]].isna().all().all()
        assert not d.loc[d["suppressed"], "estimated"].any()
        if b is not None:
            assert d["suppressed"].sum() != 1  # a lone hidden group would come back from the total
        pd.testing.assert_series_equal(shown["mean_diff"].reset_index(drop=True),
                                       full[b].loc[~d["suppressed"].to_numpy(), "mean_diff"].reset_index(drop=True),
                                       check_names=False)
    with pytest.raises(PermissionError):
        scope_mod.practice_aggregate(con, "approach_breakdowns", f, by=(None, "therapist_id"))
