"""The stored per-child statistics on Spark: ``groupBy(child group).applyInPandas`` running the
analytics layer's own function (``analytics.stored.compute_tables``, handed down by the entry
point) on each group's rows -- no second implementation of any statistic.

Every row of those tables depends only on its child's rows and the practice's as-of date, so
the children are split into groups by a hash of ``child_id`` (``groups``, default four per
core: a group is one pandas call, so per-call costs -- a DuckDB connection, the macros, a
dozen queries -- are paid per group, not per child). Each group gets the rows of every mart
with a ``child_id`` (packed into one frame, a column per mart column), the small tables without
one (the measure catalogue, age bands) whole, and the practice's facts; inside, an in-memory
DuckDB holds them as the warehouse does and the function runs on it. Its tables come back as
Arrow IPC bytes, one row per group and table, and are concatenated on the driver (they have
one row per child, goal or review: small next to the marts).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from pipelines import transform, warehouse

GROUP = "_child_group"
TABLE = "_table"


class _GroupConnection(warehouse.SameConnection):
    """A group's warehouse: the practice's facts (as-of date), the group's children's rows."""

    def __init__(self, con: duckdb.DuckDBPyConnection, facts: dict) -> None:
        super().__init__(con)
        self.practice_facts = facts


def _packed_name(table: str, column: str) -> str:
    return f"{table}__{column}"


def compute(spark, target: Path, table_meta: dict, per_child: Callable, groups: int | None = None
            ) -> dict[str, pa.Table]:
    """Run ``per_child`` per group of children over the marts (Spark temp views) listed in
    ``table_meta``; its tables come back as Arrow tables (dates as DATE)."""
    from pyspark.sql import functions as F

    marts = [n for n in table_meta if n not in ("rejects", "files") and not n.startswith("src_")]
    child_tables = [n for n in marts if "child_id" in dict(table_meta[n]["columns"])]
    small = {n: spark.table(n).toArrow() for n in marts if n not in child_tables}
    facts_row = spark.sql("select (select count(*) from sessions) as n, (select max(session_date) from sessions) "
                          "as d, (select max(load_seq) from files) as s").collect()[0]
    facts = {"sessions": int(facts_row["n"]), "as_of": facts_row["d"],
             "max_load_seq": None if facts_row["s"] is None else int(facts_row["s"])}
    types = {n: table_meta[n]["columns"] for n in child_tables}
    groups = groups or max(4 * spark.sparkContext.defaultParallelism, 2)
    packed = None
    for name in child_tables:
        cols = [F.col(c).cast("string") if t == "TIME" else F.col(c) for c, t in types[name]]
        df = spark.table(name).select(
            F.pmod(F.xxhash64("child_id"), F.lit(groups)).alias(GROUP), F.lit(name).alias(TABLE),
            *[c.alias(_packed_name(name, n)) for c, (n, _) in zip(cols, types[name])])
        packed = df if packed is None else packed.unionByName(df, allowMissingColumns=True)
    if packed is None:
        return {}

    def run_group(frame: pd.DataFrame) -> pd.DataFrame:
        return _run_group(frame, types, small, facts, per_child)

    rows = (packed.groupBy(GROUP).applyInPandas(run_group, schema=f"{TABLE} string, payload binary")
            .collect())
    found: dict[str, list[pa.Table]] = {}
    for r in rows:
        found.setdefault(r[TABLE], []).append(pa.ipc.open_stream(io.BytesIO(r["payload"])).read_all())
    return {name: _dates(pa.concat_tables(parts, promote_options="permissive")) for name, parts in found.items()}


def _run_group(frame: pd.DataFrame, types: dict, small: dict, facts: dict, per_child: Callable) -> pd.DataFrame:
    """One group of children: its marts into an in-memory DuckDB, ``per_child`` on it."""
    con = duckdb.connect()
    try:
        for name, cols in types.items():
            part = frame.loc[frame[TABLE] == name, [_packed_name(name, c) for c, _ in cols]]
            part.columns = [c for c, _ in cols]
            con.register("_part", part)
            select = ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in cols)  # names and types of our marts
            con.execute(f"create table {name} as select {select} from _part")
            con.unregister("_part")
        for name, table in small.items():
            con.register("_part", table)
            con.execute(f"create table {name} as select * from _part")
            con.unregister("_part")
        transform.build_macros(con)
        tables = per_child(_GroupConnection(con, facts))
    finally:
        con.close()
    out = []
    for name, df in tables.items():
        table = pa.Table.from_pandas(df, preserve_index=False)
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, table.schema) as w:
            w.write_table(table)
        out.append((name, sink.getvalue()))
    return pd.DataFrame(out, columns=[TABLE, "payload"])


def _dates(t: pa.Table) -> pa.Table:
    """Datetime columns as dates, as ``analytics.stored`` writes them."""
    for i, f in enumerate(t.schema):
        if pa.types.is_timestamp(f.type):
            t = t.set_column(i, f.name, t.column(i).cast(pa.date32()))
    return t


def as_arrow(df: pd.DataFrame) -> pa.Table:
    """A DataFrame of the driver (``analytics_meta``) as Arrow, datetimes as dates."""
    return _dates(pa.Table.from_pandas(df, preserve_index=False))


