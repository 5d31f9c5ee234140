"""What every reader shares: the limits, the file types, the result of a read, and how the
rows of a file become ``raw_rows`` (canonical VARCHAR columns + ``_line``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.profiles import CANONICAL_COLUMNS, HeaderMap, Profile, ProfileError, choose

SUPPORTED = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet")
# The longest CSV line (or quoted record) read, in bytes: DuckDB's max_line_size. A longer
# line is rejected with its number; no session row comes near it.
MAX_LINE_BYTES = 2_000_000
# A quoted value still open after this many lines is taken for a stray (unterminated) quote.
MAX_RECORD_LINES = 200
# A legacy (single-byte) file is told from UTF-8 by evidence: bytes that are not UTF-8 outnumber
# valid UTF-8 multi-byte characters by more than this (or there are no such characters at all).
LEGACY_RATIO = 20


class UnusableFile(ValueError):
    """A file that cannot be loaded at all (its message names the file and why)."""


@dataclass
class Sniffed:
    path: Path
    kind: str            # csv | xlsx | parquet
    sha256: str
    size: int
    encoding: str | None = None  # utf-8 | latin-1, for csv
    mixed_newlines: bool = False  # both CRLF and bare LF line ends (DuckDB's strict parser refuses those)
    lines: int = 0                # physical lines, not counting blank lines at the end
    cr_newlines: bool = False     # old Mac line ends (bare CR only)
    utf8_evidence: tuple[int, int] | None = None  # (valid multi-byte characters, invalid bytes) when not clean UTF-8


@dataclass
class ReadResult:
    kind: str
    rows_read: int
    header_map: HeaderMap
    profile: Profile
    parse_rejects: list[tuple[int, str | None, str | None, str]] = field(default_factory=list)
    sheet: str | None = None
    delimiter: str | None = None
    encoding: str | None = None


SUFFIX = {"csv": ".csv", "xlsx": ".xlsx", "parquet": ".parquet"}


def pick_profile(profile: Profile | None, headers: list[str], name: str) -> tuple[Profile, HeaderMap]:
    p = profile or choose(headers)
    try:
        return p, p.map_headers(headers)
    except ProfileError as exc:
        raise UnusableFile(f"{name}: {exc}") from None


def materialise(con: duckdb.DuckDBPyConnection, source_sql: str, positions: dict[str, int],
                line_expr: str, params: list | None = None) -> int:
    """Select canonical columns (by position ``c{i}``) from ``source_sql`` into ``raw_rows``."""
    cols = []
    for col in CANONICAL_COLUMNS:
        cols.append(f'"c{positions[col]}" as {col}' if col in positions else f"null::varchar as {col}")
    con.execute("drop table if exists raw_rows")
    con.execute(
        f"create temp table raw_rows as select {', '.join(cols)}, {line_expr} as _line from ({source_sql}) src",
        params or [])
    return con.execute("select count(*) from raw_rows").fetchall()[0][0]
