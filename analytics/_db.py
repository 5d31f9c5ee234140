"""Query plumbing of the analytics layer: SQL by name, ad-hoc SQL, which tables exist.

Every query runs on its own cursor (``pipelines.warehouse.cursor``): a DuckDB reader's cursor
is pointed at the warehouse, and a connection-like object of ours (a scoped connection, the
writer's own connection during ``stored.build_tables``) hands out its own cursors.
"""

from __future__ import annotations

import re

import pandas as pd

from pipelines import warehouse
from pipelines.queries import run as query  # noqa: F401  (re-exported: query(con, name, params))

_IDENT = re.compile(r"[a-z_][a-z0-9_]*")


def sql(con, text: str, params: dict | None = None) -> pd.DataFrame:
    """Run ``text`` (SQL of ours, values bound from ``params``) on its own cursor; a DataFrame comes back."""
    cur = warehouse.cursor(con)
    try:
        return cur.execute(text, params or {}).df()
    finally:
        cur.close()


def has_tables(con, *names: str) -> bool:
    """Whether every table (or view) in ``names`` exists in the warehouse ``con`` reads."""
    cur = warehouse.cursor(con)
    try:
        # a view counts: a warehouse served from Parquet marts holds them as views (spark_engine.serving)
        found = {r[0] for r in cur.execute(
            "select table_name from duckdb_tables() where database_name = current_database() "
            "and schema_name = 'main' union all select view_name from duckdb_views() where not internal "
            "and database_name = current_database() and schema_name = 'main'").fetchall()}
    finally:
        cur.close()
    return all(n in found for n in names)


def columns(con, name: str, params: dict | None = None, keep: list[str] | None = None) -> dict:
    """Run query ``name`` (``pipelines.queries``) on its own cursor; its columns come back as numpy
    arrays by name (``fetchnumpy``: no row-level DataFrame, for the stored build's big inputs).
    ``keep``: only these of its columns, in its row order (DuckDB drops the others' work:
    projection pushdown), so a narrow read needs no copy of the query."""
    from pipelines import queries

    text = queries.sql(name)
    if keep:
        bad = [c for c in keep if not _IDENT.fullmatch(c)]
        if bad:
            raise ValueError(f"not column names: {bad}")
        text = f"select {', '.join(keep)} from ({text}) as q"   # our identifiers only, checked above
    cur = warehouse.cursor(con)
    try:
        return cur.execute(text, queries.bind(name, params)).fetchnumpy()
    finally:
        cur.close()
