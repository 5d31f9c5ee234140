"""The dashboard reads Parquet marts through DuckDB: a small DuckDB file of views over
``read_parquet`` (``write_serving_db``), opened by the dashboard as it opens a warehouse, so
pages, scope, audit and caching are unchanged. Imports no pyspark.

The file holds, for the current build of a marts folder (``<marts>/CURRENT``): one view per
table (``select cast(column as its type) ...`` from the table's Parquet files, hive-partitioned
by month where it is), in the column order and types of ``_tables.json``; the macros of
``queries/macros``; and ``warehouse_meta`` (the layout version). It is written beside the
marts (or where given) as a new file and swapped in atomically, so a running dashboard sees
the old build or the new one (``warehouse.version`` changes with the swap, and the pages'
caches with it). Many dashboard processes can open the same file read-only at once; the
Parquet files may be on a local disk or, where DuckDB's httpfs extension is installed, an
object store path.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb

from pipelines import transform, warehouse

TABLES_FILE = "_tables.json"
CURRENT = "CURRENT"
SERVING_DB = "serving.duckdb"
SERVING_META = "serving_meta"  # (marts, version): which marts folder and build the file serves


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def create_views(con: duckdb.DuckDBPyConnection, build_dir: Path) -> list[str]:
    """Create a view per table of the build in ``build_dir`` on ``con``; their names come back."""
    meta = json.loads((build_dir / TABLES_FILE).read_text())
    names = []
    for name, t in meta["tables"].items():
        files = (build_dir / name).resolve().as_posix() + "/**/*.parquet"
        hive = "true" if t["partitioned_by"] else "false"
        cols = ", ".join(f"cast({_ident(c)} as {ty}) as {_ident(c)}" for c, ty in t["columns"])
        # names and types: the build's _tables.json (written by our engine); the path is quoted
        con.execute(f"create or replace view {_ident(name)} as select {cols} from "
                    f"read_parquet({_literal(files)}, hive_partitioning = {hive}, union_by_name = true)")
        names.append(name)
    return names


def build_dir(marts: str | Path) -> Path:
    """The current build of a marts folder (``<marts>/CURRENT``); FileNotFoundError without one."""
    marts = Path(marts)
    current = marts / CURRENT
    if not current.exists():
        raise FileNotFoundError(f"{marts}: no marts built here (no {CURRENT} file); run "
                                f"'python -m pipelines load FILES --engine spark --out {marts}' first")
    return marts / current.read_text().strip()


def _prepare(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    create_views(con, target)
    transform.build_macros(con)
    con.execute("create or replace table warehouse_meta (schema_version integer not null)")
    meta = json.loads((target / TABLES_FILE).read_text())
    con.execute("insert into warehouse_meta values ($v)", {"v": meta.get("schema_version", warehouse.SCHEMA_VERSION)})
    con.execute(f"create or replace table {SERVING_META} (marts varchar not null, version varchar not null)")
    con.execute(f"insert into {SERVING_META} values ($m, $v)",
                {"m": str(target.parent.resolve()), "v": target.name})


def served_from(con: duckdb.DuckDBPyConnection) -> str | None:
    """The marts folder a serving file (``write_serving_db``) serves; None for a warehouse that
    ``pipelines.load`` writes (where uploads and undo run)."""
    found = con.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                        "and schema_name = 'main' and table_name = $t", {"t": SERVING_META}).fetchall()[0][0]
    if not found:
        return None
    rows = con.execute(f"select marts from {SERVING_META}").fetchall()
    return rows[0][0] if rows else None


def connect_version(target: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the views of one build (the engine computes ``analytics_meta`` on it)."""
    con = duckdb.connect()
    _prepare(con, Path(target))
    return con


def write_serving_db(marts: str | Path, db: str | Path | None = None) -> Path:
    """Write the serving DuckDB file for the current build of ``marts`` (default
    ``<marts>/serving.duckdb``), swapped in atomically; its path comes back."""
    target = build_dir(marts)
    db = Path(db) if db else Path(marts) / SERVING_DB
    tmp = db.with_name(db.name + f".building-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        _prepare(con, target)
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(tmp, db)
    return db
