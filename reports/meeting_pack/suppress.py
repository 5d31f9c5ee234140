"""Small cells in a pack shared beyond the team: the rules of ``access.disclosure`` (1 and 2)
applied to the pack's tables. A figure resting on fewer than N children shows as ``"<N"``; a
second one beside it shows as ``"hidden"`` where a total would give the small one back."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from access import disclosure
from reports.meeting_pack.model import HIDDEN_TEXT


def _small(n: Any, small: int) -> bool:
    """A count of children to hide: 1 .. small-1 (zero discloses nobody and stays)."""
    return disclosure.is_small(n, small)


def small_count(n: int, small: int) -> int | str:
    return f"<{small}" if _small(n, small) else n


def _beside_total(n: list, small: int) -> list[int | str]:
    """Counts of children per row, the last row their total: "<N" for a small count and
    "hidden" for the rows hidden with it so that the total gives none of them back
    (``disclosure.complementary``)."""
    primary = disclosure.small_mask(n, small)
    last = len(n) - 1
    hidden = disclosure.complementary(n, primary, [np.arange(last)], small, totals=[last]) if last > 0 else primary
    return [f"<{small}" if p else HIDDEN_TEXT if h else v for v, p, h in zip(n, primary, hidden)]


def suppress_attention(fl: pd.DataFrame, small: int) -> pd.DataFrame:
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


def count_rows(d: pd.DataFrame, by: str, small: int) -> pd.DataFrame:
    """Counts of children per kind of win and in all (no child rows), as ``suppress_attention``."""
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


def suppress_caseload(c: pd.DataFrame, small: int) -> pd.DataFrame:
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


def suppress_monthly(t: pd.DataFrame, small: int) -> pd.DataFrame:
    return _suppress_frame(t, {c: n for c, n in _MONTHLY_N.items() if c in t.columns}, small)


def suppress_by_approach(t: pd.DataFrame, shown: np.ndarray, small: int) -> pd.DataFrame:
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


_EFFECT_FIGURES = ("n_children", "n_sessions", "mean_diff", "ci_lo", "ci_hi", "wilcoxon_p", "d_z", "d_z_lo", "d_z_hi",
                   "mean_nap", "nap_ci_lo", "nap_ci_hi", "nap_wilcoxon_p", "reading")


def suppress_effect(e: pd.DataFrame, small: int) -> pd.DataFrame:
    """The within-child comparison (one row per measure): every figure of a row resting on
    few children shows as "<N", and so does the count of children considered when small."""
    out = e.astype(object).copy()
    for i, r in e.iterrows():
        if _small(r["n_children"], small):
            for col in _EFFECT_FIGURES:
                if col in out.columns:
                    out.at[i, col] = f"<{small}"
        if _small(r["n_children_considered"], small):
            out.at[i, "n_children_considered"] = f"<{small}"
    return out


_MEASURE_N = {c: "n_children_values" for c in ("mean_value", "value_ci_lo", "value_ci_hi", "value_se", "n_values",
                                                 "n_children_values", "share_good", "n_good")}


def suppress_measure_summary(s: pd.DataFrame, small: int) -> pd.DataFrame:
    """One row per measure, this period and the previous one: a measure's figures resting on
    fewer than N children with a value of it show as "<N" (rule 1; no total beside them)."""
    if s.empty:
        return s.astype(object)
    out = s.astype(object).copy()
    for suffix in ("", "_prev"):
        out = _suppress_frame(s, {c: n for c, n in _MEASURE_N.items() if c + suffix in s.columns}, small, suffix,
                              out=out)
    return out


def suppress_measure_monthly(t: pd.DataFrame, small: int) -> pd.DataFrame:
    """Per measure and month: a month of few children, or of few children with a value of
    the measure, shows its figures of the measure as "<N"."""
    if t.empty:
        return t.astype(object)
    return _suppress_frame(t, {c: n for c, n in _MEASURE_N.items() if c in t.columns}, small)


def suppress_measure_trends(t: pd.DataFrame, small: int) -> pd.DataFrame:
    """Per measure: children getting worse, better and with no clear trend beside their total
    (rule 1, then rule 2 so that the total does not give a small count back)."""
    out = t.astype(object).copy()
    cols = ["worse", "better_n", "no_clear", "n_children"]
    for i in range(len(t)):
        out.loc[out.index[i], cols] = _beside_total([t[c].iloc[i] for c in cols], small)
    return out
