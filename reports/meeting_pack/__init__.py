"""Team meeting pack: the supervisor's agenda for a team (or a therapist) and a period.

``build_pack`` asks the analytics layer (``analytics``; no SQL and no statistics
here) for four sections, in this order:

1. **Needs attention**: the children ``analytics.flags`` flags for the scope as of the
   period's end, most urgent first, with the reasons and the child's figures in the period.
2. **Wins**: goals that reached the expected GAS level (met) or went above it (exceeded)
   for the first time in the period; reliable improvements on a standardised measure whose
   latest administration is in the period; children whose engagement rose, either a
   significant upward trend (Mann-Kendall, the same test and window as the "engagement
   trending down" flag) or a clear rise of the period's mean over the previous period's.
3. **Caseload by therapist**: children, sessions, attendance, mean engagement, share of
   child-led sessions and goal attainment per therapist and for the whole scope, each
   against the previous period of the same length.
4. **Team trends**: engagement and goal attainment per month over the last months, and
   child-led vs directed engagement (per month, with intervals, and the within-child
   paired estimate), with n everywhere.

``render_html`` writes one self-contained HTML file (plotly.js inlined, no network needed;
print CSS puts each section on a new page), ``render_pdf`` prints that HTML with headless
Chromium, ``write_excel`` writes the tables (one sheet per section; every text cell made
safe by ``cells.safe_cell`` and written with ``write_string``).

Privacy: only pseudonymous ids (child, therapist) appear. With ``suppress_small_cells``
(packs shared beyond the team) every figure resting on fewer than ``[privacy]
small_cell_min`` children is shown as ``"<N"``, and child-level lists become counts. Where
rows are shown beside their total (therapists beside "All", the kinds of flag beside "Any
flag", the kinds of win beside "All", child-led and directed sessions within a month's
total), a second row is hidden too (shown as ``"hidden"``) until "total minus the rows
shown" rests on at least N children, so a "<N" row cannot be worked out by subtraction.
The rules live in ``access.disclosure`` (rules 1 and 2).
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import html
import io
import math
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

import analytics
from access import disclosure
from reports import cells, theme
from pipelines import settings as settings_mod
from access.disclosure import small_cell_min
from stats.rci import IMPROVED

__all__ = [
    "MeetingPack", "Section", "Table", "Col", "PackError", "ChromiumMissing", "SECTION_KEYS",
    "build_pack", "render_html", "render_pdf", "write_excel", "write_all", "table_text", "chromium_path",
    "parse_date", "default_period", "CHROMIUM_HINT", "BROWSER_ARGS",
]

SECTION_KEYS = ("attention", "wins", "caseload", "trends")
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]
CHROMIUM_HINT = ("install Chromium to make the PDF (apt-get install chromium); the HTML pack works without it "
                 "and prints to PDF from any browser")
CHART_WIDTH = 680          # px: fits the printable width of an A4 page (186 mm) with room to spare
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
HIDDEN_TEXT = "hidden"  # a figure hidden so that a small one beside it cannot be worked out from the total


class PackError(ValueError):
    """The pack cannot be built as asked (unknown team or therapist, bad dates); one-line message."""


class ChromiumMissing(RuntimeError):
    """No Chromium to print the PDF with."""


# ----------------------------------------------------------------------------- settings and helpers


def _settings() -> dict:
    s = settings_mod.load()
    mp = dict(s.get("meeting_pack", {}))
    fl = dict(s.get("flags", {}))
    return {
        "small_cell_min": small_cell_min(),
        "expected_level": int(s.get("gas", {}).get("expected_level", 0)),
        "trend_window_weeks": int(fl.get("engagement_window_weeks", 8)),
        "trend_alpha": float(fl.get("engagement_trend_alpha", 0.05)),
        "trend_min_sessions": int(fl.get("engagement_min_sessions", 5)),
        # a "clear rise": the period's mean engagement at least this many points above the
        # previous period's, each resting on at least rise_min_rated rated sessions
        "rise_min_points": float(mp.get("rise_min_points", 1.0)),
        "rise_min_rated": int(mp.get("rise_min_rated", 2)),
        "trend_months": int(mp.get("trend_months", 6)),
        "confidence": float(s.get("comparison", {}).get("confidence", 0.95)),
    }


def chromium_path() -> str | None:
    """The Chromium used for the PDF: ``$PIPELINES_CHROMIUM`` when set (a path; empty or missing
    means none), else ``/usr/bin/chromium``, else ``chromium`` / ``chromium-browser`` on PATH."""
    env = os.environ.get("PIPELINES_CHROMIUM")
    if env is not None:
        return env if env and os.access(env, os.X_OK) else None
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def parse_date(value: Any, what: str = "date") -> dt.date:
    """A date from ``YYYY-MM-DD`` text (or a date); PackError naming the value otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise PackError(f"{what} {value!r} is not a date (YYYY-MM-DD)") from None


def default_period(as_of: dt.date, weeks: int = 4) -> tuple[dt.date, dt.date]:
    """The last ``weeks`` weeks ending at the as-of date (inclusive)."""
    return as_of - dt.timedelta(days=7 * weeks - 1), as_of


def _missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return bool(math.isnan(v))
    except (TypeError, ValueError):
        return False


def _day(d: Any) -> str:
    if _missing(d):
        return "–"
    d = pd.Timestamp(d)
    return f"{d.day} {d:%b %Y}"


def _month(d: Any) -> str:
    return "–" if _missing(d) else f"{pd.Timestamp(d):%b %Y}"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _ratio(a: Any, b: Any) -> float:
    if _missing(a) or _missing(b) or not b:
        return float("nan")
    return float(a) / float(b)


# ----------------------------------------------------------------------------- the pack


@dataclass(frozen=True)
class Col:
    """A column of a pack table: the value, its kind (how it is formatted), and optionally
    the n behind it, its interval and the previous period's value (shown beside it)."""

    name: str
    label: str
    kind: str = "text"          # text, int, pct, num1, num2, signed2, level, p, date
    n: str | None = None        # column with the n the figure rests on
    n_label: str = ""
    ci: tuple[str, str] | None = None
    prev: str | None = None     # column with the previous period's value


@dataclass
class Table:
    key: str
    title: str
    frame: pd.DataFrame
    columns: list[Col]
    note: str = ""
    empty: str = "None in this period."


@dataclass
class Section:
    key: str
    title: str
    summary: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[tuple[str, go.Figure]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class MeetingPack:
    """Everything a meeting pack shows. The frames are what is shown and exported: with
    ``suppress_small_cells`` small figures are already the text ``"<N"`` and the child-level
    frames (attention, goals_met, reliable_improvements, engagement_rises) hold counts."""

    team: str | None
    therapist: str | None
    date_from: dt.date
    date_to: dt.date
    prev_from: dt.date
    prev_to: dt.date
    as_of: dt.date
    trend_from: dt.date
    suppress_small_cells: bool
    small_cell_min: int
    generated_at: dt.datetime
    attention: pd.DataFrame
    attention_children: pd.DataFrame
    goals_met: pd.DataFrame
    reliable_improvements: pd.DataFrame
    engagement_rises: pd.DataFrame
    caseload: pd.DataFrame
    trends: pd.DataFrame
    trends_by_approach: pd.DataFrame
    approach_effect: pd.DataFrame
    figures: dict[str, go.Figure]
    sections: list[Section]

    @property
    def scope(self) -> str:
        if self.team and self.therapist:
            return f"Team {self.team}, therapist {self.therapist}"
        if self.team:
            return f"Team {self.team}"
        return f"Therapist {self.therapist}"

    @property
    def period(self) -> str:
        return f"{_day(self.date_from)} – {_day(self.date_to)}"

    @property
    def title(self) -> str:
        return f"Meeting pack · {self.scope} · {self.period}"

    @property
    def small_text(self) -> str:
        return f"<{self.small_cell_min}"

    def filters(self) -> analytics.Filters:
        return analytics.Filters(date_from=self.date_from, date_to=self.date_to,
                                 teams=(self.team,) if self.team else (),
                                 therapists=(self.therapist,) if self.therapist else ())

    def file_stem(self) -> str:
        """A file name for downloads: meeting_pack_<scope>_<from>_<to> (letters, digits, - and _ only)."""
        who = "_".join(x for x in (self.team, self.therapist) if x)
        who = re.sub(r"[^A-Za-z0-9_-]+", "-", who).strip("-") or "scope"
        return f"meeting_pack_{who}_{self.date_from}_{self.date_to}"


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


def build_pack(con, team: str | None = None, therapist: str | None = None, date_from: Any = None,
               date_to: Any = None, suppress_small_cells: bool = False) -> MeetingPack:
    """The meeting pack for a team (or a therapist, or a therapist within a team) and a period.

    ``date_from`` / ``date_to`` are inclusive dates (``YYYY-MM-DD`` text is accepted);
    without them the period is the last 4 weeks ending at the latest session loaded. The
    previous period is the one of the same length just before. Raises ``PackError`` (a
    one-line message) for an unknown team or therapist, a therapist with no sessions in the
    team, dates that do not parse, a start after the end or a period outside the data.
    """
    cfg = _settings()
    team, therapist, d_from, d_to, _opts = _validate(con, team, therapist, date_from, date_to)
    f = analytics.Filters(date_from=d_from, date_to=d_to, teams=(team,) if team else (),
                          therapists=(therapist,) if therapist else ())
    prev = f.previous_period()
    as_of = analytics.as_of(con)
    first_month = (pd.Timestamp(d_to).to_period("M") - (cfg["trend_months"] - 1)).to_timestamp().date()
    small = cfg["small_cell_min"]

    # ---- 1. needs attention
    flags = analytics.flags(con, f)
    period_children = analytics.child_trends(con, f)
    attention, attention_children = _attention(flags, period_children)

    # ---- 2. wins
    history = replace(f, date_from=None)
    before = replace(f, date_from=None, date_to=d_from - dt.timedelta(days=1))
    goals_met = _goals_met(analytics.goal_summary(con, history), analytics.goal_summary(con, before),
                           d_from, d_to, cfg["expected_level"])
    reliable = _reliable(analytics.reliable_change(con, history), analytics.reliable_change(con, before), d_from, d_to)
    trend_from = min(d_from, d_to - dt.timedelta(days=7 * cfg["trend_window_weeks"] - 1))
    rises = _engagement_rises(analytics.child_trends(con, replace(f, date_from=trend_from)), period_children,
                              analytics.child_trends(con, prev), cfg, trend_from, d_to)

    # ---- 3. caseload by therapist
    caseload = _caseload(con, f, therapist)

    # ---- 4. trends
    tf = replace(f, date_from=first_month)
    trends = analytics.monthly_trends(con, tf)
    by_app_all = analytics.monthly_trends(con, tf, by="approach")
    shown_app = by_app_all["approach"].isin(["child-led", "directed"]).to_numpy()
    by_app = by_app_all[shown_app].reset_index(drop=True)
    effect = analytics.approach_effects(con, tf)

    if suppress_small_cells:
        attention, attention_children = _suppress_attention(attention, small), pd.DataFrame()
        goals_met = _count_rows(goals_met, "win", small)
        reliable = _count_rows(reliable, "measure", small)
        rises = _count_rows(rises, "evidence", small)
        caseload = _suppress_caseload(caseload, small)
        trends = _suppress_monthly(trends, small)
        by_app = _suppress_by_approach(by_app_all, shown_app, small)
        effect = _suppress_effect(effect, small)

    pack = MeetingPack(
        team=team, therapist=therapist, date_from=d_from, date_to=d_to, prev_from=prev.date_from,
        prev_to=prev.date_to, as_of=as_of, trend_from=first_month, suppress_small_cells=bool(suppress_small_cells),
        small_cell_min=small, generated_at=dt.datetime.now().replace(microsecond=0),
        attention=attention, attention_children=attention_children, goals_met=goals_met,
        reliable_improvements=reliable, engagement_rises=rises, caseload=caseload, trends=trends,
        trends_by_approach=by_app, approach_effect=effect, figures={}, sections=[])
    pack.figures = _figures(pack)
    pack.sections = _sections(pack, cfg, flags, trend_from)
    return pack


# ----------------------------------------------------------------------------- section data


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
    their best level before it (both from ``analytics.goal_summary``)."""
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


def _engagement_rises(trend: pd.DataFrame, cur: pd.DataFrame, prv: pd.DataFrame, cfg: dict,
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
    sig = ((d["trend_n"] >= cfg["trend_min_sessions"]) & (d["trend_tau"] > 0) & (d["trend_slope_per_week"] > 0)
           & (d["trend_p"] < cfg["trend_alpha"])).fillna(False).astype(bool)
    rise = ((d["n_rated_now"] >= cfg["rise_min_rated"]) & (d["n_rated_prev"] >= cfg["rise_min_rated"])
            & (d["change"] >= cfg["rise_min_points"])).fillna(False).astype(bool)
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
        "child_led_share": _ratio(kc.get("attended"), k.get("attended")),
        "share_goals_at_expected": k.get("share_goals_at_expected", np.nan), "n_goals": k.get("n_goals", 0),
        "median_gas_t": k.get("median_gas_t", np.nan), "n_children_gas": k.get("n_children_gas", 0),
    }


CASELOAD_FIGURES = ["n_children", "active_children", "sessions", "attended", "attendance_rate", "mean_engagement",
                    "engagement_ci_lo", "engagement_ci_hi", "n_rated", "n_children_rated", "child_led_attended",
                    "child_led_share", "share_goals_at_expected", "n_goals", "median_gas_t", "n_children_gas"]


def _caseload(con, f: analytics.Filters, therapist: str | None) -> pd.DataFrame:
    """One row per therapist with sessions in the scope in the period or the previous one,
    then the whole scope; each figure for the period and the previous period (``*_prev``).

    Figures for all therapists come from grouped queries (``analytics.kpis_by``), not a
    query per therapist."""
    scope = replace(f, therapists=(therapist,)) if therapist else f

    def by_therapist(ff: analytics.Filters) -> dict[str, tuple[dict, dict]]:
        k = analytics.kpis_by(con, ff, "therapist_id")
        kc = analytics.kpis_by(con, replace(ff, approaches=("child-led",)), "therapist_id")
        kc = {str(r["therapist_id"]): r for r in kc.to_dict("records")}
        return {str(r["therapist_id"]): (r, kc.get(str(r["therapist_id"]), {})) for r in k.to_dict("records")}

    current, previous = by_therapist(scope), by_therapist(scope.previous_period())
    rows = []
    for t in sorted(set(current) | set(previous)):
        k, kc = current.get(t, ({}, {}))
        kp, kcp = previous.get(t, ({}, {}))
        row = {"therapist_id": t, "is_total": False}
        row.update(_kpi_row(k, kc))
        row.update({f"{c}_prev": v for c, v in _kpi_row(kp, kcp).items()})
        rows.append(row)
    if not therapist:
        k = analytics.kpis(con, f)
        kc = analytics.kpis(con, replace(f, approaches=("child-led",)))
        row = {"therapist_id": "All", "is_total": True}
        row.update(_kpi_row(k["current"], kc["current"]))
        row.update({f"{c}_prev": v for c, v in _kpi_row(k["previous"] or {}, kc["previous"] or {}).items()})
        rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- small-cell suppression


def _small(n: Any, small: int) -> bool:
    """A count of children to hide: 1 .. small-1 (zero discloses nobody and stays)."""
    return disclosure.is_small(n, small)


def _count(n: int, small: int) -> int | str:
    return f"<{small}" if _small(n, small) else n


def _beside_total(n: list, small: int) -> list[int | str]:
    """Counts of children per row, the last row their total: "<N" for a small count and
    "hidden" for the rows hidden with it so that the total gives none of them back
    (``disclosure.complementary``)."""
    primary = disclosure.small_mask(n, small)
    last = len(n) - 1
    hidden = disclosure.complementary(n, primary, [np.arange(last)], small, totals=[last]) if last > 0 else primary
    return [f"<{small}" if p else HIDDEN_TEXT if h else v for v, p, h in zip(n, primary, hidden)]


def _suppress_attention(fl: pd.DataFrame, small: int) -> pd.DataFrame:
    """Counts of flagged children per flag (no child rows) and of any flag; small counts as
    "<N", and a second one "hidden" where "Any flag" would give a small one back."""
    out = []
    for title, d in fl.groupby("title", sort=False):
        out.append({"title": title, "severity_label": d["severity_label"].iloc[0], "children": d["child_id"].nunique()})
    n_all = fl["child_id"].nunique() if len(fl) else 0
    out.append({"title": "Any flag", "severity_label": "", "children": n_all})
    res = pd.DataFrame(out, columns=["title", "severity_label", "children"]).astype(object)
    res["children"] = _beside_total(list(res["children"]), small)
    return res


def _count_rows(d: pd.DataFrame, by: str, small: int) -> pd.DataFrame:
    """Counts of children per kind of win and in all (no child rows), as ``_suppress_attention``."""
    out = []
    if len(d):
        for kind, g in d.groupby(by, sort=True):
            out.append({"kind": kind, "children": g["child_id"].nunique(), "rows": len(g)})
    n_all = d["child_id"].nunique() if len(d) else 0
    out.append({"kind": "All", "children": n_all, "rows": len(d)})
    res = pd.DataFrame(out, columns=["kind", "children", "rows"]).astype(object)
    res["children"] = _beside_total(list(res["children"]), small)
    # a row count of few children would give them away too
    hidden = res["children"].map(lambda v: isinstance(v, str))
    res.loc[hidden, "rows"] = res.loc[hidden, "children"]
    return res


# caseload figure -> the column holding the number of children it rests on
_CASELOAD_N = {
    "n_children": "n_children", "active_children": "n_children", "sessions": "n_children", "attended": "n_children",
    "attendance_rate": "n_children", "mean_engagement": "n_children_rated", "engagement_ci_lo": "n_children_rated",
    "engagement_ci_hi": "n_children_rated", "n_rated": "n_children_rated", "n_children_rated": "n_children_rated",
    "child_led_attended": "n_children", "child_led_share": "n_children", "share_goals_at_expected": "n_children_gas",
    "n_goals": "n_children_gas", "median_gas_t": "n_children_gas", "n_children_gas": "n_children_gas",
}


def _suppress_frame(t: pd.DataFrame, figures: dict[str, str], small: int, suffix: str = "",
                    groups: list[np.ndarray] | None = None, totals: list[int | None] | None = None,
                    not_shown: np.ndarray | None = None, out: pd.DataFrame | None = None) -> pd.DataFrame:
    """``t`` with each figure (``figures``: column -> the count of children it rests on)
    replaced by "<N" where that count or the row's children are small (rule 1), and by
    "hidden" where rule 2 hides it: within each of ``groups`` (rows that add up to the
    total at ``totals``), for the row's children and then for each other count. Rows in
    ``not_shown`` are left out of the page but count as hidden rows of their group."""
    out = t.astype(object).copy() if out is None else out
    groups = groups or []
    base = disclosure.small_mask(t["n_children" + suffix], small)
    extra = np.zeros(len(t), bool) if not_shown is None else np.asarray(not_shown, bool)
    hidden = {"n_children": disclosure.complementary(t["n_children" + suffix], base | extra, groups, small, totals)}
    for counter in dict.fromkeys(figures.values()):
        if counter != "n_children":
            own = disclosure.small_mask(t[counter + suffix], small) | hidden["n_children"] | extra
            hidden[counter] = disclosure.complementary(t[counter + suffix], own, groups, small, totals)
    for col, counter in figures.items():
        if col + suffix not in t.columns:
            continue
        primary = disclosure.small_mask(t[counter + suffix], small) | base
        marks = np.where(primary, f"<{small}", HIDDEN_TEXT)
        rows = hidden[counter] & ~extra
        out.loc[out.index[rows], col + suffix] = marks[rows]
    return out


def _suppress_caseload(c: pd.DataFrame, small: int) -> pd.DataFrame:
    """Therapist rows and the whole scope ("All", the total they add up to) of each period."""
    total = np.flatnonzero(c["is_total"].astype(bool).to_numpy())
    rows = np.flatnonzero(~c["is_total"].astype(bool).to_numpy())
    groups, totals = ([rows], [int(total[0])]) if len(total) and len(rows) else ([], [])
    out = c.astype(object).copy()
    for suffix in ("", "_prev"):
        out = _suppress_frame(c, _CASELOAD_N, small, suffix, groups, totals, out=out)
    return out


_MONTHLY_N = {
    "sessions": "n_children", "attended": "n_children", "attendance_rate": "n_children",
    "active_children": "n_children", "n_children": "n_children", "cancelled": "n_children", "no_show": "n_children",
    "mean_engagement": "n_children_rated", "engagement_ci_lo": "n_children_rated",
    "engagement_ci_hi": "n_children_rated", "n_rated": "n_children_rated", "n_children_rated": "n_children_rated",
    # goals of the month: the children behind them are at most the month's children
    "share_goals_at_expected": "n_children", "n_goals": "n_children",
}


def _suppress_monthly(t: pd.DataFrame, small: int) -> pd.DataFrame:
    return _suppress_frame(t, {c: n for c, n in _MONTHLY_N.items() if c in t.columns}, small)


def _suppress_by_approach(t: pd.DataFrame, shown: np.ndarray, small: int) -> pd.DataFrame:
    """The shown approaches (``shown``) per month: within a month the approaches add up to
    the month's total (shown in the monthly table), and the approaches not shown (mixed)
    count as hidden rows of the month."""
    if t.empty:
        return t.iloc[0:0].astype(object)
    months = t["month_start"].to_numpy()
    groups = [np.flatnonzero(months == m) for m in pd.unique(months)]
    out = _suppress_frame(t, {c: n for c, n in _MONTHLY_N.items() if c in t.columns}, small, groups=groups,
                          totals=[None] * len(groups), not_shown=~np.asarray(shown, bool))
    return out[np.asarray(shown, bool)].reset_index(drop=True)


def _suppress_effect(e: pd.DataFrame, small: int) -> pd.DataFrame:
    out = e.astype(object).copy()
    for i, r in e.iterrows():
        if _small(r["n_children"], small):
            for col in ("n_children", "n_sessions", "mean_diff", "ci_lo", "ci_hi", "wilcoxon_p", "d_z"):
                out.at[i, col] = f"<{small}"
        if _small(r["n_children_considered"], small):
            out.at[i, "n_children_considered"] = f"<{small}"
    return out


# ----------------------------------------------------------------------------- figures


def _num(v: Any) -> float:
    """A plottable number: suppressed text ("<5") and missing values become NaN (a gap)."""
    if isinstance(v, str) or _missing(v):
        return float("nan")
    return float(v)


def _nums(s: pd.Series) -> list[float]:
    return [_num(v) for v in s]


def _style(fig: go.Figure, title: str, y: str, height: int, x: str | None = None) -> go.Figure:
    theme.style(fig, title, x=x, y=y, height=height)
    fig.update_layout(width=CHART_WIDTH, autosize=False, margin={"l": 10, "r": 20, "t": 70, "b": 10},
                      font={"size": 12}, title={"font": {"size": 14}})
    return fig


def _n_text(v: Any, small: int) -> str:
    if isinstance(v, str):
        return v
    return "0" if _missing(v) else f"{int(v):,}"


def _month_ticks(fig: go.Figure, months: list, ns: list, unit: str, small: int) -> None:
    fig.update_xaxes(tickvals=months, ticktext=[f"{_month(m)}<br>n={_n_text(n, small)} {unit}" for m, n in zip(months, ns)],
                     title_text="Month (n below each)")


def _engagement_figure(t: pd.DataFrame, small: int) -> go.Figure:
    d = t.sort_values("month_start")
    x = list(pd.to_datetime(d["month_start"]))
    y, lo, hi = _nums(d["mean_engagement"]), _nums(d["engagement_ci_lo"]), _nums(d["engagement_ci_hi"])
    fig = go.Figure()
    fig.add_scatter(x=x + x[::-1], y=hi + lo[::-1], fill="toself", fillcolor="rgba(0,114,178,0.15)",
                    line={"width": 0}, mode="lines", name="95% CI", hoverinfo="skip")
    fig.add_scatter(x=x, y=y, mode="lines+markers+text", name="mean engagement", line={"color": theme.BLUE, "width": 2},
                    text=[("" if math.isnan(v) else f"{v:.2f}") for v in y], textposition="top center",
                    customdata=list(zip([_n_text(v, small) for v in d["n_rated"]],
                                        [_n_text(v, small) for v in d["n_children_rated"]])),
                    hovertemplate="%{x|%b %Y}<br>mean engagement %{y:.2f}<br>n = %{customdata[0]} rated sessions, "
                                  "%{customdata[1]} children<extra></extra>")
    _style(fig, "Mean engagement per month (1–5), with 95% CI", "Mean engagement (1–5)", 330)
    fig.update_yaxes(range=[1, 5.05])
    _month_ticks(fig, x, list(d["n_children_rated"]), "children", small)
    return fig


def _goals_figure(t: pd.DataFrame, small: int) -> go.Figure:
    d = t.sort_values("month_start")
    x = list(pd.to_datetime(d["month_start"]))
    y = _nums(d["share_goals_at_expected"])
    fig = go.Figure()
    fig.add_bar(x=x, y=y, marker_color=theme.BLUISH_GREEN, name="goals at or above expected",
                text=[("" if math.isnan(v) else f"{100 * v:.0f}%") for v in y], textposition="outside",
                customdata=[_n_text(v, small) for v in d["n_goals"]],
                hovertemplate="%{x|%b %Y}<br>%{y:.0%} of goals at or above expected<br>n = %{customdata} goals"
                              "<extra></extra>")
    _style(fig, "Goals at or above the expected GAS level, per month (latest rating in the month)",
           "Share of goals rated (%)", 330)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.1])
    fig.update_layout(showlegend=False)
    _month_ticks(fig, x, list(d["n_goals"]), "goals", small)
    return fig


def _approach_figure(t: pd.DataFrame, small: int) -> go.Figure:
    fig = go.Figure()
    fill = {"child-led": "rgba(213,94,0,0.13)", "directed": "rgba(86,180,233,0.18)"}
    for ap in ("child-led", "directed"):
        d = t[t["approach"] == ap].sort_values("month_start")
        if d.empty:
            continue
        x = list(pd.to_datetime(d["month_start"]))
        y, lo, hi = _nums(d["mean_engagement"]), _nums(d["engagement_ci_lo"]), _nums(d["engagement_ci_hi"])
        fig.add_scatter(x=x + x[::-1], y=hi + lo[::-1], fill="toself", fillcolor=fill[ap], line={"width": 0},
                        mode="lines", name=f"{ap} 95% CI", hoverinfo="skip", showlegend=False)
        n_total = sum(int(v) for v in d["n_rated"] if not isinstance(v, str) and not _missing(v))
        fig.add_scatter(x=x, y=y, mode="lines+markers", name=f"{ap} ({n_total:,} rated sessions)",
                        line={"color": theme.APPROACH_COLORS[ap], "width": 2, "dash": "solid" if ap == "child-led" else "dash"},
                        marker={"symbol": "circle" if ap == "child-led" else "square", "size": 7},
                        customdata=list(zip([_n_text(v, small) for v in d["n_rated"]],
                                            [_n_text(v, small) for v in d["n_children_rated"]])),
                        hovertemplate=f"{ap} · %{{x|%b %Y}}<br>mean engagement %{{y:.2f}}<br>n = %{{customdata[0]}} "
                                      "rated sessions, %{customdata[1]} children<extra></extra>")
    _style(fig, "Engagement in child-led and directed sessions per month (1–5), with 95% CIs",
           "Mean engagement (1–5)", 340, x="Month")
    fig.update_yaxes(range=[1, 5.05])
    fig.update_xaxes(dtick="M1", tickformat="%b %Y")
    fig.update_layout(legend={"title": {"text": ""}})
    return fig


def _caseload_figure(c: pd.DataFrame, small: int) -> go.Figure:
    d = c[~c["is_total"].astype(bool)] if c["is_total"].astype(bool).sum() < len(c) else c
    labels = [html.escape(str(t)) for t in d["therapist_id"]]
    fig = go.Figure()
    prev = _nums(d["mean_engagement_prev"])
    now, lo, hi = _nums(d["mean_engagement"]), _nums(d["engagement_ci_lo"]), _nums(d["engagement_ci_hi"])
    fig.add_scatter(x=prev, y=labels, mode="markers", name="previous period",
                    marker={"symbol": "circle-open", "size": 10, "color": theme.GREY, "line": {"width": 2}},
                    customdata=[_n_text(v, small) for v in d["n_rated_prev"]],
                    hovertemplate="%{y} · previous period<br>mean engagement %{x:.2f}<br>n = %{customdata} rated "
                                  "sessions<extra></extra>")
    fig.add_scatter(x=now, y=labels, mode="markers", name="this period (95% CI)",
                    marker={"symbol": "circle", "size": 10, "color": theme.BLUE},
                    error_x={"type": "data", "symmetric": False,
                             "array": [h - v for h, v in zip(hi, now)], "arrayminus": [v - low for v, low in zip(now, lo)],
                             "color": theme.BLUE, "thickness": 1.5, "width": 4},
                    customdata=[_n_text(v, small) for v in d["n_rated"]],
                    hovertemplate="%{y} · this period<br>mean engagement %{x:.2f}<br>n = %{customdata} rated "
                                  "sessions<extra></extra>")
    # all at once: add_annotation one by one is quadratic in the number of therapists
    fig.update_layout(annotations=[
        {"x": 1.0, "xref": "paper", "xanchor": "left", "y": lab, "text": f"n={_n_text(n, small)}",
         "showarrow": False, "font": {"size": 11, "color": "#333333"}}
        for lab, n in zip(labels, d["n_rated"])])
    _style(fig, "Mean engagement per therapist: this period vs the previous one", "Therapist",
           120 + 45 * max(len(labels), 1), x="Mean engagement (1–5); n = rated sessions this period")
    fig.update_xaxes(range=[1, 5.05])
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=labels[::-1])
    fig.update_layout(margin={"l": 10, "r": 70, "t": 70, "b": 10})
    return fig


def _figures(p: MeetingPack) -> dict[str, go.Figure]:
    small = p.small_cell_min
    figs: dict[str, go.Figure] = {}
    if len(p.caseload):
        figs["caseload_engagement"] = _caseload_figure(p.caseload, small)
    if len(p.trends):
        figs["trend_engagement"] = _engagement_figure(p.trends, small)
        if pd.to_numeric(p.trends["n_goals"], errors="coerce").fillna(0).sum() > 0 or p.suppress_small_cells:
            figs["trend_goals"] = _goals_figure(p.trends, small)
    if len(p.trends_by_approach):
        figs["trend_approach"] = _approach_figure(p.trends_by_approach, small)
    return figs


# ----------------------------------------------------------------------------- sections (what is shown)


def _effect_sentence(e: pd.DataFrame, conf: float, first_month: dt.date, d_to: dt.date) -> str:
    if e.empty:
        return "No child had both child-led and directed sessions rated."
    r = e.iloc[0]
    span = f"{_month(first_month)} – {_day(d_to)}"
    if isinstance(r["n_children"], str):
        return (f"Within-child comparison, {span}: fewer than {r['n_children'][1:]} children had enough sessions "
                "of both approaches; suppressed.")
    if bool(r["estimated"]) and not _missing(r["mean_diff"]):
        p = r["wilcoxon_p"]
        p_txt = "" if _missing(p) else ("; Wilcoxon p < 0.001" if p < 0.001 else f"; Wilcoxon p = {p:.3f}")
        return (f"Within-child comparison, {span}: engagement in child-led sessions was on average "
                f"{r['mean_diff']:+.2f} points against the same children's directed sessions "
                f"({conf:.0%} CI {r['ci_lo']:+.2f} to {r['ci_hi']:+.2f}{p_txt}), n = {int(r['n_children'])} children, "
                f"{int(r['n_sessions']):,} sessions. Observational: therapists chose the approach, so this is "
                "not evidence that the approach causes the difference.")
    return (f"Within-child comparison, {span}: not estimated ({r['reason']}); n = {int(r['n_children'])} "
            "children with enough sessions of both approaches.")


def _approach_wide(t: pd.DataFrame) -> pd.DataFrame:
    """Monthly child-led and directed engagement side by side (one row per month)."""
    cols = ["month_start"] + [f"{p}_{c}" for p in ("child_led", "directed")
                              for c in ("mean", "lo", "hi", "n", "children")]
    if t.empty:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame({"month_start": sorted(t["month_start"].unique())})
    for ap, pre in (("child-led", "child_led"), ("directed", "directed")):
        d = t[t["approach"] == ap].set_index("month_start")
        for src, dst in (("mean_engagement", "mean"), ("engagement_ci_lo", "lo"), ("engagement_ci_hi", "hi"),
                         ("n_rated", "n"), ("n_children_rated", "children")):
            out[f"{pre}_{dst}"] = out["month_start"].map(d[src]) if len(d) else np.nan
    return out[cols]


def _sections(p: MeetingPack, cfg: dict, flags: pd.DataFrame, trend_from: dt.date) -> list[Section]:
    small = p.small_cell_min
    sup = p.suppress_small_cells
    lt = f"<{small}"
    s_flags = settings_mod.load().get("flags", {})
    sections: list[Section] = []

    # 1. needs attention
    sec = Section("attention", "Needs attention")
    n_children = flags["child_id"].nunique() if len(flags) else 0
    sev = flags["severity_label"].value_counts() if len(flags) else pd.Series(dtype=int)
    if sup:
        sec.summary.append(f"Children flagged as of {_day(min(p.date_to, p.as_of))}: {_count(n_children, small)}. "
                           "Child-level rows are left out of this shared pack.")
        sec.tables.append(Table("attention_counts", "Children flagged, by flag", p.attention, [
            Col("title", "Flag"), Col("severity_label", "Severity"), Col("children", "Children", "int")]))
    else:
        if n_children:
            parts = ", ".join(f"{int(sev[k])} {k}" for k in ("high", "medium", "low") if k in sev)
            sec.summary.append(
                f"{_plural(n_children, 'child', 'children')} flagged ({_plural(len(flags), 'flag')}: {parts} "
                f"severity), as of {_day(min(p.date_to, p.as_of))}, most urgent first.")
        else:
            sec.summary.append(f"No child in this scope is flagged as of {_day(min(p.date_to, p.as_of))}.")
        sec.tables.append(Table("attention_children", "Flagged children", p.attention_children, [
            Col("child_id", "Child"), Col("severity_label", "Severity"), Col("flags", "Flags"),
            Col("therapist_id", "Therapist"), Col("modality", "Modality"), Col("age_group", "Age group"),
            Col("sessions", "Sessions in period", "int"), Col("attended", "Attended", "int"),
            Col("mean_engagement", "Mean engagement", "num2", n="n_rated", n_label="rated"),
            Col("last_session", "Last session", "date")], empty="No child flagged."))
        sec.tables.append(Table("attention_flags", "Flags and reasons", p.attention, [
            Col("child_id", "Child"), Col("severity_label", "Severity"), Col("title", "Flag"), Col("reason", "Why"),
            Col("since", "Since", "date"), Col("n", "n", "int"), Col("value", "Value", "num2"),
            Col("threshold", "Threshold", "num2"), Col("therapist_id", "Therapist")], empty="No flags."))
    sec.notes.append(
        f"Flags are worked out as of the period's end by the practice rules in settings.toml: engagement falling "
        f"over the last {s_flags.get('engagement_window_weeks', 8)} weeks (Mann-Kendall), no GAS improvement for "
        f"{s_flags.get('gas_stall_weeks', 12)}+ weeks, attendance under "
        f"{float(s_flags.get('attendance_min_rate', 0.75)):.0%}, no attended session for "
        f"{s_flags.get('dropout_days', 30)} days, no goal rating for {s_flags.get('rating_gap_days', 60)} days, "
        "reliable deterioration on a standardised measure.")
    sections.append(sec)

    # 2. wins
    sec = Section("wins", "Wins")
    weeks = (p.date_to - trend_from).days // 7 + 1
    if sup:
        sec.summary.append("Counts of children; child-level rows are left out of this shared pack.")
        for key, title, frame in (("goals", "Goals newly met or exceeded", p.goals_met),
                                  ("reliable", "Reliable improvements on a measure", p.reliable_improvements),
                                  ("engagement", "Engagement rose", p.engagement_rises)):
            sec.tables.append(Table(f"wins_{key}_counts", title, frame, [
                Col("kind", "Kind"), Col("children", "Children", "int"), Col("rows", "Goals or measures", "int")]))
    else:
        n_g, n_r, n_e = len(p.goals_met), len(p.reliable_improvements), len(p.engagement_rises)
        sec.summary.append(
            f"{_plural(n_g, 'goal')} newly met or exceeded, {_plural(n_r, 'reliable improvement')} on a "
            f"standardised measure and {_plural(n_e, 'child', 'children')} whose engagement rose, {p.period}.")
        sec.tables.append(Table("wins_goals", "Goals newly met or exceeded", p.goals_met, [
            Col("child_id", "Child", "id"), Col("goal_id", "Goal", "id"), Col("domain", "Domain"),
            Col("therapist_id", "Therapist", "id"), Col("win", "Win (best level)", "id"),
            Col("best_before", "Best before", "level"), Col("last_level", "Latest", "level"),
            Col("last_date", "Latest rating", "date"), Col("weeks_to_met", "Weeks to met", "num1"),
            Col("n_ratings", "Ratings", "int")],
            note=f"Met = rated at or above the expected GAS level ({cfg['expected_level']:+d}) for the first time in "
                 "the period; exceeded = rated above it for the first time. Best before = best level before the "
                 "period (– = not rated before); weeks to met = from the goal's first rating."))
        sec.tables.append(Table("wins_reliable", "Reliable improvements on a standardised measure",
                                p.reliable_improvements, [
            Col("child_id", "Child", "id"), Col("measure", "Measure", "id"), Col("therapist_id", "Therapist", "id"),
            Col("first_date", "First", "date"), Col("first_score", "First score", "num1"),
            Col("last_date", "Latest", "date"), Col("last_score", "Latest score", "num1"),
            Col("change", "Change", "signed2"), Col("rci", "RCI", "signed2"),
            Col("n_administrations", "Administrations", "int"), Col("new", "New this period", "bool")],
            note="Jacobson & Truax reliable change, first vs latest administration; the latest is in the period. "
                 "|RCI| > 1.96 is reliable; the direction that counts as better comes from reference/measures.csv."))
        sec.tables.append(Table("wins_engagement", "Children whose engagement rose", p.engagement_rises, [
            Col("child_id", "Child", "id"), Col("therapist_id", "Therapist", "id"), Col("evidence", "Evidence"),
            Col("trend_slope_per_week", "Trend (points/week)", "signed2", n="trend_n", n_label="rated",
                ci=("trend_slope_lo", "trend_slope_hi")),
            Col("trend_p", "Trend p", "p"),
            Col("mean_prev", "Mean before", "num2", n="n_rated_prev", n_label="rated"),
            Col("mean_now", "Mean now", "num2", n="n_rated_now", n_label="rated"),
            Col("change", "Change", "signed2")],
            note=f"Significant upward trend: Mann-Kendall tau > 0 with p < {cfg['trend_alpha']:g} and a Theil-Sen "
                 f"slope above 0 over "
                 f"{_day(trend_from)} – {_day(p.date_to)} ({weeks} weeks), at least {cfg['trend_min_sessions']} rated "
                 f"sessions; the slope is shown with its {cfg['confidence']:.0%} CI. Clear rise: the period's mean "
                 f"engagement at least {cfg['rise_min_points']:g} point(s) above the previous period's "
                 f"({_day(p.prev_from)} – {_day(p.prev_to)}), each mean resting on at least {cfg['rise_min_rated']} "
                 "rated sessions."))
    sections.append(sec)

    # 3. caseload
    sec = Section("caseload", "Caseload by therapist")
    sec.summary.append(f"{p.period} against the previous period of the same length, "
                       f"{_day(p.prev_from)} – {_day(p.prev_to)} (shown as \u201cprev\u201d under each figure).")
    sec.tables.append(Table("caseload", "Caseload by therapist", p.caseload, [
        Col("therapist_id", "Therapist", "id"),
        Col("n_children", "Children", "int", prev="n_children_prev"),
        Col("sessions", "Sessions", "int", prev="sessions_prev"),
        Col("attendance_rate", "Attendance", "pct", n="sessions", n_label="sched.", prev="attendance_rate_prev"),
        Col("mean_engagement", "Mean engagement (1–5)", "num2", n="n_rated", n_label="rated",
            ci=("engagement_ci_lo", "engagement_ci_hi"), prev="mean_engagement_prev"),
        Col("child_led_share", "Child-led share", "pct", n="attended", n_label="attended",
            prev="child_led_share_prev"),
        Col("share_goals_at_expected", "Goals at/above expected", "pct", n="n_goals", n_label="goals",
            prev="share_goals_at_expected_prev")],
        note="Children: with a scheduled session. Attendance: attended of scheduled sessions. Child-led share: of "
             f"attended sessions. Goals: latest rating in the period at or above the expected level. "
             f"{cfg['confidence']:.0%} CI of mean engagement with child-clustered standard errors. \u201cAll\u201d "
             "is the whole scope."))
    if "caseload_engagement" in p.figures:
        sec.figures.append(("caseload_engagement", p.figures["caseload_engagement"]))
    sections.append(sec)

    # 4. trends
    sec = Section("trends", "Team trends" if p.team else "Trends")
    sec.summary.append(f"Per month, {_month(p.trend_from)} – {_day(p.date_to)} (the last month may be partial).")
    sec.summary.append(_effect_sentence(p.approach_effect, cfg["confidence"], p.trend_from, p.date_to))
    for key in ("trend_engagement", "trend_goals", "trend_approach"):
        if key in p.figures:
            sec.figures.append((key, p.figures[key]))
    sec.tables.append(Table("trends_monthly", "Per month", p.trends, [
        Col("month_start", "Month", "month"), Col("n_children", "Children", "int"),
        Col("sessions", "Sessions", "int"), Col("attendance_rate", "Attendance", "pct"),
        Col("mean_engagement", "Mean engagement", "num2", n="n_rated", n_label="rated",
            ci=("engagement_ci_lo", "engagement_ci_hi")),
        Col("share_goals_at_expected", "Goals at/above expected", "pct", n="n_goals", n_label="goals")],
        empty="No sessions in these months."))
    sec.tables.append(Table("trends_approach", "Engagement in child-led and directed sessions per month",
                            _approach_wide(p.trends_by_approach), [
        Col("month_start", "Month", "month"),
        Col("child_led_mean", "Child-led mean (1–5)", "num2", n="child_led_n", n_label="rated",
            ci=("child_led_lo", "child_led_hi")),
        Col("child_led_children", "Child-led: children", "int"),
        Col("directed_mean", "Directed mean (1–5)", "num2", n="directed_n", n_label="rated",
            ci=("directed_lo", "directed_hi")),
        Col("directed_children", "Directed: children", "int")],
        note="Means of session ratings with 95% CIs (child-clustered standard errors). Between-session "
             "comparison: different children can be in each column; the within-child difference is below.",
        empty="No child-led or directed sessions in these months."))
    sec.tables.append(Table("trends_effect", "Within-child difference, child-led − directed", p.approach_effect, [
        Col("n_children", "Children compared", "int"), Col("n_children_considered", "Children considered", "int"),
        Col("n_sessions", "Sessions", "int"),
        Col("mean_diff", "Mean difference (points)", "signed2", ci=("ci_lo", "ci_hi")),
        Col("wilcoxon_p", "Wilcoxon p", "p"), Col("d_z", "d_z", "signed2"), Col("reason", "Not estimated because")],
        note="Each child with enough rated sessions of both approaches gives one difference (mean child-led minus "
             f"mean directed engagement); bootstrap {cfg['confidence']:.0%} CI. Practice data, not a trial.",
        empty="No child had both approaches rated."))
    if sup:
        sec.notes.append(f"Figures resting on fewer than {small} children show as {lt} and are left out of the charts; "
                         f"\u201c{HIDDEN_TEXT}\u201d: hidden so that a {lt} figure cannot be worked out from a total.")
    sections.append(sec)
    return sections


# ----------------------------------------------------------------------------- formatting


def _fmt(v: Any, kind: str) -> str:
    """A cell as text for the HTML pack; text (e.g. "<5") passes through."""
    if isinstance(v, str):
        return v
    if _missing(v):
        return "–"
    if kind == "int":
        return f"{int(v):,}"
    if kind == "pct":
        return f"{100 * float(v):.0f}%"
    if kind == "num1":
        return f"{float(v):.1f}"
    if kind == "num2":
        return f"{float(v):.2f}"
    if kind == "signed2":
        return f"{float(v):+.2f}"
    if kind == "level":
        return f"{int(v):+d}" if int(v) else "0"
    if kind == "p":
        return "< 0.001" if float(v) < 0.001 else f"{float(v):.3f}"
    if kind == "date":
        return _day(v)
    if kind == "id":
        return str(v)
    if kind == "month":
        return _month(v)
    if kind == "bool":
        return "yes" if bool(v) else "no"
    return str(v)


def _delta(now: Any, prev: Any, kind: str) -> str:
    if isinstance(now, str) or isinstance(prev, str) or _missing(now) or _missing(prev):
        return ""
    d = float(now) - float(prev)
    if kind == "pct":
        return f"{100 * d:+.0f} pp"
    if kind == "int":
        return f"{int(round(d)):+,}"
    return f"{d:+.2f}"


def table_text(t: Table) -> pd.DataFrame:
    """A table as the pack prints it, one text cell per column (value, interval, n and the
    previous period's value together), for showing on a page."""
    rows = []
    for _, r in t.frame.iterrows():
        row = {}
        for c in t.columns:
            v = r.get(c.name)
            txt = _fmt(v, c.kind)
            if c.ci and not isinstance(v, str) and not _missing(v):
                lo, hi = r.get(c.ci[0]), r.get(c.ci[1])
                if not any(isinstance(x, str) or _missing(x) for x in (lo, hi)):
                    txt += f" ({_fmt(lo, c.kind)} to {_fmt(hi, c.kind)})"
            if c.n:
                txt += f" · n = {_fmt(r.get(c.n), 'int')} {c.n_label}".rstrip()
            if c.prev:
                pv = r.get(c.prev)
                d = _delta(v, pv, c.kind)
                txt += f" · prev {_fmt(pv, c.kind)}" + (f" ({d})" if d else "")
            row[c.label] = txt
        rows.append(row)
    return pd.DataFrame(rows, columns=[c.label for c in t.columns])


# ----------------------------------------------------------------------------- HTML


_CSS = """
:root { --ink: #1a1a1a; --muted: #5a5a5a; --rule: #d9d9d9; --accent: #0072B2; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "Helvetica Neue", Arial, "Liberation Sans", sans-serif; color: var(--ink); font-size: 10.5pt;
       line-height: 1.4; margin: 0 auto; padding: 24px 16px 48px; max-width: 760px; background: #fff; }
header.pack { border-bottom: 3px solid var(--accent); padding-bottom: 10px; margin-bottom: 14px; }
header.pack .kicker { font-size: 9pt; letter-spacing: .08em; text-transform: uppercase; color: var(--accent); }
header.pack h1 { font-size: 19pt; margin: 2px 0 6px; }
header.pack dl { display: grid; grid-template-columns: max-content 1fr; gap: 1px 14px; margin: 0; font-size: 9.5pt; }
header.pack dt { color: var(--muted); }
header.pack dd { margin: 0; }
.shared { border: 1px solid #E69F00; background: #FFF6E0; padding: 6px 10px; margin: 8px 0; font-size: 9.5pt; }
section.pack-section { padding-top: 4px; }
section.pack-section + section.pack-section { break-before: page; page-break-before: always; margin-top: 36px; }
h2 { font-size: 15pt; margin: 6px 0 6px; color: var(--accent); border-bottom: 1px solid var(--rule); padding-bottom: 3px; }
h3 { font-size: 11pt; margin: 14px 0 4px; break-after: avoid; page-break-after: avoid; }
p.summary { margin: 4px 0 8px; }
p.note, .notes p { color: var(--muted); font-size: 8.5pt; margin: 3px 0 8px; }
p.note { break-before: avoid; page-break-before: avoid; }
.tbl.keep { break-inside: avoid; page-break-inside: avoid; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; margin: 2px 0 4px; }
thead { display: table-header-group; }
th { text-align: left; font-weight: 600; border-bottom: 1.5px solid #777; padding: 3px 4px; vertical-align: bottom; }
td { border-bottom: 1px solid var(--rule); padding: 3px 4px; vertical-align: top; }
tr { break-inside: avoid; page-break-inside: avoid; }
td.num, th.num { text-align: right; white-space: nowrap; }
td .n, td .prev { display: block; color: var(--muted); font-size: 7.5pt; white-space: nowrap; }
td .ci { color: var(--muted); font-size: 7.5pt; white-space: nowrap; }
td.nw { white-space: nowrap; }
tr.total td { font-weight: 600; border-top: 1.5px solid #777; }
p.empty { color: var(--muted); font-style: italic; margin: 2px 0 8px; }
.child { border: 1px solid var(--rule); border-left: 5px solid #8C8C8C; padding: 5px 9px; margin: 6px 0;
         break-inside: avoid; page-break-inside: avoid; }
.child.high { border-left-color: #D55E00; } .child.medium { border-left-color: #E69F00; } .child.low { border-left-color: #56B4E9; }
.child .head { font-weight: 600; }
.child .head .sev { display: inline-block; font-size: 8pt; padding: 0 6px; margin-left: 6px; border-radius: 3px;
                    color: #fff; background: #8C8C8C; vertical-align: 1px; }
.child.high .sev { background: #D55E00; } .child.medium .sev { background: #9E6B00; } .child.low .sev { background: #2A7FB0; }
.child .meta { color: var(--muted); font-size: 8.5pt; }
.child ul { margin: 3px 0 0; padding-left: 18px; }
.child li { margin: 2px 0; }
.figure { width: 680px; max-width: 100%; margin: 8px 0 4px; break-inside: avoid; page-break-inside: avoid; }
.chart { width: 680px; }
footer.pack { margin-top: 24px; color: var(--muted); font-size: 8pt; border-top: 1px solid var(--rule); padding-top: 6px; }
@page { size: A4; margin: 14mm 12mm 16mm 12mm; }
@media print {
  body { padding: 0; max-width: none; font-size: 9.5pt; }
  section.pack-section + section.pack-section { margin-top: 0; }
  .modebar-container, .modebar { display: none !important; }
  a { color: inherit; text-decoration: none; }
}
"""


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal: everything but letters, digits and spaces hex-escaped."""
    # a hex escape ends at the first space after it, so every escape gets one of its own
    return '"' + "".join(c if (c.isalnum() and c.isascii()) or c == " " else f"\\{ord(c):06x} " for c in text) + '"'


def _cell_html(r: pd.Series, c: Col) -> tuple[str, bool]:
    v = r.get(c.name)
    numeric = c.kind not in ("text", "id", "date", "month", "bool")
    parts = [html.escape(_fmt(v, c.kind))]
    if c.ci and not isinstance(v, str) and not _missing(v):
        lo, hi = r.get(c.ci[0]), r.get(c.ci[1])
        if not (_missing(lo) or _missing(hi) or isinstance(lo, str) or isinstance(hi, str)):
            parts.append(f' <span class="ci">({html.escape(_fmt(lo, c.kind))} to {html.escape(_fmt(hi, c.kind))})</span>')
    if c.n:
        n = r.get(c.n)
        parts.append(f'<span class="n">n = {html.escape(_fmt(n, "int"))} {html.escape(c.n_label)}</span>')
    if c.prev:
        pv = r.get(c.prev)
        d = _delta(v, pv, c.kind)
        parts.append(f'<span class="prev">prev {html.escape(_fmt(pv, c.kind))}{" · " + html.escape(d) if d else ""}'
                     "</span>")
    return "".join(parts), numeric


def _table_html(t: Table) -> str:
    out = [f"<h3>{html.escape(t.title)}</h3>"]
    if t.frame is None or t.frame.empty:
        out.append(f'<p class="empty">{html.escape(t.empty)}</p>')
    else:
        head = "".join(f'<th class="{"num" if c.kind not in ("text", "id", "date", "month", "bool") else ""}">'
                       f"{html.escape(c.label)}</th>" for c in t.columns)
        rows = []
        for _, r in t.frame.iterrows():
            cells = []
            for c in t.columns:
                content, numeric = _cell_html(r, c)
                cls = "num" if numeric else ("nw" if c.kind in ("id", "date", "month") else "")
                cells.append(f'<td class="{cls}">{content}</td>')
            cls = ' class="total"' if bool(r.get("is_total", False)) else ""
            rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
        out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    if t.note:
        out.append(f'<p class="note">{html.escape(t.note)}</p>')
    # a short table stays on one page with its title and note; a long one keeps its note with its last rows
    short = t.frame is None or len(t.frame) <= 16
    return f'<div class="tbl{" keep" if short else ""}">' + "\n".join(out) + "</div>"


def _attention_html(p: MeetingPack) -> str:
    """One card per flagged child, most urgent first: who, figures in the period, each flag's reason."""
    if p.attention_children.empty:
        return '<p class="empty">No child flagged.</p>'
    by_child = {c: d for c, d in p.attention.groupby("child_id", sort=False)}
    cards = []
    for _, r in p.attention_children.iterrows():
        sev = str(r["severity_label"])
        meta = " · ".join(html.escape(str(x)) for x in (r["therapist_id"], r["modality"], f"age {r['age_group']}")
                          if not _missing(x))
        if int(r["sessions"]):
            eng = (f", mean engagement {r['mean_engagement']:.2f} (n = {int(r['n_rated'])} rated)"
                   if not _missing(r["mean_engagement"]) else "")
            period = f"In the period: {int(r['attended'])} of {int(r['sessions'])} sessions attended{eng}."
        else:
            period = f"No session in the period (last: {_day(r['last_session'])})." if not _missing(
                r["last_session"]) else "No session in the period."
        items = []
        for _, fr in by_child.get(r["child_id"], pd.DataFrame()).iterrows():
            since = f" <span class=\"meta\">(since {html.escape(_day(fr['since']))})</span>" if not _missing(
                fr["since"]) else ""
            items.append(f"<li><b>{html.escape(str(fr['title']))}</b> [{html.escape(str(fr['severity_label']))}]: "
                         f"{html.escape(str(fr['reason']))}{since}</li>")
        cards.append(
            f'<div class="child {html.escape(sev)}"><div class="head">{html.escape(str(r["child_id"]))}'
            f'<span class="sev">{html.escape(sev)}</span> <span class="meta">{meta}</span></div>'
            f'<div class="meta">{html.escape(period)}</div><ul>{"".join(items)}</ul></div>')
    return "\n".join(cards)


def _figure_json(fig: go.Figure) -> str:
    # plotly's JSON escapes < > & already; escape again so no "</script>" can ever appear
    return pio.to_json(fig, validate=False).replace("<", "\\u003c").replace(">", "\\u003e")


def render_html(pack: MeetingPack) -> str:
    """The pack as one self-contained HTML document: plotly.js inlined, charts interactive,
    no request to any network; printing it (browser or ``render_pdf``) puts each section
    on a new page."""
    esc = html.escape
    charts: list[tuple[str, str]] = []
    body: list[str] = []
    eff_to = min(pack.date_to, pack.as_of) if pack.as_of else pack.date_to
    meta = [("Scope", pack.scope), ("Period", pack.period),
            ("Compared with", f"{_day(pack.prev_from)} – {_day(pack.prev_to)} (previous period, same length)"),
            ("Data up to", f"{_day(pack.as_of)}" + (" (flags as of this date)" if eff_to < pack.date_to else "")),
            ("Trends from", _month(pack.trend_from)),
            ("Generated", pack.generated_at.strftime("%Y-%m-%d %H:%M"))]
    body.append('<header class="pack"><div class="kicker">Team meeting pack</div>'
                f"<h1>{esc(pack.scope)}</h1><dl>"
                + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in meta) + "</dl>"
                + ('<div class="shared"><b>Shared version:</b> figures resting on fewer than '
                   f"{pack.small_cell_min} children show as {esc(pack.small_text)}; a figure shown as "
                   f"\u201c{HIDDEN_TEXT}\u201d is hidden so that a {esc(pack.small_text)} one cannot be worked out "
                   "from a total; child-level lists are replaced by counts.</div>" if pack.suppress_small_cells else
                   '<div class="shared">Internal to the team: lists pseudonymous child ids. For a pack shared beyond '
                   "the team, make the suppressed version.</div>")
                + "</header>")
    for i, sec in enumerate(pack.sections, start=1):
        parts = [f'<section class="pack-section" id="{esc(sec.key)}"><h2>{i} · {esc(sec.title)}</h2>']
        parts += [f'<p class="summary">{esc(s)}</p>' for s in sec.summary]
        if sec.key == "attention" and not pack.suppress_small_cells:
            parts.append(_attention_html(pack))  # the cards hold both tables' content
        elif sec.key == "trends":
            for key, fig in sec.figures:
                div = f"chart-{key}"
                charts.append((div, _figure_json(fig)))
                parts.append(f'<div class="figure"><div class="chart" id="{div}"></div></div>')
            parts += [_table_html(t) for t in sec.tables]
        else:
            parts += [_table_html(t) for t in sec.tables]
            for key, fig in sec.figures:
                div = f"chart-{key}"
                charts.append((div, _figure_json(fig)))
                parts.append(f'<div class="figure"><div class="chart" id="{div}"></div></div>')
        if sec.notes:
            parts.append('<div class="notes">' + "".join(f"<p>{esc(n)}</p>" for n in sec.notes) + "</div>")
        parts.append("</section>")
        body.append("\n".join(parts))
    body.append('<footer class="pack">Pseudonymous ids only. Figures from the practice warehouse via the analytics '
                "layer (analytics/); thresholds and minimum n in settings.toml. n = the count each figure "
                "rests on.</footer>")
    footer_left = _css_string(f"{pack.scope} · {pack.period}")
    box = 'font-family: "Helvetica Neue", Arial, "Liberation Sans", sans-serif; font-size: 8pt; color: #5a5a5a;'
    page_css = ("@page { @bottom-left { content: " + footer_left + "; " + box + " } "
                "@bottom-right { content: \"page \" counter(page) \" of \" counter(pages); " + box + " } }")
    calls = ",\n".join(f'  ["{div}", {js}]' for div, js in charts)
    script = f"""
(function () {{
  var figs = [
{calls}
  ];
  var cfg = {{displaylogo: false, responsive: false, modeBarButtonsToRemove: ["sendDataToCloud"]}};
  var done = [];
  figs.forEach(function (f) {{
    var el = document.getElementById(f[0]);
    done.push(Plotly.newPlot(el, f[1].data, f[1].layout, cfg));
  }});
  Promise.all(done).then(function () {{ document.documentElement.setAttribute("data-charts-ready", "1"); }},
                         function (e) {{ document.documentElement.setAttribute("data-charts-ready", "error");
                                         console.error(e); }});
}})();
"""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        # no request leaves the file: no favicon lookup, no external anything
        "<link rel=\"icon\" href=\"data:,\">"
        f"<title>{esc(pack.title)}</title><style>{_CSS}\n{page_css}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>\n"
        + "\n".join(body)
        + f"\n<script>{script}</script>\n</body></html>\n")


# ----------------------------------------------------------------------------- PDF


def _print_with_playwright(src: Path, out: Path, exe: str, timeout_s: float) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=BROWSER_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 1100})
            page.goto(src.as_uri(), wait_until="load", timeout=timeout_s * 1000)
            page.wait_for_selector("html[data-charts-ready]", timeout=timeout_s * 1000, state="attached")
            if page.get_attribute("html", "data-charts-ready") != "1":
                raise RuntimeError("the pack's charts failed to draw in Chromium")
            page.emulate_media(media="print")
            page.pdf(path=str(out), prefer_css_page_size=True, print_background=True)
        finally:
            browser.close()


def _print_with_cli(src: Path, out: Path, exe: str, timeout_s: float) -> None:
    cmd = [exe, *BROWSER_ARGS, "--no-pdf-header-footer", "--virtual-time-budget=15000",
           f"--print-to-pdf={out}", src.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    if res.returncode != 0 or not out.exists():
        raise RuntimeError(f"chromium could not print the pack (exit {res.returncode}): {res.stderr.strip()[-300:]}")


def render_pdf(html_text: str, path: str | Path, chromium: str | None = None, timeout_s: float = 120) -> Path:
    """Print the pack's HTML to ``path`` (A4, one section per page) with headless Chromium.

    Uses Playwright driving the system Chromium (never a downloaded one) and waits until
    every chart is drawn; without the playwright package, Chromium's own ``--print-to-pdf``.
    Raises ``ChromiumMissing`` (with how to install it) when there is no Chromium.
    """
    exe = chromium or chromium_path()
    if not exe:
        raise ChromiumMissing(f"no Chromium found (/usr/bin/chromium): {CHROMIUM_HINT}")
    out = Path(path).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="meeting-pack-") as tmp:
        src = Path(tmp) / "pack.html"
        src.write_text(html_text, encoding="utf-8")
        try:
            import playwright.sync_api  # noqa: F401
            printer = _print_with_playwright
        except ImportError:
            printer = _print_with_cli
        # a thread of its own: Playwright's sync API refuses to run inside a running event loop
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(printer, src, out, exe, timeout_s).result()
    return out


# ----------------------------------------------------------------------------- Excel


_XL_FORMATS = {"int": "#,##0", "pct": "0.0%", "num1": "0.0", "num2": "0.00", "signed2": "+0.00;-0.00;0.00",
               "level": "+0;-0;0", "p": "0.0000", "date": "yyyy-mm-dd", "month": "mmm yyyy"}


class _Sheet:
    """Writes rows into an xlsxwriter worksheet: text always as a safe string, numbers as numbers."""

    def __init__(self, wb, name: str, formats: dict) -> None:
        self.ws = wb.add_worksheet(name)
        self.f = formats
        self.row = 0
        self.widths: dict[int, int] = {}

    def text(self, col: int, value: Any, fmt: str | None = None) -> None:
        s = cells.safe_cell(str(value))
        self.ws.write_string(self.row, col, s, self.f.get(fmt) if fmt else None)
        if fmt not in ("title", "h2", "muted"):
            self.widths[col] = max(self.widths.get(col, 8), min(len(s) + 2, 60))

    def value(self, col: int, v: Any, kind: str) -> None:
        if isinstance(v, str):
            self.text(col, v)
        elif _missing(v):
            self.ws.write_blank(self.row, col, None)
        elif kind in ("date", "month"):
            self.ws.write_datetime(self.row, col, pd.Timestamp(v).to_pydatetime(), self.f[kind])
            self.widths[col] = max(self.widths.get(col, 8), 12)
        elif kind == "bool" or isinstance(v, (bool, np.bool_)):
            self.text(col, "yes" if bool(v) else "no")
        elif kind in ("text", "id"):
            self.text(col, v)
        else:
            self.ws.write_number(self.row, col, float(v), self.f.get(kind))

    def next(self, n: int = 1) -> None:
        self.row += n

    def finish(self) -> None:
        for col, w in self.widths.items():
            self.ws.set_column(col, col, w)


def _excel_columns(t: Table) -> list[tuple[str, str, str]]:
    """(column, header, kind) for the workbook: each figure's n, interval and previous value apart."""
    out = []
    for c in t.columns:
        out.append((c.name, c.label, c.kind))
        if c.ci:
            out.append((c.ci[0], f"{c.label}: CI low", c.kind))
            out.append((c.ci[1], f"{c.label}: CI high", c.kind))
        if c.n:
            out.append((c.n, f"{c.label}: n {c.n_label}".rstrip(), "int"))
        if c.prev:
            out.append((c.prev, f"{c.label}: previous period", c.kind))
            out.append(("__delta__" + c.name, f"{c.label}: change", "pct_pp" if c.kind == "pct" else c.kind))
    return out


def _write_table(sh: _Sheet, t: Table) -> None:
    sh.text(0, t.title, "h2")
    sh.next()
    if t.frame is None or t.frame.empty:
        sh.text(0, t.empty, "muted")
        sh.next(2)
        return
    cols = _excel_columns(t)
    for j, (_, header, _) in enumerate(cols):
        sh.text(j, header, "header")
    sh.next()
    for _, r in t.frame.iterrows():
        for j, (name, _, kind) in enumerate(cols):
            if name.startswith("__delta__"):
                base = name[len("__delta__"):]
                prev = next(c.prev for c in t.columns if c.name == base)
                now, pv = r.get(base), r.get(prev)
                if isinstance(now, str) or isinstance(pv, str) or _missing(now) or _missing(pv):
                    sh.ws.write_blank(sh.row, j, None)
                else:
                    sh.ws.write_number(sh.row, j, float(now) - float(pv),
                                       sh.f["pct_pp"] if kind == "pct_pp" else sh.f.get(kind))
            else:
                sh.value(j, r.get(name), kind)
        sh.next()
    if t.note:
        sh.text(0, t.note, "muted")
        sh.next()
    sh.next()


def write_excel(pack: MeetingPack, path: str | Path | io.BytesIO) -> None:
    """The pack's tables as an Excel workbook: an About sheet, then one sheet per section.

    Every text cell goes through ``cells.safe_cell`` and ``write_string`` (a value such as
    ``=cmd|...`` stays text, prefixed with ``'``); numbers are numbers, dates are dates."""
    import xlsxwriter

    target = path if isinstance(path, io.BytesIO) else str(path)
    wb = xlsxwriter.Workbook(target, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                      "strings_to_numbers": False})
    try:
        formats = {k: wb.add_format({"num_format": v}) for k, v in _XL_FORMATS.items()}
        formats["pct_pp"] = wb.add_format({"num_format": '+0.0%;-0.0%;0.0%'})
        formats["title"] = wb.add_format({"bold": True, "font_size": 14, "font_color": "#0072B2"})
        formats["h2"] = wb.add_format({"bold": True, "font_size": 12})
        formats["header"] = wb.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "bottom"})
        formats["muted"] = wb.add_format({"italic": True, "font_color": "#5A5A5A"})
        formats["label"] = wb.add_format({"bold": True})

        sh = _Sheet(wb, "About", formats)
        sh.text(0, "Team meeting pack", "title")
        sh.next(2)
        about = [("Team", pack.team or ""), ("Therapist", pack.therapist or "(all in the team)"),
                 ("Period from", pack.date_from), ("Period to", pack.date_to),
                 ("Previous period from", pack.prev_from), ("Previous period to", pack.prev_to),
                 ("Data up to", pack.as_of), ("Trends from", pack.trend_from),
                 ("Small cells suppressed", "yes" if pack.suppress_small_cells else "no"),
                 ("Small-cell minimum (children)", pack.small_cell_min),
                 ("Generated", pack.generated_at.strftime("%Y-%m-%d %H:%M"))]
        for label, v in about:
            sh.text(0, label, "label")
            sh.value(1, v, "date" if isinstance(v, dt.date) else ("int" if isinstance(v, int) else "text"))
            sh.next()
        sh.next()
        sh.text(0, "Pseudonymous ids only. One sheet per section; n columns give the count each figure rests on.",
                "muted")
        sh.finish()
        sheet_names = {"attention": "Needs attention", "wins": "Wins", "caseload": "Caseload",
                       "trends": "Team trends"}
        for sec in pack.sections:
            sh = _Sheet(wb, sheet_names.get(sec.key, sec.key[:31]), formats)
            sh.text(0, f"{sec.title} · {pack.scope} · {pack.period}", "title")
            sh.next()
            for s in sec.summary:
                sh.text(0, s, "muted")
                sh.next()
            sh.next()
            for t in sec.tables:
                _write_table(sh, t)
            for n in sec.notes:
                sh.text(0, n, "muted")
                sh.next()
            sh.finish()
            sh.ws.set_column(0, 0, max(sh.widths.get(0, 10), 12))
    finally:
        wb.close()


def write_all(pack: MeetingPack, out_dir: str | Path, pdf: bool = True) -> dict[str, Path | str]:
    """pack.html, pack.xlsx and (when Chromium is there) pack.pdf in ``out_dir``.

    Returns {"html": path, "xlsx": path, "pdf": path or the reason it was not written}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = render_html(pack)
    result: dict[str, Path | str] = {}
    (out / "pack.html").write_text(text, encoding="utf-8")
    result["html"] = out / "pack.html"
    write_excel(pack, out / "pack.xlsx")
    result["xlsx"] = out / "pack.xlsx"
    if pdf:
        try:
            result["pdf"] = render_pdf(text, out / "pack.pdf")
        except ChromiumMissing as exc:
            result["pdf"] = str(exc)
    return result
