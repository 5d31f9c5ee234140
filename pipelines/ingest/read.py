"""``read_into``: a sniffed file into ``raw_rows`` by its kind; ``read_canonical_archive``: the
name-free archive of a loaded file back into ``raw_rows`` (rebuild)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.ingest.common import CELL_TYPE, RAW_COLUMNS, ReadResult, Sniffed
from pipelines.ingest.csv_reader import read_csv
from pipelines.ingest.excel import read_excel
from pipelines.ingest.parquet import read_parquet
from pipelines.profiles import MEASURE_COLUMNS, HeaderMap, Profile


def _archive_select(columns: set[str]) -> str:
    """The select that turns an archive's columns into today's ``raw_rows``. An archive written
    before measures were cells (it has ``engagement`` and ``gas_level`` columns, and no
    ``measure_cells``) gets both as cells, empty or not: in its day a newer export's row
    replaced the whole older row, so an empty cell cleared the older value, as a null cell does now."""
    cols = [col if col in columns else f"null::varchar as {col}" for col in RAW_COLUMNS]
    if "measure_cells" in columns:
        cols.append("measure_cells")
    else:
        cells = [f"{{'measure': '{m}', 'column': '{c}', 'raw': {c if c in columns else 'null::varchar'}}}"
                 for c, m in MEASURE_COLUMNS.items()]  # our constants, not a file's text
        cols.append(f"[{', '.join(cells)}]::{CELL_TYPE} as measure_cells")
    return f"select {', '.join(cols)}, _line from read_parquet($p)"


def read_canonical_archive(con: duckdb.DuckDBPyConnection, path: Path, profile: Profile, entry: dict) -> ReadResult:
    """``raw_rows`` again from a name-free archive (``pipelines.upsert.archive_rows``) and its
    manifest entry, in today's shape whatever version wrote it."""
    c = entry["canonical"]
    columns = {d[0] for d in con.execute("describe select * from read_parquet($p)", {"p": str(path)}).fetchall()}
    con.execute("drop table if exists raw_rows")
    con.execute(f"create temp table raw_rows as {_archive_select(columns)}", {"p": str(path)})
    # the columns the file had (an entry written before they were recorded: the wide form)
    hmap = HeaderMap({col: col for col in c.get("mapped", ())}, list(c["dropped"]), list(c["ignored"]),
                     {m: m for m in c.get("measure_columns", ())})
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
