"""Periods of the filter bar and what they are compared with (no Streamlit: pure date arithmetic).

Rolling periods end at the latest session loaded (``hi``): the last 2 or 4 weeks, 3, 6 or 12
months. Calendar periods are the month, quarter or year that holds ``hi`` (so far: a partial
period) or the whole one before it. A period is compared with the period just before it (a
calendar period with the same span of the previous month, quarter or year; a rolling or custom
period with the same number of days just before) or with the same dates a year earlier.
"""

from __future__ import annotations

import calendar
import datetime as dt

from reports.formats import day

# key -> (label, rolling days | None, calendar unit | None, how many units back)
PERIODS: dict[str, tuple[str, int | None, str | None, int]] = {
    "2w": ("Last 2 weeks", 14, None, 0),
    "4w": ("Last 4 weeks", 28, None, 0),
    "3m": ("Last 3 months", 91, None, 0),
    "6m": ("Last 6 months", 182, None, 0),
    "12m": ("Last 12 months", 364, None, 0),
    "month": ("This month so far", None, "month", 0),
    "last_month": ("Last month", None, "month", 1),
    "quarter": ("This quarter so far", None, "quarter", 0),
    "last_quarter": ("Last quarter", None, "quarter", 1),
    "year": ("This year so far", None, "year", 0),
    "last_year": ("Last year", None, "year", 1),
    "all": ("All data", None, None, 0),
    "custom": ("Custom dates", None, None, 0),
}
DEFAULT_PERIOD = "3m"
COMPARE: dict[str, str] = {"previous": "the period just before", "year_before": "the same dates a year earlier"}
DEFAULT_COMPARE = "previous"
MONTHS = {"month": 1, "quarter": 3, "year": 12}


def add_months(d: dt.date, k: int) -> dt.date:
    """``d`` moved by ``k`` calendar months, the day clamped to the month's length (31 Mar - 1 = 28/29 Feb)."""
    m = d.month - 1 + k
    y, m = d.year + m // 12, m % 12 + 1
    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def unit_start(d: dt.date, unit: str) -> dt.date:
    """The first day of the month, quarter or year that holds ``d``."""
    if unit == "month":
        return d.replace(day=1)
    if unit == "quarter":
        return dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    return dt.date(d.year, 1, 1)


def period_range(period: str, lo: dt.date | None, hi: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
    """(first, last) day of ``period`` for data from ``lo`` to ``hi`` ("all" and unknown: lo..hi;
    "custom" is given by the user, so lo..hi here too)."""
    _label, days, unit, back = PERIODS.get(period, PERIODS["all"])
    if hi is None:
        return lo, hi
    if days:
        return hi - dt.timedelta(days=days - 1), hi
    if unit:
        start = add_months(unit_start(hi, unit), -MONTHS[unit] * back)
        if back == 0:
            return start, hi
        return start, add_months(start, MONTHS[unit]) - dt.timedelta(days=1)
    return lo, hi


def is_partial(period: str) -> bool:
    """Whether a calendar ``period`` is still running (this month, quarter or year so far)."""
    _label, _days, unit, back = PERIODS.get(period, PERIODS["all"])
    return unit is not None and back == 0


def comparison_range(period: str, d_from: dt.date, d_to: dt.date, compare: str = DEFAULT_COMPARE
                     ) -> tuple[dt.date, dt.date]:
    """The dates ``d_from``..``d_to`` of ``period`` are compared with: "year_before", the same dates
    twelve months earlier; "previous", for a calendar period the same span of the unit before it
    (this quarter so far, 1 Oct - 30 Oct: 1 Jul - 30 Jul; last quarter: the whole quarter before),
    else the same number of days just before."""
    if compare == "year_before":
        return add_months(d_from, -12), add_months(d_to, -12)
    _label, _days, unit, back = PERIODS.get(period, PERIODS["all"])
    if unit:
        n = MONTHS[unit]
        start = add_months(d_from, -n)
        if back:
            return start, add_months(start, n) - dt.timedelta(days=1)
        return start, min(add_months(d_to, -n), d_from - dt.timedelta(days=1))
    days = (d_to - d_from).days + 1
    prev_to = d_from - dt.timedelta(days=1)
    return prev_to - dt.timedelta(days=days - 1), prev_to


def partial_months(month_start, d_from: dt.date | None, d_to: dt.date | None):
    """For each month start (a pandas Series of dates), whether ``d_from``..``d_to`` covers that
    month only in part; a pandas Series of booleans."""
    import pandas as pd

    start = pd.to_datetime(pd.Series(month_start))
    end = start + pd.offsets.MonthEnd(0)
    out = pd.Series(False, index=start.index)
    if d_from is not None:
        out |= start < pd.Timestamp(d_from)
    if d_to is not None:
        out |= end > pd.Timestamp(d_to)
    return out.to_numpy()


def comparison_words(period: str, compare: str = DEFAULT_COMPARE) -> str:
    """What ``period`` is compared with, in words: "the period just before", "the quarter before"
    (a whole calendar period), "the same days of the quarter before" (one still running), "the
    same dates a year earlier"."""
    _label, _days, unit, back = PERIODS.get(period, PERIODS["all"])
    if compare == DEFAULT_COMPARE and unit:
        return f"the same days of the {unit} before" if back == 0 else f"the {unit} before"
    return COMPARE.get(compare, COMPARE[DEFAULT_COMPARE])


def clamp(d: dt.date, lo: dt.date | None, hi: dt.date | None) -> dt.date:
    """``d`` moved into [lo, hi] (an open end does not move it)."""
    if lo and d < lo:
        return lo
    if hi and d > hi:
        return hi
    return d


def outside_data(d_from: dt.date, d_to: dt.date, lo: dt.date | None, hi: dt.date | None) -> str | None:
    """What the filter bar says when dates asked for (a link's) reach outside the data loaded
    ([lo, hi]) and are shown clamped to it; None when they lie inside."""
    shown_from, shown_to = clamp(d_from, lo, hi), clamp(d_to, lo, hi)
    if (shown_from, shown_to) == (d_from, d_to):
        return None
    none = bool((lo and d_to < lo) or (hi and d_from > hi))
    return (f"The link's dates ({day(d_from)} – {day(d_to)}) reach outside the data loaded ({day(lo)} – {day(hi)}): "
            f"showing {day(shown_from)} – {day(shown_to)}"
            + (", the nearest dates with data; no session falls in the dates asked for." if none else "."))
