"""CSV into ``raw_rows``: DuckDB's own reader with an explicit dialect and ``strict_mode``; rows
it cannot parse are kept (with line and reason) instead of failing the file. Every CSV read is
accounted for: when DuckDB's records and rejects do not cover every physical line (blank
lines, quoted line breaks, a stray quote that would swallow the rest of the file, a line over
``MAX_LINE_BYTES``), ``_scan`` finds the records itself, rejects the lines at fault with their
reason and DuckDB reads the rest, so no row is ever dropped unseen."""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipelines.ingest.common import (MAX_LINE_BYTES, MAX_RECORD_LINES, ReadResult, Sniffed, UnusableFile,
                                     materialise, pick_profile)
from pipelines.ingest.sniff import physical_lines
from pipelines.profiles import HeaderMap, Profile, choose

# Python's csv module refuses fields over 131,072 characters by default; we read up to a line.
csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES + 1))


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
    return Path(tmp), physical_lines(lf, tail)


def read_csv(con, sniffed: Sniffed, profile: Profile | None, name: str) -> ReadResult:
    if sniffed.mixed_newlines or sniffed.cr_newlines:
        tmp, lines = _normalised_copy(sniffed)
        try:
            same = dataclasses.replace(sniffed, path=tmp, mixed_newlines=False, cr_newlines=False, lines=lines)
            return read_csv(con, same, profile, name)
        finally:
            os.unlink(tmp)
    first, enc = _csv_header(sniffed.path, sniffed.encoding or "utf-8", name)
    configured = profile.delimiter if profile else "auto"
    delim = _delimiter(first, configured)
    headers = next(csv.reader(io.StringIO(first), delimiter=delim, quotechar='"'), [])
    headers = [h.strip() for h in headers]
    if not any(headers):
        raise UnusableFile(f"{name}: no header row")
    chosen = profile is None
    if chosen:
        p = choose(headers)
        if p.delimiter not in ("auto", "", None):
            delim = _delimiter(first, p.delimiter)
            headers = [h.strip() for h in next(csv.reader(io.StringIO(first), delimiter=delim), [])]
        profile = p
    profile, hmap = pick_profile(profile, headers, name, chosen=chosen)
    pos = {h: i for i, h in reversed(list(enumerate(headers)))}
    positions = {col: pos[src] for col, src in hmap.mapping.items()}
    layout = _Layout(headers, delim, "utf-8" if enc == "utf-8" else "latin-1", positions, sniffed.utf8_evidence,
                     hmap, pos, profile)
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
    hmap: HeaderMap                  # what the columns are
    header_pos: dict[str, int]       # header -> index (its first occurrence)
    profile: Profile

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
    n = materialise(con, source, layout.hmap, layout.header_pos, layout.profile, "_rn + 1", params)
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
