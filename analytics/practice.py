"""Practice metrics: headline figures (``kpis``, ``kpis_by``), monthly trends, the modality x
age group grid and per-child periods. Means of session ratings come with a child-clustered
(CR1) interval (Liang & Zeger 1986; Cameron & Miller 2015): sessions of one child are not
independent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from analytics import _db
from analytics.filters import Filters, age_rank, check_by, resolve
from pipelines import settings
from stats.gas import gas_t_scores


def _t_ci(mean: pd.Series, se: pd.Series, n_clusters: pd.Series, confidence: float) -> tuple[pd.Series, pd.Series]:
    """mean -+ t(G - 1) * se (CR1 cluster-robust interval with G clusters = children)."""
    g = n_clusters.astype(float)
    with np.errstate(invalid="ignore"):
        q = sps.t.ppf(1 - (1 - confidence) / 2, np.where(g > 1, g - 1, np.nan))
    half = q * se.astype(float)
    return mean - half, mean + half


def _metrics(con, f: Filters, period: str | None, by: str | None, by2: str | None) -> pd.DataFrame:
    cmp_ = settings.get().comparison
    df = _db.query(con, "period_metrics", {**f.params(), "period": period, "by": by, "by2": by2,
                                           "expected_level": settings.get().gas.expected_level})
    int_cols = ["n_children", "active_children", "sessions", "attended", "cancelled", "no_show", "n_rated",
                "n_children_rated", "n_rated_high", "n_goals", "n_children_goals", "goals_at_expected"]
    for c in int_cols:
        df[c] = df[c].fillna(0).astype("int64")
    lo, hi = _t_ci(df["mean_engagement"], df["engagement_se"], df["n_children_rated"], cmp_.confidence)
    lo, hi = lo.clip(lower=1.0), hi.clip(upper=5.0)  # the rating scale is 1-5
    df.insert(df.columns.get_loc("engagement_se") + 1, "engagement_ci_lo", lo)
    df.insert(df.columns.get_loc("engagement_ci_lo") + 1, "engagement_ci_hi", hi)
    return df


def _kpi_block(con, f: Filters) -> dict:
    m = _metrics(con, f, None, None, None)
    keys = ["active_children", "n_children", "sessions", "attended", "cancelled", "no_show", "attendance_rate",
            "cancellation_rate", "no_show_rate", "mean_engagement", "engagement_ci_lo", "engagement_ci_hi",
            "n_rated", "n_children_rated", "share_high_engagement", "share_goals_at_expected", "n_goals",
            "n_children_goals"]
    if m.empty:
        out = {k: (0 if k.startswith("n_") or k in ("active_children", "sessions", "attended", "cancelled",
                                                    "no_show") else float("nan")) for k in keys}
    else:
        r = m.iloc[0]
        out = {k: (int(r[k]) if isinstance(r[k], (np.integer, int)) else float(r[k])) for k in keys}
    goals = _db.query(con, "goal_latest", f.params())
    if goals.empty:
        out["median_gas_t"], out["n_children_gas"] = float("nan"), 0
    else:
        t = gas_t_scores(goals, "child_id", level="last_level", weight="goal_weight", rho=settings.get().gas.rho)
        out["median_gas_t"] = float(t["t_score"].median())
        out["n_children_gas"] = int(t["t_score"].notna().sum())
    out["date_from"], out["date_to"] = f.date_from, f.date_to
    return out


def kpis_by(con, f: Filters, by: str) -> pd.DataFrame:
    """The ``kpis()`` figures of the filter's period for every value of ``by`` at once.

    One row per group (the ``by`` column, then the keys of a ``kpis()`` block): one query for
    all groups, so a caseload of hundreds of therapists costs what one does. The median GAS
    T-score of a group uses each goal's latest rating given within that group.
    """
    check_by(by)
    rf = resolve(con, f)
    m = _rename_groups(_metrics(con, rf, None, by, None), by).drop(columns=["group", "period_start"],
                                                                     errors="ignore")
    goals = _db.query(con, "goal_latest", {**rf.params(), "by": by})
    if goals.empty:
        m["median_gas_t"], m["n_children_gas"] = np.nan, 0
        return m
    t = gas_t_scores(goals, ["grp", "child_id"], level="last_level", weight="goal_weight", rho=settings.get().gas.rho)
    per_group = (t.groupby("grp")["t_score"].agg(median_gas_t="median", n_children_gas="count")
                 .reset_index().rename(columns={"grp": by}))
    m = m.merge(per_group, on=by, how="left")
    m["n_children_gas"] = m["n_children_gas"].fillna(0).astype("int64")
    return m


def kpis(con, f: Filters = Filters(), previous: Filters | None = None) -> dict:
    """Headline figures for the filter and the period of the same length before it (or the
    filter ``previous``, e.g. the same number of whole months before).

    ``{"current": {...}, "previous": {...} or None}``; each block has active_children
    (children with an attended session), n_children (with any scheduled session), sessions
    (scheduled), attended, cancelled, no_show, attendance_rate (attended / scheduled),
    cancellation_rate, no_show_rate, mean_engagement with engagement_ci_lo/hi (95% CI with
    a child-clustered standard error: ratings of one child are correlated), n_rated,
    n_children_rated, share_high_engagement (share of rated sessions rated 4-5),
    share_goals_at_expected (goals whose latest rating in the period is at or above the
    expected level) with n_goals, median_gas_t (median over children of the Kiresuk &
    Sherman GAS T-score of each goal's latest rating in the period) with n_children_gas,
    and the period's date_from / date_to. Missing dates are taken from the data.
    """
    rf = resolve(con, f)
    current = _kpi_block(con, rf)
    if previous is None and rf.date_from and rf.date_to:
        previous = rf.previous_period()
    return {"current": current, "previous": _kpi_block(con, previous) if previous is not None else None}


def _rename_groups(df: pd.DataFrame, by: str | None, by2: str | None = None) -> pd.DataFrame:
    df = df.copy()
    if by is None:
        df = df.drop(columns=["grp"])
    else:
        df.insert(df.columns.get_loc("grp"), "group", df["grp"])
        df = df.rename(columns={"grp": by})
    if by2 is None:
        df = df.drop(columns=["grp2"])
    else:
        df = df.rename(columns={"grp2": by2})
    return df


def monthly_trends(con, f: Filters = Filters(), by: str | None = None) -> pd.DataFrame:
    """One row per month (and group when ``by`` is one of BY_OPTIONS).

    Columns month_start, [group and the ``by`` column], n_children, active_children, sessions,
    attended, cancelled, no_show, attendance_rate, cancellation_rate, no_show_rate, n_rated,
    n_children_rated, mean_engagement, engagement_se, engagement_ci_lo/hi (child-clustered
    95% CI), n_rated_high, share_high_engagement, n_goals, goals_at_expected,
    share_goals_at_expected (latest rating of each goal within the month).
    """
    check_by(by)
    df = _metrics(con, f, "month", by, None).rename(columns={"period_start": "month_start"})
    return _rename_groups(df, by).reset_index(drop=True)


def group_grid(con, f: Filters = Filters()) -> pd.DataFrame:
    """One row per modality x age group: n_children, n_sessions, mean_engagement with
    engagement_ci_lo/hi, attendance_rate, share_high_engagement, share_goals_at_expected,
    n_goals and below_min_n (fewer children than settings [comparison] min_children)."""
    df = _metrics(con, f, None, "modality", "age_group")
    df = _rename_groups(df, "modality", "age_group").drop(columns=["group", "period_start"])
    df = df.rename(columns={"sessions": "n_sessions"})
    df["below_min_n"] = df["n_children"] < settings.get().comparison.min_children
    df = df.assign(_r=age_rank(df["age_group"])).sort_values(["modality", "_r"]).drop(columns="_r")
    return df.reset_index(drop=True)


def child_periods(con, f: Filters = Filters(), period: str = "week", child_id: str | None = None) -> pd.DataFrame:
    """Engagement and attendance per child per week or month: sessions_scheduled, _attended,
    _cancelled, _no_show, attendance_rate, sessions_rated, mean_engagement,
    share_high_engagement (rated 4-5), mean engagement by approach."""
    if period not in ("week", "month"):
        raise ValueError(f"period must be 'week' or 'month'; got {period!r}")
    return _db.query(con, "child_periods", {**f.params(), "period": period, "child_id": child_id})
