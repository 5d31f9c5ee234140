"""What every reader shares: the limits, the file types, the result of a read, and how the
rows of a file become ``raw_rows``: the canonical VARCHAR columns (``RAW_COLUMNS``; a column
the file lacks is null, or the profile's ``[defaults]`` constant), ``measure_cells`` (one
``{measure, column, raw}`` per wide measure column the file has: engagement, gas_level and the
profile's or catalogue's measure columns; an empty cell is a null ``raw``) and ``_line``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines import measures
from pipelines.profiles import CANONICAL_COLUMNS, MEASURE_COLUMNS, HeaderMap, Profile, ProfileError, choose

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
# the text columns of raw_rows: the canonical columns but the wide measure ones (in measure_cells)
RAW_COLUMNS = tuple(c for c in CANONICAL_COLUMNS if c not in MEASURE_COLUMNS)
CELL_TYPE = 'struct(measure varchar, "column" varchar, raw varchar)[]'


def pick_profile(profile: Profile | None, headers: list[str], name: str,
                 chosen: bool = False) -> tuple[Profile, HeaderMap]:
    """The profile (``profile``, or the one ``choose`` picks from the headers) and its header map;
    ``chosen``: the caller picked ``profile`` from the headers (the user named none), so a
    failure says that no profile fits rather than blaming one the user never chose."""
    chosen = chosen or profile is None
    p = profile or choose(headers)
    try:
        return p, p.map_headers(headers, measures.catalogue())
    except ProfileError as exc:
        if chosen:
            raise UnusableFile(f"{name}: no profile fits these headers (name one with --profile, or add one "
                               f"to profiles/); the closest: {exc}") from None
        raise UnusableFile(f"{name}: {exc}") from None


def cell_sources(hmap: HeaderMap) -> list[tuple[str, str, str]]:
    """(measure id, the column rejects name, header) of each wide measure column the file has."""
    out = [(m, col, hmap.mapping[col]) for col, m in MEASURE_COLUMNS.items() if col in hmap.mapping]
    return out + [(m, m, header) for m, header in hmap.measures.items()]


def materialise(con: duckdb.DuckDBPyConnection, source_sql: str, hmap: HeaderMap, header_pos: dict[str, int],
                profile: Profile, line_expr: str, params: dict | None = None) -> int:
    """Select ``raw_rows`` from ``source_sql`` (whose columns are ``c{i}``, ``header_pos`` giving
    each header's ``i``): the canonical columns, the wide measure cells and the line number.
    Measure ids, column names and defaults are bound parameters, never SQL text."""
    params = dict(params or {})
    cols = []
    for i, col in enumerate(RAW_COLUMNS):
        if col in hmap.mapping:
            cols.append(f'"c{header_pos[hmap.mapping[col]]}" as {col}')
        elif col in profile.defaults:
            params[f"default_{i}"] = profile.defaults[col]
            cols.append(f"$default_{i}::varchar as {col}")
        else:
            cols.append(f"null::varchar as {col}")
    cells = []
    for k, (measure, column, header) in enumerate(cell_sources(hmap)):
        params[f"cell_measure_{k}"], params[f"cell_column_{k}"] = measure, column
        cells.append(f"{{'measure': $cell_measure_{k}, 'column': $cell_column_{k}, "
                     f"'raw': \"c{header_pos[header]}\"}}")
    cols.append(f"[{', '.join(cells)}]::{CELL_TYPE} as measure_cells")
    con.execute("drop table if exists raw_rows")
    con.execute(
        f"create temp table raw_rows as select {', '.join(cols)}, {line_expr} as _line from ({source_sql}) src",
        params)
    return con.execute("select count(*) from raw_rows").fetchall()[0][0]
