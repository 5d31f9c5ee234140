"""Number and date formats shared by the dashboard pages and the reports: one way to write a
missing value ("–"), a percentage, a count, a date.

``cell(value, kind)`` writes one figure of a report table by its kind (``int``, ``pct``,
``num1``, ``num2``, ``signed2``, ``level``, ``p``, ``date``, ``month``, ``id``, ``bool``);
text (a suppressed "<5") passes through.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

MISSING = "–"


def is_missing(v: Any) -> bool:
    """True for None, NaN, ``pd.NA`` and ``pd.NaT`` (a value to show as "–")."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return bool(math.isnan(v))
    except (TypeError, ValueError):
        return False


def pct(v: Any, digits: int = 0) -> str:
    """A share as a percentage: 0.756 -> "76%" (``digits`` decimals)."""
    return MISSING if is_missing(v) else f"{100 * float(v):.{digits}f}%"


def num(v: Any, digits: int = 1) -> str:
    """A number with thousands separators and ``digits`` decimals."""
    if is_missing(v):
        return MISSING
    return f"{float(v):,.{digits}f}"


def count(v: Any) -> str:
    """A count with thousands separators."""
    return MISSING if is_missing(v) else f"{int(v):,}"


def day(d: Any) -> str:
    """A date as "5 Jan 2026" (a date, datetime, Timestamp or ISO text)."""
    if is_missing(d):
        return MISSING
    d = pd.Timestamp(d)
    return f"{d.day} {d:%b %Y}"


def month(d: Any) -> str:
    """A month as "Jan 2026"."""
    return MISSING if is_missing(d) else f"{pd.Timestamp(d):%b %Y}"


def to_date(v: Any) -> dt.date | None:
    """A date from a date, datetime, Timestamp or ISO text; None for a missing value."""
    if is_missing(v):
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if hasattr(v, "date"):  # pandas Timestamp
        return v.date()
    return dt.date.fromisoformat(str(v)[:10])


def plural(n: int, word: str, plural: str | None = None) -> str:
    """``n`` and the word, plural unless n is 1: "1 child", "1,204 sessions"."""
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def ratio(a: Any, b: Any) -> float:
    """a / b, NaN when either is missing or b is 0."""
    if is_missing(a) or is_missing(b) or not b:
        return float("nan")
    return float(a) / float(b)


def cell(v: Any, kind: str) -> str:
    """A report table's figure as text by its kind; text (e.g. "<5") passes through."""
    if isinstance(v, str):
        return v
    if is_missing(v):
        return MISSING
    if kind == "int":
        return f"{int(v):,}"
    if kind == "pct":
        return f"{100 * float(v):.0f}%"
    if kind == "num1":
        return f"{float(v):.1f}"
    if kind == "num2":
        return f"{float(v):.2f}"
    if kind == "signed2":
        return f"{float(v):+.2f}"
    if kind == "level":
        return f"{int(v):+d}" if int(v) else "0"
    if kind == "p":
        return "< 0.001" if float(v) < 0.001 else f"{float(v):.3f}"
    if kind == "date":
        return day(v)
    if kind == "id":
        return str(v)
    if kind == "month":
        return month(v)
    if kind == "bool":
        return "yes" if bool(v) else "no"
    return str(v)


def delta(now: Any, prev: Any, kind: str) -> str:
    """The change from ``prev`` to ``now`` as text ("+3 pp" for a share, "+12" for a count);
    "" when either is missing or suppressed text."""
    if isinstance(now, str) or isinstance(prev, str) or is_missing(now) or is_missing(prev):
        return ""
    d = float(now) - float(prev)
    if kind == "pct":
        return f"{100 * d:+.0f} pp"
    if kind == "int":
        return f"{int(round(d)):+,}"
    return f"{d:+.2f}"
