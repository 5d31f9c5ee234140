"""Engagement trend per child: Theil-Sen slope with Sen's CI and the Mann-Kendall test
(Theil 1950; Sen 1968; Mann 1945; Kendall 1975), over the selection and the recent window."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from analytics import _db
from analytics.filters import Filters, as_of_for, ts
from analytics.freshness import stored_current
from pipelines import settings
from stats.trend import trends_grouped

TREND_COLUMNS = ["child_id", "n", "slope", "slope_lo", "slope_hi", "kendall_tau", "p_value"]


def child_trends_compute(con, f: Filters, as_of_date: dt.date | None) -> pd.DataFrame:
    cfg = settings.get()
    fc, conf = cfg.flags, cfg.comparison.confidence
    base = _db.query(con, "child_list", f.params())
    cols = ["child_id", "modality", "therapist_id", "team", "age_group", "sessions", "attended", "cancelled",
            "no_show", "attendance_rate", "n_rated", "mean_engagement", "share_high_engagement",
            "first_session", "last_session", "slope_per_week", "slope_lo", "slope_hi", "kendall_tau", "p_value",
            "recent_n", "recent_slope_per_week", "recent_slope_lo", "recent_slope_hi", "recent_kendall_tau",
            "recent_p_value", "recent_from", "as_of"]
    if base.empty or as_of_date is None:
        return pd.DataFrame(columns=cols)
    s = _db.query(con, "rated_sessions", f.params())
    s["weeks"] = (s["session_date"] - ts(as_of_date)).dt.days / 7.0
    high = s.assign(_h=(s["engagement"] >= 4).astype(float)).groupby("child_id")["_h"].mean()
    if len(s):
        tr = trends_grouped(s, "child_id", "weeks", "engagement", confidence=conf)
    else:
        tr = pd.DataFrame(columns=TREND_COLUMNS)
    tr = tr.rename(columns={"slope": "slope_per_week", "n": "_n"})
    window_from = as_of_date - dt.timedelta(days=7 * fc.engagement_window_weeks - 1)
    rt = recent_trends(s, as_of_date)
    rt = rt.rename(columns={"n": "recent_n", "slope": "recent_slope_per_week", "slope_lo": "recent_slope_lo",
                            "slope_hi": "recent_slope_hi", "kendall_tau": "recent_kendall_tau",
                            "p_value": "recent_p_value"})
    out = base.merge(tr.drop(columns="_n"), on="child_id", how="left").merge(rt, on="child_id", how="left")
    out["share_high_engagement"] = out["child_id"].map(high)
    out["recent_n"] = out["recent_n"].fillna(0).astype("int64")
    out["recent_from"] = ts(window_from)
    out["as_of"] = ts(as_of_date)
    return out[cols]


def recent_trends(rated: pd.DataFrame, as_of_date: dt.date) -> pd.DataFrame:
    """Theil-Sen / Mann-Kendall engagement trend per child over the last
    engagement_window_weeks up to ``as_of_date`` (rows of ``rated_sessions`` with ``weeks``)."""
    weeks = settings.get().flags.engagement_window_weeks
    window_from = as_of_date - dt.timedelta(days=7 * weeks - 1)
    r = rated[(rated["session_date"] >= ts(window_from)) & (rated["session_date"] <= ts(as_of_date))]
    if r.empty:
        return pd.DataFrame(columns=TREND_COLUMNS)
    if "weeks" not in r:
        r = r.assign(weeks=(r["session_date"] - ts(as_of_date)).dt.days / 7.0)
    return trends_grouped(r, "child_id", "weeks", "engagement", confidence=settings.get().comparison.confidence)


def child_trends(con, f: Filters = Filters()) -> pd.DataFrame:
    """Per child: attendance (attended / scheduled, cancellations and no-shows apart),
    engagement mean and share rated 4-5, and the engagement trend over the filtered
    sessions: Theil-Sen slope in points per week with Sen's 95% CI and the Mann-Kendall
    tau / p (Theil 1950; Sen 1968; Mann 1945; Kendall 1975), overall and over the last
    ``engagement_window_weeks`` before the as-of date (``recent_*``)."""
    if f.is_empty and _db.has_tables(con, "child_trends") and stored_current(con):
        return _db.sql(con, "select * from child_trends order by child_id")
    return child_trends_compute(con, f, as_of_for(con, f))
