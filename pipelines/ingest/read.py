"""``read_into``: a sniffed file into ``raw_rows`` by its kind; ``read_canonical_archive``: the
name-free archive of a loaded file back into ``raw_rows`` (rebuild)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.ingest.common import ReadResult, Sniffed
from pipelines.ingest.csv_reader import read_csv
from pipelines.ingest.excel import read_excel
from pipelines.ingest.parquet import read_parquet
from pipelines.profiles import HeaderMap, Profile


def read_canonical_archive(con: duckdb.DuckDBPyConnection, path: Path, profile: Profile, entry: dict) -> ReadResult:
    """``raw_rows`` again from a name-free archive (``pipelines.upsert.archive_rows``) and its manifest entry."""
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
        return read_csv(con, sniffed, profile, name)
    if sniffed.kind == "xlsx":
        return read_excel(con, sniffed, profile, sheet, name)
    return read_parquet(con, sniffed, profile, name)
