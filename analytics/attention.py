"""Needs-attention flags (``compute_flags``, ``flags``) and the plain-language reason of each.

(Named ``attention``, not ``flags``: ``analytics.flags`` is the page function.)
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from analytics import _db
from analytics.filters import Filters, as_of, as_of_for, ts
from analytics.freshness import stored_current, stored_meta
from analytics.outcomes import reliable_change_compute
from analytics.text import fmt, fmt_date, join_per_group, plural
from analytics.trends import recent_trends
from pipelines import settings
from stats.rci import DETERIORATED

# code -> (severity 3 high .. 1 low, priority within severity (1 first), short title)
FLAG_CODES: dict[str, tuple[int, int, str]] = {
    "reliable_deterioration": (3, 1, "Reliable deterioration on a measure"),
    "possible_dropout": (3, 2, "Possible drop-out"),
    "engagement_declining": (2, 3, "Engagement trending down"),
    "outcome_worsening": (2, 3, "Outcome getting worse"),
    "low_attendance": (2, 4, "Low attendance"),
    "gas_stalled": (2, 5, "No GAS improvement"),
    "rating_gap": (1, 6, "Goal ratings missing"),
}
_SEVERITY_LABEL = {3: "high", 2: "medium", 1: "low"}
FLAG_COLUMNS = ["child_id", "flag", "title", "severity", "severity_label", "priority", "reason", "value",
                "threshold", "since", "n", "p_value", "measure", "therapist_id", "team", "modality", "age_group", "as_of"]


def _empty_flags() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in FLAG_COLUMNS})


def _flag_rows(base: pd.DataFrame, code: str, reason: pd.Series, value, threshold: float, since,
               n=None, p=None, measure=None) -> pd.DataFrame:
    sev, prio, title = FLAG_CODES[code]
    if base.empty:
        return _empty_flags()
    out = pd.DataFrame({
        "child_id": base["child_id"].to_numpy(),
        "flag": code,
        "title": title,
        "severity": sev,
        "severity_label": _SEVERITY_LABEL[sev],
        "priority": prio,
        "reason": reason.to_numpy(),
        "value": np.asarray(value, dtype=float),
        "threshold": float(threshold),
        "since": pd.to_datetime(pd.Series(since).to_numpy()),
        "n": np.asarray(n if n is not None else np.full(len(base), np.nan), dtype=float),
        "p_value": np.asarray(p if p is not None else np.full(len(base), np.nan), dtype=float),
        "measure": np.asarray(measure if measure is not None else np.full(len(base), None), dtype=object),
    })
    return out


def compute_flags(con, as_of_date: dt.date | None = None) -> pd.DataFrame:
    """Needs-attention flags for every child, relative to ``as_of_date`` (default: the
    latest session), thresholds from settings.toml [flags]. Sessions after the date are
    ignored. Only children on the current caseload are flagged: a session within
    ``dropout_days + dropout_active_days`` (30 + 90) days before the date.

    * ``engagement_declining`` (the engagement rating) and ``outcome_worsening`` (every other
      session-level measure of the catalogue, one flag per measure): >=
      engagement_min_sessions sessions with a value in the last engagement_window_weeks,
      and a significant Mann-Kendall trend against the measure's direction (tau < 0 where
      higher is better, tau > 0 where lower is: a rising count of protests is getting
      worse; p < engagement_trend_alpha); the reason names the measure and its unit and
      gives the Theil-Sen slope per week with Sen's CI (Theil 1950; Sen 1968; Mann 1945;
      Kendall 1975). Engagement keeps its own code so that saved links, packs and alerts
      that name it still work.
    * ``gas_stalled``: a goal rated over >= gas_stall_weeks whose latest level is below
      the expected level and not above its level gas_stall_weeks before the latest rating
      (nor above its first level).
    * ``low_attendance``: >= attendance_min_scheduled sessions scheduled in the last
      attendance_window_weeks and attended / scheduled < attendance_min_rate.
    * ``possible_dropout``: no attended session for more than dropout_days, after at least
      one attended session in the dropout_active_days before that. A discharged child is
      never flagged (children mart: a discharge on or after the last attended session and
      on or before the as-of date plus dropout_days). Without a recorded discharge, when
      every goal was at or above the expected level at its latest rating the flag says so
      and is medium, not high.
    * ``rating_gap``: still attending (an attended session within dropout_days) but no
      goal rating for more than rating_gap_days (counted from the first attended session
      when no goal was ever rated).
    * ``reliable_deterioration``: first vs latest administration of a measure reliably
      worse (Jacobson & Truax 1991 RCI beyond 1.96, direction from measures.toml).

    Columns: child_id, flag, title, severity (3 high, 2 medium, 1 low), severity_label,
    priority, reason (plain language with the numbers), value, threshold, since, n,
    p_value, measure (of a trend or reliable-change flag), therapist_id, team, modality,
    age_group, as_of; most urgent first.
    """
    return flags_with_inputs(con, as_of_date)


def flags_with_inputs(con, as_of_date: dt.date | None, goals: pd.DataFrame | None = None,
                      rc: pd.DataFrame | None = None, recent: pd.DataFrame | None = None) -> pd.DataFrame:
    """``compute_flags``; ``goals`` (goal_summary up to the date), ``rc`` (reliable change up
    to the date) and ``recent`` (``recent_trends``) may be passed when already computed."""
    as_of_date = as_of_date or as_of(con)
    if as_of_date is None:
        return _empty_flags()
    cfg = settings.get()
    fc, conf, exp_level = cfg.flags, cfg.comparison.confidence, cfg.gas.expected_level
    status = _db.query(con, "flag_child_status", {
        "as_of": as_of_date, "attendance_days": 7 * fc.attendance_window_weeks,
        "dropout_days": fc.dropout_days, "active_days": fc.dropout_active_days,
        "expected_level": exp_level})
    if status.empty:
        return _empty_flags()
    caseload_days = fc.dropout_days + fc.dropout_active_days
    status = status[status["days_since_session"] <= caseload_days].reset_index(drop=True)
    on_caseload = set(status["child_id"])
    parts: list[pd.DataFrame] = []

    # a session-level measure trending the wrong way over the last N weeks
    weeks = fc.engagement_window_weeks
    window_from = as_of_date - dt.timedelta(days=7 * weeks - 1)
    if recent is None:
        recent = recent_trends(_db.query(con, "rated_sessions", {"date_from": window_from, "date_to": as_of_date}),
                               as_of_date, per_measure=True)
    tr = recent[recent["child_id"].isin(on_caseload)]
    if len(tr):
        parts.extend(_worsening(tr, weeks, window_from, conf))

    # no GAS improvement after N weeks on a goal
    stall_days = 7 * fc.gas_stall_weeks
    if goals is None:
        goals = _db.query(con, "goal_summary", {"date_to": as_of_date, "expected_level": exp_level,
                                                "stall_days": stall_days})
    if len(goals):
        g = goals[goals["child_id"].isin(on_caseload)]
        span = (g["last_date"] - g["first_date"]).dt.days
        not_better = ((g["last_level"] <= g["reference_level"]) | (g["last_level"] <= g["first_level"]))
        keep = ((span >= stall_days) & (g["last_level"] < exp_level) & not_better).fillna(False).astype(bool)
        stalled = g[keep].copy()
        if len(stalled):
            stalled = stalled.sort_values(["child_id", "weeks_rated"], ascending=[True, False])
            stalled["detail"] = (stalled["goal_id"].astype(str) + ": level " + fmt(stalled["last_level"], "+.0f")
                                 + " on " + fmt_date(stalled["last_date"]) + ", was "
                                 + fmt(stalled["reference_level"], "+.0f") + " on "
                                 + fmt_date(stalled["reference_rated_on"]) + " (" + str(fc.gas_stall_weeks)
                                 + "+ weeks before) and " + fmt(stalled["first_level"], "+.0f")
                                 + " at its first rating on " + fmt_date(stalled["first_date"]))
            per = stalled.groupby("child_id", sort=True).agg(
                n_goals=("goal_uid", "size"), max_weeks=("weeks_rated", "max"),
                since=("reference_rated_on", "min"))
            per["detail"] = join_per_group(stalled["child_id"], stalled["detail"], "; ")
            per = per.reset_index()
            reason = ("No GAS improvement for " + str(fc.gas_stall_weeks) + "+ weeks on "
                      + plural(per["n_goals"], "goal") + ", still below the expected level: "
                      + per["detail"] + ".")
            parts.append(_flag_rows(per, "gas_stalled", reason, per["max_weeks"], fc.gas_stall_weeks,
                                    per["since"], per["n_goals"]))

    # attendance under the minimum rate in the last N weeks
    aw = fc.attendance_window_weeks
    low = status[(status["window_scheduled"] >= fc.attendance_min_scheduled)
                 & (status["window_attendance_rate"] < fc.attendance_min_rate)].reset_index(drop=True)
    if len(low):
        reason = ("Attended " + low["window_attended"].astype(str) + " of "
                  + low["window_scheduled"].astype(str) + " scheduled sessions ("
                  + fmt(low["window_attendance_rate"], ".0%") + ") in the last " + str(aw)
                  + " weeks, below " + f"{fc.attendance_min_rate:.0%}" + ": "
                  + plural(low["window_no_show"], "no-show") + ", "
                  + plural(low["window_cancelled"], "cancellation") + ".")
        parts.append(_flag_rows(low, "low_attendance", reason, low["window_attendance_rate"],
                                fc.attendance_min_rate,
                                np.full(len(low), ts(as_of_date - dt.timedelta(days=7 * aw - 1))),
                                low["window_scheduled"]))

    # possible drop-out (never a child whose discharge is recorded)
    dd = fc.dropout_days
    discharged = (status["discharge_date"].notna() & (status["discharge_date"] >= status["last_attended"])
                  & (status["discharge_date"] <= ts(as_of_date + dt.timedelta(days=dd)))).fillna(False)
    drop = status[(status["days_since_attended"] > dd) & (status["attended_before_gap"] >= 1)
                  & ~discharged.astype(bool)].reset_index(drop=True)
    if len(drop):
        all_met = ((drop["n_goals"] > 0) & (drop["n_goals_met"] == drop["n_goals"])).to_numpy()
        reason = ("No attended session for " + drop["days_since_attended"].astype("int64").astype(str)
                  + " days (last on " + fmt_date(drop["last_attended"]) + "), after "
                  + plural(drop["attended_before_gap"], "attended session") + " in the "
                  + str(fc.dropout_active_days) + " days before"
                  + np.where(drop["missed_recent"] > 0,
                             "; " + plural(drop["missed_recent"], "scheduled session") + " missed in the last "
                             + str(dd) + " days", "")
                  + np.where(all_met, ". Every goal was at or above the expected level at its latest rating: "
                             "if this was a planned discharge, record it.", ". Possible drop-out."))
        rows = _flag_rows(drop, "possible_dropout", reason, drop["days_since_attended"], dd,
                          drop["last_attended"], drop["attended_before_gap"])
        rows.loc[all_met, "severity"] = 2  # likely a planned discharge: less urgent
        rows.loc[all_met, "severity_label"] = _SEVERITY_LABEL[2]
        parts.append(rows)

    # no goal rating while still attending
    gd = fc.rating_gap_days
    gap = status[(status["attended_recent"] >= 1) & (status["days_since_rating"] > gd)].reset_index(drop=True)
    if len(gap):
        never = gap["last_rating"].isna()
        reason = pd.Series(np.where(
            never,
            "No goal rated in " + gap["days_since_rating"].astype("int64").astype(str)
            + " days of attendance (first attended " + fmt_date(gap["first_attended"]) + "); "
            + plural(gap["attended_since_rating"].fillna(0), "session") + " attended. Data gap.",
            "No goal rating for " + gap["days_since_rating"].astype("int64").astype(str) + " days (last on "
            + fmt_date(gap["last_rating"]) + ") while still attending: "
            + plural(gap["attended_since_rating"].fillna(0), "session") + " attended since. Data gap."))
        parts.append(_flag_rows(gap, "rating_gap", reason, gap["days_since_rating"], gd,
                                gap["last_rating"].fillna(gap["first_attended"]), gap["attended_since_rating"]))

    # reliable deterioration on a standardised measure
    if rc is None:
        rc = reliable_change_compute(con, Filters(date_to=as_of_date))
    if len(rc):
        det = rc[(rc["classification"] == DETERIORATED) & rc["child_id"].isin(on_caseload)].reset_index(drop=True)
        if len(det):
            reason = ("Reliable deterioration on " + det["measure"].astype(str) + ": "
                      + fmt(det["first_score"], "g") + " on " + fmt_date(det["first_date"]) + " to "
                      + fmt(det["last_score"], "g") + " on " + fmt_date(det["last_date"])
                      + " (RCI " + fmt(det["rci"], "+.2f") + "; beyond +-1.96 is reliable, "
                      + np.where(det["higher_is_better"].astype(bool), "higher", "lower") + " is better).")
            parts.append(_flag_rows(det, "reliable_deterioration", reason, det["rci"], 1.96, det["last_date"],
                                    det["n_administrations"], measure=det["measure"].to_numpy()))

    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty_flags()
    out = pd.concat(parts, ignore_index=True)
    attrs = status.set_index("child_id")[["therapist_id", "team", "modality", "age_group"]]
    out = out.join(attrs, on="child_id")
    out["as_of"] = ts(as_of_date)
    out["measure"] = out["measure"].astype("str")  # missing stays missing (as the stored table reads back)
    out = out.sort_values(["severity", "priority", "child_id"], ascending=[False, True, True])
    return out[FLAG_COLUMNS].reset_index(drop=True)


def _worsening(tr: pd.DataFrame, weeks: int, window_from: dt.date, conf: float) -> list[pd.DataFrame]:
    """The trend flags of ``tr`` (recent trends per child and measure): ``engagement_declining``
    for engagement (its reason as before: points a week), ``outcome_worsening`` for the
    other session-level measures (the reason names the measure, its unit and direction)."""
    from pipelines.measures import catalogue

    fc = settings.get().flags
    cat = catalogue()
    tr = tr[tr["measure"].isin(list(cat))]
    sign = tr["measure"].map(lambda m: cat[m].sign).astype(float)
    hit = tr[(tr["n"] >= fc.engagement_min_sessions) & (tr["kendall_tau"] * sign < 0)
             & (tr["p_value"] < fc.engagement_trend_alpha)].reset_index(drop=True)
    out = []
    eng = hit[hit["measure"] == "engagement"].reset_index(drop=True)
    if len(eng):
        reason = ("Engagement trending down over the last " + str(weeks) + " weeks: Mann-Kendall tau "
                  + fmt(eng["kendall_tau"], ".2f") + " (p = " + fmt(eng["p_value"], ".3f") + ", "
                  + plural(eng["n"], "rated session") + "); Theil-Sen slope "
                  + fmt(eng["slope"] + 0.0, ".2f") + " points a week (" + f"{conf:.0%}" + " CI "
                  + fmt(eng["slope_lo"] + 0.0, ".2f") + " to " + fmt(eng["slope_hi"] + 0.0, ".2f") + ").")
        out.append(_flag_rows(eng, "engagement_declining", reason, eng["slope"], 0.0,
                              np.full(len(eng), ts(window_from)), eng["n"], eng["p_value"],
                              measure=eng["measure"].to_numpy()))
    other = hit[hit["measure"] != "engagement"].reset_index(drop=True)
    if len(other):
        label = other["measure"].map(lambda m: cat[m].label)
        unit = other["measure"].map(lambda m: cat[m].unit)
        way = other["measure"].map(lambda m: "rising while lower is better" if cat[m].sign < 0
                                   else "falling while higher is better")
        reason = (label + " getting worse over the last " + str(weeks) + " weeks (" + way + "): Mann-Kendall tau "
                  + fmt(other["kendall_tau"], "+.2f") + " (p = " + fmt(other["p_value"], ".3f") + ", "
                  + plural(other["n"], "session") + " with a value); Theil-Sen slope "
                  + fmt(other["slope"] + 0.0, "+.2f") + " " + unit + " per week (" + f"{conf:.0%}" + " CI "
                  + fmt(other["slope_lo"] + 0.0, "+.2f") + " to " + fmt(other["slope_hi"] + 0.0, "+.2f") + ").")
        out.append(_flag_rows(other, "outcome_worsening", reason, other["slope"], 0.0,
                              np.full(len(other), ts(window_from)), other["n"], other["p_value"],
                              measure=other["measure"].to_numpy()))
    return out


def flags(con, f: Filters = Filters()) -> pd.DataFrame:
    """Needs-attention flags (see ``compute_flags``), most urgent first, as of the filter's
    date_to (not later than the latest session) or the latest session. Filtered by the
    child's modality, age group, team and therapist as of that date; date_from and the
    approach filter do not apply (flags look at fixed windows before the as-of date)."""
    when = as_of_for(con, f)
    if when is None:
        return _empty_flags()
    meta = stored_meta(con) if _db.has_tables(con, "child_flags") else None
    if meta is not None and meta["as_of"] == when and stored_current(con):
        fl = _db.sql(con, "select * from child_flags")
        if "measure" in fl:
            fl["measure"] = fl["measure"].astype("str")
    else:
        fl = compute_flags(con, when)
    if fl.empty:
        return fl
    keep = np.ones(len(fl), bool)
    for col, values in (("modality", f.modalities), ("age_group", f.age_groups), ("team", f.teams),
                        ("therapist_id", f.therapists)):
        if values:
            keep &= fl[col].isin(values).to_numpy()
    fl = fl[keep].sort_values(["severity", "priority", "child_id"], ascending=[False, True, True])
    return fl.reset_index(drop=True)
