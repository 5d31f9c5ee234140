"""The session-level measures' values of a period and its previous period, for several measures
from one query (``measure_period_values``): the figures ``kpis`` gives of each measure
(mean with its child-clustered CR1 interval, n, children with a value, share good), without its
attendance, goal and discharge figures."""

from __future__ import annotations

from dataclasses import replace

from analytics import _db
from analytics.filters import Filters, resolve
from analytics.practice import _t_ci, measure_info
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
