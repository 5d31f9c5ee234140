"""One child's record and the children of a selection: the child list (with flags), a child's
sessions and goal ratings, GAS reviews (Kiresuk & Sherman 1968 T-scores per review month)
and the per-goal summary."""

from __future__ import annotations

import pandas as pd

from analytics import _db
from analytics.attention import flags
from analytics.filters import Filters
from analytics.freshness import stored_current
from analytics.practice import measure_info, with_aliases
from analytics.text import join_per_group
from pipelines import settings
from stats.gas import gas_t_scores


def child_list(con, f: Filters = Filters(), measure: str = "engagement") -> pd.DataFrame:
    """One row per child with a session in the filter: child_id, modality, therapist_id,
    team, age_group (latest in the filter), sessions, attended, cancelled, no_show,
    attendance_rate, measure, n_values, mean_value (of the session-level ``measure``; for
    engagement also n_rated, mean_engagement), first_session, last_session, last_attended,
    n_flags, max_severity, flags (codes, most urgent first)."""
    measure_info(measure)
    df = _db.query(con, "child_list", {**f.params(), "measure": measure})
    df.insert(df.columns.get_loc("n_values"), "measure", measure)
    df = with_aliases(df, measure)
    fl = flags(con, f)
    if fl.empty:
        df["n_flags"] = 0
        df["max_severity"] = 0
        df["flags"] = ""
        return df
    agg = fl.groupby("child_id", sort=True).agg(n_flags=("flag", "size"), max_severity=("severity", "max"))
    codes = fl.drop_duplicates(["child_id", "flag"])          # fl is sorted most urgent first
    agg["flags"] = join_per_group(codes["child_id"], codes["flag"], ", ")
    df = df.merge(agg, left_on="child_id", right_index=True, how="left")
    df["n_flags"] = df["n_flags"].fillna(0).astype("int64")
    df["max_severity"] = df["max_severity"].fillna(0).astype("int64")
    df["flags"] = df["flags"].fillna("")
    return df


def child_timeline(con, child_id: str, f: Filters = Filters(), measure: str = "engagement") -> pd.DataFrame:
    """One row per session of the child in the filter: session_date, approach, attendance,
    attended, engagement, measure and value (the session-level ``measure``'s value, missing
    when none was recorded), modality, therapist_id (and team, setting, ...)."""
    measure_info(measure)
    return _db.query(con, "filtered_sessions", {**f.params(), "child_id": child_id, "measure": measure})


def child_goal_ratings(con, child_id: str, f: Filters = Filters()) -> pd.DataFrame:
    """One row per goal rating of the child in the filter: goal_id, goal_domain,
    session_date, gas_level, goal_weight, approach, at_or_above_expected."""
    return _db.query(con, "filtered_goal_ratings",
                     {**f.params(), "child_id": child_id, "expected_level": settings.get().gas.expected_level})


def gas_reviews_compute(con, child_id: str | None = None) -> pd.DataFrame:
    rows = _db.query(con, "gas_review_goals", {"child_id": child_id})
    cols = ["child_id", "review_month", "month_end", "t_score", "n_goals", "n_goals_at_expected",
            "first_t_score", "change_from_first"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    keys = ["child_id", "review_month", "month_end"]
    gas = settings.get().gas
    t = gas_t_scores(rows, keys, level="gas_level", weight="goal_weight", rho=gas.rho)
    at = (rows.assign(_at=(rows["gas_level"] >= gas.expected_level).astype("int64"))
          .groupby(keys, sort=True)["_at"].sum().to_numpy())
    t["n_goals_at_expected"] = at
    t = t.sort_values(keys).reset_index(drop=True)
    t["first_t_score"] = t.groupby("child_id")["t_score"].transform("first")
    t["change_from_first"] = t["t_score"] - t["first_t_score"]
    return t[cols]


def gas_reviews(con, child_id: str | None = None) -> pd.DataFrame:
    """GAS T-score (Kiresuk & Sherman 1968; rho from settings) per child at each monthly
    review point: at each month end, the latest rating of every active goal (a goal is
    active from its first rating until the child's last session), weighted. Columns
    child_id, review_month, month_end, t_score, n_goals, n_goals_at_expected,
    first_t_score, change_from_first (T minus the child's first review's T)."""
    if _db.has_tables(con, "gas_reviews") and stored_current(con):
        df = _db.sql(con, "select * from gas_reviews where ($child_id is null or child_id = $child_id) "
                     "order by child_id, review_month", {"child_id": child_id})
        return df
    return gas_reviews_compute(con, child_id)


def child_gas_t(con, child_id: str) -> pd.DataFrame:
    """The child's GAS T-score at each monthly review point: review_month, month_end,
    t_score, n_goals, n_goals_at_expected, change_from_first (see ``gas_reviews``)."""
    df = gas_reviews(con, child_id)
    return df.drop(columns=["child_id"]).reset_index(drop=True)


def goal_summary(con, f: Filters = Filters()) -> pd.DataFrame:
    """One row per goal with ratings in the filter: goal_uid, goal_id, child_id, domain,
    goal_weight, n_ratings, first/last date and level, best_level, met (ever rated at or
    above the expected level), first_met_date, weeks_to_met (weeks from the first rating
    to the first rating at expected), weeks_rated, improved (last > first),
    at_expected_now, reference_level (latest level 12 weeks before the last rating)."""
    if f.is_empty and _db.has_tables(con, "goal_progress") and stored_current(con):
        return _db.sql(con, "select * from goal_progress order by child_id, goal_id")
    s = settings.get()
    return _db.query(con, "goal_summary", {**f.params(), "expected_level": s.gas.expected_level,
                                           "stall_days": 7 * s.flags.gas_stall_weeks})


def trial_sessions(con, f: Filters = Filters(), child_id: str | None = None) -> pd.DataFrame:
    """One row per trial-based goal (catalogue kind ``trials``) per session in the filter:
    goal_uid, goal_id, child_id, measure, session_id, session_date, approach, trials_correct,
    trials_total, percent_correct (100 correct / total, as loaded), the goal's criterion
    (mastery_percent, mastery_sessions, mastery_from: "goal" when its criterion text gives
    them, else "settings" [mastery]; mastery_criterion as written), met_percent, run_length
    (consecutive sessions meeting the percent up to this one) and criterion_met."""
    m = settings.get().mastery
    return _db.query(con, "trial_sessions", {**f.params(), "child_id": child_id,
                                             "mastery_percent": m.percent,
                                             "mastery_sessions": m.consecutive_sessions})


def mastery_summary(con, f: Filters = Filters(), child_id: str | None = None) -> pd.DataFrame:
    """One row per trial-based goal with trials in the filter (beside ``goal_summary`` for
    GAS goals): goal_uid, goal_id, child_id, n_sessions, first_date, last_date,
    last_percent, best_percent, mastery_percent, mastery_sessions, mastery_from,
    mastery_criterion, mastered (the criterion held: mastery_percent or more correct in
    mastery_sessions consecutive sessions), mastered_on (the session date it first held)
    and sessions_to_mastery (sessions up to and including that one)."""
    s = trial_sessions(con, f, child_id)
    cols = ["goal_uid", "goal_id", "child_id", "n_sessions", "first_date", "last_date", "last_percent",
            "best_percent", "mastery_percent", "mastery_sessions", "mastery_from", "mastery_criterion", "mastered",
            "mastered_on", "sessions_to_mastery"]
    if s.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    s = s.assign(_pos=s.groupby("goal_uid").cumcount() + 1)
    g = s.groupby("goal_uid", sort=False)
    out = g.agg(goal_id=("goal_id", "first"), child_id=("child_id", "first"), n_sessions=("session_id", "size"),
                first_date=("session_date", "min"), last_date=("session_date", "max"),
                last_percent=("percent_correct", "last"), best_percent=("percent_correct", "max"),
                mastery_percent=("mastery_percent", "first"), mastery_sessions=("mastery_sessions", "first"),
                mastery_from=("mastery_from", "first"), mastery_criterion=("mastery_criterion", "first"))
    met = s[s["criterion_met"].astype(bool)].groupby("goal_uid").agg(mastered_on=("session_date", "min"),
                                                                     sessions_to_mastery=("_pos", "min"))
    out = out.join(met)
    out["mastered"] = out["mastered_on"].notna()
    out["sessions_to_mastery"] = out["sessions_to_mastery"].astype("Int64")
    return out.reset_index().sort_values(["child_id", "goal_id"]).reset_index(drop=True)[cols]
