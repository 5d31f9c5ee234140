"""The child's progress report as data (``ChildReport``): what ``build.build_report`` asks the
analytics layer for, before any words or file format."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd


class ReportError(ValueError):
    """The report cannot be made (no such child in the viewer's scope, a bad date): one line to show."""


@dataclass
class ChildReport:
    """One child's progress over one period, from the analytics layer (no names: the
    pseudonymous id only; a display name typed at download time is passed to the
    renderers, never kept here)."""

    child_id: str
    date_from: dt.date | None          # the period (None: from the first session)
    date_to: dt.date | None            # (None: to the latest session)
    whole_history: bool
    record: dict                       # analytics.child_record: episode, latest modality/therapist/team
    age_group: str | None
    therapists: list[str]              # every therapist of the child's sessions in the period, latest first
    attendance: dict                   # scheduled, attended, cancelled, no_show, rate, first, last
    engagement: dict                   # mean, n (rated sessions)
    goals: pd.DataFrame                # analytics.child_goals
    observations: pd.DataFrame         # analytics.child_goal_observations
    phases: pd.DataFrame               # analytics.child_phases
    comparison: dict                   # analytics.child_comparison
    reliable_change: pd.DataFrame      # analytics.reliable_change, this child's rows
    expected_level: int
    confidence: float
    min_sessions: int
    made_on: dt.date = field(default_factory=dt.date.today)

    @property
    def period_text(self) -> str:
        """"1 Aug 2026 to 30 Oct 2026" or "whole history (... to ...)"."""
        from reports.formats import day

        lo = self.date_from or self.attendance.get("first")
        hi = self.date_to or self.attendance.get("last")
        span = f"{day(lo)} to {day(hi)}"
        return f"whole history ({span})" if self.whole_history else span

    def file_stem(self, parent: bool = False) -> str:
        """``progress_C0008_2026-08-01_2026-10-30`` (``_family`` for the parent version)."""
        lo = self.date_from or self.attendance.get("first")
        hi = self.date_to or self.attendance.get("last")
        stem = f"progress_{self.child_id}_{_iso(lo)}_{_iso(hi)}"
        return stem + ("_family" if parent else "")


def _iso(v: object) -> str:
    from reports.formats import to_date

    d = to_date(v)
    return d.isoformat() if d else "all"
