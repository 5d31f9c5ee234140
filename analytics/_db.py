"""Query plumbing of the analytics layer: SQL by name, ad-hoc SQL, which tables exist.

Every query runs on its own cursor (``pipelines.warehouse.cursor``): a DuckDB reader's cursor
is pointed at the warehouse, and a connection-like object of ours (a scoped connection, the
writer's own connection during ``stored.build_tables``) hands out its own cursors.
"""

from __future__ import annotations

import pandas as pd

from pipelines import warehouse
from pipelines.queries import run as query  # noqa: F401  (re-exported: query(con, name, params))


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


def columns(con, name: str, params: dict | None = None) -> dict:
    """Run query ``name`` (``pipelines.queries``) on its own cursor; its columns come back as numpy
    arrays by name (``fetchnumpy``: no row-level DataFrame, for the stored build's big inputs)."""
    from pipelines import queries

    cur = warehouse.cursor(con)
    try:
        return cur.execute(queries.sql(name), queries.bind(name, params)).fetchnumpy()
    finally:
        cur.close()
