"""Figures of several session-level measures at once, each from one query (the meeting pack's
per-measure section): ``measure_values``, the values of a period and its previous period
(``measure_period_values``: the figures ``kpis`` gives of each measure, mean with its
child-clustered CR1 interval, n, children with a value, share good, without its attendance, goal
and discharge figures), and ``recent_trends_measures``, each child's recent trend (the
``recent_*`` columns of ``child_trends``)."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from analytics import _db
from analytics.filters import Filters, as_of_for, resolve, ts
from analytics.practice import _t_ci, measure_info
from analytics.trends import child_trends, recent_trends
from pipelines import settings

VALUE_FIGURES = ("mean_value", "value_ci_lo", "value_ci_hi", "n_values", "n_children_values", "share_good")


def _empty() -> dict:
    return {k: (0 if k.startswith("n_") else float("nan")) for k in VALUE_FIGURES}


def measure_values(con, f: Filters, previous: Filters, measures: tuple[str, ...]) -> dict[str, dict[str, dict]]:
    """``{measure: {"current": {...}, "previous": {...}}}``: for each of ``measures`` (session-level
    catalogue ids), the ``VALUE_FIGURES`` of ``kpis(con, f, previous=previous, measure=m)``'s two
    blocks, the same numbers (mean of the values with its interval clipped to the measure's scale,
    n_values and n_children_values as ints; 0 and NaN where the period has no value).
    ``previous`` must filter as ``f`` does but for its dates, and have both (ValueError otherwise)."""
    rf = resolve(con, f)

    def others(x: Filters) -> dict:
        return {k: v for k, v in x.params().items() if not k.startswith("date_")}

    if previous.date_from is None or previous.date_to is None or others(previous) != others(rf):
        raise ValueError("measure_values: the previous period must have the same filters but its dates")
    info = {m: measure_info(m) for m in measures}
    out = {m: {"current": _empty(), "previous": _empty()} for m in measures}
    if not measures:
        return out
    span = replace(rf, date_from=min(rf.date_from, previous.date_from), date_to=max(rf.date_to, previous.date_to))
    df = _db.query(con, "measure_period_values", {**span.params(), "current_from": rf.date_from,
                                                   "current_to": rf.date_to, "previous_from": previous.date_from,
                                                   "previous_to": previous.date_to, "measures": list(measures)})
    if df.empty:
        return out
    lo, hi = _t_ci(df["mean_value"], df["value_se"], df["n_children_values"], settings.get().comparison.confidence)
    df["value_ci_lo"], df["value_ci_hi"] = lo, hi
    for m, rows in df.groupby("measure", sort=False):
        mi = info[m]
        if mi.low is not None:   # the measure's scale, as kpis clips it
            df.loc[rows.index, "value_ci_lo"] = rows["value_ci_lo"].clip(lower=mi.low)
        if mi.high is not None:
            df.loc[rows.index, "value_ci_hi"] = rows["value_ci_hi"].clip(upper=mi.high)
    for r in df.to_dict("records"):
        out[r["measure"]][r["period"]] = {k: (int(r[k]) if k.startswith("n_") else float(r[k])) for k in VALUE_FIGURES}
    return out


RECENT_COLUMNS = {"n": "recent_n", "slope": "recent_slope_per_week", "slope_lo": "recent_slope_lo",
                  "slope_hi": "recent_slope_hi", "kendall_tau": "recent_kendall_tau", "p_value": "recent_p_value"}


def recent_trends_measures(con, f: Filters, measures: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """``{measure: DataFrame}``: each child's trend over the last ``engagement_window_weeks`` to the
    filter's as-of date (Theil-Sen / Mann-Kendall, ``analytics.trends.recent_trends``) for each of
    ``measures``, from one ``rated_sessions`` query of every measure: one row per child with a
    value in the window (child_id and the ``recent_*`` columns of ``child_trends``, the same
    numbers; a child of ``child_trends`` missing here has recent_n 0). A measure the query has no
    row of (standardised, or without a value in the filter) is asked of ``child_trends``."""
    as_of_date = as_of_for(con, f)
    s = _db.query(con, "rated_sessions", {**f.params(), "measure": None}) if as_of_date is not None else None
    present = set(s["measure"].unique()) if s is not None and len(s) else set()
    out: dict[str, pd.DataFrame] = {}
    keep = ["child_id", *RECENT_COLUMNS.values()]
    for m in measures:
        if m not in present:
            t = child_trends(con, f, measure=m)
            out[m] = t[t["recent_n"].fillna(0) > 0][keep].reset_index(drop=True)
            continue
        part = s[s["measure"] == m].reset_index(drop=True)
        part["weeks"] = (part["session_date"] - ts(as_of_date)).dt.days / 7.0
        rt = recent_trends(part, as_of_date).rename(columns=RECENT_COLUMNS)
        out[m] = rt[[c for c in keep if c in rt.columns]].reset_index(drop=True)
    return out
