"""Child-led uptake: how much of the therapy is child-led, month by month (practice, team,
therapist), and whether the within-child gap between child-led and directed sessions changes
from quarter to quarter. Shares come with a child-clustered interval (``stats.proportion``).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from analytics import _db
from analytics.approach import CodedSessions, approach_effects_in, approach_pairs, coded_sessions, pairs_coded
from analytics.filters import Filters, check_by, resolve
from pipelines import settings
from stats.proportion import clustered_rate_interval

UPTAKE_BY = (None, "team", "therapist_id", "modality", "age_group")


def child_led_uptake(con, f: Filters = Filters(), by: str | None = None) -> pd.DataFrame:
    """One row per month and group (``by``: team, therapist_id, modality, age_group, or None =
    the whole selection, group "all"): month_start, group, n_children, sessions (attended, with
    an approach recorded), child_led, share (child_led / sessions), share_lo / share_hi (the
    ``comparison.confidence`` interval, Wilson on the effective n of sessions clustered in
    children; NaN for one child) and partial (a month the period covers only in part)."""
    if by not in UPTAKE_BY:
        raise ValueError(f"by must be one of {', '.join(str(b) for b in UPTAKE_BY)}; got {by!r}")
    check_by(by) if by else None
    rf = resolve(con, f)
    df = _db.query(con, "approach_uptake", {**rf.params(), "by": by})
    cols = ["month_start", "group", "n_children", "sessions", "child_led", "share", "share_lo", "share_hi", "partial"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df["n_children"] = df["n_children"].astype("int64")
    lo, hi = clustered_rate_interval(df["share"].to_numpy(float), df["share_var"].to_numpy(float),
                                     df["sessions"].to_numpy(float), df["n_children"].to_numpy(float),
                                     settings.get().comparison.confidence)
    df["share_lo"], df["share_hi"] = lo, hi
    start = pd.to_datetime(df["month_start"])
    df["partial"] = (start < pd.Timestamp(rf.date_from)) | (start + pd.offsets.MonthEnd(0) > pd.Timestamp(rf.date_to))
    return df[cols].reset_index(drop=True)


def _quarters(lo: dt.date, hi: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The calendar quarters that meet [lo, hi], each as (first day, last day)."""
    out, q = [], dt.date(lo.year, 3 * ((lo.month - 1) // 3) + 1, 1)
    while q <= hi:
        nxt = dt.date(q.year + (q.month + 3 > 12), (q.month + 2) % 12 + 1, 1)
        out.append((q, nxt - dt.timedelta(days=1)))
        q = nxt
    return out


def approach_gap_by_quarter(con, f: Filters = Filters(), measure: str = "engagement",
                            sessions: pd.DataFrame | None = None, coded: CodedSessions | None = None) -> pd.DataFrame:
    """One row per calendar quarter of the period: quarter ('2026 Q3'), date_from, date_to (the
    quarter clipped to the period), partial, and the within-child child-led vs directed
    comparison of ``measure`` in that quarter's sessions (``approach_effects``: n_children, mean_diff with
    ci_lo / ci_hi, mean_nap, estimated, reason). A quarter without enough children keeps its
    n and reason and no estimate, as ``approach_effects`` does. ``sessions``: the
    ``approach_sessions`` rows of the period (``approach_effects_in``), when already fetched
    (``coded``: the same as ``CodedSessions``)."""
    rf = resolve(con, f)
    rows = []
    quarters = _quarters(rf.date_from, rf.date_to)
    spans = [(max(q_lo, rf.date_from), min(q_hi, rf.date_to)) for q_lo, q_hi in quarters]
    for (q_lo, q_hi), (lo, hi), e in zip(quarters, spans, approach_effects_in(con, rf, spans, measure=measure,
                                                                                sessions=sessions, coded=coded)):
        r = e.iloc[0].to_dict() if not e.empty else {"n_children": 0, "estimated": False,
                                                     "reason": "no sessions in this quarter"}
        rows.append({"quarter": f"{q_lo.year} Q{(q_lo.month - 1) // 3 + 1}", "date_from": lo, "date_to": hi,
                     "partial": (lo, hi) != (q_lo, q_hi),
                     **{k: r.get(k) for k in ("n_children", "mean_diff", "ci_lo", "ci_hi", "mean_nap", "estimated",
                                              "reason")}})
    return pd.DataFrame(rows, columns=["quarter", "date_from", "date_to", "partial", "n_children", "mean_diff",
                                       "ci_lo", "ci_hi", "mean_nap", "estimated", "reason"])


def approach_pairs_and_gap(con, f: Filters = Filters(), measure: str = "engagement") -> dict[str, pd.DataFrame]:
    """{"pairs": ``approach_pairs(con, f, measure)``, "gap": ``approach_gap_by_quarter(con, f,
    measure)``}: what the Child-led vs directed page shows, the period's per-child pairing and
    its quarterly gap, from one query of the period's sessions (``coded_sessions``: the rows
    of ``approach_sessions`` as numpy columns) when the filter has both its dates (the
    quarters, clipped to the period, then cover exactly the filter's dates, so both read the
    same rows); else the two calls as they are."""
    if f.is_empty or f.date_from is None or f.date_to is None:
        return {"pairs": approach_pairs(con, f, measure), "gap": approach_gap_by_quarter(con, f, measure)}
    cs = coded_sessions(con, f, measure)
    return {"pairs": pairs_coded(cs), "gap": approach_gap_by_quarter(con, f, measure, coded=cs)}
