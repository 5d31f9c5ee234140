"""``build_report``: one child's progress report from the analytics layer (no SQL and no
statistics here: every figure comes from ``analytics``, which takes them from ``stats``)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

import analytics
from analytics import Filters
from pipelines import settings
from reports.child_report.model import ChildReport, ReportError
from reports.formats import to_date


def parse_day(text: str | dt.date | None, what: str) -> dt.date | None:
    """A YYYY-MM-DD date, or None; ``ReportError`` naming ``what`` otherwise."""
    if text is None or text == "":
        return None
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise ReportError(f"{what} must be a date YYYY-MM-DD; got {text!r}") from None


def build_report(con, child_id: str, date_from: dt.date | str | None = None,
                 date_to: dt.date | str | None = None) -> ChildReport:
    """The report of ``child_id`` over ``date_from`` .. ``date_to`` (inclusive; None: the
    child's first / latest session). ``con`` is a warehouse reader or a scoped connection
    (``access.scope.scoped``): a child outside its scope is not found. Raises
    ``ReportError`` for an unknown child or a period that ends before it starts."""
    lo, hi = parse_day(date_from, "--from"), parse_day(date_to, "--to")
    if lo and hi and hi < lo:
        raise ReportError(f"the period ends ({hi}) before it starts ({lo})")
    child_id = str(child_id).strip()
    record = analytics.child_record(con, child_id)
    if not record:
        raise ReportError(f"child {child_id} is not among the children you can see (or has no sessions loaded)")
    cfg = settings.get()
    f = Filters(date_from=lo, date_to=hi)
    tl = analytics.child_timeline(con, child_id, f)
    if len(tl):
        tl = tl.sort_values("session_date", kind="stable")
    n = len(tl)
    att = int(tl["attended"].astype(bool).sum()) if n else 0
    attendance = {"scheduled": n, "attended": att,
                  "cancelled": int(tl["cancelled"].astype(bool).sum()) if n else 0,
                  "no_show": int(tl["no_show"].astype(bool).sum()) if n else 0,
                  "rate": (att / n) if n else None,
                  "first": to_date(tl["session_date"].min()) if n else None,
                  "last": to_date(tl["session_date"].max()) if n else None}
    eng = pd.to_numeric(tl["engagement"], errors="coerce") if n else pd.Series(dtype=float)
    engagement = {"mean": float(eng.mean()) if eng.notna().any() else None, "n": int(eng.notna().sum())}
    therapists = list(dict.fromkeys(reversed(tl["therapist_id"].dropna().astype(str).tolist()))) if n else []
    if not therapists and record.get("therapist_id"):
        therapists = [str(record["therapist_id"])]
    age = str(tl["age_group"].dropna().iloc[-1]) if n and tl["age_group"].notna().any() else None
    rc = analytics.reliable_change(con, f)
    rc = rc[rc["child_id"] == child_id].reset_index(drop=True) if len(rc) else rc
    return ChildReport(
        child_id=child_id, date_from=lo, date_to=hi, whole_history=lo is None and hi is None, record=record,
        age_group=age, therapists=therapists, attendance=attendance, engagement=engagement,
        goals=analytics.child_goals(con, child_id, f),
        observations=analytics.child_goal_observations(con, child_id, f),
        phases=analytics.child_phases(con, child_id, f),
        comparison=analytics.child_comparison(con, child_id, f),
        reliable_change=rc, expected_level=cfg.gas.expected_level, confidence=cfg.comparison.confidence,
        min_sessions=cfg.comparison.min_sessions_per_approach)
