"""``build_pack``: the data of each section, from the analytics layer (no SQL and no statistics
here), suppressed for packs shared beyond the team (``suppress``), then figures and sections."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

import analytics
from pipelines import settings
from pipelines.settings import Settings
from reports.formats import ratio
from reports.meeting_pack.calls import Calls
from reports.meeting_pack.figures import pack_figures
from reports.meeting_pack.measures import measure_frames, measures_section, team_effects
from reports.meeting_pack.model import MeetingPack, PackError, default_period, parse_date
from reports.meeting_pack.sections import attention_section, pack_sections
from reports.meeting_pack.suppress import (count_rows, suppress_attention, suppress_by_approach, suppress_caseload,
                                           suppress_effect, suppress_measure_monthly, suppress_measure_summary,
                                           suppress_measure_trends, suppress_monthly)
from stats.rci import IMPROVED


def _validate(con, team: str | None, therapist: str | None, date_from: Any, date_to: Any
              ) -> tuple[str | None, str | None, dt.date, dt.date, dict]:
    opts = analytics.filter_options(con)
    if not opts.get("max_date"):
        raise PackError("the warehouse holds no sessions: load exports first")
    team = None if team in (None, "") else str(team)
    therapist = None if therapist in (None, "") else str(therapist)
    if team is None and therapist is None:
        raise PackError("choose a team or a therapist")
    if team is not None and team not in [str(t) for t in opts["teams"]]:
        raise PackError(f"unknown team {team!r} (teams: {', '.join(repr(str(t)) for t in opts['teams'])})")
    if therapist is not None and therapist not in [str(t) for t in opts["therapists"]]:
        raise PackError(f"unknown therapist {therapist!r}")
    lo, hi = opts["min_date"], opts["max_date"]
    if date_from is None and date_to is None:
        d_from, d_to = default_period(hi)
    else:
        d_to = parse_date(date_to, "--to date") if date_to is not None else hi
        d_from = parse_date(date_from, "--from date") if date_from is not None else default_period(d_to)[0]
    if d_from > d_to:
        raise PackError(f"the period starts ({d_from}) after it ends ({d_to})")
    if d_to < lo or d_from > hi:
        raise PackError(f"no data between {d_from} and {d_to}: the sessions loaded run from {lo} to {hi}")
    if team is not None and therapist is not None:
        k = analytics.kpis(con, analytics.Filters(teams=(team,), therapists=(therapist,)))["current"]
        if not k.get("sessions"):
            raise PackError(f"therapist {therapist!r} has no sessions in team {team!r}")
    return team, therapist, d_from, d_to, opts


@dataclass
class PackStart:
    """What the page draws first, before the rest of the pack is built: ``pack``, a ``MeetingPack``
    with its scope, dates and the Needs attention frames and section (the other frames empty, no
    figures, ``sections`` the attention section only), and ``done``, the analytics calls made for
    it (``Calls.done``: ``build_pack(start=...)`` makes none of them again)."""

    pack: MeetingPack
    flags: pd.DataFrame
    done: dict


def pack_start(con, team: str | None = None, therapist: str | None = None, date_from: Any = None,
               date_to: Any = None, suppress_small_cells: bool = False,
               previous: tuple[dt.date, dt.date] | None = None) -> PackStart:
    """The pack's scope and dates checked (``PackError`` as ``build_pack`` raises it) and its first
    section, Needs attention, from the few calls it needs (flags and the period's child trends):
    the same frames and text as ``build_pack``'s, in a fraction of its time."""
    cfg = settings.get()
    team, therapist, d_from, d_to, _opts = _validate(con, team, therapist, date_from, date_to)
    f = analytics.Filters(date_from=d_from, date_to=d_to, teams=(team,) if team else (),
                          therapists=(therapist,) if therapist else ())
    prev = replace(f, date_from=previous[0], date_to=previous[1]) if previous else f.previous_period()
    calls = Calls(con)
    months = cfg.meeting_pack.trend_months
    first_month = (pd.Timestamp(d_to).to_period("M") - (months - 1)).to_timestamp().date()
    small = cfg.privacy.small_cell_min
    flags = calls(analytics.flags, f)
    attention, attention_children = _attention(flags, calls(analytics.child_trends, f))
    if suppress_small_cells:
        attention, attention_children = suppress_attention(attention, small), pd.DataFrame()
    empty = pd.DataFrame()
    pack = MeetingPack(
        team=team, therapist=therapist, date_from=d_from, date_to=d_to, prev_from=prev.date_from,
        prev_to=prev.date_to, as_of=analytics.as_of(con), trend_from=first_month,
        suppress_small_cells=bool(suppress_small_cells), small_cell_min=small, confidence=cfg.comparison.confidence,
        generated_at=dt.datetime.now().replace(microsecond=0),
        attention=attention, attention_children=attention_children, goals_met=empty, reliable_improvements=empty,
        engagement_rises=empty, caseload=empty, trends=empty, trends_by_approach=empty, approach_effect=empty,
        figures={}, sections=[])
    pack.sections = [attention_section(pack, cfg, flags)]
    return PackStart(pack, flags, calls.done)


def build_pack(con, team: str | None = None, therapist: str | None = None, date_from: Any = None,
               date_to: Any = None, suppress_small_cells: bool = False,
               previous: tuple[dt.date, dt.date] | None = None, start: PackStart | None = None) -> MeetingPack:
    """The meeting pack for a team (or a therapist, or a therapist within a team) and a period.

    ``date_from`` / ``date_to`` are inclusive dates (``YYYY-MM-DD`` text is accepted);
    without them the period is the last 4 weeks ending at the latest session loaded. The
    previous period is ``previous`` (first, last day: the dashboard passes the one its filter
    bar compares with, so page and pack agree), else the one of the same length just before. Raises ``PackError`` (a
    one-line message) for an unknown team or therapist, a therapist with no sessions in the
    team, dates that do not parse, a start after the end or a period outside the data.
    ``start``: ``pack_start`` of the same arguments (the page draws it first): its checks and
    calls are not made again.
    """
    cfg = settings.get()
    if start is None:
        start = pack_start(con, team, therapist, date_from, date_to, suppress_small_cells, previous)
    first = start.pack   # the checks, the dates and section 1, computed once (the page draws it first)
    team, therapist, d_from, d_to, first_month = first.team, first.therapist, first.date_from, first.date_to, \
        first.trend_from
    f = analytics.Filters(date_from=d_from, date_to=d_to, teams=(team,) if team else (),
                          therapists=(therapist,) if therapist else ())
    prev = replace(f, date_from=first.prev_from, date_to=first.prev_to)
    calls = Calls(con, start.done)
    small = cfg.privacy.small_cell_min
    flags = start.flags
    period_children = calls(analytics.child_trends, f)   # made by pack_start: a hit in ``calls``

    # ---- 2. wins
    history = replace(f, date_from=None)
    before = replace(f, date_from=None, date_to=d_from - dt.timedelta(days=1))
    goals_met = _goals_met(calls(analytics.goal_summary, history), calls(analytics.goal_best_levels, before),
                           d_from, d_to, cfg.gas.expected_level)
    reliable = _reliable(calls(analytics.reliable_change, history), calls(analytics.reliable_change, before), d_from,
                        d_to)
    trend_from = min(d_from, d_to - dt.timedelta(days=7 * cfg.flags.engagement_window_weeks - 1))
    trend_f = replace(f, date_from=trend_from)  # the period itself when it is longer than the window
    rises = _engagement_rises(calls(analytics.child_trends, trend_f), period_children, calls(analytics.child_trends, prev),
                              cfg, trend_from, d_to)

    # ---- 3. caseload by therapist
    caseload = _caseload(calls, f, therapist, prev)

    # ---- 4. trends
    tf = replace(f, date_from=first_month)
    trends = calls(analytics.monthly_trends, tf)
    by_app_all = calls(analytics.monthly_trends, tf, by="approach")
    shown_app = by_app_all["approach"].isin(["child-led", "directed"]).to_numpy()
    by_app = by_app_all[shown_app].reset_index(drop=True)
    effect = team_effects(calls, tf).get("engagement")
    if effect is None:  # no engagement value in the warehouse
        effect = calls(analytics.approach_effects, tf)

    # ---- 5. every session-level outcome measure with values in the period
    per_measure = measure_frames(calls, f, prev, tf, trend_from, cfg)

    if first.suppress_small_cells:   # section 1 was suppressed by pack_start
        goals_met = count_rows(goals_met, "win", small)
        reliable = count_rows(reliable, "measure", small)
        rises = count_rows(rises, "evidence", small)
        caseload = suppress_caseload(caseload, small)
        trends = suppress_monthly(trends, small)
        by_app = suppress_by_approach(by_app_all, shown_app, small)
        effect = suppress_effect(effect, small)
        per_measure = {"summary": suppress_measure_summary(per_measure["summary"], small),
                       "trends": suppress_measure_trends(per_measure["trends"], small),
                       "effects": suppress_effect(per_measure["effects"], small),
                       "monthly": suppress_measure_monthly(per_measure["monthly"], small)}

    pack = replace(
        first, goals_met=goals_met, reliable_improvements=reliable, engagement_rises=rises, caseload=caseload,
        trends=trends, trends_by_approach=by_app, approach_effect=effect, figures={}, sections=[],
        measure_summary=per_measure["summary"], measure_trends=per_measure["trends"],
        measure_effects=per_measure["effects"], measure_monthly=per_measure["monthly"])
    pack.figures = pack_figures(pack)
    pack.sections = pack_sections(pack, cfg, flags, trend_from) + [measures_section(pack, cfg, trend_from)]
    return pack


def _attention(flags: pd.DataFrame, period: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The flags as analytics gives them (most urgent first) and one row per flagged child,
    in the order of the child's most urgent flag, with the child's figures in the period."""
    cols = ["child_id", "severity_label", "title", "reason", "since", "n", "value", "threshold", "flag",
            "therapist_id", "team", "modality", "age_group"]
    fl = flags.reset_index(drop=True)
    if fl.empty:
        return pd.DataFrame(columns=cols), pd.DataFrame(columns=[
            "child_id", "severity_label", "n_flags", "flags", "therapist_id", "modality", "age_group", "sessions",
            "attended", "attendance_rate", "n_rated", "mean_engagement", "last_session"])
    fl = fl[[c for c in cols if c in fl.columns]]
    g = fl.groupby("child_id", sort=False)
    children = pd.DataFrame({
        "child_id": list(g.groups),
    })
    first = g.first()
    children["severity_label"] = children["child_id"].map(first["severity_label"])
    children["n_flags"] = children["child_id"].map(g.size()).astype("int64")
    children["flags"] = children["child_id"].map(g["title"].agg(lambda s: "; ".join(dict.fromkeys(s))))
    for c in ("therapist_id", "modality", "age_group"):
        children[c] = children["child_id"].map(first[c])
    p = period.set_index("child_id") if len(period) else pd.DataFrame()
    for c in ("sessions", "attended", "attendance_rate", "n_rated", "mean_engagement", "last_session"):
        children[c] = children["child_id"].map(p[c]) if c in p.columns else np.nan
    for c in ("sessions", "attended", "n_rated"):
        children[c] = children[c].fillna(0).astype("int64")
    return fl, children


def _goals_met(now: pd.DataFrame, before: pd.DataFrame, d_from: dt.date, d_to: dt.date, expected: int
               ) -> pd.DataFrame:
    """Goals that, in the period, reached the expected level for the first time (met) or went
    above it for the first time (exceeded): their best level up to the period's end against
    their best level before it (``analytics.goal_summary`` and, before it, ``analytics.goal_best_levels``:
    goal_uid and best_level)."""
    cols = ["child_id", "goal_id", "domain", "therapist_id", "win", "best_before", "best_level", "last_level",
            "last_date", "first_met_date", "weeks_to_met", "n_ratings"]
    if now.empty:
        return pd.DataFrame(columns=cols)
    b = before.set_index("goal_uid")["best_level"] if len(before) else pd.Series(dtype=float)
    d = now.copy()
    d["best_before"] = d["goal_uid"].map(b).astype(float)
    start = pd.Timestamp(d_from)
    newly_met = d["met"].astype(bool) & (pd.to_datetime(d["first_met_date"]) >= start)
    newly_exceeded = (d["best_level"] > expected) & (d["best_before"].isna() | (d["best_before"] <= expected))
    best = d["best_level"].map(lambda v: f"{int(v):+d}" if int(v) else "0")
    d["win"] = np.select([newly_met & newly_exceeded, newly_met, newly_exceeded],
                         ["met and exceeded (" + best + ")", "met (" + best + ")", "exceeded (" + best + ")"],
                         default="")
    d = d[newly_met | newly_exceeded].sort_values(["child_id", "goal_id"])
    return d[cols].reset_index(drop=True)


def _reliable(now: pd.DataFrame, before: pd.DataFrame, d_from: dt.date, d_to: dt.date) -> pd.DataFrame:
    """Reliable improvements (Jacobson & Truax, from ``analytics.reliable_change``) whose
    latest administration falls in the period; ``new`` when not reliably improved before it."""
    cols = ["child_id", "measure", "therapist_id", "first_date", "first_score", "last_date", "last_score", "change",
            "rci", "reliable_change_threshold", "n_administrations", "new"]
    if now.empty:
        return pd.DataFrame(columns=cols)
    last = pd.to_datetime(now["last_date"])
    d = now[(now["classification"] == IMPROVED) & (last >= pd.Timestamp(d_from)) & (last <= pd.Timestamp(d_to))].copy()
    if before.empty:
        was = set()
    else:
        was = set(zip(before.loc[before["classification"] == IMPROVED, "child_id"],
                      before.loc[before["classification"] == IMPROVED, "measure"]))
    d["new"] = [(c, m) not in was for c, m in zip(d["child_id"], d["measure"])]
    return d.sort_values(["child_id", "measure"])[cols].reset_index(drop=True)


def _engagement_rises(trend: pd.DataFrame, cur: pd.DataFrame, prv: pd.DataFrame, cfg: Settings,
                      trend_from: dt.date, d_to: dt.date) -> pd.DataFrame:
    """Children with a session in the period whose engagement rose: a significant upward
    trend over ``trend_from``..period end (Mann-Kendall tau > 0, p < alpha, at least
    engagement_min_sessions rated sessions: the declining flag's test, the other way), and/or
    a clear rise of the period's mean over the previous period's (both from
    ``analytics.child_trends``)."""
    cols = ["child_id", "therapist_id", "modality", "evidence", "trend_n", "trend_slope_per_week", "trend_slope_lo",
            "trend_slope_hi", "trend_tau", "trend_p", "mean_prev", "n_rated_prev", "mean_now", "n_rated_now", "change"]
    if cur.empty:
        return pd.DataFrame(columns=cols)
    on = cur[cur["sessions"] > 0][["child_id", "therapist_id", "modality", "mean_engagement", "n_rated"]]
    on = on.rename(columns={"mean_engagement": "mean_now", "n_rated": "n_rated_now"})
    t = trend[["child_id", "n_rated", "slope_per_week", "slope_lo", "slope_hi", "kendall_tau", "p_value"]].rename(
        columns={"n_rated": "trend_n", "slope_per_week": "trend_slope_per_week", "slope_lo": "trend_slope_lo",
                 "slope_hi": "trend_slope_hi", "kendall_tau": "trend_tau", "p_value": "trend_p"})
    p = prv[["child_id", "mean_engagement", "n_rated"]].rename(columns={"mean_engagement": "mean_prev",
                                                                         "n_rated": "n_rated_prev"})
    d = on.merge(t, on="child_id", how="left").merge(p, on="child_id", how="left")
    d["n_rated_prev"] = d["n_rated_prev"].fillna(0).astype("int64")
    d["trend_n"] = d["trend_n"].fillna(0).astype("int64")
    d["change"] = d["mean_now"] - d["mean_prev"]
    fl, mpk = cfg.flags, cfg.meeting_pack
    sig = ((d["trend_n"] >= fl.engagement_min_sessions) & (d["trend_tau"] > 0) & (d["trend_slope_per_week"] > 0)
           & (d["trend_p"] < fl.engagement_trend_alpha)).fillna(False).astype(bool)
    rise = ((d["n_rated_now"] >= mpk.rise_min_rated) & (d["n_rated_prev"] >= mpk.rise_min_rated)
            & (d["change"] >= mpk.rise_min_points)).fillna(False).astype(bool)
    weeks = (d_to - trend_from).days // 7 + 1
    d["evidence"] = np.select(
        [sig & rise, sig, rise],
        [f"significant upward trend over {weeks} weeks and a clear rise vs the previous period",
         f"significant upward trend over {weeks} weeks", "clear rise vs the previous period"], default="")
    d = d[sig | rise].sort_values(["child_id"])
    return d[cols].reset_index(drop=True)


def _kpi_row(k: dict, kc: dict) -> dict:
    """The caseload figures of one kpis() block (k) and its child-led-only block (kc)."""
    return {
        "n_children": k.get("n_children", 0), "active_children": k.get("active_children", 0),
        "sessions": k.get("sessions", 0), "attended": k.get("attended", 0),
        "attendance_rate": k.get("attendance_rate", np.nan), "mean_engagement": k.get("mean_engagement", np.nan),
        "engagement_ci_lo": k.get("engagement_ci_lo", np.nan), "engagement_ci_hi": k.get("engagement_ci_hi", np.nan),
        "n_rated": k.get("n_rated", 0), "n_children_rated": k.get("n_children_rated", 0),
        "child_led_attended": kc.get("attended", 0),
        "child_led_share": ratio(kc.get("attended"), k.get("attended")),
        "share_goals_at_expected": k.get("share_goals_at_expected", np.nan), "n_goals": k.get("n_goals", 0),
        "median_gas_t": k.get("median_gas_t", np.nan), "n_children_gas": k.get("n_children_gas", 0),
    }


CASELOAD_FIGURES = ["n_children", "active_children", "sessions", "attended", "attendance_rate", "mean_engagement",
                    "engagement_ci_lo", "engagement_ci_hi", "n_rated", "n_children_rated", "child_led_attended",
                    "child_led_share", "share_goals_at_expected", "n_goals", "median_gas_t", "n_children_gas"]


def _caseload(calls: Calls, f: analytics.Filters, therapist: str | None, prev: analytics.Filters) -> pd.DataFrame:
    """One row per therapist with sessions in the scope in the period or the previous one,
    then the whole scope; each figure for the period and the previous period (``*_prev``).

    Figures for all therapists come from grouped queries (``analytics.kpis_by``'s, both periods and the
    scope's ``kpis`` from one query: ``analytics.caseload_kpis``), not a query per therapist; the child-led sessions of each therapist and of the scope from one
    query per period (``analytics.attended_by``: attended sessions add up over therapists)."""
    scope = replace(f, therapists=(therapist,)) if therapist else f
    scope_prev = replace(prev, therapists=scope.therapists)
    child_led: dict[str, int] = {}
    # kpis_by(therapist) of both periods and the scope's kpis: their period figures from one query
    figures = calls(analytics.caseload_kpis, scope, scope_prev, "therapist_id", total=not therapist)

    def by_therapist(ff: analytics.Filters, key: str) -> dict[str, tuple[dict, dict]]:
        k = figures["by" if key == "current" else "by_prev"]
        a = calls(analytics.attended_by, ff, "therapist_id", "approach")
        a = a[a["approach"] == "child-led"]
        child_led[key] = int(a["attended"].sum())
        kc = {str(t): {"attended": int(n)} for t, n in zip(a["therapist_id"], a["attended"])}
        return {str(r["therapist_id"]): (r, kc.get(str(r["therapist_id"]), {})) for r in k.to_dict("records")}

    current = by_therapist(scope, "current")
    previous = by_therapist(scope_prev, "previous")
    rows = []
    for t in sorted(set(current) | set(previous)):
        k, kc = current.get(t, ({}, {}))
        kp, kcp = previous.get(t, ({}, {}))
        row = {"therapist_id": t, "is_total": False}
        row.update(_kpi_row(k, kc))
        row.update({f"{c}_prev": v for c, v in _kpi_row(kp, kcp).items()})
        rows.append(row)
    if not therapist:
        k = figures["kpis"]  # kpis(con, f, previous=prev): scope is f without a therapist
        row = {"therapist_id": "All", "is_total": True}
        row.update(_kpi_row(k["current"], {"attended": child_led["current"]}))
        row.update({f"{c}_prev": v for c, v in _kpi_row(k["previous"] or {}, {"attended": child_led["previous"]}).items()})
        rows.append(row)
    return pd.DataFrame(rows)
