"""The meeting pack's model: what a pack is (``MeetingPack`` with its ``Section``, ``Table`` and
``Col``), its errors and its period; ``table_text`` prints a table as text."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go

import analytics
from reports.formats import cell, day, delta, is_missing

SECTION_KEYS = ("attention", "wins", "caseload", "trends", "measures")
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
HIDDEN_TEXT = "hidden"  # a figure hidden so that a small one beside it cannot be worked out from the total


class PackError(ValueError):
    """The pack cannot be built as asked (unknown team or therapist, bad dates); one-line message."""


def parse_date(value: Any, what: str = "date") -> dt.date:
    """A date from ``YYYY-MM-DD`` text (or a date); PackError naming the value otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise PackError(f"{what} {value!r} is not a date (YYYY-MM-DD)") from None


def default_period(as_of: dt.date, weeks: int = 4) -> tuple[dt.date, dt.date]:
    """The last ``weeks`` weeks ending at the as-of date (inclusive)."""
    return as_of - dt.timedelta(days=7 * weeks - 1), as_of


@dataclass(frozen=True)
class Col:
    """A column of a pack table: the value, its kind (how it is formatted), and optionally
    the n behind it, its interval and the previous period's value (shown beside it)."""

    name: str
    label: str
    kind: str = "text"          # text, int, pct, num1, num2, signed2, level, p, date
    n: str | None = None        # column with the n the figure rests on
    n_label: str = ""
    ci: tuple[str, str] | None = None
    prev: str | None = None     # column with the previous period's value


@dataclass
class Table:
    key: str
    title: str
    frame: pd.DataFrame
    columns: list[Col]
    note: str = ""
    empty: str = "None in this period."


@dataclass
class Section:
    key: str
    title: str
    summary: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[tuple[str, go.Figure]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class MeetingPack:
    """Everything a meeting pack shows. The frames are what is shown and exported: with
    ``suppress_small_cells`` small figures are already the text ``"<N"`` and the child-level
    frames (attention, goals_met, reliable_improvements, engagement_rises) hold counts."""

    team: str | None
    therapist: str | None
    date_from: dt.date
    date_to: dt.date
    prev_from: dt.date
    prev_to: dt.date
    as_of: dt.date
    trend_from: dt.date
    suppress_small_cells: bool
    small_cell_min: int
    confidence: float           # of every interval shown ([comparison] confidence when built)
    generated_at: dt.datetime
    attention: pd.DataFrame
    attention_children: pd.DataFrame
    goals_met: pd.DataFrame
    reliable_improvements: pd.DataFrame
    engagement_rises: pd.DataFrame
    caseload: pd.DataFrame
    trends: pd.DataFrame
    trends_by_approach: pd.DataFrame
    approach_effect: pd.DataFrame
    figures: dict[str, go.Figure]
    sections: list[Section]
    # per session-level outcome measure of the catalogue with values in the period (``measures``)
    measure_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    measure_trends: pd.DataFrame = field(default_factory=pd.DataFrame)
    measure_effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    measure_monthly: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def scope(self) -> str:
        if self.team and self.therapist:
            return f"Team {self.team}, therapist {self.therapist}"
        if self.team:
            return f"Team {self.team}"
        return f"Therapist {self.therapist}"

    @property
    def period(self) -> str:
        return f"{day(self.date_from)} – {day(self.date_to)}"

    @property
    def title(self) -> str:
        return f"Meeting pack · {self.scope} · {self.period}"

    @property
    def small_text(self) -> str:
        return f"<{self.small_cell_min}"

    def filters(self) -> analytics.Filters:
        return analytics.Filters(date_from=self.date_from, date_to=self.date_to,
                                 teams=(self.team,) if self.team else (),
                                 therapists=(self.therapist,) if self.therapist else ())

    def file_stem(self) -> str:
        """A file name for downloads: meeting_pack_<scope>_<from>_<to> (letters, digits, - and _ only)."""
        who = "_".join(x for x in (self.team, self.therapist) if x)
        who = re.sub(r"[^A-Za-z0-9_-]+", "-", who).strip("-") or "scope"
        return f"meeting_pack_{who}_{self.date_from}_{self.date_to}"


def values(frame: pd.DataFrame, name: str | None) -> list:
    """The column ``name`` of ``frame`` as a list of Python values (None for each row when the
    frame has no such column, as ``row.get(name)`` gives): tables are written column by column,
    not row by row (``iterrows`` builds a Series per row: seconds for thousands of rows)."""
    if name is None or name not in frame.columns:
        return [None] * len(frame)
    return frame[name].tolist()


def cell_texts(frame: pd.DataFrame, c: Col) -> list[str]:
    """Each row's text of column ``c`` as ``table_text`` prints it: the value, its interval,
    its n and the previous period's value with the change (``reports.formats``)."""
    v = values(frame, c.name)
    txt = [cell(x, c.kind) for x in v]
    if c.ci:
        lo, hi = values(frame, c.ci[0]), values(frame, c.ci[1])
        txt = [t + f" ({cell(a, c.kind)} to {cell(b, c.kind)})"
               if not isinstance(x, str) and not is_missing(x)
               and not any(isinstance(y, str) or is_missing(y) for y in (a, b)) else t
               for t, x, a, b in zip(txt, v, lo, hi)]
    if c.n:
        txt = [t + f" · n = {cell(n, 'int')} {c.n_label}".rstrip() for t, n in zip(txt, values(frame, c.n))]
    if c.prev:
        out = []
        for t, x, pv in zip(txt, v, values(frame, c.prev)):
            d = delta(x, pv, c.kind)
            out.append(t + f" · prev {cell(pv, c.kind)}" + (f" ({d})" if d else ""))
        txt = out
    return txt


def table_text(t: Table) -> pd.DataFrame:
    """A table as the pack prints it, one text cell per column (value, interval, n and the
    previous period's value together), for showing on a page; built column by column."""
    cols = [c.label for c in t.columns]
    if t.frame is None or not len(t.frame):
        return pd.DataFrame(columns=cols)
    return pd.DataFrame({c.label: cell_texts(t.frame, c) for c in t.columns}, columns=cols)
