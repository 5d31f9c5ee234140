"""Practice metrics: headline figures (``kpis``, ``kpis_by``), monthly trends, the modality x
age group grid and per-child periods. Means of session ratings come with a child-clustered
(CR1) interval (Liang & Zeger 1986; Cameron & Miller 2015): sessions of one child are not
independent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics import _db
from analytics.filters import Filters, age_rank, check_by, resolve
from pipelines import settings
from stats.gas import gas_t_scores
from stats._scipy import lazy

sps = lazy("scipy.stats")  # t quantiles: imported when first used (not by a load)


def _t_ci(mean: pd.Series, se: pd.Series, n_clusters: pd.Series, confidence: float) -> tuple[pd.Series, pd.Series]:
    """mean -+ t(G - 1) * se (CR1 cluster-robust interval with G clusters = children)."""
    g = n_clusters.astype(float)
    with np.errstate(invalid="ignore"):
        q = sps.t.ppf(1 - (1 - confidence) / 2, np.where(g > 1, g - 1, np.nan))
    half = q * se.astype(float)
    return mean - half, mean + half


# generic column -> the engagement name pages, the pack and the tests used before measures
ENGAGEMENT_ALIASES = {"mean_value": "mean_engagement", "value_se": "engagement_se", "value_ci_lo": "engagement_ci_lo",
                      "value_ci_hi": "engagement_ci_hi", "n_values": "n_rated", "n_children_values": "n_children_rated",
                      "n_good": "n_rated_high", "share_good": "share_high_engagement"}


def measure_info(measure: str):
    """The catalogue entry of ``measure``; ValueError naming the catalogue when it is not a
    session-level measure there (the figures per session need one)."""
    from pipelines.measures import catalogue, shown

    m = catalogue().get(measure)
    if m is None:
        raise ValueError(f"measure {measure!r} is not in the catalogue ({shown()})")
    if m.level != "session":
        raise ValueError(f"measure {measure!r} is a {m.level}-level measure: session figures need a "
                         "session-level one")
    return m


def with_aliases(df: pd.DataFrame, measure: str) -> pd.DataFrame:
    """For engagement, the generic columns also under their old engagement names."""
    if measure == "engagement":
        for new, old in ENGAGEMENT_ALIASES.items():
            if new in df.columns and old not in df.columns:
                df[old] = df[new]
    return df


def _metrics(con, f: Filters, period: str | None, by: str | None, by2: str | None,
             measure: str = "engagement") -> pd.DataFrame:
    cmp_ = settings.get().comparison
    m = measure_info(measure)
    df = _db.query(con, "period_metrics", {**f.params(), "period": period, "by": by, "by2": by2, "measure": measure,
                                           "expected_level": settings.get().gas.expected_level})
    int_cols = ["n_children", "active_children", "sessions", "attended", "cancelled", "no_show", "n_values",
                "n_children_values", "n_good", "n_goals", "n_children_goals", "goals_at_expected"]
    for c in int_cols:
        df[c] = df[c].fillna(0).astype("int64")
    lo, hi = _t_ci(df["mean_value"], df["value_se"], df["n_children_values"], cmp_.confidence)
    if m.low is not None:   # the measure's scale: a rating's range, 0-100 for a percent, >= 0 for a count
        lo = lo.clip(lower=m.low)
    if m.high is not None:
        hi = hi.clip(upper=m.high)
    df.insert(df.columns.get_loc("value_se") + 1, "value_ci_lo", lo)
    df.insert(df.columns.get_loc("value_ci_lo") + 1, "value_ci_hi", hi)
    df.insert(df.columns.get_loc("n_values"), "measure", measure)
    return with_aliases(df, measure)


_KPI_KEYS = ["active_children", "n_children", "sessions", "attended", "cancelled", "no_show", "attendance_rate",
             "cancellation_rate", "no_show_rate", "mean_value", "value_ci_lo", "value_ci_hi", "n_values",
             "n_children_values", "share_good", "share_goals_at_expected", "n_goals", "n_children_goals"]


def _kpi_block(con, f: Filters, measure: str = "engagement") -> dict:
    m = _metrics(con, f, None, None, None, measure)
    keys = _KPI_KEYS
    if m.empty:
        out = {k: (0 if k.startswith("n_") or k in ("active_children", "sessions", "attended", "cancelled",
                                                    "no_show") else float("nan")) for k in keys}
    else:
        r = m.iloc[0]
        out = {k: (int(r[k]) if isinstance(r[k], (np.integer, int)) else float(r[k])) for k in keys}
    out["measure"] = measure
    if measure == "engagement":
        out.update({old: out[new] for new, old in ENGAGEMENT_ALIASES.items() if new in out})
    goals = _db.query(con, "goal_latest", f.params())
    out.update(mean_gas_t(goals))
    out.update(_discharges(con, f))
    out["date_from"], out["date_to"] = f.date_from, f.date_to
    return out


def _discharges(con, f: Filters) -> dict:
    """Episodes of care that ended in the period, planned discharges and drop-outs apart
    (children mart: discharge_date within the filter's dates, discharge_kind planned |
    dropped_out | other), among the children with a session in the filter."""
    d = _db.query(con, "period_discharges", f.params())
    counts = d["discharge_kind"].value_counts().to_dict() if len(d) else {}
    return {f"discharged_{k}": int(counts.get(k, 0)) for k in ("planned", "dropped_out", "other")}


def kpis_by(con, f: Filters, by: str, measure: str = "engagement") -> pd.DataFrame:
    """The ``kpis()`` figures of the filter's period for every value of ``by`` at once.

    One row per group (the ``by`` column, then the keys of a ``kpis()`` block): one query for
    all groups, so a caseload of hundreds of therapists costs what one does. The median GAS
    T-score of a group uses each goal's latest rating given within that group.
    """
    check_by(by)
    rf = resolve(con, f)
    m = _rename_groups(_metrics(con, rf, None, by, None, measure), by).drop(columns=["group", "period_start"],
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


def attended_by(con, f: Filters, by: str, by2: str) -> pd.DataFrame:
    """Scheduled and attended sessions of the filter's period per value of ``by`` and ``by2``
    (two of BY_OPTIONS), from one query: columns ``by``, ``by2``, sessions, attended. The
    counts are those ``kpis_by`` gives with the filter narrowed to one ``by2`` value (e.g. the
    child-led sessions of each therapist), for every value at once, from a count of the sessions
    (``attended_counts``: none of the measure and goal figures ``period_metrics`` adds)."""
    check_by(by)
    check_by(by2)
    m = _db.query(con, "attended_counts", {**resolve(con, f).params(), "by": by, "by2": by2})
    for c in ("sessions", "attended"):
        m[c] = m[c].astype("int64")
    return m.rename(columns={"grp": by, "grp2": by2})[[by, by2, "sessions", "attended"]].reset_index(drop=True)


def mean_gas_t(goals: pd.DataFrame) -> dict:
    """The children's GAS T-scores (Kiresuk & Sherman 1968, from each goal's latest rating in
    ``goals``): median_gas_t, mean_gas_t with gas_t_ci_lo / gas_t_ci_hi (mean -+ t(n - 1) s /
    sqrt(n) over children, each child once, at ``comparison.confidence``; NaN below two
    children) and n_children_gas. The mean moves smoothly as children join or improve, where
    the median jumps between children."""
    out = {"median_gas_t": float("nan"), "mean_gas_t": float("nan"), "gas_t_ci_lo": float("nan"),
           "gas_t_ci_hi": float("nan"), "n_children_gas": 0}
    if goals.empty:
        return out
    t = gas_t_scores(goals, "child_id", level="last_level", weight="goal_weight",
                     rho=settings.get().gas.rho)["t_score"].dropna()
    n = len(t)
    out["n_children_gas"] = n
    if n:
        out["median_gas_t"], out["mean_gas_t"] = float(t.median()), float(t.mean())
    if n > 1:
        half = sps.t.ppf(1 - (1 - settings.get().comparison.confidence) / 2, n - 1) * float(t.std(ddof=1)) / np.sqrt(n)
        out["gas_t_ci_lo"], out["gas_t_ci_hi"] = out["mean_gas_t"] - half, out["mean_gas_t"] + half
    return out


def kpis(con, f: Filters = Filters(), previous: Filters | None = None, measure: str = "engagement") -> dict:
    """Headline figures for the filter and the period of the same length before it (or the
    filter ``previous``, e.g. the same number of whole months before).

    ``{"current": {...}, "previous": {...} or None}``; each block has active_children
    (children with an attended session), n_children (with any scheduled session), sessions
    (scheduled), attended, cancelled, no_show, attendance_rate (attended / scheduled),
    cancellation_rate, no_show_rate, the session-level ``measure`` (a catalogue id): measure,
    mean_value with value_ci_lo/hi (95% CI with a child-clustered standard error: values of
    one child are correlated; clipped to the measure's scale), n_values, n_children_values,
    share_good (share of values at or beyond the catalogue's ``good`` in the measure's
    direction; NaN without one) -- for engagement also under the names mean_engagement,
    engagement_ci_lo/hi, n_rated, n_children_rated, share_high_engagement (rated 4-5) --,
    discharged_planned / discharged_dropped_out / discharged_other (episodes of care of
    the children seen in the period that ended in it, by discharge kind),
    share_goals_at_expected (goals whose latest rating in the period is at or above the
    expected level) with n_goals, median_gas_t and mean_gas_t with gas_t_ci_lo/hi (over
    children, of the Kiresuk & Sherman GAS T-score of each goal's latest rating in the
    period: ``mean_gas_t``) with n_children_gas,
    and the period's date_from / date_to. Missing dates are taken from the data.
    """
    rf = resolve(con, f)
    current = _kpi_block(con, rf, measure)
    if previous is None and rf.date_from and rf.date_to:
        previous = rf.previous_period()
    return {"current": current, "previous": _kpi_block(con, previous, measure) if previous is not None else None}


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


def monthly_trends(con, f: Filters = Filters(), by: str | None = None, measure: str = "engagement") -> pd.DataFrame:
    """One row per month (and group when ``by`` is one of BY_OPTIONS).

    Columns month_start, [group and the ``by`` column], n_children, active_children, sessions,
    attended, cancelled, no_show, attendance_rate, cancellation_rate, no_show_rate, measure,
    n_values, n_children_values, mean_value, value_se, value_ci_lo/hi (child-clustered 95%
    CI) of the session-level ``measure``, n_good, share_good (for engagement also the old
    names n_rated, mean_engagement, engagement_ci_lo/hi, share_high_engagement, ...), n_goals, goals_at_expected,
    share_goals_at_expected (status as of the month's end, or the period's end for its
    last month: each goal rated in the filter's dates up to then, by its latest rating so far; so
    the last month's point is the ``kpis()`` headline and n_goals never falls within a period).
    """
    check_by(by)
    df = _metrics(con, f, "month", by, None, measure).rename(columns={"period_start": "month_start"})
    return _rename_groups(df, by).reset_index(drop=True)


def group_grid(con, f: Filters = Filters(), measure: str = "engagement") -> pd.DataFrame:
    """One row per modality x age group: n_children, n_sessions, measure, mean_value with
    value_ci_lo/hi, n_values, n_children_values, share_good of the session-level ``measure``
    (for engagement also mean_engagement, engagement_ci_lo/hi, share_high_engagement),
    attendance_rate, share_goals_at_expected, n_goals and below_min_n (fewer children than
    settings [comparison] min_children)."""
    df = _metrics(con, f, None, "modality", "age_group", measure)
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
