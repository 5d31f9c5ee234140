"""Read one export file (CSV, Excel, Parquet) into DuckDB as text columns with line numbers.

The file's kind is sniffed from its bytes, never trusted from its name, and so is a CSV's
encoding (``sniff``: UTF-8 unless the bytes show a legacy single-byte file). CSV is read by
DuckDB's own reader with an explicit dialect and ``strict_mode``; rows it cannot parse are
kept (with line and reason) instead of failing the file. Every CSV read is accounted for:
when DuckDB's records and rejects do not cover every physical line (blank lines, quoted line
breaks, a stray quote that would swallow the rest of the file, a line over ``MAX_LINE_BYTES``),
``_scan`` finds the records itself, rejects the lines at fault with their reason and DuckDB
reads the rest, so no row is ever dropped unseen. Excel is read with python-calamine
(nothing in the workbook is executed). The result is a temp table ``raw_rows`` holding
the canonical columns as VARCHAR plus ``_line``.
"""

from __future__ import annotations

import codecs
import collections
import csv
import dataclasses
import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines import settings as settings_mod
from pipelines.profiles import CANONICAL_COLUMNS, HeaderMap, Profile, ProfileError, choose

SUPPORTED = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet")

# The longest CSV line (or quoted record) read, in bytes: DuckDB's max_line_size. A longer
# line is rejected with its number; no session row comes near it.
MAX_LINE_BYTES = 2_000_000
# A quoted value still open after this many lines is taken for a stray (unterminated) quote.
MAX_RECORD_LINES = 200
# Python's csv module refuses fields over 131,072 characters by default; we read up to a line.
csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES + 1))
# A legacy (single-byte) file is told from UTF-8 by evidence: bytes that are not UTF-8 outnumber
# valid UTF-8 multi-byte characters by more than this (or there are no such characters at all).
LEGACY_RATIO = 20
EXCEL_MAX_CELL_CHARS = 32_767  # Excel's own limit; [uploads] max_cell_chars in settings.toml


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


def sniff(path: Path) -> Sniffed:
    """Hash the file and tell what it is from its content (one streaming pass).

    A CSV's encoding is decided on evidence: UTF-8 when it decodes as UTF-8, or when it holds
    valid UTF-8 multi-byte characters and not many more invalid bytes (``LEGACY_RATIO``): the
    rows with the invalid bytes are then rejected, the rest is read as UTF-8, so ``Zoë`` stays
    ``Zoë``. Latin-1 only when the high bytes are consistently single-byte characters.
    """
    h = hashlib.sha256()
    size = 0
    head = b""
    tail = b""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8 = True
    has_nul = False
    crlf = lf = cr = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            crlf += chunk.count(b"\r\n")
            lf += chunk.count(b"\n")
            cr += chunk.count(b"\r")
            tail = chunk[-4096:] if len(chunk) >= 4096 else (tail + chunk)[-4096:]
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
    encoding, evidence = "utf-8", None
    if not is_utf8:
        evidence = _utf8_evidence(path)
        valid, invalid = evidence
        if valid == 0 or invalid > LEGACY_RATIO * valid:
            encoding = "latin-1"
    cr_only = lf == 0 and cr > 0
    return Sniffed(path, "csv", digest, size, encoding, 0 < crlf < lf, _physical_lines(lf, tail),
                   cr_only, evidence)


def _physical_lines(lf: int, tail: bytes) -> int:
    """Lines in a file with ``lf`` newlines ending in ``tail``, without its trailing blank lines."""
    parts = tail.split(b"\n")
    lines = lf + (1 if parts[-1] else 0)
    if not parts[-1]:
        parts.pop()
    while len(parts) > 1 and parts[-1] in (b"", b"\r"):
        parts.pop()
        lines -= 1
    return lines


_UTF8_CHAR = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
                        rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
                        rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}")
_HIGH = bytes(range(128, 256))


def _utf8_evidence(path: Path) -> tuple[int, int]:
    """(valid UTF-8 multi-byte characters, bytes >= 0x80 outside them) in the file."""
    valid = invalid = 0
    carry = b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(1 << 20)
            buf = carry + chunk
            cut = buf.rfind(b"\n") + 1 if chunk else len(buf)  # never split a character
            part, carry = (buf[:cut], buf[cut:]) if cut else (buf, b"")
            chars = _UTF8_CHAR.findall(part)
            valid += len(chars)
            invalid += len(part) - len(part.translate(None, _HIGH)) - sum(map(len, chars))
            if not chunk:
                return valid, invalid


def _csv_header(path: Path, encoding: str, name: str) -> tuple[str, str]:
    """The header line as text (at most ``MAX_LINE_BYTES``; a longer one makes the file unusable)."""
    with open(path, "rb") as fh:
        raw = fh.readline(MAX_LINE_BYTES + 3)
    if len(raw.rstrip(b"\r\n")) > MAX_LINE_BYTES:
        raise UnusableFile(f"{name}: the header line is longer than {MAX_LINE_BYTES / 1e6:g} MB: not an export")
    return raw.decode("utf-8-sig" if encoding == "utf-8" else "latin-1", errors="replace"), encoding


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


def _normalised_copy(sniffed: Sniffed) -> tuple[Path, int]:
    """A temp copy with every line ending a bare LF (CRLF mixed with LF, or bare CR); its line count."""
    fd, tmp = tempfile.mkstemp(suffix=".csv")
    lf = 0
    tail = b""
    with open(sniffed.path, "rb") as src, os.fdopen(fd, "wb") as dst:
        while chunk := src.read(1 << 22):
            if chunk.endswith(b"\r"):
                chunk += src.read(1)
            chunk = chunk.replace(b"\r\n", b"\n")
            if sniffed.cr_newlines:
                chunk = chunk.replace(b"\r", b"\n")
            lf += chunk.count(b"\n")
            tail = chunk[-4096:] if len(chunk) >= 4096 else (tail + chunk)[-4096:]
            dst.write(chunk)
    return Path(tmp), _physical_lines(lf, tail)


def _read_csv(con, sniffed: Sniffed, profile: Profile | None, name: str) -> ReadResult:
    if sniffed.mixed_newlines or sniffed.cr_newlines:
        tmp, lines = _normalised_copy(sniffed)
        try:
            same = dataclasses.replace(sniffed, path=tmp, mixed_newlines=False, cr_newlines=False, lines=lines)
            return _read_csv(con, same, profile, name)
        finally:
            os.unlink(tmp)
    first, enc = _csv_header(sniffed.path, sniffed.encoding or "utf-8", name)
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
    layout = _Layout(headers, delim, "utf-8" if enc == "utf-8" else "latin-1", positions, sniffed.utf8_evidence)
    # Read once, numbering records; then check that records and rejects cover every line.
    n, rejected = _duckdb_read(con, sniffed.path, layout)
    bad_lines = sorted({r[0] for r in rejected})
    if 1 + n + len(bad_lines) == sniffed.lines:
        # one record per physical line: DuckDB's record numbers are the file's line numbers
        if bad_lines:
            con.execute(
                "update raw_rows set _line = f._line from ("
                " select row_number() over (order by l) + 1 as _rn1, l as _line"
                " from range(2, $total + 2) t(l) where not list_contains($bad, l)) f "
                "where raw_rows._line = f._rn1",
                {"total": n + len(bad_lines), "bad": bad_lines})
        parse_rejects = [_duckdb_reject(r, r[0], layout) for r in rejected]
        rows_read = n + len(bad_lines)
    else:
        # Some lines are not one record each (blank lines, quoted line breaks, a stray quote, a
        # line too long): find the records ourselves, reject the lines at fault, read the rest.
        scan = _scan(sniffed.path, layout)
        try:
            n, rejected = _duckdb_read(con, scan.cleaned, layout)
        finally:
            os.unlink(scan.cleaned)
        bad = {r[0] for r in rejected}
        if n + len(bad) != len(scan.starts) or any(not 2 <= b < len(scan.starts) + 2 for b in bad):
            raise UnusableFile(
                f"{name}: could not be read reliably ({len(scan.starts)} records found, {n + len(bad)} read); "
                "nothing was loaded from it. Check its quoting, or save it again as CSV from the source system")
        kept = [line for k, line in enumerate(scan.starts) if k + 2 not in bad]
        if kept:
            import pyarrow as pa

            con.register("line_map", pa.table({"_rn1": pa.array(range(2, len(kept) + 2), pa.int64()),
                                               "_line": pa.array(kept, pa.int64())}))
            try:
                con.execute("update raw_rows set _line = m._line from line_map m where raw_rows._line = m._rn1")
            finally:
                con.unregister("line_map")
        parse_rejects = sorted(scan.rejects + [_duckdb_reject(r, scan.starts[r[0] - 2], layout) for r in rejected],
                               key=lambda r: r[0])
        rows_read = n + len(bad) + len({r[0] for r in scan.rejects})
    return ReadResult("csv", rows_read, hmap, profile, parse_rejects, delimiter=delim, encoding=enc)


@dataclass(frozen=True)
class _Layout:
    """How one CSV is laid out: its headers, delimiter, codec and canonical column positions."""
    headers: list[str]
    delim: str
    codec: str                       # utf-8 | latin-1
    positions: dict[str, int]        # canonical column -> index
    utf8_evidence: tuple[int, int] | None

    def column(self, index: int | None) -> tuple[str | None, str]:
        """(canonical column or None, how to name the column in a reason) for a 0-based index."""
        if index is None or not 0 <= index < len(self.headers):
            return None, "a column past the last header"
        canonical = next((c for c, i in self.positions.items() if i == index), None)
        return canonical, f"column '{self.headers[index][:60]}' (column {index + 1})"


def _duckdb_read(con, path: Path, layout: _Layout) -> tuple[int, list[tuple]]:
    """Read ``path`` into ``raw_rows`` (``_line`` = record number + 1); DuckDB's rejects come back."""
    for t in ("csv_rejects", "csv_scans"):
        con.execute(f"drop table if exists {t}")
    columns = {f"c{i}": "VARCHAR" for i in range(len(layout.headers))}
    source = (
        "select *, row_number() over () as _rn from read_csv($path, delim=$delim, quote='\"', "
        "escape='\"', header=true, auto_detect=false, columns=$columns, strict_mode=true, "
        "store_rejects=true, rejects_table='csv_rejects', rejects_scan='csv_scans', "
        "encoding=$encoding, null_padding=false, all_varchar=true, max_line_size=$max_line)")
    params = {"path": str(path), "delim": layout.delim, "columns": columns, "encoding": layout.codec,
              "max_line": MAX_LINE_BYTES}
    n = _materialise(con, source, layout.positions, "_rn + 1", params)
    rejected = con.execute(
        "select line, column_idx, error_type, error_message, csv_line from csv_rejects order by line, column_idx"
    ).fetchall()
    return n, rejected


def _duckdb_reject(r: tuple, line: int, layout: _Layout) -> tuple[int, str | None, str, str]:
    """(line, column, raw text, reason) for one of DuckDB's rejects, in words a user can act on."""
    _line, column_idx, err_type, msg, csv_line = r
    raw = (csv_line or "")[:500]
    if err_type == "LINE SIZE OVER MAXIMUM":
        size = re.search(r"Actual Size:\s*(\d+)", msg or "")
        actual = f" ({int(size.group(1)) / 1e6:.1f} MB)" if size else ""
        return (int(line), None, raw[:200],
                f"line {line} is longer than {MAX_LINE_BYTES / 1e6:g} MB{actual}; the row is not read")
    if err_type == "INVALID ENCODING":
        canonical, where = layout.column(column_idx - 1 if column_idx else None)
        valid, invalid = layout.utf8_evidence or (0, 0)
        return (int(line), canonical, raw,
                f"bytes that are not valid UTF-8 in {where}; the file is read as UTF-8 (it holds {valid:,} UTF-8 "
                f"characters and {invalid:,} invalid byte{'s' if invalid != 1 else ''}), so this row is not read "
                "rather than re-decoded")
    return (int(line), None, raw, f"could not read the row as CSV: {err_type.lower()} ({(msg or '').strip()})")


class _TooLong(Exception):
    """The line just read is longer than ``MAX_LINE_BYTES``."""


class _Runaway(Exception):
    """The record being read has grown past ``MAX_RECORD_LINES`` lines or ``MAX_LINE_BYTES``."""


class _Lines:
    """The file's physical lines for ``csv.reader``, numbered, remembering those of the record
    being read; lines can be pushed back to be read again as records of their own."""

    def __init__(self, fh, codec: str, first_line: int):
        self.fh, self.codec, self.next_no = fh, codec, first_line
        self.pending: collections.deque = collections.deque()
        self.record: list[tuple[int, bytes | None, int]] = []  # (line, raw bytes or None if too long, size)
        self.size = 0

    def __iter__(self):
        return self

    def next_item(self) -> tuple[int, bytes | None, int] | None:
        """The next line outside any record (None at the end of the file)."""
        if self.pending:
            return self.pending.popleft()
        try:
            return self._read()
        except StopIteration:
            return None

    def __next__(self) -> str:
        item = self.pending.popleft() if self.pending else self._read()
        if self.record and (len(self.record) >= MAX_RECORD_LINES or self.size + item[2] > MAX_LINE_BYTES):
            self.pending.appendleft(item)
            raise _Runaway
        self.record.append(item)
        self.size += item[2]
        if item[1] is None:
            raise _TooLong
        return item[1].decode(self.codec, errors="replace")

    def _read(self) -> tuple[int, bytes | None, int]:
        raw = self.fh.readline(MAX_LINE_BYTES + 3)
        if not raw:
            raise StopIteration
        no = self.next_no
        self.next_no += 1
        size = len(raw.rstrip(b"\r\n"))
        if size <= MAX_LINE_BYTES:
            return no, raw, size
        while not raw.endswith(b"\n"):  # skip the rest of the line without holding it
            raw = self.fh.readline(1 << 20)
            if not raw:
                break
            size += len(raw.rstrip(b"\r\n"))
        return no, None, size

    def take(self) -> list[tuple[int, bytes | None, int]]:
        rec, self.record, self.size = self.record, [], 0
        return rec

    def push_back(self, items: list) -> None:
        self.pending.extendleft(reversed(items))


@dataclass
class _Scanned:
    starts: list[int]    # first line of each record written to ``cleaned``, in order
    rejects: list[tuple[int, str | None, str, str]]
    cleaned: Path        # header + kept records, byte for byte


def _scan(path: Path, layout: _Layout) -> _Scanned:
    """Split the file into records as a CSV reader would, but refuse to let one quote swallow rows.

    A record is kept (byte for byte, for DuckDB to read) unless it is a line longer than
    ``MAX_LINE_BYTES`` or a quoted value that never closes, closes only after lines that look
    like rows of their own (as many fields as the header), or runs past ``MAX_RECORD_LINES``:
    then its first line is rejected with the reason and the lines after it are read again as
    records. Blank lines are not records.
    """
    ncols = len(layout.headers)
    starts: list[int] = []
    rejects: list[tuple[int, str | None, str, str]] = []
    fd, tmp = tempfile.mkstemp(suffix=".csv")

    def text(raw: bytes) -> str:
        return raw.decode(layout.codec, errors="replace")

    def looks_like_row(raw: bytes | None) -> bool:
        return raw is not None and len(next(csv.reader([text(raw)], delimiter=layout.delim), [])) >= ncols

    def stray_quote(rec: list, why: str) -> None:
        line, raw, _ = rec[0]
        fields = next(csv.reader([text(raw)], delimiter=layout.delim), [""])
        canonical, where = layout.column(len(fields) - 1)
        rejects.append((line, canonical, text(raw)[:500],
                        f"unterminated quote in {where}: the quoted value {why}; this line is not read "
                        "(the lines after it are)"))

    def keep(rec: list) -> None:
        starts.append(rec[0][0])
        out.write(b"".join(raw for _, raw, _ in rec if raw is not None))

    with open(path, "rb") as fh, os.fdopen(fd, "wb") as out:
        out.write(fh.readline(MAX_LINE_BYTES + 3))
        lines = _Lines(fh, layout.codec, 2)
        while (item := lines.next_item()) is not None:
            line, raw, size = item
            if raw is None:
                rejects.append((line, None, "", f"line {line} is longer than {MAX_LINE_BYTES / 1e6:g} MB "
                                                f"({size / 1e6:.1f} MB); the row is not read"))
                continue
            if b'"' not in raw:  # no quote: the line is a record of its own (or blank)
                if raw.strip(b"\r\n"):
                    starts.append(line)
                    out.write(raw)
                continue
            # a line with quotes: the csv module reads one record from here
            lines.push_back([item])
            try:
                next(csv.reader(lines, delimiter=layout.delim, quotechar='"', doublequote=True, strict=True))
                rec = lines.take()
                if len(rec) > 1 and any(looks_like_row(r) for _, r, _ in rec[1:]):
                    stray_quote(rec, f"would take in the next {len(rec) - 1} lines, which look like rows")
                    lines.push_back(rec[1:])
                else:
                    keep(rec)
            except _TooLong:
                rec = lines.take()
                stray_quote(rec, f"runs into a line longer than {MAX_LINE_BYTES / 1e6:g} MB")
                lines.push_back(rec[1:])
            except _Runaway:
                rec = lines.take()
                stray_quote(rec, f"does not close within {len(rec)} lines")
                lines.push_back(rec[1:])
            except csv.Error as exc:
                rec = lines.take()
                if "unexpected end of data" in str(exc):
                    stray_quote(rec, "never closes")
                    lines.push_back(rec[1:])
                elif len(rec) > 1 and any(looks_like_row(r) for _, r, _ in rec[1:]):
                    stray_quote(rec, f"would take in the next {len(rec) - 1} lines, which look like rows")
                    lines.push_back(rec[1:])
                else:  # a malformed record on its own lines: DuckDB rejects it with its reason
                    keep(rec)
    return _Scanned(starts, rejects, Path(tmp))


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
    # A cell longer than Excel itself allows is not an export's: its row is rejected, not read.
    limit = max_cell_chars()
    rejects: list[tuple[int, str | None, str | None, str]] = []
    kept: list[int] = []
    for k, r in enumerate(rows[1:], start=1):
        long = next((i for i, v in enumerate(r) if isinstance(v, str) and len(v) > limit), None)
        if long is None:
            kept.append(k)
            continue
        where = f"column '{headers[long][:60]}' (column {long + 1})" if long < width else f"column {long + 1}"
        canonical = next((c for c, i in positions.items() if i == long), None)
        rejects.append((k + 1, canonical, None,
                        f"a cell in {where} has {len(r[long]):,} characters, more than {limit:,} characters "
                        "(Excel's own limit; [uploads] max_cell_chars in settings.toml); the row is not read"))
    data = {f"c{i}": [_cell_text(rows[k][i]) if i < len(rows[k]) else None for k in kept] for i in range(width)}
    frame = pd.DataFrame(data, dtype="object")
    frame["_rn"] = pd.Series(kept, dtype="int64")
    con.register("excel_rows", frame)
    try:
        n = _materialise(con, "select * from excel_rows", positions, "_rn + 1")
    finally:
        con.unregister("excel_rows")
    return ReadResult("xlsx", n + len(rejects), hmap, profile, rejects, sheet=chosen)


def max_cell_chars() -> int:
    """``[uploads] max_cell_chars`` of settings.toml: the longest Excel cell read (default 32,767)."""
    return int(settings_mod.load().get("uploads", {}).get("max_cell_chars", EXCEL_MAX_CELL_CHARS))


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
