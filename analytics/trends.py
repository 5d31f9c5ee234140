"""Trend of a session-level measure per child: Theil-Sen slope with Sen's CI and the
Mann-Kendall test (Theil 1950; Sen 1968; Mann 1945; Kendall 1975), over the selection and the
recent window. Slopes are in the measure's units per week; whether a trend is "getting
worse" follows the measure's direction (``sign``: +1 higher is better, -1 lower)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from analytics import _db
from analytics.filters import Filters, as_of_for, ts
from analytics.freshness import stored_current
from analytics.practice import ENGAGEMENT_ALIASES, measure_info
from pipelines import settings
from stats.trend import trends_grouped

TREND_COLUMNS = ["child_id", "n", "slope", "slope_lo", "slope_hi", "kendall_tau", "p_value"]
_COLS = ["child_id", "measure", "modality", "therapist_id", "team", "age_group", "sessions", "attended", "cancelled",
         "no_show", "attendance_rate", "n_values", "mean_value", "share_good",
         "first_session", "last_session", "slope_per_week", "slope_lo", "slope_hi", "kendall_tau", "p_value",
         "recent_n", "recent_slope_per_week", "recent_slope_lo", "recent_slope_hi", "recent_kendall_tau",
         "recent_p_value", "recent_from", "as_of"]
_OLD = ["n_rated", "mean_engagement", "share_high_engagement"]


def _good(s: pd.DataFrame) -> pd.Series:
    """Per row: whether the value is at or beyond the measure's good value in its direction (NaN without one)."""
    good = pd.to_numeric(s["good"], errors="coerce").astype(float)
    hit = (s["sign"] * s["value"] >= s["sign"] * good).astype(float)
    return hit.where(good.notna())


def child_trends_compute(con, f: Filters, as_of_date: dt.date | None, measure: str = "engagement") -> pd.DataFrame:
    """``child_trends`` for one measure, computed now."""
    measure_info(measure)
    cfg = settings.get()
    fc, conf = cfg.flags, cfg.comparison.confidence
    base = _db.query(con, "child_list", {**f.params(), "measure": measure})
    cols = _COLS + (_OLD if measure == "engagement" else [])
    if base.empty or as_of_date is None:
        return pd.DataFrame(columns=cols)
    s = _db.query(con, "rated_sessions", {**f.params(), "measure": measure})
    s["weeks"] = (s["session_date"] - ts(as_of_date)).dt.days / 7.0
    high = s.assign(_h=_good(s)).groupby("child_id")["_h"].mean()
    if len(s):
        tr = trends_grouped(s, "child_id", "weeks", "value", confidence=conf)
    else:
        tr = pd.DataFrame(columns=TREND_COLUMNS)
    tr = tr.rename(columns={"slope": "slope_per_week", "n": "_n"})
    window_from = as_of_date - dt.timedelta(days=7 * fc.engagement_window_weeks - 1)
    rt = recent_trends(s, as_of_date)
    rt = rt.rename(columns={"n": "recent_n", "slope": "recent_slope_per_week", "slope_lo": "recent_slope_lo",
                            "slope_hi": "recent_slope_hi", "kendall_tau": "recent_kendall_tau",
                            "p_value": "recent_p_value"})
    out = base.merge(tr.drop(columns="_n"), on="child_id", how="left").merge(rt, on="child_id", how="left")
    out["measure"] = measure
    out["share_good"] = out["child_id"].map(high)
    out["recent_n"] = out["recent_n"].fillna(0).astype("int64")
    out["recent_from"] = ts(window_from)
    out["as_of"] = ts(as_of_date)
    if measure == "engagement":
        for new, old in ENGAGEMENT_ALIASES.items():
            if old in _OLD:
                out[old] = out[new]
    return out[cols]


def _float(col) -> np.ndarray:
    """A ``fetchnumpy`` column as floats, NULL as NaN."""
    return np.ma.filled(np.ma.asarray(col).astype(float), np.nan)


def _by_child(base: pd.DataFrame, c: np.ndarray, weeks: np.ndarray, value: np.ndarray, conf: float) -> pd.DataFrame:
    """``trends_grouped`` per child of integer-coded rows (``c`` = place in ``base``), with child_id."""
    if not c.size:
        return pd.DataFrame(columns=TREND_COLUMNS)
    tr = trends_grouped(pd.DataFrame({"c": c, "weeks": weeks, "value": value}), "c", "weeks", "value",
                        confidence=conf)
    tr.insert(0, "child_id", base["child_id"].iloc[tr["c"].to_numpy()].reset_index(drop=True))
    return tr.drop(columns="c")


def child_trends_coded(con, as_of_date: dt.date | None, measure: str = "engagement") -> pd.DataFrame:
    """``child_trends_compute`` of the whole practice (no filter), from the narrow integer-coded
    ``rated_session_rows`` (numpy columns, no row-level DataFrame of strings): the same rows,
    the same trends (``trends_grouped``), share_good from the same 0/1 hits."""
    measure_info(measure)
    cfg = settings.get()
    fc, conf = cfg.flags, cfg.comparison.confidence
    f = Filters()
    base = _db.query(con, "child_list", {**f.params(), "measure": measure})
    cols = _COLS + (_OLD if measure == "engagement" else [])
    if base.empty or as_of_date is None:
        return pd.DataFrame(columns=cols)
    r = _db.columns(con, "rated_session_rows", {**f.params(), "measure": measure, "as_of": as_of_date})
    c = np.asarray(r["c"], dtype=np.int64)
    days = np.asarray(r["days"], dtype=np.int64)
    weeks = days / 7.0
    value = _float(r["value"])
    hit = _float(r["good"])
    rated = ~np.isnan(hit)
    n_hit = np.bincount(c[rated], minlength=len(base))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_hit > 0, np.bincount(c[rated], weights=hit[rated], minlength=len(base)) / n_hit, np.nan)
    tr = _by_child(base, c, weeks, value, conf).rename(columns={"slope": "slope_per_week", "n": "_n"})
    window_from = as_of_date - dt.timedelta(days=7 * fc.engagement_window_weeks - 1)
    recent = (days >= (window_from - as_of_date).days) & (days <= 0)
    rt = _by_child(base, c[recent], weeks[recent], value[recent], conf)
    rt = rt.rename(columns={"n": "recent_n", "slope": "recent_slope_per_week", "slope_lo": "recent_slope_lo",
                            "slope_hi": "recent_slope_hi", "kendall_tau": "recent_kendall_tau",
                            "p_value": "recent_p_value"})
    out = base.merge(tr.drop(columns="_n"), on="child_id", how="left").merge(rt, on="child_id", how="left")
    out["measure"] = measure
    out["share_good"] = share
    out["recent_n"] = out["recent_n"].fillna(0).astype("int64")
    out["recent_from"] = ts(window_from)
    out["as_of"] = ts(as_of_date)
    if measure == "engagement":
        for new, old in ENGAGEMENT_ALIASES.items():
            if old in _OLD:
                out[old] = out[new]
    return out[cols]


def trend_measures(con) -> list[str]:
    """The session-level measures with a value anywhere in the practice, but the standardised
    ones: ``child_trends`` has a row per child for each (practice-wide, also on a connection
    carrying ``practice_facts`` with ``trend_measures``, as a part of the children does)."""
    return list(_db.sql(con, "select distinct o.measure from observations as o join measure_catalogue as c "
                             "using (measure) where c.level = 'session' and c.sd is null and o.goal_id is null "
                             "order by 1")["measure"])


def child_trends_all(con, as_of_date: dt.date | None) -> pd.DataFrame:
    """``child_trends_compute`` of the whole practice for every session-level measure with a
    value but the standardised ones (their change is the reliable change): one row per child
    per measure, the stored table ``child_trends``."""
    facts = getattr(con, "practice_facts", None) or {}
    present = facts["trend_measures"] if "trend_measures" in facts else trend_measures(con)
    parts = [child_trends_coded(con, as_of_date, m) for m in present]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=_COLS + _OLD)
    return pd.concat(parts, ignore_index=True)


def recent_trends(rated: pd.DataFrame, as_of_date: dt.date, per_measure: bool = False) -> pd.DataFrame:
    """Theil-Sen / Mann-Kendall trend per child (per child and measure, with a measure
    column, when ``per_measure``) over the last engagement_window_weeks up to ``as_of_date`` (rows of
    ``rated_sessions`` with ``weeks``)."""
    weeks = settings.get().flags.engagement_window_weeks
    window_from = as_of_date - dt.timedelta(days=7 * weeks - 1)
    r = rated[(rated["session_date"] >= ts(window_from)) & (rated["session_date"] <= ts(as_of_date))]
    by = ["child_id", "measure"] if per_measure else "child_id"
    if r.empty:
        return pd.DataFrame(columns=TREND_COLUMNS + (["measure"] if per_measure else []))
    if "weeks" not in r:
        r = r.assign(weeks=(r["session_date"] - ts(as_of_date)).dt.days / 7.0)
    return trends_grouped(r, by, "weeks", "value", confidence=settings.get().comparison.confidence)


def child_trends(con, f: Filters = Filters(), measure: str = "engagement") -> pd.DataFrame:
    """Per child: attendance (attended / scheduled, cancellations and no-shows apart), the
    session-level ``measure``'s n_values, mean_value and share_good (at or beyond the
    catalogue's good value; for engagement also n_rated, mean_engagement and
    share_high_engagement, rated 4-5), and its trend over the filtered sessions: Theil-Sen
    slope in the measure's units per week with Sen's 95% CI and the Mann-Kendall tau / p
    (Theil 1950; Sen 1968; Mann 1945; Kendall 1975), overall and over the last
    ``engagement_window_weeks`` before the as-of date (``recent_*``)."""
    if f.is_empty and _db.has_tables(con, "child_trends") and stored_current(con):
        df = _db.sql(con, "select * from child_trends where measure = $m order by child_id", {"m": measure})
        cols = _COLS + (_OLD if measure == "engagement" else [])
        return df[[c for c in cols if c in df.columns]]
    return child_trends_compute(con, f, as_of_for(con, f), measure)
