"""Dates in an export: the file's date format (``decide_date_format``) and the export's own
order (``export_order``: given, else a date in the file name, else the file's modified time)."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.ingest import UnusableFile
from pipelines.profiles import Profile

if TYPE_CHECKING:
    from pipelines.upsert import Job

ISO = "ISO"
_DATE_PARTS = r"^(\d{1,2})([/.-])(\d{1,2})[/.-](\d{4}|\d{2})$"
GIVEN = "given (--export-date)"
FROM_NAME = "file name"
FROM_MTIME = "file modified time"


def decide_date_format(con: duckdb.DuckDBPyConnection, profile: Profile, name: str) -> str:
    """The file's date format: the profile's, or inferred from the dates themselves.

    Raises ``UnusableFile`` when slash dates could be read day-first or month-first.
    """
    if profile.date_format not in ("auto", "", None):
        return profile.date_format
    stats = con.execute(
        """
        with d as (
            select regexp_extract(v, $pattern, ['day_or_month', 'sep', 'month_or_day', 'year']) as p
            from (select unnest([session_date, date_of_birth, referral_date, discharge_date, start_date, met_date,
                                 discontinued_date]) as v from raw_rows)
            where regexp_full_match(v, $pattern)
        )
        select count(*),
               count(*) filter (where cast(p.day_or_month as int) > 12),
               count(*) filter (where cast(p.month_or_day as int) > 12),
               mode(p.sep), max(length(p.year)),
               (select count(session_date) + count(date_of_birth) + count(referral_date) + count(discharge_date)
                       + count(start_date) + count(met_date) + count(discontinued_date) from raw_rows),
               min(p.day_or_month || p.sep || p.month_or_day || p.sep || p.year)
        from d
        """, {"pattern": _DATE_PARTS}).fetchall()[0]
    n, first_big, second_big, sep, year_len, all_dates, example = stats
    if n == 0 or n * 2 < all_dates:
        return ISO  # an ISO file; its few slash dates are rejected as not dates
    year = "%Y" if year_len == 4 else "%y"
    if first_big and second_big:
        raise UnusableFile(
            f"{name}: dates are written both day-first and month-first ({first_big} have a first part "
            f"over 12, {second_big} a second part over 12); fix the export or state date_format in a profile")
    if first_big:
        return f"%d{sep}%m{sep}{year}"
    if second_big:
        return f"%m{sep}%d{sep}{year}"
    # a date of the file, and the profile that read it (the one to state the format in)
    day_first, month_first = f"%d{sep}%m{sep}{year}", f"%m{sep}%d{sep}{year}"
    raise UnusableFile(
        f"{name}: {n} dates such as {example} could be day-first or month-first and none settles it; "
        f"state the format in the profile '{profile.name}' (date_format = \"{day_first}\" for "
        f"{date_label(day_first)}, \"{month_first}\" for {date_label(month_first)}) or load with "
        "--profile naming one that states it")


def date_label(fmt: str) -> str:
    """A strftime format as users write it: ``%d/%m/%Y`` -> ``dd/mm/yyyy``."""
    if fmt == ISO:
        return "yyyy-mm-dd"
    for code, text in (("%d", "dd"), ("%m", "mm"), ("%Y", "yyyy"), ("%y", "yy"), ("%b", "mon"), ("%H", "hh"),
                       ("%M", "mi"), ("%S", "ss")):
        fmt = fmt.replace(code, text)
    return fmt


_NAME_DATES = (
    re.compile(r"(?<!\d)(\d{4})[-_.](\d{2})[-_.](\d{2})(?!\d)"),   # 2026-07-31, 2026_07_31
    re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"),             # 20260731
    re.compile(r"(?<!\d)(\d{4})[-_.](\d{2})(?![-_.]?\d)"),          # 2026-07 (the first of the month)
)


def name_date(name: str) -> dt.datetime | None:
    """The latest real date (1990-2100) written in a file name as YYYY-MM-DD, YYYYMMDD or
    YYYY-MM (``-``, ``_`` or ``.`` between the parts), or None. A name such as
    ``sessions_2026-01-01_to_2026-06-30.csv`` gives the end of its period."""
    found = []
    for pat in _NAME_DATES:
        for m in pat.finditer(Path(name).name):
            y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3)) if m.lastindex == 3 else 1
            if 1990 <= y <= 2100:
                with contextlib.suppress(ValueError):
                    found.append(dt.datetime(y, mo, d))
    return max(found) if found else None


def export_order(job: Job) -> tuple[dt.datetime, str]:
    """The file's export order and where it came from: given, else its name, else its mtime."""
    if job.export_order is not None:
        return job.export_order, job.order_from or GIVEN
    named = name_date(job.name)
    if named is not None:
        return named, FROM_NAME
    return dt.datetime.fromtimestamp(job.path.stat().st_mtime).replace(microsecond=0), FROM_MTIME


def parse_export_date(text: str) -> dt.datetime:
    """``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM`` (a space for the T is fine); ValueError otherwise."""
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"):
        with contextlib.suppress(ValueError):
            return dt.datetime.strptime(text.strip(), fmt)
    raise ValueError(f"{text!r} is not a date: write YYYY-MM-DD or YYYY-MM-DDTHH:MM")
