"""Read one export file (CSV, Excel, Parquet) into DuckDB as text columns with line numbers.

The file's kind is sniffed from its bytes, never trusted from its name. CSV is read by
DuckDB's own reader with an explicit dialect and ``strict_mode``; rows it cannot parse are
kept (with line and reason) instead of failing the file. Excel is read with python-calamine
(nothing in the workbook is executed). The result is a temp table ``raw_rows`` holding
the canonical columns as VARCHAR plus ``_line``.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.profiles import CANONICAL_COLUMNS, HeaderMap, Profile, ProfileError, choose

SUPPORTED = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet")


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


def sniff(path: Path) -> Sniffed:
    """Hash the file and tell what it is from its content (one streaming pass)."""
    h = hashlib.sha256()
    size = 0
    head = b""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8 = True
    has_nul = False
    crlf = lf = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            crlf += chunk.count(b"\r\n")
            lf += chunk.count(b"\n")
            h.update(chunk)
            if size == 0:
                head = chunk[:8192]
            size += len(chunk)
            if b"\x00" in chunk:
                has_nul = True
            if is_utf8:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
    if is_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    digest = h.hexdigest()
    if head.startswith(b"PK\x03\x04"):
        return Sniffed(path, "xlsx", digest, size)
    if head.startswith(b"PAR1"):
        return Sniffed(path, "parquet", digest, size)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnusableFile(f"{path.name}: old binary Excel (.xls) is not supported; save it as .xlsx or CSV")
    if size == 0 or not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise UnusableFile(f"{path.name}: the file is empty")
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    if has_nul or control > len(head) * 0.01:
        raise UnusableFile(f"{path.name}: binary content, not a CSV, Excel or Parquet export")
    return Sniffed(path, "csv", digest, size, "utf-8" if is_utf8 else "latin-1", 0 < crlf < lf)


def _csv_header(path: Path, encoding: str) -> tuple[list[str], str]:
    with open(path, "r", encoding="utf-8-sig" if encoding == "utf-8" else "latin-1", newline="") as fh:
        first = fh.readline()
    return first, encoding


def _delimiter(first_line: str, configured: str) -> str:
    if configured not in ("auto", "", None):
        return "\t" if configured in ("\\t", "tab") else configured
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


SUFFIX = {"csv": ".csv", "xlsx": ".xlsx", "parquet": ".parquet"}


def read_canonical_archive(con: duckdb.DuckDBPyConnection, path: Path, profile: Profile, entry: dict) -> ReadResult:
    """``raw_rows`` again from a name-free archive (``load._archive``) and its manifest entry."""
    c = entry["canonical"]
    con.execute("drop table if exists raw_rows")
    con.execute("create temp table raw_rows as select * from read_parquet($p)", {"p": str(path)})
    hmap = HeaderMap({}, list(c["dropped"]), list(c["ignored"]))
    rejects = [tuple(r) for r in c["parse_rejects"]]
    return ReadResult(entry["kind"], int(c["rows_read"]), hmap, profile, rejects, sheet=entry.get("sheet"))


def read_into(con: duckdb.DuckDBPyConnection, sniffed: Sniffed, profile: Profile | None,
              sheet: str | None = None, display_name: str | None = None) -> ReadResult:
    """Create temp table ``raw_rows`` (canonical VARCHAR columns + ``_line``) from the file.

    ``display_name`` is the name the user knows the file by, used in error messages.
    """
    name = display_name or sniffed.path.name
    if sniffed.kind == "csv":
        return _read_csv(con, sniffed, profile, name)
    if sniffed.kind == "xlsx":
        return _read_excel(con, sniffed, profile, sheet, name)
    return _read_parquet(con, sniffed, profile, name)


def _pick_profile(profile: Profile | None, headers: list[str], name: str) -> tuple[Profile, HeaderMap]:
    p = profile or choose(headers)
    try:
        return p, p.map_headers(headers)
    except ProfileError as exc:
        raise UnusableFile(f"{name}: {exc}") from None


def _materialise(con: duckdb.DuckDBPyConnection, source_sql: str, positions: dict[str, int],
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


def _read_csv(con, sniffed: Sniffed, profile: Profile | None, name: str) -> ReadResult:
    if sniffed.mixed_newlines:
        import tempfile

        fd, tmp = tempfile.mkstemp(suffix=".csv")
        try:
            with open(sniffed.path, "rb") as src, os.fdopen(fd, "wb") as dst:
                while chunk := src.read(1 << 22):
                    if chunk.endswith(b"\r"):
                        chunk += src.read(1)
                    dst.write(chunk.replace(b"\r\n", b"\n"))
            same = Sniffed(Path(tmp), "csv", sniffed.sha256, sniffed.size, sniffed.encoding, False)
            return _read_csv(con, same, profile, name)
        finally:
            os.unlink(tmp)
    first, enc = _csv_header(sniffed.path, sniffed.encoding or "utf-8")
    configured = profile.delimiter if profile else "auto"
    delim = _delimiter(first, configured)
    headers = next(csv.reader(io.StringIO(first), delimiter=delim, quotechar='"'), [])
    headers = [h.strip() for h in headers]
    if not any(headers):
        raise UnusableFile(f"{name}: no header row")
    if profile is None:
        p = choose(headers)
        if p.delimiter not in ("auto", "", None):
            delim = _delimiter(first, p.delimiter)
            headers = [h.strip() for h in next(csv.reader(io.StringIO(first), delimiter=delim), [])]
        profile = p
    profile, hmap = _pick_profile(profile, headers, name)
    pos = {h: i for i, h in reversed(list(enumerate(headers)))}
    positions = {col: pos[src] for col, src in hmap.mapping.items()}
    columns = {f"c{i}": "VARCHAR" for i in range(len(headers))}
    for t in ("csv_rejects", "csv_scans"):
        con.execute(f"drop table if exists {t}")
    source = (
        "select *, row_number() over () as _rn from read_csv($path, delim=$delim, quote='\"', "
        "escape='\"', header=true, auto_detect=false, columns=$columns, strict_mode=true, "
        "store_rejects=true, rejects_table='csv_rejects', rejects_scan='csv_scans', "
        "encoding=$encoding, null_padding=false, all_varchar=true)")
    params = {"path": str(sniffed.path), "delim": delim, "columns": columns,
              "encoding": "utf-8" if enc == "utf-8" else "latin-1"}
    # Read once, numbering records; then fix line numbers after records DuckDB rejected.
    n = _materialise(con, source, positions, "_rn + 1", params)
    rejected = con.execute(
        "select line, column_name, error_type, error_message, csv_line from csv_rejects order by line"
    ).fetchall()
    if rejected:
        bad_lines = sorted({r[0] for r in rejected})
        con.execute(
            "update raw_rows set _line = f._line from ("
            " select row_number() over (order by l) + 1 as _rn1, l as _line"
            " from range(2, $total + 2) t(l) where not list_contains($bad, l)) f "
            "where raw_rows._line = f._rn1",
            {"total": n + len(bad_lines), "bad": bad_lines})
    parse_rejects = [
        (int(line), None, (csv_line or "")[:500],
         f"could not read the row as CSV: {err_type.lower()} ({msg.strip()})")
        for line, _col, err_type, msg, csv_line in rejected
    ]
    return ReadResult("csv", n + len({r[0] for r in rejected}), hmap, profile, parse_rejects,
                      delimiter=delim, encoding=enc)


def _read_excel(con, sniffed: Sniffed, profile: Profile | None, sheet: str | None, name: str) -> ReadResult:
    from python_calamine import CalamineWorkbook  # read-only parser: no macros, no formulas run

    try:
        wb = CalamineWorkbook.from_path(str(sniffed.path))
    except Exception as exc:  # calamine raises its own error types
        raise UnusableFile(f"{name}: not a readable Excel workbook ({exc})") from None
    names = wb.sheet_names
    wanted = sheet or (profile.sheet if profile else None)
    if wanted and wanted not in names:
        if sheet:
            raise UnusableFile(f"{name}: no sheet named '{sheet}' (sheets: {', '.join(names)})")
        wanted = None
    chosen = wanted or names[0]
    rows = wb.get_sheet_by_name(chosen).to_python(skip_empty_area=True)
    if not rows:
        raise UnusableFile(f"{name}: sheet '{chosen}' is empty")
    headers = [str(h).strip() if h is not None else "" for h in rows[0]]
    profile, hmap = _pick_profile(profile, headers, name)
    if profile.sheet and not sheet and profile.sheet in names and chosen != profile.sheet:
        return _read_excel(con, sniffed, profile, profile.sheet, name)
    pos = {h: i for i, h in reversed(list(enumerate(headers)))}
    positions = {col: pos[src] for col, src in hmap.mapping.items()}
    import pandas as pd

    width = len(headers)
    data = {f"c{i}": [_cell_text(r[i]) if i < len(r) else None for r in rows[1:]] for i in range(width)}
    frame = pd.DataFrame(data, dtype="object")
    frame["_rn"] = range(1, len(frame) + 1)
    con.register("excel_rows", frame)
    try:
        n = _materialise(con, "select * from excel_rows", positions, "_rn + 1")
    finally:
        con.unregister("excel_rows")
    return ReadResult("xlsx", n, hmap, profile, sheet=chosen)


def _cell_text(value) -> str | None:
    """An Excel cell as the text a user sees: dates ISO, whole numbers without '.0'."""
    import datetime as dt

    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_parquet(con, sniffed: Sniffed, profile: Profile | None, name: str) -> ReadResult:
    try:
        desc = con.execute("describe select * from read_parquet($p)", {"p": str(sniffed.path)}).fetchall()
    except duckdb.Error as exc:
        raise UnusableFile(f"{name}: not a readable Parquet file ({exc})") from None
    headers = [d[0] for d in desc]
    profile, hmap = _pick_profile(profile, headers, name)
    # positional references (#1, #2, ...) so no header text is ever written into SQL
    select = ", ".join(f"cast(#{i + 1} as varchar) as c{i}" for i in range(len(headers)))
    pos = {h: i for i, h in reversed(list(enumerate(headers)))}
    positions = {col: pos[src] for col, src in hmap.mapping.items()}
    con.execute("drop table if exists parquet_rows")
    con.execute(
        f"create temp table parquet_rows as select {select}, row_number() over () as _rn from read_parquet($p)",
        {"p": str(sniffed.path)})
    n = _materialise(con, "select * from parquet_rows", positions, "_rn + 1")
    con.execute("drop table parquet_rows")
    return ReadResult("parquet", n, hmap, profile)
