"""Figures of several session-level measures at once, each from one query (the meeting pack's
per-measure section): ``measure_values``, the values of a period and its previous period
(``measure_period_values``: the figures ``kpis`` gives of each measure, mean with its
child-clustered CR1 interval, n, children with a value, share good, without its attendance, goal
and discharge figures), and ``recent_trends_measures``, each child's recent trend (the
``recent_*`` columns of ``child_trends``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
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


# ---- the period_metrics figures of several windows, groupings and measures from one query (the pack)

_INT_COLS = ["n_children", "active_children", "sessions", "attended", "cancelled", "no_show", "n_values",
             "n_children_values", "n_good", "n_goals", "n_children_goals", "goals_at_expected"]


def metrics_batch(con, f: Filters, windows: tuple[tuple[str, object, object], ...], bys: tuple[str | None, ...],
                  measures: tuple[str, ...], period: str | None = None) -> dict[tuple, pd.DataFrame]:
    """``{(window key, by, measure): frame}``: for each window ``(key, date_from, date_to)`` (both
    dates given), grouping ``by`` (a BY_OPTIONS column or None) and session-level measure, the frame
    ``practice._metrics(con, f with the window's dates, period, by, None, measure)`` gives (same
    columns, dtypes, row order and numbers; floats of non-integer values equal up to the order DuckDB
    adds them in), every one from one ``pack_period_metrics`` query. ``f``'s dates are ignored."""
    from analytics.filters import check_by
    from analytics.practice import with_aliases

    for b in bys:
        check_by(b)
    infos = {m: measure_info(m) for m in measures}
    keys = [w[0] for w in windows]
    lo, hi = min(w[1] for w in windows), max(w[2] for w in windows)
    df = _db.query(con, "pack_period_metrics", {
        **replace(f, date_from=lo, date_to=hi).params(), "window_keys": keys,
        "window_from": [w[1] for w in windows], "window_to": [w[2] for w in windows], "bys": list(bys),
        "measures": list(measures), "period": period, "expected_level": settings.get().gas.expected_level})
    conf = settings.get().comparison.confidence
    out: dict[tuple, pd.DataFrame] = {}
    parts = {k: g for k, g in df.groupby(["win", "gby", "metric_measure"], sort=False, dropna=False)}
    template = df.iloc[0:0].drop(columns=["win", "gby", "metric_measure"])
    for key in keys:
        for b in bys:
            for m in measures:
                part = parts.get((key, b if b is not None else np.nan, m))
                if part is None:
                    part = parts.get((key, b, m))
                d = (template if part is None else part.drop(columns=["win", "gby", "metric_measure"])).reset_index(drop=True)
                d = d.copy()
                for c in _INT_COLS:
                    d[c] = d[c].fillna(0).astype("int64")
                ci_lo, ci_hi = _t_ci(d["mean_value"], d["value_se"], d["n_children_values"], conf)
                mi = infos[m]
                if mi.low is not None:
                    ci_lo = ci_lo.clip(lower=mi.low)
                if mi.high is not None:
                    ci_hi = ci_hi.clip(upper=mi.high)
                d.insert(d.columns.get_loc("value_se") + 1, "value_ci_lo", ci_lo)
                d.insert(d.columns.get_loc("value_ci_lo") + 1, "value_ci_hi", ci_hi)
                d.insert(d.columns.get_loc("n_values"), "measure", m)
                out[(key, b, m)] = with_aliases(d, m)
    return out


def caseload_kpis(con, f: Filters, previous: Filters, by: str, total: bool = True, measure: str = "engagement"
                  ) -> dict:
    """``kpis_by(con, f, by, measure)`` and ``kpis_by(con, previous, by, measure)`` (``"by"`` and
    ``"by_prev"``) and, with ``total``, ``kpis(con, f, previous=previous, measure=measure)`` (``"kpis"``):
    the same frames and blocks, their period_metrics figures from one query (``metrics_batch``: both
    periods, grouped by ``by`` and not grouped); their GAS and discharge figures from the queries
    kpis and kpis_by make. ``f`` and ``previous`` must give both dates (ValueError otherwise)."""
    from analytics.practice import _KPI_KEYS, ENGAGEMENT_ALIASES, _discharges, _rename_groups, mean_gas_t
    from stats.gas import gas_t_scores

    if None in (f.date_from, f.date_to, previous.date_from, previous.date_to):
        raise ValueError("caseload_kpis: both periods need both dates")
    bys = (by, None) if total else (by,)
    frames = metrics_batch(con, f, (("current", f.date_from, f.date_to), ("previous", previous.date_from,
                                                                          previous.date_to)), bys, (measure,))
    out: dict = {}
    for key, ff in (("by", f), ("by_prev", previous)):   # kpis_by
        m = _rename_groups(frames[(key.replace("by_prev", "previous").replace("by", "current"), by, measure)], by)
        m = m.drop(columns=["group", "period_start"], errors="ignore")
        goals = _db.query(con, "goal_latest", {**ff.params(), "by": by})
        if goals.empty:
            m["median_gas_t"], m["n_children_gas"] = np.nan, 0
        else:
            t = gas_t_scores(goals, ["grp", "child_id"], level="last_level", weight="goal_weight",
                             rho=settings.get().gas.rho)
            per_group = (t.groupby("grp")["t_score"].agg(median_gas_t="median", n_children_gas="count")
                         .reset_index().rename(columns={"grp": by}))
            m = m.merge(per_group, on=by, how="left")
            m["n_children_gas"] = m["n_children_gas"].fillna(0).astype("int64")
        out[key] = m
    if total:   # kpis: practice._kpi_block of each period
        blocks = {}
        for key, ff in (("current", f), ("previous", previous)):
            m = frames[(key, None, measure)]
            if m.empty:
                b = {k: (0 if k.startswith("n_") or k in ("active_children", "sessions", "attended", "cancelled",
                                                          "no_show") else float("nan")) for k in _KPI_KEYS}
            else:
                r = m.iloc[0]
                b = {k: (int(r[k]) if isinstance(r[k], (np.integer, int)) else float(r[k])) for k in _KPI_KEYS}
            b["measure"] = measure
            if measure == "engagement":
                b.update({old: b[new] for new, old in ENGAGEMENT_ALIASES.items() if new in b})
            b.update(mean_gas_t(_db.query(con, "goal_latest", ff.params())))
            b.update(_discharges(con, ff))
            b["date_from"], b["date_to"] = ff.date_from, ff.date_to
            blocks[key] = b
        out["kpis"] = blocks
    return out


def goal_best_levels(con, f: Filters) -> pd.DataFrame:
    """goal_uid and best_level of every goal with ratings in the filter: the ``best_level`` of
    ``goal_summary(con, f)`` (the same values, one row per goal, by goal_uid), from a query that
    computes nothing else (``goal_best_levels``; the pack's "best level before the period")."""
    return _db.query(con, "goal_best_levels", f.params())
