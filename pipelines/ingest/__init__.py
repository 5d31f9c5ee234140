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

from pipelines.ingest.common import (LEGACY_RATIO, MAX_LINE_BYTES, MAX_RECORD_LINES, SUPPORTED, ReadResult, Sniffed,
                                     UnusableFile)
from pipelines.ingest.excel import max_cell_chars
from pipelines.ingest.read import read_canonical_archive, read_into
from pipelines.ingest.sniff import sniff

__all__ = ["SUPPORTED", "MAX_LINE_BYTES", "MAX_RECORD_LINES", "LEGACY_RATIO", "UnusableFile",
           "Sniffed", "ReadResult", "sniff", "read_into", "read_canonical_archive", "max_cell_chars"]
