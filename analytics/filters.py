"""What the pages filter on (``Filters``), the as-of date, and the values each filter can take."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from analytics import _db
from pipelines import settings

BY_OPTIONS = ("modality", "age_group", "team", "therapist_id", "approach")


def as_date(v: Any) -> dt.date | None:
    if v is None or v is pd.NaT or (isinstance(v, (float, np.floating)) and np.isnan(v)):
        return None
    if isinstance(v, np.datetime64):
        v = pd.Timestamp(v)
        if v is pd.NaT:
            return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        return dt.date.fromisoformat(v.strip()[:10])
    raise TypeError(f"not a date: {v!r}")


@dataclass(frozen=True)
class Filters:
    """What the pages filter on. Empty tuples mean "all"; dates are inclusive.

    Values are passed to SQL as bound parameters only (never formatted into the text),
    so any text (quotes, SQL) is just a value that matches nothing.
    """

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    modalities: tuple[str, ...] = ()
    age_groups: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    therapists: tuple[str, ...] = ()
    approaches: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "date_from", as_date(self.date_from))
        object.__setattr__(self, "date_to", as_date(self.date_to))
        for name in ("modalities", "age_groups", "teams", "therapists", "approaches"):
            v = getattr(self, name)
            if v is None:
                v = ()
            elif isinstance(v, str):
                v = (v,)
            object.__setattr__(self, name, tuple(str(x) for x in v))

    def params(self) -> dict:
        """Bound parameters: dates, and each list or None (= no filter)."""
        return {
            "date_from": self.date_from,
            "date_to": self.date_to,
            "modalities": list(self.modalities) or None,
            "age_groups": list(self.age_groups) or None,
            "teams": list(self.teams) or None,
            "therapists": list(self.therapists) or None,
            "approaches": list(self.approaches) or None,
        }

    @property
    def is_empty(self) -> bool:
        """True when nothing is filtered."""
        return self == Filters()

    @property
    def has_attribute_filters(self) -> bool:
        return bool(self.modalities or self.age_groups or self.teams or self.therapists or self.approaches)

    def previous_period(self) -> Filters:
        """The same filter over the period of the same length immediately before.

        Needs both dates (use ``resolve(con, f)`` to fill them from the data first).
        """
        if self.date_from is None or self.date_to is None:
            raise ValueError("previous_period needs date_from and date_to; use analytics.resolve(con, f) first")
        days = (self.date_to - self.date_from).days + 1
        prev_to = self.date_from - dt.timedelta(days=1)
        return replace(self, date_from=prev_to - dt.timedelta(days=days - 1), date_to=prev_to)


def check_by(by: str | None, allowed: tuple[str, ...] = BY_OPTIONS) -> None:
    if by is not None and by not in allowed:
        raise ValueError(f"by must be one of {', '.join(allowed)} or None; got {by!r}")


def ts(d: dt.date) -> pd.Timestamp:
    return pd.Timestamp(d)


def age_rank(labels: pd.Series) -> pd.Series:
    order = {label: i for i, (label, _, _) in enumerate(settings.get().age_groups)}
    return labels.map(order).fillna(len(order)).astype(int)


def as_of(con) -> dt.date | None:
    """The latest session date in the warehouse (flags and "last N weeks" are relative to it).

    Practice-wide also on a scoped connection (one that carries ``practice_facts``, see
    ``access.scope``): a date, not child data.
    """
    facts = getattr(con, "practice_facts", None)
    if facts is not None:
        return facts["as_of"]
    v = _db.sql(con, "select max(session_date) as d from sessions")["d"].iloc[0]
    return None if pd.isna(v) else as_date(v)


def as_of_for(con, f: Filters) -> dt.date | None:
    """The as-of date of a filter: its date_to (not later than the data), else the latest session."""
    latest = as_of(con)
    if f.date_to is None or latest is None:
        return latest
    return min(f.date_to, latest)


def resolve(con, f: Filters) -> Filters:
    """``f`` with missing dates filled from the data (first and latest session dates)."""
    if f.date_from is not None and f.date_to is not None:
        return f
    r = _db.sql(con, "select min(session_date) as lo, max(session_date) as hi from sessions").iloc[0]
    return replace(f, date_from=f.date_from or as_date(r["lo"]), date_to=f.date_to or as_date(r["hi"]))


def filter_options(con) -> dict:
    """Values each filter can take: modalities, age_groups (band order), teams, therapists,
    approaches, children, and min_date / max_date of the sessions."""
    df = _db.query(con, "filter_options")
    if df.empty:
        return {k: [] for k in ("modalities", "age_groups", "teams", "therapists", "approaches", "children")} | {
            "min_date": None, "max_date": None}
    r = df.iloc[0]
    out = {k: list(r[k]) if isinstance(r[k], (list, tuple, np.ndarray)) else []
           for k in ("modalities", "age_groups", "teams", "therapists", "approaches", "children")}
    out["min_date"] = as_date(r["min_date"]) if pd.notna(r["min_date"]) else None
    out["max_date"] = as_date(r["max_date"]) if pd.notna(r["max_date"]) else None
    return out


def measure_options(con) -> list[dict]:
    """The session-level measures of the catalogue that have values, in catalogue order (the
    dashboard's outcome selector): dicts of measure, label, unit, kind, direction, n_values.
    Engagement comes first when it has values (the default outcome)."""
    df = _db.query(con, "measure_options")
    rows = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in df.to_dict("records")]
    return sorted(rows, key=lambda r: r["measure"] != "engagement")
