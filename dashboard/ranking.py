"""One-line rankings of groups (modalities, age groups) on a measure's mean, for the question
"which group is worst?": each group's mean with its interval and n, best first, and a verdict
that names the worst only when it can be told apart from the best.

The verdict is the conservative two-interval rule: the worst is named when its interval and
the best one's do not overlap (non-overlapping 95% intervals imply a difference at well below
the 5% level; overlapping ones do not prove there is none, so the page says the groups
*cannot be told apart*, not that they are equal; Schenker & Gentleman 2001).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Ranking:
    """``line`` (markdown: the groups best first with mean, interval and n), ``verdict`` (plain
    words), ``worst`` (the group named worst, or None when it cannot be told apart from the
    best or fewer than two groups qualify) and ``left_out`` (groups with too few children)."""
    line: str
    verdict: str
    worst: str | None
    left_out: tuple[str, ...]


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or bool(pd.isna(v))


def rank_groups(df: pd.DataFrame, by: str, label: str, plural: str, *, higher_is_better: bool, min_children: int,
                value: str = "mean_value", lo: str = "value_ci_lo", hi: str = "value_ci_hi",
                n_children: str = "n_children_values", n_sessions: str = "n_values", digits: int = 2) -> Ranking:
    """Rank the rows of ``df`` (one per value of ``by``: a ``kpis_by`` frame) on ``value``.

    Groups with fewer than ``min_children`` children with a value, no interval or a hidden
    (suppressed) figure are left out and listed in ``left_out``."""
    rows, left = [], []
    for _, r in df.iterrows():
        name = str(r[by])
        hidden = bool(r.get("suppressed", False)) if "suppressed" in r.index else False
        n_c = 0 if _missing(r.get(n_children)) else int(r[n_children])
        if hidden or n_c < min_children or any(_missing(r.get(c)) for c in (value, lo, hi)):
            left.append(name)
            continue
        rows.append((name, float(r[value]), float(r[lo]), float(r[hi]), n_c,
                     0 if _missing(r.get(n_sessions)) else int(r[n_sessions])))
    rows.sort(key=lambda x: x[1], reverse=higher_is_better)   # best first
    d = f"{{:.{digits}f}}"
    parts = [f"{name} {d.format(v)} ({d.format(a)}–{d.format(b)}; {c:,} children, {s:,} sessions)"
             for name, v, a, b, c, s in rows]
    line = " › ".join(parts) if parts else "no group has enough children to rank"
    if len(rows) < 2:
        verdict = (f"Too few {plural} with at least {min_children} children to rank.")
        return Ranking(line, verdict, None, tuple(left))
    best, worst = rows[0], rows[-1]
    apart = worst[3] < best[2] if higher_is_better else worst[2] > best[3]
    if apart:
        verdict = (f"{worst[0]} is the worst {label}: its interval lies wholly "
                   f"{'below' if higher_is_better else 'above'} that of {best[0]}, the best.")
    else:
        verdict = (f"The {plural} cannot be told apart: the intervals of the best ({best[0]}) and the worst "
                   f"({worst[0]}) overlap.")
    return Ranking(line, verdict, worst[0] if apart else None, tuple(left))


def uptake_change(d: pd.DataFrame) -> str | None:
    """Is the child-led share rising? One sentence from ``analytics.child_led_uptake`` (whole
    selection): the first and the last whole month with their intervals and n, and "rising" /
    "falling" only when the two intervals do not overlap (else: no change can be told). None
    with fewer than two whole months with an interval."""
    whole = d[~d["partial"].astype(bool) & d["share_lo"].notna() & d["share_hi"].notna()].sort_values("month_start")
    if len(whole) < 2:
        return None
    a, b = whole.iloc[0], whole.iloc[-1]

    def one(r) -> str:
        return (f"{pd.Timestamp(r['month_start']):%b %Y} {100 * r['share']:.0f}% ({100 * r['share_lo']:.0f}–"
                f"{100 * r['share_hi']:.0f}%; {int(r['sessions']):,} sessions, {int(r['n_children']):,} children)")

    if b["share_lo"] > a["share_hi"]:
        verdict = "rising: the two intervals do not overlap"
    elif b["share_hi"] < a["share_lo"]:
        verdict = "falling: the two intervals do not overlap"
    else:
        verdict = "no change can be told: the two intervals overlap"
    return f"Child-led share, first and last whole month: {one(a)} → {one(b)}; {verdict}."
