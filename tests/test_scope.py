"""Scoping in the data layer (``access.scope``): on a scoped connection every analytics
function, the meeting pack and the exports see only the children in the viewer's scope,
whatever filter values (another team, another child's id) they are asked for; practice
figures for non-leads are aggregates with small cells suppressed.

Real DuckDB on the shared warehouse of the sample data (``dashboard_db`` of conftest.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analytics
from access import disclosure, practice, scope as scope_mod
from pipelines import warehouse
from reports import meeting_pack
from analytics import Filters
from access.scope import Scope


@pytest.fixture(scope="module")
def db(dashboard_db) -> Path:
    return dashboard_db  # shared, read-only (conftest.py)


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
        mine = cur.execute("select count(*) from src_sessions").fetchall()[0][0]
        total = cur.execute("select count(*) from wh.main.src_sessions where child_id in "
                            "(select unnest($ids::varchar[]))", {"ids": sc.children}).fetchall()[0][0]
        assert 0 < mine == total < con.execute("select count(*) from wh.src_sessions").fetchall()[0][0]
        # the raw observations too: only the children in scope
        seen = {c for (c,) in cur.execute("select distinct child_id from src_observations").fetchall()}
        assert seen and seen <= set(sc.children)
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
    out = disclosure.suppress_small_cells(df, 5)
    assert out["suppressed"].tolist() == [False, True, False]
    assert out.loc[1, ["n_children", "sessions", "mean_engagement", "median_gas_t"]].isna().all()
    assert np.isnan(out.loc[2, "mean_engagement"]) and out.loc[2, "sessions"] == 40  # 4 rated children: hidden
    assert out.loc[2, "median_gas_t"] == 49.0 and out.loc[0, "mean_engagement"] == 3.1


def test_practice_figures_ignore_team_therapist_and_approach_and_suppress(con):
    f = Filters(date_from=dt.date(2026, 8, 1), date_to=dt.date(2026, 10, 31))
    grid = practice.practice_aggregate(con, "group_grid", replace(f, teams=("North",), therapists=("T01",),
                                                                  approaches=("child-led",)))
    pd.testing.assert_frame_equal(grid, practice.practice_aggregate(con, "group_grid", f))  # those filters are gone
    full = analytics.group_grid(con, f).set_index(["modality", "age_group"])
    shown = grid[~grid["suppressed"]].set_index(["modality", "age_group"])
    hidden = grid[grid["suppressed"]].set_index(["modality", "age_group"])
    assert (shown["n_children"] >= 5).all() and len(hidden)
    assert set(full.index) == set(shown.index) | set(hidden.index)  # a group left out is listed as hidden
    assert set(full.index[full["n_children"] < 5]) <= set(hidden.index)
    assert hidden[["n_children", "n_sessions", "mean_engagement"]].isna().all().all()
    assert grid["below_min_n"][grid["suppressed"]].all()
    # a shown cell holds at most its real sessions: the months in which it had too few children are left out
    assert (shown["n_sessions"] <= full.loc[shown.index, "n_sessions"]).all()
    # the margins are sums of the cells shown: the headline figures minus the shown cells is zero
    k = practice.practice_aggregate(con, "kpis", f)["current"]
    assert k["sessions"] == shown["n_sessions"].sum() < analytics.kpis(con, f)["current"]["sessions"]
    for m, d in shown.reset_index().groupby("modality"):
        km = practice.practice_aggregate(con, "kpis", replace(f, modalities=(m,)))["current"]
        assert km["sessions"] == d["n_sessions"].sum()


@pytest.mark.parametrize("name, kwargs", [("child_list", {}), ("flags", {}), ("kpis_by", {"by": "therapist_id"}),
                                          ("monthly_trends", {"by": "team"}), ("monthly_trends", {"by": "approach"})])
def test_practice_figures_refuse_child_level_or_colleague_breakdowns(con, name, kwargs):
    with pytest.raises(PermissionError):
        practice.practice_aggregate(con, name, Filters(), **kwargs)


def test_every_month_of_a_breakdown_adds_up_to_the_months_total(con):
    """Rule 3: a hidden group enters no figure, so a month's total is the sum of the groups
    shown that month (total minus shown gives zero, not a hidden group)."""
    f = Filters(date_from=dt.date(2026, 1, 10), date_to=dt.date(2026, 10, 20))
    total = practice.practice_aggregate(con, "monthly_trends", f).set_index("month_start")
    assert total.index.min() == pd.Timestamp("2026-01-01")  # whole months only
    # independently of the code: the month's sessions less those of its modality x age groups of 1-4 children
    kept = con.execute(
        "with c as (select month_start, modality, age_group, count(distinct child_id) as n, count(*) as s "
        "from wh.sessions where session_date between $lo and $hi group by all) "
        "select month_start, sum(s) filter (where n >= 5) as kept, sum(s) as all_sessions from c group by all",
        {"lo": dt.date(2026, 1, 1), "hi": dt.date(2026, 10, 31)}).df()
    kept["month_start"] = pd.to_datetime(kept["month_start"])
    kept = kept.set_index("month_start")
    assert (total["sessions"] == kept.loc[total.index, "kept"]).all()
    assert (kept["kept"] < kept["all_sessions"]).any()  # some groups were left out
    for by in ("modality", "age_group"):
        t = practice.practice_aggregate(con, "monthly_trends", f, by=by)
        assert t.loc[t["suppressed"], ["n_children", "sessions", "mean_engagement"]].isna().all().all()
        shown = t[~t["suppressed"]].groupby("month_start")[["sessions", "attended", "n_rated"]].sum()
        pd.testing.assert_frame_equal(shown, total.loc[shown.index, ["sessions", "attended", "n_rated"]],
                                      check_dtype=False, check_names=False)


def test_secondary_suppression_table():
    df = pd.DataFrame({"month_start": ["m1"] * 3 + ["m2"] * 3, "grp": list("abcabc"),
                       "n_children": [2, 9, 30, 12, 15, 40], "sessions": [5, 20, 90, 30, 40, 100]})
    out = disclosure.secondary_suppression(disclosure.suppress_small_cells(df, 5), [["month_start"]])
    assert out["suppressed"].tolist() == [True, True, False, False, False, False]
    assert np.isnan(out.loc[1, "sessions"]) and out.loc[2, "sessions"] == 90


def test_goal_figures_need_enough_children():
    df = pd.DataFrame({"n_children": [12], "n_goals": [4], "n_children_goals": [2], "goals_at_expected": [4],
                       "share_goals_at_expected": [1.0]})
    out = disclosure.suppress_small_cells(df, 5)
    assert out.loc[0, ["n_goals", "goals_at_expected", "share_goals_at_expected"]].isna().all()
    assert out.loc[0, "n_children"] == 12


def test_practice_approach_breakdowns_are_group_summaries_with_small_groups_hidden(con):
    f = Filters(date_from=dt.date(2026, 5, 1), date_to=dt.date(2026, 10, 31))
    by = (None, "modality", "age_group")
    out = practice.practice_aggregate(con, "approach_breakdowns", f, outcome="engagement", by=by)
    pc = practice.practice_connection(con)
    try:  # the same pairing of the children, on the practice cells shown
        full = analytics.approach_breakdowns(pc, f, outcome="engagement", by=by)
    finally:
        pc.close()
    for b, d in out.items():
        assert "child_id" not in d
        shown = d[~d["suppressed"]]
        assert (shown["n_children"] >= 5).all()
        assert d.loc[d["suppressed"], ["n_children", "n_children_considered", "mean_diff"]].isna().all().all()
        assert not d.loc[d["suppressed"], "estimated"].any()
        if b is not None and d["suppressed"].any():  # total minus the groups shown: at least 5 children
            hid = full[b].loc[d["suppressed"].to_numpy()]
            assert hid["n_children_considered"].sum() >= 5 and hid["n_children"].sum() >= 5
        pd.testing.assert_series_equal(shown["mean_diff"].reset_index(drop=True),
                                       full[b].loc[~d["suppressed"].to_numpy(), "mean_diff"].reset_index(drop=True),
                                       check_names=False)
    # the comparison is the whole practice's whatever the modality and age filters: no differencing by filters
    narrowed = practice.practice_aggregate(con, "approach_breakdowns", replace(f, modalities=("OT",),
                                            age_groups=("6-12",)), outcome="engagement", by=by)
    for b in by:
        pd.testing.assert_frame_equal(narrowed[b], out[b])
    with pytest.raises(PermissionError):
        practice.practice_aggregate(con, "approach_breakdowns", f, by=(None, "therapist_id"))


def test_complementary_suppression_keeps_hidden_rows_at_k_children():
    hidden = disclosure.complementary([1, 2, 30, 40], np.array([True, False, False, False]),
                                      [np.arange(4)], 5)
    assert hidden.tolist() == [True, True, True, False]  # 1 + 2 < 5, so the next smallest too
    # nothing left to hide: the total is hidden
    hidden = disclosure.complementary([1, 0, 3], np.array([True, False, False]), [np.arange(2)], 5,
                                      totals=[2])
    assert hidden.tolist() == [True, False, True]
    is_small = disclosure.is_small
    assert not is_small(0) and is_small(4) and not is_small(5) and not is_small(None)


# ----------------------------------------------------------------------------- differencing (issue 11, item 17)

ADDITIVE = ("sessions", "attended", "n_rated")  # sums over sessions: a figure of a union is the sum of its cells


def _subsets(values: list[str]) -> list[tuple[str, ...]]:
    from itertools import combinations
    return [c for r in range(1, len(values) + 1) for c in combinations(values, r)]


def _months(f: Filters) -> list[pd.Timestamp]:
    return list(pd.date_range(f.date_from, f.date_to, freq="MS"))


@pytest.mark.parametrize("measure", ["engagement", "on_task"])
def test_differencing_the_practice_view_recovers_no_hidden_cell(con, measure):
    """The attack of issue 11: a supervisor asks the practice view for every combination of
    modalities and age groups (headline figures of the period and of the period before, and
    the monthly figures), then tries to get every hidden group back by subtraction -- the
    difference of two selections that differ by that group (e.g. "modality m, all ages" minus
    "modality m, every age but a"), and more generally any linear combination of the shown
    figures (exact rank test). No hidden group may come back exactly.

    Hidden groups: the grid's hidden cells (modality x age group over the period) and every
    modality x age group x month with fewer than ``small_cell_min`` children; for the
    measure's values (``n_values``) also every such cell with fewer than that many children
    with a value of the measure (issue 13: the same attack on a second measure, on task).
    """
    k = disclosure.small_cell_min()
    opts = analytics.filter_options(con)
    mods, ages = [str(m) for m in opts["modalities"]], [str(a) for a in opts["age_groups"]]
    f0 = Filters(date_from=dt.date(2026, 8, 1), date_to=dt.date(2026, 10, 31))
    cur_m, prev_m = _months(f0), _months(practice.previous_whole_months(f0))
    atoms = [(m, a, mo) for m in mods for a in ages for mo in prev_m + cur_m]
    col = {x: i for i, x in enumerate(atoms)}
    raw = con.execute(
        "select modality, age_group, month_start, count(distinct child_id) as n_children, count(*) as sessions, "
        "count(*) filter (where attended) as attended, count(e.value) as n_rated, count(o.value) as n_values, "
        "count(distinct child_id) filter (where o.value is not null) as n_children_values from wh.sessions "
        "left join (select session_id, value from wh.observations where measure = 'engagement') as e "
        "using (session_id) left join (select session_id, value from wh.observations where measure = $m "
        "and goal_id is null) as o using (session_id) where session_date between $lo and $hi group by all",
        {"lo": prev_m[0].date(), "hi": f0.date_to, "m": measure}).df()
    assert raw["n_values"].sum() > 0, f"the sample has values of {measure}"
    raw["month_start"] = pd.to_datetime(raw["month_start"])
    truth = {(r.modality, r.age_group, r.month_start): r for r in raw.itertuples()}

    def vec(ms, as_, months) -> np.ndarray:
        v = np.zeros(len(atoms))
        for m in ms:
            for a in as_:
                for mo in months:
                    v[col[(m, a, mo)]] = 1
        return v

    def true_value(v: np.ndarray, field: str) -> float:
        return float(sum(getattr(truth[atoms[i]], field) for i in np.flatnonzero(v) if atoms[i] in truth))

    # ---- every figure the practice view shows, as (cells it covers, figures)
    shown: list[tuple[np.ndarray, dict]] = []
    for ms in _subsets(mods):
        for as_ in _subsets(ages):
            f = replace(f0, modalities=ms, age_groups=as_)
            kp = practice.practice_aggregate(con, "kpis", f, measure=measure)
            for block, months in ((kp["current"], cur_m), (kp["previous"], prev_m)):
                if block and not block["suppressed"] and block.get("sessions") is not None:
                    shown.append((vec(ms, as_, months), block))
            if len(ms) == 1 or len(as_) == 1 or (len(ms) == len(mods) and len(as_) == len(ages)):
                t = practice.practice_aggregate(con, "monthly_trends", f, measure=measure)
                for r in t[~t["suppressed"]].to_dict("records"):
                    shown.append((vec(ms, as_, [pd.Timestamp(r["month_start"])]), r))
    for by, key in (("modality", 0), ("age_group", 1)):
        t = practice.practice_aggregate(con, "monthly_trends", f0, by=by, measure=measure)
        for r in t[~t["suppressed"]].to_dict("records"):
            ms = [r[by]] if key == 0 else mods
            as_ = [r[by]] if key == 1 else ages
            shown.append((vec(ms, as_, [pd.Timestamp(r["month_start"])]), r))
    grid = practice.practice_aggregate(con, "group_grid", f0, measure=measure)
    for r in grid[~grid["suppressed"]].to_dict("records"):
        shown.append((vec([r["modality"]], [r["age_group"]], cur_m), {**r, "sessions": r["n_sessions"]}))

    # ---- the groups the practice view hides
    targets = {f"grid cell {r['modality']} x {r['age_group']}": vec([r["modality"]], [r["age_group"]], cur_m)
               for r in grid[grid["suppressed"]].to_dict("records")}
    targets.update({f"{m} x {a} in {mo:%b %Y}": vec([m], [a], [mo]) for (m, a, mo), r in truth.items()
                    if 0 < r.n_children < k})
    assert len(targets) >= 10, "the sample should have hidden groups to attack"
    # the measure's values of a cell with enough children but few with a value of the measure
    value_targets = {f"{measure} values of {m} x {a} in {mo:%b %Y}": vec([m], [a], [mo])
                     for (m, a, mo), r in truth.items() if r.n_children >= k and 0 < r.n_children_values < k}
    if measure != "engagement":
        assert value_targets, f"the sample should have cells with few children with a value of {measure}"
    # n_rated is engagement's name for its n_values; another measure's figures carry n_values only
    fields = {f: targets for f in ADDITIVE if f != "n_rated" or measure == "engagement"} | \
        {"n_values": {**targets, **value_targets}}

    assert any(not pd.isna(fig.get("n_values")) and (fig.get("n_values") or 0) > 0 for _, fig in shown), \
        f"the practice view shows values of {measure}"
    recovered = []
    # attack 1: the difference of two shown selections that differ by exactly the hidden group
    index = {tuple(np.flatnonzero(v)): fig for v, fig in shown}
    for name, t in {**targets, **value_targets}.items():
        for v, fig in shown:
            rest = v - t
            if rest.min() < 0 or not rest.any():
                continue
            other = index.get(tuple(np.flatnonzero(rest)))
            if other is None:
                continue
            for field in (("n_values",) if name in value_targets else (*ADDITIVE, "n_values", "n_children")):
                if not true_value(t, field):  # a zero discloses nobody (disclosure rule 1): no measure there
                    continue
                if fig.get(field) is None or other.get(field) is None or pd.isna(fig[field]) or pd.isna(other[field]):
                    continue
                if np.isclose(float(fig[field]) - float(other[field]), true_value(t, field)):
                    recovered.append(f"{name}: {field} by subtraction")
                    break
    # attack 2: any linear combination of the shown sums (exact: the group is in their row space)
    for field, field_targets in fields.items():
        rows = [(v, float(fig[field])) for v, fig in shown if fig.get(field) is not None and not pd.isna(fig[field])]
        a = np.array([v for v, _ in rows])
        b = np.array([x for _, x in rows])
        rank = np.linalg.matrix_rank(a)
        x, *_ = np.linalg.lstsq(a, b, rcond=None)
        for name, t in field_targets.items():
            if not true_value(t, field):  # a zero discloses nobody
                continue
            if np.linalg.matrix_rank(np.vstack([a, t])) == rank:  # the figures determine this group's sum
                if np.isclose(float(t @ x), true_value(t, field), atol=0.5):
                    recovered.append(f"{name}: {field} by a combination of {len(rows)} figures")
    assert not recovered, f"{len(set(r.split(':')[0] for r in recovered))} of {len(targets) + len(value_targets)} " \
                          "hidden groups " \
                          f"recovered: {sorted(set(recovered))[:12]}"
